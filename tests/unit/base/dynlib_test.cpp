#include "base/dynlib.hpp"

#include <catch2/catch.hpp>

#include <libmount/libmount.h>

#include <string>

using namespace urunc;

TEST_CASE("DynLib: a symbol of a library comes back typed and callable")
{
    DynLib lib("libmount.so.1");
    auto new_table = URUNC_DYNSYM(lib, mnt_new_table);
    auto unref = URUNC_DYNSYM(lib, mnt_unref_table);
    libmnt_table *t = new_table();
    REQUIRE(t != nullptr);
    unref(t);
}

TEST_CASE("DynLib: a library that is not there is one error naming it")
{
    DynLib lib("liburunc-no-such-library.so.7");
    try {
        lib.symbol<void (*)()>("anything");
        FAIL("no error");
    } catch (const Error &e) {
        CHECK(std::string(e.what()).find("liburunc-no-such-library.so.7") != std::string::npos);
    }
}

TEST_CASE("DynLib: a symbol that is not there is one error naming library and symbol")
{
    DynLib lib("libmount.so.1");
    try {
        lib.symbol<void (*)()>("mnt_urunc_no_such_function");
        FAIL("no error");
    } catch (const Error &e) {
        std::string m = e.what();
        CHECK(m.find("libmount.so.1") != std::string::npos);
        CHECK(m.find("mnt_urunc_no_such_function") != std::string::npos);
    }
}
