/*
 * Starting a program in a new process (see <kestrel/process.h>).
 *
 * Everything made along the way is recorded in struct build, so one
 * cleanup path undoes a half-built process whatever step failed.
 */
#include <kestrel/calls.h>
#include <kestrel/process.h>
#include <string.h>

#include "elf.h"

#define PAGE_MASK ((uint64_t)KESTREL_PAGE_SIZE - 1)

struct build {
	kestrel_handle_t table, space, thread, lanes[2];
	kestrel_handle_t stack_mem;
	uint8_t *stack_local; /* the stack mapped in the caller while we fill it */
	size_t stack_size;
};

static uint64_t page_down(uint64_t x)
{
	return x & ~PAGE_MASK;
}

static uint64_t page_up(uint64_t x)
{
	return (x + PAGE_MASK) & ~PAGE_MASK;
}

static void close_if(kestrel_handle_t *h)
{
	if (*h > 0)
		kestrel_handle_close(*h);
	*h = 0;
}

static void cleanup(struct build *b)
{
	if (b->stack_local)
		kestrel_space_unmap(KESTREL_THIS_SPACE, (uint64_t)(uintptr_t)b->stack_local,
				    b->stack_size);
	b->stack_local = NULL;
	if (b->thread > 0)
		kestrel_thread_kill(b->thread);
	close_if(&b->thread);
	close_if(&b->stack_mem);
	close_if(&b->lanes[0]);
	close_if(&b->lanes[1]);
	close_if(&b->space);
	close_if(&b->table);
}

/* A memory object holding the segment's pages, mapped into the new space. */
static int64_t load_segment(struct build *b, const uint8_t *image, const struct elf_segment *seg)
{
	uint64_t base = page_down(seg->vaddr);
	uint64_t size = page_up(seg->vaddr + seg->memsz) - base;
	int64_t mem = kestrel_memory_create(size, KESTREL_MEMORY_ANONYMOUS, 0);
	if (mem < 0)
		return mem;
	int64_t r = 0;
	if (seg->filesz) {
		int64_t local = kestrel_space_map(KESTREL_THIS_SPACE, (kestrel_handle_t)mem, 0, 0,
						  size, KESTREL_MAP_READ | KESTREL_MAP_WRITE);
		if (local < 0) {
			kestrel_handle_close((kestrel_handle_t)mem);
			return local;
		}
		memcpy((uint8_t *)(uintptr_t)local + (seg->vaddr - base), image + seg->offset,
		       seg->filesz);
		kestrel_space_unmap(KESTREL_THIS_SPACE, (uint64_t)local, size);
	}
	r = kestrel_space_map(b->space, (kestrel_handle_t)mem, 0, base, size,
			      seg->prot | KESTREL_MAP_FIXED);
	kestrel_handle_close((kestrel_handle_t)mem);
	return r < 0 ? r : 0;
}

/* The start block, argv and strings, laid out at the top of the stack.
 * Returns the block's address in the child, or 0 if it does not fit. */
static uint64_t write_start_block(struct build *b, const struct kestrel_spawn *s,
				  struct kestrel_start *blk)
{
	size_t strings = 0;
	for (int i = 0; i < s->argc; i++)
		strings += strlen(s->argv[i]) + 1;
	size_t argv_size = ((size_t)s->argc + 1) * sizeof(uint64_t);
	size_t total = (sizeof(*blk) + argv_size + strings + 15) & ~(size_t)15;
	if (total > KESTREL_START_MAX_SIZE || total > b->stack_size / 2)
		return 0;

	uint64_t top = KESTREL_SPAWN_STACK_TOP;
	uint64_t child_blk = top - total;
	uint8_t *local = b->stack_local + b->stack_size - total;
	uint64_t *argv = (uint64_t *)(void *)(local + sizeof(*blk));
	uint64_t child_argv = child_blk + sizeof(*blk);
	uint64_t child_str = child_argv + argv_size;
	char *str = (char *)(local + sizeof(*blk) + argv_size);
	for (int i = 0; i < s->argc; i++) {
		size_t n = strlen(s->argv[i]) + 1;
		memcpy(str, s->argv[i], n);
		argv[i] = child_str;
		str += n;
		child_str += n;
	}
	argv[s->argc] = 0;

	blk->magic = KESTREL_START_MAGIC;
	blk->version = KESTREL_START_VERSION;
	blk->size = (uint32_t)total;
	blk->argc = s->argc;
	blk->argv = child_argv;
	blk->stack_base = top - b->stack_size;
	blk->stack_size = b->stack_size;
	memcpy(local, blk, sizeof(*blk));
	return child_blk;
}

