#include "base/log.hpp"

#include "base/clock.hpp"
#include "base/error.hpp"
#include "base/strings.hpp"

#include <fcntl.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>

namespace urunc::log {
namespace {

struct State {
    int fd = 2;
    bool json = false;
    Level level = Level::info;
} g;

const char *name(Level l)
{
    switch (l) {
    case Level::debug: return "debug";
    case Level::info: return "info";
    case Level::warn: return "warning";
    case Level::error: return "error";
    }
    return "info";
}

void emit(int fd, Level l, std::string_view msg, bool json)
{
    std::string line;
    if (json) {
        line = "{\"level\":\"" + std::string(name(l)) + "\",\"msg\":" + json_quote(msg) +
               ",\"time\":\"" + rfc3339_now() + "\"}\n";
    } else {
        // One line per record: newlines in messages are folded.
        std::string m(msg);
        for (auto &c : m)
            if (c == '\n')
                c = ' ';
        line = fd == 2 && l == Level::error ? m + "\n"
                                            : "time=\"" + rfc3339_now() + "\" level=" + name(l) +
                                                  " msg=" + json_quote(m) + "\n";
    }
    // One write(2) per record: O_APPEND keeps concurrent writers' lines whole.
    ssize_t r = ::write(fd, line.data(), line.size());
    (void)r;
}

}  // namespace

std::optional<Level> level_named(std::string_view n)
{
    for (Level l : {Level::debug, Level::info, Level::warn, Level::error})
        if (n == name(l) || (l == Level::warn && n == "warn"))
            return l;
    return std::nullopt;
}

void setup(const Options &opts)
{
    g.json = opts.json;
    g.level = opts.level;
    if (!opts.file.empty()) {
        int fd = ::open(opts.file.c_str(), O_CREAT | O_WRONLY | O_APPEND | O_CLOEXEC, 0644);
        if (fd < 0)
            throw sys_error("open log file `" + opts.file + "`");
        if (g.fd > 2)
            ::close(g.fd);
        g.fd = fd;
    }
}

bool enabled(Level l) { return l >= g.level; }

void write(Level l, std::string_view msg)
{
    if (!enabled(l))
        return;
    emit(g.fd, l, msg, g.json);
}

void fatal(std::string_view msg)
{
    emit(g.fd, Level::error, msg, g.json);
    if (g.fd != 2) {
        std::string line(msg);
        line += '\n';
        ssize_t r = ::write(2, line.data(), line.size());
        (void)r;
    }
}

}  // namespace urunc::log
