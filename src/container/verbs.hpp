// The verbs beyond create/start/kill/delete/state: exec, pause, resume, update, events,
// checkpoint, restore, spec. A container that is not urunc's (runc's state, or none in this
// root) goes to runc with the argv as given; a unikernel gets urunc's own implementation or
// a one-line refusal where the verb has no meaning for a VMM.
#pragma once

#include "container/lifecycle.hpp"
#include "oci/verb_args.hpp"

#include <string>

namespace urunc::container {

// Entry point for the verbs scan_command() knows (is_raw_verb). `g.argv` is the raw argv.
int raw_verb(const Globals &g, const oci::RawCommand &c);

int pause(const Globals &g, const std::string &id);
int resume(const Globals &g, const std::string &id);
int update(const Globals &g, const std::string &id, const oci::RawCommand &c);
int events(const Globals &g, const std::string &id, const oci::RawCommand &c);
int spec_command(const Globals &g, const oci::RawCommand &c);

// Go's time.ParseDuration for the forms runc users type ("5s", "100ms", "1m30s", "1.5s").
// Throws Error naming the value.
long long parse_go_duration_ms(const std::string &s);

}  // namespace urunc::container
