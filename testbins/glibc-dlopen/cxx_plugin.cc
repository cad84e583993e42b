// libdl_cxxplugin.so: a C++ library the program only reaches through
// dlopen/dlsym (cxx_dl_main.cc): it throws its own exception class, a
// standard one and an int; it also catches what the program throws
// through a callback, and counts its guard objects' destructors.
#include "glibc-dlopen/cxx_plugin.h"
#include <stdexcept>
#include <string>

static int destroyed;

namespace {
struct Guard {
    ~Guard() { destroyed++; }
};
} // namespace

PluginError::PluginError(int code) : std::runtime_error("plugin error " + std::to_string(code)), code_(code) {}
PluginError::~PluginError() = default;
int PluginError::code() const noexcept { return code_; }

extern "C" int plugin_throw(int k) {
    Guard g;
    switch (k) {
    case 0: return 42;
    case 1: throw PluginError(7);
    case 2: throw std::out_of_range("plugin out of range");
    default: throw k;
    }
}

extern "C" int plugin_call(int (*cb)(int), int x) {
    Guard g;
    try {
        return cb(x);
    } catch (const std::exception &e) {
        return -static_cast<int>(std::string(e.what()).size());
    }
}

extern "C" int plugin_destroyed() { return destroyed; }

// The code of a PluginError (-1 for any other exception).
extern "C" int plugin_error_code(const std::exception &e) {
    auto *p = dynamic_cast<const PluginError *>(&e);
    return p ? p->code() : -1;
}
