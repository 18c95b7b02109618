// The view shim's config.json rewrite (rewrite_view_annotation): the bundle's config.json
// is untrusted, and urunc reads the rewritten file. Input: byte 0 chooses set or remove,
// then the view path up to the first NUL, then config.json.
// Checks: the output is JSON that urunc's own parser reads as it read the input, with the
// snapshotView annotation exactly as asked and every other annotation untouched.
#include "fuzz_common.hpp"

#include "base/error.hpp"
#include "oci/spec.hpp"
#include "shim/naming.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
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
    if (size < 1)
        return 0;
    std::string_view in(reinterpret_cast<const char *>(data) + 1, size - 1);
    std::optional<std::string> view;
    if (data[0] & 1) {
        auto nul = in.find('\0');
        view = std::string(in.substr(0, nul));
        // The shim names views itself (<views dir>/<hex>): printable ASCII only.
        for (char &c : *view)
            if (c < 0x20 || c > 0x7e)
                c = '_';
        in.remove_prefix(nul == std::string_view::npos ? in.size() : nul + 1);
    }
    std::string json(in);
    const std::string key(shim::kViewAnnotation);

    std::string out;
    try {
        out = shim::rewrite_view_annotation(json, view);
    } catch (const Error &) {
        return 0;
    }
    if (!view && out != json) {
        // Removing: the text changes only when there was something to remove.
        FUZZ_CHECK(json.find("snapshotView") != std::string::npos ||
                   json.find("\\u") != std::string::npos);
    }
    oci::Spec before;
    try {
        before = oci::parse_spec(json, "/run/bundle");
    } catch (const Error &) {
        return 0;  // urunc refuses the original; what it says of the copy does not matter
    }
    oci::Spec after;
    try {
        after = oci::parse_spec(out, "/run/bundle");
    } catch (const Error &e) {
        std::fprintf(stderr, "rewritten config.json refused: %s\n", e.what());
        FUZZ_CHECK(!"urunc reads the rewritten config.json");
    }
    auto expect = before.annotations;
    expect.erase(key);
    if (view)
        expect[key] = *view;
    FUZZ_CHECK(after.annotations == expect);
    FUZZ_CHECK(after.root_path == before.root_path);
    FUZZ_CHECK(after.args == before.args);
    return 0;
}
