/*
 * init: the first user process (<kestrel/init.h>).
 *
 * The kernel starts us with the init info: CPU count, the initrd as a
 * memory object, our own thread, the command line. We check it, say hello
 * in the log, map the initrd and do the boot's job:
 *   test=bench       run the benchmark programs (bench/), then power off
 *   test=kernel-api  run the in-guest kernel-API suite, then power off
 *                    with status 0 (all passed) or 1;
 *   no test= word    nothing to start yet: wait forever.
 * Later init starts the servers and drivers and hosts the registry.
 */
#include <kestrel/calls.h>
#include <kestrel/ipc.h>
#include <kestrel/start.h>
#include <stdio.h>
#include <string.h>

#include "init.h"

static _Noreturn void power_off(int status)
{
	kestrel_shutdown(status);
	printf("init: shutdown failed; waiting forever\n");
	for (;;)
		kestrel_futex_wait(&(uint32_t){0}, 0, 0);
}

static _Noreturn void idle_forever(void)
{
	struct kestrel_queue q;
	int64_t r = kestrel_queue_open(&q, KESTREL_QUEUE_MIN);
	for (;;) {
		if (r < 0) {
			kestrel_futex_wait(&(uint32_t){0}, 0, 0);
			continue;
		}
		/* Nothing is ever submitted to q: this sleeps for good. */
		kestrel_queue_wait(q.handle, q.header->tail, 0);
	}
}

bool cmdline_value(const char *cmdline, const char *key, char *buf, size_t size)
{
	size_t klen = strlen(key);
	const char *p = cmdline;
	while (*p) {
		while (*p == ' ')
			p++;
		const char *word = p;
		while (*p && *p != ' ')
			p++;
		size_t wlen = (size_t)(p - word);
		if (wlen < klen || strncmp(word, key, klen) != 0)
			continue;
		if (wlen > klen && word[klen] != '=')
			continue;
		const char *value = wlen > klen ? word + klen + 1 : word + wlen;
		size_t vlen = (size_t)(p - value);
		if (size) {
			if (vlen >= size)
				vlen = size - 1;
			memcpy(buf, value, vlen);
			buf[vlen] = 0;
		}
		return true;
	}
	return false;
}

int main(void)
{
	const struct kestrel_init_info *info = kestrel_init_info();
	if (!info) {
		printf("init: not started by the kernel (no init info)\n");
		return 1;
	}
	char cmdline[sizeof(info->cmdline)];
	memcpy(cmdline, info->cmdline, sizeof(cmdline));
	cmdline[sizeof(cmdline) - 1] = 0;

	printf("init: started (%u CPUs, initrd %llu KiB)\n", info->cpu_count,
	       (unsigned long long)((info->initrd_size + 1023) / 1024));
	int64_t r = initrd_map(info);
	if (r < 0) {
		printf("init: cannot map the initrd: %s\n", kestrel_error_name(r));
		power_off(1);
	}

	char test[64];
	if (!cmdline_value(cmdline, "test", test, sizeof(test))) {
		printf("init: no services to start yet\n");
		idle_forever();
	}
	if (!strcmp(test, "bench"))
		power_off(run_benchmarks() ? 1 : 0);
	if (!strcmp(test, "kernel-api")) {
		int failed = run_kernel_api_tests();
		power_off(failed ? 1 : 0);
	}
	printf("init: unknown test '%s'\n", test);
	power_off(1);
}
