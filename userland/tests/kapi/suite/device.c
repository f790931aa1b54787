/*
 * Driver capabilities: I/O-port ranges and IRQ objects (<kestrel/device.h>).
 *
 * init passes the suite all I/O ports as handles[1] and the IRQ-control
 * capability as handles[2] (servers/init/testrun.c). The end-to-end tests
 * drive the CMOS RTC (ports 0x70/0x71, ISA IRQ 8): they read its clock and
 * status registers through ioport_in/out, then enable its periodic
 * interrupt and receive it through an IRQ object. The RTC holds its
 * interrupt line high from a periodic tick until register C is read, so a
 * test controls exactly when the next interrupt can come. Every test that
 * enables the interrupt disables it again, whatever happened.
 */
#include <kestrel/start.h>

#include "suite.h"

#define RTC_INDEX      0x70
#define RTC_DATA       0x71
#define RTC_SECONDS    0x00
#define RTC_A	       0x0a /* bit 7 update in progress, bits 6-4 divider, 3-0 rate */
#define RTC_B	       0x0b /* bit 6 periodic interrupt enable, bit 2 binary mode */
#define RTC_C	       0x0c /* read clears: bit 7 IRQ flag, bit 6 periodic flag */
#define RTC_D	       0x0d /* bit 7 valid RAM and time */
#define RTC_B_PIE      0x40
#define RTC_RATE_256HZ 8 /* period 32768 >> (rate - 1) Hz */
#define RTC_ISA_IRQ    8

#define WAIT  (2 * KAPI_SECOND)
#define QUIET (40 * KAPI_MS) /* long enough for a few 256 Hz periods */

#define ALL_PORTS_RIGHTS                                                                           \
	(KESTREL_RIGHT_READ | KESTREL_RIGHT_WRITE | KESTREL_RIGHT_CONTROL |                        \
	 KESTREL_RIGHT_TRANSFER | KESTREL_RIGHT_DUPLICATE)
#define LINE_RIGHTS                                                                                \
	(KESTREL_RIGHT_WAIT | KESTREL_RIGHT_CONTROL | KESTREL_RIGHT_TRANSFER |                     \
	 KESTREL_RIGHT_DUPLICATE)

/* The capabilities from the start block (0 if init did not pass them). */
static kestrel_handle_t all_ports(void)
{
	const struct kestrel_start *s = kestrel_start_info();
	return s && s->handle_count >= 3 ? s->handles[1] : 0;
}

static kestrel_handle_t irq_control(void)
{
	const struct kestrel_start *s = kestrel_start_info();
	return s && s->handle_count >= 3 ? s->handles[2] : 0;
}

static int64_t cmos_read(kestrel_handle_t ports, uint32_t reg)
{
	int64_t r = kestrel_ioport_out(ports, RTC_INDEX, 1, reg);
	return r < 0 ? r : kestrel_ioport_in(ports, RTC_DATA, 1);
}

static int64_t cmos_write(kestrel_handle_t ports, uint32_t reg, uint32_t value)
{
	int64_t r = kestrel_ioport_out(ports, RTC_INDEX, 1, reg);
	return r < 0 ? r : kestrel_ioport_out(ports, RTC_DATA, 1, value);
}

static uint64_t live_objects(uint32_t type)
{
	struct kestrel_system_info info;
	return kestrel_system_info(&info) < 0 ? ~0ull : info.objects_by_type[type];
}

KAPI_TEST(device_capabilities_from_init)
{
	kestrel_handle_t ports = all_ports(), ctl = irq_control();
	CHECK_MSG(ports > 0 && ctl > 0, "init passed no device capabilities");
	CHECK_EQ(handle_type(ports), KESTREL_OBJ_IOPORTS);
	CHECK_EQ(handle_rights(ports), ALL_PORTS_RIGHTS);
	CHECK_EQ(handle_type(ctl), KESTREL_OBJ_IRQ);
	CHECK_EQ(handle_rights(ctl),
		 KESTREL_RIGHT_CONTROL | KESTREL_RIGHT_TRANSFER | KESTREL_RIGHT_DUPLICATE);
}

