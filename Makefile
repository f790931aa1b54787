# Kestrel: the top-level build. `make run` boots, `make test` runs every test.
# Each target installs missing build tools itself (tools/deps.sh).

BUILD      ?= build
CC         := clang
LD         := ld.lld
NM         := llvm-nm
HOSTCC     ?= clang
# Debug builds (lock-order checking, extra assertions): make DEBUG=1
DEBUG      ?= 0

DEPS_STAMP := $(BUILD)/.deps-ok

WARN       := -Wall -Wextra -Werror -std=c17
COMMON     := -ffreestanding -fno-builtin -nostdlib -fno-stack-protector \
              -fno-pic -mgeneral-regs-only -O2 -g $(WARN) -Iinclude

BOOT_CFLAGS   := --target=i686-unknown-none-elf -march=i686 $(COMMON) -fno-zero-initialized-in-bss
KERNEL_CFLAGS := --target=x86_64-unknown-none-elf $(COMMON) -mcmodel=kernel \
                 -mno-red-zone -fno-omit-frame-pointer -Ikernel/include \
                 -Ikernel/arch/x86_64/include -Itests/kernel
ifeq ($(DEBUG),1)
KERNEL_CFLAGS += -DKESTREL_LOCK_DEBUG -DKESTREL_DEBUG
endif
HOST_CFLAGS   := $(WARN) -O1 -g -D_DEFAULT_SOURCE -DKESTREL_HOST_TEST -Iinclude -Ikernel/include \
                 -Itests/unit -Iprotocols -fsanitize=address,undefined -fno-omit-frame-pointer

.PHONY: all run debug test bench iso clean deps unit-tests system-tests debug-kernel format \
	compile_commands.json
all: $(BUILD)/boot.elf $(BUILD)/kernel.elf $(BUILD)/initrd.cpio

deps: $(DEPS_STAMP)
$(DEPS_STAMP): tools/deps.sh
	@tools/deps.sh
	@mkdir -p $(BUILD) && touch $@

# ---- Prekernel (32-bit) ----
BOOT_SRCS := $(wildcard boot/*.c) $(wildcard boot/*.S)
BOOT_OBJS := $(patsubst %,$(BUILD)/%.o,$(BOOT_SRCS))

$(BUILD)/boot/%.o: boot/% | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(BOOT_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/boot.elf: $(BOOT_OBJS) boot/link.ld
	$(LD) -m elf_i386 -T boot/link.ld -o $@ $(BOOT_OBJS)

# ---- Kernel (64-bit, higher half) ----
# tests/kernel holds the in-kernel self-tests, run with test=kernel.
KERNEL_SRCS := $(wildcard kernel/generic/*.c) $(wildcard kernel/arch/x86_64/*.c) \
               $(wildcard kernel/arch/x86_64/*.S) $(wildcard tests/kernel/*.c)
KERNEL_OBJS := $(patsubst %,$(BUILD)/%.o,$(KERNEL_SRCS))
KERNEL_LD   := kernel/arch/x86_64/link.ld

$(BUILD)/kernel/%.o: kernel/% | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(KERNEL_CFLAGS) -MMD -MP -c $< -o $@
$(BUILD)/tests/kernel/%.o: tests/kernel/% | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(KERNEL_CFLAGS) -MMD -MP -c $< -o $@

# Two-pass link: the kernel carries its own symbol table for backtraces.
# The table is the last section, so its size never moves another symbol.
$(BUILD)/kernel.elf: $(KERNEL_OBJS) $(KERNEL_LD) tools/gen-ksyms
	@mkdir -p $(BUILD)/ksyms
	tools/gen-ksyms /dev/null > $(BUILD)/ksyms/empty.S
	$(CC) $(KERNEL_CFLAGS) -c $(BUILD)/ksyms/empty.S -o $(BUILD)/ksyms/empty.o
	$(LD) -T $(KERNEL_LD) -z max-page-size=4096 -o $(BUILD)/kernel.pass1.elf \
		$(KERNEL_OBJS) $(BUILD)/ksyms/empty.o
	$(NM) -n --defined-only $(BUILD)/kernel.pass1.elf | tools/gen-ksyms - > $(BUILD)/ksyms/ksyms.S
	$(CC) $(KERNEL_CFLAGS) -c $(BUILD)/ksyms/ksyms.S -o $(BUILD)/ksyms/ksyms.o
	$(LD) -T $(KERNEL_LD) -z max-page-size=4096 -o $@ $(KERNEL_OBJS) $(BUILD)/ksyms/ksyms.o
	@tools/check-ksyms $(BUILD)/kernel.pass1.elf $@

# ---- User space: the C library, init, the in-guest test programs ----
# Static, non-PIE ELF64 programs at 0x400000 (libc/arch/x86_64/link.ld),
# linked with crt0 and libkestrel.a. User code may use SSE and the red zone
# (the kernel enters on its own stack). docs/userland.md explains the parts.
AR          := llvm-ar
USER_CFLAGS := --target=x86_64-unknown-none-elf -ffreestanding -fno-builtin -nostdlib \
               -nostdlibinc -fno-pic -fno-pie -fno-stack-protector -O2 -g $(WARN) \
               -Ilibc/include -Iinclude -Iprotocols
LIBC_CFLAGS := $(USER_CFLAGS) -Ilibc/internal -Ilibc/arch/x86_64
USER_LD     := libc/arch/x86_64/link.ld

LIBC_SRCS := $(wildcard libc/src/*/*.c) $(wildcard libc/sysdeps/kestrel/*.c) \
             $(wildcard libc/sysdeps/kestrel/*/*.c)
