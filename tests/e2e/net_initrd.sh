#!/bin/bash
# net_initrd.sh <out> <modules dir>: build a cpio "newc" initrd for the guest network e2e
# tests: a static busybox, the virtio network modules listed in <modules dir>/order
# (matrix_linux_modules.sh), and an /init that loads them, configures eth0 from the `ip=`
# word urunc puts on the kernel command line, and serves HTTP with busybox httpd.
#
# The kernel cannot apply `ip=` itself (Debian's cloud kernel has no IP autoconfiguration,
# and virtio_net is a module), so /init parses the word: ip=<IP>::<GW>:<MASK>:<host>:<dev>:off.
#
# Every virtio disk is mounted read-only at /mnt/<serial> (urunc names a volume's disk
# vol<N> in its serial) and reported before anything else:
#   NETINIT: disk <serial>: <first line of its /urunc-volume.txt, or "no urunc-volume.txt">
# Console lines:
#   NETINIT: ready ip=<ip> mask=<mask> gw=<gw> mac=<eth0's MAC>    httpd is serving
#   NETINIT: no ip= on the command line, links=<names in /sys/class/net>   then power off
# The page at / is the single line `urunc guest ip=<ip> mac=<mac>`.
set -euo pipefail
. "$(dirname "$0")/../lib/testlib.bash"

out=${1:?usage: net_initrd.sh <out> <modules dir>}
mods=${2:?usage: net_initrd.sh <out> <modules dir>}
d=$(mktemp -d /tmp/urunc-net-initrd.XXXXXX)
trap 'rm -rf "$d"' EXIT
tl_initrd_tree "$d" "$mods"
mkdir -p "$d/www" "$d/mnt"

cat >"$d/init" <<'INIT'
#!/bin/busybox sh
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
while read -r m; do
	insmod "/modules/$m.ko" || echo "NETINIT: insmod $m failed"
done </modules/order
mount -t devtmpfs devtmpfs /dev
for b in /sys/block/vd*; do
	[ -e "$b" ] || continue
	dev=${b##*/}
	serial=$(cat "$b/serial" 2>/dev/null)
	[ -n "$serial" ] || serial=$dev
	mkdir -p "/mnt/$serial"
	if mount -t ext4 -o ro "/dev/$dev" "/mnt/$serial"; then
		if [ -f "/mnt/$serial/urunc-volume.txt" ]; then
			echo "NETINIT: disk $serial: $(head -n 1 "/mnt/$serial/urunc-volume.txt")"
		else
			echo "NETINIT: disk $serial: no urunc-volume.txt"
		fi
	else
		echo "NETINIT: disk $serial: mount failed"
	fi
done
ipw=
for w in $(cat /proc/cmdline); do
	case $w in ip=*) ipw=${w#ip=} ;; esac
done
if [ -z "$ipw" ]; then
	echo "NETINIT: no ip= on the command line, links=$(ls /sys/class/net | tr '\n' ' ')"
	poweroff -f
fi
# <IP>::<GW>:<MASK>:<host>:<dev>:off
ip=$(echo "$ipw" | cut -d: -f1)
gw=$(echo "$ipw" | cut -d: -f3)
mask=$(echo "$ipw" | cut -d: -f4)
dev=$(echo "$ipw" | cut -d: -f6)
ifconfig lo 127.0.0.1 up
ifconfig "$dev" "$ip" netmask "$mask" up
[ -z "$gw" ] || route add default gw "$gw"
mac=$(cat "/sys/class/net/$dev/address")
echo "urunc guest ip=$ip mac=$mac" >/www/index.html
httpd -p 80 -h /www
echo "NETINIT: ready ip=$ip mask=$mask gw=$gw mac=$mac"
while :; do sleep 3600; done
INIT
chmod 0755 "$d/init"

(cd "$d" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$out.tmp"
mv "$out.tmp" "$out"
