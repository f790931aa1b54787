#include <kestrel/calls.h>
#include <stdlib.h>

/* No signals on Kestrel (yet): abort() says so in the log and exits with
 * the status a shell would show for SIGABRT. */
_Noreturn void abort(void)
{
	static const char msg[] = "abort() called";
	kestrel_log(msg, sizeof(msg) - 1, KESTREL_LOG_ERROR);
	exit(134);
}
