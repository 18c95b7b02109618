#!/usr/bin/env bash
# The length rule of docs/design.md, checked: no function in src/ is longer than 80 lines,
# counted brace to brace, except the table-like argv builders listed below. Functions are
# found as clang-format lays them out: a `{` alone on its line at indent 0 (free functions)
# or 4 (class members), closed by the first `}` at the same indent. Prints each offender
# (file:line of the signature, its length) and exits 1 if there is one. MAX_LINES=<n> to
# see what is close to the limit.
set -euo pipefail
src=${1:-"$(dirname "$0")/../src"}
max=${MAX_LINES:-80}
# `file:function` pairs allowed to be longer: argv as data, one line per word group.
allowed=""

find "$src" -name '*.cpp' -o -name '*.hpp' | sort | while read -r f; do
  awk -v max="$max" -v file="${f#"$src"/}" -v allowed="$allowed" '
    { line[NR] = $0 }
    END {
      for (i = 2; i <= NR; i++) {
        if (line[i] !~ /^(    )?\{$/) continue
        ind = line[i]; sub(/\{$/, "", ind)
        prev = line[i - 1]; gsub(/^[ \t]+|[ \t]+$/, "", prev)
        if (prev ~ /^(namespace|struct|class|enum|union)([ \t]|$)/ || prev ~ /[=,;]$/) continue
        for (j = i + 1; j <= NR; j++) {
          if (index(line[j], ind "}") == 1 && substr(line[j], length(ind) + 1, 1) == "}") {
            n = j - i + 1
            if (n > max) {
              k = i - 1
              while (k > 1 && !(index(line[k], ind) == 1 && substr(line[k], length(ind) + 1, 1) ~ /[^ ]/)) k--
              sig = line[k]; gsub(/^[ \t]+/, "", sig)
              name = sig; sub(/\(.*/, "", name); sub(/.*[ *&:]/, "", name)
              if (index(" " allowed " ", " " file ":" name " ") == 0)
                printf "src/%s:%d: %s is %d lines (max %d)\n", file, k, name, n, max
            }
            break
          }
        }
      }
    }' "$f"
done | { out=$(cat); [ -z "$out" ] || { printf '%s\n' "$out"; exit 1; }; }
