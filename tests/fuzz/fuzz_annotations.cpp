// Spec annotations -> UnikernelConfig -> validate, and the helpers validation rests on.
// Input: lines `key=value`; a key without a dot gets the com.urunc.unikernel. prefix, so
// the fuzzer reaches our keys without having to guess the prefix.
#include "fuzz_common.hpp"

#include "base/error.hpp"
#include "oci/unikernel_config.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

using namespace urunc;

extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
    fuzz::quiet_log();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    std::string_view in(reinterpret_cast<const char *>(data), size);
    std::map<std::string, std::string> annotations;
    while (!in.empty()) {
        auto nl = in.find('\n');
        std::string_view line = in.substr(0, nl);
        in.remove_prefix(nl == std::string_view::npos ? in.size() : nl + 1);
        auto eq = line.find('=');
        std::string key(line.substr(0, eq));
        std::string value(eq == std::string_view::npos ? std::string_view() : line.substr(eq + 1));
        if (key.find('.') == std::string::npos)
            key = std::string(oci::kAnnotationPrefix) + key;
        annotations[key] = value;

        // Helpers: total functions with properties validate() relies on.
        std::string clean = oci::clean_path(value);
        FUZZ_CHECK(!clean.empty());
        FUZZ_CHECK(oci::clean_path(clean) == clean);
        oci::is_printable_text(value);
        oci::parse_go_bool(value);
    }

    std::optional<oci::UnikernelConfig> c;
    try {
        c = oci::config_from_annotations(annotations);
    } catch (const Error &) {
        return 0;
    }
    if (!c)
        return 0;
    // The documented round trip through state.json's annotations.
    auto back = oci::config_from_annotations(oci::to_annotations(*c));
    FUZZ_CHECK(back && *back == *c);
    try {
        oci::resolve(c, std::nullopt);
    } catch (const Error &) {
        return 0;
    }
    // A valid config has the three required keys and clean boot-file paths.
    FUZZ_CHECK(oci::complete(*c));
    FUZZ_CHECK(oci::clean_path(c->binary) == c->binary);
    return 0;
}
