/* Driver capabilities: I/O-port ranges, IRQ objects, device memory (<kestrel/device.h>). */
#include <kestrel/calls.h>

#include "syscall_arch.h"

#define H(h) ((uint64_t)(int64_t)(h))

int64_t kestrel_ioports_create(kestrel_handle_t ioports, uint32_t base, uint32_t count)
{
	return __syscall3(KESTREL_SYS_IOPORTS_CREATE, H(ioports), base, count);
}

int64_t kestrel_ioport_in(kestrel_handle_t ioports, uint32_t port, uint32_t width)
{
	return __syscall3(KESTREL_SYS_IOPORT_IN, H(ioports), port, width);
}

int64_t kestrel_ioport_out(kestrel_handle_t ioports, uint32_t port, uint32_t width, uint32_t value)
{
	return __syscall4(KESTREL_SYS_IOPORT_OUT, H(ioports), port, width, value);
}

int64_t kestrel_irq_create(kestrel_handle_t irq_control, uint32_t number, uint32_t flags)
{
	return __syscall3(KESTREL_SYS_IRQ_CREATE, H(irq_control), number, flags);
}

int64_t kestrel_irq_submit(kestrel_handle_t irq, kestrel_handle_t queue, uint64_t tag)
{
	return __syscall3(KESTREL_SYS_IRQ_SUBMIT, H(irq), H(queue), tag);
}

int64_t kestrel_irq_ack(kestrel_handle_t irq, uint64_t sequence)
{
	return __syscall2(KESTREL_SYS_IRQ_ACK, H(irq), sequence);
}

int64_t kestrel_memory_physical_range(kestrel_handle_t physical, uint64_t base, uint64_t size,
				      uint32_t cache)
{
	return __syscall4(KESTREL_SYS_MEMORY_PHYSICAL_RANGE, H(physical), base, size, cache);
}
