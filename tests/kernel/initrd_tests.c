/* The initrd the build packs (image/initrd/) is found and readable. */
#include "initrd.h"
#include "kstring.h"
#include "ktest.h"

KTEST(initrd_finds_files)
{
	KCHECK(initrd_present());
	struct cpio_entry e;
	KCHECK_EQ(initrd_find("etc/hostname", &e), 1);
	KCHECK(e.size >= 7 && memcmp(e.data, "kestrel", 7) == 0);
	KCHECK_EQ(initrd_find("no/such/file", &e), 0);
}
