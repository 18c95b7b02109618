#!/usr/bin/env bash
# The main job: build, then boot the example unikernel bundle with `urunc run` and print
# the guest's serial output.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=../tests/lib/testlib.bash
. tests/lib/testlib.bash
scripts/build.sh >/dev/null
# The guest boots under TCG, as on the project's test machines: where /dev/kvm exists but
# is not trustworthy (nested hosts: QEMU's `-cpu host` fails there), hide it in a private
# mount namespace. URUNC_DEMO_KVM=1 keeps it.
if [ -e /dev/kvm ] && [ "${URUNC_DEMO_KVM:-0}" != 1 ] && [ -z "${URUNC_IN_NS:-}" ]; then
  exec env URUNC_IN_NS=1 "${TL_HIDE_KVM[@]}" "$0" "$@"
fi
id="urunc-demo-$$"
root=$(mktemp -d /tmp/urunc-demo-root.XXXXXX)
trap 'build/src/cli/urunc --root "$root" delete --force "$id" 2>/dev/null; rm -rf "$root"' EXIT
timeout 60 build/src/cli/urunc --root "$root" run --bundle build/example-bundle "$id"
