# The Linux network guest as an image, for the client e2e tests (containerd, docker,
# podman): Debian's cloud kernel (matrix_linux_kernel.sh) and the busybox initrd of
# net_initrd.sh (virtio_net from matrix_linux_modules.sh; /init configures eth0 from the
# `ip=` word urunc gives it and serves `urunc guest ip=<ip> mac=<mac>` with busybox httpd),
# with urunc.json as image builders write it. The image's command is /init.
#
#   ng_rootfs <dir>      the image rootfs: boot/vmlinuz, boot/initrd, urunc.json. Returns 1
#                        with the reason in NG_WHY when the kernel or modules are missing
#                        (scripts/setup.sh fetches them).
#   ng_ready_in <file>   the guest's console in <file> says it serves (NETINIT: ready).
#   ng_fetch <ns-args...> -- <ip[:port]>
#                        the page at http://<ip[:port]>/, fetched with curl run under
#                        `nsenter <ns-args...>` (bounded). curl, not busybox wget: Debian's
#                        static busybox wget crashes in its name lookup.

ng_rootfs() {
	local dir=$1 kernel mods
	mkdir -p "$dir/boot"
	kernel=$("$BATS_TEST_DIRNAME/matrix_linux_kernel.sh" 2>"$dir/boot/.err") ||
		{ NG_WHY=$(tail -n 1 "$dir/boot/.err"); return 1; }
	mods=$("$BATS_TEST_DIRNAME/matrix_linux_modules.sh" 2>"$dir/boot/.err") ||
		{ NG_WHY=$(tail -n 1 "$dir/boot/.err"); return 1; }
	rm -f "$dir/boot/.err"
	cp "$kernel" "$dir/boot/vmlinuz"
	"$BATS_TEST_DIRNAME/net_initrd.sh" "$dir/boot/initrd" "$mods"
	jq -cn '{unikernelType: "linux", hypervisor: "qemu", binary: "/boot/vmlinuz",
		initrd: "/boot/initrd"} | with_entries(.key = "com.urunc.unikernel." + .key | .value |= @base64)' \
		>"$dir/urunc.json"
}

ng_ready_in() { sed 's/\r$//' "$1" 2>/dev/null | grep -q '^NETINIT: ready'; }

ng_fetch() {
	local args=()
	while [ "$1" != -- ]; do
		args+=("$1")
		shift
	done
	timeout -k 2 30 nsenter "${args[@]}" curl -sS --max-time 20 "http://$2/"
}
