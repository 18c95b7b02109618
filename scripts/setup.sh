#!/usr/bin/env bash
# Install everything urunc and its tests need, from Debian's packages. Idempotent.
set -euo pipefail
pkgs=(
  build-essential g++ meson ninja-build pkg-config
  libmount-dev libdevmapper-dev rapidjson-dev libcli11-dev libfmt-dev catch2
  libtomlplusplus-dev libseccomp-dev libnl-3-dev libnl-route-3-dev
  gcc-multilib busybox-static e2fsprogs cpio util-linux iproute2 kmod procps curl
  qemu-system-x86 qemu-utils
  bats jq
  runc crun containerd docker.io
  hyperfine gnuplot-nox
  # tests/fixtures/blocksnap (the e2e block snapshotter): gRPC in Python, stubs from these protos
  python3-grpcio python3-grpc-tools golang-github-containerd-containerd-dev golang-github-gogo-protobuf-dev
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
