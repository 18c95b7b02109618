#include "linux/cgroup_update.hpp"

#include "base/error.hpp"
#include "base/file.hpp"
#include "base/strings.hpp"
#include "oci/json_error.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <rapidjson/document.h>

#include <algorithm>
#include <cctype>
#include <limits>

namespace urunc::linux {
using oci::json_parse_error;

namespace {

std::optional<std::string> with(const std::vector<std::string> &dirs, const std::string &file)
{
    for (const auto &d : dirs)
        if (path_exists(d + "/" + file))
            return d;
    return std::nullopt;
}

void write_value(const std::string &dir, const char *file, const std::string &value)
{
    std::string path = dir + "/" + file;
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
    if (!fd)
        throw sys_error("update: open `" + path + "`");
    if (::write(fd.get(), value.data(), value.size()) < 0)
        throw sys_error("update: write " + value + " to `" + path + "`");
}

int64_t read_i64(const std::string &path)
{
    std::string v(trim(read_file(path)));
    if (v == "max")
        return -1;
    try {
        uint64_t u = std::stoull(v);
        return u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
                   ? -1
                   : static_cast<int64_t>(u);
    } catch (const std::exception &) {
        throw Error("update: `" + path + "`: not a number: " + v);
    }
}

[[noreturn]] void no_controller(const char *c)
{
    throw Error(std::string("update: cannot set ") + c + " limit: the container has no " + c +
                " cgroup");
}

void update_memory(const std::vector<std::string> &dirs, const ResourceUpdate &u)
{
    if (!u.memory && !u.memory_swap && !u.memory_reservation)
        return;
    auto str = [](int64_t v) { return std::to_string(v); };
    if (auto d = with(dirs, "memory.limit_in_bytes")) {
        bool memsw = path_exists(*d + "/memory.memsw.limit_in_bytes");
        if (u.memory_swap && !memsw)
            throw Error("update: cannot set a memory+swap limit: swap accounting is off on this "
                        "host (no memory.memsw.limit_in_bytes)");
        if (u.memory && u.memory_swap) {
            // memsw must stay >= the memory limit at every step: raise memsw first when the
            // new memory limit is above the current memsw limit.
            int64_t cur_sw = read_i64(*d + "/memory.memsw.limit_in_bytes");
            bool sw_first = *u.memory == -1 || (cur_sw != -1 && *u.memory > cur_sw);
            if (sw_first) {
                write_value(*d, "memory.memsw.limit_in_bytes", str(*u.memory_swap));
                write_value(*d, "memory.limit_in_bytes", str(*u.memory));
            } else {
                write_value(*d, "memory.limit_in_bytes", str(*u.memory));
                write_value(*d, "memory.memsw.limit_in_bytes", str(*u.memory_swap));
            }
        } else if (u.memory) {
            write_value(*d, "memory.limit_in_bytes", str(*u.memory));
        } else if (u.memory_swap) {
            write_value(*d, "memory.memsw.limit_in_bytes", str(*u.memory_swap));
        }
        if (u.memory_reservation)
            write_value(*d, "memory.soft_limit_in_bytes", str(*u.memory_reservation));
        return;
    }
    if (auto d = with(dirs, "memory.max")) {
        auto v2 = [](int64_t v) { return v < 0 ? std::string("max") : std::to_string(v); };
        if (u.memory_swap) {
            // OCI gives memory+swap; cgroup2 wants the swap part alone.
            int64_t mem = u.memory ? *u.memory : read_i64(*d + "/memory.max");
            if (!path_exists(*d + "/memory.swap.max"))
                throw Error("update: cannot set a memory+swap limit: no memory.swap.max in `" + *d +
                            "`");
            std::string swap;
            if (*u.memory_swap < 0)
                swap = "max";
            else if (mem < 0 || *u.memory_swap < mem)
                throw Error("update: memory+swap limit " + str(*u.memory_swap) +
                            " needs a memory limit no larger than it");
            else
                swap = str(*u.memory_swap - mem);
            if (u.memory)
                write_value(*d, "memory.max", v2(*u.memory));
            write_value(*d, "memory.swap.max", swap);
        } else if (u.memory) {
            write_value(*d, "memory.max", v2(*u.memory));
        }
        if (u.memory_reservation)
            write_value(*d, "memory.low", v2(*u.memory_reservation));
        return;
    }
    no_controller("memory");
}

void update_cpu(const std::vector<std::string> &dirs, const ResourceUpdate &u)
{
    if (!u.cpu_shares && !u.cpu_quota && !u.cpu_period)
        return;
    if (auto d = with(dirs, "cpu.cfs_quota_us")) {
        if (u.cpu_shares)
            write_value(*d, "cpu.shares", std::to_string(*u.cpu_shares));
        // A period shorter than the current quota is refused by the kernel and vice versa:
        // on failure try the other order.
        auto apply = [&](bool period_first) {
            if (period_first && u.cpu_period)
                write_value(*d, "cpu.cfs_period_us", std::to_string(*u.cpu_period));
            if (u.cpu_quota)
                write_value(*d, "cpu.cfs_quota_us", std::to_string(*u.cpu_quota));
            if (!period_first && u.cpu_period)
                write_value(*d, "cpu.cfs_period_us", std::to_string(*u.cpu_period));
        };
        try {
            apply(true);
        } catch (const Error &) {
            apply(false);
        }
        return;
    }
    if (auto d = with(dirs, "cpu.max")) {
        if (u.cpu_shares) {  // runc's shares [2, 262144] -> weight [1, 10000]
            uint64_t s = std::clamp<uint64_t>(*u.cpu_shares, 2, 262144);
            write_value(*d, "cpu.weight", std::to_string(1 + ((s - 2) * 9999) / 262142));
        }
        if (u.cpu_quota || u.cpu_period) {
            auto cur = split_ws(read_file(*d + "/cpu.max"));
            std::string quota = cur.size() == 2 ? cur[0] : "max";
            std::string period = cur.size() == 2 ? cur[1] : "100000";
            if (u.cpu_quota)
                quota = *u.cpu_quota > 0 ? std::to_string(*u.cpu_quota) : "max";
            if (u.cpu_period)
                period = std::to_string(*u.cpu_period);
            write_value(*d, "cpu.max", quota + " " + period);
        }
        return;
    }
    no_controller("cpu");
}

}  // namespace

bool ResourceUpdate::empty() const
{
    return !memory && !memory_swap && !memory_reservation && !cpu_shares && !cpu_quota &&
           !cpu_period && !cpuset_cpus && !cpuset_mems && !pids_limit && unsupported.empty();
}

int64_t parse_size(const std::string &flag, const std::string &value)
{
    if (value == "-1")
        return -1;
    size_t i = 0;
    while (i < value.size() && std::isdigit(static_cast<unsigned char>(value[i])))
        ++i;
    if (i == 0)
        throw Error("update: invalid value for " + flag + ": `" + value + "`");
    std::string suffix = value.substr(i);
    for (auto &c : suffix)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    int shift = 0;
    static const std::string units = "kmgtp";
    if (!suffix.empty()) {
        auto p = units.find(suffix[0]);
        std::string rest = suffix.substr(1);
        if (suffix == "b") {
            shift = 0;
        } else if (p == std::string::npos || !(rest.empty() || rest == "b" || rest == "ib")) {
            throw Error("update: invalid value for " + flag + ": `" + value + "`");
        } else {
            shift = 10 * static_cast<int>(p + 1);
        }
    }
    uint64_t n;
    try {
        n = std::stoull(value.substr(0, i));
    } catch (const std::exception &) {
        throw Error("update: invalid value for " + flag + ": `" + value + "`");
    }
    if (shift && n > (static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) >> shift))
        throw Error("update: value for " + flag + " is too large: `" + value + "`");
    return static_cast<int64_t>(n << shift);
}

