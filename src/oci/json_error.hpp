#pragma once

#include <rapidjson/error/en.h>

#include <string>

namespace urunc::oci {

// RapidJSON's message without its final period: ours continue after it.
inline std::string json_parse_error(rapidjson::ParseErrorCode code)
{
    std::string m = rapidjson::GetParseError_En(code);
    if (!m.empty() && m.back() == '.')
        m.pop_back();
    return m;
}

}  // namespace urunc::oci
