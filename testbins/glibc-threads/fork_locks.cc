// Threads throw C++ exceptions in a loop (libgcc asks the loader's
// _dl_find_object for every frame) and create short-lived threads (the
// loader's _dl_allocate_tls) while the main thread forks; each child
// throws and creates a thread too, then exits. A loader lock held by
// another thread at fork must not deadlock the child.
#include <atomic>
#include <cstdio>
#include <stdexcept>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

static std::atomic<bool> stop{false};

static int thrower(int n) {
    try {
        if (n >= 0) throw std::runtime_error("x");
    } catch (const std::exception &) {
        return 1;
    }
    return 0;
}

int main() {
    std::vector<std::thread> ts;
    for (int i = 0; i < 3; i++)
        ts.emplace_back([] { long k = 0; while (!stop) { k += thrower(1); std::thread([] {}).join(); } });
    int ok = 0;
    for (int i = 0; i < 300; i++) {
        pid_t p = fork();
        if (p == 0) {
            int r = thrower(1);
            std::thread([] {}).join();
            _exit(r == 1 ? 0 : 3);
        }
        int st = 0;
        waitpid(p, &st, 0);
        ok += WIFEXITED(st) && WEXITSTATUS(st) == 0;
    }
    stop = true;
    for (auto &t : ts) t.join();
    std::printf("children ok: %d\n", ok);
    return ok == 300 ? 0 : 1;
}
