/* Runner for host unit tests: see unit.h. */
#include "unit.h"

#include <stdlib.h>
#include <string.h>

#define MAX_TESTS 512

static struct {
	const char *name;
	unit_fn fn;
} tests[MAX_TESTS];
static int test_count;
static const char *suite = "unit";
static const char *current;
int unit_current_failed;

void unit_register(const char *name, unit_fn fn)
{
	if (test_count == MAX_TESTS) {
		fprintf(stderr, "unit: too many tests\n");
		exit(2);
	}
	tests[test_count].name = name;
	tests[test_count].fn = fn;
	test_count++;
}

void unit_fail(const char *file, int line, const char *what)
{
	if (!unit_current_failed)
		printf("FAIL %s/%s: %s:%d: %s\n", suite, current, file, line, what);
	unit_current_failed = 1;
}

int main(int argc, char **argv)
{
	const char *slash = strrchr(argv[0], '/');
	suite = slash ? slash + 1 : argv[0];
	int failed = 0;
	for (int i = 0; i < test_count; i++) {
		if (argc > 1 && strcmp(argv[1], tests[i].name) != 0)
			continue;
		current = tests[i].name;
		unit_current_failed = 0;
		tests[i].fn();
		if (unit_current_failed)
			failed++;
		else
			printf("PASS %s/%s\n", suite, current);
		fflush(stdout);
	}
	return failed ? 1 : 0;
}
