// The init <-> create <-> start protocol, both ends in one place.
//
// Sync socket (SOCK_SEQPACKET, create <-> init): one message per stage, a single byte;
// an error report is the byte Stage::error followed by the message.
//   create -> init: go          (cgroup placed; later: prestart / createRuntime hooks done)
//   init -> create: ns_ready    (namespaces joined)
//   When InitArgs::early (no such hooks, no block rootfs): the first go right after clone,
//   ns_ready once the root's mounts are made too, the second go when the cgroup is placed.
//   With InitArgs::netns_from_go, that first go carries an fd of the container's new
//   network namespace, which create made after the clone.
//   init -> create: ready       (parked, monitor root ready)
//   init -> create: error<msg>  (any failure; the init exits)
//
// Exec fifo (init -> start, a byte stream read until the writer closes it on exec or exit):
//   "N<iface>\n"  the guest got the network of <iface> (optional, first)
//   "0"           right before execve
//   "E<message>"  failure (possibly after "0", when execve itself failed)
#pragma once

#include "base/fd.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace urunc::container::proto {

enum class Stage : char {
    go = 'g',
    ns_ready = 'n',
    ready = 'r',
    error = 'E',
};

// The stage's name, for error messages.
const char *stage_name(Stage s);

// Send one stage; throws sys_error naming `who` (e.g. "sync with init"), or, when the peer
// reported an error and closed its end before the stage reached it, Error(<its message>).
void send_stage(int fd, Stage s, const char *who);
// The same with an fd attached (SCM_RIGHTS): create's first go carries the container's new
// network namespace when create made it after the clone.
void send_stage_with_fd(int fd, Stage s, int attached, const char *who);
// Best-effort error report (the sender is about to exit): never throws.
void send_error(int fd, std::string_view message) noexcept;
// Wait for `want`. A reported error throws Error(<its message>); a peer that closed throws
// Error(closed_message); any other byte throws an Error naming what came and what was due.
void expect_stage(int fd, Stage want, const std::string &closed_message);
// The same, returning the fd the stage carried (empty when it carried none).
UniqueFd expect_stage_with_fd(int fd, Stage want, const std::string &closed_message);

// Test builds only (meson -Dtest_seams=true; nothing elsewhere): URUNC_TEST_SYNC_RESET=1 puts
// create and a failing init in the order that makes the kernel answer create's read with
// ECONNRESET ahead of the init's queued error report. The init, after its report, waits until
// create's next stage reaches it and exits with it unread (`init_side`); create, after its
// early second go, waits until the init has hung up before it reads. Each wait ends after 5 s.
void test_sync_reset_order(int fd, bool init_side);

// Exec fifo tags.
inline constexpr char kFifoNetwork = 'N';
inline constexpr char kFifoExec = '0';
inline constexpr char kFifoError = 'E';

// Writer side (the init). The network and exec reports throw sys_error; the error report is
// best-effort and never throws.
void report_network(int fifo, std::string_view iface, std::string_view tap);
void report_exec(int fifo);
void report_error(int fifo, std::string_view message) noexcept;

// Reader side (start): what the init wrote before it closed the fifo.
struct ExecReport {
    std::optional<std::string> net_iface;  // set when the init reported a network
    std::string net_tap;                   // the tap that carries it (empty: none named)
    bool execed = false;                   // "0" and nothing after it
    std::string error;                     // else: why the VMM did not start
};
ExecReport parse_exec_report(std::string_view data);

}  // namespace urunc::container::proto