KAPI_TEST(ioports_subranges_and_rights)
{
	kestrel_handle_t all = all_ports();
	CHECK(all > 0);
	uint64_t before = live_objects(KESTREL_OBJ_IOPORTS);
	int64_t rtc = CHECK_OK(kestrel_ioports_create(all, RTC_INDEX, 2));
	CHECK_EQ(handle_type(rtc), KESTREL_OBJ_IOPORTS);
	CHECK_EQ(handle_rights(rtc), ALL_PORTS_RIGHTS);
	CHECK(handle_id(rtc) != handle_id(all));
	/* Inside: any width that fits. */
	CHECK_OK(kestrel_ioport_in(rtc, RTC_DATA, 1));
	CHECK_OK(kestrel_ioport_in(rtc, RTC_INDEX, 2));
	/* Outside the range, or spilling over its end. */
	CHECK_ERR(kestrel_ioport_in(rtc, 0x72, 1), KE_ACCESS);
	CHECK_ERR(kestrel_ioport_in(rtc, 0x6f, 1), KE_ACCESS);
	CHECK_ERR(kestrel_ioport_in(rtc, RTC_DATA, 2), KE_ACCESS);
	CHECK_ERR(kestrel_ioport_in(rtc, RTC_INDEX, 4), KE_ACCESS);
	CHECK_ERR(kestrel_ioport_out(rtc, 0x80, 1, 0), KE_ACCESS);
	CHECK_ERR(kestrel_ioport_in(rtc, 0x10070, 1), KE_ACCESS);
	CHECK_ERR(kestrel_syscall(KESTREL_SYS_IOPORT_IN, (uint64_t)rtc, (1ull << 32) | RTC_DATA, 1,
				  0, 0, 0),
		  KE_ACCESS);
	CHECK_ERR(kestrel_ioport_in(all, 0xffff, 2), KE_ACCESS);
	CHECK_ERR(kestrel_ioport_in(all, 0xfffe, 4), KE_ACCESS);
	/* Bad widths. */
	uint32_t widths[] = {0, 3, 5, 8, 16, 0xffffffffu};
	for (unsigned i = 0; i < sizeof(widths) / sizeof(widths[0]); i++) {
		CHECK_ERR(kestrel_ioport_in(rtc, RTC_INDEX, widths[i]), KE_INVALID);
		CHECK_ERR(kestrel_ioport_out(rtc, RTC_INDEX, widths[i], 0), KE_INVALID);
	}
	/* A value wider than the access. */
	CHECK_ERR(kestrel_ioport_out(rtc, RTC_INDEX, 1, 0x100), KE_INVALID);
	CHECK_ERR(kestrel_ioport_out(rtc, RTC_INDEX, 2, 0x10000), KE_INVALID);
	CHECK_ERR(kestrel_syscall(KESTREL_SYS_IOPORT_OUT, (uint64_t)all, 0x80, 4, 1ull << 32, 0, 0),
		  KE_INVALID);

	/* Sub-ranges only from a range that covers them. */
	int64_t one = CHECK_OK(kestrel_ioports_create(rtc, RTC_DATA, 1));
	CHECK_ERR(kestrel_ioport_in(one, RTC_INDEX, 1), KE_ACCESS);
	CHECK_ERR(kestrel_ioports_create(rtc, 0x60, 0x20), KE_ACCESS);
	CHECK_ERR(kestrel_ioports_create(rtc, RTC_DATA, 2), KE_ACCESS);
	CHECK_ERR(kestrel_ioports_create(one, RTC_INDEX, 1), KE_ACCESS);
	CHECK_ERR(kestrel_ioports_create(all, 0x70, 0), KE_INVALID);
	CHECK_ERR(kestrel_ioports_create(all, 0xffff, 2), KE_INVALID);
	CHECK_ERR(kestrel_ioports_create(all, 0x10000, 1), KE_INVALID);
	CHECK_ERR(
		kestrel_syscall(KESTREL_SYS_IOPORTS_CREATE, (uint64_t)all, 1ull << 40, 1, 0, 0, 0),
		KE_INVALID);
	CHECK_ERR(kestrel_syscall(KESTREL_SYS_IOPORTS_CREATE, (uint64_t)all, 0, ~0ull, 0, 0, 0),
		  KE_INVALID);
	int64_t whole = CHECK_OK(kestrel_ioports_create(all, 0, KESTREL_IOPORTS_COUNT));
	CHECK_OK(kestrel_handle_close(whole));

	/* Rights: READ for in, WRITE for out, CONTROL for sub-ranges; a
	 * sub-range has the rights of the handle it was made from. */
	int64_t ro = CHECK_OK(dup_rights(rtc, KESTREL_RIGHT_READ | KESTREL_RIGHT_CONTROL));
	CHECK_OK(kestrel_ioport_in(ro, RTC_DATA, 1));
	CHECK_ERR(kestrel_ioport_out(ro, RTC_INDEX, 1, RTC_D), KE_ACCESS);
	int64_t ro_sub = CHECK_OK(kestrel_ioports_create(ro, RTC_DATA, 1));
	CHECK_EQ(handle_rights(ro_sub), KESTREL_RIGHT_READ | KESTREL_RIGHT_CONTROL);
	CHECK_ERR(kestrel_ioport_out(ro_sub, RTC_DATA, 1, 0), KE_ACCESS);
	int64_t wo = CHECK_OK(dup_rights(rtc, KESTREL_RIGHT_WRITE));
	CHECK_ERR(kestrel_ioport_in(wo, RTC_DATA, 1), KE_ACCESS);
	CHECK_ERR(kestrel_ioports_create(wo, RTC_DATA, 1), KE_ACCESS);

	CHECK_OK(kestrel_handle_close(wo));
	CHECK_OK(kestrel_handle_close(ro_sub));
	CHECK_OK(kestrel_handle_close(ro));
	CHECK_OK(kestrel_handle_close(one));
	CHECK_OK(kestrel_handle_close(rtc));
	CHECK_EQ(live_objects(KESTREL_OBJ_IOPORTS), before);
}

