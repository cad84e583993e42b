// libcxxthr.so: see cxx_lib.h.
#include "glibc-threads/cxx_lib.h"
#include <atomic>
#include <stdexcept>
#include <string>

namespace {
std::atomic<int> made, gone;

struct Counter {
    int n = 100;
    std::string tag = "lib";
    Counter() { made++; }
    ~Counter() { gone++; }
};

thread_local Counter counter;

struct LibError : std::runtime_error {
    explicit LibError(const std::string &s) : std::runtime_error(s) {}
};
}  // namespace

int lib_bump(int by) {
    counter.n += by;
    return counter.n;
}

void lib_throw(int v) {
    switch (v % 3) {
    case 0:
        throw std::out_of_range("lib out of range " + std::to_string(v));
    case 1:
        throw v;
    default:
        throw LibError("lib error " + std::to_string(v) + " " + counter.tag);
    }
}

int lib_constructed() { return made; }
int lib_destroyed() { return gone; }
