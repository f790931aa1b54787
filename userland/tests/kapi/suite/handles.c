/*
 * Handles: close, duplicate, info, transfer, table_create. Every call that
 * takes a handle is also tried with handles naming nothing
 * (kapi_bad_handles), a closed handle, and the wrong object type.
 */
#include <stdlib.h>
#include <string.h>

#include "suite.h"

#define MEMORY_RIGHTS                                                                          \
	(KESTREL_RIGHT_READ | KESTREL_RIGHT_WRITE | KESTREL_RIGHT_MAP | KESTREL_RIGHT_EXECUTE |  \
	 KESTREL_RIGHT_TRANSFER | KESTREL_RIGHT_DUPLICATE | KESTREL_RIGHT_CONTROL)
#define LANE_RIGHTS                                                                            \
	(KESTREL_RIGHT_READ | KESTREL_RIGHT_WRITE | KESTREL_RIGHT_TRANSFER |                     \
	 KESTREL_RIGHT_DUPLICATE)
#define QUEUE_RIGHTS (KESTREL_RIGHT_WAIT | KESTREL_RIGHT_TRANSFER | KESTREL_RIGHT_DUPLICATE)

static int64_t new_memory(void)
{
	return kestrel_memory_create(KESTREL_PAGE_SIZE, KESTREL_MEMORY_ANONYMOUS, 0);
}

KAPI_TEST(handle_close_and_reuse)
{
	kestrel_handle_t h = (kestrel_handle_t)CHECK_OK(new_memory());
	CHECK_EQ(kestrel_handle_close(h), 0);
	CHECK_ERR(kestrel_handle_close(h), KE_BAD_HANDLE);
	CHECK_ERR(kestrel_memory_size(h), KE_BAD_HANDLE);
	struct kestrel_handle_info info;
	CHECK_ERR(kestrel_handle_info(h, &info), KE_BAD_HANDLE);
}

KAPI_TEST(handle_close_bad_handles)
{
	for (int i = 0; i < kapi_bad_handle_count; i++) {
		int64_t h = kapi_bad_handles[i];
		CHECK_ERR(kestrel_syscall(KESTREL_SYS_HANDLE_CLOSE, (uint64_t)h, 0, 0, 0, 0, 0),
			  KE_BAD_HANDLE);
	}
}

KAPI_TEST(handle_close_pseudo_handles)
{
	/* The pseudo-handles cannot be closed, and keep working. */
	CHECK(kestrel_handle_close(KESTREL_THIS_SPACE) < 0);
	CHECK(kestrel_handle_close(KESTREL_THIS_TABLE) < 0);
	kestrel_handle_t m = (kestrel_handle_t)CHECK_OK(new_memory());
	uint64_t a = (uint64_t)CHECK_OK(kestrel_space_map(KESTREL_THIS_SPACE, m, 0, 0,
							  KESTREL_PAGE_SIZE, KESTREL_MAP_READ));
	CHECK_EQ(kestrel_space_unmap(KESTREL_THIS_SPACE, a, KESTREL_PAGE_SIZE), 0);
	int64_t t = CHECK_OK(kestrel_handle_transfer(m, KESTREL_THIS_TABLE, KESTREL_RIGHT_READ));
	CHECK_EQ(kestrel_handle_close((kestrel_handle_t)t), 0);
	CHECK_EQ(kestrel_handle_close(m), 0);
}

