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

#include <cstdio>
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

// The command line as CLI11 reads it: the global flags, each verb's options, and the
// verbs' subcommands (set by parse: the one given is true).
struct Cli {
    CLI::App app{"urunc: an OCI runtime for unikernels", "urunc"};
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
    bool detach = false, no_subreaper = false;
    int preserve_fds = 0;
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

// The verb given, called with its options.
int dispatch(Cli &c)
{
    // Only the given verb's subcommand may exist (add_verbs).
    auto given = [](const CLI::App *sub) { return sub && sub->parsed(); };
    try {
        container::apply_global_flags(c.g, c.gf);
        if (given(c.create))
            return container::create(c.g, c.co);
        if (given(c.run))
            return container::run(c.g, c.ro);
        if (given(c.start))
            return container::start(c.g, c.so);
        if (given(c.state))
            return container::state(c.g, c.sto);
        if (given(c.kill))
            return container::kill(c.g, c.ko);
        if (given(c.del))
            return container::remove(c.g, c.dopt);
        if (given(c.list))
            return container::list(c.g, c.lo);
        if (given(c.ps))
            return container::ps(c.g, container::ps_options(c.ps_format, c.ps->remaining()));
        if (given(c.features))
            return container::features();
    } catch (const std::exception &e) {
        log::fatal(e.what());
        return 1;
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
    ::_exit(status);
}

int main(int argc, char **argv)
{
    container::ts::invoked();
    std::string verb = oci::scan_command(std::vector<std::string>(argv, argv + argc)).verb;
    if (oci::is_raw_verb(verb))
        leave(raw_verb(argc, argv));
    std::vector<std::string> args = normalise_args(argc, argv);
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
