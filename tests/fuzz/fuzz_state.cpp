// state.json -> State and back, the host config copy inside it, and the `state` output.
// State files live in a root-only directory, but a crash midway or a disk error can leave
// anything in them: commands must fail with an error, never crash.
#include "fuzz_common.hpp"

#include "base/error.hpp"
#include "oci/host_config.hpp"
#include "oci/state.hpp"

#include <rapidjson/document.h>

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
    std::string text(reinterpret_cast<const char *>(data), size);
    try {
        oci::host_config_from_json(text);
    } catch (const Error &) {
    }

    oci::State s;
    try {
        s = oci::parse_state(text, "fuzz/state.json");
    } catch (const Error &) {
        return 0;
    }
    // What save() writes, load() reads back unchanged, including strings with a NUL
    // inside (spec annotations may carry \u0000).
    FUZZ_CHECK(oci::parse_state(oci::state_to_json(s), "fuzz/state.json") == s);
    oci::State nul = s;
    nul.annotations[s.id + std::string(1, '\0') + "k"] = s.bundle + std::string(1, '\0') + "v";
    nul.id += std::string(1, '\0');
    FUZZ_CHECK(oci::parse_state(oci::state_to_json(nul), "fuzz/state.json") == nul);
    try {
        oci::host_config_from_json(s.host_config);
    } catch (const Error &) {
    }
    // `urunc state` prints JSON that a shim must be able to parse.
    for (auto st : {oci::Status::created, oci::Status::stopped}) {
        std::string out = oci::oci_state_json(s, st, st == oci::Status::created, "root");
        rapidjson::Document d;
        d.Parse(out.c_str(), out.size());
        FUZZ_CHECK(!d.HasParseError() && d.IsObject());
    }
    return 0;
}