KAPI_TEST(handle_duplicate_masks_rights)
{
	kestrel_handle_t h = (kestrel_handle_t)CHECK_OK(new_memory());
	CHECK_EQ(handle_rights(h), MEMORY_RIGHTS);
	uint32_t some = KESTREL_RIGHT_READ | KESTREL_RIGHT_MAP | KESTREL_RIGHT_DUPLICATE;
	kestrel_handle_t d = (kestrel_handle_t)CHECK_OK(kestrel_handle_duplicate(h, some));
	CHECK(d != h);
	CHECK_EQ(handle_rights(d), some);
	CHECK_EQ(handle_type(d), KESTREL_OBJ_MEMORY);
	CHECK_EQ(handle_id(d), handle_id(h));
	/* Asking for more than the handle has gives only what it has. */
	kestrel_handle_t d2 = (kestrel_handle_t)CHECK_OK(kestrel_handle_duplicate(d, KESTREL_RIGHTS_ALL));
	CHECK_EQ(handle_rights(d2), some);
	/* Without DUPLICATE there are no copies. */
	kestrel_handle_t nd = (kestrel_handle_t)CHECK_OK(kestrel_handle_duplicate(h, KESTREL_RIGHT_READ));
	CHECK_ERR(kestrel_handle_duplicate(nd, KESTREL_RIGHT_READ), KE_ACCESS);
	/* Rights never grow back. */
	CHECK_EQ(handle_rights(nd), KESTREL_RIGHT_READ);
	/* A copy with no rights at all is still a handle to the object. */
	kestrel_handle_t none = (kestrel_handle_t)CHECK_OK(kestrel_handle_duplicate(h, 0));
	CHECK_EQ(handle_rights(none), 0);
	CHECK_ERR(kestrel_space_map(KESTREL_THIS_SPACE, none, 0, 0, KESTREL_PAGE_SIZE,
				    KESTREL_MAP_READ),
		  KE_ACCESS);
	/* Closing the original leaves the copies working. */
	CHECK_EQ(kestrel_handle_close(h), 0);
	CHECK_EQ(kestrel_memory_size(d), KESTREL_PAGE_SIZE);
	kestrel_handle_close(d);
	kestrel_handle_close(d2);
	kestrel_handle_close(nd);
	kestrel_handle_close(none);
}

KAPI_TEST(handle_duplicate_bad_handles)
{
	for (int i = 0; i < kapi_bad_handle_count; i++)
		CHECK_ERR(kestrel_syscall(KESTREL_SYS_HANDLE_DUPLICATE, (uint64_t)kapi_bad_handles[i],
					  KESTREL_RIGHTS_ALL, 0, 0, 0, 0),
			  KE_BAD_HANDLE);
	/* Unknown right bits are masked away or refused, never granted. */
	kestrel_handle_t h = (kestrel_handle_t)CHECK_OK(new_memory());
	int64_t d = kestrel_handle_duplicate(h, 0xffffffffu);
	if (d >= 0) {
		CHECK_EQ(handle_rights((kestrel_handle_t)d), MEMORY_RIGHTS);
		kestrel_handle_close((kestrel_handle_t)d);
	} else {
		CHECK_EQ(d, -KE_INVALID);
	}
	kestrel_handle_close(h);
}

KAPI_TEST(handle_table_fills_up)
{
	/* Duplicate until the table is full (KE_LIMIT), then free it all. */
	kestrel_handle_t h = (kestrel_handle_t)CHECK_OK(new_memory());
	static kestrel_handle_t copies[KESTREL_MAX_HANDLES];
	int n = 0;
	int64_t r;
	while ((r = kestrel_handle_duplicate(h, KESTREL_RIGHT_READ)) >= 0) {
		CHECK_MSG(n < KESTREL_MAX_HANDLES, "more than %d handles", KESTREL_MAX_HANDLES);
		CHECK_MSG(r > 0 && r < KESTREL_MAX_HANDLES, "handle %lld out of range", (long long)r);
		copies[n++] = (kestrel_handle_t)r;
	}
	CHECK_ERR(r, KE_LIMIT);
	CHECK_MSG(n > KESTREL_MAX_HANDLES - 200, "only %d handles fit", n);
	for (int i = 0; i < n; i++)
		CHECK_EQ(kestrel_handle_close(copies[i]), 0);
	/* Room again. */
	r = CHECK_OK(kestrel_handle_duplicate(h, KESTREL_RIGHT_READ));
	kestrel_handle_close((kestrel_handle_t)r);
	kestrel_handle_close(h);
}

