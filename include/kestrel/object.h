/*
 * Kestrel kernel API: objects, handles and rights.
 *
 * A process reaches kernel objects only through handles: small positive
 * integers indexing its handle table. Each handle carries rights; a handle
 * can be duplicated or sent with the same or fewer rights, never more.
 * Closing the last handle to an object (and ending every other use of it)
 * destroys it.
 */
#ifndef KESTREL_OBJECT_H
#define KESTREL_OBJECT_H

#include <stdint.h>

typedef int32_t kestrel_handle_t;

#define KESTREL_HANDLE_NONE 0
/* Pseudo-handles, valid in every process: its own address space and
 * handle table (with all rights). They cannot be closed or sent. */
#define KESTREL_THIS_SPACE (-1)
#define KESTREL_THIS_TABLE (-2)

#define KESTREL_MAX_HANDLES 4096 /* per handle table */

enum kestrel_object_type {
	KESTREL_OBJ_NONE = 0,
	KESTREL_OBJ_MEMORY = 1,  /* a memory object */
	KESTREL_OBJ_SPACE = 2,   /* an address space */
	KESTREL_OBJ_THREAD = 3,
	KESTREL_OBJ_LANE = 4,    /* one end of a stream */
	KESTREL_OBJ_QUEUE = 5,   /* a completion queue */
	KESTREL_OBJ_TABLE = 6,   /* a handle table */
	KESTREL_OBJ_IRQ = 7,
	KESTREL_OBJ_IOPORTS = 8, /* a range of I/O ports */
	KESTREL_OBJ_PHYSICAL = 9,/* a range of physical addresses (MMIO) */
};

/* Rights. */
#define KESTREL_RIGHT_READ (1u << 0)      /* read memory / receive on a lane */
#define KESTREL_RIGHT_WRITE (1u << 1)     /* write memory / send on a lane */
#define KESTREL_RIGHT_MAP (1u << 2)       /* map a memory object; map into a space */
#define KESTREL_RIGHT_EXECUTE (1u << 3)   /* map a memory object executable */
#define KESTREL_RIGHT_TRANSFER (1u << 4)  /* send the handle to another process */
#define KESTREL_RIGHT_DUPLICATE (1u << 5) /* duplicate the handle */
#define KESTREL_RIGHT_CONTROL (1u << 6)   /* start, stop, kill; registers; resize */
#define KESTREL_RIGHT_OBSERVE (1u << 7)   /* observe a thread */
#define KESTREL_RIGHT_WAIT (1u << 8)      /* wait on a queue, submit to it */
#define KESTREL_RIGHTS_ALL 0x1ffu

/* What handle_info() reports. */
/* What system_info() reports: enough for a test to see that a program
 * left nothing behind (objects of each type, free physical pages). */
#define KESTREL_OBJ_TYPES 10
struct kestrel_system_info {
	uint32_t cpu_count;
	uint32_t reserved;
	uint64_t total_pages;                    /* physical pages the kernel manages */
	uint64_t free_pages;                     /* of those, free now */
	uint64_t objects;                        /* kernel objects alive */
	uint64_t objects_by_type[KESTREL_OBJ_TYPES]; /* indexed by enum kestrel_object_type */
};

struct kestrel_handle_info {
	uint32_t type;   /* enum kestrel_object_type */
	uint32_t rights;
	uint64_t object_id; /* unique per object while it lives (for tests) */
};

#endif
