/*
 * Kestrel kernel API: the system calls.
 *
 * Calling convention (x86_64): `syscall` with the call number in rax and
 * up to six arguments in rdi, rsi, rdx, r10, r8, r9. The result comes back
 * in rax: >= 0 for success, -KE_* for an error (error.h). rcx and r11 are
 * clobbered; every other register is preserved.
 *
 * Call numbers start at KESTREL_SYSCALL_BASE, far from Linux's, so a thread
 * with the Linux personality can make both kinds: anything that is not a
 * Kestrel number is a Linux call, reported to the thread's observer.
 *
 * Each call below lists its arguments, what it returns, the rights it
 * needs, and the errors it can give beyond KE_BAD_HANDLE / KE_BAD_TYPE /
 * KE_ACCESS (for every handle argument) and KE_FAULT (for every pointer).
 */
#ifndef KESTREL_SYSCALL_H
#define KESTREL_SYSCALL_H

#include <kestrel/error.h>
#include <kestrel/memory.h>
#include <kestrel/object.h>
#include <kestrel/queue.h>
#include <kestrel/stream.h>
#include <kestrel/thread.h>

#define KESTREL_SYSCALL_BASE 0x4b000

enum kestrel_syscall {
	/* log(const char *text, size_t length, int level) -> 0
	 * Writes one line to the kernel log, prefixed with the thread's name.
	 * level: 0 error .. 3 debug. Longer than 512 bytes: truncated. */
	KESTREL_SYS_LOG = KESTREL_SYSCALL_BASE,

	/* clock() -> nanoseconds of the monotonic clock */
	KESTREL_SYS_CLOCK,

	/* handle_close(h) -> 0 */
	KESTREL_SYS_HANDLE_CLOSE,
	/* handle_duplicate(h, rights) -> new handle with rights & h's rights.
	 * Needs DUPLICATE. KE_LIMIT: the table is full. */
	KESTREL_SYS_HANDLE_DUPLICATE,
	/* handle_info(h, struct kestrel_handle_info *out) -> 0 */
	KESTREL_SYS_HANDLE_INFO,
	/* handle_transfer(h, table, rights) -> the handle's number in `table`
	 * (a copy with rights & h's rights). Needs TRANSFER on h and WRITE on
	 * table. KE_LIMIT. */
	KESTREL_SYS_HANDLE_TRANSFER,
	/* table_create(const struct kestrel_credentials *creds) -> a new, empty
	 * handle table for a new process, with the given credentials. */
	KESTREL_SYS_TABLE_CREATE,

	/* memory_create(size, kind, limit) -> handle (READ WRITE MAP EXECUTE
	 * TRANSFER DUPLICATE CONTROL). size: rounded up to pages, at most
	 * KESTREL_MEMORY_MAX. kind: KESTREL_MEMORY_ANONYMOUS, or
	 * KESTREL_MEMORY_CONTIGUOUS (pages allocated now, below `limit` if not
	 * 0; at most 4 MiB). KE_INVALID, KE_TOO_BIG, KE_NO_MEMORY. */
	KESTREL_SYS_MEMORY_CREATE,
	/* memory_size(h) -> size in bytes */
	KESTREL_SYS_MEMORY_SIZE,
	/* memory_cow(h, offset, size) -> a new memory object: a copy-on-write
	 * view of [offset, offset+size) of h. Needs READ. KE_INVALID. */
	KESTREL_SYS_MEMORY_COW,
	/* memory_physical(h) -> physical address of a contiguous object's first
	 * page (for DMA). Needs CONTROL. KE_INVALID if not contiguous. */
	KESTREL_SYS_MEMORY_PHYSICAL,

	/* space_create() -> a new, empty address space (all rights) */
	KESTREL_SYS_SPACE_CREATE,
	/* space_map(space, memory, offset, addr, size, flags) -> address.
	 * Needs MAP on both, and READ/WRITE/EXECUTE on memory for the
	 * protections asked. offset, addr, size page-aligned; [offset,
	 * offset+size) inside the object. Without a FIXED flag addr is a hint.
	 * KE_INVALID, KE_BUSY (FIXED and taken), KE_NO_MEMORY (no room). */
	KESTREL_SYS_SPACE_MAP,
	/* space_unmap(space, addr, size) -> 0. Unmaps whatever lies in the range.
	 * Needs MAP. KE_INVALID (unaligned, outside user space). */
	KESTREL_SYS_SPACE_UNMAP,
	/* space_protect(space, addr, size, prot) -> 0. The range must be mapped
	 * entirely (KE_NOT_FOUND) with rights allowing prot (KE_ACCESS). */
	KESTREL_SYS_SPACE_PROTECT,
	/* space_read(space, addr, void *buf, size) / space_write(space, addr,
	 * const void *buf, size) -> bytes copied. Copies between another space
	 * and the caller's. Needs READ / WRITE on the space. KE_FAULT if the
	 * other side's range is not mapped so. At most 1 MiB per call (KE_TOO_BIG);
	 * a size of 0 checks the handle and copies nothing. */
	KESTREL_SYS_SPACE_READ,
	KESTREL_SYS_SPACE_WRITE,

