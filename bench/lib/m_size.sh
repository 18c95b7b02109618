# Metrics 3 (boot-artifact bytes written per container) and 4 (overhead against
# kernel and initrd size), snapshot view against the copy fallback.
#
# Both modes use a block container rootfs (ext4 on a loop device, mountRootfs)
# and a linux guest. "view": the annotation snapshotView names a read-only
# mount of a copy of the image, artifacts are bound from it. "copy": no view,
# so create copies the artifacts into the state dir before the filesystem
# leaves the host. With an initrd the guest rootfs is the initrd (it wins over
# the block rootfs), so "copy" then copies nothing either: measured anyway.

size_configs() {
	local mode is ks
	for mode in view copy; do
		for is in 0 64; do
			for ks in $SIZES; do
				echo "$mode-k$ks-i$is"
			done
		done
	done
}

tmpfs_used() { stat -f -c '%b %f %S' "$T/run" | awk '{ print ($1 - $2) * $3 }'; }

# Bytes one container writes: run it once, measure while it exists and after.
size_bytes() {
	local cfg=$1 idx=$2 id="$PREFIX-b$2" sd u0 u1 u2 art st b0 b1
	local u=("$URUNC" --root "$R_URUNC")
	sh -c "$(remount_cmd)"
	u0=$(tmpfs_used)
	b0=$(du -sbx "$T/bb/$cfg" | cut -f1)
	if ! "${u[@]}" create --bundle "$T/bb/$cfg" "$id" >"$T/out/$id.out" 2>&1 ||
		! "${u[@]}" start "$id" >>"$T/out/$id.out" 2>&1; then
		"${u[@]}" delete --force "$id" >/dev/null 2>&1 || true
		echo "- - - - -"
		return
	fi
	sd=$R_URUNC/$id
	u1=$(tmpfs_used)
	art=$( (du -sb "$sd/artifacts" 2>/dev/null || echo 0) | cut -f1)
	st=$(du -sb "$sd" | cut -f1)
	b1=$(du -sbx "$T/bb/$cfg" | cut -f1)
	"${u[@]}" delete --force "$id" >/dev/null 2>&1 || true
	u2=$(tmpfs_used)
	echo "$art $st $((u1 - u0)) $((u2 - u0)) $((b1 - b0))"
}

m_size() {
	local cfg idx=0 r first n raw S3="3. Boot-artifact bytes per container"
	local S4="4. Overhead vs kernel/initrd size" art st used after bdelta view_max=0
	log "3/4: bytes written and overhead vs size (sizes: $SIZES MiB; initrd 0/64 MiB; view vs copy)"
	setup_block
	mkdir -p "$T/bb"
	for cfg in $(size_configs); do
		local mode=${cfg%%-*} ks=${cfg#*-k} is=${cfg##*-i}
		ks=${ks%%-*}
		block_bundle "$T/bb/$cfg" "$ks" "$is" "$mode"
		mkdir -p "$T/out/size-$cfg"
	done

	for cfg in $(size_configs); do
		read -r art st used after bdelta < <(size_bytes "$cfg" "$idx")
		idx=$((idx + 1))
		result_value "$S3" "$cfg: artifact bytes copied" "$art" bytes \
			"state dir $st B; tmpfs used +$used B while it exists, +$after B after delete; bundle +$bdelta B"
		case $cfg in view-*)
			if [ "$art" = - ] || [ "$view_max" = - ]; then
				view_max=-
			elif [ "$art" -gt "$view_max" ]; then
				view_max=$art
			fi
			;;
		esac
	done
	target "artifact bytes copied in view mode (max over sizes)" "$view_max B" "0 B" "$(fcmp "$view_max" "==" 0)"

	# Timing, interleaved by rounds across the configurations.
	for ((r = 0; r < ROUNDS; r++)); do
		read -r first n < <(round_range "$r")
		[ "$n" -gt 0 ] || continue
		idx=0
		for cfg in $(size_configs); do
			local o=$T/out/size-$cfg id="$PREFIX-s$idx-%i"
			idx=$((idx + 1))
			"$STEPRUN" -s "$first" -n "$n" -o "$T/raw/size-$cfg.err" -- \
				sh -c "$(remount_cmd)" ::: \
				"@out=$o/%i.out" "$URUNC" --root "$R_URUNC" create --bundle "$T/bb/$cfg" "$id" ::: \
				"$URUNC" --root "$R_URUNC" start "$id" ::: \
				@wait "$o/%i.out" "fakevmm: ready" ::: \
				@always "$URUNC" --root "$R_URUNC" delete --force "$id" >>"$T/raw/size-$cfg.txt"
		done
	done
	: >"$T/raw/size.dat"
	for cfg in $(size_configs); do
		raw=$T/raw/size-$cfg.txt
		vmm_overhead_ms "$raw" "$T/out/size-$cfg" "$WARMUP" 1 |
			result "$S4" "$cfg: create invoked -> VMM exec'ed" ms "failed runs: $(failures "$raw" 0 1 2 3 4)"
		printf '%s %s %s\n' "$cfg" "$(p50_of "$S4" "$cfg: create invoked -> VMM exec'ed")" \
			"$(col_of "$S4" "$cfg: create invoked -> VMM exec'ed" 5)" >>"$T/raw/size.dat"
	done

	local lo=${SIZES%% *} hi=${SIZES##* } vlo vhi c slope
	vlo=$(p50_of "$S4" "view-k$lo-i0: create invoked -> VMM exec'ed")
	vhi=$(p50_of "$S4" "view-k$hi-i0: create invoked -> VMM exec'ed")
	target "view mode: overhead p50 at $hi MiB vs $lo MiB" "${vhi:--} vs ${vlo:--} ms ($(ratio "$vhi" "$vlo")x)" \
		"<= 1.05x" "$(fcmp "$vhi" "<=" "$(scale "$vlo" 1.05)")"
	for c in view-i0 view-i64 copy-i0 copy-i64; do
		slope=$(awk -v m="${c%-*}" -v i="${c#*-}" '{ split($1, p, "-") }
			p[1] == m && p[3] == i && $2 != "-" { k = substr(p[2], 2) + 0; n++; sx += k; sy += $2; sxx += k * k; sxy += k * $2 }
			END { d = n * sxx - sx * sx; if (n < 2 || d == 0) print "-"; else printf "%.4f", (n * sxy - sx * sy) / d }' \
			"$T/raw/size.dat")
		result_value "$S4" "slope of p50 over kernel size, $c" "$slope" ms/MiB "least squares over $SIZES MiB"
	done
}
