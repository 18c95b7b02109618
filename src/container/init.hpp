// The init process: cloned by create into the container's namespaces, it assembles the
// monitor root, parks on the exec fifo and, at start, becomes the VMM (same pid).
#pragma once

#include "container/launch.hpp"
#include "oci/state.hpp"

#include <string>

namespace urunc::oci {

// Messages on the sync socket (SOCK_SEQPACKET) between create and the init.
inline constexpr const char *kSyncGo = "go";         // create -> init: proceed
inline constexpr const char *kSyncNsReady = "ns";    // init -> create: namespaces joined
inline constexpr const char *kSyncReady = "ready";   // init -> create: parked, monitor root ready
inline constexpr char kSyncError = 'E';              // init -> create: "E<message>"
// On the exec fifo (init -> start): "N<iface> <tap>\n" when the guest got the network of
// <iface> through <tap>,
// then "0" right before execve, or "E<message>" on failure.
inline constexpr char kFifoNet = 'N';

struct InitArgs {
    Launch *launch = nullptr;
    int sync_fd = -1;
    int fifo_fd = -1;          // O_PATH fd of <state>/exec.fifo
    int console_slave = -1;    // pty slave, or -1: inherit stdio
    State state;               // for createContainer hooks (pid filled in by the init)
    bool new_uts = false;
};

// Runs in the cloned child; never returns.
[[noreturn]] void init_main(InitArgs &a);

// Close every fd >= 3 except those listed.
void close_fds_except(std::vector<int> keep);

} // namespace urunc::oci