KAPI_TEST(ioports_bad_handles_and_types)
{
	kestrel_handle_t all = all_ports(), ctl = irq_control();
	CHECK(all > 0 && ctl > 0);
	for (int i = 0; i < kapi_bad_handle_count; i++) {
		uint64_t h = (uint64_t)kapi_bad_handles[i];
		CHECK_ERR(kestrel_syscall(KESTREL_SYS_IOPORT_IN, h, RTC_DATA, 1, 0, 0, 0),
			  KE_BAD_HANDLE);
		CHECK_ERR(kestrel_syscall(KESTREL_SYS_IOPORT_OUT, h, RTC_INDEX, 1, 0, 0, 0),
			  KE_BAD_HANDLE);
		CHECK_ERR(kestrel_syscall(KESTREL_SYS_IOPORTS_CREATE, h, RTC_INDEX, 1, 0, 0, 0),
			  KE_BAD_HANDLE);
	}
	struct kestrel_queue q;
	CHECK_OK(kestrel_queue_open(&q, KESTREL_QUEUE_MIN));
	kestrel_handle_t wrong[] = {q.handle, ctl, self_thread(), KESTREL_THIS_SPACE,
				    KESTREL_THIS_TABLE};
	for (unsigned i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
		CHECK_ERR(kestrel_ioport_in(wrong[i], RTC_DATA, 1), KE_BAD_TYPE);
		CHECK_ERR(kestrel_ioport_out(wrong[i], RTC_INDEX, 1, 0), KE_BAD_TYPE);
		CHECK_ERR(kestrel_ioports_create(wrong[i], RTC_INDEX, 1), KE_BAD_TYPE);
	}
	kestrel_queue_close(&q);
}

static unsigned bcd(unsigned v)
{
	return (v >> 4) * 10 + (v & 15);
}

KAPI_TEST(ioports_read_the_rtc)
{
	kestrel_handle_t all = all_ports();
	CHECK(all > 0);
	int64_t rtc = CHECK_OK(kestrel_ioports_create(all, RTC_INDEX, 2));
	/* Status registers with fixed bits: D says the time is valid, A has
	 * the 32.768 kHz divider (010) that every PC RTC runs with. */
	int64_t d = CHECK_OK(cmos_read(rtc, RTC_D));
	CHECK_MSG(d & 0x80, "RTC register D = 0x%llx, VRT clear", (long long)d);
	int64_t a = CHECK_OK(cmos_read(rtc, RTC_A));
	CHECK_MSG((a & 0x70) == 0x20, "RTC register A = 0x%llx", (long long)a);
	int64_t b = CHECK_OK(cmos_read(rtc, RTC_B));
	CHECK_MSG(!(b & RTC_B_PIE), "periodic interrupt already on (B = 0x%llx)", (long long)b);
	bool binary = b & 0x04;

	/* The seconds register is a real clock: valid, and it ticks. */
	int64_t first = CHECK_OK(cmos_read(rtc, RTC_SECONDS));
	unsigned s0 = binary ? (unsigned)first : bcd((unsigned)first);
	CHECK_MSG(s0 < 60, "seconds register 0x%llx", (long long)first);
	uint64_t start = (uint64_t)kestrel_clock();
	int64_t now = first;
	while (now == first && (uint64_t)kestrel_clock() - start < 3 * KAPI_SECOND) {
		sleep_ns(20 * KAPI_MS);
		now = CHECK_OK(cmos_read(rtc, RTC_SECONDS));
	}
	unsigned s1 = binary ? (unsigned)now : bcd((unsigned)now);
	CHECK_MSG(s1 == (s0 + 1) % 60, "seconds went from %u to %u", s0, s1);
	kapi_note("RTC seconds %u -> %u after %llu ms", s0, s1,
		  (unsigned long long)(((uint64_t)kestrel_clock() - start) / KAPI_MS));
	CHECK_OK(kestrel_handle_close(rtc));
}

KAPI_TEST(irq_create_errors)
{
	kestrel_handle_t all = all_ports(), ctl = irq_control();
	CHECK(all > 0 && ctl > 0);
	uint64_t before = live_objects(KESTREL_OBJ_IRQ);
	for (int i = 0; i < kapi_bad_handle_count; i++) {
		uint64_t h = (uint64_t)kapi_bad_handles[i];
		CHECK_ERR(kestrel_syscall(KESTREL_SYS_IRQ_CREATE, h, RTC_ISA_IRQ, KESTREL_IRQ_ISA,
					  0, 0, 0),
			  KE_BAD_HANDLE);
		CHECK_ERR(kestrel_syscall(KESTREL_SYS_IRQ_SUBMIT, h, 1, 1, 0, 0, 0), KE_BAD_HANDLE);
		CHECK_ERR(kestrel_syscall(KESTREL_SYS_IRQ_ACK, h, 1, 0, 0, 0, 0), KE_BAD_HANDLE);
	}
	/* Not the IRQ-control capability. */
	CHECK_ERR(kestrel_irq_create(all, RTC_ISA_IRQ, KESTREL_IRQ_ISA), KE_BAD_TYPE);
	CHECK_ERR(kestrel_irq_create(KESTREL_THIS_SPACE, RTC_ISA_IRQ, KESTREL_IRQ_ISA),
		  KE_BAD_TYPE);
	int64_t no_control = CHECK_OK(dup_rights(ctl, KESTREL_RIGHT_DUPLICATE));
	CHECK_ERR(kestrel_irq_create(no_control, RTC_ISA_IRQ, KESTREL_IRQ_ISA), KE_ACCESS);
	CHECK_OK(kestrel_handle_close(no_control));
	/* Numbers no IO APIC serves, ISA numbers beyond 15, bad flags. */
	CHECK_ERR(kestrel_irq_create(ctl, 200, 0), KE_INVALID);
	CHECK_ERR(kestrel_irq_create(ctl, 1000, 0), KE_INVALID);
	CHECK_ERR(kestrel_irq_create(ctl, 0xffffffffu, 0), KE_INVALID);
	CHECK_ERR(kestrel_syscall(KESTREL_SYS_IRQ_CREATE, (uint64_t)ctl, (1ull << 32) | 8, 0, 0, 0,
				  0),
		  KE_INVALID);
	CHECK_ERR(kestrel_irq_create(ctl, 16, KESTREL_IRQ_ISA), KE_INVALID);
	CHECK_ERR(kestrel_irq_create(ctl, RTC_ISA_IRQ, KESTREL_IRQ_ISA | KESTREL_IRQ_LEVEL),
		  KE_INVALID);
	CHECK_ERR(kestrel_irq_create(ctl, RTC_ISA_IRQ, KESTREL_IRQ_ISA | KESTREL_IRQ_ACTIVE_LOW),
		  KE_INVALID);
	CHECK_ERR(kestrel_irq_create(ctl, RTC_ISA_IRQ, 1u << 3), KE_INVALID);
	CHECK_ERR(kestrel_syscall(KESTREL_SYS_IRQ_CREATE, (uint64_t)ctl, 8, 1ull << 40, 0, 0, 0),
		  KE_INVALID);
	CHECK_EQ(live_objects(KESTREL_OBJ_IRQ), before);
}

