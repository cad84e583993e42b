// libcxxthrow.so (see cxx_lib.h).
#include "glibc/cxx_lib.h"
#include <exception>

namespace cxxlib {

Error::Error(int code, const std::string &what) : std::runtime_error(what), code_(code) {}
Error::~Error() {}
int Error::code() const noexcept { return code_; }

static int destroyed;

namespace {
struct Guard {
    ~Guard() { destroyed++; }
};
} // namespace

int unwound() { return destroyed; }

int parse(const std::string &s) {
    Guard g;
    if (s.empty()) throw Error(1, "empty input");
    long v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') throw Error(2, "not a digit: " + std::string(1, c));
        v = v * 10 + (c - '0');
        if (v > 1000000) throw std::out_of_range("too large: " + s);
    }
    return static_cast<int>(v);
}

void throw_kind(int k) {
    Guard g;
    switch (k) {
    case 0: throw std::invalid_argument("kind 0");
    case 1: throw 41 + k;
    case 2: throw std::string("kind 2");
    default:
        try {
            throw Error(k, "inner");
        } catch (...) {
            std::throw_with_nested(std::runtime_error("outer"));
        }
    }
}

int call_through(int (*cb)(int), int x) {
    Guard g;
    return cb(x) + 1;
}

std::string catch_from(void (*cb)(int), int x) {
    try {
        cb(x);
    } catch (const std::exception &e) {
        return std::string("lib caught std::exception: ") + e.what();
    } catch (...) {
        // Rethrown to the program, which catches it by its type.
        throw;
    }
    return "nothing thrown";
}

} // namespace cxxlib
