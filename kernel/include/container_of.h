/*
 * container_of(ptr, type, member): the address of the `type` object whose
 * field `member` lives at `ptr`. The way back from an intrusive node (a
 * run-queue or timer node embedded in a struct thread) to its owner.
 *
 * `ptr` must point to the `member` field of a live `type` object; the
 * compiler checks that *ptr has the member's type. A pointer to const
 * yields a pointer to a non-const `type`: keep the constness by hand.
 */
#ifndef KERNEL_CONTAINER_OF_H
#define KERNEL_CONTAINER_OF_H

#include <stddef.h>

#define container_of(ptr, type, member)                                                            \
	__extension__({                                                                            \
		_Static_assert(__builtin_types_compatible_p(__typeof__(*(ptr)),                    \
							    __typeof__(((type *)0)->member)),      \
			       "container_of: *(" #ptr ") is not the type of " #type "." #member); \
		(type *)(void *)((char *)(ptr)-offsetof(type, member));                            \
	})

#endif
