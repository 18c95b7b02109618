// urunc.json (from the image) -> UnikernelConfig, alone and merged under annotations,
// validated: the other untrusted source of the unikernel configuration.
#include "fuzz_common.hpp"

#include "base/error.hpp"
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
    std::string content(reinterpret_cast<const char *>(data), size);
    oci::UnikernelConfig from_json;
    try {
        from_json = oci::config_from_urunc_json(content);
    } catch (const Error &) {
        return 0;
    }
    // The image may never name a host path for the view.
    FUZZ_CHECK(from_json.snapshot_view.empty());
    try {
        oci::validate(from_json);
    } catch (const Error &) {
    }

    // Incomplete annotations: urunc.json fills the gaps, annotations win key by key.
    oci::UnikernelConfig partial;
    partial.hypervisor = "qemu";
    partial.snapshot_view = "/run/view";
    auto merged = oci::merge(partial, from_json);
    FUZZ_CHECK(merged.hypervisor == "qemu");
    FUZZ_CHECK(merged.snapshot_view == "/run/view");
    try {
        oci::resolve(partial, content);
    } catch (const Error &) {
    }
    return 0;
}
