/*
 * Ending a program. exit() flushes standard output and tells the parent
 * (KESTREL_PARENT_EXIT, see <kestrel/start.h>), then ends every thread of
 * the program. The kernel has no process object: a program is its threads
 * and the handle table and address space they share, which go away with
 * the last thread and the last handle to them.
 */
#include <kestrel/calls.h>
#include <kestrel/start.h>
#include <stdlib.h>

#include "../../internal/libc.h"
#include "../../internal/stdio_impl.h"

/* How long exit() waits for the parent to take the exit message. */
#define EXIT_REPORT_TIMEOUT_NS 5000000000ull

_Noreturn void __process_exit(void)
{
	__uthread_kill_all();
	kestrel_thread_exit();
}

_Noreturn void _Exit(int status)
{
	(void)status;
	__process_exit();
}

_Noreturn void exit(int status)
{
	__stdout_flush();
	kestrel_parent_send(KESTREL_PARENT_EXIT, status, 0, EXIT_REPORT_TIMEOUT_NS);
	__process_exit();
}
