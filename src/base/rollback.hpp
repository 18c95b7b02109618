// Rollback: the undo steps of a command that builds something in several steps (create),
// so that a failure at any step leaves nothing behind.
//
// A step is added once the thing it undoes may exist (or earlier, as a no-op until then:
// the steps run last first, and some things must be undone before others, e.g. a process
// is killed before its cgroup can go). If the command leaves the scope without commit(),
// the destructor runs the steps, last added first. Undo is best effort: every step runs,
// and one that fails (returns error text, or throws) is logged, so the error that reaches
// the user is the one that made the command fail.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace urunc {

class Rollback {
public:
    // Returns "" on success, else what it could not undo (logged as "<context>: <text>").
    using Step = std::function<std::string()>;

    explicit Rollback(std::string context) : context_(std::move(context)) {}
    ~Rollback();
    Rollback(const Rollback &) = delete;
    Rollback &operator=(const Rollback &) = delete;

    void add(Step undo) { steps_.push_back(std::move(undo)); }
    // The command succeeded: nothing is undone.
    void commit() noexcept { steps_.clear(); }

private:
    std::string context_;
    std::vector<Step> steps_;
};

}  // namespace urunc