KAPI_TEST(handle_info_reports_types_and_rights)
{
	kestrel_handle_t m = (kestrel_handle_t)CHECK_OK(new_memory());
	CHECK_EQ(handle_type(m), KESTREL_OBJ_MEMORY);
	CHECK_EQ(handle_rights(m), MEMORY_RIGHTS);

	kestrel_handle_t s = (kestrel_handle_t)CHECK_OK(kestrel_space_create());
	CHECK_EQ(handle_type(s), KESTREL_OBJ_SPACE);
	CHECK_EQ(handle_rights(s), KESTREL_RIGHTS_ALL);

	kestrel_handle_t l[2];
	CHECK_OK(kestrel_stream_create(l));
	CHECK_EQ(handle_type(l[0]), KESTREL_OBJ_LANE);
	CHECK_EQ(handle_type(l[1]), KESTREL_OBJ_LANE);
	CHECK_EQ(handle_rights(l[0]), LANE_RIGHTS);
	CHECK_EQ(handle_rights(l[1]), LANE_RIGHTS);
	CHECK(handle_id(l[0]) != handle_id(l[1]));

	uint64_t addr;
	kestrel_handle_t q = (kestrel_handle_t)CHECK_OK(kestrel_queue_create(KESTREL_QUEUE_MIN, &addr));
	CHECK_EQ(handle_type(q), KESTREL_OBJ_QUEUE);
	CHECK_EQ(handle_rights(q), QUEUE_RIGHTS);

	struct kestrel_credentials creds = {{0}};
	kestrel_handle_t t = (kestrel_handle_t)CHECK_OK(kestrel_table_create(&creds));
	CHECK_EQ(handle_type(t), KESTREL_OBJ_TABLE);

	kestrel_handle_t me = self_thread();
	CHECK(me > 0);
	CHECK_EQ(handle_type(me), KESTREL_OBJ_THREAD);
	CHECK_EQ(handle_rights(me), KESTREL_RIGHTS_ALL);

	/* Distinct objects, distinct ids. */
	uint64_t ids[] = {handle_id(m), handle_id(s), handle_id(l[0]), handle_id(q), handle_id(t)};
	for (int i = 0; i < 5; i++) {
		CHECK(ids[i] != 0);
		for (int j = 0; j < i; j++)
			CHECK(ids[i] != ids[j]);
	}
	kestrel_handle_close(m);
	kestrel_handle_close(s);
	kestrel_handle_close(l[0]);
	kestrel_handle_close(l[1]);
	kestrel_handle_close(q);
	kestrel_handle_close(t);
}

KAPI_TEST(handle_info_bad_arguments)
{
	kestrel_handle_t m = (kestrel_handle_t)CHECK_OK(new_memory());
	CHECK_ERR(kestrel_handle_info(m, NULL), KE_FAULT);
	CHECK_ERR(kestrel_handle_info(m, (void *)KAPI_KERNEL_ADDR), KE_FAULT);
	CHECK_ERR(kestrel_handle_info(m, (void *)KAPI_NONCANONICAL), KE_FAULT);
	CHECK_ERR(kestrel_handle_info(m, (void *)KAPI_UNMAPPED), KE_FAULT);
	CHECK_ERR(kestrel_handle_info(m, (void *)KAPI_LAST_USER), KE_FAULT);
	uint64_t ro = readonly_page();
	CHECK(ro != 0);
	CHECK_ERR(kestrel_handle_info(m, (void *)ro), KE_FAULT);
	struct kestrel_handle_info info;
	for (int i = 0; i < kapi_bad_handle_count; i++)
		CHECK_ERR(kestrel_syscall(KESTREL_SYS_HANDLE_INFO, (uint64_t)kapi_bad_handles[i],
					  (uint64_t)&info, 0, 0, 0, 0),
			  KE_BAD_HANDLE);
	kestrel_handle_close(m);
}