KAPI_TEST(irq_busy_close_and_rights)
{
	kestrel_handle_t ctl = irq_control();
	CHECK(ctl > 0);
	uint64_t before = live_objects(KESTREL_OBJ_IRQ);
	/* The RTC's interrupt is off (checked above), so the line stays quiet. */
	int64_t irq = CHECK_OK(kestrel_irq_create(ctl, RTC_ISA_IRQ, KESTREL_IRQ_ISA));
	CHECK_EQ(handle_type(irq), KESTREL_OBJ_IRQ);
	CHECK_EQ(handle_rights(irq), LINE_RIGHTS);
	/* One object per GSI: on QEMU's q35, ISA IRQ 8 has no override, so
	 * it is GSI 8 too. */
	CHECK_ERR(kestrel_irq_create(ctl, RTC_ISA_IRQ, KESTREL_IRQ_ISA), KE_BUSY);
	CHECK_ERR(kestrel_irq_create(ctl, 8, 0), KE_BUSY);
	CHECK_ERR(kestrel_irq_create(ctl, 8, KESTREL_IRQ_LEVEL), KE_BUSY);
	/* A bound line is no control capability, and the other way round. */
	CHECK_ERR(kestrel_irq_create(irq, 9, 0), KE_BAD_TYPE);
	struct kestrel_queue q;
	CHECK_OK(kestrel_queue_open(&q, KESTREL_QUEUE_MIN));
	CHECK_ERR(kestrel_irq_submit(ctl, q.handle, 1), KE_BAD_TYPE);
	CHECK_ERR(kestrel_irq_ack(ctl, 1), KE_BAD_TYPE);
	CHECK_ERR(kestrel_irq_submit(irq, irq, 1), KE_BAD_TYPE);
	CHECK_ERR(kestrel_irq_submit(q.handle, q.handle, 1), KE_BAD_TYPE);
	CHECK_ERR(kestrel_irq_ack(q.handle, 1), KE_BAD_TYPE);
	for (int i = 0; i < kapi_bad_handle_count; i++)
		CHECK_ERR(kestrel_syscall(KESTREL_SYS_IRQ_SUBMIT, (uint64_t)irq,
					  (uint64_t)kapi_bad_handles[i], 1, 0, 0, 0),
			  KE_BAD_HANDLE);
	/* Rights: WAIT to wait (and on the queue), CONTROL to acknowledge. */
	int64_t no_wait = CHECK_OK(dup_rights(irq, KESTREL_RIGHT_CONTROL));
	CHECK_ERR(kestrel_irq_submit(no_wait, q.handle, 1), KE_ACCESS);
	int64_t no_ack = CHECK_OK(dup_rights(irq, KESTREL_RIGHT_WAIT));
	CHECK_ERR(kestrel_irq_ack(no_ack, 1), KE_ACCESS);
	int64_t q_nowait = CHECK_OK(dup_rights(q.handle, KESTREL_RIGHT_DUPLICATE));
	CHECK_ERR(kestrel_irq_submit(irq, q_nowait, 1), KE_ACCESS);
	CHECK_OK(kestrel_handle_close(q_nowait));
	/* Nothing delivered yet: no sequence number to acknowledge. */
	CHECK_ERR(kestrel_irq_ack(irq, 0), KE_INVALID);
	CHECK_ERR(kestrel_irq_ack(irq, 1), KE_INVALID);
	CHECK_ERR(kestrel_irq_ack(irq, ~0ull), KE_INVALID);

	/* A wait pending while the line's last handle goes: cancelled. The
	 * GSI stays bound while any handle is open. */
	CHECK_OK(kestrel_irq_submit(no_ack, q.handle, 77));
	CHECK_OK(kestrel_handle_close(irq));
	CHECK_OK(kestrel_handle_close(no_wait));
	CHECK_ERR(kestrel_irq_create(ctl, 8, 0), KE_BUSY);
	struct rec out;
	CHECK_EQ(chain_wait(&q, 77, &out, QUIET), -KE_TIMEOUT);
	CHECK_OK(kestrel_handle_close(no_ack));
	CHECK_EQ(chain_wait(&q, 77, &out, WAIT), -KE_CANCELLED);
	CHECK_EQ(rec_c(&out)->rec.kind, KESTREL_REC_IRQ);
	CHECK_EQ(rec_c(&out)->count, 0);
	CHECK_ERR(kestrel_cancel(q.handle, 77), KE_NOT_FOUND);

	/* Free again: by GSI number this time. */
	irq = CHECK_OK(kestrel_irq_create(ctl, 8, 0));
	/* Pending waits fill the queue; closing completes every one. */
	int pending = 0;
	int64_t r = 0;
	while ((r = kestrel_irq_submit(irq, q.handle, 1000 + (uint64_t)pending)) == 0)
		pending++;
	CHECK_EQ(r, -KE_NO_SPACE);
	CHECK(pending > 0);
	/* A cancelled one in the middle frees its room. */
	CHECK_OK(kestrel_cancel(q.handle, 1000));
	CHECK_EQ(chain_wait(&q, 1000, &out, WAIT), -KE_CANCELLED);
	CHECK_OK(kestrel_irq_submit(irq, q.handle, 1000));
	CHECK_OK(kestrel_handle_close(irq));
	for (int i = 0; i < pending; i++)
		CHECK_EQ(chain_wait(&q, 1000 + (uint64_t)i, &out, WAIT), -KE_CANCELLED);
	CHECK(kestrel_queue_peek(&q) == NULL);
	kestrel_queue_close(&q);
	CHECK_EQ(live_objects(KESTREL_OBJ_IRQ), before);
}

