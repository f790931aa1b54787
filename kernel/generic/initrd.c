/*
 * The initrd (see initrd.h). Its memory stays where the loader put it
 * (KESTREL_MEM_MODULE, never given to the allocator) and is read through
 * the direct map.
 */
#include "initrd.h"

#include <kestrel/bootinfo.h>

#include "kstring.h"
#include "log.h"
#include "mm.h"

static const void *initrd_data;
static size_t initrd_size;
static const struct kestrel_module *initrd_mod;

static bool name_says_initrd(const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i + 6 <= n; i++)
		if (!strncmp(name + i, "initrd", 6))
			return true;
	return false;
}

void initrd_init(const struct kestrel_bootinfo *bi)
{
	const struct kestrel_module *m = 0;
	for (uint32_t i = 1; i < bi->module_count && !m; i++)
		if (name_says_initrd(bi->modules[i].name))
			m = &bi->modules[i];
	if (!m && bi->module_count > 1)
		m = &bi->modules[1];
	if (!m) {
		log_warn("initrd: no boot module after the kernel");
		return;
	}
	const void *data = phys_to_virt(m->base);
	struct cpio_reader r;
	struct cpio_entry e;
	cpio_reader_init(&r, data, m->length);
	uint32_t files = 0;
	uint64_t bytes = 0;
	int rc;
	while ((rc = cpio_next(&r, &e)) == 1) {
		files++;
		bytes += e.size;
	}
	if (rc < 0) {
		log_error("initrd: module \"%s\" is not a valid cpio archive: %s (after %u entries)",
			  m->name, cpio_strerror(rc), files);
		return;
	}
	initrd_data = data;
	initrd_size = m->length;
	initrd_mod = m;
	log_info("initrd: \"%s\", %u entries, %llu KiB of file data", m->name, files,
		 (unsigned long long)(bytes >> 10));
}

const struct kestrel_module *initrd_module(void)
{
	return initrd_mod;
}

bool initrd_present(void)
{
	return initrd_data != 0;
}

int initrd_find(const char *path, struct cpio_entry *out)
{
	if (!initrd_data)
		return 0;
	return cpio_find(initrd_data, initrd_size, path, out) == 1;
}
