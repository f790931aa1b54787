/*
 * The initial RAM disk: the boot module holding a cpio archive of the
 * first programs and the first root file system. The kernel only finds
 * files in it (to start init); user space unpacks the rest.
 */
#ifndef KERNEL_INITRD_H
#define KERNEL_INITRD_H

#include <stdbool.h>

#include "cpio.h"

struct kestrel_bootinfo;

/* Find the initrd among the boot modules (the one named "initrd", else the
 * one after the kernel) and check that the archive is well formed. */
void initrd_init(const struct kestrel_bootinfo *bi);
/* The boot module holding the initrd, NULL if none. */
const struct kestrel_module *initrd_module(void);
/* True if a well-formed initrd was found. */
bool initrd_present(void);
/* Look up a file by path: 1 if found, 0 if not (or no initrd). */
int initrd_find(const char *path, struct cpio_entry *out);

#endif
