/*
 * The cpio reader on archives written here and by the real cpio(1), and on
 * every way an archive can be cut short or corrupted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpio.h"
#include "unit.h"

static uint8_t arc[8192];
static size_t arc_len;

static void put_entry(const char *name, uint32_t mode, const char *data, size_t size)
{
	size_t namesize = strlen(name) + 1;
	arc_len += (size_t)sprintf((char *)arc + arc_len,
				   "070701%08x%08x%08x%08x%08x%08x%08zx%08x%08x%08x%08x%08zx%08x", 1,
				   mode, 0, 0, 1, 0, size, 0, 0, 0, 0, namesize, 0);
	memcpy(arc + arc_len, name, namesize);
	arc_len += namesize;
	while (arc_len % 4)
		arc[arc_len++] = 0;
	memcpy(arc + arc_len, data, size);
	arc_len += size;
	while (arc_len % 4)
		arc[arc_len++] = 0;
}

static void build(void)
{
	memset(arc, 0, sizeof(arc));
	arc_len = 0;
	put_entry(".", 040755, "", 0);
	put_entry("sbin", 040755, "", 0);
	put_entry("sbin/init", 0100755, "\x7f" "ELF....", 8);
	put_entry("etc/motd", 0100644, "hello\n", 6);
	put_entry("TRAILER!!!", 0, "", 0);
}

TEST(walks_every_entry)
{
	build();
	struct cpio_reader r;
	struct cpio_entry e;
	cpio_reader_init(&r, arc, arc_len);
	const char *names[] = {".", "sbin", "sbin/init", "etc/motd"};
	for (int i = 0; i < 4; i++) {
		CHECK_EQ(cpio_next(&r, &e), 1);
		CHECK(strcmp(e.name, names[i]) == 0);
	}
	CHECK_EQ(e.size, 6);
	CHECK(memcmp(e.data, "hello\n", 6) == 0);
	CHECK_EQ(e.mode, 0100644);
	CHECK_EQ(cpio_next(&r, &e), 0);
	CHECK_EQ(cpio_next(&r, &e), 0);
}

TEST(find_by_name)
{
	build();
	struct cpio_entry e;
	CHECK_EQ(cpio_find(arc, arc_len, "sbin/init", &e), 1);
	CHECK_EQ(e.size, 8);
	CHECK_EQ(cpio_find(arc, arc_len, "/sbin/init", &e), 1);
	CHECK_EQ(cpio_find(arc, arc_len, "./etc/motd", &e), 1);
	CHECK_EQ(cpio_find(arc, arc_len, "etc/passwd", &e), 0);
}

/* Every prefix of the archive is either read cleanly up to where it was
 * cut, or reported as an error; never a read past the end (ASan). */
TEST(every_truncation_is_an_error)
{
	build();
	for (size_t len = 0; len < arc_len - 4; len++) {
		uint8_t *copy = malloc(len ? len : 1);
		memcpy(copy, arc, len);
		struct cpio_reader r;
		struct cpio_entry e;
		cpio_reader_init(&r, copy, len);
		int rc;
		while ((rc = cpio_next(&r, &e)) == 1)
			;
		free(copy);
		CHECK(rc < 0);
	}
}

TEST(corrupt_headers)
{
	struct cpio_entry e;
	build();
	arc[0] = '1';
	CHECK_EQ(cpio_find(arc, arc_len, "x", &e), -CPIO_ERR_MAGIC);
	build();
	arc[20] = 'g'; /* inside the mode field */
	CHECK_EQ(cpio_find(arc, arc_len, "x", &e), -CPIO_ERR_FIELD);
	build();
	memcpy(arc + 6 + 8 * 11, "00000000", 8); /* namesize 0 */
	CHECK_EQ(cpio_find(arc, arc_len, "x", &e), -CPIO_ERR_NAME);
	build();
	memcpy(arc + 6 + 8 * 11, "00000001", 8); /* namesize 1: empty name */
	CHECK_EQ(cpio_find(arc, arc_len, "x", &e), -CPIO_ERR_NAME);
	build();
	arc[110 + 1] = 'x'; /* "." loses its NUL */
	CHECK_EQ(cpio_find(arc, arc_len, "x", &e), -CPIO_ERR_NAME);
	build();
	memcpy(arc + 6 + 8 * 6, "ffffffff", 8); /* filesize past the end */
	CHECK_EQ(cpio_find(arc, arc_len, "x", &e), -CPIO_ERR_TRUNCATED);
	build();
	memcpy(arc + 6 + 8 * 11, "7fffffff", 8); /* namesize past the end */
	CHECK_EQ(cpio_find(arc, arc_len, "x", &e), -CPIO_ERR_TRUNCATED);
}

TEST(missing_trailer)
{
	memset(arc, 0, sizeof(arc));
	arc_len = 0;
	put_entry("a", 0100644, "x", 1);
	struct cpio_entry e;
	CHECK_EQ(cpio_find(arc, arc_len, "b", &e), -CPIO_ERR_NO_TRAILER);
	CHECK(strlen(cpio_strerror(-CPIO_ERR_NO_TRAILER)) > 0);
	for (int i = 0; i <= CPIO_ERR_NO_TRAILER + 1; i++)
		CHECK(cpio_strerror(i)[0] != 0);
}

/* What cpio(1) writes, as the build makes the initrd. */
TEST(reads_archives_of_the_real_tool)
{
	char dir[] = "/tmp/kestrel-cpio-XXXXXX";
	CHECK(mkdtemp(dir) != 0);
	char cmd[512];
	snprintf(cmd, sizeof(cmd),
		 "cd %s && mkdir -p a/b && printf 'abc' > a/b/three && head -c 1001 /dev/zero > "
		 "a/big && find a | LC_ALL=C sort | cpio -o -H newc --quiet > ../%s.cpio",
		 dir, dir + 5);
	CHECK(system(cmd) == 0);
	char path[256];
	snprintf(path, sizeof(path), "%s.cpio", dir);
	FILE *f = fopen(path, "rb");
	CHECK(f != 0);
	static uint8_t buf[65536];
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	struct cpio_entry e;
	CHECK_EQ(cpio_find(buf, n, "a/b/three", &e), 1);
	CHECK_EQ(e.size, 3);
	CHECK(memcmp(e.data, "abc", 3) == 0);
	CHECK_EQ(cpio_find(buf, n, "a/big", &e), 1);
	CHECK_EQ(e.size, 1001);
	CHECK_EQ(e.mode & 0170000, 0100000);
	CHECK_EQ(cpio_find(buf, n, "a/b", &e), 1);
	CHECK_EQ(e.mode & 0170000, 0040000);
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s", dir, path);
	CHECK(system(cmd) == 0);
}
