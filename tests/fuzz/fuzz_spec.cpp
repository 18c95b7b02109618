// config.json -> Spec, then the unikernel configuration its annotations give, validated:
// the path create takes through an untrusted bundle.
#include "fuzz_common.hpp"

#include "base/error.hpp"
#include "oci/spec.hpp"
#include "oci/unikernel_config.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

using namespace urunc;

extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
    fuzz::quiet_log();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    std::string json(reinterpret_cast<const char *>(data), size);
    oci::Spec s;
    try {
        s = oci::parse_spec(json, "/run/bundle");
    } catch (const Error &) {
        return 0;
    }
    FUZZ_CHECK(!s.oci_version.empty());
    FUZZ_CHECK(!s.root_path.empty() && s.root_path[0] == '/');
    FUZZ_CHECK(!s.cwd.empty() && s.cwd[0] == '/');
    for (const auto &h : s.hooks.prestart)
        FUZZ_CHECK(!h.path.empty() && h.path[0] == '/');
    try {
        oci::resolve(oci::config_from_annotations(s.annotations), std::nullopt);
    } catch (const Error &) {
    }
    return 0;
}
