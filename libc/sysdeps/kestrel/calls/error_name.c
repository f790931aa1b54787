/* Names of the kernel's error codes, for messages. */
#include <kestrel/calls.h>

static const char *const names[KE_ERROR_COUNT] = {
	[KE_OK] = "KE_OK",
	[KE_BAD_HANDLE] = "KE_BAD_HANDLE",
	[KE_BAD_TYPE] = "KE_BAD_TYPE",
	[KE_ACCESS] = "KE_ACCESS",
	[KE_FAULT] = "KE_FAULT",
	[KE_INVALID] = "KE_INVALID",
	[KE_NO_MEMORY] = "KE_NO_MEMORY",
	[KE_TOO_BIG] = "KE_TOO_BIG",
	[KE_NO_SPACE] = "KE_NO_SPACE",
	[KE_END_OF_LANE] = "KE_END_OF_LANE",
	[KE_CANCELLED] = "KE_CANCELLED",
	[KE_TIMEOUT] = "KE_TIMEOUT",
	[KE_AGAIN] = "KE_AGAIN",
	[KE_LIMIT] = "KE_LIMIT",
	[KE_NOT_FOUND] = "KE_NOT_FOUND",
	[KE_BUSY] = "KE_BUSY",
	[KE_NOT_SUPPORTED] = "KE_NOT_SUPPORTED",
	[KE_BAD_CALL] = "KE_BAD_CALL",
};

const char *kestrel_error_name(int64_t e)
{
	if (e < 0)
		e = -e;
	if (e >= KE_ERROR_COUNT)
		return "KE_?";
	return names[e];
}
