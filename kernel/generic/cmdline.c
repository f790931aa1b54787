/* Kernel command line parsing (see cmdline.h). */
#include "cmdline.h"

#include <kestrel/bootinfo.h>

static char line_copy[KESTREL_BOOT_CMDLINE_MAX];

void cmdline_init(const char *line)
{
	size_t i = 0;
	for (; line && line[i] && i + 1 < sizeof(line_copy); i++)
		line_copy[i] = line[i];
	line_copy[i] = 0;
}

const char *cmdline_raw(void)
{
	return line_copy;
}

bool cmdline_get(const char *key, char *buf, size_t size)
{
	const char *p = line_copy;
	while (*p) {
		while (*p == ' ')
			p++;
		const char *word = p;
		while (*p && *p != ' ')
			p++;
		const char *k = key, *w = word;
		while (*k && w < p && *w == *k)
			k++, w++;
		if (*k || (w < p && *w != '='))
			continue;
		if (w < p)
			w++; /* skip '=' */
		size_t n = 0;
		while (w < p && n + 1 < size)
			buf[n++] = *w++;
		if (size)
			buf[n] = 0;
		return true;
	}
	return false;
}
