/* The digit scanner behind strtol and friends (src/stdlib/strtoull.c). */
#ifndef LIBC_STRTOX_H
#define LIBC_STRTOX_H

/* The magnitude (saturated to ~0 on overflow), its sign and overflow. */
unsigned long long __strtox(const char *s, char **end, int base, int *negative, int *overflow);

#endif
