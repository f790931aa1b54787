/*
 * User copies (see usercopy.h): the range check here, the fault-safe copy
 * in the architecture (arch_usercopy), the fault resolution in the page
 * fault handler.
 */
#include "usercopy.h"

#include <kestrel/error.h>
#include <kestrel/memory.h>

#include "arch.h"

int usercopy_range_ok(uint64_t addr, size_t n)
{
	if (addr + n < addr)
		return 0;
	return addr + n <= KESTREL_USER_MAX;
}

int usercopy_from(void *dst, uint64_t user_src, size_t n)
{
	if (!n)
		return 0;
	if (!usercopy_range_ok(user_src, n))
		return -KE_FAULT;
	return arch_usercopy(dst, (const void *)user_src, n);
}

int usercopy_to(uint64_t user_dst, const void *src, size_t n)
{
	if (!n)
		return 0;
	if (!usercopy_range_ok(user_dst, n))
		return -KE_FAULT;
	return arch_usercopy((void *)user_dst, src, n);
}
