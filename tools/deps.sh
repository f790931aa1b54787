#!/usr/bin/env bash
# Installs what Kestrel's build and tests need, from Debian's packages.
# Runs apt-get only when something is missing, so repeated builds are quick.
set -euo pipefail

# command-or-file -> package
need=(
	"clang:clang"
	"ld.lld:lld"
	"llvm-nm:llvm"
	"make:make"
	"cpio:cpio"
	"qemu-system-x86_64:qemu-system-x86"
	"qemu-i386:qemu-user"
	"grub-mkrescue:grub-common"
	"/usr/lib/grub/i386-pc/multiboot2.mod:grub-pc-bin"
	"/usr/lib/grub/x86_64-efi/multiboot2.mod:grub-efi-amd64-bin"
	"xorriso:xorriso"
	"mformat:mtools"
	"/usr/share/OVMF/OVMF_CODE.fd:ovmf"
	"python3:python3"
	"/usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.asan-x86_64.a:libclang-rt-14-dev"
	"timeout:coreutils"
	"gdb:gdb"
)

missing=()
for entry in "${need[@]}"; do
	what=${entry%%:*}
	pkg=${entry#*:}
	if [[ $what == /* ]]; then
		[[ -e $what ]] && continue
	else
		command -v "$what" >/dev/null 2>&1 && continue
	fi
	missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
	exit 0
fi

echo "deps: installing ${missing[*]}" >&2
if [[ $(id -u) -ne 0 ]]; then
	SUDO=sudo
else
	SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
