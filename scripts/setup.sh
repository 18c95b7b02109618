#!/usr/bin/env bash
# Install everything urunc and its tests need, from Debian's packages. Idempotent.
set -euo pipefail
pkgs=(
  build-essential g++ meson ninja-build pkg-config
  # lld: the urunc binary's link puts its hot code first (src/cli/meson.build)
  lld
  libmount-dev libdevmapper-dev rapidjson-dev libcli11-dev libfmt-dev catch2
  libtomlplusplus-dev libseccomp-dev libnl-3-dev libnl-route-3-dev
  # urunc-view-shim: gRPC/protobuf (stubs generated from containerd's packaged protos), libmd
  libgrpc++-dev protobuf-compiler-grpc protobuf-compiler libprotobuf-dev libssl-dev libmd-dev
  golang-github-containerd-containerd-dev golang-github-gogo-protobuf-dev
  gcc-multilib busybox-static e2fsprogs cpio util-linux iproute2 kmod procps curl
  qemu-system-x86 qemu-utils
  bats jq strace
  runc crun containerd docker.io
  # the client e2e tests with a network: ctr run --cni and podman (CNI backend, conmon)
  podman conmon containernetworking-plugins
  hyperfine gnuplot-nox
  # tests/fixtures/blocksnap (the e2e block snapshotter): gRPC in Python, stubs from these protos
  python3-grpcio python3-grpc-tools
  # scripts/fuzz.sh: libFuzzer targets
  clang libclang-rt-14-dev llvm
  # scripts/check-format.sh: the house format, checked by the unit test [layout]
  clang-format-14
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The Debian cloud kernel the Linux-guest e2e tests boot (cached; tests never download).
"$(dirname "$0")/../tests/e2e/matrix_linux_kernel.sh" --fetch >/dev/null
# and its virtio network modules, for the network guest's initrd (cached the same way)
"$(dirname "$0")/../tests/e2e/matrix_linux_modules.sh" >/dev/null
# Debian's generic kernel and its 9p/virtiofs/virtio-pci modules, for the shared-rootfs
# guests (tests/e2e/shared_rootfs.bats): the cloud kernel has no 9p.
"$(dirname "$0")/../tests/e2e/matrix_linux_generic.sh" --fetch >/dev/null
