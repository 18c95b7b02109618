// run_process: capture, exit codes, signals, a program that cannot be executed.
#include "base/subprocess.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace urunc;

TEST_CASE("run_process: stdout captured, exit code kept", "[base][subprocess]")
{
    ProcessOptions o;
    o.out = ProcessOptions::Out::capture;
    auto r = run_process({"/bin/sh", "-c", "echo hello; exit 3"}, o);
    CHECK(r.out == "hello\n");
    CHECK_FALSE(r.ok());
    CHECK(r.describe() == "exit 3");
    CHECK(shell_status(r.status) == 3);
}

TEST_CASE("run_process: empty_env leaves no variable; search_path finds sh", "[base][subprocess]")
{
    ProcessOptions o;
    o.out = ProcessOptions::Out::capture;
    o.empty_env = true;
    o.search_path = true;
    auto r = run_process({"sh", "-c", "env | grep -v '^PWD=\\|^SHLVL=\\|^_=' | wc -l"}, o);
    CHECK(r.ok());
    CHECK(r.out == "0\n");
}

TEST_CASE("run_process: a signal, a cap on output, a missing program", "[base][subprocess]")
{
    ProcessOptions o;
    o.out = ProcessOptions::Out::capture;
    o.max_output = 10;
    auto r = run_process({"/bin/sh", "-c", "head -c 100000 /dev/zero; kill -9 $$"}, o);
    CHECK(r.out.size() == 10);
    CHECK(shell_status(r.status) == 137);
    CHECK(r.describe().rfind("signal 9", 0) == 0);
    o.quiet = true;
    auto m = run_process({"/nonexistent/program"}, o);
    CHECK(shell_status(m.status) == 127);
}
