// The CLI: parse runc-compatible arguments and call src/oci. No logic lives here.
// CLI11 is kept to this one translation unit (it costs 10-16 s to compile).
#include "base/error.hpp"
#include "base/log.hpp"
#include "base/prefault.hpp"
#include "container/lifecycle.hpp"
#include "container/timestamps.hpp"
#include "container/verbs.hpp"

// CLI11 includes <iostream>, and with it a static std::ios_base::Init object that builds the
// eight standard streams and the C locale's facets before main: about 1 MiB of resident
// memory and its page faults in every command, since libstdc++ is linked statically. urunc
// never uses the standard streams (help and errors go through std::string and stdio; CLI11
// writes to std::cout only for deprecated or retired options and in App::exit's defaults,
// none of which urunc uses), so <iostream> is kept out and its four objects declared as
// libstdc++ declares them. tests/meson.build checks that the binary has no ios_base::Init.
#if defined(__GLIBCXX__) && !defined(_GLIBCXX_IOSTREAM)
#define _GLIBCXX_IOSTREAM 1
#include <istream>
#include <ostream>
namespace std {
extern istream cin;
extern ostream cout;
extern ostream cerr;
extern ostream clog;
}  // namespace std
#endif
#include <CLI/CLI.hpp>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <unistd.h>

