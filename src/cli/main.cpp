// The CLI: parse runc-compatible arguments and call src/oci. No logic lives here.
// CLI11 is kept to this one translation unit (it costs 10-16 s to compile).
#include "base/error.hpp"
#include "base/log.hpp"
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
#include <set>
#include <string>
#include <vector>

namespace {

using namespace urunc;

// Go's flag package accepts "-flag" for "--flag"; go-runc emits e.g. "-no-subreaper".
std::vector<std::string> normalise_args(int argc, char **argv)
{
    static const std::set<std::string> longs = {
        "root", "log", "log-format", "debug", "systemd-cgroup", "rootless", "criu", "bundle",
        "pid-file", "console-socket", "no-pivot", "no-new-keyring", "detach", "force", "all",
        "format", "keep", "no-subreaper", "preserve-fds", "quiet", "help", "version"};
    std::vector<std::string> out;
    for (int i = 0; i < argc; ++i) {
        std::string a = argv[i];
        if (i > 0 && a.size() > 2 && a[0] == '-' && a[1] != '-') {
            std::string name = a.substr(1, a.find('=') == std::string::npos ? std::string::npos : a.find('=') - 1);
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
    oci::Globals g;
    g.argv = args;
    g.root = c.global("root").value_or(g.root);
    auto on = [&](const char *name) {
        auto v = c.global(name);
        return v && *v != "false";
    };
    g.systemd_cgroup = on("systemd-cgroup");
    oci::GlobalFlags f{c.global("log").value_or(""), c.global("log-format").value_or("text"), on("debug")};
    try {
        oci::apply_global_flags(g, f);
        return oci::raw_verb(g, c);
    } catch (const std::exception &e) {
        log::fatal(e.what());
        return 1;
    }
}

} // namespace

int main(int argc, char **argv)
{
    oci::ts::invoked();
    if (oci::is_raw_verb(oci::scan_command(std::vector<std::string>(argv, argv + argc)).verb))
        return raw_verb(argc, argv);
    std::vector<std::string> args = normalise_args(argc, argv);
    oci::Globals g;
    g.argv = args;
    oci::GlobalFlags gf;
    std::string rootless, criu;

    CLI::App app{"urunc: an OCI runtime for unikernels", "urunc"};
    app.set_version_flag("-v,--version", oci::version_text());
    app.add_option("--root", g.root, "root directory for container state");
    app.add_option("--log", gf.log_file, "log file (default: stderr)");
    app.add_option("--log-format", gf.log_format, "log format: text or json");
    app.add_flag("--debug", gf.debug, "debug logging");
    app.add_flag("--systemd-cgroup", g.systemd_cgroup, "cgroupsPath is slice:prefix:name");
    app.add_option("--rootless", rootless, "accepted and ignored");
    app.add_option("--criu", criu, "accepted and ignored");
    app.require_subcommand(1);

    oci::RunOptions ro;
    oci::CreateOptions &co = ro.create;
    oci::StartOptions so;
    oci::StateOptions sto;
    oci::KillOptions ko;
    oci::DeleteOptions dopt;
    oci::ListOptions lo;
    std::string ps_format = "table";
    bool detach = false, no_subreaper = false;
    int preserve_fds = 0;

    auto add_create_flags = [&](CLI::App *c) {
        c->add_option("-b,--bundle", co.bundle, "bundle directory (default: cwd)");
        c->add_option("--pid-file", co.pid_file, "write the init pid here");
        c->add_option("--console-socket", co.console_socket, "AF_UNIX socket receiving the pty master");
        c->add_flag("--no-pivot", co.no_pivot, "accepted (the VMM always gets a private root)");
        c->add_flag("--no-new-keyring", co.no_new_keyring, "accepted and ignored");
        c->add_option("--preserve-fds", preserve_fds, "accepted and ignored");
        c->add_option("id", co.id, "container id")->required();
    };
    auto *create = app.add_subcommand("create", "create a container");
    add_create_flags(create);
    create->add_flag("-d,--detach", detach, "accepted (create always detaches)");
    auto *run = app.add_subcommand("run", "create and start a container");
    add_create_flags(run);
    run->add_flag("-d,--detach", ro.detach, "do not wait for the container");
    run->add_flag("--keep", ro.keep, "do not delete the container when it exits");
    run->add_flag("--no-subreaper", no_subreaper, "accepted and ignored");
    auto *start = app.add_subcommand("start", "start a created container");
    start->add_option("id", so.id)->required();
    auto *state = app.add_subcommand("state", "print the state of a container");
    state->add_option("id", sto.id)->required();
    auto *kill = app.add_subcommand("kill", "send a signal to the container");
    kill->add_flag("-a,--all", ko.all, "all processes of the container");
    kill->add_option("id", ko.id)->required();
    kill->add_option("signal", ko.signal, "signal name or number (default SIGTERM)");
    auto *del = app.add_subcommand("delete", "delete a container");
    del->add_flag("-f,--force", dopt.force, "kill it first if running");
    del->add_option("id", dopt.id)->required();
    auto *list = app.add_subcommand("list", "list containers");
    list->add_option("-f,--format", lo.format, "table or json");
    list->add_flag("-q,--quiet", lo.quiet, "ids only");
    auto *ps = app.add_subcommand("ps", "processes of a container: ps [--format F] ID [ps options]");
    ps->add_option("-f,--format", ps_format, "table or json");
    ps->prefix_command();  // as runc: flags stop at the id, the rest goes to ps
    auto *features = app.add_subcommand("features", "print the runtime's features (JSON)");
    // Listed for --help; main() hands them to raw_verb() before CLI11 parses anything.
    for (const char *verb : {"exec", "pause", "resume", "update", "checkpoint", "restore", "events", "spec"}) {
        auto *u = app.add_subcommand(verb, std::string(verb) + ": runc's for Linux containers, urunc's for unikernels");
        u->allow_extras();
        u->prefix_command();
    }

    std::vector<std::string> rev(args.rbegin(), args.rend() - 1);
    try {
        app.parse(rev);
    } catch (const CLI::CallForVersion &) {
        std::fputs(oci::version_text().c_str(), stdout);
        return 0;
    } catch (const CLI::Success &) {
        std::fputs(app.help().c_str(), stdout);
        return 0;
    } catch (const CLI::ParseError &e) {
        try {
            log::setup({gf.log_file, gf.log_format == "json", log::Level::info});
        } catch (const Error &) {
        }
        log::fatal(std::string("usage: ") + e.what());
        return 1;
    }

    try {
        oci::apply_global_flags(g, gf);
        if (*create)
            return oci::create(g, co);
        if (*run)
            return oci::run(g, ro);
        if (*start)
            return oci::start(g, so);
        if (*state)
            return oci::state(g, sto);
        if (*kill)
            return oci::kill(g, ko);
        if (*del)
            return oci::remove(g, dopt);
        if (*list)
            return oci::list(g, lo);
        if (*ps)
            return oci::ps(g, oci::ps_options(ps_format, ps->remaining()));
        if (*features)
            return oci::features();
    } catch (const std::exception &e) {
        log::fatal(e.what());
        return 1;
    }
    return 1;
}
