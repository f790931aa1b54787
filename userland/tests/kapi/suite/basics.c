/*
 * The kernel log, the clock, call numbers that do not exist, and shutdown
 * (which only init may call).
 */
#include <string.h>

#include "suite.h"

KAPI_TEST(log_writes_lines)
{
	static const char msg[] = "kapi: a line through kestrel_log";
	for (int level = KESTREL_LOG_ERROR; level <= KESTREL_LOG_DEBUG; level++)
		CHECK_EQ(kestrel_log(msg, sizeof(msg) - 1, level), 0);
	CHECK_EQ(kestrel_log(msg, 0, KESTREL_LOG_INFO), 0);
}

KAPI_TEST(log_truncates_long_lines)
{
	static char big[2048];
	memset(big, 'x', sizeof(big));
	memcpy(big, "kapi: long line ", 16);
	CHECK_EQ(kestrel_log(big, sizeof(big), KESTREL_LOG_DEBUG), 0);
}

KAPI_TEST(log_rejects_bad_pointers)
{
	CHECK_ERR(kestrel_log(NULL, 5, KESTREL_LOG_INFO), KE_FAULT);
	CHECK_ERR(kestrel_log((const char *)KAPI_LOW_ADDR, 5, KESTREL_LOG_INFO), KE_FAULT);
	CHECK_ERR(kestrel_log((const char *)KAPI_KERNEL_ADDR, 5, KESTREL_LOG_INFO), KE_FAULT);
	CHECK_ERR(kestrel_log((const char *)KAPI_NONCANONICAL, 5, KESTREL_LOG_INFO), KE_FAULT);
	CHECK_ERR(kestrel_log((const char *)KAPI_UNMAPPED, 5, KESTREL_LOG_INFO), KE_FAULT);
	/* Starts in user space, runs past its end. */
	CHECK_ERR(kestrel_log((const char *)KAPI_LAST_USER, 16, KESTREL_LOG_INFO), KE_FAULT);
	CHECK_ERR(kestrel_log((const char *)0xfffffffffffffff0ull, 32, KESTREL_LOG_INFO),
		  KE_FAULT);
}

KAPI_TEST(log_levels_out_of_range)
{
	/* The API names levels 0..3 only; others must not crash (0 or KE_INVALID). */
	static const char msg[] = "kapi: odd level";
	CHECK_ERR2(kestrel_log(msg, sizeof(msg) - 1, -1), KE_INVALID, KE_OK);
	CHECK_ERR2(kestrel_log(msg, sizeof(msg) - 1, 4), KE_INVALID, KE_OK);
	CHECK_ERR2(kestrel_syscall(KESTREL_SYS_LOG, (uint64_t)msg, sizeof(msg) - 1, 1ull << 40, 0,
				   0, 0),
		   KE_INVALID, KE_OK);
}

KAPI_TEST(clock_is_monotonic)
{
	int64_t first = kestrel_clock();
	CHECK(first > 0);
	int64_t prev = first;
	for (int i = 0; i < 10000; i++) {
		int64_t now = kestrel_clock();
		CHECK_MSG(now >= prev, "clock went back: %lld after %lld", (long long)now,
			  (long long)prev);
		prev = now;
	}
	sleep_ns(5 * KAPI_MS);
	CHECK(kestrel_clock() - first >= (int64_t)(5 * KAPI_MS));
}

KAPI_TEST(unknown_call_numbers)
{
	CHECK_ERR(kestrel_syscall(KESTREL_SYS_END, 0, 0, 0, 0, 0, 0), KE_BAD_CALL);
	CHECK_ERR(kestrel_syscall(KESTREL_SYSCALL_BASE + 0x1000, 0, 0, 0, 0, 0, 0), KE_BAD_CALL);
	CHECK_ERR(kestrel_syscall(~0ull, 1, 2, 3, 4, 5, 6), KE_BAD_CALL);
	CHECK_ERR(kestrel_syscall(1ull << 32 | KESTREL_SYS_CLOCK, 0, 0, 0, 0, 0, 0), KE_BAD_CALL);
	/* Linux numbers (getpid, a big one) on a thread without the Linux
	 * personality: no observer to report to. */
	CHECK_ERR(kestrel_syscall(39, 0, 0, 0, 0, 0, 0), KE_BAD_CALL);
	CHECK_ERR(kestrel_syscall(KESTREL_SYSCALL_BASE - 1, 0, 0, 0, 0, 0, 0), KE_BAD_CALL);
}

