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
  [linux]="base oci"
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
    continue
  fi
  while IFS= read -r hit; do
    file=${hit%%:*}
    rest=${hit#*:}
    line=${rest%%:*}
    target=$(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^/"]*\)\/.*/\1/p' <<<"${rest#*:}")
    [ -n "$target" ] || continue
    [ "$target" = "$folder" ] && continue
    [ -d "$src/$target" ] || continue  # not one of ours (e.g. a generated header)
    if [[ " ${allowed[$folder]} " != *" $target "* ]]; then
      echo "${file#"$src"/}:$line: src/$folder may not include $target/ (allowed: ${allowed[$folder]:-nothing})"
      bad=1
    fi
  done < <(grep -rn --include='*.cpp' --include='*.hpp' --include='*.h' '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$dir" || true)
done
exit "$bad"