ResourceUpdate parse_resources_json(std::string_view json)
{
    rapidjson::Document d;
    d.Parse(json.data(), json.size());
    if (d.HasParseError())
        throw Error("update: resources JSON: " + json_parse_error(d.GetParseError()) +
                    " at offset " + std::to_string(d.GetErrorOffset()));
    if (!d.IsObject())
        throw Error("update: resources JSON: expected an object");
    ResourceUpdate u;
    auto obj = [&](const char *k) -> const rapidjson::Value * {
        auto it = d.FindMember(k);
        if (it == d.MemberEnd() || it->value.IsNull())
            return nullptr;
        if (!it->value.IsObject())
            throw Error(std::string("update: resources JSON: ") + k + ": expected an object");
        return &it->value;
    };
    auto i64 = [](const rapidjson::Value &o, const char *k,
                  const std::string &where) -> std::optional<int64_t> {
        auto it = o.FindMember(k);
        if (it == o.MemberEnd() || it->value.IsNull())
            return std::nullopt;
        if (!it->value.IsInt64())
            throw Error("update: resources JSON: " + where + "." + k + ": expected an integer");
        return it->value.GetInt64();
    };
    auto u64v = [](const rapidjson::Value &o, const char *k,
                   const std::string &where) -> std::optional<uint64_t> {
        auto it = o.FindMember(k);
        if (it == o.MemberEnd() || it->value.IsNull())
            return std::nullopt;
        if (!it->value.IsUint64())
            throw Error("update: resources JSON: " + where + "." + k +
                        ": expected an unsigned integer");
        return it->value.GetUint64();
    };
    auto str = [](const rapidjson::Value &o, const char *k,
                  const std::string &where) -> std::optional<std::string> {
        auto it = o.FindMember(k);
        if (it == o.MemberEnd() || it->value.IsNull())
            return std::nullopt;
        if (!it->value.IsString())
            throw Error("update: resources JSON: " + where + "." + k + ": expected a string");
        std::string s = it->value.GetString();
        if (s.empty())
            return std::nullopt;  // runc: "" leaves the value as it is
        return s;
    };
    // runc treats 0 as "unchanged" for every numeric field.
    auto nz = [](auto v) { return v && *v != 0 ? v : decltype(v){}; };
    if (auto *m = obj("memory")) {
        u.memory = nz(i64(*m, "limit", "memory"));
        u.memory_swap = nz(i64(*m, "swap", "memory"));
        u.memory_reservation = nz(i64(*m, "reservation", "memory"));
        if (nz(i64(*m, "kernel", "memory")))
            u.unsupported.push_back("memory.kernel");
        if (nz(i64(*m, "kernelTCP", "memory")))
            u.unsupported.push_back("memory.kernelTCP");
    }
    if (auto *c = obj("cpu")) {
        u.cpu_shares = nz(u64v(*c, "shares", "cpu"));
        u.cpu_quota = nz(i64(*c, "quota", "cpu"));
        u.cpu_period = nz(u64v(*c, "period", "cpu"));
        u.cpuset_cpus = str(*c, "cpus", "cpu");
        u.cpuset_mems = str(*c, "mems", "cpu");
        if (nz(i64(*c, "realtimeRuntime", "cpu")) || nz(u64v(*c, "realtimePeriod", "cpu")))
            u.unsupported.push_back("cpu realtime");
    }
    if (auto *p = obj("pids"))
        u.pids_limit = nz(i64(*p, "limit", "pids"));
    if (auto *b = obj("blockIO")) {
        auto it = b->FindMember("weight");
        if (it != b->MemberEnd() && it->value.IsUint() && it->value.GetUint() != 0)
            u.unsupported.push_back("blockIO.weight");
    }
    return u;
}

void update_cgroup(const std::vector<std::string> &dirs, const ResourceUpdate &u)
{
    update_memory(dirs, u);
    update_cpu(dirs, u);
    if (u.cpuset_cpus || u.cpuset_mems) {
        auto d = with(dirs, "cpuset.cpus");
        if (!d)
            no_controller("cpuset");
        if (u.cpuset_cpus)
            write_value(*d, "cpuset.cpus", *u.cpuset_cpus);
        if (u.cpuset_mems)
            write_value(*d, "cpuset.mems", *u.cpuset_mems);
    }
    if (u.pids_limit) {
        auto d = with(dirs, "pids.max");
        if (!d)
            no_controller("pids");
        write_value(*d, "pids.max", *u.pids_limit > 0 ? std::to_string(*u.pids_limit) : "max");
    }
}

}  // namespace urunc::linux