namespace {

using namespace urunc;

// Go's flag package accepts "-flag" for "--flag"; go-runc emits e.g. "-no-subreaper".
std::vector<std::string> normalise_args(int argc, char **argv)
{
    static const std::set<std::string> longs = {"root",
                                                "log",
                                                "log-format",
                                                "debug",
                                                "systemd-cgroup",
                                                "rootless",
                                                "criu",
                                                "bundle",
                                                "pid-file",
                                                "console-socket",
                                                "no-pivot",
                                                "no-new-keyring",
                                                "detach",
                                                "force",
                                                "all",
                                                "format",
                                                "keep",
                                                "no-subreaper",
                                                "preserve-fds",
                                                "quiet",
                                                "help",
                                                "version"};
    std::vector<std::string> out;
    for (int i = 0; i < argc; ++i) {
        std::string a = argv[i];
        if (i > 0 && a.size() > 2 && a[0] == '-' && a[1] != '-') {
            std::string name =
                a.substr(1, a.find('=') == std::string::npos ? std::string::npos : a.find('=') - 1);
            if (longs.count(name))
                a = "-" + a;
        }
        out.push_back(a);
    }
    return out;
}

// exec, pause, resume, update, events, checkpoint, restore, spec: read with runc's flag
// tables, never CLI11 (which would refuse runc flags it does not know before the container
// could be handed to runc).
int raw_verb(int argc, char **argv)
{
    std::vector<std::string> args(argv, argv + argc);
    oci::RawCommand c = oci::scan_command(args);
    container::Globals g;
    g.argv = args;
    g.root = c.global("root").value_or(g.root);
    auto on = [&](const char *name) {
        auto v = c.global(name);
        return v && *v != "false";
    };
    g.systemd_cgroup = on("systemd-cgroup");
    container::GlobalFlags f{c.global("log").value_or(""), c.global("log-format").value_or("text"),
                             on("debug")};
    try {
        container::apply_global_flags(g, f);
        return container::raw_verb(g, c);
    } catch (const std::exception &e) {
        log::fatal(e.what());
        return 1;
    }
}

// What the command line says, whoever read it (CLI11, or quick_read for the lifecycle verbs
// in the forms the engines use).
struct Options {
    container::Globals g;
    container::GlobalFlags gf;
    std::string rootless, criu;
    container::RunOptions ro;
    container::CreateOptions &co = ro.create;
    container::StartOptions so;
    container::StateOptions sto;
    container::KillOptions ko;
    container::DeleteOptions dopt;
    container::ListOptions lo;
    std::string ps_format = "table";
    std::vector<std::string> ps_args;
    bool detach = false, no_subreaper = false;
    int preserve_fds = 0;
};

// The command line as CLI11 reads it: the global flags, each verb's options, and the
// verbs' subcommands (set by parse: the one given is true).
struct Cli : Options {
    CLI::App app{"urunc: an OCI runtime for unikernels", "urunc"};
    CLI::App *create = nullptr, *run = nullptr, *start = nullptr, *state = nullptr, *kill = nullptr,
             *del = nullptr, *list = nullptr, *ps = nullptr, *features = nullptr;
};

void add_global_flags(Cli &c)
{
    CLI::App &app = c.app;
    app.set_version_flag("-v,--version", container::version_text());
    app.add_option("--root", c.g.root, "root directory for container state");
    app.add_option("--log", c.gf.log_file, "log file (default: stderr)");
    app.add_option("--log-format", c.gf.log_format, "log format: text or json");
    app.add_flag("--debug", c.gf.debug, "debug logging");
    app.add_flag("--systemd-cgroup", c.g.systemd_cgroup, "cgroupsPath is slice:prefix:name");
    app.add_option("--rootless", c.rootless, "accepted and ignored");
    app.add_option("--criu", c.criu, "accepted and ignored");
    app.require_subcommand(1);
}

void add_create_flags(Cli &c, CLI::App *sub)
{
    container::CreateOptions &co = c.co;
    sub->add_option("-b,--bundle", co.bundle, "bundle directory (default: cwd)");
    sub->add_option("--pid-file", co.pid_file, "write the init pid here");
    sub->add_option("--console-socket", co.console_socket,
                    "AF_UNIX socket receiving the pty master");
    sub->add_flag("--no-pivot", co.no_pivot, "accepted (the VMM always gets a private root)");
    sub->add_flag("--no-new-keyring", co.no_new_keyring, "accepted and ignored");
    sub->add_option("--preserve-fds", c.preserve_fds, "accepted and ignored");
    sub->add_option("id", co.id, "container id")->required();
}

// Each verb's subcommand, or only `only`'s: building all of CLI11's option objects costs
// ~0.5 ms, paid by every command (state, kill, delete...), for options the command
// never sees. "" builds them all (help, a usage error, no verb). False when `only` is not
// a verb CLI11 reads (nothing was added).
bool add_verbs(Cli &c, const std::string &only)
{
    CLI::App &app = c.app;
    bool added = false;
    auto want = [&](const char *verb) {
        bool w = only.empty() || only == verb;
        added = added || w;
        return w;
    };
    if (want("create")) {
        c.create = app.add_subcommand("create", "create a container");
        add_create_flags(c, c.create);
        c.create->add_flag("-d,--detach", c.detach, "accepted (create always detaches)");
    }
    if (want("run")) {
        c.run = app.add_subcommand("run", "create and start a container");
        add_create_flags(c, c.run);
        c.run->add_flag("-d,--detach", c.ro.detach, "do not wait for the container");
        c.run->add_flag("--keep", c.ro.keep, "do not delete the container when it exits");
        c.run->add_flag("--no-subreaper", c.no_subreaper, "accepted and ignored");
    }
    if (want("start")) {
        c.start = app.add_subcommand("start", "start a created container");
        c.start->add_option("id", c.so.id)->required();
    }
    if (want("state")) {
        c.state = app.add_subcommand("state", "print the state of a container");
        c.state->add_option("id", c.sto.id)->required();
    }
    if (want("kill")) {
        c.kill = app.add_subcommand("kill", "send a signal to the container");
        c.kill->add_flag("-a,--all", c.ko.all, "all processes of the container");
        c.kill->add_option("id", c.ko.id)->required();
        c.kill->add_option("signal", c.ko.signal, "signal name or number (default SIGTERM)");
    }
    if (want("delete")) {
        c.del = app.add_subcommand("delete", "delete a container");
        c.del->add_flag("-f,--force", c.dopt.force, "kill it first if running");
        c.del->add_option("id", c.dopt.id)->required();
    }
    if (want("list")) {
        c.list = app.add_subcommand("list", "list containers");
        c.list->add_option("-f,--format", c.lo.format, "table or json");
        c.list->add_flag("-q,--quiet", c.lo.quiet, "ids only");
    }
    if (want("ps")) {
        c.ps =
            app.add_subcommand("ps", "processes of a container: ps [--format F] ID [ps options]");
        c.ps->add_option("-f,--format", c.ps_format, "table or json");
        c.ps->prefix_command();  // as runc: flags stop at the id, the rest goes to ps
    }
    if (want("features"))
        c.features = app.add_subcommand("features", "print the runtime's features (JSON)");
    if (!only.empty())
        return added;
    // Listed for --help; main() hands them to raw_verb() before CLI11 parses anything.
    for (const char *verb :
         {"exec", "pause", "resume", "update", "checkpoint", "restore", "events", "spec"}) {
        auto *u = app.add_subcommand(
            verb, std::string(verb) + ": runc's for Linux containers, urunc's for unikernels");
        u->allow_extras();
        u->prefix_command();
    }
    return true;
}

// A Cli for `args` with the global flags and add_verbs(c, only); false as add_verbs says.
bool make_cli(Cli &c, const std::vector<std::string> &args, const std::string &only)
{
    c.g.argv = args;
    add_global_flags(c);
    return add_verbs(c, only);
}

// argv without argv[0], reversed: what CLI11's parse takes.
std::vector<std::string> parse_order(const std::vector<std::string> &args)
{
    return {args.rbegin(), args.rend() - 1};
}

// Parses the arguments. An exit status when that is all there is to do (version, help,
// a usage error).
std::optional<int> parse(Cli &c, const std::vector<std::string> &args)
{
    try {
        c.app.parse(parse_order(args));
    } catch (const CLI::CallForVersion &) {
        std::fputs(container::version_text().c_str(), stdout);
        return 0;
    } catch (const CLI::Success &) {
        std::fputs(c.app.help().c_str(), stdout);
        return 0;
    } catch (const CLI::ParseError &e) {
        try {
            log::setup({c.gf.log_file, c.gf.log_format == "json", log::Level::info});
        } catch (const Error &) {
        }
        log::fatal(std::string("usage: ") + e.what());
        return 1;
    }
    return std::nullopt;
}

// One flag the quick reader knows: its long name, its short alias (0: none) and where it
// goes (a text, a switch, or a number).
struct QuickFlag {
    const char *name;
    char alias;
    std::string *text = nullptr;
    bool *on = nullptr;
    int *number = nullptr;
};

// Reads the flag word at args[i] (and its value) against `table`; false when the word is not
// one of them in a form CLI11 reads the same way, or names a flag `seen` already holds.
bool quick_flag(const std::vector<std::string> &args, size_t &i,
                const std::vector<QuickFlag> &table, std::set<std::string> &seen)
{
    const std::string &a = args[i];
    const QuickFlag *f = nullptr;
    std::optional<std::string> value;
    if (a.size() > 2 && a[0] == '-' && a[1] == '-') {
        std::string name = a.substr(2);
        if (auto eq = name.find('='); eq != std::string::npos) {
            value = name.substr(eq + 1);
            name.resize(eq);
        }
        for (const QuickFlag &q : table)
            if (name == q.name)
                f = &q;
    } else if (a.size() == 2 && a[0] == '-') {
        for (const QuickFlag &q : table)
            if (q.alias && a[1] == q.alias)
                f = &q;
    }
    if (!f || !seen.insert(f->name).second)
        return false;
    if (f->on) {
        *f->on = true;
        return !value;  // "--flag=value" of a switch: CLI11's reading
    }
    if (!value) {
        // A separate value that looks like a flag: CLI11 may read it as one.
        if (i + 1 >= args.size() || (!args[i + 1].empty() && args[i + 1][0] == '-'))
            return false;
        value = args[++i];
    }
    if (value->empty())
        return false;
    if (f->number) {
        int n = 0;
        auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), n);
        if (ec != std::errc() || end != value->data() + value->size() || n < 0)
            return false;
        *f->number = n;
        return true;
    }
    *f->text = *value;
    return true;
}

