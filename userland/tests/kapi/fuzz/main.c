/*
 * kapi-fuzz: the kernel-API fuzzer, started by init with test=kernel-api.
 *
 *   kapi-fuzz                    the parent: runs the KAPI tests of
 *                                tests.c, which start fuzzing children
 *   kapi-fuzz child MODE SEED ITERATIONS WORKERS
 *                                a child: random calls (child.c)
 *
 * One program plays both roles so the child is exactly the code under
 * test and needs nothing but its own image from the initrd.
 */
#include <string.h>

#include "fuzz.h"

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "child") == 0)
		return fuzz_child_main(argc, argv);
	return kapi_main(argc > 1 ? argv[1] : "") ? 1 : 0;
}
