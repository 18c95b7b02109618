#!/usr/bin/env bash
# The main job: build, then boot the example unikernel bundle with `urunc run` and print
# the guest's serial output.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh >/dev/null
id="urunc-demo-$$"
root=$(mktemp -d /tmp/urunc-demo-root.XXXXXX)
trap 'build/src/cli/urunc --root "$root" delete --force "$id" 2>/dev/null; rm -rf "$root"' EXIT
# QEMU under TCG boots the test kernel in well under a second; the timeout is a guard.
timeout 60 build/src/cli/urunc --root "$root" run --bundle build/example-bundle "$id"