/* ---- The RTC's periodic interrupt, end to end ---- */

struct rtc {
	kestrel_handle_t ports;
	kestrel_handle_t irq;
	struct kestrel_queue q;
	bool queue_open;
	int64_t saved_a;
};

static void rtc_periodic_on(struct rtc *r)
{
	int64_t a = CHECK_OK(cmos_read(r->ports, RTC_A));
	r->saved_a = a;
	CHECK_OK(cmos_write(r->ports, RTC_A, ((uint32_t)a & 0xf0) | RTC_RATE_256HZ));
	CHECK_OK(cmos_read(r->ports, RTC_C)); /* drop stale flags */
	int64_t b = CHECK_OK(cmos_read(r->ports, RTC_B));
	CHECK_OK(cmos_write(r->ports, RTC_B, (uint32_t)b | RTC_B_PIE));
}

/* Whatever happened: interrupt off, flags read, rate back, handles closed. */
static void rtc_cleanup(struct rtc *r)
{
	if (r->ports > 0) {
		int64_t b = cmos_read(r->ports, RTC_B);
		if (b >= 0)
			cmos_write(r->ports, RTC_B, (uint32_t)b & ~RTC_B_PIE);
		if (r->saved_a >= 0)
			cmos_write(r->ports, RTC_A, (uint32_t)r->saved_a);
		cmos_read(r->ports, RTC_C);
		kestrel_handle_close(r->ports);
	}
	if (r->irq > 0)
		kestrel_handle_close(r->irq);
	if (r->queue_open)
		kestrel_queue_close(&r->q);
}

static int64_t rtc_open(struct rtc *r)
{
	*r = (struct rtc){0};
	r->saved_a = -1;
	int64_t h = kestrel_ioports_create(all_ports(), RTC_INDEX, 2);
	if (h < 0)
		return h;
	r->ports = (kestrel_handle_t)h;
	h = kestrel_queue_open(&r->q, KESTREL_QUEUE_MIN);
	if (h < 0)
		return h;
	r->queue_open = true;
	return 0;
}

/* Wait for the IRQ completion with `tag`: its status (the sequence
 * number, or -KE_*), checking the record's shape. */
static int64_t irq_wait(struct rtc *r, uint64_t tag, uint64_t timeout)
{
	struct rec out;
	int64_t n = kestrel_queue_wait_tag(&r->q, tag, out.w, sizeof(out.w), timeout);
	if (n < 0)
		return n;
	if (rec_c(&out)->rec.kind != KESTREL_REC_IRQ || rec_c(&out)->count != 0 ||
	    n != sizeof(struct kestrel_completion))
		return -KE_INVALID;
	return rec_c(&out)->status;
}

static void rtc_periodic_off(struct rtc *r)
{
	int64_t b = CHECK_OK(cmos_read(r->ports, RTC_B));
	CHECK_OK(cmos_write(r->ports, RTC_B, (uint32_t)b & ~RTC_B_PIE));
	CHECK_OK(cmos_read(r->ports, RTC_C));
}

/*
 * Routed as the ISA IRQ it is (edge, active high). A real RTC makes one
 * edge per tick once register C has been read; QEMU's IO APIC sees every
 * tick as an edge. The checks hold either way: the device is always
 * served (C read) before the next wait.
 */
