#include "guest_test_util.hpp"

#include "unikernels/common.hpp"

#include <algorithm>
#include <map>
#include <set>

using namespace guest_test;

TEST_CASE("guest registry: the six guests and the allowed monitor pairs", "[guest][registry]")
{
    // Upstream urunc's allowed (monitor, guest) pairs (docs/configuration.md, "Allowed
    // pairs"), without its hyperlight-unikraft
    const std::map<std::string, std::set<std::string>> allowed{
        {"hvt", {"rumprun", "mirage"}},
        {"spt", {"rumprun", "mirage"}},
        {"qemu", {"mewz", "mirage", "unikraft", "linux", "hermit"}},
        {"firecracker", {"linux", "unikraft"}},
        {"cloud-hypervisor", {"linux"}},
    };
    std::set<std::string> names;
    for (const Guest *g : all_guests()) {
        REQUIRE(g != nullptr);
        names.emplace(g->name());
        CHECK(find_guest(g->name()) == g);
        for (const auto &[vmm, guests] : allowed) {
            const auto mons = g->monitors();
            const bool listed = std::find(mons.begin(), mons.end(), vmm) != mons.end();
            INFO(g->name() << " on " << vmm);
            CHECK(listed == (guests.count(std::string(g->name())) == 1));
        }
    }
    CHECK(names ==
          std::set<std::string>{"unikraft", "rumprun", "mirage", "mewz", "linux", "hermit"});
    CHECK(find_guest("osv") == nullptr);
    CHECK(find_guest("") == nullptr);
    CHECK(to_string(RootfsKind::ninep) == "9pfs");
}

TEST_CASE("guest helpers: masks and subnets", "[guest][registry]")
{
    CHECK(mask_prefix("255.255.255.0") == 24);
    CHECK(mask_prefix("255.255.255.240") == 28);
    CHECK(mask_prefix("255.255.255.255") == 32);
    CHECK(mask_prefix("0.0.0.0") == 0);
    CHECK(mask_prefix("128.0.0.0") == 1);
    CHECK_FALSE(mask_prefix("255.0.255.0").has_value());
    CHECK_FALSE(mask_prefix("255.255.255").has_value());
    CHECK_FALSE(mask_prefix("255.255.255.256").has_value());
    CHECK_FALSE(mask_prefix("255.255.255.0 ").has_value());
    CHECK_FALSE(mask_prefix("").has_value());
    CHECK(same_subnet("10.0.0.5", "10.0.0.1", "255.255.255.0"));
    CHECK_FALSE(same_subnet("10.0.0.5", "192.168.1.1", "255.255.255.0"));
    CHECK(same_subnet("10.0.0.5", "", "255.255.255.0"));
}
