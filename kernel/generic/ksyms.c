/*
 * Symbol lookup over the table tools/gen-ksyms generates: addresses sorted
 * ascending, so a binary search finds the last symbol at or below addr.
 */
#include "ksyms.h"

extern const uint64_t ksyms_count;
extern const uint64_t ksyms_addrs[];
extern const uint32_t ksyms_names[];
extern const char ksyms_strings[];
extern char kernel_text_start[], kernel_text_end[];

const char *ksyms_lookup(uint64_t addr, uint64_t *offset)
{
	if (addr < (uint64_t)kernel_text_start || addr >= (uint64_t)kernel_text_end ||
	    ksyms_count == 0 || addr < ksyms_addrs[0])
		return 0;
	uint64_t lo = 0, hi = ksyms_count; /* answer in [lo, hi) */
	while (hi - lo > 1) {
		uint64_t mid = lo + (hi - lo) / 2;
		if (ksyms_addrs[mid] <= addr)
			lo = mid;
		else
			hi = mid;
	}
	*offset = addr - ksyms_addrs[lo];
	return ksyms_strings + ksyms_names[lo];
}
