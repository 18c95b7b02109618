# shellcheck shell=bash
# cg_root now lives in tests/lib/testlib.bash (shared by integration, e2e and bench); this
# file stays so that `load cgroup_paths` keeps working.
# shellcheck source=../lib/testlib.bash
. "$(dirname "${BASH_SOURCE[0]}")/../lib/testlib.bash"
