/*
 * Program start-up on Kestrel (called by crt0's _start, arch/x86_64/crt0.S).
 *
 * rdi carries either the kernel's struct kestrel_init_info (init) or the
 * loader's struct kestrel_start (everyone else); both begin with a magic
 * word. We check it, run the constructors, and call main(argc, argv); its
 * return value goes to exit(). A start block we do not understand ends the
 * program at once — there is nobody to report to but the kernel log.
 */
#include <kestrel/calls.h>
#include <stdlib.h>
#include <string.h>

#include "../../internal/libc.h"

const struct kestrel_init_info *__kestrel_init_info;
const struct kestrel_start *__kestrel_start;

int main(int argc, char **argv);

extern void (*const __init_array_start[])(void) __attribute__((weak));
extern void (*const __init_array_end[])(void) __attribute__((weak));

static char *init_argv[] = {"init", NULL};

static _Noreturn void bad_start(const char *why)
{
	kestrel_log(why, strlen(why), KESTREL_LOG_ERROR);
	__process_exit();
}

_Noreturn void __libc_start(const void *info)
{
	int argc = 0;
	char **argv = NULL;
	if (!info)
		bad_start("libc: started without start information");
	uint32_t magic = *(const uint32_t *)info;
	if (magic == KESTREL_INIT_MAGIC) {
		const struct kestrel_init_info *ii = info;
		if (ii->version != KESTREL_INIT_VERSION)
			bad_start("libc: unknown init-info version");
		__kestrel_init_info = ii;
		argc = 1;
		argv = init_argv;
	} else if (magic == KESTREL_START_MAGIC) {
		const struct kestrel_start *s = info;
		if (s->version != KESTREL_START_VERSION || s->argc < 0 ||
		    s->argc > KESTREL_START_MAX_ARGS || s->handle_count > KESTREL_START_MAX_HANDLES)
			bad_start("libc: malformed start block");
		__kestrel_start = s;
		argc = s->argc;
		argv = (char **)(uintptr_t)s->argv;
	} else {
		bad_start("libc: unknown start information");
	}

	for (void (*const *f)(void) = __init_array_start; f < __init_array_end; f++)
		(*f)();
	exit(main(argc, argv));
}

const struct kestrel_start *kestrel_start_info(void)
{
	return __kestrel_start;
}

const struct kestrel_init_info *kestrel_init_info(void)
{
	return __kestrel_init_info;
}