KAPI_TEST(handle_transfer_copies_with_fewer_rights)
{
	struct kestrel_credentials creds = {{1, 2, 3}};
	kestrel_handle_t t = (kestrel_handle_t)CHECK_OK(kestrel_table_create(&creds));
	kestrel_handle_t m = (kestrel_handle_t)CHECK_OK(new_memory());
	int64_t there = CHECK_OK(kestrel_handle_transfer(m, t, KESTREL_RIGHT_READ));
	CHECK(there > 0 && there < KESTREL_MAX_HANDLES);
	/* The original stays ours. */
	CHECK_EQ(kestrel_memory_size(m), KESTREL_PAGE_SIZE);
	/* Into our own table it is a copy with masked rights. */
	kestrel_handle_t mine =
		(kestrel_handle_t)CHECK_OK(kestrel_handle_transfer(m, KESTREL_THIS_TABLE,
								   KESTREL_RIGHT_READ | KESTREL_RIGHT_MAP));
	CHECK_EQ(handle_rights(mine), KESTREL_RIGHT_READ | KESTREL_RIGHT_MAP);
	CHECK_EQ(handle_id(mine), handle_id(m));
	/* Needs TRANSFER on the handle ... */
	CHECK_ERR(kestrel_handle_transfer(mine, t, KESTREL_RIGHT_READ), KE_ACCESS);
	/* ... and WRITE on the table. */
	kestrel_handle_t t_ro = (kestrel_handle_t)CHECK_OK(
		kestrel_handle_duplicate(t, KESTREL_RIGHTS_ALL & ~KESTREL_RIGHT_WRITE));
	CHECK_ERR(kestrel_handle_transfer(m, t_ro, KESTREL_RIGHT_READ), KE_ACCESS);
	/* The table must be a table. */
	CHECK_ERR(kestrel_handle_transfer(m, m, KESTREL_RIGHT_READ), KE_BAD_TYPE);
	CHECK_ERR(kestrel_handle_transfer(m, KESTREL_THIS_SPACE, KESTREL_RIGHT_READ), KE_BAD_TYPE);
	for (int i = 0; i < kapi_bad_handle_count; i++) {
		CHECK_ERR(kestrel_syscall(KESTREL_SYS_HANDLE_TRANSFER, (uint64_t)kapi_bad_handles[i],
					  (uint64_t)t, KESTREL_RIGHT_READ, 0, 0, 0),
			  KE_BAD_HANDLE);
		CHECK_ERR(kestrel_syscall(KESTREL_SYS_HANDLE_TRANSFER, (uint64_t)m,
					  (uint64_t)kapi_bad_handles[i], KESTREL_RIGHT_READ, 0, 0, 0),
			  KE_BAD_HANDLE);
	}
	/* Pseudo-handles cannot be sent. */
	CHECK(kestrel_handle_transfer(KESTREL_THIS_SPACE, t, KESTREL_RIGHT_READ) < 0);
	CHECK(kestrel_handle_transfer(KESTREL_THIS_TABLE, t, KESTREL_RIGHT_READ) < 0);
	kestrel_handle_close(mine);
	kestrel_handle_close(t_ro);
	kestrel_handle_close(m);
	kestrel_handle_close(t);
}

KAPI_TEST(handle_transfer_fills_other_table)
{
	struct kestrel_credentials creds = {{0}};
	kestrel_handle_t t = (kestrel_handle_t)CHECK_OK(kestrel_table_create(&creds));
	kestrel_handle_t m = (kestrel_handle_t)CHECK_OK(new_memory());
	int n = 0;
	int64_t r;
	while ((r = kestrel_handle_transfer(m, t, KESTREL_RIGHT_READ)) >= 0) {
		CHECK_MSG(++n <= KESTREL_MAX_HANDLES, "more than %d handles", KESTREL_MAX_HANDLES);
	}
	CHECK_ERR(r, KE_LIMIT);
	CHECK_MSG(n >= KESTREL_MAX_HANDLES - 2, "only %d handles fit in an empty table", n);
	/* Dropping the table drops all of them. */
	CHECK_EQ(kestrel_handle_close(t), 0);
	CHECK_EQ(kestrel_handle_close(m), 0);
}

