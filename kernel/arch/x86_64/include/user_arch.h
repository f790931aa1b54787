/* x86_64 user-mode support (user.c), for arch and uthread code. */
#ifndef ARCH_USER_ARCH_H
#define ARCH_USER_ARCH_H

#include <kestrel/thread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct trap_frame;

void arch_user_init_cpu(void);
void arch_regs_to_frame(const struct kestrel_regs_x86_64 *r, struct trap_frame *f);
void arch_frame_to_regs(const struct trap_frame *f, struct kestrel_regs_x86_64 *r);
struct trap_frame *arch_current_user_frame(void);
/* Is the rip of a kernel-mode fault inside the user copy? If so and the
 * fault was not resolved, make the copy fail. */
bool arch_usercopy_fault(struct trap_frame *f, bool resolved);

#endif
