#!/bin/bash
# memfill_initrd.sh <out>: the Linux guest initrd of matrix_linux_initrd.sh (static busybox)
# followed by a second cpio archive that adds /memfill, an init that uses the guest's RAM.
# The kernel unpacks concatenated "newc" archives in order, so nothing else is rebuilt.
#
# /memfill <leave MiB> <hold|off>: reads MemTotal (the RAM the guest kernel sees), writes
# MemTotal - <leave> MiB of zeros into a tmpfs (every page really allocated by the guest,
# so touched in the VMM's memory), then prints
#   MEMFILL: memtotal_kib=<n> fill_mib=<n>
#   MEMFILL: filled <n> MiB            (bytes now held by the tmpfs, in MiB)
#   MEMFILL: alive                     (the guest still runs after the fill)
# and then either idles forever (hold: the host inspects the running container) or
# powers off (off). A failed step prints `MEMFILL: error <what>` and powers off.
set -euo pipefail

out=${1:?usage: memfill_initrd.sh <out>}
here=$(cd "$(dirname "$0")" && pwd)
"$here/matrix_linux_initrd.sh" "$out.base"

d=$(mktemp -d /tmp/urunc-memfill.XXXXXX)
trap 'rm -rf "$d" "$out.base"' EXIT
cat >"$d/memfill" <<'INIT'
#!/bin/busybox sh
bb=/bin/busybox
leave=${1:-48}
mode=${2:-off}
fail() {
	echo "MEMFILL: error $*"
	$bb poweroff -f
}
$bb mount -t proc proc /proc || fail "mount /proc"
$bb mount -t devtmpfs dev /dev || fail "mount /dev"
total=$($bb awk '/^MemTotal:/ { print $2 }' /proc/meminfo)
fill=$((total / 1024 - leave))
echo "MEMFILL: memtotal_kib=$total fill_mib=$fill"
[ "$fill" -gt 0 ] || fail "nothing to fill"
$bb mkdir -p /fill
# One MiB of slack over the data so that the tmpfs limit is never what stops dd.
$bb mount -t tmpfs -o size=$((fill + 1))m fill /fill || fail "mount tmpfs"
$bb dd if=/dev/zero of=/fill/blob bs=1M count="$fill" 2>/dev/null || fail "dd"
echo "MEMFILL: filled $(($($bb stat -c %s /fill/blob) / 1048576)) MiB"
echo "MEMFILL: alive"
if [ "$mode" = hold ]; then
	while :; do $bb sleep 3600; done
fi
$bb poweroff -f
INIT
chmod 0755 "$d/memfill"
(cd "$d" && echo memfill | cpio -o -H newc -R 0:0 --quiet) >"$d/overlay.cpio"
cat "$out.base" "$d/overlay.cpio" >"$out.tmp"
mv "$out.tmp" "$out"