KAPI_TEST(table_create_checks_credentials_pointer)
{
	struct kestrel_credentials creds;
	memset(&creds, 0xab, sizeof(creds));
	kestrel_handle_t t = (kestrel_handle_t)CHECK_OK(kestrel_table_create(&creds));
	CHECK_EQ(handle_type(t), KESTREL_OBJ_TABLE);
	kestrel_handle_close(t);
	CHECK_ERR(kestrel_table_create((void *)KAPI_KERNEL_ADDR), KE_FAULT);
	CHECK_ERR(kestrel_table_create((void *)KAPI_UNMAPPED), KE_FAULT);
	CHECK_ERR(kestrel_table_create((void *)KAPI_LAST_USER), KE_FAULT);
	CHECK_ERR(kestrel_table_create((void *)KAPI_NONCANONICAL), KE_FAULT);
}

KAPI_TEST(handles_of_the_wrong_type)
{
	kestrel_handle_t m = (kestrel_handle_t)CHECK_OK(new_memory());
	kestrel_handle_t l[2];
	CHECK_OK(kestrel_stream_create(l));
	uint64_t addr;
	kestrel_handle_t q = (kestrel_handle_t)CHECK_OK(kestrel_queue_create(KESTREL_QUEUE_MIN, &addr));
	CHECK_ERR(kestrel_memory_size(l[0]), KE_BAD_TYPE);
	CHECK_ERR(kestrel_memory_size(q), KE_BAD_TYPE);
	CHECK_ERR(kestrel_memory_size(KESTREL_THIS_SPACE), KE_BAD_TYPE);
	CHECK_ERR(kestrel_memory_cow(q, 0, KESTREL_PAGE_SIZE), KE_BAD_TYPE);
	CHECK_ERR(kestrel_memory_physical(l[1]), KE_BAD_TYPE);
	CHECK_ERR(kestrel_space_map(m, m, 0, 0, KESTREL_PAGE_SIZE, KESTREL_MAP_READ), KE_BAD_TYPE);
	CHECK_ERR(kestrel_space_map(KESTREL_THIS_SPACE, q, 0, 0, KESTREL_PAGE_SIZE,
				    KESTREL_MAP_READ),
		  KE_BAD_TYPE);
	CHECK_ERR(kestrel_space_unmap(m, 0x10000000, KESTREL_PAGE_SIZE), KE_BAD_TYPE);
	CHECK_ERR(kestrel_space_protect(q, 0x10000000, KESTREL_PAGE_SIZE, KESTREL_MAP_READ),
		  KE_BAD_TYPE);
	CHECK_ERR(kestrel_thread_start(m), KE_BAD_TYPE);
	CHECK_ERR(kestrel_thread_kill(l[0]), KE_BAD_TYPE);
	CHECK_ERR(kestrel_thread_set_priority(q, KESTREL_PRIORITY_DEFAULT), KE_BAD_TYPE);
	CHECK_ERR(kestrel_thread_set_affinity(m, 1), KE_BAD_TYPE);
	CHECK_ERR(kestrel_queue_wait(l[0], 0, 1000), KE_BAD_TYPE);
	CHECK_ERR(kestrel_cancel(m, 1), KE_BAD_TYPE);
	CHECK_ERR(kestrel_timer_submit(l[1], 0, 1), KE_BAD_TYPE);
	struct kestrel_action a = kestrel_act_recv_inline(16);
	CHECK_ERR(kestrel_submit(q, q, &a, 1, 1), KE_BAD_TYPE);
	CHECK_ERR(kestrel_submit(l[0], l[1], &a, 1, 1), KE_BAD_TYPE);
	CHECK_ERR(kestrel_submit(m, q, &a, 1, 1), KE_BAD_TYPE);
	kestrel_handle_close(m);
	kestrel_handle_close(l[0]);
	kestrel_handle_close(l[1]);
	kestrel_handle_close(q);
}