int64_t kestrel_process_spawn(const struct kestrel_spawn *s, struct kestrel_process *out,
			      int *elf_error)
{
	struct elf_image img;
	static const struct kestrel_credentials no_creds;
	struct build b = {0};
	struct kestrel_start blk = {0};
	int64_t r;

	memset(out, 0, sizeof(*out));
	if (s->argc < 0 || s->argc > KESTREL_START_MAX_ARGS ||
	    s->handle_count > KESTREL_START_MAX_HANDLES)
		return -KE_INVALID;
	int err = elf_check(s->image, s->image_size, &img);
	if (elf_error)
		*elf_error = err;
	if (err)
		return -KE_INVALID;

	b.stack_size = page_up(s->stack_size ? s->stack_size : KESTREL_SPAWN_STACK_DEFAULT);
	if (b.stack_size < 2 * KESTREL_PAGE_SIZE || b.stack_size > (1ull << 30))
		return -KE_INVALID;

	r = kestrel_table_create(s->creds ? s->creds : &no_creds);
	if (r < 0)
		goto fail;
	b.table = (kestrel_handle_t)r;
	r = kestrel_space_create();
	if (r < 0)
		goto fail;
	b.space = (kestrel_handle_t)r;

	for (uint32_t i = 0; i < img.segment_count; i++) {
		r = load_segment(&b, s->image, &img.segments[i]);
		if (r < 0)
			goto fail;
	}

	/* The stack, mapped in both spaces until the start block is written. */
	r = kestrel_memory_create(b.stack_size, KESTREL_MEMORY_ANONYMOUS, 0);
	if (r < 0)
		goto fail;
	b.stack_mem = (kestrel_handle_t)r;
	r = kestrel_space_map(b.space, b.stack_mem, 0, KESTREL_SPAWN_STACK_TOP - b.stack_size,
			      b.stack_size, KESTREL_MAP_READ | KESTREL_MAP_WRITE | KESTREL_MAP_FIXED);
	if (r < 0)
		goto fail;
	r = kestrel_space_map(KESTREL_THIS_SPACE, b.stack_mem, 0, 0, b.stack_size,
			      KESTREL_MAP_READ | KESTREL_MAP_WRITE);
	if (r < 0)
		goto fail;
	b.stack_local = (uint8_t *)(uintptr_t)r;

	/* The lane to the parent, and the handles passed on. */
	r = kestrel_stream_create(b.lanes);
	if (r < 0)
		goto fail;
	r = kestrel_handle_transfer(b.lanes[1], b.table, KESTREL_RIGHT_READ | KESTREL_RIGHT_WRITE);
	if (r < 0)
		goto fail;
	blk.parent = (kestrel_handle_t)r;
	close_if(&b.lanes[1]);
	for (uint32_t i = 0; i < s->handle_count; i++) {
		r = kestrel_handle_transfer(s->handles[i], b.table,
					    s->handle_rights ? s->handle_rights[i] : KESTREL_RIGHTS_ALL);
		if (r < 0)
			goto fail;
		blk.handles[i] = (kestrel_handle_t)r;
	}
	blk.handle_count = s->handle_count;

	uint64_t child_blk = write_start_block(&b, s, &blk);
	if (!child_blk) {
		r = -KE_TOO_BIG;
		goto fail;
	}
	r = kestrel_thread_create(b.space, b.table, img.entry, child_blk, child_blk,
				  KESTREL_THREAD_STOPPED);
	if (r < 0)
		goto fail;
	b.thread = (kestrel_handle_t)r;
	if (!(s->flags & KESTREL_SPAWN_NO_SELF)) {
		r = kestrel_handle_transfer(b.thread, b.table, KESTREL_RIGHTS_ALL);
		if (r < 0)
			goto fail;
		blk.self_thread = (kestrel_handle_t)r;
		/* The block's copy in the stack needs the number too. */
		struct kestrel_start *in_stack =
			(void *)(b.stack_local + b.stack_size - (KESTREL_SPAWN_STACK_TOP - child_blk));
		in_stack->self_thread = blk.self_thread;
	}

	kestrel_space_unmap(KESTREL_THIS_SPACE, (uint64_t)(uintptr_t)b.stack_local, b.stack_size);
	b.stack_local = NULL;
	close_if(&b.stack_mem);

	if (!(s->flags & KESTREL_SPAWN_STOPPED)) {
		r = kestrel_thread_start(b.thread);
		if (r < 0)
			goto fail;
	}
	out->lane = b.lanes[0];
	out->thread = b.thread;
	b.lanes[0] = b.thread = 0;
	if (s->flags & KESTREL_SPAWN_KEEP_SPACE) {
		out->space = b.space;
		b.space = 0;
	}
	if (s->flags & KESTREL_SPAWN_KEEP_TABLE) {
		out->table = b.table;
		b.table = 0;
	}
	cleanup(&b);
	return 0;

fail:
	cleanup(&b);
	return r;
}

const char *kestrel_elf_strerror(int elf_error)
{
	return elf_strerror(elf_error);
}
