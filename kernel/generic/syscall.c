/*
 * System-call dispatch: one table from call number to handler, and the
 * small calls that belong to no object (log, clock, handles, shutdown).
 * Handlers take the raw 64-bit arguments and validate every one; the
 * numbers and semantics are in <kestrel/syscall.h>.
 */
#include "syscall.h"

#include <kestrel/syscall.h>

#include "arch.h"
#include "clock.h"
#include "handle.h"
#include "cpu.h"
#include "ioports.h"
#include "ipc.h"
#include "irq.h"
#include "kobject.h"
#include "log.h"
#include "physical.h"
#include "observe.h"
#include "pmm.h"
#include "sched.h"
#include "sys_memory.h"
#include "sys_thread.h"
#include "usercopy.h"
#include "uthread.h"

#define LOG_LINE_MAX 512

static int64_t sys_log(uint64_t text, uint64_t length, uint64_t level)
{
	char buf[LOG_LINE_MAX + 1];
	if (level > LOG_DEBUG)
		return -KE_INVALID;
	size_t n = length > LOG_LINE_MAX ? LOG_LINE_MAX : (size_t)length;
	int rc = usercopy_from(buf, text, n);
	if (rc)
		return rc;
	/* Drop a trailing newline and anything unprintable. */
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)buf[i] < 0x20 && buf[i] != '\t')
			buf[i] = '?';
	buf[n] = 0;
	log_printf((enum log_level)level, "[user %u] %s", thread_id(thread_current()), buf);
	return 0;
}

static int64_t sys_handle_close(int64_t h)
{
	struct handle_table *t = handle_current_table();
	return t ? handle_table_remove(t, h) : -KE_BAD_HANDLE;
}

static int64_t sys_handle_duplicate(int64_t h, uint64_t rights)
{
	struct kobject *obj;
	uint32_t have;
	int rc = handle_get(h, KESTREL_OBJ_NONE, KESTREL_RIGHT_DUPLICATE, &obj, &have);
	if (rc)
		return rc;
	int64_t r = handle_install(obj, have & (uint32_t)rights);
	kobject_put(obj);
	return r;
}

static int64_t sys_handle_info(int64_t h, uint64_t out)
{
	struct kobject *obj;
	uint32_t have;
	int rc = handle_get(h, KESTREL_OBJ_NONE, 0, &obj, &have);
	if (rc)
		return rc;
	struct kestrel_handle_info info = {obj->type, have, obj->id};
	kobject_put(obj);
	return usercopy_to(out, &info, sizeof(info));
}

static int64_t sys_handle_transfer(int64_t h, int64_t table_h, uint64_t rights)
{
	struct kobject *obj, *table;
	uint32_t have;
	int rc = handle_get(h, KESTREL_OBJ_NONE, KESTREL_RIGHT_TRANSFER, &obj, &have);
	if (rc)
		return rc;
	rc = handle_get(table_h, KESTREL_OBJ_TABLE, KESTREL_RIGHT_WRITE, &table, 0);
	if (rc) {
		kobject_put(obj);
		return rc;
	}
	int64_t r = handle_table_install((struct handle_table *)table, obj, have & (uint32_t)rights);
	kobject_put(table);
	kobject_put(obj);
	return r;
}

static int64_t sys_table_create(uint64_t creds_ptr)
{
	struct kestrel_credentials creds = {{0}};
	if (creds_ptr) {
		int rc = usercopy_from(&creds, creds_ptr, sizeof(creds));
		if (rc)
			return rc;
	}
	struct handle_table *t = handle_table_create(&creds);
	if (!t)
		return -KE_NO_MEMORY;
	int64_t h = handle_install(&t->obj, KESTREL_RIGHTS_ALL);
	kobject_put(&t->obj);
	return h;
}

static int64_t sys_shutdown(uint64_t status)
{
	struct handle_table *t = handle_current_table();
	if (!t || !t->privileged)
		return -KE_ACCESS;
	log_info("shutdown requested by user space (status %llu)", (unsigned long long)status);
	arch_qemu_exit(status ? 1 : 0);
}

static int64_t sys_system_info(uint64_t out)
{
	struct pmm_stats ps;
	pmm_get_stats(&ps);
	struct kestrel_system_info info = {
		.cpu_count = cpu_count,
		.total_pages = ps.total_pages,
		.free_pages = ps.free_pages,
		.objects = kobject_live_count(KESTREL_OBJ_NONE),
	};
	for (uint32_t t = 1; t < KESTREL_OBJ_TYPES; t++)
		info.objects_by_type[t] = kobject_live_count(t);
	return usercopy_to(out, &info, sizeof(info));
}

