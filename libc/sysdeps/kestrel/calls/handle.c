/* Handles and handle tables. */
#include <kestrel/calls.h>

#include "syscall_arch.h"

/* Handles are sign-extended: the pseudo-handles are negative. */
#define H(h) ((uint64_t)(int64_t)(h))

int64_t kestrel_handle_close(kestrel_handle_t h)
{
	return __syscall1(KESTREL_SYS_HANDLE_CLOSE, H(h));
}

int64_t kestrel_handle_duplicate(kestrel_handle_t h, uint32_t rights)
{
	return __syscall2(KESTREL_SYS_HANDLE_DUPLICATE, H(h), rights);
}

int64_t kestrel_handle_info(kestrel_handle_t h, struct kestrel_handle_info *out)
{
	return __syscall2(KESTREL_SYS_HANDLE_INFO, H(h), (uint64_t)out);
}

int64_t kestrel_handle_transfer(kestrel_handle_t h, kestrel_handle_t table, uint32_t rights)
{
	return __syscall3(KESTREL_SYS_HANDLE_TRANSFER, H(h), H(table), rights);
}

int64_t kestrel_table_create(const struct kestrel_credentials *creds)
{
	return __syscall1(KESTREL_SYS_TABLE_CREATE, (uint64_t)creds);
}
