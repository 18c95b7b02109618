#!/usr/bin/env bash
# The main job: build, then boot the example unikernel bundle with `urunc run` and print
# the guest's serial output.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=../tests/lib/testlib.bash
. tests/lib/testlib.bash
scripts/build.sh >/dev/null
# urunc uses KVM when its probe can run a guest there, TCG otherwise (one log line says so).
id="urunc-demo-$$"
root=$(mktemp -d /tmp/urunc-demo-root.XXXXXX)
trap 'build/src/cli/urunc --root "$root" delete --force "$id" 2>/dev/null; rm -rf "$root"' EXIT
timeout 60 build/src/cli/urunc --root "$root" run --bundle build/example-bundle "$id"
