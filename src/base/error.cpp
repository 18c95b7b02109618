#include "base/error.hpp"

#include <cstring>

namespace urunc {

Error sys_error(std::string_view context, int err)
{
    std::string msg(context);
    msg += ": ";
    msg += std::strerror(err);
    return Error(msg, err);
}

Error wrap(std::string_view outer, const Error &inner)
{
    std::string msg(outer);
    msg += ": ";
    msg += inner.what();
    return Error(msg, inner.code());
}

}  // namespace urunc
