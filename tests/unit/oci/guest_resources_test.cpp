#include "oci/guest_resources.hpp"

#include "base/error.hpp"
#include "oci/host_config.hpp"

#include <catch2/catch.hpp>

#include <limits>

using namespace urunc;
using namespace urunc::oci;

namespace {

constexpr int64_t MiB = 1024 * 1024;

MemoryPolicy qemu_linux(OverheadMode mode = OverheadMode::reserve)
{
    MemoryPolicy p;
    p.vmm = "qemu";
    p.guest = "linux";
    p.overhead_mib = 128;
    p.default_mib = 256;
    p.guest_min_mib = 96;
    p.mode = mode;
    return p;
}

std::string error_of(int64_t limit, const MemoryPolicy &p)
{
    try {
        decide_memory(limit, 0, p);
    } catch (const Error &e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("guest memory: the limit minus the VMM's reserve, the cgroup keeps the limit",
          "[guest_resources]")
{
    auto d = decide_memory(512 * MiB, 0, qemu_linux());
    CHECK(d.guest_mib == 384);
    CHECK(d.cgroup_limit == 512 * MiB);
    CHECK(d.cgroup_swap == 0);

    // A limit that is not a whole number of MiB: the guest gets the whole MiBs only, the
    // cgroup the exact bytes.
    d = decide_memory(512 * MiB + 4095, 0, qemu_linux());
    CHECK(d.guest_mib == 384);
    CHECK(d.cgroup_limit == 512 * MiB + 4095);

    // A swap limit is the cgroup's business: kept as is.
    d = decide_memory(1024 * MiB, 2048 * MiB, qemu_linux());
    CHECK(d.guest_mib == 896);
    CHECK(d.cgroup_limit == 1024 * MiB);
    CHECK(d.cgroup_swap == 2048 * MiB);

    // Reserve 0: the guest gets the whole limit (the old behaviour, for whoever asks for it).
    auto p = qemu_linux();
    p.overhead_mib = 0;
    CHECK(decide_memory(512 * MiB, 0, p).guest_mib == 512);
}

TEST_CASE(
    "guest memory: exactly reserve + minimum fits, one MiB less is refused naming both numbers",
    "[guest_resources]")
{
    CHECK(decide_memory(224 * MiB, 0, qemu_linux()).guest_mib == 96);
    CHECK(
        error_of(224 * MiB - 1, qemu_linux()) ==
        "memory limit 223 MiB (linux.resources.memory.limit) is too small for a linux guest on qemu: "
        "it must hold the VMM's overhead reserve of 128 MiB ([monitors.qemu] memory_overhead_mib) "
        "plus the guest's minimum of 96 MiB, 224 MiB in all");
    // Far below: the same words, with the numbers of this VMM and guest.
    MemoryPolicy hvt;
    hvt.vmm = "hvt";
    hvt.guest = "unikraft";
    hvt.overhead_mib = 16;
    hvt.guest_min_mib = 16;
    CHECK(
        error_of(8 * MiB, hvt) ==
        "memory limit 8 MiB (linux.resources.memory.limit) is too small for a unikraft guest on hvt: "
        "it must hold the VMM's overhead reserve of 16 MiB ([monitors.hvt] memory_overhead_mib) "
        "plus the guest's minimum of 16 MiB, 32 MiB in all");
    // Less than one MiB.
    CHECK_THROWS_AS(decide_memory(4096, 0, hvt), Error);
}

TEST_CASE("guest memory without a limit: the default RAM, the cgroup unlimited",
          "[guest_resources]")
{
    for (int64_t none : {int64_t{0}, int64_t{-1}}) {
        auto d = decide_memory(none, 0, qemu_linux());
        CHECK(d.guest_mib == 256);
        CHECK(d.cgroup_limit == none);  // -1 ("unlimited" in the spec) reaches the cgroup as is
    }
    // No minimum check on the configured default: it is the administrator's choice.
    auto p = qemu_linux();
    p.default_mib = 32;
    CHECK(decide_memory(0, 0, p).guest_mib == 32);
}

TEST_CASE("guest memory, add mode: the guest gets the whole limit, the cgroup limit + reserve",
          "[guest_resources]")
{
    auto p = qemu_linux(OverheadMode::add);
    auto d = decide_memory(512 * MiB, 0, p);
    CHECK(d.guest_mib == 512);
    CHECK(d.cgroup_limit == 640 * MiB);
    CHECK(d.cgroup_swap == 0);
    // memory+swap goes up with it (it must stay >= the memory limit); unlimited stays so.
    d = decide_memory(512 * MiB, 1024 * MiB, p);
    CHECK(d.cgroup_swap == 1152 * MiB);
    d = decide_memory(512 * MiB, -1, p);
    CHECK(d.cgroup_swap == -1);
    // Only the guest's minimum counts against the limit.
    CHECK(decide_memory(96 * MiB, 0, p).guest_mib == 96);
    CHECK(
        error_of(95 * MiB, p) ==
        "memory limit 95 MiB (linux.resources.memory.limit) is below the linux guest's minimum of 96 MiB");
    // Without a limit nothing is added.
    d = decide_memory(0, 0, p);
    CHECK(d.guest_mib == 256);
    CHECK(d.cgroup_limit == 0);
    // Overflow is refused, not wrapped.
    CHECK_THROWS_AS(decide_memory(std::numeric_limits<int64_t>::max() - MiB, 0, p), Error);
}

TEST_CASE("memory limit on update: room for the running guest's RAM plus the reserve",
          "[guest_resources]")
{
    auto p = qemu_linux();
    CHECK(cgroup_limit_for_update(1024 * MiB, 384, p) == 1024 * MiB);
    CHECK(cgroup_limit_for_update(512 * MiB, 384, p) == 512 * MiB);
    CHECK(cgroup_limit_for_update(0, 384, p) == 0);
    CHECK(cgroup_limit_for_update(-1, 384, p) == -1);
    try {
        cgroup_limit_for_update(511 * MiB, 384, p);
        FAIL("no error");
    } catch (const Error &e) {
        CHECK(
            std::string(e.what()) ==
            "memory limit 511 MiB is too small for the running guest: its RAM of 384 MiB (fixed when it "
            "was created) plus the VMM's overhead reserve of 128 MiB ([monitors.qemu] memory_overhead_mib) "
            "is 512 MiB");
    }
    auto add = qemu_linux(OverheadMode::add);
    CHECK(cgroup_limit_for_update(512 * MiB, 512, add) == 640 * MiB);
    CHECK_THROWS_WITH(
        cgroup_limit_for_update(511 * MiB, 512, add),
        "memory limit 511 MiB is below the running guest's RAM of 512 MiB (fixed when it was created)");
}

TEST_CASE("vCPUs follow the CPU quota: ceil(quota/period), at least 1, at most the host's CPUs",
          "[guest_resources]")
{
    CpuPolicy c{2, 8};
    CHECK(decide_vcpus(0, 0, c) == 2);        // no quota: the configured default
    CHECK(decide_vcpus(-1, 100000, c) == 2);  // -1: unlimited
    CHECK(decide_vcpus(100000, 100000, c) == 1);
    CHECK(decide_vcpus(150000, 100000, c) == 2);  // 1.5 CPUs: rounded up
    CHECK(decide_vcpus(200000, 100000, c) == 2);
    CHECK(decide_vcpus(200001, 100000, c) == 3);
    CHECK(decide_vcpus(1000, 100000, c) == 1);  // a sliver of a CPU: still one vCPU
    CHECK(decide_vcpus(50000, 0, c) == 1);      // period unset: the kernel's 100000
    CHECK(decide_vcpus(250000, 0, c) == 3);
    CHECK(decide_vcpus(50000, 10000, c) == 5);
    CHECK(decide_vcpus(10000000, 100000, c) == 8);              // 100 CPUs asked, 8 on the host
    CHECK(decide_vcpus(400000, 100000, CpuPolicy{1, 0}) == 1);  // host count unknown: 1
    CHECK(decide_vcpus(0, 0, CpuPolicy{0, 8}) == 1);            // a default of 0 is still 1
}

TEST_CASE("guest_resources: memory and vCPUs of a spec, the cgroup's copy of its resources",
          "[guest_resources]")
{
    Resources r;
    r.memory_limit = 512 * MiB;
    r.cpu_quota = 150000;
    r.cpu_period = 100000;
    r.pids_limit = 64;
    auto g = guest_resources(r, qemu_linux(OverheadMode::add), CpuPolicy{1, 4});
    CHECK(g.memory_mib == 512);
    CHECK(g.vcpus == 2);
    CHECK(g.cgroup.memory_limit == 640 * MiB);
    CHECK(g.cgroup.cpu_quota == 150000);  // everything else passes through
    CHECK(g.cgroup.pids_limit == 64);
}

TEST_CASE("memory_policy: from the host config, per VMM", "[guest_resources]")
{
    HostConfig h;
    auto p = memory_policy(h, "qemu", "linux", 96);
    CHECK(p.overhead_mib == 128);
    CHECK(p.default_mib == 256);
    CHECK(p.guest_min_mib == 96);
    CHECK(p.mode == OverheadMode::reserve);
    CHECK(memory_policy(h, "firecracker", "linux", 96).overhead_mib == 32);
    CHECK(memory_policy(h, "hvt", "unikraft", 16).overhead_mib == 16);

    h = parse_host_config("[monitors.qemu]\nmemory_overhead_mib = 200\ndefault_memory_mib = 64\n"
                          "[runtime]\nmemory_overhead = \"add\"\n",
                          "t.toml");
    p = memory_policy(h, "qemu", "linux", 96);
    CHECK(p.overhead_mib == 200);
    CHECK(p.default_mib == 64);
    CHECK(p.mode == OverheadMode::add);
    // A VMM the config does not know: the generic reserve.
    CHECK(memory_policy(h, "newvmm", "linux", 96).overhead_mib ==
          MonitorConfig{}.memory_overhead_mib);
}
