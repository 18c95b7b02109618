#include "scratch_netns.hpp"

#include "base/error.hpp"
#include "base/fd.hpp"
#include "base/file.hpp"

#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <stdexcept>

namespace urunc::net::test {

namespace {

// Values travel one per line; keep them on one.
std::string one_line(std::string v)
{
    for (char &c : v)
        if (c == '\n')
            c = '|';
    return v;
}

void child(int wfd, const std::function<void(Facts &)> &body)
{
    Facts facts;
    try {
        if (::unshare(CLONE_NEWNET | CLONE_NEWNS) < 0)
            throw sys_error("unshare(CLONE_NEWNET|CLONE_NEWNS)");
        if (::mount(nullptr, "/", nullptr, MS_PRIVATE | MS_REC, nullptr) < 0)
            throw sys_error("make `/` rprivate");
        // sysfs shows the network namespace of whoever mounted it: mount a fresh one.
        if (::mount("sysfs", "/sys", "sysfs", 0, nullptr) < 0)
            throw sys_error("mount sysfs on `/sys`");
        body(facts);
    } catch (const std::exception &e) {
        facts["exception"] = e.what();
    }
    std::string out;
    for (const auto &[k, v] : facts)
        out += k + "=" + one_line(v) + "\n";
    try {
        write_all(wfd, out, "facts pipe");
    } catch (...) {
        ::_exit(3);
    }
    ::_exit(0);
}

}  // namespace

Facts in_scratch_netns(const std::function<void(Facts &)> &body)
{
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0)
        throw sys_error("pipe2");
    UniqueFd r(p[0]), w(p[1]);
    std::fflush(nullptr);  // no buffered output printed twice
    pid_t pid = ::fork();
    if (pid < 0)
        throw sys_error("fork");
    if (pid == 0)
        child(w.get(), body);
    w.reset();
    std::string text = read_fd(r.get(), "facts pipe");
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {}

    Facts facts;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t nl = text.find('\n', pos);
        std::string line = text.substr(pos, nl - pos);
        pos = nl == std::string::npos ? text.size() : nl + 1;
        size_t eq = line.find('=');
        if (eq != std::string::npos)
            facts[line.substr(0, eq)] = line.substr(eq + 1);
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        facts["status"] = std::to_string(status);
    return facts;
}

std::string sh(const std::string &cmd)
{
    FILE *f = ::popen((cmd + " 2>&1").c_str(), "r");
    if (!f)
        throw sys_error("popen `" + cmd + "`");
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0)
        out.append(buf, n);
    int rc = ::pclose(f);
    if (rc != 0)
        throw std::runtime_error("`" + cmd + "` failed (" + std::to_string(rc) + "): " + out);
    return out;
}

std::string slurp(const std::string &path)
{
    try {
        std::string s = read_file(path);
        if (!s.empty() && s.back() == '\n')
            s.pop_back();
        return s;
    } catch (const Error &) {
        return "<missing>";
    }
}

}  // namespace urunc::net::test
