#!/bin/bash
# matrix_linux_generic.sh [--fetch]: print a directory holding Debian's *generic* amd64
# kernel (`vmlinuz`) and the modules a guest needs to mount its root over 9p or virtiofs
# (one `<name>.ko` per module, plus `order`: their names in the order insmod must load
# them, dependencies first). Tests call it without --fetch: it only looks in the cache and
# never touches the network. scripts/setup.sh calls it with --fetch to fill the cache.
#
# Why not the cloud kernel of matrix_linux_kernel.sh: it has no 9p at all (CONFIG_NET_9P is
# not set). The generic kernel (linux-image-<version>-amd64, what linux-image-amd64 depends
# on) has 9p, 9pnet_virtio, virtiofs, fuse and virtio-pci as modules, so the guest's initrd
# loads them before it mounts the share (as a distro initramfs does).
#
# Cache: ${URUNC_TEST_CACHE:-/var/cache/urunc-test}/generic-<version>/, fetched with
# `apt-get download` (no install) and extracted with dpkg -x; only vmlinuz and the modules
# below are kept. Exit status 1 with a one-line reason on stderr when it cannot be had.
set -euo pipefail
. "$(dirname "$0")/../lib/testlib.bash"

cache=${URUNC_TEST_CACHE:-/var/cache/urunc-test}
# What the guest asks for; their dependencies are added from the modules' own `depends`.
want=(virtio_pci 9p 9pnet_virtio virtiofs)

cached() {
	local d
	d=$(find "$cache" -maxdepth 1 -type d -name 'generic-*-amd64' 2>/dev/null | sort -V | tail -n 1)
	[ -n "$d" ] && [ -s "$d/order" ] && [ -s "$d/vmlinuz" ] && echo "$d"
}

if cached; then
	exit 0
fi
if [ "${1:-}" != --fetch ]; then
	echo "matrix_linux_generic.sh: no Debian generic kernel in $cache (scripts/setup.sh fetches it)" >&2
	exit 1
fi

[ "$(dpkg --print-architecture 2>/dev/null)" = amd64 ] || {
	echo "matrix_linux_generic.sh: not an amd64 Debian host" >&2
	exit 1
}
pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
	awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
[ -n "$pkg" ] || {
	echo "matrix_linux_generic.sh: apt knows no linux-image-amd64 (apt-get update?)" >&2
	exit 1
}
ver=${pkg#linux-image-}
mkdir -p "$cache"
tmp=$(mktemp -d "$cache/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
tl_fetch_deb "$pkg" "$tmp"
mods=$tmp/x/lib/modules/$ver
[ -f "$tmp/x/boot/vmlinuz-$ver" ] || {
	echo "matrix_linux_generic.sh: no /boot/vmlinuz-$ver in $pkg" >&2
	exit 1
}
mkdir "$tmp/out"
cp "$tmp/x/boot/vmlinuz-$ver" "$tmp/out/vmlinuz"

# Module name -> file (names use `_` where file names may use `-`).
modfile() {
	find "$mods/kernel" -name "$1.ko" -o -name "$(echo "$1" | tr _ -).ko" | head -n 1
}
builtin() {
	grep -q "/$1.ko\$\|/$(echo "$1" | tr _ -).ko\$" "$mods/modules.builtin" 2>/dev/null
}
# Closure over `depends`, then dependencies first.
all=()
queue=("${want[@]}")
while [ ${#queue[@]} -gt 0 ]; do
	m=${queue[0]}
	queue=("${queue[@]:1}")
	case " ${all[*]} " in *" $m "*) continue ;; esac
	f=$(modfile "$m")
	if [ -z "$f" ]; then
		builtin "$m" && continue
		echo "matrix_linux_generic.sh: no $m.ko in $pkg" >&2
		exit 1
	fi
	cp "$f" "$tmp/out/$m.ko"
	all+=("$m")
	for dep in $(modinfo -F depends "$f" | tr ',' ' '); do
		queue+=("$dep")
	done
done
tl_module_order "$tmp/out" "${all[@]}"
dir=$cache/generic-$ver
# Atomic: a concurrent run sees either no directory or a whole one.
mv -T "$tmp/out" "$dir" 2>/dev/null || [ -s "$dir/order" ]
echo "$dir"
