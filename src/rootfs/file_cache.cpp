#include "rootfs/file_cache.hpp"

#include "base/error.hpp"
#include "base/fd.hpp"
#include "base/file.hpp"
#include "base/strings.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>

namespace urunc::rootfs {
namespace {

constexpr std::string_view kMagic = "urunc-file-cache 1";
constexpr size_t kMaxEntry = 1024 * 1024;

// FNV-1a over the key's strings, each ended by a NUL: a stable name for the entry.
std::string key_hash(const std::vector<std::string> &key)
{
    uint64_t h = 14695981039346656037ull;
    for (const auto &k : key) {
        for (unsigned char c : k)
            h = (h ^ c) * 1099511628211ull;
        h = (h ^ 0) * 1099511628211ull;
    }
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
    return buf;
}

// What identifies a file's content without reading it; "" when it does not exist.
std::string identity(const std::string &path)
{
    struct stat st;
    if (::stat(path.c_str(), &st) < 0)
        return {};
    char buf[160];
    std::snprintf(buf, sizeof buf, "%llu %llu %lld %lld.%09ld %lld.%09ld",
                  static_cast<unsigned long long>(st.st_dev),
                  static_cast<unsigned long long>(st.st_ino), static_cast<long long>(st.st_size),
                  static_cast<long long>(st.st_mtim.tv_sec), st.st_mtim.tv_nsec,
                  static_cast<long long>(st.st_ctim.tv_sec), st.st_ctim.tv_nsec);
    return buf;
}

bool has_newline(const std::string &s) { return s.find('\n') != std::string::npos; }

// The entry's text, or "" when it is not ours to trust (see the header).
std::string read_entry(const std::string &file)
{
    UniqueFd fd(::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    struct stat st;
    if (!fd || ::fstat(fd.get(), &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != ::geteuid() ||
        (st.st_mode & 022) != 0 || static_cast<size_t>(st.st_size) > kMaxEntry)
        return {};
    try {
        return read_fd(fd.get(), file, kMaxEntry);
    } catch (const Error &) {
        return {};
    }
}

}  // namespace

FileCache::FileCache(std::string dir, std::vector<std::string> key)
    : dir_(std::move(dir)), key_(std::move(key))
{
    if (!dir_.empty())
        file_ = join_path(dir_, key_hash(key_));
}

std::optional<CachedLists> FileCache::load() const
{
    if (file_.empty())
        return std::nullopt;
    std::string text = read_entry(file_);
    auto lines = split(text, '\n');
    if (lines.empty() || lines[0] != kMagic)
        return std::nullopt;
    CachedLists out;
    size_t keys = 0;
    for (size_t i = 1; i < lines.size(); ++i) {
        std::string_view line = lines[i];
        if (line.empty())
            continue;
        if (line.size() < 2 || line[1] != ' ')
            return std::nullopt;
        std::string_view rest = line.substr(2);
        switch (line[0]) {
        case 'K':  // the key, in order
            if (keys >= key_.size() || rest != key_[keys++])
                return std::nullopt;
            break;
        case 'W': {  // a watched file: "<identity> <path>", identity has five fields
            size_t at = 0;
            for (int f = 0; f < 5 && at != std::string_view::npos; ++f)
                at = rest.find(' ', at + (f ? 1 : 0));
            if (at == std::string_view::npos ||
                identity(std::string(rest.substr(at + 1))) != rest.substr(0, at))
                return std::nullopt;
            break;
        }
        case 'A':  // a watched file that did not exist
            if (path_exists(std::string(rest)))
                return std::nullopt;
            break;
        case 'V': {  // "<list> <value>"
            size_t sp = rest.find(' ');
            if (sp == std::string_view::npos)
                return std::nullopt;
            out[std::string(rest.substr(0, sp))].emplace_back(rest.substr(sp + 1));
            break;
        }
        default: return std::nullopt;
        }
    }
    if (keys != key_.size())
        return std::nullopt;
    return out;
}

void FileCache::store(const std::vector<std::string> &watched,
                      const CachedLists &lists) const noexcept
{
    if (file_.empty())
        return;
    try {
        std::string text = std::string(kMagic) + "\n";
        for (const auto &k : key_) {
            if (has_newline(k))
                return;
            text += "K " + k + "\n";
        }
        for (const auto &w : watched) {
            if (has_newline(w))
                return;
            std::string id = identity(w);
            text += (id.empty() ? "A " : "W " + id + " ") + w + "\n";
        }
        for (const auto &[name, values] : lists) {
            if (name.empty() || name.find_first_of(" \n") != std::string::npos)
                return;
            for (const auto &v : values) {
                if (has_newline(v))
                    return;
                text += "V " + name + " " + v + "\n";
            }
        }
        mkdir_p(dir_, 0700);
        write_file_atomic(file_, text, 0600);
    } catch (...) {
        // Best effort, see the header.
    }
}

}  // namespace urunc::rootfs
