/*
 * <kestrel/calls.h>: one C function per Kestrel system call.
 *
 * The calls, their rights and their errors are documented in the kernel
 * API header <kestrel/syscall.h>; these wrappers only marshal arguments.
 * Every function returns the kernel's raw result: >= 0 on success (0, a
 * handle, an address, a count), or -KE_* (<kestrel/error.h>). There is no
 * errno: errors are values.
 *
 * kestrel_syscall() makes any call with six raw 64-bit arguments — for
 * tests that must pass values the typed wrappers cannot express (huge
 * handles, unknown call numbers).
 */
#ifndef _KESTREL_CALLS_H
#define _KESTREL_CALLS_H

#include <kestrel/syscall.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

int64_t kestrel_syscall(uint64_t number, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
			uint64_t a5, uint64_t a6);

/* Log levels for kestrel_log(). */
#define KESTREL_LOG_ERROR 0
#define KESTREL_LOG_WARN 1
#define KESTREL_LOG_INFO 2
#define KESTREL_LOG_DEBUG 3

int64_t kestrel_log(const char *text, size_t length, int level);
int64_t kestrel_clock(void);
int64_t kestrel_system_info(struct kestrel_system_info *out);

int64_t kestrel_handle_close(kestrel_handle_t h);
int64_t kestrel_handle_duplicate(kestrel_handle_t h, uint32_t rights);
int64_t kestrel_handle_info(kestrel_handle_t h, struct kestrel_handle_info *out);
int64_t kestrel_handle_transfer(kestrel_handle_t h, kestrel_handle_t table, uint32_t rights);
int64_t kestrel_table_create(const struct kestrel_credentials *creds);

int64_t kestrel_memory_create(uint64_t size, uint32_t kind, uint64_t limit);
int64_t kestrel_memory_size(kestrel_handle_t h);
int64_t kestrel_memory_cow(kestrel_handle_t h, uint64_t offset, uint64_t size);
int64_t kestrel_memory_physical(kestrel_handle_t h);

int64_t kestrel_space_create(void);
int64_t kestrel_space_map(kestrel_handle_t space, kestrel_handle_t memory, uint64_t offset,
			  uint64_t addr, uint64_t size, uint32_t flags);
int64_t kestrel_space_unmap(kestrel_handle_t space, uint64_t addr, uint64_t size);
int64_t kestrel_space_protect(kestrel_handle_t space, uint64_t addr, uint64_t size, uint32_t prot);
int64_t kestrel_space_read(kestrel_handle_t space, uint64_t addr, void *buf, size_t size);
int64_t kestrel_space_write(kestrel_handle_t space, uint64_t addr, const void *buf, size_t size);

int64_t kestrel_thread_create(kestrel_handle_t space, kestrel_handle_t table, uint64_t ip,
			      uint64_t sp, uint64_t arg, uint32_t flags);
int64_t kestrel_thread_start(kestrel_handle_t thread);
int64_t kestrel_thread_kill(kestrel_handle_t thread);
_Noreturn void kestrel_thread_exit(void);
int64_t kestrel_thread_yield(void);
int64_t kestrel_thread_get_regs(kestrel_handle_t thread, uint32_t set, void *buf, size_t size);
int64_t kestrel_thread_set_regs(kestrel_handle_t thread, uint32_t set, const void *buf,
				size_t size);
int64_t kestrel_thread_set_priority(kestrel_handle_t thread, uint32_t priority);
int64_t kestrel_thread_set_affinity(kestrel_handle_t thread, uint64_t cpu_mask);
/* Observation (calls/observe.c): queue KESTREL_HANDLE_NONE detaches. */
int64_t kestrel_thread_observe(kestrel_handle_t thread, kestrel_handle_t queue, uint64_t tag);
int64_t kestrel_thread_resume(kestrel_handle_t thread, uint64_t sequence, uint32_t action);

int64_t kestrel_stream_create(kestrel_handle_t lanes[2]);
int64_t kestrel_queue_create(uint32_t capacity, uint64_t *addr_out);
int64_t kestrel_queue_wait(kestrel_handle_t queue, uint32_t index, uint64_t timeout_ns);
int64_t kestrel_submit(kestrel_handle_t lane, kestrel_handle_t queue,
		       const struct kestrel_action *actions, uint32_t count, uint64_t tag);
int64_t kestrel_submit_batch(kestrel_handle_t queue, const struct kestrel_submission *subs,
			     uint32_t count);
int64_t kestrel_cancel(kestrel_handle_t queue, uint64_t tag);
int64_t kestrel_timer_submit(kestrel_handle_t queue, uint64_t deadline_ns, uint64_t tag);

int64_t kestrel_futex_wait(const uint32_t *addr, uint32_t expected, uint64_t timeout_ns);
int64_t kestrel_futex_wake(const uint32_t *addr, uint32_t count);

/* Driver capabilities (<kestrel/device.h>). */
int64_t kestrel_ioports_create(kestrel_handle_t ioports, uint32_t base, uint32_t count);
int64_t kestrel_ioport_in(kestrel_handle_t ioports, uint32_t port, uint32_t width);
int64_t kestrel_ioport_out(kestrel_handle_t ioports, uint32_t port, uint32_t width,
			   uint32_t value);
int64_t kestrel_irq_create(kestrel_handle_t irq_control, uint32_t number, uint32_t flags);
int64_t kestrel_irq_submit(kestrel_handle_t irq, kestrel_handle_t queue, uint64_t tag);
int64_t kestrel_irq_ack(kestrel_handle_t irq, uint64_t sequence);
int64_t kestrel_memory_physical_range(kestrel_handle_t physical, uint64_t base, uint64_t size,
				      uint32_t cache);

/* Returns only on failure (KE_ACCESS: not the boot process). */
int64_t kestrel_shutdown(int status);

/* The name of an error code ("KE_FAULT"), for messages; e is KE_* or -KE_*. */
const char *kestrel_error_name(int64_t e);

#ifdef __cplusplus
}
#endif

#endif
