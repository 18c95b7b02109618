# shellcheck shell=bash disable=SC2034 # LOAD_START is read by fixtures.sh
# Shared state and helpers of bench/run.sh (sourced, not run).
#
# Everything the bench creates is registered here the moment it exists, and
# bench_cleanup (installed as the EXIT trap by run.sh) removes it in reverse
# order: containers of every state root, mounts, loop devices, cgroups named
# with our prefix, then the temp dir.  Names carry PREFIX (pid + random), so
# two benches, or a bench and the project's tests, never touch each other's.

PREFIX="ub$$r$RANDOM"
CLEAN_ROOTS=()   # "runtime root" pairs: containers to force-delete
CLEAN_MOUNTS=()  # mountpoints, unmounted last-first
CLEAN_LOOPS=()   # loop devices to detach
T=""             # temp dir (set by bench_init)

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

bench_init() {
	T=$(mktemp -d /tmp/urunc-bench.XXXXXX)
	mkdir -p "$T/raw" "$T/out"
	: >"$T/results.tsv"
	: >"$T/targets.tsv"
	LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
}

# crun 1.8.1 refuses this host's hybrid cgroup layout (v1 controllers plus a v2
# hierarchy at /sys/fs/cgroup/unified): it runs under this prefix, in a private mount
# namespace with the unified hierarchy unmounted, i.e. as on a pure v1 host. An argv,
# so that steprun can run it as a step.
CRUN_NS=(unshare -m --propagation private sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null; exec "$@"' sh)

register_root() { CLEAN_ROOTS+=("$1 $2"); }
register_mount() { CLEAN_MOUNTS+=("$1"); }
register_loop() { CLEAN_LOOPS+=("$1"); }

bench_cleanup() {
	local rc=$? pair rt root id i
	trap - EXIT INT TERM
	set +e
	[ -n "$T" ] || return $rc
	log "cleaning up"
	for pair in "${CLEAN_ROOTS[@]}"; do
		rt=${pair%% *}
		root=${pair#* }
		[ -d "$root" ] || continue
		for id in "$root/$PREFIX"*; do
			[ -e "$id" ] || continue
			id=${id##*/}
			if [ "$rt" = crun ]; then
				"${CRUN_NS[@]}" crun --root "$root" delete --force "$id" >/dev/null 2>&1 || true
			else
				"$rt" --root "$root" delete --force "$id" >/dev/null 2>&1 || true
			fi
		done
	done
	# Any process still in one of our cgroups (a container whose delete failed).
	for i in $(grep -l "/$PREFIX" /proc/[0-9]*/cgroup 2>/dev/null | cut -d/ -f3); do
		kill -9 "$i" 2>/dev/null || true
	done
	for ((i = ${#CLEAN_MOUNTS[@]} - 1; i >= 0; i--)); do
		while mountpoint -q "${CLEAN_MOUNTS[$i]}" 2>/dev/null; do
			umount "${CLEAN_MOUNTS[$i]}" 2>/dev/null || umount -l "${CLEAN_MOUNTS[$i]}" || break
		done
	done
	for i in "${CLEAN_LOOPS[@]}"; do
		losetup -d "$i" 2>/dev/null || true
	done
	# Deepest first, so parents are empty when their turn comes.
	tl_cgroup_find -depth -type d -name "$PREFIX*" -exec rmdir {} + 2>/dev/null || true
	rm -rf "$T"
	return $rc
}

# ---- numbers -----------------------------------------------------------------

# stdin: one number per line -> "n p50 p95 max" (nearest-rank percentiles).
stats() {
	sort -g | awk '{ v[NR] = $1 }
	function rank(q,  i) { i = int(q * NR); if (i < q * NR) i++; if (i < 1) i = 1; return v[i] }
	END { if (NR == 0) { print "0 - - -"; exit }
	      printf "%d %.3f %.3f %.3f\n", NR, rank(0.50), rank(0.95), v[NR] }'
}

# Fields of steprun's R lines: 2 iter, 3 step, 4 start, 5 dur, 6 status, 7 rss.
# step_ms FILE STEP [FIRST_ITER]: durations (ms) of one step, successful runs only.
step_ms() {
	awk -v s="$2" -v w="${3:-0}" '$1 == "R" && $3 == s && $2 >= w && $6 == 0 { print $5 / 1e6 }' "$1"
}

# span_ms FILE FROM TO [FIRST_ITER]: start of step FROM to end of step TO, per
# iteration, only where every step in between succeeded.
span_ms() {
	awk -v a="$2" -v b="$3" -v w="${4:-0}" '$1 == "R" && $2 >= w && $3 >= a && $3 <= b {
		if ($3 == a) t0[$2] = $4
		if ($3 == b) t1[$2] = $4 + $5
		if ($6 != 0) bad[$2] = 1 }
	END { for (i in t1) if ((i in t0) && !(i in bad)) print (t1[i] - t0[i]) / 1e6 }' "$1"
}

# paired_ms FILE STEP_A STEP_B [FIRST_ITER]: per iteration, step A's duration minus
# step B's (ms) where both succeeded. Interleaved steps share the machine's moment, so
# the spread of what both contain (a guest's boot under TCG) drops out of each pair.
paired_ms() {
	awk -v a="$2" -v b="$3" -v w="${4:-0}" '$1 == "R" && $2 >= w && $6 == 0 {
		if ($3 == a) x[$2] = $5
		if ($3 == b) y[$2] = $5 }
	END { for (i in x) if (i in y) print (x[i] - y[i]) / 1e6 }' "$1"
}

# median_ci < numbers: "MEDIAN LO HI", the median and its distribution-free 95%
# confidence interval (the order statistics n/2 - 0.98 sqrt(n) and n/2 + 1 + 0.98
# sqrt(n), as the sign test gives them); "- - -" under 6 numbers.
median_ci() {
	sort -g | awk '{ v[NR] = $1 }
	END { n = NR
	      if (n < 6) { print "- - -"; exit }
	      m = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
	      h = 0.98 * sqrt(n); lo = int(n / 2 - h); hi = int(n / 2 + 1 + h)
	      if (hi < n / 2 + 1 + h) hi++
	      if (lo < 1) lo = 1
	      if (hi > n) hi = n
	      printf "%.2f %.2f %.2f\n", m, v[lo], v[hi] }'
}

# failures FILE STEP... : how many iterations had a non-zero status in those steps.
failures() {
	local f=$1
	shift
	awk -v steps=" $* " '$1 == "R" && index(steps, " " $3 " ") && $6 != 0 { bad[$2] = 1 }
	END { n = 0; for (i in bad) n++; print n }' "$f"
}

# vmm_overhead_ms RAWFILE OUTDIR FIRST_ITER [STEP]: fake VMM entry (its
# start_mono_ns, read from OUTDIR/<iter>.out) minus the instant steprun spawned
# `create` (step STEP, default 0).
vmm_overhead_ms() {
	local raw=$1 dir=$2 w=$3 s=${4:-0}
	{
		grep -H '^fakevmm: start_mono_ns=' "$dir"/*.out 2>/dev/null |
			sed -E 's|.*/([0-9]+)\.out:fakevmm: start_mono_ns=([0-9]+)|V \1 \2|'
		cat "$raw"
	} | awk -v w="$w" -v s="$s" '$1 == "V" { v[$2] = $3 }
		$1 == "R" && $3 == s && $6 == 0 && $2 >= w { t0[$2] = $4 }
		END { for (i in t0) if (i in v) print (v[i] - t0[i]) / 1e6 }'
}

# result SECTION LABEL UNIT NOTE < numbers : one row of results.tsv.
result() {
	local s
	s=$(stats)
	printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$(tr ' ' '\t' <<<"$s")" "$3" "$4" >>"$T/results.tsv"
}

# result_value SECTION LABEL VALUE UNIT NOTE: a single measured value.
result_value() {
	printf '%s\t%s\t1\t%s\t-\t-\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" >>"$T/results.tsv"
}

# p50_of SECTION LABEL: the p50 column of a recorded row.
p50_of() {
	awk -F'\t' -v s="$1" -v l="$2" '$1 == s && $2 == l { print $4; exit }' "$T/results.tsv"
}
col_of() {
	awk -F'\t' -v s="$1" -v l="$2" -v c="$3" '$1 == s && $2 == l { print $c; exit }' "$T/results.tsv"
}

# target NAME MEASURED LIMIT OK(0/1 expression result)
target() {
	local verdict=MISS
	[ "$4" = 1 ] && verdict=PASS
	printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$verdict" >>"$T/targets.tsv"
}

# fcmp "A <= B" with floats; prints 1 or 0 ("-" operands give 0).
fcmp() { awk -v a="$1" -v op="$2" -v b="$3" 'BEGIN {
	if (a == "-" || b == "-" || a == "" || b == "") { print 0; exit }
	if (op == "<=") print (a + 0 <= b + 0) ? 1 : 0
	else if (op == "==") print (a + 0 == b + 0) ? 1 : 0
	else print 0 }'; }
# ratio A B -> A/B, scale A K -> A*K; "-" when an operand is missing.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || a == "" || b == "-" || b + 0 == 0) print "-"; else printf "%.3f", a / b }'; }
scale() { awk -v a="$1" -v k="$2" 'BEGIN { if (a == "-" || a == "") print "-"; else printf "%.3f", a * k }'; }

# ---- leftovers ---------------------------------------------------------------

# leftovers ROOT IDPATTERN : "mounts loops statedirs cgroups procs" still there.
# mounts: host mount table lines naming the state root or the ids; loops: loop
# devices whose backing file is not one the bench attached; cgroups: dirs named
# like the ids; procs: processes in such a cgroup or running urunc on ROOT.
leftovers() {
	local root=$1 pat=$2 mounts loops dirs cgs procs known
	mounts=$(awk -v r="$root/" -v p="$pat" 'index($5, r) == 1 || $5 ~ p' /proc/self/mountinfo | wc -l)
	known=$(printf '%s\n' "${CLEAN_LOOPS[@]}" | grep -c . || true)
	loops=$(losetup -a 2>/dev/null | grep -c "$T/" || true)
	loops=$((loops > known ? loops - known : 0))
	dirs=$(find "$root" -mindepth 1 -maxdepth 1 -regex ".*/$pat" 2>/dev/null | wc -l)
	cgs=$(tl_cgroup_find -type d -regex ".*/$pat" 2>/dev/null | wc -l)
	procs=$( (grep -lE "/$pat(\$|/)" /proc/[0-9]*/cgroup 2>/dev/null || true) | wc -l)
	procs=$((procs + $("$STEPRUN" -- @nproc "$URUNC" "$root" | awk '$1 == "R" { print $6 }')))
	echo "$mounts $loops $dirs $cgs $procs"
}
