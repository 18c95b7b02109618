// create's CPU pin of its init: chosen away from the caller's CPU, set on the child, taken
// back by the child unless a cpuset replaced it.
#include "linux/cpu_affinity.hpp"

#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <functional>

using namespace urunc::linux;

namespace {

// Runs `body` in a forked child (affinity changes stay there); its exit status: 0 = every
// check in it held, else the number of the first that failed.
int in_child(const std::function<int()> &body)
{
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0)
        ::_exit(body());
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    return WEXITSTATUS(status);
}

cpu_set_t mask_of(pid_t pid)
{
    cpu_set_t m;
    CPU_ZERO(&m);
    ::sched_getaffinity(pid, sizeof m, &m);
    return m;
}

cpu_set_t just(int cpu)
{
    cpu_set_t m;
    CPU_ZERO(&m);
    CPU_SET(cpu, &m);
    return m;
}

// The pin needs a second CPU to go to; the reference machine (and CI) has two.
bool two_cpus()
{
    cpu_set_t m = mask_of(0);
    return CPU_COUNT(&m) >= 2;
}

// In a forked child: plan a pin (which must find a CPU: the machine has two), then `body`.
// 0 = every check held, else the number of the first that failed (1: no CPU to pin to).
int with_pin(const std::function<int(CpuPin &)> &body)
{
    INFO("these tests need two CPUs in the test's mask");
    REQUIRE(two_cpus());
    return in_child([&body] {
        CpuPin p = plan_cpu_pin();
        return p.cpu < 0 ? 1 : body(p);
    });
}

}  // namespace

TEST_CASE("cpu pin: another CPU of the caller's mask, none with one CPU allowed", "[cpu_affinity]")
{
    CHECK(with_pin([](CpuPin &p) {
              if (!CPU_ISSET(p.cpu, &p.before))
                  return 2;
              cpu_set_t own = mask_of(0);
              if (!CPU_EQUAL(&own, &p.before))
                  return 3;
              // sched_getcpu() may change between two calls, not while pinned to one CPU
              cpu_set_t here = just(::sched_getcpu());
              ::sched_setaffinity(0, sizeof here, &here);
              p = plan_cpu_pin();
              return p.cpu < 0 ? 0 : 4;
          }) == 0);
}

TEST_CASE("cpu pin: the child runs on the pinned CPU; unpinned, it gets its mask back",
          "[cpu_affinity]")
{
    CHECK(with_pin([](CpuPin &p) {
              int go[2];
              if (::pipe(go) < 0)
                  return 2;
              pid_t c = ::fork();
              if (c == 0) {
                  char b;
                  if (::read(go[0], &b, 1) != 1)
                      ::_exit(10);
                  cpu_set_t m = mask_of(0);
                  cpu_set_t one = just(p.cpu);
                  if (!CPU_EQUAL(&m, &one) || ::sched_getcpu() != p.cpu)
                      ::_exit(11);
                  unpin_from_cpu(p);
                  m = mask_of(0);
                  ::_exit(CPU_EQUAL(&m, &p.before) ? 0 : 12);
              }
              pin_to_cpu(c, p);
              if (::write(go[1], "g", 1) != 1)
                  return 3;
              int status = 0;
              ::waitpid(c, &status, 0);
              return WIFEXITED(status) ? WEXITSTATUS(status) : 4;
          }) == 0);
}

TEST_CASE("cpu pin: a mask a cpuset set meanwhile stays", "[cpu_affinity]")
{
    CHECK(with_pin([](CpuPin &p) {
              // as a cpuset's attach would: the pin replaced by the cpuset's CPUs (here the
              // pinned CPU and ours)
              cpu_set_t cpuset = just(p.cpu);
              CPU_SET(::sched_getcpu(), &cpuset);
              ::sched_setaffinity(0, sizeof cpuset, &cpuset);
              // the caller's mask was narrower than that: unpin must not apply it
              CpuPin narrower = p;
              CPU_ZERO(&narrower.before);
              CPU_SET(p.cpu, &narrower.before);
              unpin_from_cpu(narrower);
              cpu_set_t m = mask_of(0);
              return CPU_EQUAL(&m, &cpuset) ? 0 : 2;
          }) == 0);
}
