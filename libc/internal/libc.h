/*
 * Internal state of the C library on Kestrel: what the program was started
 * with, and the hooks exit() runs.
 */
#ifndef LIBC_LIBC_H
#define LIBC_LIBC_H

#include <kestrel/init.h>
#include <kestrel/start.h>

/* Exactly one of these is set once __libc_start() has run. */
extern const struct kestrel_init_info *__kestrel_init_info;
extern const struct kestrel_start *__kestrel_start;

/* Pages for malloc: a page-aligned, zeroed, read-write range of at least
 * `size` bytes (rounded up to pages), or NULL. */
void *__pages_alloc(size_t size);
void __pages_free(void *p, size_t size);

/* Ends the process at once: kills the program's other threads (those made
 * with kestrel_uthread_create) and exits the calling one. */
_Noreturn void __process_exit(void);
void __uthread_kill_all(void);

#endif
