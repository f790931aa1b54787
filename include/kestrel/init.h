/*
 * Kestrel kernel API: how the first process starts.
 *
 * The kernel loads the static ELF program KESTREL_INIT_PATH from the initrd
 * into a new address space with a new handle table (privileged: it may
 * shut the machine down) and starts one thread at the ELF entry point with
 * rsp 16-byte aligned at the top of a 256 KiB stack and rdi = the address
 * of a read-only struct kestrel_init_info. Everything else — loading other
 * servers, the registry — is init's job.
 */
#ifndef KESTREL_INIT_H
#define KESTREL_INIT_H

#include <kestrel/object.h>
#include <stdint.h>

#define KESTREL_INIT_PATH "kestrel/init"
#define KESTREL_INIT_MAGIC 0x4b494e49u /* "KINI" */
#define KESTREL_INIT_VERSION 2 /* 2: driver capabilities */

struct kestrel_init_info {
	uint32_t magic;
	uint32_t version;
	kestrel_handle_t initrd;      /* memory object holding the initrd cpio (READ MAP DUPLICATE TRANSFER) */
	uint32_t cpu_count;
	uint64_t initrd_size;         /* bytes */
	kestrel_handle_t self_thread; /* init's own thread (all rights) */
	/* Driver capabilities (device.h, docs/kernel/devices.md), for init
	 * to hand on to the drivers it starts: */
	kestrel_handle_t ioports;     /* all I/O ports (READ WRITE CONTROL TRANSFER DUPLICATE) */
	char cmdline[1024];           /* the kernel command line, NUL-terminated */
	kestrel_handle_t irq_control; /* binds interrupt lines (CONTROL TRANSFER DUPLICATE) */
	kestrel_handle_t physical;    /* device memory ranges (CONTROL TRANSFER DUPLICATE) */
};

#endif
