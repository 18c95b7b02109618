# shellcheck shell=bash
# cg_root <controller>: where the hierarchy holding <controller> is mounted: the v1 hierarchy
# that has it, else cgroup2 (a cgroup2-only host). Never a hard-coded v1 path.
cg_root() {
	local r
	r=$(findmnt -rn -t cgroup -o TARGET,OPTIONS |
		awk -v c="$1" '{ n = split($2, o, ","); for (i = 1; i <= n; i++) if (o[i] == c) { print $1; exit } }')
	[ -n "$r" ] || r=$(findmnt -rn -t cgroup2 -o TARGET | head -n1)
	[ -n "$r" ] || return 1
	echo "$r"
}
