/*
 * <kestrel/process.h>: starting a program in a new process.
 *
 * A Kestrel process is an address space, a handle table and threads; the
 * kernel knows no more. kestrel_process_spawn() builds one from a static
 * ELF64 executable held in the caller's memory:
 *   1. checks the ELF file completely (it is untrusted input);
 *   2. table_create() with the given credentials, space_create();
 *   3. per PT_LOAD segment a memory object: mapped into the caller,
 *      filled with the file bytes (the rest stays zero), unmapped, then
 *      mapped into the new space at the segment's address with its
 *      protections;
 *   4. a main stack below KESTREL_SPAWN_STACK_TOP, topped by the start
 *      block (<kestrel/start.h>);
 *   5. a stream: the caller keeps one lane, the other goes to the child's
 *      table (handle_transfer) as its `parent` lane; the handles asked for
 *      are transferred too, and the thread's own handle;
 *   6. thread_create(space, table, entry, sp, start block) and start.
 * The caller keeps the lane and the thread handle; the space and table
 * handles are closed unless asked for, so the process goes away with its
 * last thread.
 */
#ifndef _KESTREL_PROCESS_H
#define _KESTREL_PROCESS_H

#include <kestrel/start.h>
#include <kestrel/stream.h>
#include <stddef.h>
#include <stdint.h>

#define KESTREL_SPAWN_STACK_TOP 0x00007ff000000000ull
#define KESTREL_SPAWN_STACK_DEFAULT (256u << 10)

/* kestrel_spawn.flags */
#define KESTREL_SPAWN_STOPPED (1u << 0)    /* leave the thread stopped (thread_start) */
#define KESTREL_SPAWN_KEEP_SPACE (1u << 1) /* return the space handle */
#define KESTREL_SPAWN_KEEP_TABLE (1u << 2) /* return the table handle */
#define KESTREL_SPAWN_NO_SELF (1u << 3)    /* no self_thread handle for the child */

struct kestrel_spawn {
	const char *name; /* for messages */
	const void *image;
	size_t image_size;
	int argc;
	const char *const *argv;
	uint32_t handle_count; /* at most KESTREL_START_MAX_HANDLES */
	const kestrel_handle_t *handles;
	const uint32_t *handle_rights; /* rights to give each (masked by the handle's) */
	size_t stack_size;             /* 0: KESTREL_SPAWN_STACK_DEFAULT */
	const struct kestrel_credentials *creds; /* NULL: all zero */
	uint32_t flags;
};

struct kestrel_process {
	kestrel_handle_t lane;   /* the caller's end of the stream to the child */
	kestrel_handle_t thread; /* the child's main thread (all rights) */
	kestrel_handle_t space;  /* with KESTREL_SPAWN_KEEP_SPACE, else 0 */
	kestrel_handle_t table;  /* with KESTREL_SPAWN_KEEP_TABLE, else 0 */
};

/* 0 and *out filled, or -KE_*. A file that fails the ELF checks gives
 * -KE_INVALID and, if elf_error is not NULL, the reason (elf_strerror). */
int64_t kestrel_process_spawn(const struct kestrel_spawn *s, struct kestrel_process *out,
			      int *elf_error);
/* The text for an elf_error value. */
const char *kestrel_elf_strerror(int elf_error);

#endif
