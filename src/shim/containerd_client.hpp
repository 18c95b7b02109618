// The few containerd API calls the view shim makes, over containerd's gRPC socket, each
// with the namespace header and a deadline. Errors are ContainerdError with the gRPC code,
// so that NotFound/AlreadyExists can be told apart from real failures.
#pragma once

#include "base/error.hpp"

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace urunc::shim {

class ContainerdError : public Error {
public:
    ContainerdError(const std::string &msg, int grpc_code) : Error(msg), grpc_code_(grpc_code) {}
    bool not_found() const { return grpc_code_ == 5; }       // grpc::NOT_FOUND
    bool already_exists() const { return grpc_code_ == 6; }  // grpc::ALREADY_EXISTS

private:
    int grpc_code_;
};

struct ContainerInfo {
    std::string snapshotter, snapshot_key;
    std::map<std::string, std::string> labels;
};

struct SnapshotInfo {
    std::string name, parent;
    int kind = 0;  // 1 view, 2 active, 3 committed
};

struct MountSpec {
    std::string type, source;
    std::vector<std::string> options;
};

// Calls made by this process so far and their total wall time (connect included): how much
// of the shim's time is containerd's and its snapshotter's.
struct RpcStats {
    int calls = 0;
    std::chrono::microseconds time{0};
};
RpcStats rpc_stats();

class Containerd {
public:
    Containerd(const std::string &address, const std::string &ns,
               std::chrono::milliseconds timeout = std::chrono::seconds(10));
    ~Containerd();
    Containerd(const Containerd &) = delete;
    Containerd &operator=(const Containerd &) = delete;

    ContainerInfo get_container(const std::string &id);
    // Sets (value non-empty) or removes (value empty) one container label.
    void set_container_label(const std::string &id, const std::string &key,
                             const std::string &value);
    // Ids of the containers that match a containerd filter.
    std::vector<std::string> list_containers(const std::string &filter);

    SnapshotInfo stat_snapshot(const std::string &snapshotter, const std::string &key);
    std::vector<MountSpec> view(const std::string &snapshotter, const std::string &key,
                                const std::string &parent, const std::string &lease);
    std::vector<MountSpec> mounts(const std::string &snapshotter, const std::string &key);
    void remove_snapshot(const std::string &snapshotter, const std::string &key);

    // A lease that expires on its own after `ttl` (a crashed shim's lease goes by itself).
    void create_lease(const std::string &id, std::chrono::seconds ttl);
    void add_lease_snapshot(const std::string &id, const std::string &snapshotter,
                            const std::string &key);
    void delete_lease(const std::string &id);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace urunc::shim
