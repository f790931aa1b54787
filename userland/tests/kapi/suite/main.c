/*
 * kapi: the kernel-API suite, started by init with test=kernel-api.
 * Tests live in the other files of this directory, one file per area of
 * <kestrel/syscall.h>; argv[1], if given, selects tests by name prefix.
 */
#include "kapi.h"

int main(int argc, char **argv)
{
	return kapi_main(argc > 1 ? argv[1] : "") ? 1 : 0;
}
