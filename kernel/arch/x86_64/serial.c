/*
 * The console: COM1 (16550 UART at 0x3f8, 115200 8N1, polled) and QEMU's
 * debug console port 0xe9. Polled output keeps the console usable from
 * any context, including a panic with interrupts off.
 */
#include "arch.h"
#include "x86.h"

#define COM1 0x3f8

void arch_console_init(void)
{
	outb(COM1 + 1, 0x00); /* no UART interrupts (yet) */
	outb(COM1 + 3, 0x80); /* DLAB on */
	outb(COM1 + 0, 0x01); /* divisor 1: 115200 baud */
	outb(COM1 + 1, 0x00);
	outb(COM1 + 3, 0x03); /* 8N1, DLAB off */
	outb(COM1 + 2, 0xc7); /* FIFO on and cleared, 14-byte threshold */
	outb(COM1 + 4, 0x03); /* DTR, RTS */
}

static void put(char c)
{
	/* Bounded wait for the transmitter: a missing UART must not hang us. */
	for (int i = 0; i < 100000 && !(inb(COM1 + 5) & 0x20); i++)
		arch_cpu_relax();
	outb(COM1, (uint8_t)c);
}

void arch_console_write(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			put('\r');
		put(s[i]);
	}
}
