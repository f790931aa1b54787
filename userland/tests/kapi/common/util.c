/* Tools the KAPI tests share (see kapi.h). */
#include <kestrel/cpio.h>
#include <kestrel/start.h>
#include <string.h>

#include "kapi.h"

const int64_t kapi_bad_handles[] = {
	0,                        /* KESTREL_HANDLE_NONE */
	-3,                       /* negative, not a pseudo-handle */
	-1000,
	KESTREL_MAX_HANDLES - 1,  /* in range, never used by the tests */
	KESTREL_MAX_HANDLES,      /* out of range */
	0x7fffffff,
	(int64_t)0x80000000,      /* does not fit in 32 bits */
	1ll << 40,
	-(1ll << 40),
	INT64_MIN,
};
const int kapi_bad_handle_count = sizeof(kapi_bad_handles) / sizeof(kapi_bad_handles[0]);

uint64_t kapi_map_pages(size_t size, kestrel_handle_t *mem_out)
{
	int64_t h = kestrel_memory_create(size, KESTREL_MEMORY_ANONYMOUS, 0);
	if (h < 0)
		return 0;
	int64_t a = kestrel_space_map(KESTREL_THIS_SPACE, (kestrel_handle_t)h, 0, 0, size,
				      KESTREL_MAP_READ | KESTREL_MAP_WRITE);
	if (mem_out)
		*mem_out = (kestrel_handle_t)h;
	else
		kestrel_handle_close((kestrel_handle_t)h);
	return a < 0 ? 0 : (uint64_t)a;
}

static const uint8_t *initrd_data;
static size_t initrd_size;

static int64_t map_initrd(void)
{
	if (initrd_data)
		return 0;
	const struct kestrel_start *s = kestrel_start_info();
	if (!s || s->handle_count < 1)
		return -KE_NOT_FOUND;
	int64_t size = kestrel_memory_size(s->handles[0]);
	if (size < 0)
		return size;
	int64_t a = kestrel_space_map(KESTREL_THIS_SPACE, s->handles[0], 0, 0, (uint64_t)size,
				      KESTREL_MAP_READ);
	if (a < 0)
		return a;
	initrd_data = (const uint8_t *)(uintptr_t)a;
	initrd_size = (size_t)size;
	return 0;
}

bool kapi_initrd_file(const char *path, const void **data, size_t *size)
{
	struct kestrel_cpio_entry e;
	if (map_initrd() < 0 || kestrel_cpio_find(initrd_data, initrd_size, path, &e) != 1)
		return false;
	*data = e.data;
	*size = e.size;
	return true;
}

int64_t kapi_spawn(const char *path, struct kestrel_process *p, const char *const *args,
		   uint32_t flags, const kestrel_handle_t *handles, const uint32_t *rights,
		   uint32_t count)
{
	int64_t r = map_initrd();
	if (r < 0)
		return r;
	struct kestrel_cpio_entry e;
	if (kestrel_cpio_find(initrd_data, initrd_size, path, &e) != 1)
		return -KE_NOT_FOUND;
	const char *argv[KESTREL_START_MAX_ARGS];
	int argc = 0;
	argv[argc++] = path;
	for (; args && args[argc - 1] && argc < KESTREL_START_MAX_ARGS; argc++)
		argv[argc] = args[argc - 1];
	struct kestrel_spawn s = {
		.name = path,
		.image = e.data,
		.image_size = e.size,
		.argc = argc,
		.argv = argv,
		.handle_count = count,
		.handles = handles,
		.handle_rights = rights,
		.flags = flags,
	};
	return kestrel_process_spawn(&s, p, NULL);
}

int64_t kapi_spawn_helper(struct kestrel_process *p, const char *const *args, uint32_t flags,
			  const kestrel_handle_t *handles, const uint32_t *rights, uint32_t count)
{
	return kapi_spawn("kestrel/tests/kapi-helper", p, args, flags, handles, rights, count);
}

uint64_t kapi_tag(void)
{
	static uint64_t next = 1000;
	return __atomic_add_fetch(&next, 1, __ATOMIC_RELAXED);
}

int64_t kapi_recv(struct kestrel_queue *q, kestrel_handle_t lane, void *buf, size_t size,
		  uint64_t timeout_ns)
{
	uint64_t rec[(KESTREL_COMPLETION_SIZE(1, KESTREL_MAX_INLINE)) / 8 + 1];
	struct kestrel_action a = kestrel_act_recv_inline(size);
	uint64_t tag = kapi_tag();
	int64_t r = kestrel_call(q, lane, &a, 1, tag, rec, sizeof(rec), timeout_ns);
	if (r == -KE_TIMEOUT && kestrel_cancel(q->handle, tag) == 0)
		kestrel_queue_wait_tag(q, tag, rec, sizeof(rec), KESTREL_FOREVER);
	if (r < 0)
		return r;
	const struct kestrel_completion *c = (const void *)rec;
	const struct kestrel_result *res = kestrel_results(c);
	const void *data = kestrel_result_data(c, 0);
	if (c->count != 1 || res[0].length > size || (res[0].length && !data))
		return -KE_INVALID;
	memcpy(buf, data, res[0].length);
	return res[0].length;
}

int64_t kapi_send(struct kestrel_queue *q, kestrel_handle_t lane, const void *buf, size_t len,
		  uint64_t timeout_ns)
{
	uint64_t rec[KESTREL_COMPLETION_SIZE(1, 0) / 8 + 1];
	struct kestrel_action a = kestrel_act_send(buf, len);
	uint64_t tag = kapi_tag();
	int64_t r = kestrel_call(q, lane, &a, 1, tag, rec, sizeof(rec), timeout_ns);
	if (r == -KE_TIMEOUT && kestrel_cancel(q->handle, tag) == 0)
		kestrel_queue_wait_tag(q, tag, rec, sizeof(rec), KESTREL_FOREVER);
	return r;
}

int64_t kapi_child_message(struct kestrel_queue *q, kestrel_handle_t lane,
			   struct kestrel_parent_message *m, uint64_t timeout_ns)
{
	int64_t r = kapi_recv(q, lane, m, sizeof(*m), timeout_ns);
	if (r < 0)
		return r;
	if (r != sizeof(*m) || m->magic != KESTREL_PARENT_MAGIC)
		return -KE_INVALID;
	return 0;
}

int64_t kapi_child_exit(struct kestrel_queue *q, kestrel_handle_t lane, uint64_t timeout_ns)
{
	uint64_t deadline = (uint64_t)kestrel_clock() + timeout_ns;
	for (;;) {
		uint64_t now = (uint64_t)kestrel_clock();
		if (now >= deadline)
			return -KE_TIMEOUT;
		struct kestrel_parent_message m;
		int64_t r = kapi_child_message(q, lane, &m, deadline - now);
		if (r == -KE_INVALID)
			continue;
		if (r < 0)
			return r;
		if (m.type == KESTREL_PARENT_EXIT)
			return m.value[0];
	}
}

void kapi_child_close(struct kestrel_process *p)
{
	if (p->thread > 0) {
		kestrel_thread_kill(p->thread);
		kestrel_handle_close(p->thread);
	}
	if (p->lane > 0)
		kestrel_handle_close(p->lane);
	if (p->space > 0)
		kestrel_handle_close(p->space);
	if (p->table > 0)
		kestrel_handle_close(p->table);
	p->thread = p->lane = p->space = p->table = 0;
}

uint64_t kapi_random(uint64_t *state)
{
	uint64_t x = *state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dull;
}

uint64_t kapi_checksum(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}
