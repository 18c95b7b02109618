// Logging: text or JSON lines (level, msg, time RFC 3339) to --log or stderr.
// The log fd is O_CLOEXEC so no child (VMM, hook) ever writes into it.
#pragma once

#include <fmt/format.h>

#include <optional>
#include <string>
#include <string_view>

namespace urunc::log {

enum class Level { debug = 0, info = 1, warn = 2, error = 3 };

struct Options {
    std::string file;  // empty: stderr
    bool json = false;
    Level level = Level::info;
};

// "debug", "info", "warn" or "error"; nullopt for anything else.
std::optional<Level> level_named(std::string_view name);

// Configure once from the CLI. Throws Error if the file cannot be opened.
void setup(const Options &opts);
bool enabled(Level l);
void write(Level l, std::string_view msg);

// The fatal path: an error line in the log, and the bare message on stderr when the log
// is a file (runc does the same; shims read either).
void fatal(std::string_view msg);

template <typename... A> void debug(fmt::format_string<A...> f, A &&...a)
{
    if (enabled(Level::debug))
        write(Level::debug, fmt::format(f, std::forward<A>(a)...));
}
template <typename... A> void info(fmt::format_string<A...> f, A &&...a)
{
    if (enabled(Level::info))
        write(Level::info, fmt::format(f, std::forward<A>(a)...));
}
template <typename... A> void warn(fmt::format_string<A...> f, A &&...a)
{
    if (enabled(Level::warn))
        write(Level::warn, fmt::format(f, std::forward<A>(a)...));
}
template <typename... A> void error(fmt::format_string<A...> f, A &&...a)
{
    write(Level::error, fmt::format(f, std::forward<A>(a)...));
}

}  // namespace urunc::log
