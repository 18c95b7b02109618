#!/bin/bash
# matrix_linux_kernel.sh [--fetch]: print the path of a Debian cloud kernel (vmlinuz) for
# the Linux guest e2e tests. Tests call it without --fetch: it only looks in the cache and
# never touches the network. scripts/setup.sh calls it with --fetch to fill the cache.
#
# Cache: ${URUNC_TEST_CACHE:-/var/cache/urunc-test}/vmlinuz-<version>-cloud-amd64. Any
# cached cloud kernel is used as is (reruns need no network). With --fetch and an empty
# cache, the package that linux-image-cloud-amd64 depends on (linux-image-<version>-cloud-amd64)
# is fetched with `apt-get download` (no install) and only its /boot/vmlinuz-* is kept.
# Exit status 1 with a one-line reason on stderr when no kernel is there (or can be had).
set -euo pipefail
. "$(dirname "$0")/../lib/testlib.bash"

cache=${URUNC_TEST_CACHE:-/var/cache/urunc-test}

cached() {
	local k
	k=$(find "$cache" -maxdepth 1 -type f -name 'vmlinuz-*-cloud-amd64' 2>/dev/null | sort -V | tail -n 1)
	[ -n "$k" ] && [ -s "$k" ] && echo "$k"
}

if cached; then
	exit 0
fi
if [ "${1:-}" != --fetch ]; then
	echo "matrix_linux_kernel.sh: no Debian cloud kernel in $cache (scripts/setup.sh fetches it)" >&2
	exit 1
fi

[ "$(dpkg --print-architecture 2>/dev/null)" = amd64 ] || {
	echo "matrix_linux_kernel.sh: not an amd64 Debian host" >&2
	exit 1
}
pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
	awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
[ -n "$pkg" ] || {
	echo "matrix_linux_kernel.sh: apt knows no linux-image-cloud-amd64 (apt-get update?)" >&2
	exit 1
}
mkdir -p "$cache"
tmp=$(mktemp -d "$cache/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
tl_fetch_deb "$pkg" "$tmp"
src=$(find "$tmp/x/boot" -maxdepth 1 -type f -name 'vmlinuz-*' | head -n 1)
[ -n "$src" ] || {
	echo "matrix_linux_kernel.sh: no /boot/vmlinuz-* in $pkg" >&2
	exit 1
}
name=$(basename "$src")
# Atomic: a concurrent run sees either no kernel or a whole one.
cp "$src" "$tmp/$name"
mv "$tmp/$name" "$cache/$name"
echo "$cache/$name"
