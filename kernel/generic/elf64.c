/* The kernel uses the prekernel's ELF validator (pure code) to load init. */
#include "../../boot/elf64.c"
