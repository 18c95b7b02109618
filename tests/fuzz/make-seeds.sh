#!/bin/bash
# make-seeds.sh: (re)writes the seed corpus tests/fuzz/corpus/<target>/ from the test
# fixtures: bundles from tests/fixtures/make-bundle.sh and `runc spec`, the mountinfo
# fixtures of the rootfs unit tests, and the JSON/TOML/annotation strings of the oci unit
# tests. Inputs the fuzzer found later (reproducers) live in the same folders under
# names starting with `found-`; this script leaves those alone.
set -euo pipefail
cd "$(dirname "$0")/../.."
top=$(pwd)
corpus=$top/tests/fuzz/corpus
tmp=$(mktemp -d /tmp/urunc-seeds.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

for t in spec annotations urunc_json host_config state mountinfo guest_cmdline shim_args shim_config; do
	mkdir -p "$corpus/$t"
	find "$corpus/$t" -maxdepth 1 -type f -name 'seed-*' -delete
done
seed() { cat >"$corpus/$1/seed-$2"; }

# --- config.json: example bundles and a full runc spec
printf 'kernel' >"$tmp/kernel"
bundle() {
	local name=$1
	shift
	tests/fixtures/make-bundle.sh "$tmp/b" "$tmp/kernel" "$@"
	cp "$tmp/b/config.json" "$corpus/spec/seed-$name.json"
}
bundle example
bundle firecracker hypervisor=firecracker
bundle hvt-block unikernelType=rumprun hypervisor=hvt binary=/unikernel/app.hvt \
	block=/data.img blkMntPoint=/data mountRootfs=true
bundle linux-initrd unikernelType=linux initrd=/boot/initrd cmdline="console=ttyS0 init=/bin/sh"
bundle view snapshotView=/run/urunc/views/x unikernelType hypervisor binary
if command -v runc >/dev/null; then
	(cd "$tmp" && rm -f config.json && runc spec) && cp "$tmp/config.json" "$corpus/spec/seed-runc-spec.json"
fi
seed spec minimal.json <<<'{"ociVersion":"1.0.2","process":{"args":["a"],"cwd":"/"},"root":{"path":"rootfs"}}'
seed spec linux-hooks.json <<'EOF'
{"ociVersion":"1.0.2",
 "process":{"terminal":true,"consoleSize":{"height":24,"width":80},"user":{"uid":1000,"gid":100,"additionalGids":[44]},
            "capabilities":{"bounding":["CAP_KILL","CAP_NET_ADMIN"],"ambient":["CAP_KILL"]},"noNewPrivileges":true},
 "root":{"path":"/abs/rootfs","readonly":true},
 "mounts":[{"destination":"/proc","type":"proc","source":"proc","options":["nosuid"]}],
 "hooks":{"prestart":[{"path":"/bin/true","env":["A=1"]}],"createRuntime":[{"path":"/bin/true"}],
          "poststop":[{"path":"/bin/true","args":["true","x"],"timeout":5}]},
 "linux":{"namespaces":[{"type":"network","path":"/run/netns/x"},{"type":"pid"}],
          "cgroupsPath":"/a/b","rootfsPropagation":"rslave","seccomp":{"defaultAction":"SCMP_ACT_ALLOW"},
          "resources":{"memory":{"limit":536870912,"swap":-1},"cpu":{"shares":1024,"quota":50000,"period":100000,"cpus":"0-1","mems":"0"},
                       "pids":{"limit":10}}}}
EOF

# --- annotations: key=value lines (a key without a dot gets com.urunc.unikernel.)
seed annotations unikraft-qemu <<'EOF'
unikernelType=unikraft
hypervisor=qemu
binary=/unikernel/kernel
unikernelVersion=0.17.0
cmdline=hello from urunc
EOF
seed annotations rumprun-hvt-block <<'EOF'
unikernelType=rumprun
hypervisor=hvt
binary=/unikernel/app.hvt
block=/data.img
blkMntPoint=/data
mountRootfs=true
solo5NetDev=service0
solo5BlkDev=rootfs
EOF
seed annotations linux-initrd-view <<'EOF'
unikernelType=linux
hypervisor=firecracker
binary=/boot/vmlinux
initrd=/boot/initrd
snapshotView=/run/urunc/views/x
mountRootfs=F
io.kubernetes.cri.container-type=container
EOF
seed annotations bad-values <<'EOF'
unikernelType=mirage
hypervisor=spt
binary=../etc/passwd
mountRootfs=maybe
unknownKey=1
EOF

# --- urunc.json: base64 values (as image builders write them) and plaintext
seed urunc_json base64.json <<'EOF'
{"com.urunc.unikernel.binary": "L3VuaWtlcm5lbC9odHRwLWMucWVtdQ==",
 "com.urunc.unikernel.hypervisor": "cWVtdQ==",
 "com.urunc.unikernel.unikernelType": "dW5pa3JhZnQ=",
 "com.urunc.unikernel.mountRootfs": "dHJ1ZQ==",
 "com.urunc.unikernel.snapshotView": "L3J1bi92aWV3",
 "other": 3}
EOF
seed urunc_json plaintext.json <<'EOF'
{"com.urunc.unikernel.unikernelType": "mewz", "com.urunc.unikernel.hypervisor": "qemu",
 "com.urunc.unikernel.binary": "/unikernel/kernel", "com.urunc.unikernel.cmdline": "abcd",
 "com.urunc.unikernel.initrd": "/unikernel/initrd", "com.urunc.unikernel.unikernelVersion": "1.0",
 "com.urunc.unikernel.block": "/b.img", "com.urunc.unikernel.blkMntPoint": "/",
 "com.urunc.unikernel.solo5NetDev": "service", "com.urunc.unikernel.solo5BlkDev": "storage"}
EOF
seed urunc_json wrong-type.json <<<'{"com.urunc.unikernel.binary": 7, "com.urunc.unikernel.mountRootfs": "bWF5YmU="}'

# --- host config TOML
seed host_config overlay.toml <<'EOF'
[monitors.qemu]
default_vcpus = 2
path = "/opt/qemu/bin/qemu-system-x86_64"
vhost = true

[monitors.hvt]
default_memory_mb = 512   # upstream's name, MiB

[monitors.newvmm]
data_path = "/opt/new"
default_memory_mib = 1024

[extra_binaries.virtiofsd]
path = "/usr/libexec/virtiofsd"
options = "--cache always"

[log]
level = "warning"
syslog = true

[timestamps]
enabled = true
destination = "/var/log/urunc/ts.log"

[snapshot_view]
allowed_prefixes = ["/run/containerd/views/", "//var/lib/./views"]

[runtime]
require_kvm = true
runc_path = "/usr/sbin/runc"

[future_section]
whatever = 1
EOF
seed host_config errors.toml <<'EOF'
[log]
level = "info"
syslog = = true
[monitors.qemu]
default_vcpus = 0
default_memory_mib = 1.5
EOF

# --- state.json as save() writes it (hostConfig holds host_config_to_json's output)
seed state created.json <<'EOF'
{"urunc":1,"id":"c1","bundle":"/run/b","rootfs":"/run/b/rootfs","ociVersion":"1.0.2","created":"2026-11-24T10:03:54.000000001Z","pid":4242,"pidStart":123456,"creating":false,"annotations":{"com.urunc.unikernel.unikernelType":"unikraft","com.urunc.unikernel.hypervisor":"qemu","com.urunc.unikernel.binary":"/unikernel/kernel"},"hostConfig":"{\"monitors\":{\"qemu\":{\"path\":\"\",\"default_memory_mib\":256,\"default_vcpus\":1,\"data_path\":\"\",\"vhost\":false}},\"virtiofsd\":{\"path\":\"/usr/libexec/virtiofsd\",\"options\":\"--cache always --sandbox none\"},\"log\":{\"level\":\"info\",\"syslog\":false},\"timestamps\":{\"enabled\":false,\"destination\":\"/var/log/urunc/timestamps.log\"},\"snapshot_view\":{\"allowed_prefixes\":[\"/run/views\"]},\"runtime\":{\"require_kvm\":false,\"runc_path\":\"runc\"},\"source\":\"\"}","cgroup":"{\"path\":\"/sys/fs/cgroup/c1\"}","rootfsChoice":"block /dev/loop3","artifactSource":"view /run/v","copyDir":"","netIface":"eth0","systemdCgroup":false}
EOF
seed state creating.json <<<'{"urunc":1,"id":"c2","bundle":"/b","pid":-1,"creating":true,"annotations":{}}'
seed state host-config.json <<<'{"monitors":{"qemu":{"default_vcpus":2,"vhost":true}},"log":{"level":"debug"},"runtime":{"require_kvm":true}}'

# --- mountinfo: the rootfs unit test fixtures
for f in tests/unit/rootfs/fixtures/*.mountinfo; do
	cp "$f" "$corpus/mountinfo/seed-$(basename "$f")"
done

# --- guest_cmdline: FuzzedDataProvider input; any bytes will do as a start
printf 'hello from urunc\0PATH=/bin\0/\0' >"$corpus/guest_cmdline/seed-text"
head -c 256 /dev/zero | tr '\0' '\377' >"$corpus/guest_cmdline/seed-ones"

# --- shim_args: the runc command lines go-runc passes (NUL-separated, argv[0] left out)
args() { local name=$1; shift; printf '%s\0' "$@" >"$corpus/shim_args/seed-$name"; }
args create --root /run/containerd/runc/default --log /run/containerd/io.containerd.runtime.v2.task/default/c1/log.json \
	--log-format json create --bundle /run/containerd/io.containerd.runtime.v2.task/default/c1 \
	--pid-file /run/containerd/io.containerd.runtime.v2.task/default/c1/init.pid c1
args create-short --root=/run/urunc/k8s.io create -b=/b --console-socket /tmp/pty.sock --no-pivot c2
args delete --root /run/containerd/runc/moby --log /l --log-format json delete --force c1
args delete-f --root /r delete -f=false c1
args start --root /r start c1
args ps --root /r ps -f json c1
args version --version
printf -- '/usr/bin/containerd-shim-runc-v2\0-namespace\0default\0-address\0/run/containerd/containerd.sock\0-id\0c1\0start\0' \
	>"$corpus/shim_args/seed-parent"

# --- shim_config: byte 0 bit 0 = set (then the view, NUL), else remove; then config.json
for f in "$corpus"/spec/seed-*; do
	n=$(basename "$f")
	{ printf '\001/run/urunc/views/0123456789abcdef0123456789abcdef\0'; cat "$f"; } >"$corpus/shim_config/$n"
	{ printf '\000'; cat "$f"; } >"$corpus/shim_config/${n/seed-/seed-remove-}"
done
