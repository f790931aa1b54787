/*
 * cpio "newc" reader (see cpio.h). Header layout: the 6-byte magic, then
 * 13 fields of 8 hexadecimal digits: ino, mode, uid, gid, nlink, mtime,
 * filesize, devmajor, devminor, rdevmajor, rdevminor, namesize, check.
 * The name (namesize bytes, NUL included) follows the header; header plus
 * name are padded to a multiple of 4, and so is the data.
 */
#include "cpio.h"

#include <stdbool.h>

#include "kstring.h"

#define CPIO_HEADER 110
#define F_MODE 1
#define F_UID 2
#define F_GID 3
#define F_NLINK 4
#define F_MTIME 5
#define F_FILESIZE 6
#define F_NAMESIZE 11

void cpio_reader_init(struct cpio_reader *r, const void *data, size_t size)
{
	r->data = data;
	r->size = size;
	r->offset = 0;
	r->error = 0;
	r->at_end = 0;
}

static bool parse_field(const uint8_t *hdr, int index, uint32_t *out)
{
	const uint8_t *f = hdr + 6 + 8 * index;
	uint32_t v = 0;
	for (int i = 0; i < 8; i++) {
		uint8_t c = f[i];
		uint32_t d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return false;
		v = v << 4 | d;
	}
	*out = v;
	return true;
}

static size_t align4(size_t x)
{
	return (x + 3) & ~(size_t)3;
}

static int fail(struct cpio_reader *r, int err)
{
	r->error = err;
	return -err;
}

int cpio_next(struct cpio_reader *r, struct cpio_entry *out)
{
	if (r->error)
		return -r->error;
	if (r->at_end)
		return 0;
	size_t off = r->offset;
	if (off > r->size || r->size - off < CPIO_HEADER)
		return fail(r, off == r->size ? CPIO_ERR_NO_TRAILER : CPIO_ERR_TRUNCATED);
	const uint8_t *h = r->data + off;
	if (memcmp(h, "070701", 6) != 0 && memcmp(h, "070702", 6) != 0)
		return fail(r, CPIO_ERR_MAGIC);
	uint32_t f[13];
	for (int i = 0; i < 13; i++)
		if (!parse_field(h, i, &f[i]))
			return fail(r, CPIO_ERR_FIELD);
	uint32_t namesize = f[F_NAMESIZE];
	uint32_t filesize = f[F_FILESIZE];
	size_t name_off = off + CPIO_HEADER;
	if (namesize == 0)
		return fail(r, CPIO_ERR_NAME);
	if (r->size - name_off < namesize)
		return fail(r, CPIO_ERR_TRUNCATED);
	const char *name = (const char *)r->data + name_off;
	if (name[namesize - 1] != 0 || strlen(name) != namesize - 1 || namesize == 1)
		return fail(r, CPIO_ERR_NAME);
	size_t data_off = align4(name_off + namesize);
	if (data_off > r->size || r->size - data_off < filesize)
		return fail(r, CPIO_ERR_TRUNCATED);
	if (!strcmp(name, "TRAILER!!!")) {
		r->at_end = 1;
		return 0;
	}
	out->name = name;
	out->mode = f[F_MODE];
	out->uid = f[F_UID];
	out->gid = f[F_GID];
	out->nlink = f[F_NLINK];
	out->mtime = f[F_MTIME];
	out->data = r->data + data_off;
	out->size = filesize;
	size_t next = align4(data_off + filesize);
	/* The last entry's padding may be cut off; anything else must fit. */
	r->offset = next < r->size ? next : r->size;
	return 1;
}

static const char *skip_dot_slash(const char *s)
{
	while (s[0] == '.' && s[1] == '/')
		s += 2;
	while (s[0] == '/')
		s++;
	return s;
}

int cpio_find(const void *data, size_t size, const char *name, struct cpio_entry *out)
{
	struct cpio_reader r;
	cpio_reader_init(&r, data, size);
	name = skip_dot_slash(name);
	struct cpio_entry e;
	int rc;
	while ((rc = cpio_next(&r, &e)) == 1) {
		if (!strcmp(skip_dot_slash(e.name), name)) {
			*out = e;
			return 1;
		}
	}
	return rc;
}

const char *cpio_strerror(int err)
{
	switch (err < 0 ? -err : err) {
	case CPIO_OK:
		return "no error";
	case CPIO_ERR_TRUNCATED:
		return "truncated archive";
	case CPIO_ERR_MAGIC:
		return "bad header magic (not cpio newc)";
	case CPIO_ERR_FIELD:
		return "bad header field";
	case CPIO_ERR_NAME:
		return "bad entry name";
	case CPIO_ERR_NO_TRAILER:
		return "no trailer";
	default:
		return "unknown cpio error";
	}
}
