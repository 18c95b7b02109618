#!/bin/bash
# matrix_linux_initrd.sh <out> [init name]: build a cpio "newc" initrd for the Linux guest
# e2e tests: a static busybox with its applets in /bin, and an init script (/init, or the
# given name, e.g. /urunit) that reports what the kernel handed it as `MXINIT: ...` lines
# on the console, then powers the VM off. Built at test time: no binary is committed.
#
# Report lines, in order:
#   MXINIT: argc=<n>  MXINIT: argv0=<$0>  MXINIT: argv<i>=<arg>     (i = 1..n)
#   MXINIT: env=<K=V>             one per variable of PID 1's initial environment, sorted
#   MXINIT: uid=<n> gid=<n> cwd=<dir>
#   MXINIT: cmdline=<the kernel command line>
#   MXINIT: urunit.conf=<line>    one per line of /urunit.conf, if that file exists
#   MXINIT: done
set -euo pipefail
. "$(dirname "$0")/../lib/testlib.bash"

out=${1:?usage: matrix_linux_initrd.sh <out> [init name]}
init=${2:-/init}
d=$(mktemp -d /tmp/urunc-mx-initrd.XXXXXX)
trap 'rm -rf "$d"' EXIT
tl_initrd_tree "$d"
mkdir -p "$d/root"

mkdir -p "$d$(dirname "$init")"
cat >"$d$init" <<'EOF'
#!/bin/busybox sh
# PID 1 of the guest. The kernel gives it the words after `--` as arguments and the
# unknown K=V words of its command line as environment.
bb=/bin/busybox
echo "MXINIT: argc=$#"
echo "MXINIT: argv0=$0"
i=1
for a in "$@"; do
	echo "MXINIT: argv$i=$a"
	i=$((i + 1))
done
$bb mount -t proc proc /proc
# The environment the kernel handed over, before this shell added anything.
$bb tr '\0' '\n' </proc/1/environ | $bb sort | while IFS= read -r l; do
	echo "MXINIT: env=$l"
done
echo "MXINIT: uid=$($bb id -u) gid=$($bb id -g) cwd=$(pwd)"
echo "MXINIT: cmdline=$($bb cat /proc/cmdline)"
if [ -f /urunit.conf ]; then
	while IFS= read -r l; do
		echo "MXINIT: urunit.conf=$l"
	done </urunit.conf
fi
echo "MXINIT: done"
$bb poweroff -f
EOF
chmod 0755 "$d$init"

# Sorted for a reproducible archive; every member owned by root.
(cd "$d" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$out.tmp"
mv "$out.tmp" "$out"
