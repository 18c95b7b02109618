#include "shim/containerd_client.hpp"

#include "containerd_api.pb.h"

#include <grpcpp/grpcpp.h>

#include <ctime>

namespace urunc::shim {

namespace cv1 = containerd::services::containers::v1;
namespace sv1 = containerd::services::snapshots::v1;
namespace lv1 = containerd::services::leases::v1;

namespace {
RpcStats g_stats;
}

RpcStats rpc_stats() { return g_stats; }

struct Containerd::Impl {
    std::string address, ns;
    std::chrono::milliseconds timeout;
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<cv1::Containers::Stub> containers;
    std::unique_ptr<sv1::Snapshots::Stub> snapshots;
    std::unique_ptr<lv1::Leases::Stub> leases;

    // A fresh context per call: namespace header, optional lease header, deadline. Made
    // right before each call, so it also starts the call's clock (stopped by check()).
    std::unique_ptr<grpc::ClientContext> ctx(const std::string &lease = {}) const
    {
        call_started = std::chrono::steady_clock::now();
        auto c = std::make_unique<grpc::ClientContext>();
        c->AddMetadata("containerd-namespace", ns);
        if (!lease.empty())
            c->AddMetadata("containerd-lease", lease);
        c->set_deadline(std::chrono::system_clock::now() + timeout);
        return c;
    }

    mutable std::chrono::steady_clock::time_point call_started;