KAPI_TEST(shutdown_needs_privilege)
{
	/* Only the boot process may power off; we are not it. If this ever
	 * succeeds, the run ends here without "KAPI DONE". */
	CHECK_ERR(kestrel_shutdown(0), KE_ACCESS);
	CHECK_ERR(kestrel_shutdown(1), KE_ACCESS);
}

KAPI_TEST(registers_survive_calls)
{
	/* Every register but rax, rcx and r11 is preserved across a call. */
	uint64_t in[9] = {0x1111, 0x2222, 0x3333, 0x4444, 0x5555, 0x6666, 0x7777, 0x8888, 0x9999};
	uint64_t out[9];
	/* Step over the red zone: the compiler may keep data below rsp. */
	__asm__ volatile("sub $128, %%rsp\n\t"
			 "push %%rbx\n\t"
			 "push %%rbp\n\t"
			 "push %%r12\n\t"
			 "push %%r13\n\t"
			 "push %%r14\n\t"
			 "push %%r15\n\t"
			 "push %%rsi\n\t" /* out */
			 "mov 0(%%rdi), %%rbx\n\t"
			 "mov 8(%%rdi), %%rbp\n\t"
			 "mov 16(%%rdi), %%r12\n\t"
			 "mov 24(%%rdi), %%r13\n\t"
			 "mov 32(%%rdi), %%r14\n\t"
			 "mov 40(%%rdi), %%r15\n\t"
			 "mov 48(%%rdi), %%rdx\n\t"
			 "mov 56(%%rdi), %%r8\n\t"
			 "mov 64(%%rdi), %%r9\n\t"
			 "mov %[clock], %%eax\n\t"
			 "syscall\n\t"
			 "pop %%rax\n\t" /* out */
			 "mov %%rbx, 0(%%rax)\n\t"
			 "mov %%rbp, 8(%%rax)\n\t"
			 "mov %%r12, 16(%%rax)\n\t"
			 "mov %%r13, 24(%%rax)\n\t"
			 "mov %%r14, 32(%%rax)\n\t"
			 "mov %%r15, 40(%%rax)\n\t"
			 "mov %%rdx, 48(%%rax)\n\t"
			 "mov %%r8, 56(%%rax)\n\t"
			 "mov %%r9, 64(%%rax)\n\t"
			 "pop %%r15\n\t"
			 "pop %%r14\n\t"
			 "pop %%r13\n\t"
			 "pop %%r12\n\t"
			 "pop %%rbp\n\t"
			 "pop %%rbx\n\t"
			 "add $128, %%rsp\n\t"
			 :
			 : "D"(in), "S"(out), [clock] "i"(KESTREL_SYS_CLOCK)
			 : "rax", "rcx", "rdx", "r8", "r9", "r10", "r11", "memory");
	for (int i = 0; i < 9; i++)
		CHECK_EQ(out[i], in[i]);
}

KAPI_TEST(system_info_counts_objects)
{
	struct kestrel_system_info before, during, after;
	CHECK_EQ(kestrel_system_info(&before), 0);
	CHECK(before.cpu_count >= 1);
	CHECK(before.free_pages > 0 && before.free_pages <= before.total_pages);
	CHECK(before.objects_by_type[KESTREL_OBJ_THREAD] >= 2); /* init and us */
	kestrel_handle_t m = (kestrel_handle_t)CHECK_OK(
		kestrel_memory_create(4096, KESTREL_MEMORY_ANONYMOUS, 0));
	kestrel_handle_t lanes[2];
	CHECK_EQ(kestrel_stream_create(lanes), 0);
	CHECK_EQ(kestrel_system_info(&during), 0);
	CHECK_EQ(during.objects_by_type[KESTREL_OBJ_MEMORY],
		 before.objects_by_type[KESTREL_OBJ_MEMORY] + 1);
	CHECK_EQ(during.objects_by_type[KESTREL_OBJ_LANE],
		 before.objects_by_type[KESTREL_OBJ_LANE] + 2);
	CHECK(during.objects >= before.objects + 3); /* the stream itself may count too */
	kestrel_handle_close(m);
	kestrel_handle_close(lanes[0]);
	kestrel_handle_close(lanes[1]);
	CHECK_EQ(kestrel_system_info(&after), 0);
	CHECK_EQ(after.objects, before.objects);
	CHECK_ERR(kestrel_system_info(NULL), KE_FAULT);
	CHECK_ERR(kestrel_system_info((void *)KAPI_KERNEL_ADDR), KE_FAULT);
}
