// The view shim's front: the runc command line containerd's runc v2 shim passes
// (parse_runc_args), the parent's /proc cmdline (split_cmdline, find_containerd_address)
// and the names built from them (find_namespace, marker_path, view_names).
// Input: NUL-separated argv, as in /proc/<pid>/cmdline; argv[0] is added.
#include "fuzz_common.hpp"

#include "base/error.hpp"
#include "shim/naming.hpp"
#include "shim/runc_args.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

using namespace urunc;

extern "C" int LLVMFuzzerInitialize(int *, char ***)
{
    fuzz::quiet_log();
    return 0;
}

namespace {

bool is_hex(std::string_view s)
{
    return std::all_of(s.begin(), s.end(),
                       [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool in_argv(const std::vector<std::string> &argv, const std::string &s)
{
    // A value comes from one argument, whole or after "-x=".
    for (size_t i = 1; i < argv.size(); ++i) {
        const std::string &a = argv[i];
        if (a == s || (a.size() > s.size() && a.compare(a.size() - s.size(), s.size(), s) == 0 &&
                       a[a.size() - s.size() - 1] == '='))
            return true;
    }
    return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    std::string_view raw(reinterpret_cast<const char *>(data), size);
    std::vector<std::string> argv = shim::split_cmdline(raw);
    // split_cmdline: the pieces joined by NUL give the input back (less one trailing NUL).
    std::string joined;
    for (size_t i = 0; i < argv.size(); ++i)
        joined += (i ? std::string(1, '\0') : std::string()) + argv[i];
    FUZZ_CHECK(joined == raw || joined + '\0' == raw);
    argv.insert(argv.begin(), "urunc");

    auto r = shim::parse_runc_args(argv);
    if (r) {
        for (const std::string *v :
             {&r->root, &r->log, &r->log_format, &r->bundle, &r->id, &r->verb})
            FUZZ_CHECK(v->empty() || in_argv(argv, *v));
        if (r->verb == "create" || r->verb == "delete")
            FUZZ_CHECK(!r->id.empty() || in_argv(argv, ""));
        FUZZ_CHECK(!r->force || r->verb == "delete");

        // What the shim builds from the parsed line. The namespace is one path component;
        // the marker sits directly in <views>/containers whatever the id and root say.
        std::string ns = shim::find_namespace(nullptr, r->root);
        FUZZ_CHECK(ns.find('/') == std::string::npos);
        const std::string views = "/run/urunc/views";
        std::string m = shim::marker_path(views, r->root, r->id);
        const std::string dir = views + "/containers/";
        FUZZ_CHECK(m.size() == dir.size() + 32 + 5 && m.compare(0, dir.size(), dir) == 0);
        FUZZ_CHECK(is_hex(std::string_view(m).substr(dir.size(), 32)));
        FUZZ_CHECK(m.compare(m.size() - 5, 5, ".json") == 0);
    }

    // The same argv as the parent shim's cmdline: the address is never empty, and the
    // view names stay inside the views directory whatever the address says.
    std::string source;
    std::string address = shim::find_containerd_address("", nullptr, argv, nullptr, &source);
    FUZZ_CHECK(!address.empty() && !source.empty());
    std::string ns = argv.size() > 1 ? argv[1] : std::string();
    std::string sn = argv.size() > 2 ? argv[2] : std::string();
    shim::ViewNames v = shim::view_names("/run/urunc/views", address, ns, "overlayfs", sn);
    FUZZ_CHECK(v.hash.size() == 32 && is_hex(v.hash));
    FUZZ_CHECK(v.mountpoint == "/run/urunc/views/" + v.hash);
    FUZZ_CHECK(v.key == "urunc-view-" + v.hash);
    return 0;
}
