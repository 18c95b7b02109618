#!/usr/bin/env bash
# bench/view_shim.sh: urunc behind containerd 1.6 on a block snapshotter (the blocksnap
# fixture: blockfile's semantics), boot artifacts copied (urunc as the runc binary) vs read
# from the shared snapshot view (urunc-view-shim as the runc binary).
# Per kernel size and per number of containers of one image, started one after the other
# with `ctr run -d` (real QEMU under TCG; the test kernel exits at once):
#   * create latency: wall time of each `ctr run -d` (client, containerd, runc v2 shim,
#     runtime create and start), median and max;
#   * bytes per container in urunc's state root (where the copy goes; /run/containerd/runc
#     in production, a tmpfs) while the containers exist.
#
#   sudo bench/view_shim.sh                  # sizes "1 16" MiB, counts "1 10"
#   BENCH_VIEW_SIZES="1 16 64 256" BENCH_VIEW_COUNTS="1 10 50" sudo bench/view_shim.sh
#
# Needs a build (scripts/build.sh) with tests (the fixtures) and what tests/e2e needs.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
URUNC_BUILD=${URUNC_BUILD:-$REPO/build}
SIZES=${BENCH_VIEW_SIZES:-"1 16"}
COUNTS=${BENCH_VIEW_COUNTS:-"1 10"}
export URUNC_BUILD

# shellcheck source=../tests/e2e/e2e_helpers.bash
. "$REPO/tests/e2e/e2e_helpers.bash"
# shellcheck source=../tests/e2e/containerd_private.bash
. "$REPO/tests/e2e/containerd_private.bash"
skip() { echo "bench/view_shim.sh: cannot run: $E2E_SKIP" >&2; exit 1; }
e2e_setup_file || skip
cpriv_need || skip
SHIM=$URUNC_BUILD/src/shim/urunc-view-shim
printf '[snapshot_view]\nviews_dir = "%s"\n[view_shim]\nurunc_path = "%s"\n' "$E2E_T/views" "$URUNC" \
	>"$E2E_T/urunc.toml"
maxsize=$(tr ' ' '\n' <<<"$SIZES" | sort -n | tail -n1)
CPRIV_SCRATCH_SIZE=$((maxsize + 64))M
CPRIV_ENV="URUNC_CONFIG=$E2E_T/urunc.toml"
export CPRIV_SCRATCH_SIZE CPRIV_ENV
trap 'cpriv_stop; e2e_rm_tmp' EXIT
cpriv_start >/dev/null

now_ms() { date +%s%3N; }

# one_round <mode> <binary> <size> <count>: prints "mode size count p50_ms max_ms bytes_per_container"
one_round() {
	local mode=$1 bin=$2 size=$3 count=$4 i t0 t1 times=() bytes
	for ((i = 1; i <= count; i++)); do
		t0=$(now_ms)
		CPRIV_RUNC_BINARY=$bin cpriv_run -d --log-uri="file://$E2E_T/out" "b$mode$size-$i" >/dev/null
		t1=$(now_ms)
		times+=($((t1 - t0)))
	done
	bytes=$(du -sb "$CPRIV_RUNC_ROOT" | cut -f1)
	for ((i = 1; i <= count; i++)); do
		cpriv_ctr tasks kill -s KILL "b$mode$size-$i" >/dev/null 2>&1 || true
		cpriv_ctr tasks delete -f "b$mode$size-$i" >/dev/null 2>&1 || true
		cpriv_ctr containers delete "b$mode$size-$i" >/dev/null
	done
	printf '%s %s %s %s\n' "$mode" "$size" "$count" "$(printf '%s\n' "${times[@]}" | sort -n |
		awk -v b="$bytes" -v n="$count" '{ a[NR] = $1 } END { printf "%d %d %d", a[int((NR + 1) / 2)], a[NR], b / n }')"
}

printf '%-5s %8s %6s %12s %12s %16s\n' mode kernel count "p50 ms" "max ms" "bytes/container"
for size in $SIZES; do
	cp "$TESTKERNEL" "$E2E_T/kernel"
	head -c $((size * 1024 * 1024)) /dev/zero | tr '\0' U >>"$E2E_T/kernel"
	CPRIV_IMAGE=localhost/bench-view-$size:$E2E_SFX
	export CPRIV_IMAGE
	CPRIV_KERNEL=$E2E_T/kernel cpriv_import_unikernel_image "$CPRIV_IMAGE"
	for count in $COUNTS; do
		for mode in copy view; do
			bin=$URUNC
			[ "$mode" = copy ] || bin=$SHIM
			one_round "$mode" "$bin" "$size" "$count" |
				awk '{ printf "%-5s %6sMiB %6s %12s %12s %16s\n", $1, $2, $3, $4, $5, $6 }'
		done
	done
done
