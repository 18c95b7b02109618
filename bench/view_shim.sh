#!/usr/bin/env bash
# bench/view_shim.sh: urunc behind containerd 1.6 on a block snapshotter (the blocksnap
# fixture: blockfile's semantics), boot artifacts copied (urunc as the runc binary, "copy")
# vs read from the snapshot view shared by every container of the image (urunc-view-shim
# as the runc binary, "view").
#
# Per kernel size, containers of one image are started one after the other with
# `ctr run -d`, copy and view interleaved (container i of copy, then container i of view),
# and kept running (the fake VMM: create latency is the point, not guest boots; it holds
# the block rootfs like a VMM). Reported per mode, size and number n of containers:
#   * first ms: the 1st container (view: the view is made and mounted);
#   * p50 ms (2..n): the median of containers 2..n (view: the shared view is reused);
#   * max ms over 1..n;
#   * bytes/container with n containers up: what they hold in urunc's state root and their
#     bundles (both under /run in production: /run/containerd/runc, /run/containerd/io...);
#   * view only: the helper's own time as it logs it (after loading), and the part spent in
#     containerd calls (containerd + the Python fixture snapshotter).
#
#   sudo bench/view_shim.sh                         # sizes 1 16 64 256 MiB, 10 containers each,
#                                                   # and 50 at 16 MiB (~20 min on the loaded
#                                                   # 2-core development machine)
#   sudo bench/view_shim.sh --plot docs/snapshot-view-bench.png
#   BENCH_VIEW_SIZES="1 16" BENCH_VIEW_N=10 BENCH_VIEW_BIG_N=50 BENCH_VIEW_BIG_SIZE=16 \
#     BENCH_VIEW_DEADLINE=1200 sudo bench/view_shim.sh
#
# BENCH_VIEW_DEADLINE (seconds, default 1200) bounds the run: past it no container is
# started any more, what ran is reported (marked "cut") and everything is cleaned up.
# BENCH_VIEW_SHIM names another shim binary (e.g. an older build) for the view rows.
# Needs a build (scripts/build.sh: urunc, urunc-view-shim, the fixtures) and what
# tests/e2e needs (containerd, python3-grpcio, root). Not part of the test suite.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
URUNC_BUILD=${URUNC_BUILD:-$REPO/build}
SIZES=${BENCH_VIEW_SIZES:-"1 16 64 256"}
N=${BENCH_VIEW_N:-10}
BIG_N=${BENCH_VIEW_BIG_N:-50}
BIG_SIZE=${BENCH_VIEW_BIG_SIZE:-16}
DEADLINE=$((SECONDS + ${BENCH_VIEW_DEADLINE:-1200}))
PLOT=
if [ "${1:-}" = --plot ]; then
	PLOT=$(realpath -m "$2")
fi
export URUNC_BUILD

# shellcheck source=../tests/e2e/e2e_helpers.bash
. "$REPO/tests/e2e/e2e_helpers.bash"
# shellcheck source=../tests/e2e/containerd_private.bash
. "$REPO/tests/e2e/containerd_private.bash"
skip() { echo "bench/view_shim.sh: cannot run: $E2E_SKIP" >&2; exit 1; }
e2e_setup_file || skip
cpriv_need || skip
SHIM=${BENCH_VIEW_SHIM:-$URUNC_BUILD/src/shim/urunc-view-shim}
[ -x "$SHIM" ] || { echo "bench/view_shim.sh: $SHIM is not built" >&2; exit 1; }
# the fake VMM stands in for QEMU: it runs until signalled, holding the rootfs device
printf '[snapshot_view]\nviews_dir = "%s"\n[view_shim]\nurunc_path = "%s"\n[monitors.qemu]\npath = "%s"\n' \
	"$E2E_T/views" "$URUNC" "$FAKEVMM" >"$E2E_T/urunc.toml"
maxsize=$(tr ' ' '\n' <<<"$SIZES" | sort -n | tail -n1)
CPRIV_SCRATCH_SIZE=$((maxsize + 64))M
CPRIV_ENV="URUNC_CONFIG=$E2E_T/urunc.toml"
export CPRIV_SCRATCH_SIZE CPRIV_ENV
RAW=$E2E_T/raw
trap 'remove_all; cpriv_stop; e2e_rm_tmp' EXIT
cpriv_start >/dev/null
mkdir -p "$RAW"
cut=

now_ms() { date +%s%3N; }

ids=()
remove_all() {
	local id
	for id in "${ids[@]}"; do
		cpriv_ctr tasks kill -s KILL "$id" >/dev/null 2>&1 || true
		cpriv_ctr tasks delete -f "$id" >/dev/null 2>&1 || true
		cpriv_ctr containers delete "$id" >/dev/null 2>&1 || true
	done
	ids=()
}

# bytes <mode> <size> <n>: what containers 1..n of that mode hold in urunc's state root and
# their bundles (-x: not the view or rootfs mounts).
bytes() {
	local i d total=0 b
	for ((i = 1; i <= $3; i++)); do
		for d in "$CPRIV_RUNC_ROOT/$CPRIV_NS/$1$2-$i" "$CPRIV_DIR/state/io.containerd.runtime.v2.task/$CPRIV_NS/$1$2-$i"; do
			b=$(du -sbx "$d" 2>/dev/null | cut -f1)
			total=$((total + ${b:-0}))
		done
	done
	echo $((total / $3))
}

