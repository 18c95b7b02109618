#!/usr/bin/env bash
# scripts/hot-functions.sh: regenerate src/cli/hot-functions.txt, the order in which the
# urunc binary's link lays out the functions its commands run (src/cli/meson.build).
# A stale list is harmless (missing names are ignored, new code lands after the hot part);
# rerun it after large changes to the verbs' paths. Root, ~10 minutes on 2 cores.
#
#  1. A profiling build (-finstrument-functions, scripts/hot-functions/enter_hook.c) runs
#     the workload: every function it enters, in first-entry order, by name.
#  2. The real build, linked with that list, runs the workload under
#     `perf record -e page-faults`: functions of code pages still faulted in (libc,
#     libstdc++, libnl: not instrumented) are appended; relink; until a pass adds none.
# The workload: create, state, start, state, kill, delete and run of a unikernel bundle
# with the fake VMM (what bench/ and every client do most).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
ORDER=$REPO/src/cli/hot-functions.txt
W=$(mktemp -d /tmp/urunc-hot.XXXXXX)
cleanup() {
	for id in $(ls "$W/root" 2>/dev/null); do "${URUNC:-true}" --root "$W/root" delete -f "$id" 2>/dev/null || true; done
	umount "$W/root" 2>/dev/null || true
	rm -rf "$W"
}
trap cleanup EXIT

# workload <urunc>: the verbs, twice
workload() {
	local u=$1 r=(--root "$W/root") i
	for i in 1 2; do
		"$u" "${r[@]}" create --bundle "$W/b" "h$i" >/dev/null 2>&1
		"$u" "${r[@]}" state "h$i" >/dev/null
		"$u" "${r[@]}" start "h$i"
		"$u" "${r[@]}" state "h$i" >/dev/null
		"$u" "${r[@]}" kill "h$i" KILL
		"$u" "${r[@]}" delete -f "h$i"
		"$u" "${r[@]}" run --bundle "$W/b-exit" "r$i" >/dev/null 2>&1
	done
}

mkdir -p "$W/root"
mount -t tmpfs -o mode=0700 tmpfs "$W/root"
ninja -C "$REPO/build" tests/fixtures/fakevmm/fakevmm tests/fixtures/testkernel/testkernel.elf >/dev/null
"$REPO/tests/fixtures/make-bundle.sh" "$W/b" "$REPO/build/tests/fixtures/testkernel/testkernel.elf" >/dev/null
# run's VMM exits at once (the fake VMM reads what to do from the guest's command line)
"$REPO/tests/fixtures/make-bundle.sh" "$W/b-exit" "$REPO/build/tests/fixtures/testkernel/testkernel.elf" >/dev/null
jq '.process.args = ["fakevmm:exit=0"]' "$W/b-exit/config.json" >"$W/c" && mv "$W/c" "$W/b-exit/config.json"
printf '[monitors.qemu]\npath = "%s"\n' "$REPO/build/tests/fixtures/fakevmm/fakevmm" >"$W/host.toml"
export URUNC_CONFIG=$W/host.toml

# 1. the profiling build
cc -O2 -fPIE -c -o "$W/enter_hook.o" "$REPO/scripts/hot-functions/enter_hook.c"
meson setup "$W/prof" "$REPO" -Dtest_seams=true -Dcpp_args=-finstrument-functions \
	-Dc_args=-finstrument-functions -Dcpp_link_args="$W/enter_hook.o" >/dev/null
ninja -C "$W/prof" src/cli/urunc >/dev/null
URUNC=$W/prof/src/cli/urunc
HOT_FUNCTIONS_LOG=$W/entered.log workload "$URUNC"
nm --defined-only "$URUNC" | awk '$2 ~ /^[tTwW]$/ { print $1, $3 }' >"$W/syms"
{
	echo urunc_hot_text_begin
	# prefault_image's own path first: it runs before the rest is mapped
	printf '%s\n' _ZL13map_hot_pagesv _ZN5urunc4base14prefault_imageEb \
		_ZN5urunc4base12_GLOBAL__N_18populateEmmi madvise __madvise sbrk __sbrk \
		mallinfo2 __libc_mallinfo2
	python3 - "$W/syms" "$W/entered.log" <<'PY'
import sys
names = {}
for line in open(sys.argv[1]):
    a, n = line.split()
    names.setdefault(int(a, 16), []).append(n)
seen = set()
for line in open(sys.argv[2]):
    for n in names.get(int(line, 16), []):
        if n not in seen:
            seen.add(n)
            print(n)
PY
	echo urunc_hot_text_end
} >"$ORDER"

# 2. the real build, until no code page outside the list faults
URUNC=$REPO/build/src/cli/urunc
for pass in $(seq 1 30); do
	ninja -C "$REPO/build" src/cli/urunc >/dev/null
	perf record -q -e page-faults -c 1 -d -o "$W/perf.data" -- bash -c "$(declare -f workload); W=$W; workload $URUNC" 2>/dev/null
	python3 "$REPO/scripts/hot-functions/fault_symbols.py" "$URUNC" "$W/perf.data" "$ORDER" >"$W/new"
	n=$(grep -c . "$W/new" || true)
	echo "pass $pass: $n function(s) added"
	[ "$n" -gt 0 ] || break
	grep -v '^urunc_hot_text_end$' "$ORDER" >"$W/o" || true
	{ cat "$W/o" "$W/new"; echo urunc_hot_text_end; } >"$ORDER"
done
ninja -C "$REPO/build" src/cli/urunc >/dev/null
echo "$(wc -l <"$ORDER") functions in $ORDER"