static void rtc_edge_body(struct rtc *r)
{
	kestrel_handle_t ctl = irq_control();
	CHECK(ctl > 0);
	CHECK_OK(rtc_open(r));
	r->irq = (kestrel_handle_t)CHECK_OK(kestrel_irq_create(ctl, RTC_ISA_IRQ, KESTREL_IRQ_ISA));
	/* A wait before the interrupt is on: nothing comes. */
	uint64_t tag = 1;
	CHECK_OK(kestrel_irq_submit(r->irq, r->q.handle, tag));
	CHECK_EQ(irq_wait(r, tag, QUIET), -KE_TIMEOUT);
	rtc_periodic_on(r);
	if (kapi_failed())
		return;

	/* Several interrupts, each served at the device (register C) and
	 * acknowledged; the first is number 1, then they only grow. */
	int64_t seq = 0;
	for (int i = 0; i < 5; i++) {
		int64_t s = irq_wait(r, tag, WAIT);
		CHECK_MSG(i == 0 ? s == 1 : s > seq, "interrupt %d: sequence %lld after %lld", i,
			  (long long)s, (long long)seq);
		seq = s;
		int64_t c = CHECK_OK(cmos_read(r->ports, RTC_C));
		/* The first interrupt is the only one surely not yet served: a
		 * later completion may report a tick whose flags an earlier read
		 * of C already cleared (it arrived before that read). */
		CHECK_MSG(i > 0 || (c & 0xc0) == 0xc0, "register C = 0x%llx", (long long)c);
		CHECK_OK(kestrel_irq_ack(r->irq, (uint64_t)seq));
		CHECK_OK(kestrel_irq_submit(r->irq, r->q.handle, ++tag));
	}
	/* Acknowledging an older one is harmless; a newer one is refused. */
	CHECK_OK(kestrel_irq_ack(r->irq, 1));
	seq = CHECK_OK(irq_wait(r, tag, WAIT));
	CHECK_ERR(kestrel_irq_ack(r->irq, (uint64_t)seq + 1), KE_INVALID);

	/* Interrupts with nobody waiting are counted: serve the device a few
	 * times without a wait (at least one tick each time), then the next
	 * wait completes at once with the newest sequence number. */
	for (int i = 0; i < 3; i++) {
		CHECK_OK(cmos_read(r->ports, RTC_C));
		sleep_ns(QUIET);
	}
	CHECK_OK(kestrel_irq_submit(r->irq, r->q.handle, ++tag));
	int64_t s = irq_wait(r, tag, 5 * KAPI_MS);
	CHECK_MSG(s >= seq + 3, "after 3 unwaited interrupts: sequence %lld after %lld",
		  (long long)s, (long long)seq);
	kapi_note("%lld interrupts while nobody waited, one completion", (long long)(s - seq));
	seq = s;
	CHECK_OK(kestrel_irq_ack(r->irq, (uint64_t)seq));

	/* Two waiters are served in submission order. */
	CHECK_OK(cmos_read(r->ports, RTC_C));
	CHECK_OK(kestrel_irq_submit(r->irq, r->q.handle, 500));
	CHECK_OK(kestrel_irq_submit(r->irq, r->q.handle, 501));
	int64_t s500 = irq_wait(r, 500, WAIT);
	CHECK_MSG(s500 > seq, "sequence %lld after %lld", (long long)s500, (long long)seq);
	CHECK_OK(cmos_read(r->ports, RTC_C));
	int64_t s501 = irq_wait(r, 501, WAIT);
	CHECK_MSG(s501 > s500, "sequence %lld after %lld", (long long)s501, (long long)s500);
	seq = s501;

	/* With the interrupt off at the device, a wait stays pending: cancel
	 * it. (At most one more completion drains interrupts already counted.) */
	rtc_periodic_off(r);
	sleep_ns(QUIET);
	CHECK_OK(kestrel_irq_submit(r->irq, r->q.handle, ++tag));
	s = irq_wait(r, tag, QUIET);
	if (s != -KE_TIMEOUT) {
		CHECK_MSG(s > seq, "sequence %lld after %lld", (long long)s, (long long)seq);
		seq = s;
		CHECK_OK(kestrel_irq_submit(r->irq, r->q.handle, ++tag));
		CHECK_EQ(irq_wait(r, tag, QUIET), -KE_TIMEOUT);
	}
	CHECK_OK(kestrel_cancel(r->q.handle, tag));
	CHECK_EQ(irq_wait(r, tag, WAIT), -KE_CANCELLED);
	CHECK_ERR(kestrel_cancel(r->q.handle, tag), KE_NOT_FOUND);
	/* The cancelled wait took nothing: on again, the next one comes. */
	CHECK_OK(kestrel_irq_submit(r->irq, r->q.handle, ++tag));
	rtc_periodic_on(r);
	s = irq_wait(r, tag, WAIT);
	CHECK_MSG(s > seq, "sequence %lld after %lld", (long long)s, (long long)seq);
	seq = s;
	CHECK_OK(cmos_read(r->ports, RTC_C));
	CHECK_OK(kestrel_irq_ack(r->irq, (uint64_t)seq));

	/* Close with a wait pending (cancelled), create again: the count
	 * starts over and interrupts still come. */
	CHECK_OK(kestrel_irq_submit(r->irq, r->q.handle, ++tag));
	CHECK_OK(kestrel_handle_close(r->irq));
	r->irq = 0;
	s = irq_wait(r, tag, WAIT);
	CHECK(s == -KE_CANCELLED || s > seq); /* an interrupt may have come first */
	r->irq = (kestrel_handle_t)CHECK_OK(kestrel_irq_create(ctl, RTC_ISA_IRQ, KESTREL_IRQ_ISA));
	CHECK_OK(kestrel_irq_submit(r->irq, r->q.handle, ++tag));
	CHECK_OK(cmos_read(r->ports, RTC_C));
	s = irq_wait(r, tag, WAIT);
	CHECK_MSG(s >= 1 && s < seq, "after re-creating: sequence %lld (was %lld)", (long long)s,
		  (long long)seq);
	CHECK_OK(kestrel_irq_ack(r->irq, (uint64_t)s));
	rtc_periodic_off(r);
	CHECK(kestrel_queue_peek(&r->q) == NULL);
	kapi_note("%lld RTC interrupts before re-creating the IRQ", (long long)seq);
}

KAPI_TEST(irq_rtc_periodic_edge)
{
	uint64_t before = live_objects(KESTREL_OBJ_IRQ);
	struct rtc r;
	rtc_edge_body(&r);
	rtc_cleanup(&r);
	CHECK_EQ(live_objects(KESTREL_OBJ_IRQ), before);
}

