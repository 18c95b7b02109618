#!/usr/bin/env python3
"""The functions whose code pages a workload faulted in: `perf record -e page-faults -d`
data addresses inside the binary's code, named by perf. Prints the ones not yet in the
order file (argv[3]), one a line. Used by scripts/hot-functions.sh for what the profiling
build cannot see (libc, libstdc++, the static libraries)."""
import re
import subprocess
import sys

binary, data, order = sys.argv[1:4]
code = set()
for line in subprocess.run(["nm", "--defined-only", binary], capture_output=True, text=True,
                           check=True).stdout.splitlines():
    f = line.split()
    if len(f) == 3 and f[1] in "tTwW":
        code.add(f[2])
known = set(open(order).read().split())
# perf script: "pid addr addr-symbol (addr-dso) ip ip-symbol (ip-dso)"
line_re = re.compile(r"^\s*\d+\s+[0-9a-f]+\s+(\S+)\s+\(" + re.escape(binary) + r"\)")
out = subprocess.run(["perf", "script", "-i", data, "-F", "pid,addr,ip,sym,dso", "--no-demangle"],
                     capture_output=True, text=True, check=True).stdout
new = []
for line in out.splitlines():
    m = line_re.match(line)
    if not m:
        continue
    name = m.group(1).split("+0x")[0]
    if name in code and name not in known and name not in new:
        new.append(name)
print("\n".join(new))
