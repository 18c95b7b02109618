#include "base/clock.hpp"

#include <cstdio>
#include <ctime>

namespace urunc {

std::string rfc3339_now()
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char buf[64];
    size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, sizeof buf - n, ".%09ldZ", ts.tv_nsec);
    return buf;
}

}  // namespace urunc
