#!/usr/bin/env bash
# Configure (once) and build into build/. Warnings are errors (as in CI).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f build/build.ninja ]; then
  meson setup build -Dwerror=true >/dev/null
fi
ninja -C build
