/*
 * Starting the first user process (see <kestrel/init.h>): load the static
 * ELF program KESTREL_INIT_PATH from the initrd into a new address space,
 * give it a handle table with the initrd as a memory object, its own
 * thread and the driver capabilities (all I/O ports, IRQ control,
 * physical ranges), and
 * start it. From here on, user space (init) loads everything
 * else.
 *
 * The program file is checked like any untrusted ELF (boot/elf64.c): a bad
 * file is reported and the system stays up without user space.
 */
#include <kestrel/error.h>
#include <kestrel/init.h>
#include <kestrel/memory.h>

#include "../../boot/elf64.h"
#include "cmdline.h"
#include "cpu.h"
#include "handle.h"
#include "init_process.h"
#include "initrd.h"
#include "ioports.h"
#include "irq.h"
#include "kstring.h"
#include "log.h"
#include "memobj.h"
#include "physical.h"
#include "space.h"
#include "uthread.h"

#define INIT_STACK_SIZE (256u << 10)
#define INIT_STACK_TOP 0x00007fffff000000ull
#define INIT_INFO_ADDR (INIT_STACK_TOP + 0x100000)

static uint32_t prot_of(uint32_t pflags)
{
	uint32_t prot = 0;
	if (pflags & ELF_PF_R)
		prot |= KESTREL_MAP_READ;
	if (pflags & ELF_PF_W)
		prot |= KESTREL_MAP_WRITE;
	if (pflags & ELF_PF_X)
		prot |= KESTREL_MAP_EXECUTE;
	return prot;
}

/* Map one PT_LOAD segment: a fresh anonymous object holding its pages
 * (file bytes copied in, the rest zero). */
static int load_segment(struct space *s, const uint8_t *file, const struct elf64_phdr *ph)
{
	uint64_t base = PAGE_ALIGN_DOWN(ph->vaddr);
	uint64_t end = PAGE_ALIGN_UP(ph->vaddr + ph->memsz);
	struct memobj *m = memobj_create_anonymous(end - base);
	if (!m)
		return -KE_NO_MEMORY;
	int rc = memobj_write(m, ph->vaddr - base, file + ph->offset, ph->filesz);
	uint64_t at;
	if (!rc)
		rc = space_map(s, m, 0, base, end - base, prot_of(ph->flags) | KESTREL_MAP_FIXED, &at);
	kobject_put(&m->obj);
	return rc;
}

static int map_fresh(struct space *s, uint64_t addr, uint64_t size, uint32_t prot,
		     struct memobj **out)
{
	struct memobj *m = memobj_create_anonymous(size);
	if (!m)
		return -KE_NO_MEMORY;
	uint64_t at;
	int rc = space_map(s, m, 0, addr, size, prot | KESTREL_MAP_FIXED, &at);
	if (rc || !out)
		kobject_put(&m->obj);
	else
		*out = m;
	return rc;
}

/* Install a new capability object (taking over its creation reference). */
static int install_capability(struct handle_table *t, struct kobject *obj, uint32_t rights,
			      kestrel_handle_t *out)
{
	if (!obj)
		return -KE_NO_MEMORY;
	int64_t h = handle_table_install(t, obj, rights);
	kobject_put(obj);
	*out = (kestrel_handle_t)(h > 0 ? h : 0);
	return h < 0 ? (int)h : 0;
}

