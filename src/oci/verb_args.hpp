// Raw argv scanning for the verbs urunc may hand to runc whole (exec, pause, resume, update,
// events, checkpoint, restore, spec). CLI11 would reject runc flags it does not know, so these
// verbs are read with runc's own flag tables (Go flag rules: "--f v", "--f=v", "-f v", a
// bare "--" ends the flags, the first non-flag word is the container id).
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace urunc::oci {

struct RawCommand {
    std::string verb;       // "" when argv names none
    size_t verb_index = 0;  // position of the verb in argv
    // Global flags (long names without dashes) and their values ("" for a bool flag).
    std::vector<std::pair<std::string, std::string>> globals;
    // The verb's flags, long names (short aliases mapped), in order; "" for a bool flag.
    std::vector<std::pair<std::string, std::string>> flags;
    std::vector<std::string> positionals;  // the id first, then the rest (exec's command)
    std::vector<std::string> unknown;      // flags runc's table for this verb does not have

    std::optional<std::string> global(const std::string &name) const;
    std::optional<std::string> flag(const std::string &name) const;
    std::vector<std::string> all(const std::string &name) const;  // repeatable flags (-e)
    bool has(const std::string &name) const { return flag(name).has_value(); }
};

// The verbs scan_command knows the flags of (runc 1.1), plus urunc's own spec flags.
bool is_raw_verb(const std::string &verb);

// Scan argv (argv[0] included). Never throws: what cannot be read stays in `unknown`, and
// the caller decides (runc gets the argv as it is; urunc's own path refuses).
RawCommand scan_command(const std::vector<std::string> &argv);

}  // namespace urunc::oci
