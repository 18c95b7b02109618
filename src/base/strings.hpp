// Small string helpers.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace urunc {

std::vector<std::string> split(std::string_view s, char sep);
std::vector<std::string> split_ws(std::string_view s);  // on runs of blanks, no empties
std::string join(const std::vector<std::string> &parts, std::string_view sep);
std::string_view trim(std::string_view s);
bool starts_with(std::string_view s, std::string_view prefix);

// Strict RFC 4648 base64 (standard alphabet, padding required); nullopt if invalid.
std::optional<std::string> base64_decode(std::string_view in);

// JSON string escaping (quotes included).
std::string json_quote(std::string_view s);

// Shell-style quoting for log lines: a b 'c d'.
std::string argv_to_string(const std::vector<std::string> &argv);

}  // namespace urunc