static int start_init(const struct cpio_entry *file, const struct kestrel_bootinfo *bi)
{
	static const struct elf64_limits user_limits = {KESTREL_USER_MIN, INIT_STACK_TOP -
								 INIT_STACK_SIZE - PAGE_SIZE,
						       1ull << 30};
	struct kernel_image_plan plan;
	const char *why = elf64_check(file->data, file->size, &user_limits, &plan);
	if (why) {
		log_error("init: %s: %s", KESTREL_INIT_PATH, why);
		return -KE_INVALID;
	}
	struct space *s = space_create();
	struct handle_table *t = handle_table_create(0);
	struct memobj *initrd = 0, *info_obj = 0;
	struct uthread *u = 0;
	int rc = (s && t) ? 0 : -KE_NO_MEMORY;
	const struct elf64_ehdr *eh = file->data;
	for (uint32_t i = 0; !rc && i < eh->phnum; i++) {
		const struct elf64_phdr *ph =
			(const void *)((const uint8_t *)file->data + eh->phoff + i * sizeof(*ph));
		if (ph->type == ELF_PT_LOAD && ph->memsz)
			rc = load_segment(s, file->data, ph);
	}
	if (!rc)
		rc = map_fresh(s, INIT_STACK_TOP - INIT_STACK_SIZE, INIT_STACK_SIZE,
			       KESTREL_MAP_READ | KESTREL_MAP_WRITE, 0);
	if (!rc)
		rc = map_fresh(s, INIT_INFO_ADDR, PAGE_SIZE, KESTREL_MAP_READ, &info_obj);

	/* The initrd, as a memory object of its own (a copy: the module's
	 * pages belong to no allocator). */
	const struct kestrel_module *mod = initrd_module();
	if (!rc && mod) {
		initrd = memobj_create_anonymous(PAGE_ALIGN_UP(mod->length));
		rc = initrd ? memobj_write(initrd, 0, phys_to_virt(mod->base), mod->length)
			    : -KE_NO_MEMORY;
	}
	if (!rc) {
		t->privileged = true;
		u = uthread_create(s, t, plan.entry, INIT_STACK_TOP, INIT_INFO_ADDR, 0);
		rc = u ? 0 : -KE_NO_MEMORY;
	}
	struct kestrel_init_info info;
	memset(&info, 0, sizeof(info));
	info.magic = KESTREL_INIT_MAGIC;
	info.version = KESTREL_INIT_VERSION;
	info.cpu_count = cpu_count;
	if (!rc && initrd) {
		int64_t h = handle_table_install(t, &initrd->obj,
						 KESTREL_RIGHT_READ | KESTREL_RIGHT_MAP |
							 KESTREL_RIGHT_DUPLICATE | KESTREL_RIGHT_TRANSFER);
		rc = h < 0 ? (int)h : 0;
		info.initrd = (kestrel_handle_t)h;
		info.initrd_size = mod->length;
	}
	if (!rc) {
		int64_t h = handle_table_install(t, &u->obj, KESTREL_RIGHTS_ALL);
		rc = h < 0 ? (int)h : 0;
		info.self_thread = (kestrel_handle_t)h;
	}
	/* Driver capabilities: init alone holds them, and decides which
	 * driver gets which part (docs/kernel/devices.md). */
	if (!rc)
		rc = install_capability(t, ioports_create_all(),
					KESTREL_RIGHT_READ | KESTREL_RIGHT_WRITE | KESTREL_RIGHT_CONTROL |
						KESTREL_RIGHT_TRANSFER | KESTREL_RIGHT_DUPLICATE,
					&info.ioports);
	if (!rc)
		rc = install_capability(t, irq_control_create(),
					KESTREL_RIGHT_CONTROL | KESTREL_RIGHT_TRANSFER |
						KESTREL_RIGHT_DUPLICATE,
					&info.irq_control);
	if (!rc)
		rc = install_capability(t, physical_capability_create(),
					KESTREL_RIGHT_CONTROL | KESTREL_RIGHT_TRANSFER |
						KESTREL_RIGHT_DUPLICATE,
					&info.physical);
	if (!rc) {
		size_t n = strlen(bi->cmdline);
		if (n >= sizeof(info.cmdline))
			n = sizeof(info.cmdline) - 1;
		memcpy(info.cmdline, bi->cmdline, n);
		rc = memobj_write(info_obj, 0, &info, sizeof(info));
	}
	if (!rc)
		rc = uthread_start(u);
	if (u)
		kobject_put(&u->obj);
	if (initrd)
		kobject_put(&initrd->obj);
	if (info_obj)
		kobject_put(&info_obj->obj);
	if (t)
		kobject_put(&t->obj);
	if (s)
		kobject_put(&s->obj);
	if (rc)
		log_error("init: cannot start %s (error %d)", KESTREL_INIT_PATH, -rc);
	else
		log_info("init: started %s (entry %llx)", KESTREL_INIT_PATH,
			 (unsigned long long)plan.entry);
	return rc;
}

int init_process_start(const struct kestrel_bootinfo *bi)
{
	struct cpio_entry e;
	if (!initrd_find(KESTREL_INIT_PATH, &e)) {
		log_warn("init: no %s in the initrd", KESTREL_INIT_PATH);
		return -KE_NOT_FOUND;
	}
	return start_init(&e, bi);
}
