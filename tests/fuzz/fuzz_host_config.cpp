// /etc/urunc/config.toml -> HostConfig, and its JSON copy kept in state.json.
// The host config is trusted (root writes it), but a typo must give an error, not a crash.
#include "fuzz_common.hpp"

#include "base/error.hpp"
#include "oci/host_config.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

using namespace urunc;

extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
    fuzz::quiet_log();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    std::string_view toml(reinterpret_cast<const char *>(data), size);
    oci::HostConfig c;
    try {
        c = oci::parse_host_config(toml, "/etc/urunc/config.toml");
    } catch (const Error &) {
        return 0;
    }
    // Values the runtime relies on without checking again.
    for (const auto &[name, m] : c.monitors) {
        FUZZ_CHECK(m.default_memory_mib >= 1);
        FUZZ_CHECK(m.default_vcpus >= 1 && m.default_vcpus <= 1024);
        FUZZ_CHECK(m.path.empty() || m.path[0] == '/');
    }
    FUZZ_CHECK(!c.runtime.runc_path.empty());
    for (const auto &p : c.snapshot_view.allowed_prefixes)
        FUZZ_CHECK(!p.empty() && p[0] == '/');
    // Later commands of the container read the copy in state.json: it must be the same.
    FUZZ_CHECK(oci::host_config_from_json(oci::host_config_to_json(c)) == c);
    return 0;
}
