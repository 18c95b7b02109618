#!/usr/bin/env bash
# The house format (.clang-format) holds for every C++ file in git: prints the files that
# clang-format would change and exits 1 if there is one. The C fixtures (test kernel, fake
# VMMs) keep their own style and are not checked. Run by the unit test [layout].
set -euo pipefail
cd "${1:-$(dirname "$0")/..}"
cf=$(command -v clang-format-14 || command -v clang-format || true)
if [ -z "$cf" ]; then
  echo "clang-format is not installed (scripts/setup.sh installs clang-format-14)"
  exit 1
fi
bad=$(git ls-files -z '*.cpp' '*.hpp' | xargs -0 "$cf" --dry-run 2>&1 |
  grep 'warning: code should be clang-formatted' | cut -d: -f1 | sort -u || true)
if [ -n "$bad" ]; then
  echo "not in the house format (run: $cf -i <file>):"
  echo "$bad" | sed 's/^/  /'
  exit 1
fi
