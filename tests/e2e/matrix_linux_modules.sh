#!/bin/bash
# matrix_linux_modules.sh: print a directory holding the virtio network and block modules
# of the cached Debian cloud kernel (matrix_linux_kernel.sh), one `<name>.ko` per module,
# plus a file `order` naming them in the order insmod must load them. Debian's cloud kernel
# has virtio-pci, virtio-net and virtio-blk as modules (ext4 is built in) and no IP
# autoconfiguration, so a guest that wants a NIC or a disk loads them from its initrd.
#
# Cache: ${URUNC_TEST_CACHE:-/var/cache/urunc-test}/modules-<version>-netblk/, filled on first use
# from linux-image-<version> (`apt-get download`, no install). Exit status 1 with a
# one-line reason on stderr when they cannot be had.
set -euo pipefail
. "$(dirname "$0")/../lib/testlib.bash"

cache=${URUNC_TEST_CACHE:-/var/cache/urunc-test}
# The PCI transport and the NIC driver with everything they depend on; `order` is
# computed from the modules' own `depends` (modinfo), dependencies first.
mods=(virtio virtio_ring virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci
	failover net_failover virtio_net virtio_blk)

kernel=$("$(dirname "$0")/matrix_linux_kernel.sh")
ver=$(basename "$kernel")
ver=${ver#vmlinuz-}
dir=$cache/modules-$ver-netblk
if [ -s "$dir/order" ]; then
	echo "$dir"
	exit 0
fi

pkg=linux-image-$ver
tmp=$(mktemp -d "$cache/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
tl_fetch_deb "$pkg" "$tmp"
mkdir "$tmp/out"
for m in "${mods[@]}"; do
	f=$(find "$tmp/x/lib/modules/$ver/kernel" -name "$m.ko" | head -n 1)
	[ -n "$f" ] || {
		echo "matrix_linux_modules.sh: no $m.ko in $pkg" >&2
		exit 1
	}
	cp "$f" "$tmp/out/"
done
tl_module_order "$tmp/out" "${mods[@]}"
# Atomic: a concurrent run sees either no directory or a whole one.
mv "$tmp/out" "$tmp/modules-$ver"
mv -T "$tmp/modules-$ver" "$dir" 2>/dev/null || [ -s "$dir/order" ]
echo "$dir"
