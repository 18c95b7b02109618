// Error type for the whole runtime: one line, with context and errno text.
// Convention: "<verb> `<path>`: <strerror>" and wrapping as "<outer>: <inner>".
#pragma once

#include <cerrno>
#include <stdexcept>
#include <string>
#include <string_view>

namespace urunc {

class Error : public std::runtime_error {
public:
    explicit Error(const std::string &msg, int err = 0) : std::runtime_error(msg), errno_(err) {}
    int code() const noexcept { return errno_; }

private:
    int errno_;
};

// "context: strerror(err)"; err defaults to the current errno.
Error sys_error(std::string_view context, int err = errno);

// Prefix an error with more context: "outer: inner", keeping its errno.
Error wrap(std::string_view outer, const Error &inner);

}  // namespace urunc