    void check(const grpc::Status &s, const std::string &what) const
    {
        g_stats.calls++;
        g_stats.time += std::chrono::duration_cast<std::chrono::microseconds>(
            std::chrono::steady_clock::now() - call_started);
        if (!s.ok())
            throw ContainerdError("containerd `" + address + "`: " + what + ": " +
                                      s.error_message(),
                                  static_cast<int>(s.error_code()));
    }
};

Containerd::Containerd(const std::string &address, const std::string &ns,
                       std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>())
{
    impl_->address = address;
    impl_->ns = ns;
    impl_->timeout = timeout;
    grpc::ChannelArguments args;
    // One local socket, one short-lived client: no retries behind our back.
    args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
    impl_->channel =
        grpc::CreateCustomChannel("unix:" + address, grpc::InsecureChannelCredentials(), args);
    impl_->containers = cv1::Containers::NewStub(impl_->channel);
    impl_->snapshots = sv1::Snapshots::NewStub(impl_->channel);
    impl_->leases = lv1::Leases::NewStub(impl_->channel);
}

Containerd::~Containerd() = default;

ContainerInfo Containerd::get_container(const std::string &id)
{
    cv1::GetContainerRequest req;
    req.set_id(id);
    cv1::GetContainerResponse resp;
    auto c = impl_->ctx();
    impl_->check(impl_->containers->Get(c.get(), req, &resp), "get container `" + id + "`");
    ContainerInfo out;
    out.snapshotter = resp.container().snapshotter();
    out.snapshot_key = resp.container().snapshot_key();
    for (const auto &[k, v] : resp.container().labels())
        out.labels[k] = v;
    return out;
}

void Containerd::set_container_label(const std::string &id, const std::string &key,
                                     const std::string &value)
{
    cv1::UpdateContainerRequest req;
    req.mutable_container()->set_id(id);
    if (!value.empty())
        (*req.mutable_container()->mutable_labels())[key] = value;
    // Only this label is touched; an empty value removes it (containerd drops empty labels).
    req.mutable_update_mask()->add_paths("labels." + key);
    cv1::UpdateContainerResponse resp;
    auto c = impl_->ctx();
    impl_->check(impl_->containers->Update(c.get(), req, &resp),
                 (value.empty() ? "remove label `" : "set label `") + key + "` of container `" +
                     id + "`");
}

std::vector<std::string> Containerd::list_containers(const std::string &filter)
{
    cv1::ListContainersRequest req;
    req.add_filters(filter);
    cv1::ListContainersResponse resp;
    auto c = impl_->ctx();
    impl_->check(impl_->containers->List(c.get(), req, &resp), "list containers `" + filter + "`");
    std::vector<std::string> ids;
    for (const auto &ct : resp.containers())
        ids.push_back(ct.id());
    return ids;
}

SnapshotInfo Containerd::stat_snapshot(const std::string &snapshotter, const std::string &key)
{
    sv1::StatSnapshotRequest req;
    req.set_snapshotter(snapshotter);
    req.set_key(key);
    sv1::StatSnapshotResponse resp;
    auto c = impl_->ctx();
    impl_->check(impl_->snapshots->Stat(c.get(), req, &resp),
                 "stat snapshot `" + key + "` (" + snapshotter + ")");
    return {resp.info().name(), resp.info().parent(), static_cast<int>(resp.info().kind())};
}

namespace {

std::vector<MountSpec>
to_mounts(const google::protobuf::RepeatedPtrField<containerd::types::Mount> &ms)
{
    std::vector<MountSpec> out;
    for (const auto &m : ms)
        out.push_back({m.type(), m.source(), {m.options().begin(), m.options().end()}});
    return out;
}

}  // namespace

std::vector<MountSpec> Containerd::view(const std::string &snapshotter, const std::string &key,
                                        const std::string &parent, const std::string &lease)
{
    sv1::ViewSnapshotRequest req;
    req.set_snapshotter(snapshotter);
    req.set_key(key);
    req.set_parent(parent);
    sv1::ViewSnapshotResponse resp;
    auto c = impl_->ctx(lease);
    impl_->check(impl_->snapshots->View(c.get(), req, &resp),
                 "view `" + key + "` of `" + parent + "` (" + snapshotter + ")");
    return to_mounts(resp.mounts());
}

std::vector<MountSpec> Containerd::mounts(const std::string &snapshotter, const std::string &key)
{
    sv1::MountsRequest req;
    req.set_snapshotter(snapshotter);
    req.set_key(key);
    sv1::MountsResponse resp;
    auto c = impl_->ctx();
    impl_->check(impl_->snapshots->Mounts(c.get(), req, &resp),
                 "mounts of `" + key + "` (" + snapshotter + ")");
    return to_mounts(resp.mounts());
}

void Containerd::remove_snapshot(const std::string &snapshotter, const std::string &key)
{
    sv1::RemoveSnapshotRequest req;
    req.set_snapshotter(snapshotter);
    req.set_key(key);
    google::protobuf::Empty resp;
    auto c = impl_->ctx();
    impl_->check(impl_->snapshots->Remove(c.get(), req, &resp),
                 "remove snapshot `" + key + "` (" + snapshotter + ")");
}

void Containerd::create_lease(const std::string &id, std::chrono::seconds ttl)
{
    lv1::CreateRequest req;
    req.set_id(id);
    std::time_t t = std::time(nullptr) + ttl.count();
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    (*req.mutable_labels())["containerd.io/gc.expire"] = buf;
    lv1::CreateResponse resp;
    auto c = impl_->ctx();
    impl_->check(impl_->leases->Create(c.get(), req, &resp), "create lease `" + id + "`");
}

void Containerd::add_lease_snapshot(const std::string &id, const std::string &snapshotter,
                                    const std::string &key)
{
    lv1::AddResourceRequest req;
    req.set_id(id);
    req.mutable_resource()->set_id(key);
    // The resource type containerd's lease store parses: snapshots/<snapshotter>.
    req.mutable_resource()->set_type("snapshots/" + snapshotter);
    google::protobuf::Empty resp;
    auto c = impl_->ctx();
    impl_->check(impl_->leases->AddResource(c.get(), req, &resp),
                 "add snapshot `" + key + "` to lease `" + id + "`");
}

void Containerd::delete_lease(const std::string &id)
{
    lv1::DeleteRequest req;
    req.set_id(id);
    google::protobuf::Empty resp;
    auto c = impl_->ctx();
    impl_->check(impl_->leases->Delete(c.get(), req, &resp), "delete lease `" + id + "`");
}

}  // namespace urunc::shim
