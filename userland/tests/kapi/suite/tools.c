/* Helpers of the KAPI suite (see suite.h). */
#include <kestrel/start.h>
#include <string.h>

#include "suite.h"

int64_t pair_open(struct pair *p)
{
	kestrel_handle_t l[2];
	memset(p, 0, sizeof(*p));
	int64_t r = kestrel_stream_create(l);
	if (r < 0)
		return r;
	p->a = l[0];
	p->b = l[1];
	r = kestrel_queue_open(&p->q, 1u << 16);
	if (r < 0) {
		kestrel_handle_close(p->a);
		kestrel_handle_close(p->b);
	}
	return r;
}

void pair_close(struct pair *p)
{
	if (p->a > 0)
		kestrel_handle_close(p->a);
	if (p->b > 0)
		kestrel_handle_close(p->b);
	p->a = p->b = 0;
	kestrel_queue_close(&p->q);
}

int64_t chain_submit(struct kestrel_queue *q, kestrel_handle_t lane,
		     const struct kestrel_action *a, uint32_t n)
{
	uint64_t tag = kapi_tag();
	int64_t r = kestrel_submit(lane, q->handle, a, n, tag);
	return r < 0 ? r : (int64_t)tag;
}

int64_t chain_wait(struct kestrel_queue *q, uint64_t tag, struct rec *out, uint64_t timeout_ns)
{
	int64_t r = kestrel_queue_wait_tag(q, tag, out->w, sizeof(out->w), timeout_ns);
	if (r < 0)
		return r;
	return rec_c(out)->status;
}

int64_t chain(struct kestrel_queue *q, kestrel_handle_t lane, const struct kestrel_action *a,
	      uint32_t n, struct rec *out, uint64_t timeout_ns)
{
	int64_t tag = chain_submit(q, lane, a, n);
	if (tag < 0)
		return tag;
	return chain_wait(q, (uint64_t)tag, out, timeout_ns);
}

uint32_t handle_type(kestrel_handle_t h)
{
	struct kestrel_handle_info info;
	return kestrel_handle_info(h, &info) < 0 ? 0xffffffffu : info.type;
}

uint32_t handle_rights(kestrel_handle_t h)
{
	struct kestrel_handle_info info;
	return kestrel_handle_info(h, &info) < 0 ? 0xffffffffu : info.rights;
}

uint64_t handle_id(kestrel_handle_t h)
{
	struct kestrel_handle_info info;
	return kestrel_handle_info(h, &info) < 0 ? 0 : info.object_id;
}

void sleep_ns(uint64_t ns)
{
	static uint32_t never;
	uint64_t end = (uint64_t)kestrel_clock() + ns;
	for (;;) {
		uint64_t now = (uint64_t)kestrel_clock();
		if (now >= end)
			return;
		kestrel_futex_wait(&never, 0, end - now);
	}
}

kestrel_handle_t self_thread(void)
{
	const struct kestrel_start *s = kestrel_start_info();
	return s ? s->self_thread : 0;
}

uint64_t readonly_page(void)
{
	static uint64_t page;
	if (page)
		return page;
	int64_t h = kestrel_memory_create(KESTREL_PAGE_SIZE, KESTREL_MEMORY_ANONYMOUS, 0);
	if (h < 0)
		return 0;
	int64_t a = kestrel_space_map(KESTREL_THIS_SPACE, (kestrel_handle_t)h, 0, 0,
				      KESTREL_PAGE_SIZE, KESTREL_MAP_READ);
	kestrel_handle_close((kestrel_handle_t)h);
	page = a < 0 ? 0 : (uint64_t)a;
	return page;
}