	/* thread_create(space, table, ip, sp, arg, flags) -> handle (all rights).
	 * A user thread in `space` using handle table `table`, starting at ip
	 * with stack pointer sp and rdi = arg. Needs MAP on the space, WRITE on
	 * the table. flags: KESTREL_THREAD_*. KE_INVALID (non-canonical or kernel
	 * ip/sp, unknown flags). */
	KESTREL_SYS_THREAD_CREATE,
	/* thread_start(h) -> 0. Needs CONTROL. KE_BUSY if not stopped. */
	KESTREL_SYS_THREAD_START,
	/* thread_kill(h) -> 0. Needs CONTROL. The thread ends at its next
	 * entry to the kernel (at once if it is blocked or stopped). */
	KESTREL_SYS_THREAD_KILL,
	/* thread_exit() -> does not return. */
	KESTREL_SYS_THREAD_EXIT,
	/* thread_yield() -> 0 */
	KESTREL_SYS_THREAD_YIELD,
	/* thread_get_regs(h, set, void *buf, size) / thread_set_regs(...) -> 0.
	 * Needs CONTROL; the thread must be stopped (KE_BUSY) unless it is the
	 * caller reading itself. size must be the set's size (KE_INVALID). */
	KESTREL_SYS_THREAD_GET_REGS,
	KESTREL_SYS_THREAD_SET_REGS,
	/* thread_set_priority(h, prio) -> 0. KESTREL_PRIORITY_MIN..MAX. Needs CONTROL. */
	KESTREL_SYS_THREAD_SET_PRIORITY,
	/* thread_set_affinity(h, cpu_mask) -> 0. KE_INVALID if no online CPU
	 * is in the mask. Needs CONTROL. */
	KESTREL_SYS_THREAD_SET_AFFINITY,

	/* stream_create(kestrel_handle_t out[2]) -> 0. Two lanes (READ WRITE
	 * TRANSFER DUPLICATE). */
	KESTREL_SYS_STREAM_CREATE,
	/* queue_create(capacity, uint64_t *addr_out) -> handle (WAIT TRANSFER
	 * DUPLICATE). Maps the queue into the caller's space and stores its
	 * address. capacity: a power of two in KESTREL_QUEUE_MIN..MAX. */
	KESTREL_SYS_QUEUE_CREATE,
	/* queue_wait(h, index, timeout_ns) -> the queue's tail. Blocks until
	 * tail != index (or the relative timeout, KE_TIMEOUT; 0 = forever). */
	KESTREL_SYS_QUEUE_WAIT,
	/* submit(lane, queue, const struct kestrel_action *actions, count, tag)
	 * -> 0. Needs WRITE on the lane for sending actions, READ for
	 * receiving ones, WAIT on the queue. KE_INVALID (bad chain),
	 * KE_TOO_BIG, KE_NO_SPACE (queue full). */
	KESTREL_SYS_SUBMIT,
	/* submit_batch(queue, const struct kestrel_submission *subs, count)
	 * -> submissions accepted (they are taken in order; the first that
	 * fails stops the batch and its error is returned if it is the first). */
	KESTREL_SYS_SUBMIT_BATCH,
	/* cancel(queue, tag) -> 0. The pending operation with this tag
	 * completes with KE_CANCELLED (or has completed already: KE_NOT_FOUND). */
	KESTREL_SYS_CANCEL,
	/* timer_submit(queue, deadline_ns, tag) -> 0. A KESTREL_REC_TIMER
	 * completion at the monotonic deadline. Cancellable. */
	KESTREL_SYS_TIMER_SUBMIT,

	/* futex_wait(const uint32_t *addr, expected, timeout_ns) -> 0 when woken;
	 * KE_AGAIN if *addr != expected; KE_TIMEOUT. */
	KESTREL_SYS_FUTEX_WAIT,
	/* futex_wake(const uint32_t *addr, count) -> threads woken */
	KESTREL_SYS_FUTEX_WAKE,

	/* shutdown(status) -> does not return. Powers the machine off (under
	 * QEMU: exits with the status, 0 = success). Only for the privileged
	 * boot process (init): KE_ACCESS for anyone else. */
	KESTREL_SYS_SHUTDOWN,

	/* system_info(struct kestrel_system_info *out) -> 0. CPUs, physical
	 * pages, and live kernel objects by type. Free pages include the
	 * kernel's slab caches' idle pages only once those are returned, so
	 * leak checks compare object counts exactly and pages loosely. */
	KESTREL_SYS_SYSTEM_INFO,

	KESTREL_SYS_END
};

#define KESTREL_SYSCALL_COUNT (KESTREL_SYS_END - KESTREL_SYSCALL_BASE)

#endif