/* The RTC's line is high from a tick until register C is read, so it can
 * be routed as a level-triggered, active-high line too: then the kernel
 * masks it at each interrupt until irq_ack. */
static void rtc_level_body(struct rtc *r)
{
	kestrel_handle_t ctl = irq_control();
	CHECK(ctl > 0);
	CHECK_OK(rtc_open(r));
	r->irq = (kestrel_handle_t)CHECK_OK(kestrel_irq_create(ctl, 8, KESTREL_IRQ_LEVEL));
	CHECK_OK(kestrel_irq_submit(r->irq, r->q.handle, 1));
	rtc_periodic_on(r);
	if (kapi_failed())
		return;
	CHECK_EQ(irq_wait(r, 1, WAIT), 1);
	/* The device still asserts the line (C not read): masked, nothing
	 * more comes until we acknowledge... */
	CHECK_OK(kestrel_irq_submit(r->irq, r->q.handle, 2));
	CHECK_EQ(irq_wait(r, 2, QUIET), -KE_TIMEOUT);
	/* ...and then it fires again at once, since it is still high. */
	CHECK_OK(kestrel_irq_ack(r->irq, 1));
	CHECK_EQ(irq_wait(r, 2, WAIT), 2);
	/* A stale acknowledgement does not unmask. */
	CHECK_OK(kestrel_irq_ack(r->irq, 1));
	CHECK_OK(kestrel_irq_submit(r->irq, r->q.handle, 3));
	CHECK_EQ(irq_wait(r, 3, QUIET), -KE_TIMEOUT);
	/* The proper order: serve the device, then acknowledge. */
	int64_t seq = 2;
	for (int i = 0; i < 4; i++) {
		CHECK_OK(cmos_read(r->ports, RTC_C));
		CHECK_OK(kestrel_irq_ack(r->irq, (uint64_t)seq));
		int64_t s = irq_wait(r, 3 + (uint64_t)i, WAIT);
		CHECK_MSG(s == seq + 1, "level interrupt %d: sequence %lld after %lld", i,
			  (long long)s, (long long)seq);
		seq = s;
		CHECK_OK(kestrel_irq_submit(r->irq, r->q.handle, 4 + (uint64_t)i));
	}
	CHECK_OK(kestrel_cancel(r->q.handle, 7));
	CHECK_EQ(irq_wait(r, 7, WAIT), -KE_CANCELLED);
	CHECK(kestrel_queue_peek(&r->q) == NULL);
}

KAPI_TEST(irq_rtc_periodic_level)
{
	uint64_t before = live_objects(KESTREL_OBJ_IRQ);
	struct rtc r;
	rtc_level_body(&r);
	rtc_cleanup(&r);
	CHECK_EQ(live_objects(KESTREL_OBJ_IRQ), before);
}

/* ---- Device memory: physical ranges ---- */

/* The HPET's registers on QEMU's q35 (and most PCs): ACPI's HPET table
 * says where, but user space reads no ACPI yet. */
#define HPET_BASE	  0xfed00000ull
#define HPET_CAPABILITIES 0x000 /* 63:32 tick period (fs), 31:16 vendor, 7:0 revision */
#define HPET_CONFIG	  0x010 /* bit 0: the counter runs */
#define HPET_COUNTER	  0x0f0
#define RANGE_RIGHTS                                                                               \
	(KESTREL_RIGHT_READ | KESTREL_RIGHT_WRITE | KESTREL_RIGHT_MAP | KESTREL_RIGHT_TRANSFER |   \
	 KESTREL_RIGHT_DUPLICATE)

static kestrel_handle_t physical_cap(void)
{
	const struct kestrel_start *s = kestrel_start_info();
	return s && s->handle_count >= 4 ? s->handles[3] : 0;
}