// create, run, start, state, kill and delete as containerd, docker, podman and people write
// them: the global flags, the verb, its flags (each once: "--name value", "--name=value",
// Go's "-name", which normalise_args made "--name", or the short alias alone, "-b value"),
// then the id (and kill's signal). Read here without building CLI11's parser, ~0.3 ms of
// every command. Anything else (help, version, an unknown or repeated flag, a flag after
// the id, "--", an empty or non-numeric value) returns false, and CLI11 reads the line as
// before: its errors and help are unchanged.
bool quick_read(const std::vector<std::string> &args, const std::string &verb, Options &o)
{
#ifdef URUNC_TEST_SEAMS
    // Test builds only: URUNC_TEST_CLI11_ONLY=1 sends every line to CLI11, so that a test can
    // compare both readings of the same line.
    if (const char *e = std::getenv("URUNC_TEST_CLI11_ONLY"); e && *e == '1')
        return false;
#endif
    std::vector<QuickFlag> globals = {{"root", 0, &o.g.root},
                                      {"log", 0, &o.gf.log_file},
                                      {"log-format", 0, &o.gf.log_format},
                                      {"criu", 0, &o.criu},
                                      {"rootless", 0, &o.rootless},
                                      {"debug", 0, nullptr, &o.gf.debug},
                                      {"systemd-cgroup", 0, nullptr, &o.g.systemd_cgroup}};
    std::vector<QuickFlag> flags;
    std::vector<std::string *> ids;  // the positionals, in order
    size_t optional_ids = 0;
    if (verb == "create" || verb == "run") {
        flags = {{"bundle", 'b', &o.co.bundle},
                 {"pid-file", 0, &o.co.pid_file},
                 {"console-socket", 0, &o.co.console_socket},
                 {"preserve-fds", 0, nullptr, nullptr, &o.preserve_fds},
                 {"no-pivot", 0, nullptr, &o.co.no_pivot},
                 {"no-new-keyring", 0, nullptr, &o.co.no_new_keyring},
                 {"detach", 'd', nullptr, verb == "run" ? &o.ro.detach : &o.detach}};
        if (verb == "run") {
            flags.push_back({"keep", 0, nullptr, &o.ro.keep});
            flags.push_back({"no-subreaper", 0, nullptr, &o.no_subreaper});
        }
        ids = {&o.co.id};
    } else if (verb == "start") {
        ids = {&o.so.id};
    } else if (verb == "state") {
        ids = {&o.sto.id};
    } else if (verb == "kill") {
        flags = {{"all", 'a', nullptr, &o.ko.all}};
        ids = {&o.ko.id, &o.ko.signal};
        optional_ids = 1;
    } else if (verb == "delete") {
        flags = {{"force", 'f', nullptr, &o.dopt.force}};
        ids = {&o.dopt.id};
    } else {
        return false;
    }
    std::set<std::string> seen;
    size_t i = 1;
    for (; i < args.size() && args[i] != verb; ++i)
        if (!quick_flag(args, i, globals, seen))
            return false;
    if (i >= args.size())
        return false;
    seen.clear();
    for (++i; i < args.size() && !args[i].empty() && args[i][0] == '-'; ++i)
        if (!quick_flag(args, i, flags, seen))
            return false;
    size_t given = args.size() - i;
    if (given > ids.size() || given < ids.size() - optional_ids)
        return false;
    for (size_t k = 0; k < given; ++k, ++i) {
        if (args[i].empty() || args[i][0] == '-')
            return false;
        *ids[k] = args[i];
    }
    o.g.argv = args;
    return true;
}

