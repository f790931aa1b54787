/*
 * cpio "newc" reader (see <kestrel/cpio.h>): per entry a 110-byte header
 * of "070701" (or "070702") and thirteen 8-digit hex fields, the name, the
 * data, each padded to a multiple of 4 bytes from the archive's start.
 */
#include <kestrel/cpio.h>
#include <string.h>

#define HEADER_SIZE 110

static int hex_field(const uint8_t *p, uint32_t *out)
{
	uint32_t v = 0;
	for (int i = 0; i < 8; i++) {
		uint8_t c = p[i];
		uint32_t d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		v = v << 4 | d;
	}
	*out = v;
	return 0;
}

static size_t align4(size_t x)
{
	return (x + 3) & ~(size_t)3;
}

void kestrel_cpio_open(struct kestrel_cpio *c, const void *data, size_t size)
{
	c->data = data;
	c->size = size;
	c->offset = 0;
	c->state = 0;
}

static int malformed(struct kestrel_cpio *c)
{
	c->state = -1;
	return -1;
}

int kestrel_cpio_next(struct kestrel_cpio *c, struct kestrel_cpio_entry *out)
{
	if (c->state)
		return c->state > 0 ? 0 : -1;
	if (c->offset > c->size || c->size - c->offset < HEADER_SIZE)
		return malformed(c);
	const uint8_t *h = c->data + c->offset;
	if (memcmp(h, "07070", 5) != 0 || (h[5] != '1' && h[5] != '2'))
		return malformed(c);
	uint32_t f[13];
	for (int i = 0; i < 13; i++) {
		if (hex_field(h + 6 + 8 * i, &f[i]))
			return malformed(c);
	}
	uint32_t mode = f[1], filesize = f[6], namesize = f[11];
	size_t name_off = c->offset + HEADER_SIZE;
	if (namesize == 0 || namesize > c->size - name_off)
		return malformed(c);
	const char *name = (const char *)c->data + name_off;
	if (name[namesize - 1] != 0 || strlen(name) != namesize - 1)
		return malformed(c);
	size_t data_off = align4(name_off + namesize);
	if (data_off > c->size || filesize > c->size - data_off)
		return malformed(c);
	if (!strcmp(name, "TRAILER!!!")) {
		c->state = 1;
		return 0;
	}
	out->name = name;
	out->mode = mode;
	out->data = c->data + data_off;
	out->size = filesize;
	c->offset = align4(data_off + filesize);
	return 1;
}

static const char *strip_dot(const char *p)
{
	while (p[0] == '.' && p[1] == '/')
		p += 2;
	while (p[0] == '/')
		p++;
	return p;
}

int kestrel_cpio_find(const void *data, size_t size, const char *path,
		      struct kestrel_cpio_entry *out)
{
	struct kestrel_cpio c;
	struct kestrel_cpio_entry e;
	int r;
	path = strip_dot(path);
	kestrel_cpio_open(&c, data, size);
	while ((r = kestrel_cpio_next(&c, &e)) > 0) {
		if ((e.mode & 0170000) == 0100000 && !strcmp(strip_dot(e.name), path)) {
			*out = e;
			return 1;
		}
	}
	return r;
}
