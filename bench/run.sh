#!/usr/bin/env bash
# shellcheck disable=SC2034 # settings are read by bench/lib/*.sh
# bench/run.sh: urunc's performance, side by side with runc, crun and its own
# copy mode. Prints a table of p50/p95/max per figure and the targets with
# PASS/MISS; docs/performance.md explains every figure.
#
#   sudo bench/run.sh                  # the whole suite (2-4 min on 2 cores)
#   sudo bench/run.sh --update-docs    # ... and rewrite the results in docs/
#   sudo bench/run.sh --only cycle,fail
#
# Parts: overhead (1, 6), timestamps (1b), cycle (2), size (3, 4), conc (5),
# concblock (5b), fail (7), boot (8), memory (9: the VMM's memory overhead,
# ~2 min more; BENCH_MEM_SIZES "256 512", BENCH_MEM_RUNS 3), http (10: time to the first
# HTTP answer of a Linux guest, urunc run vs QEMU by hand; BENCH_HTTP_RUNS 5 each,
# BENCH_HTTP_POLL_MS 20, BENCH_HTTP_TIMEOUT 180 s).
# Environment: BENCH_RUNS (100), BENCH_WARMUP (10), BENCH_ROUNDS (5),
# BENCH_SIZES ("1 16 64 256" MiB), BENCH_CONC ("1 8 32 100"), BENCH_BLOCK_CONC
# (16: parallel creates with a block rootfs each), BENCH_RESULTS (where results are kept;
# default /tmp/urunc-bench-results-<time>), URUNC (the binary; default
# build/src/cli/urunc, built by scripts/build.sh).
set -euo pipefail

BENCH=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$BENCH/.." && pwd)
RUNS=${BENCH_RUNS:-100}
WARMUP=${BENCH_WARMUP:-10}
ROUNDS=${BENCH_ROUNDS:-5}
SIZES=${BENCH_SIZES:-"1 16 64 256"}
CONC=${BENCH_CONC:-"1 8 32 100"}
BLOCK_CONC=${BENCH_BLOCK_CONC:-16}
URUNC=${URUNC:-$REPO/build/src/cli/urunc}
RESULTS=${BENCH_RESULTS:-/tmp/urunc-bench-results-$(date +%Y%m%d-%H%M%S)}
ALL="overhead timestamps cycle size conc concblock fail boot memory http"
ARGS=("$@")
ONLY=$ALL
UPDATE_DOCS=0

while [ $# -gt 0 ]; do
	case $1 in
	--update-docs) UPDATE_DOCS=1 ;;
	--only)
		ONLY=${2//,/ }
		shift
		;;
	-h | --help)
		sed -n '3,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "bench/run.sh: unknown argument \`$1\` (try --help)" >&2
		exit 2
		;;
	esac
	shift
done

# shellcheck source=../tests/lib/testlib.bash
. "$REPO/tests/lib/testlib.bash"
for f in common fixtures m_overhead m_cycle m_size m_conc m_fail m_boot m_memory m_http report; do
	# shellcheck source=/dev/null
	. "$BENCH/lib/$f.sh"
done

[ "$(id -u)" = 0 ] || die "run as root (containers, mounts, loop devices)"
[ -x "$URUNC" ] || die "no urunc at \`$URUNC\`: build it with scripts/build.sh"
URUNC=$(readlink -f "$URUNC")
PATHS_ENV=${BENCH_PATHS_ENV:-$REPO/build/tests/fixtures/paths.env}
[ -f "$PATHS_ENV" ] || die "no \`$PATHS_ENV\` (the test fixtures): build with scripts/build.sh"
# shellcheck source=/dev/null
. "$PATHS_ENV"
FAKEVMM=$(readlink -f "$FAKEVMM")
for tool in cc jq runc crun unshare losetup mkfs.ext4 qemu-system-x86_64 busybox column; do
	command -v "$tool" >/dev/null || die "\`$tool\` is missing (scripts/setup.sh installs it)"
done
if ! [ "$RUNS" -ge 1 ] || ! [ "$WARMUP" -ge 0 ] || ! [ "$ROUNDS" -ge 1 ]; then
	die "bad BENCH_RUNS/WARMUP/ROUNDS"
fi
for p in $ONLY; do
	case " $ALL " in *" $p "*) ;; *) die "unknown part \`$p\` (parts: $ALL)" ;; esac
done
if [ "$UPDATE_DOCS" = 1 ] && [ "$ONLY" != "$ALL" ]; then
	die "--update-docs wants the whole suite (no --only)"
fi

# The bench runs in a private mount namespace: its mounts (state tmpfs, images,
# block rootfs, view) stay out of the host's table, and mount namespaces that
# other processes create meanwhile get no copy of the block rootfs (with a copy
# alive elsewhere, urunc rightly refuses to hand the device to a guest).
if [ -z "${URUNC_BENCH_NS:-}" ]; then
	exec unshare -m --propagation private env URUNC_BENCH_NS=1 "$0" "${ARGS[@]}"
fi

trap bench_cleanup EXIT
trap 'exit 130' INT TERM
bench_init
setup_common
export URUNC_CONFIG=$T/fake.toml
log "urunc $URUNC; fake VMM $FAKEVMM; runs $RUNS (+$WARMUP warm-up); temp $T"

for p in $ONLY; do
	case $p in
	overhead) m_overhead ;;
	timestamps) m_timestamps ;;
	cycle) m_cycle ;;
	size) m_size ;;
	conc) m_conc ;;
	concblock) m_conc_block ;;
	fail) m_fail ;;
	boot) m_boot ;;
	memory) m_memory ;;
	http) m_http ;;
	esac
done

mkdir -p "$RESULTS"
print_tables | tee "$RESULTS/results.txt"
plot_size "$RESULTS/performance-size.png"
report_markdown "performance-size.png" >"$RESULTS/results.md"
cp -r "$T/results.tsv" "$T/targets.tsv" "$T/raw" "$RESULTS/"
# What the runtimes said besides the fake VMM's records, urunc's info lines and
# the guest's output: the reason for any failed run (section 7 fails on purpose).
find "$T/out" "$T/raw" -type f \( -name '*.out' -o -name '*.err' -o -name boot.log \) ! -name 'fail-*' \
	-exec grep -H -v -e '^fakevmm: ' -e 'level=info' -e 'level=warning' -e '^URUNC-TESTKERNEL' \
	-e '^cmdline: ' -e '^disks' {} + >"$RESULTS/errors.txt" 2>/dev/null || true
[ ! -s "$RESULTS/errors.txt" ] || log "$(wc -l <"$RESULTS/errors.txt") error lines: $RESULTS/errors.txt"
[ "$UPDATE_DOCS" = 0 ] || update_docs
log "done in ${SECONDS}s; results kept in $RESULTS"
