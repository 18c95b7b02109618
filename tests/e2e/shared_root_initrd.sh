#!/bin/bash
# shared_root_initrd.sh <out> <generic dir>: build a cpio "newc" initrd that is the early
# userspace of a Linux guest whose root is the container rootfs shared over 9p (or
# virtiofs), as a distro initramfs is: a static busybox, the modules listed in
# <generic dir>/order (matrix_linux_generic.sh), and an /init that
#   1. loads the modules (insmod, dependencies first: the kernel has 9p and virtio-pci as
#      modules, so it cannot mount the share itself),
#   2. mounts the root named on the kernel command line, the way urunc writes it for a
#      shared rootfs (src/unikernels/linux.cpp):
#        root=<tag> rw|ro rootfstype=9p|virtiofs [rootflags=<options>] init=<app> -- <args>
#   3. switch_root's into it and execs init= with the words after `--` (the kernel gives
#      them to /init as its arguments).
# Built at test time: no binary is committed.
#
# Console lines (before the switch; anything after is the container's init):
#   SRINIT: insmod <module> failed
#   SRINIT: mounted <tag> (<fstype>, <ro|rw>) as root, exec <init>
#   SRINIT: cannot mount <tag> (<fstype>)          then power off
set -euo pipefail
. "$(dirname "$0")/../lib/testlib.bash"

out=${1:?usage: shared_root_initrd.sh <out> <generic dir>}
mods=${2:?usage: shared_root_initrd.sh <out> <generic dir>}
d=$(mktemp -d /tmp/urunc-sr-initrd.XXXXXX)
trap 'rm -rf "$d"' EXIT
tl_initrd_tree "$d" "$mods"
mkdir -p "$d/newroot"

cat >"$d/init" <<'INIT'
#!/bin/busybox sh
# Early userspace: "$@" are the container init's arguments (the words after `--`).
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
while read -r m; do
	insmod "/modules/$m.ko" || echo "SRINIT: insmod $m failed"
done </modules/order
root= fstype= flags= mode=rw app=/sbin/init
for w in $(cat /proc/cmdline); do
	case $w in
	--) break ;;
	root=*) root=${w#root=} ;;
	rootfstype=*) fstype=${w#rootfstype=} ;;
	rootflags=*) flags=,${w#rootflags=} ;;
	init=*) app=${w#init=} ;;
	ro | rw) mode=$w ;;
	esac
done
if ! mount -t "$fstype" -o "$mode$flags" "$root" /newroot; then
	echo "SRINIT: cannot mount $root ($fstype)"
	poweroff -f
fi
echo "SRINIT: mounted $root ($fstype, $mode) as root, exec $app"
umount /dev /sys /proc
exec switch_root /newroot "$app" "$@"
INIT
chmod 0755 "$d/init"

(cd "$d" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$out.tmp"
mv "$out.tmp" "$out"