KAPI_TEST(physical_range_errors)
{
	kestrel_handle_t phys = physical_cap();
	CHECK_MSG(phys > 0, "init passed no physical-range capability");
	CHECK_EQ(handle_type(phys), KESTREL_OBJ_PHYSICAL);
	CHECK_EQ(handle_rights(phys),
		 KESTREL_RIGHT_CONTROL | KESTREL_RIGHT_TRANSFER | KESTREL_RIGHT_DUPLICATE);
	uint64_t before = live_objects(KESTREL_OBJ_MEMORY);
	for (int i = 0; i < kapi_bad_handle_count; i++)
		CHECK_ERR(kestrel_syscall(KESTREL_SYS_MEMORY_PHYSICAL_RANGE,
					  (uint64_t)kapi_bad_handles[i], HPET_BASE, 4096, 0, 0, 0),
			  KE_BAD_HANDLE);
	kestrel_handle_t wrong[] = {all_ports(), irq_control(), self_thread(), KESTREL_THIS_SPACE};
	for (unsigned i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++)
		CHECK_ERR(kestrel_memory_physical_range(wrong[i], HPET_BASE, 4096, 0), KE_BAD_TYPE);
	int64_t no_control = CHECK_OK(dup_rights(phys, KESTREL_RIGHT_DUPLICATE));
	CHECK_ERR(kestrel_memory_physical_range(no_control, HPET_BASE, 4096, 0), KE_ACCESS);
	CHECK_OK(kestrel_handle_close(no_control));

	/* Malformed: alignment, sizes, beyond the CPU's physical addresses,
	 * cache modes. */
	CHECK_ERR(kestrel_memory_physical_range(phys, HPET_BASE + 16, 4096, 0), KE_INVALID);
	CHECK_ERR(kestrel_memory_physical_range(phys, HPET_BASE, 0, 0), KE_INVALID);
	CHECK_ERR(kestrel_memory_physical_range(phys, HPET_BASE, 100, 0), KE_INVALID);
	CHECK_ERR(kestrel_memory_physical_range(phys, HPET_BASE, KESTREL_MEMORY_MAX + 4096, 0),
		  KE_INVALID);
	CHECK_ERR(kestrel_memory_physical_range(phys, 1ull << 60, 4096, 0), KE_INVALID);
	CHECK_ERR(kestrel_memory_physical_range(phys, ~0xfffull, 4096, 0), KE_INVALID);
	CHECK_ERR(kestrel_memory_physical_range(phys, HPET_BASE, ~0xfffull, 0), KE_INVALID);
	CHECK_ERR(kestrel_memory_physical_range(phys, HPET_BASE, 4096, 3), KE_INVALID);
	CHECK_ERR(kestrel_syscall(KESTREL_SYS_MEMORY_PHYSICAL_RANGE, (uint64_t)phys, HPET_BASE,
				  4096, 1ull << 32, 0, 0),
		  KE_INVALID);
	CHECK_ERR(
		kestrel_memory_physical_range(phys, HPET_BASE, 4096, KESTREL_CACHE_WRITE_COMBINING),
		KE_NOT_SUPPORTED);

	/* RAM (the allocator's, the kernel's, low memory) and what the kernel
	 * drives itself (IO APIC, local APIC) are refused. */
	static const uint64_t refused[][2] = {
		{0, 4096},	    {0x1000, 4096},	  {0x80000, 0x40000},
		{0x100000, 0x1000}, {0x1000000, 0x10000}, {0x4000000, 0x100000},
		{0xfec00000, 4096}, {0xfee00000, 4096},	  {0xfe000000, 0x1000000},
	};
	for (unsigned i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		CHECK_MSG(kestrel_memory_physical_range(phys, refused[i][0], refused[i][1], 0) ==
				  -KE_ACCESS,
			  "[0x%llx, +0x%llx) not refused", (unsigned long long)refused[i][0],
			  (unsigned long long)refused[i][1]);
	CHECK_EQ(live_objects(KESTREL_OBJ_MEMORY), before);
}

KAPI_TEST(physical_range_maps_the_hpet)
{
	kestrel_handle_t phys = physical_cap();
	CHECK(phys > 0);
	uint64_t before = live_objects(KESTREL_OBJ_MEMORY);
	int64_t m = CHECK_OK(
		kestrel_memory_physical_range(phys, HPET_BASE, 4096, KESTREL_CACHE_UNCACHED));
	CHECK_EQ(handle_type(m), KESTREL_OBJ_MEMORY);
	CHECK_EQ(handle_rights(m), RANGE_RIGHTS);
	CHECK_EQ(kestrel_memory_size(m), 4096);
	/* Never executable; the kernel neither copies nor reads it. */
	CHECK_ERR(kestrel_space_map(KESTREL_THIS_SPACE, m, 0, 0, 4096,
				    KESTREL_MAP_READ | KESTREL_MAP_EXECUTE),
		  KE_ACCESS);
	CHECK_ERR(kestrel_memory_cow(m, 0, 4096), KE_INVALID);
	int64_t addr =
		CHECK_OK(kestrel_space_map(KESTREL_THIS_SPACE, m, 0, 0, 4096, KESTREL_MAP_READ));
	uint64_t word;
	CHECK_ERR(kestrel_space_read(KESTREL_THIS_SPACE, (uint64_t)addr, &word, 8), KE_FAULT);

	/* The registers are the device's: a plausible capabilities register
	 * and a running counter whose ticks match the clock. */
	const volatile uint64_t *regs = (const volatile uint64_t *)(uintptr_t)addr;
	uint64_t caps = regs[HPET_CAPABILITIES / 8];
	uint64_t period_fs = caps >> 32;
	CHECK_MSG(period_fs > 0 && period_fs <= 100000000ull && (caps & 0xff) != 0,
		  "HPET capabilities 0x%llx", (unsigned long long)caps);
	CHECK_MSG(regs[HPET_CONFIG / 8] & 1, "HPET counter not running");
	uint64_t t0 = (uint64_t)kestrel_clock();
	uint64_t c0 = regs[HPET_COUNTER / 8];
	sleep_ns(20 * KAPI_MS);
	uint64_t c1 = regs[HPET_COUNTER / 8];
	uint64_t t1 = (uint64_t)kestrel_clock();
	uint64_t hpet_ns = (c1 - c0) * period_fs / 1000000u;
	CHECK_MSG(hpet_ns >= (t1 - t0) / 2 && hpet_ns <= (t1 - t0) * 2,
		  "HPET says %llu ns, the clock %llu ns", (unsigned long long)hpet_ns,
		  (unsigned long long)(t1 - t0));
	kapi_note("HPET vendor 0x%04llx, period %llu fs; %llu ns against %llu ns",
		  (unsigned long long)((caps >> 16) & 0xffff), (unsigned long long)period_fs,
		  (unsigned long long)hpet_ns, (unsigned long long)(t1 - t0));

	CHECK_OK(kestrel_space_unmap(KESTREL_THIS_SPACE, (uint64_t)addr, 4096));
	CHECK_OK(kestrel_handle_close(m));
	CHECK_EQ(live_objects(KESTREL_OBJ_MEMORY), before);
}
