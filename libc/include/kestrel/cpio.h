/*
 * <kestrel/cpio.h>: finding files in a cpio archive in the "newc" format
 * (the initrd). The archive is untrusted: nothing outside [data, data+size)
 * is read, and a malformed archive is an error, not a crash.
 */
#ifndef _KESTREL_CPIO_H
#define _KESTREL_CPIO_H

#include <stddef.h>
#include <stdint.h>

struct kestrel_cpio_entry {
	const char *name; /* NUL-terminated, inside the archive */
	uint32_t mode;    /* file type and permissions, as st_mode */
	const void *data; /* inside the archive */
	uint64_t size;
};

struct kestrel_cpio {
	const uint8_t *data;
	size_t size;
	size_t offset; /* of the next header */
	int state;     /* 0 reading, 1 at the trailer, < 0 malformed */
};

void kestrel_cpio_open(struct kestrel_cpio *c, const void *data, size_t size);
/* 1 and *out filled, 0 at the end ("TRAILER!!!"), -1 if malformed. */
int kestrel_cpio_next(struct kestrel_cpio *c, struct kestrel_cpio_entry *out);
/* Find a regular file by path ("./" prefixes ignored): 1, 0 (absent), -1. */
int kestrel_cpio_find(const void *data, size_t size, const char *path,
		      struct kestrel_cpio_entry *out);

#endif
