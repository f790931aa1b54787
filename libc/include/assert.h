/* <assert.h>. A failed assertion logs the expression and its place, then aborts. */
#undef assert
#ifdef NDEBUG
#define assert(x) ((void)0)
#else
#define assert(x) ((x) ? (void)0 : __assert_fail(#x, __FILE__, __LINE__, __func__))
#endif

#ifndef _ASSERT_H
#define _ASSERT_H

#ifdef __cplusplus
extern "C" {
#endif

_Noreturn void __assert_fail(const char *expr, const char *file, int line, const char *func);

#if !defined(__cplusplus) && __STDC_VERSION__ >= 201112L
#define static_assert _Static_assert
#endif

#ifdef __cplusplus
}
#endif

#endif
