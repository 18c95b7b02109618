// The init process: cloned by create into the container's namespaces, it assembles the
// monitor root, parks on the exec fifo and, at start, becomes the VMM (same pid).
#pragma once

#include "container/launch.hpp"
#include "linux/cpu_affinity.hpp"
#include "oci/state.hpp"

#include <string>

namespace urunc::container {

// Talks to create over sync_fd and to start over the exec fifo: container/init_protocol.hpp.
struct InitArgs {
    Launch *launch = nullptr;
    int sync_fd = -1;
    int fifo_fd = -1;        // O_PATH fd of <state>/exec.fifo
    int console_slave = -1;  // pty slave, or -1: inherit stdio
    oci::State state;        // for createContainer hooks (pid filled in by the init)
    bool new_uts = false;
    // No prestart or createRuntime hooks and no block rootfs to unmount: create sends the
    // first go right after clone, and the init builds the monitor root's mounts while create
    // places it in its cgroups; the second go says it is placed. Otherwise the first go
    // comes once it is placed (and the rootfs unmounted), the second once the hooks ran.
    bool early = false;
    // Early with a new network namespace: the clone made none; create makes it right after
    // the clone, on its own branch, and its first go carries it (the namespace costs the
    // kernel ~0.3 ms here, which the clone would put before both branches).
    bool netns_from_go = false;
    // create runs the init on another CPU than its own until it is placed in its cgroups
    // (linux/cpu_affinity.hpp); then the init unpins itself.
    linux::CpuPin cpu_pin;
};

// Runs in the cloned child; never returns.
[[noreturn]] void init_main(InitArgs &a);

// Close every fd >= 3 except those listed.
void close_fds_except(std::vector<int> keep);

}  // namespace urunc::container
