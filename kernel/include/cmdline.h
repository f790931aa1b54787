/*
 * The kernel command line: space-separated words, each "key=value" or a
 * bare "flag". Known keys: log=error|warn|info|debug, test=<suite>[:filter].
 * Unknown words are ignored (loaders may put the image path first).
 */
#ifndef KERNEL_CMDLINE_H
#define KERNEL_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>

/* Keep a copy of the command line (bounded, NUL-terminated). */
void cmdline_init(const char *line);
/* Copy the value of `key` into buf (NUL-terminated, truncated to size);
 * true if the key is present ("flag" alone gives an empty value). */
bool cmdline_get(const char *key, char *buf, size_t size);
const char *cmdline_raw(void);

#endif