# The IPC protocol codecs (protocols/, docs/registry.md) live in libc, so
# init, clients and servers all link the same validating code.
LIBC_SRCS += $(wildcard protocols/*.c)
LIBC_OBJS := $(patsubst %,$(BUILD)/%.o,$(LIBC_SRCS))
LIBC_A    := $(BUILD)/libc/libkestrel.a
CRT0      := $(BUILD)/libc/arch/x86_64/crt0.S.o

$(BUILD)/libc/%.o: libc/% | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(LIBC_CFLAGS) -MMD -MP -c $< -o $@
$(BUILD)/protocols/%.o: protocols/% | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(LIBC_CFLAGS) -MMD -MP -c $< -o $@
$(BUILD)/servers/%.o: servers/% | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -MMD -MP -c $< -o $@
$(BUILD)/userland/%.o: userland/% | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -Iuserland/tests/kapi/common -MMD -MP -c $< -o $@

$(BUILD)/bench/%.o: bench/% | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(USER_CFLAGS) -MMD -MP -c $< -o $@

$(LIBC_A): $(LIBC_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

# user_program NAME SOURCE-DIRS: links $(BUILD)/user/NAME from the .c files there.
define user_program
$(1)_OBJS := $$(patsubst %,$(BUILD)/%.o,$$(foreach d,$(2),$$(wildcard $$(d)/*.c)))
$(BUILD)/user/$(1): $(CRT0) $$($(1)_OBJS) $(LIBC_A) $(USER_LD)
	@mkdir -p $$(dir $$@)
	$(LD) -T $(USER_LD) -static -nostdlib -z max-page-size=4096 -o $$@ \
		$(CRT0) $$($(1)_OBJS) $(LIBC_A)
endef
$(eval $(call user_program,init,servers/init))
$(eval $(call user_program,kapi,userland/tests/kapi/suite userland/tests/kapi/common))
$(eval $(call user_program,kapi-helper,userland/tests/kapi/helper userland/tests/kapi/common))
$(eval $(call user_program,kapi-fuzz,userland/tests/kapi/fuzz userland/tests/kapi/common))

USER_TESTS := kapi kapi-helper kapi-fuzz
# Benchmark programs: bench/<name>/ becomes kestrel/bench/<name> (test=bench).
$(eval $(call user_program,bench-ipc,bench/ipc))
USER_BENCH := ipc

# ---- Initrd: image/initrd plus the programs, staged in build/initrd-root ----
# init goes to kestrel/init (KESTREL_INIT_PATH), test programs to kestrel/tests/.
INITRD_FILES := $(shell find image/initrd -type f 2>/dev/null)
$(BUILD)/initrd.cpio: $(INITRD_FILES) $(BUILD)/user/init $(patsubst %,$(BUILD)/user/%,$(USER_TESTS)) \
		$(patsubst %,$(BUILD)/user/bench-%,$(USER_BENCH)) \
		| $(DEPS_STAMP)
	@rm -rf $(BUILD)/initrd-root
	@mkdir -p $(BUILD)/initrd-root/kestrel/tests $(BUILD)/initrd-root/kestrel/bench image/initrd
	cp -R image/initrd/. $(BUILD)/initrd-root/
	cp $(BUILD)/user/init $(BUILD)/initrd-root/kestrel/init
	cp $(patsubst %,$(BUILD)/user/%,$(USER_TESTS)) $(BUILD)/initrd-root/kestrel/tests/
	for b in $(USER_BENCH); do cp $(BUILD)/user/bench-$$b $(BUILD)/initrd-root/kestrel/bench/$$b; done
	cd $(BUILD)/initrd-root && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet > $(abspath $@)

# ---- Running ----
CMDLINE ?=
SMP     ?= 4
MEM     ?= 512M
run: all
	tools/run-qemu --smp $(SMP) --mem $(MEM) --cmdline "$(CMDLINE)" --interactive
debug: all
	tools/run-qemu --smp $(SMP) --mem $(MEM) --cmdline "$(CMDLINE)" --interactive --gdb

# Benchmarks (never part of make test's verdict): raw figures in build/bench/.
bench: all
	bench/run --build $(BUILD)

iso: $(BUILD)/kestrel.iso
$(BUILD)/kestrel.iso: all tools/make-iso
	tools/make-iso $(BUILD) $@

# ---- Tests ----
UNIT_SUITES := $(patsubst tests/unit/%/sources,%,$(wildcard tests/unit/*/sources))
UNIT_BINS   := $(patsubst %,$(BUILD)/unit/%,$(UNIT_SUITES))

