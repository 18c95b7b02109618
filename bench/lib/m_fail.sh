# Metric 7: the cost of a failing create (a bad annotation, a missing kernel):
# how long until the error, and that nothing is left behind.

m_fail() {
	local S="7. Cost of failure" kind raw n=$((WARMUP + RUNS)) rejected left m l d c p msg all=0
	log "7: failing creates ($RUNS runs each)"
	"$MAKE_BUNDLE" "$T/fail-annotation" "$TESTKERNEL" unikernelType=nosuchguest >/dev/null
	"$MAKE_BUNDLE" "$T/fail-kernel" "$TESTKERNEL" binary=/unikernel/missing >/dev/null
	for kind in annotation kernel; do
		raw=$T/raw/fail-$kind.txt
		: >"$T/raw/fail-$kind.err"
		"$STEPRUN" -n "$n" -o "$T/raw/fail-$kind.err" -- \
			"$URUNC" --root "$R_URUNC" create --bundle "$T/fail-$kind" "$PREFIX-f$kind-%i" >"$raw"
		rejected=$(awk -v w="$WARMUP" '$1 == "R" && $2 >= w && $6 != 0' "$raw" | wc -l)
		msg=$( (grep -m1 -v '^time=' "$T/raw/fail-$kind.err" || true) | cut -c1-120)
		awk -v w="$WARMUP" '$1 == "R" && $2 >= w && $6 != 0 { print $5 / 1e6 }' "$raw" |
			result "$S" "create with a $([ $kind = annotation ] && echo 'bad annotation' || echo 'missing kernel')" \
				ms "rejected $rejected/$RUNS: $msg"
		left=$(leftovers "$R_URUNC" "$PREFIX-f$kind-[0-9]+")
		read -r m l d c p <<<"$left"
		result_value "$S" "left after failed creates ($kind)" "$((m + l + d + c + p))" items \
			"mounts $m, loop devices $l, state dirs $d, cgroups $c, processes $p"
		[ "$rejected" = "$RUNS" ] && [ $((m + l + d + c + p)) = 0 ] || all=1
	done
	target "failed create leaves nothing behind" "$([ $all = 0 ] && echo 'all rejected, 0 left' || echo 'see section 7')" \
		"0 items" "$([ $all = 0 ] && echo 1 || echo 0)"
}
