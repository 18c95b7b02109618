#include "shim/runc_args.hpp"

#include <set>

namespace urunc::shim {
namespace {

// Options that take a value (all others are booleans).
const std::set<std::string> kGlobalWithValue = {"root", "log", "log-format", "criu", "rootless"};
const std::set<std::string> kVerbWithValue = {"bundle",       "b",     "pid-file", "console-socket",
                                              "preserve-fds", "format"};

struct Opt {
    std::string name, value;
    bool has_value = false;
};

// "-x", "--x", "-x=v", "--x=v" -> name/value; nullopt for a positional argument.
std::optional<Opt> as_option(const std::string &a)
{
    if (a.size() < 2 || a[0] != '-' || a == "--")
        return std::nullopt;
    std::string body = a.substr(a[1] == '-' ? 2 : 1);
    Opt o;
    if (auto eq = body.find('='); eq != std::string::npos) {
        o.name = body.substr(0, eq);
        o.value = body.substr(eq + 1);
        o.has_value = true;
    } else {
        o.name = body;
    }
    return o;
}

}  // namespace

std::optional<RuncArgs> parse_runc_args(const std::vector<std::string> &argv)
{
    RuncArgs r;
    size_t i = 1;
    for (; i < argv.size(); ++i) {
        auto o = as_option(argv[i]);
        if (!o)
            break;
        if (kGlobalWithValue.count(o->name) && !o->has_value) {
            if (i + 1 >= argv.size())
                return std::nullopt;
            o->value = argv[++i];
        }
        if (o->name == "root")
            r.root = o->value;
        else if (o->name == "log")
            r.log = o->value;
        else if (o->name == "log-format")
            r.log_format = o->value;
    }
    if (i >= argv.size())
        return r;  // no verb (--version, --help)
    r.verb = argv[i++];
    std::vector<std::string> positional;
    for (; i < argv.size(); ++i) {
        auto o = as_option(argv[i]);
        if (!o) {
            positional.push_back(argv[i]);
            continue;
        }
        // `delete -f` is force, but `ps -f` is format: the value set depends on the verb.
        bool takes_value = kVerbWithValue.count(o->name) || (r.verb != "delete" && o->name == "f");
        if (takes_value && !o->has_value) {
            if (i + 1 >= argv.size())
                return std::nullopt;
            o->value = argv[++i];
        }
        if (o->name == "bundle" || o->name == "b")
            r.bundle = o->value;
        else if (r.verb == "delete" && (o->name == "force" || o->name == "f"))
            r.force = !o->has_value || o->value == "true";
    }
    if ((r.verb == "create" || r.verb == "delete") && positional.size() != 1)
        return std::nullopt;
    if (!positional.empty())
        r.id = positional.back();
    return r;
}

}  // namespace urunc::shim