// The verb, called with its options.
int call_verb(const std::string &verb, Options &o)
{
    try {
        container::apply_global_flags(o.g, o.gf);
        if (verb == "create")
            return container::create(o.g, o.co);
        if (verb == "run")
            return container::run(o.g, o.ro);
        if (verb == "start")
            return container::start(o.g, o.so);
        if (verb == "state")
            return container::state(o.g, o.sto);
        if (verb == "kill")
            return container::kill(o.g, o.ko);
        if (verb == "delete")
            return container::remove(o.g, o.dopt);
        if (verb == "list")
            return container::list(o.g, o.lo);
        if (verb == "ps")
            return container::ps(o.g, container::ps_options(o.ps_format, o.ps_args));
        if (verb == "features")
            return container::features();
    } catch (const std::exception &e) {
        log::fatal(e.what());
        return 1;
    }
    return 1;
}

// The verb CLI11 parsed, called with its options.
int dispatch(Cli &c)
{
    // Only the given verb's subcommand may exist (add_verbs).
    for (CLI::App *sub :
         {c.create, c.run, c.start, c.state, c.kill, c.del, c.list, c.ps, c.features})
        if (sub && sub->parsed()) {
            if (sub == c.ps)
                c.ps_args = c.ps->remaining();
            return call_verb(sub->get_name(), c);
        }
    return 1;
}

}  // namespace

// The first constructor (priority 101 runs before the default ones; libc's own start-up is
// not a constructor and has run already): maps what every command touches in one call each.
[[gnu::constructor(101)]] static void map_hot_pages() { base::prefault_image(true); }

// The command's end: stdio flushed, then out without the destructors. Every resource a
// verb holds is released by its own RAII before it returns; what is left (the parser's
// tree, the heap, static objects) the kernel frees at once, where freeing it ourselves
// wrote to pages shared copy-on-write with the init since the clone: ~10 page faults,
// ~0.1-0.3 ms on run's way out after the VMM (docs/performance.md, "ninth pass").
[[noreturn]] static void leave(int status)
{
    std::fflush(stdout);
    std::fflush(stderr);
#if defined(__SANITIZE_ADDRESS__)
    std::exit(status);  // sanitized builds: LeakSanitizer checks at exit, as before
#else
    ::_exit(status);
#endif
}

int main(int argc, char **argv)
{
    container::ts::invoked();
    std::string verb = oci::scan_command(std::vector<std::string>(argv, argv + argc)).verb;
    if (oci::is_raw_verb(verb))
        leave(raw_verb(argc, argv));
    std::vector<std::string> args = normalise_args(argc, argv);
    if (Options o; quick_read(args, verb, o))
        leave(call_verb(verb, o));
    // The verb as runc's flag tables read it: CLI11 gets only that verb's subcommand. Should
    // CLI11 read the line differently (it refuses it with only that subcommand), the full
    // command line is parsed again, so errors and help are those of the whole CLI.
    if (!verb.empty()) {
        Cli c;
        bool ok = make_cli(c, args, verb);
        try {
            if (ok)
                c.app.parse(parse_order(args));
        } catch (const CLI::Error &) {
            ok = false;
        }
        if (ok)
            leave(dispatch(c));
    }
    Cli c;
    make_cli(c, args, "");
    if (std::optional<int> done = parse(c, c.g.argv))
        leave(*done);
    leave(dispatch(c));
}
