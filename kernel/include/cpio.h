/*
 * Reading cpio archives in the "newc" format (what `cpio -H newc` writes
 * and the initrd is): a 110-byte ASCII header per entry, the name, the
 * data, each padded to 4 bytes, ending with the entry "TRAILER!!!".
 *
 * The archive is untrusted: every field is checked against the archive's
 * bounds, and a malformed archive yields an error, never a read outside
 * [data, data + size). Pure code, shared with host unit tests.
 */
#ifndef KERNEL_CPIO_H
#define KERNEL_CPIO_H

#include <stddef.h>
#include <stdint.h>

enum cpio_error {
	CPIO_OK = 0,
	CPIO_ERR_TRUNCATED = 1, /* a header, name or data runs past the end */
	CPIO_ERR_MAGIC = 2,     /* not "070701" or "070702" */
	CPIO_ERR_FIELD = 3,     /* a header field is not 8 hex digits */
	CPIO_ERR_NAME = 4,      /* empty name, or not NUL-terminated */
	CPIO_ERR_NO_TRAILER = 5,/* the archive ends without "TRAILER!!!" */
};

struct cpio_entry {
	const char *name; /* NUL-terminated, inside the archive */
	uint32_t mode;    /* file type and permissions, as in st_mode */
	uint32_t uid, gid, nlink, mtime;
	const void *data; /* the contents, inside the archive */
	uint64_t size;
};

struct cpio_reader {
	const uint8_t *data;
	size_t size;
	size_t offset; /* of the next header */
	int error;     /* sticky: once set, cpio_next() returns it */
	int at_end;    /* the trailer was read */
};

void cpio_reader_init(struct cpio_reader *r, const void *data, size_t size);
/* The next entry: 1 and *out filled, 0 at the trailer, or -CPIO_ERR_*. */
int cpio_next(struct cpio_reader *r, struct cpio_entry *out);
/* Find an entry by its exact name ("./" prefixes are ignored on both
 * sides): 1 if found, 0 if not, -CPIO_ERR_* if the archive is malformed
 * before it. */
int cpio_find(const void *data, size_t size, const char *name, struct cpio_entry *out);
const char *cpio_strerror(int err);

#endif
