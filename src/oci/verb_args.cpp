#include "oci/verb_args.hpp"

#include <map>
#include <set>

namespace urunc::oci {
namespace {

struct FlagTable {
    std::set<std::string> with_value;          // long names taking a value
    std::set<std::string> boolean;             // long names without one
    std::map<std::string, std::string> alias;  // short -> long
};

const FlagTable &globals_table()
{
    static const FlagTable t{{"root", "log", "log-format", "criu", "rootless"},
                             {"debug", "systemd-cgroup", "help", "h", "version", "v"},
                             {}};
    return t;
}

// runc 1.1 `<verb> --help`; spec also has urunc's unikernel flags.
const std::map<std::string, FlagTable> &verb_tables()
{
    static const std::map<std::string, FlagTable> t = {
        {"exec",
         {{"console-socket", "cwd", "env", "user", "additional-gids", "process", "pid-file",
           "process-label", "apparmor", "cap", "preserve-fds", "cgroup"},
          {"tty", "detach", "no-new-privs", "ignore-paused", "help"},
          {{"e", "env"},
           {"t", "tty"},
           {"u", "user"},
           {"g", "additional-gids"},
           {"p", "process"},
           {"d", "detach"},
           {"c", "cap"},
           {"h", "help"}}}},
        {"pause", {{}, {"help"}, {{"h", "help"}}}},
        {"resume", {{}, {"help"}, {{"h", "help"}}}},
        {"update",
         {{"resources", "blkio-weight", "cpu-period", "cpu-quota", "cpu-share", "cpu-rt-period",
           "cpu-rt-runtime", "cpuset-cpus", "cpuset-mems", "memory", "memory-reservation",
           "memory-swap", "pids-limit", "l3-cache-schema", "mem-bw-schema"},
          {"help"},
          {{"r", "resources"}, {"h", "help"}}}},
        {"events", {{"interval"}, {"stats", "help"}, {{"h", "help"}}}},
        {"checkpoint",
         {{"image-path", "work-path", "parent-path", "status-fd", "page-server",
           "manage-cgroups-mode", "empty-ns"},
          {"leave-running", "tcp-established", "ext-unix-sk", "shell-job", "lazy-pages",
           "file-locks", "pre-dump", "auto-dedup", "help"},
          {{"h", "help"}}}},
        {"restore",
         {{"console-socket", "image-path", "work-path", "manage-cgroups-mode", "bundle", "pid-file",
           "empty-ns", "lsm-profile", "lsm-mount-context"},
          {"tcp-established", "ext-unix-sk", "shell-job", "file-locks", "detach", "no-subreaper",
           "no-pivot", "auto-dedup", "lazy-pages", "help"},
          {{"b", "bundle"}, {"d", "detach"}, {"h", "help"}}}},
        {"spec",
         {{"bundle", "unikernel", "hypervisor", "binary", "initrd", "cmdline", "block",
           "unikernel-version"},
          {"rootless", "help"},
          {{"b", "bundle"}, {"h", "help"}}}},
    };
    return t;
}

// One flag word at argv[i]: fills name/value, advances i past a separate value.
// Returns false when argv[i] is not a flag.
bool read_flag(const std::vector<std::string> &argv, size_t &i, const FlagTable &t,
               std::string &name, std::string &value, bool &known)
{
    const std::string &a = argv[i];
    if (a.size() < 2 || a[0] != '-' || a == "--")
        return false;
    std::string body = a.substr(a[1] == '-' ? 2 : 1);
    std::optional<std::string> inline_value;
    if (auto eq = body.find('='); eq != std::string::npos) {
        inline_value = body.substr(eq + 1);
        body.resize(eq);
    }
    if (auto al = t.alias.find(body); al != t.alias.end())
        body = al->second;
    name = body;
    value.clear();
    known = true;
    if (t.with_value.count(body)) {
        if (inline_value)
            value = *inline_value;
        else if (i + 1 < argv.size())
            value = argv[++i];
    } else if (t.boolean.count(body)) {
        if (inline_value)
            value = *inline_value;  // --flag=true/false (Go bool flag)
    } else {
        known = false;
        if (inline_value)
            value = *inline_value;
    }
    return true;
}

}  // namespace

std::optional<std::string> RawCommand::global(const std::string &name) const
{
    std::optional<std::string> v;
    for (const auto &[k, val] : globals)
        if (k == name)
            v = val;  // the last one wins, as in Go's flag package
    return v;
}

std::optional<std::string> RawCommand::flag(const std::string &name) const
{
    std::optional<std::string> v;
    for (const auto &[k, val] : flags)
        if (k == name)
            v = val;
    return v;
}

std::vector<std::string> RawCommand::all(const std::string &name) const
{
    std::vector<std::string> out;
    for (const auto &[k, val] : flags)
        if (k == name)
            out.push_back(val);
    return out;
}

bool is_raw_verb(const std::string &verb) { return verb_tables().count(verb) > 0; }

RawCommand scan_command(const std::vector<std::string> &argv)
{
    RawCommand c;
    size_t i = 1;
    std::string name, value;
    bool known = false;
    for (; i < argv.size(); ++i) {
        if (!read_flag(argv, i, globals_table(), name, value, known))
            break;
        c.globals.emplace_back(name, value);
    }
    if (i >= argv.size() || argv[i] == "--")
        return c;
    c.verb = argv[i];
    c.verb_index = i;
    auto table = verb_tables().find(c.verb);
    if (table == verb_tables().end()) {
        c.positionals.assign(argv.begin() + static_cast<long>(i) + 1, argv.end());
        return c;
    }
    for (++i; i < argv.size(); ++i) {
        if (argv[i] == "--") {
            ++i;
            break;
        }
        if (!read_flag(argv, i, table->second, name, value, known))
            break;
        if (!known)
            c.unknown.push_back(argv[i]);
        c.flags.emplace_back(name, value);
    }
    c.positionals.assign(argv.begin() + static_cast<long>(i), argv.end());
    return c;
}

}  // namespace urunc::oci
