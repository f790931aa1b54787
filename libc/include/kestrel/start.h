/*
 * <kestrel/start.h>: how a Kestrel program (other than init) starts, and
 * the messages it sends its parent.
 *
 * The loader (kestrel_process_spawn, <kestrel/process.h>) writes a
 * struct kestrel_start, the argv pointer array and the argument strings
 * at the top of the new program's main stack, and starts its one thread at
 * the ELF entry with
 *     rdi = the address of the struct kestrel_start,
 *     rsp = 16-byte aligned, just below the block (nothing pushed).
 * init instead gets the kernel's struct kestrel_init_info (<kestrel/init.h>);
 * crt0 tells the two apart by their magic.
 *
 * Handles in the block are numbers in the new program's own table:
 *   parent       its end of a stream to the parent (READ WRITE): the parent
 *                kept the other lane. Talk back here.
 *   self_thread  its main thread (all rights): for affinity, priority.
 *   handles[]    whatever the parent passed, meaning by convention between
 *                the two (init passes the initrd to the test programs).
 *
 * The parent lane carries struct kestrel_parent_message records. exit()
 * (and returning from main) sends KESTREL_PARENT_EXIT with the status
 * before the program ends; a parent that sees the lane end without it
 * knows the program died (or closed the lane). Other messages may be
 * exchanged before that, by convention between parent and child.
 */
#ifndef _KESTREL_START_H
#define _KESTREL_START_H

#include <kestrel/init.h>
#include <kestrel/object.h>
#include <stdint.h>

#define KESTREL_START_MAGIC 0x4b535452u /* "KSTR" */
#define KESTREL_START_VERSION 1
#define KESTREL_START_MAX_HANDLES 8
#define KESTREL_START_MAX_ARGS 32
#define KESTREL_START_MAX_SIZE 4096 /* the block, pointers and strings */

struct kestrel_start {
	uint32_t magic;
	uint32_t version;
	uint32_t size; /* bytes of the block, argv and strings included */
	int32_t argc;
	uint64_t argv; /* char *argv[argc + 1], inside the block */
	kestrel_handle_t parent;
	kestrel_handle_t self_thread;
	uint32_t handle_count;
	kestrel_handle_t handles[KESTREL_START_MAX_HANDLES];
	uint32_t reserved;
	uint64_t stack_base; /* lowest address of the main stack */
	uint64_t stack_size;
};

#define KESTREL_PARENT_MAGIC 0x4b504152u /* "KPAR" */

enum kestrel_parent_type {
	KESTREL_PARENT_EXIT = 1,    /* value[0]: the exit status */
	KESTREL_PARENT_RESULTS = 2, /* test programs: value[0] passed, value[1] failed */
	KESTREL_PARENT_DATA = 3,    /* by convention between parent and child */
};

struct kestrel_parent_message {
	uint32_t magic;
	uint32_t type;
	int64_t value[2];
};

/* What this program was started with: exactly one is non-NULL. */
const struct kestrel_start *kestrel_start_info(void);
const struct kestrel_init_info *kestrel_init_info(void);

/* Send a message to the parent and wait (up to timeout_ns, 0 = forever)
 * until the parent has received it. -KE_NOT_FOUND without a parent lane. */
int64_t kestrel_parent_send(uint32_t type, int64_t v0, int64_t v1, uint64_t timeout_ns);

#endif
