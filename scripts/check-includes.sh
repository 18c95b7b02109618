#!/usr/bin/env bash
# The dependency rule of docs/design.md, checked: a file under src/<folder>/ may include
# "<other>/..." only when <other> is listed below for its folder (or is its own folder).
# Prints every include that points up and exits 1 if there is one. Run by `meson test`.
set -euo pipefail
src=${1:-"$(dirname "$0")/../src"}

declare -A allowed=(
  [base]=""
  [unikernels]="base"
  [vmm]="base unikernels"
  [rootfs]="base"
  [net]="base"
  [oci]="base unikernels vmm"
  [linux]="base oci rootfs"
  [container]="base unikernels vmm rootfs net oci linux"
  [cli]="base oci container"
  [shim]="base oci rootfs"
)

bad=0
for dir in "$src"/*/; do
  folder=$(basename "$dir")
  if [ -z "${allowed[$folder]+set}" ]; then
    echo "src/$folder/: a folder the dependency rule does not know (add it to $0 and docs/design.md)"
    bad=1
  fi
done
[ "$bad" = 0 ] || exit 1

# One pass over every include: `file:line: #include "folder/..."`.
folders=$(for f in "${!allowed[@]}"; do printf '%s=%s;' "$f" "${allowed[$f]}"; done)
grep -rn --include='*.cpp' --include='*.hpp' --include='*.h' \
    '^[[:space:]]*#[[:space:]]*include[[:space:]]*"[^/"]*/' "$src" |
  awk -v src="$src/" -v table="$folders" '
    BEGIN {
      n = split(table, rows, ";")
      for (i = 1; i <= n; i++) {
        if (rows[i] == "") continue
        split(rows[i], kv, "=")
        known[kv[1]] = 1
        m = split(kv[2], deps, " ")
        for (j = 1; j <= m; j++) ok[kv[1], deps[j]] = 1
      }
    }
    {
      path = substr($0, length(src) + 1)
      split(path, parts, ":")
      folder = parts[1]; sub(/\/.*/, "", folder)
      target = $0; sub(/^[^"]*"/, "", target); sub(/\/.*/, "", target)
      if (target == folder || !(target in known) || ok[folder, target]) next
      printf "%s:%s: src/%s may not include %s/\n", parts[1], parts[2], folder, target
      bad = 1
    }
    END { exit bad }'
