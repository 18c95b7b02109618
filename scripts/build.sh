#!/usr/bin/env bash
# Configure (once) and build into build/. Warnings are errors (as in CI).
set -euo pipefail
cd "$(dirname "$0")/.."
# build/ is the test build: -Dtest_seams=true compiles in the URUNC_TEST_* seams the tests
# use (see meson_options.txt); a release build leaves them out.
if [ ! -f build/build.ninja ]; then
  meson setup build -Dwerror=true -Dtest_seams=true >/dev/null
elif ! meson introspect --buildoptions build | jq -e '.[] | select(.name == "test_seams") | .value' >/dev/null; then
  meson setup --reconfigure build -Dtest_seams=true >/dev/null
fi
ninja -C build
