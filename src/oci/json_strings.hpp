// Untrusted JSON documents (config.json, urunc.json) are walked once after parsing: every
// string, key or value, must be free of NUL bytes (they would silently cut a path, an
// argument or a cgroup name where it reaches a C string), and no value may nest deeper than
// a sane document ever does. Invalid UTF-8 is refused by the parser itself
// (kParseValidateEncodingFlag). The walk is iterative: the image chooses the depth.
#pragma once

#include <rapidjson/document.h>

#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace urunc::oci {

inline constexpr size_t kMaxJsonDepth = 64;

// "" when the document is fine, else "<path>: <why>" (path like `process.args[0]`).
inline std::string json_strings_problem(const rapidjson::Value &doc,
                                        size_t max_depth = kMaxJsonDepth)
{
    struct Frame {
        const rapidjson::Value *v;
        std::string path;
        size_t depth;
    };
    auto has_nul = [](const rapidjson::Value &s) {
        return std::memchr(s.GetString(), '\0', s.GetStringLength()) != nullptr;
    };
    std::vector<Frame> stack{{&doc, "(root)", 0}};
    while (!stack.empty()) {
        Frame f = std::move(stack.back());
        stack.pop_back();
        if (f.depth > max_depth)
            return f.path + ": nested deeper than " + std::to_string(max_depth) + " levels";
        // Paths stop growing after a few levels: a message names where, not all of a deep one.
        const bool cut = f.depth >= 4;
        const std::string prefix = f.path == "(root)" ? "" : f.path;
        auto child = [&](const std::string &step) {
            if (cut)
                return f.depth == 4 ? prefix + "..." : prefix;
            return step.front() == '[' || prefix.empty() ? prefix + step : prefix + "." + step;
        };
        if (f.v->IsString()) {
            if (has_nul(*f.v))
                return f.path + ": the string contains a NUL byte";
        } else if (f.v->IsObject()) {
            for (const auto &m : f.v->GetObject()) {
                std::string name(m.name.GetString(), m.name.GetStringLength());
                std::string p = child(name);
                if (has_nul(m.name))
                    return p.substr(0, p.find('\0')) + "...: a key contains a NUL byte";
                stack.push_back({&m.value, std::move(p), f.depth + 1});
            }
        } else if (f.v->IsArray()) {
            for (rapidjson::SizeType i = 0; i < f.v->Size(); ++i)
                stack.push_back({&(*f.v)[i], child("[" + std::to_string(i) + "]"), f.depth + 1});
        }
    }
    return "";
}

}  // namespace urunc::oci
