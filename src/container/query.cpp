// state, list, ps: read-only views; nothing on stderr on success.
#include "container/container_ops.hpp"

#include "base/dir.hpp"
#include "base/error.hpp"
#include "base/subprocess.hpp"
#include "base/file.hpp"
#include "base/strings.hpp"
#include "linux/cgroup.hpp"
#include "container/runc.hpp"

#include <dirent.h>
#include <pwd.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <set>

namespace urunc::container {
using oci::State;
using oci::Status;
using oci::oci_state_json;
using oci::to_string;
using oci::valid_id;
using linux::cgroup_from_json;
using linux::cgroup_pids;

namespace {

void print(const std::string &s) { write_all(1, s, "stdout"); }

}  // namespace

void ours_or_runc(const Globals &g, const std::string &id)
{
    if (!valid_id(id))
        throw Error("invalid container id `" + id + "`");
    // runc's state under the same --root: the whole command line goes to runc.
    std::string p = g.root + "/" + id + "/state.json";
    struct stat st;
    if (::stat(p.c_str(), &st) == 0 && !is_urunc_state(g.root, id))
        exec_runc(g.argv);
}

namespace {

std::string owner_name(const std::string &dir)
{
    struct stat st;
    if (::stat(dir.c_str(), &st) < 0)
        return "";
    struct passwd pw, *res = nullptr;
    char buf[4096];
    if (::getpwuid_r(st.st_uid, &pw, buf, sizeof buf, &res) == 0 && res)
        return res->pw_name;
    return "#" + std::to_string(st.st_uid);
}

// The state of a container for a read-only verb: no lock (state.json is replaced
// atomically, and a reader must not wait on a create in progress).
State load_for_read(const Globals &g, const std::string &id)
{
    ours_or_runc(g, id);
    check_state_root(g.root);
    if (UniqueFd fd(
            ::open((g.root + "/" + id).c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        fd)
        check_trusted_dir(fd.get(), g.root + "/" + id);
    try {
        return StateDir::open_unlocked_load(g.root + "/" + id);
    } catch (const Error &) {
        throw Error("container does not exist");
    }
}

}  // namespace

int state(const Globals &g, const StateOptions &o)
{
    const std::string &id = o.id;
    State st = load_for_read(g, id);
    std::string dir = g.root + "/" + id;
    print(oci_state_json(st, live_status(st, dir), true));
    return 0;
}

int list(const Globals &g, const ListOptions &o)
{
    const std::string &format = o.format;
    bool quiet = o.quiet;
    std::vector<std::pair<State, Status>> items;
    std::vector<std::string> owners;
    check_state_root(g.root);
    if (UniqueDir d = UniqueDir::open(g.root)) {
        while (const dirent *e = d.next()) {
            std::string id = e->d_name;
            if (!valid_id(id) || !is_urunc_state(g.root, id))
                continue;
            try {
                State st = StateDir::open_unlocked_load(g.root + "/" + id);
                items.emplace_back(st, live_status(st, g.root + "/" + id));
                owners.push_back(owner_name(g.root + "/" + id));
            } catch (const Error &) {
            }
        }
    }
    std::vector<size_t> order(items.size());
    for (size_t i = 0; i < order.size(); ++i)
        order[i] = i;
    std::sort(order.begin(), order.end(),
              [&](size_t a, size_t b) { return items[a].first.id < items[b].first.id; });
    std::string out;
    if (quiet) {
        for (size_t i : order)
            out += items[i].first.id + "\n";
    } else if (format == "json") {
        if (items.empty()) {
            out = "null\n";
        } else {
            out = "[";
            for (size_t i : order)
                out += (out.size() > 1 ? "," : "") +
                       oci_state_json(items[i].first, items[i].second, false, owners[i]);
            out += "]\n";
        }
    } else {
        out = "ID          PID         STATUS      BUNDLE      CREATED     OWNER\n";
        for (size_t i : order) {
            const auto &[st, s] = items[i];
            char line[8192];
            std::snprintf(line, sizeof line, "%-11s %-11d %-11s %-11s %-11s %s\n", st.id.c_str(),
                          s == Status::stopped ? 0 : st.pid, to_string(s), st.bundle.c_str(),
                          st.created.c_str(), owners[i].c_str());
            out += line;
        }
    }
    print(out);
    return 0;
}

PsOptions ps_options(const std::string &format, std::vector<std::string> rest)
{
    if (!rest.empty() && rest.front() == "--")
        rest.erase(rest.begin());
    if (rest.empty())
        throw Error("ps: a container id is required");
    PsOptions o;
    o.format = format;
    o.id = rest.front();
    rest.erase(rest.begin());
    if (!rest.empty() && rest.front() == "--")
        rest.erase(rest.begin());
    o.ps_args = std::move(rest);
    return o;
}

int ps(const Globals &g, const PsOptions &o)
{
    const std::string &id = o.id;
    const std::string &format = o.format;
    const std::vector<std::string> &ps_args = o.ps_args;
    State st = load_for_read(g, id);
    std::string dir = g.root + "/" + id;
    std::set<pid_t> pids;
    Status s = live_status(st, dir);
    if (s != Status::stopped) {
        pids.insert(st.pid);
        if (!st.cgroup.empty())
            for (pid_t p : cgroup_pids(cgroup_from_json(st.cgroup)))
                pids.insert(p);
    }
    if (format == "json") {
        std::string out = "[";
        for (pid_t p : pids)
            out += (out.size() > 1 ? "," : "") + std::to_string(p);
        print(out + "]\n");
        return 0;
    }
    if (format != "table" && !format.empty())
        throw Error("invalid format option `" + format + "`");
    // table: the host's ps, filtered to our pids (runc does the same).
    std::vector<std::string> args = {"ps"};
    if (ps_args.empty())
        args.push_back("-ef");
    args.insert(args.end(), ps_args.begin(), ps_args.end());
    ProcessOptions po;
    po.out = ProcessOptions::Out::capture;
    po.search_path = true;
    po.who = "urunc ps";
    po.max_output = 64 << 20;
    ProcessResult r = run_process(args, po);
    if (!r.ok())
        throw Error("ps " + args.back() + " failed");
    const std::string &text = r.out;
    auto lines = split(text, '\n');
    if (lines.empty())
        return 0;
    auto header = split_ws(lines[0]);
    auto col = std::find(header.begin(), header.end(), "PID");
    if (col == header.end())
        throw Error("ps output has no PID column");
    size_t idx = static_cast<size_t>(col - header.begin());
    std::string out = lines[0] + "\n";
    for (size_t i = 1; i < lines.size(); ++i) {
        auto f = split_ws(lines[i]);
        if (f.size() > idx && pids.count(std::atoi(f[idx].c_str())))
            out += lines[i] + "\n";
    }
    print(out);
    return 0;
}

}  // namespace urunc::container
