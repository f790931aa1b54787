/*
 * Kestrel kernel API: error codes.
 *
 * Every system call returns a signed 64-bit value: >= 0 on success (0, a
 * handle, an address, a count), or the negated error code. The same codes
 * appear (negated) in the status of completions.
 */
#ifndef KESTREL_ERROR_H
#define KESTREL_ERROR_H

enum kestrel_error {
	KE_OK = 0,
	KE_BAD_HANDLE = 1,    /* not a handle of this process (or closed) */
	KE_BAD_TYPE = 2,      /* the handle names an object of another type */
	KE_ACCESS = 3,        /* the handle lacks a right the call needs */
	KE_FAULT = 4,         /* a user pointer is unmapped or not accessible */
	KE_INVALID = 5,       /* a malformed argument, flag or action chain */
	KE_NO_MEMORY = 6,     /* the kernel is out of memory */
	KE_TOO_BIG = 7,       /* a size beyond the call's limit */
	KE_NO_SPACE = 8,      /* the completion queue cannot take the result */
	KE_END_OF_LANE = 9,   /* the peer lane is closed */
	KE_CANCELLED = 10,    /* the operation was cancelled */
	KE_TIMEOUT = 11,      /* a wait ended by its deadline */
	KE_AGAIN = 12,        /* the condition did not hold (futex value changed) */
	KE_LIMIT = 13,        /* a table is full (handles, mappings) */
	KE_NOT_FOUND = 14,    /* no such mapping, tag or entity */
	KE_BUSY = 15,         /* the object is in a state that forbids the call */
	KE_NOT_SUPPORTED = 16,/* the call exists in the API but not (yet) in this kernel */
	KE_BAD_CALL = 17,     /* no system call with this number */
	KE_ERROR_COUNT
};

#endif
