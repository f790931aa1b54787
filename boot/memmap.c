/*
 * Memory-map sanitizing. See memmap.h for the contract.
 *
 * The method: collect every range boundary, sort them, and give each
 * elementary interval between two neighbouring boundaries the most
 * restrictive type of the ranges covering it, merging equal neighbours.
 * Then shrink usable ranges to whole pages. Quadratic in the number of ranges, which is
 * bounded (a few hundred at most) and runs once per boot.
 */
#include "memmap.h"

#define PAGE_MASK 0xfffull

static int type_rank(uint32_t type)
{
	switch (type) {
	case KESTREL_MEM_USABLE: return 0;
	case KESTREL_MEM_ACPI_RECLAIMABLE: return 1;
	case KESTREL_MEM_BOOTLOADER: return 2;
	case KESTREL_MEM_MODULE: return 3;
	case KESTREL_MEM_KERNEL: return 4;
	case KESTREL_MEM_RESERVED: return 5;
	case KESTREL_MEM_ACPI_NVS: return 6;
	case KESTREL_MEM_BAD: return 7;
	default: return 5; /* unknown firmware types are reserved */
	}
}

static uint32_t normalize_type(uint32_t type)
{
	return (type >= KESTREL_MEM_USABLE && type <= KESTREL_MEM_MODULE)
		       ? type
		       : KESTREL_MEM_RESERVED;
}

static uint64_t range_end(const struct kestrel_mem_range *r)
{
	uint64_t end = r->base + r->length;
	return end < r->base ? ~0ull : end; /* clip at the top of the space */
}

/* Append [base, end) of `type`, merging with the previous entry when equal
 * and adjacent. Returns -1 when out of room. */
static int emit(struct kestrel_mem_range *out, uint32_t cap, uint32_t *count,
		uint64_t base, uint64_t end, uint32_t type)
{
	if (end <= base)
		return 0;
	if (*count > 0) {
		struct kestrel_mem_range *prev = &out[*count - 1];
		if (prev->type == type && prev->base + prev->length == base) {
			prev->length += end - base;
			return 0;
		}
	}
	if (*count >= cap)
		return -1;
	out[*count].base = base;
	out[*count].length = end - base;
	out[*count].type = type;
	out[*count].reserved = 0;
	(*count)++;
	return 0;
}

int memmap_sanitize(const struct kestrel_mem_range *in, uint32_t in_count,
		    uint64_t *scratch, struct kestrel_mem_range *out,
		    uint32_t out_cap, uint32_t *out_count)
{
	uint32_t nb = 0;
	*out_count = 0;

	for (uint32_t i = 0; i < in_count; i++) {
		if (in[i].length == 0)
			continue;
		scratch[nb++] = in[i].base;
		scratch[nb++] = range_end(&in[i]);
	}
	/* Insertion sort with de-duplication: the input is small. */
	uint32_t n = 0;
	for (uint32_t i = 0; i < nb; i++) {
		uint64_t v = scratch[i];
		uint32_t j = n;
		while (j > 0 && scratch[j - 1] > v)
			j--;
		if (j > 0 && scratch[j - 1] == v)
			continue;
		for (uint32_t k = n; k > j; k--)
			scratch[k] = scratch[k - 1];
		scratch[j] = v;
		n++;
	}

	for (uint32_t b = 0; b + 1 < n; b++) {
		uint64_t lo = scratch[b], hi = scratch[b + 1];
		int best_rank = -1;
		uint32_t best_type = 0;
		for (uint32_t i = 0; i < in_count; i++) {
			if (in[i].length == 0 || in[i].base > lo ||
			    range_end(&in[i]) < hi)
				continue;
			int rank = type_rank(in[i].type);
			if (rank > best_rank) {
				best_rank = rank;
				best_type = normalize_type(in[i].type);
			}
		}
		if (best_rank < 0)
			continue; /* a hole: not covered by anything */
		if (emit(out, out_cap, out_count, lo, hi, best_type))
			return -1;
	}

	/* Shrink usable memory to whole pages only now that neighbours merged:
	 * a page is usable only if every byte of it is. */
	uint32_t kept = 0;
	for (uint32_t i = 0; i < *out_count; i++) {
		struct kestrel_mem_range r = out[i];
		if (r.type == KESTREL_MEM_USABLE) {
			uint64_t end = r.base + r.length;
			uint64_t alo = (r.base + PAGE_MASK) & ~PAGE_MASK;
			uint64_t ahi = end & ~PAGE_MASK;
			if (alo < r.base || ahi <= alo)
				continue; /* no whole page in it */
			r.base = alo;
			r.length = ahi - alo;
		}
		out[kept++] = r;
	}
	*out_count = kept;
	return 0;
}

uint32_t memmap_type_at(const struct kestrel_mem_range *map, uint32_t count,
			uint64_t addr)
{
	for (uint32_t i = 0; i < count; i++)
		if (addr >= map[i].base && addr - map[i].base < map[i].length)
			return map[i].type;
	return 0;
}
