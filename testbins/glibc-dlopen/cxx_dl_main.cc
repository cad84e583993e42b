// A C++ program that dlopens libdl_cxxplugin.so (path in argv[1]) and
// catches the exceptions it throws: the plugin's own class (the program
// does not link to it: caught by its std::runtime_error base, matched
// through the typeinfo of the dlopen'd object; its what() and destructor
// reached through the plugin's vtable), a standard one, an int; and lets
// the plugin catch the program's own; after dlclose the plugin stays (its
// unique symbols). Exits 4 when everything arrived.
#include <cstdio>
#include <dlfcn.h>
#include <stdexcept>

struct Mine : std::exception {
    const char *what() const noexcept override { return "mine from main"; }
};

static int cb(int x) {
    if (x > 1) throw Mine();
    return x + 1;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    void *h = dlopen(argv[1], RTLD_NOW);
    if (!h) {
        std::printf("dlopen: %s\n", dlerror());
        return 1;
    }
    auto thr = reinterpret_cast<int (*)(int)>(dlsym(h, "plugin_throw"));
    auto call = reinterpret_cast<int (*)(int (*)(int), int)>(dlsym(h, "plugin_call"));
    auto destroyed = reinterpret_cast<int (*)()>(dlsym(h, "plugin_destroyed"));
    auto code = reinterpret_cast<int (*)(const std::exception &)>(dlsym(h, "plugin_error_code"));
    if (!thr || !call || !destroyed || !code) return 1;
    int good = 0;
    for (int k = 0; k < 4; k++) {
        try {
            std::printf("plugin_throw(%d) = %d\n", k, thr(k));
            good++;
        } catch (const std::runtime_error &e) {
            std::printf("caught std::runtime_error (code %d): %s\n", code(e), e.what());
            good++;
        } catch (const std::exception &e) {
            std::printf("caught std::exception: %s\n", e.what());
            good++;
        } catch (int i) {
            std::printf("caught int %d\n", i);
            good++;
        }
    }
    std::printf("plugin_call(cb, 1) = %d, plugin_call(cb, 5) = %d\n", call(cb, 1), call(cb, 5));
    std::printf("guards destroyed: %d\n", destroyed());
    std::printf("dlclose = %d\n", dlclose(h));
    // The plugin defines STB_GNU_UNIQUE symbols (std::to_string's inline
    // statics) its own relocations bind to: glibc keeps it (NODELETE).
    std::printf("after dlclose: %s\n", dlopen(argv[1], RTLD_NOW | RTLD_NOLOAD) ? "still loaded" : "unloaded");
    return good == 4 ? 4 : 1;
}