# shim_ms <size> <i>: "<helper ms> <containerd calls ms>" from the view container's log.
shim_ms() {
	sed -n 's/.*snapshot view .* \([0-9]*\) ms, [0-9]* containerd calls \([0-9]*\) ms).*/\1 \2/p' \
		"$CPRIV_DIR/state/io.containerd.runtime.v2.task/$CPRIV_NS/view$1-$2/log.json" 2>/dev/null | head -n1
}

# median of the numbers on stdin ("-" when none)
median() { sort -n | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)]; else print "-" }'; }

# one_size <size> <n> <counts...>: n containers per mode, rows for each count.
one_size() {
	local size=$1 n=$2 i mode t0 t1 k
	shift 2
	local counts=("$@")
	cp "$TESTKERNEL" "$E2E_T/kernel"
	head -c $((size * 1024 * 1024)) /dev/zero | tr '\0' U >>"$E2E_T/kernel"
	CPRIV_IMAGE=localhost/bench-view-$size:$E2E_SFX
	export CPRIV_IMAGE
	CPRIV_KERNEL=$E2E_T/kernel cpriv_import_unikernel_image "$CPRIV_IMAGE"
	: >"$RAW/ms-$size"
	for ((i = 1; i <= n; i++)); do
		if ((SECONDS > DEADLINE)); then
			cut=" (cut at the deadline)"
			n=$((i - 1))
			break
		fi
		for mode in copy view; do
			bin=$URUNC
			[ "$mode" = copy ] || bin=$SHIM
			ids+=("$mode$size-$i")
			t0=$(now_ms)
			CPRIV_RUNC_BINARY=$bin cpriv_run -d --log-uri="file:///dev/null" "$mode$size-$i" >/dev/null
			t1=$(now_ms)
			echo "$mode $i $((t1 - t0))" >>"$RAW/ms-$size"
		done
		for k in "${counts[@]}"; do
			[ "$k" = "$i" ] || continue
			for mode in copy view; do
				echo "$mode $k $(bytes "$mode" "$size" "$k")" >>"$RAW/bytes-$size"
			done
		done
	done
	for k in "${counts[@]}"; do
		((k <= n)) || continue
		for mode in copy view; do
			local first p50 max b shim="- -" reuse="- -"
			first=$(awk -v m=$mode '$1 == m && $2 == 1 { print $3 }' "$RAW/ms-$size")
			p50=$(awk -v m=$mode -v k="$k" '$1 == m && $2 > 1 && $2 <= k { print $3 }' "$RAW/ms-$size" | median)
			max=$(awk -v m=$mode -v k="$k" '$1 == m && $2 <= k { print $3 }' "$RAW/ms-$size" | sort -n | tail -n1)
			b=$(awk -v m=$mode -v k="$k" '$1 == m && $2 == k { print $3 }' "$RAW/bytes-$size")
			if [ "$mode" = view ]; then
				shim=$(shim_ms "$size" 1)
				reuse="$(for ((i = 2; i <= k; i++)); do shim_ms "$size" "$i" | cut -d' ' -f1; done | median) $(
					for ((i = 2; i <= k; i++)); do shim_ms "$size" "$i" | cut -d' ' -f2; done | median)"
			fi
			printf '%-5s %7s %4s %9s %11s %8s %16s %14s %12s\n' "$mode" "${size}MiB" "$k" "$first" "$p50" "$max" "$b" \
				"${shim:-- -}" "${reuse:-- -}" | tee -a "$RAW/table"
			echo "$mode $size $k $first $p50 $max $b" >>"$RAW/rows.dat"
		done
	done
	remove_all
}

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-5s %7s %4s %9s %11s %8s %16s %14s %12s\n' mode kernel n "first ms" "p50 2..n ms" "max ms" \
	"bytes/container" "shim 1st ms*" "shim 2..n ms"
for size in $SIZES; do
	if [ "$size" = "$BIG_SIZE" ] && ((BIG_N > N)); then
		one_size "$size" "$BIG_N" 1 "$N" "$BIG_N"
	else
		one_size "$size" "$N" 1 "$N"
	fi
done
echo "# *the helper's own time after loading, then the part of it in containerd calls"
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg); ${SECONDS} s$cut"

if [ -n "$PLOT" ]; then
	if ! command -v gnuplot >/dev/null; then
		echo "gnuplot missing (apt-get install gnuplot-nox): no plot" >&2
		exit 0
	fi
	for mode in copy view; do
		awk -v m=$mode -v n="$N" '$1 == m && $3 == n { print $2, $5, $7 }' "$RAW/rows.dat" | sort -n >"$RAW/plot-$mode.dat"
	done
	gnuplot <<EOF
set terminal png size 1000,420
set output '$PLOT'
set multiplot layout 1,2 title "urunc under containerd 1.6 (blocksnap fixture), $N containers of one image, one after the other"
set xlabel 'kernel size (MiB)'
set logscale x 2
set xrange [0.7:370]
set grid
set key top left
set ylabel 'ctr run -d, containers 2..$N (p50 ms)'
set yrange [0:*]
plot '$RAW/plot-copy.dat' using 1:2 with linespoints lw 2 title 'copy (urunc)', \
     '$RAW/plot-view.dat' using 1:2 with linespoints lw 2 title 'shared view (urunc-view-shim)'
set ylabel 'bytes per container under /run'
set logscale y 10
set yrange [1000:*]
plot '$RAW/plot-copy.dat' using 1:3 with linespoints lw 2 title 'copy (urunc)', \
     '$RAW/plot-view.dat' using 1:3 with linespoints lw 2 title 'shared view (urunc-view-shim)'
unset multiplot
EOF
	echo "plot: $PLOT"
fi