int64_t syscall_dispatch(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
			 uint64_t a4, uint64_t a5)
{
	switch (nr) {
	case KESTREL_SYS_LOG:
		return sys_log(a0, a1, a2);
	case KESTREL_SYS_CLOCK:
		return (int64_t)clock_monotonic_ns();
	case KESTREL_SYS_HANDLE_CLOSE:
		return sys_handle_close((int64_t)a0);
	case KESTREL_SYS_HANDLE_DUPLICATE:
		return sys_handle_duplicate((int64_t)a0, a1);
	case KESTREL_SYS_HANDLE_INFO:
		return sys_handle_info((int64_t)a0, a1);
	case KESTREL_SYS_HANDLE_TRANSFER:
		return sys_handle_transfer((int64_t)a0, (int64_t)a1, a2);
	case KESTREL_SYS_TABLE_CREATE:
		return sys_table_create(a0);
	case KESTREL_SYS_MEMORY_CREATE:
		return sys_memory_create(a0, a1, a2);
	case KESTREL_SYS_MEMORY_SIZE:
		return sys_memory_size((int64_t)a0);
	case KESTREL_SYS_MEMORY_COW:
		return sys_memory_cow((int64_t)a0, a1, a2);
	case KESTREL_SYS_MEMORY_PHYSICAL:
		return sys_memory_physical((int64_t)a0);
	case KESTREL_SYS_SPACE_CREATE:
		return sys_space_create();
	case KESTREL_SYS_SPACE_MAP:
		return sys_space_map((int64_t)a0, (int64_t)a1, a2, a3, a4, a5);
	case KESTREL_SYS_SPACE_UNMAP:
		return sys_space_unmap((int64_t)a0, a1, a2);
	case KESTREL_SYS_SPACE_PROTECT:
		return sys_space_protect((int64_t)a0, a1, a2, a3);
	case KESTREL_SYS_SPACE_READ:
		return sys_space_read((int64_t)a0, a1, a2, a3);
	case KESTREL_SYS_SPACE_WRITE:
		return sys_space_write((int64_t)a0, a1, a2, a3);
	case KESTREL_SYS_THREAD_CREATE:
		return sys_thread_create((int64_t)a0, (int64_t)a1, a2, a3, a4, a5);
	case KESTREL_SYS_THREAD_START:
		return sys_thread_start((int64_t)a0);
	case KESTREL_SYS_THREAD_KILL:
		return sys_thread_kill((int64_t)a0);
	case KESTREL_SYS_THREAD_EXIT:
		uthread_exit();
	case KESTREL_SYS_THREAD_YIELD:
		thread_yield();
		return 0;
	case KESTREL_SYS_THREAD_GET_REGS:
		return sys_thread_regs((int64_t)a0, a1, a2, a3, false);
	case KESTREL_SYS_THREAD_SET_REGS:
		return sys_thread_regs((int64_t)a0, a1, a2, a3, true);
	case KESTREL_SYS_THREAD_SET_PRIORITY:
		return sys_thread_set_priority((int64_t)a0, a1);
	case KESTREL_SYS_THREAD_SET_AFFINITY:
		return sys_thread_set_affinity((int64_t)a0, a1);
	case KESTREL_SYS_THREAD_OBSERVE:
		return sys_thread_observe((int64_t)a0, (int64_t)a1, a2);
	case KESTREL_SYS_THREAD_RESUME:
		return sys_thread_resume((int64_t)a0, a1, a2);
	case KESTREL_SYS_STREAM_CREATE:
		return sys_stream_create(a0);
	case KESTREL_SYS_QUEUE_CREATE:
		return sys_queue_create(a0, a1);
	case KESTREL_SYS_QUEUE_WAIT:
		return sys_queue_wait((int64_t)a0, a1, a2);
	case KESTREL_SYS_SUBMIT:
		return sys_submit((int64_t)a0, (int64_t)a1, a2, a3, a4);
	case KESTREL_SYS_SUBMIT_BATCH:
		return sys_submit_batch((int64_t)a0, a1, a2);
	case KESTREL_SYS_CANCEL:
		return sys_cancel((int64_t)a0, a1);
	case KESTREL_SYS_TIMER_SUBMIT:
		return sys_timer_submit((int64_t)a0, a1, a2);
	case KESTREL_SYS_FUTEX_WAIT:
		return sys_futex_wait(a0, a1, a2);
	case KESTREL_SYS_FUTEX_WAKE:
		return sys_futex_wake(a0, a1);
	case KESTREL_SYS_IOPORTS_CREATE:
		return sys_ioports_create((int64_t)a0, a1, a2);
	case KESTREL_SYS_IOPORT_IN:
		return sys_ioport_in((int64_t)a0, a1, a2);
	case KESTREL_SYS_IOPORT_OUT:
		return sys_ioport_out((int64_t)a0, a1, a2, a3);
	case KESTREL_SYS_IRQ_CREATE:
		return sys_irq_create((int64_t)a0, a1, a2);
	case KESTREL_SYS_IRQ_SUBMIT:
		return sys_irq_submit((int64_t)a0, (int64_t)a1, a2);
	case KESTREL_SYS_IRQ_ACK:
		return sys_irq_ack((int64_t)a0, a1);
	case KESTREL_SYS_MEMORY_PHYSICAL_RANGE:
		return sys_memory_physical_range((int64_t)a0, a1, a2, a3);
	case KESTREL_SYS_SHUTDOWN:
		return sys_shutdown(a0);
	case KESTREL_SYS_SYSTEM_INFO:
		return sys_system_info(a0);
	default:
		return -KE_BAD_CALL;
	}
}
