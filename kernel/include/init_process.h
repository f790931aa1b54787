/* Starting the first user process (kernel/generic/init_process.c). */
#ifndef KERNEL_INIT_PROCESS_H
#define KERNEL_INIT_PROCESS_H

struct kestrel_bootinfo;

/* Load and start KESTREL_INIT_PATH from the initrd: 0 or -KE_*. */
int init_process_start(const struct kestrel_bootinfo *bi);

#endif
