// A C++ program whose exceptions cross its shared library (libcxxthrow.so,
// cxx_lib.cc) both ways: thrown in the library and caught here by the
// library's own class or a standard one, thrown here and unwound through
// library frames, thrown here and caught (or rethrown) in the library.
// Prints what it caught, exits 5 when every exception arrived as expected.
#include "glibc/cxx_lib.h"
#include <cstdio>
#include <exception>
#include <functional>
#include <memory>
#include <vector>

struct Local : std::exception {
    const char *what() const noexcept override { return "Local from main"; }
};

static int thrower(int x) {
    if (x > 2) throw Local();
    return x * 10;
}

static void throw_int(int x) { throw x; }
static void throw_local(int) { throw Local(); }

int main() {
    int bad = 0;
    for (const char *s : {"123", "", "12x", "99999999"}) {
        try {
            std::printf("parse(%s) = %d\n", s, cxxlib::parse(s));
        } catch (const cxxlib::Error &e) {
            std::printf("parse(%s): cxxlib::Error %d: %s\n", s, e.code(), e.what());
        } catch (const std::out_of_range &e) {
            std::printf("parse(%s): out_of_range: %s\n", s, e.what());
        }
    }
    for (int k = 0; k < 4; k++) {
        try {
            cxxlib::throw_kind(k);
            bad++;
        } catch (const std::logic_error &e) {
            std::printf("kind %d: logic_error %s\n", k, e.what());
        } catch (int i) {
            std::printf("kind %d: int %d\n", k, i);
        } catch (const std::string &s) {
            std::printf("kind %d: string %s\n", k, s.c_str());
        } catch (const std::runtime_error &e) {
            std::printf("kind %d: runtime_error %s", k, e.what());
            try {
                std::rethrow_if_nested(e);
            } catch (const cxxlib::Error &inner) {
                std::printf(", nested cxxlib::Error %d %s\n", inner.code(), inner.what());
            }
        }
    }
    for (int x = 1; x <= 4; x++) {
        try {
            std::printf("call_through(%d) = %d\n", x, cxxlib::call_through(thrower, x));
        } catch (const Local &e) {
            std::printf("call_through(%d): %s\n", x, e.what());
        }
    }
    std::printf("%s\n", cxxlib::catch_from(throw_local, 0).c_str());
    try {
        cxxlib::catch_from(throw_int, 7);
        bad++;
    } catch (int i) {
        std::printf("main caught rethrown int %d\n", i);
    }
    // An exception_ptr made in the library's throw, rethrown here.
    std::exception_ptr p;
    try {
        cxxlib::parse("z");
    } catch (...) {
        p = std::current_exception();
    }
    try {
        std::rethrow_exception(p);
    } catch (const cxxlib::Error &e) {
        std::printf("rethrown exception_ptr: %s\n", e.what());
    }
    // Through std::function and a heap object owned by a unique_ptr.
    std::function<int(int)> f = [](int x) { return cxxlib::parse(std::to_string(x)) + x; };
    auto v = std::make_unique<std::vector<int>>();
    try {
        for (int x : {5, 6, -1}) v->push_back(x < 0 ? cxxlib::parse("-") : f(x));
    } catch (const std::exception &e) {
        std::printf("vector %zu, stopped by: %s\n", v->size(), e.what());
    }
    std::printf("library guard objects destroyed: %d\n", cxxlib::unwound());
    return bad ? 1 : 5;
}