# Any header a unit test may include: a change rebuilds every suite (they are small).
UNIT_HEADERS := $(wildcard tests/unit/*.h kernel/include/*.h include/kestrel/*.h boot/*.h \
                  protocols/*.h)
define unit_suite
$(BUILD)/unit/$(1): $(wildcard tests/unit/$(1)/*.c) $$(shell cat tests/unit/$(1)/sources) \
		tests/unit/unit.c tests/unit/host_kernel.c $(UNIT_HEADERS) | $(DEPS_STAMP)
	@mkdir -p $$(dir $$@)
	$(HOSTCC) $(HOST_CFLAGS) -o $$@ $(wildcard tests/unit/$(1)/*.c) \
		$$(shell cat tests/unit/$(1)/sources) tests/unit/unit.c tests/unit/host_kernel.c -lpthread
endef
$(foreach s,$(UNIT_SUITES),$(eval $(call unit_suite,$(s))))

unit-tests: $(UNIT_BINS)
# The test image boots straight into test=boot (report ready, power off).
$(BUILD)/kestrel-test.iso: all tools/make-iso
	tools/make-iso $(BUILD) $@ "test=boot"
# A debug kernel (lock-order checking, extra assertions) boots in the tests too.
debug-kernel: | $(DEPS_STAMP)
	$(MAKE) --no-print-directory BUILD=$(BUILD)/debug DEBUG=1 all
system-tests: all $(BUILD)/kestrel-test.iso debug-kernel

test: unit-tests system-tests
	@tools/run-tests $(BUILD) $(UNIT_BINS)

clean:
	rm -rf $(BUILD)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

compile_commands.json:
	$(MAKE) clean && bear -- $(MAKE) all unit-tests

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
