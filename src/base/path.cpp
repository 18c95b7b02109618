#include "base/path.hpp"

#include <vector>

namespace urunc {

namespace {

// The names of p after cleaning; `keep_up` keeps ".." that climb above a relative start.
std::vector<std::string_view> clean_parts(std::string_view p, bool keep_up)
{
    const bool rooted = !p.empty() && p.front() == '/';
    std::vector<std::string_view> out;
    while (!p.empty()) {
        auto slash = p.find('/');
        std::string_view part = p.substr(0, slash);
        if (part == "..") {
            if (!out.empty() && out.back() != "..")
                out.pop_back();
            else if (!rooted && keep_up)
                out.push_back(part);
        } else if (!part.empty() && part != ".") {
            out.push_back(part);
        }
        if (slash == std::string_view::npos)
            break;
        p.remove_prefix(slash + 1);
    }
    return out;
}

std::string joined(const std::vector<std::string_view> &parts, bool rooted)
{
    std::string out = rooted ? "/" : "";
    for (size_t i = 0; i < parts.size(); ++i) {
        if (i)
            out += '/';
        out += parts[i];
    }
    return out;
}

}  // namespace

std::string clean_path(std::string_view p)
{
    const bool rooted = !p.empty() && p.front() == '/';
    std::string r = joined(clean_parts(p, true), rooted);
    return r.empty() ? "." : r;
}

std::string clean_path_within(std::string_view p)
{
    const bool rooted = !p.empty() && p.front() == '/';
    return joined(clean_parts(p, false), rooted);
}

std::string normalize_path(std::string_view path) { return joined(clean_parts(path, false), true); }

}  // namespace urunc
