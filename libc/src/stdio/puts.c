#include <stdio.h>
#include <string.h>

#include "../../internal/stdio_impl.h"

int puts(const char *s)
{
	__stdout_lock();
	__stdout_write(s, strlen(s));
	__stdout_write("\n", 1);
	__stdout_unlock();
	return 0;
}
