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

#include <kestrel/device.h>
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
	 * view of [offset, offset+size) of h. Needs READ. KE_INVALID (size 0,
	 * offset or size not page-aligned, outside h, device memory). */
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
	 * the table. flags: KESTREL_THREAD_* (LINUX: system calls that are not
	 * Kestrel calls go to the observer, see thread_observe; create it
	 * STOPPED and attach the observer before starting it). KE_INVALID
	 * (non-canonical or kernel ip/sp, unknown flags). */
	KESTREL_SYS_THREAD_CREATE,
	/* thread_start(h) -> 0. Needs CONTROL. KE_BUSY if not stopped (created
	 * stopped and not started yet; a thread stopped at an observation event
	 * goes on with thread_resume). */
	KESTREL_SYS_THREAD_START,
	/* thread_kill(h) -> 0. Needs CONTROL. The thread ends at its next
	 * entry to the kernel (at once if it is blocked or stopped). */
	KESTREL_SYS_THREAD_KILL,
	/* thread_exit() -> does not return. */
	KESTREL_SYS_THREAD_EXIT,
	/* thread_yield() -> 0 */
	KESTREL_SYS_THREAD_YIELD,
	/* thread_get_regs(h, set, void *buf, size) / thread_set_regs(...) -> 0.
	 * Needs CONTROL; the thread must be stopped — created stopped and not
	 * started, or stopped at an observation event — (KE_BUSY) unless it is
	 * the caller reading itself. size must be the set's size (KE_INVALID);
	 * set_regs: KE_INVALID for a kernel or non-canonical rip, FS/GS base or
	 * reserved MXCSR bits. */
	KESTREL_SYS_THREAD_GET_REGS,
	KESTREL_SYS_THREAD_SET_REGS,
	/* thread_set_priority(h, prio) -> 0. KESTREL_PRIORITY_MIN..MAX. Needs CONTROL. */
	KESTREL_SYS_THREAD_SET_PRIORITY,
	/* thread_set_affinity(h, cpu_mask) -> 0. KE_INVALID if no online CPU
	 * is in the mask. Needs CONTROL. */
	KESTREL_SYS_THREAD_SET_AFFINITY,
	/* thread_observe(h, queue, tag) -> 0. Attaches `queue` as the thread's
	 * observer: from now on its events (thread.h, "Observation") complete
	 * into the queue as KESTREL_REC_OBSERVE records with this tag. Room for
	 * two records is reserved at once and kept reserved (one for the next
	 * stop, one for the exit), so no event is ever dropped. Needs OBSERVE
	 * on h and WAIT on the queue. queue = KESTREL_HANDLE_NONE detaches the
	 * observer (KE_NOT_FOUND if there is none); a thread stopped at that
	 * moment handles its event as an unobserved thread would (it ends).
	 * The observer also goes away when the queue object is destroyed (its
	 * last handle closed and no operation using it), with the same effect.
	 * KE_BUSY (observed already, or the thread has ended), KE_NO_SPACE. */
	KESTREL_SYS_THREAD_OBSERVE,
	/* thread_resume(h, sequence, action) -> 0. Ends the stop reported with
	 * `sequence`; action: KESTREL_RESUME_* (thread.h). Needs OBSERVE.
	 * Continuing reserves room for the thread's next event first: if the
	 * queue cannot hold it, KE_NO_SPACE and the thread stays stopped
	 * (consume records and retry, or kill it). KE_BUSY (not stopped for
	 * observation), KE_NOT_FOUND (stopped, but for another sequence),
	 * KE_INVALID (unknown action). */
	KESTREL_SYS_THREAD_RESUME,

	/* stream_create(kestrel_handle_t out[2]) -> 0. Two lanes (READ WRITE
	 * TRANSFER DUPLICATE). */
	KESTREL_SYS_STREAM_CREATE,
	/* queue_create(capacity, uint64_t *addr_out) -> handle (WAIT TRANSFER
	 * DUPLICATE). Maps the queue into the caller's space and stores its
	 * address. capacity: a power of two in KESTREL_QUEUE_MIN..MAX. */
	KESTREL_SYS_QUEUE_CREATE,
	/* queue_wait(h, index, timeout_ns) -> the queue's tail. Blocks until
	 * tail != index (or the relative timeout, KE_TIMEOUT; 0 = forever).
	 * KE_CANCELLED: the thread was killed while it waited. */
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
	 * KE_AGAIN if *addr != expected; KE_TIMEOUT; KE_CANCELLED (killed while
	 * waiting). addr must be 4-byte aligned (KE_INVALID). */
	KESTREL_SYS_FUTEX_WAIT,
	/* futex_wake(const uint32_t *addr, count) -> threads woken */
	KESTREL_SYS_FUTEX_WAKE,

	/* ---- Driver capabilities (device.h, docs/kernel/devices.md) ---- */

	/* ioports_create(ioports, base, count) -> a handle to the I/O-port
	 * range [base, base+count), with the rights of `ioports`. Needs CONTROL
	 * on it. count >= 1 and base+count <= KESTREL_IOPORTS_COUNT
	 * (KE_INVALID); the range must lie inside that of `ioports`
	 * (KE_ACCESS). init receives all ports (init.h), with READ WRITE
	 * CONTROL TRANSFER DUPLICATE. */
	KESTREL_SYS_IOPORTS_CREATE,
	/* ioport_in(ioports, port, width) -> the value read (zero-extended).
	 * Needs READ. ioport_out(ioports, port, width, value) -> 0. Needs WRITE.
	 * width: 1, 2 or 4 bytes (KE_INVALID); value must fit in width bytes
	 * (KE_INVALID); [port, port+width) must lie inside the handle's range
	 * (KE_ACCESS, also for a port beyond 65535). */
	KESTREL_SYS_IOPORT_IN,
	KESTREL_SYS_IOPORT_OUT,
	/* irq_create(irq_control, number, flags) -> a handle to a new IRQ object
	 * (WAIT CONTROL TRANSFER DUPLICATE) bound to GSI `number` (or ISA IRQ
	 * `number` with KESTREL_IRQ_ISA). Needs CONTROL on the IRQ-control
	 * capability (init.h; KE_BAD_TYPE for an IRQ object that is a bound
	 * line). The line is routed to a kernel vector, unmasked, with the
	 * trigger mode and polarity in flags (KESTREL_IRQ_*). KE_INVALID: no
	 * IO APIC serves the GSI, an ISA IRQ above 15, unknown flags. KE_BUSY:
	 * the GSI is bound to another IRQ object. Closing the object's last
	 * handle masks the line, frees the GSI and completes pending waits
	 * with KE_CANCELLED. */
	KESTREL_SYS_IRQ_CREATE,
	/* irq_submit(irq, queue, tag) -> 0. An asynchronous wait: a
	 * KESTREL_REC_IRQ completion (device.h: status = sequence number) on
	 * the next interrupt not yet reported, at once if one has arrived
	 * already. Waits are served in submission order, one per interrupt.
	 * Needs WAIT on both. Cancellable with cancel(queue, tag). KE_NO_SPACE,
	 * KE_BAD_TYPE (the IRQ-control capability). */
	KESTREL_SYS_IRQ_SUBMIT,
	/* irq_ack(irq, sequence) -> 0. The driver has served interrupts up to
	 * `sequence`: a level-triggered line masked since that interrupt (the
	 * newest) is unmasked; an older sequence number changes nothing.
	 * Needs CONTROL. KE_INVALID: 0 or a sequence number not yet reported
	 * in a completion. */
	KESTREL_SYS_IRQ_ACK,
	/* memory_physical_range(physical, phys_base, size, cache) -> a memory
	 * object over the physical range [phys_base, phys_base+size): device
	 * memory (MMIO), with READ WRITE MAP TRANSFER DUPLICATE (never
	 * executable). Needs CONTROL on the physical-range capability (init.h).
	 * phys_base and size page-aligned, size at most KESTREL_MEMORY_MAX, the
	 * range below 2^52 (KE_INVALID). cache: KESTREL_CACHE_* (KE_INVALID;
	 * WRITE_COMBINING: KE_NOT_SUPPORTED). KE_ACCESS: the range overlaps RAM
	 * or firmware memory of the boot memory map (anything but "reserved"
	 * and holes: the kernel's allocator, the kernel, ACPI tables), or
	 * registers the kernel drives itself (local APIC, IO APICs). Only for
	 * mapping: the kernel does not read or write it for anyone (space_read
	 * / space_write over it: KE_FAULT; memory_cow: KE_INVALID). */
	KESTREL_SYS_MEMORY_PHYSICAL_RANGE,

	/* shutdown(status) -> does not return. Powers the machine off (under
	 * QEMU, through isa-debug-exit: status 0 exits QEMU with 33, anything
	 * else with 35). Only for the privileged
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
