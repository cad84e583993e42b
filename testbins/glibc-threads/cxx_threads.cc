// C++ threads under glibc's ld.so and guardld --glibc native
// (tests/glibc_threads.rs): std::thread, thread_local objects with
// constructors and destructors (the program's and libcxxthr.so's),
// exceptions thrown and caught inside threads, across the library, and
// carried to the main thread by std::future and std::exception_ptr.
// Every thread logs into its own slot; main prints after joining.
// Exits 7.
#include "glibc-threads/cxx_lib.h"
#include <atomic>
#include <cstdio>
#include <exception>
#include <future>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {
constexpr int N = 8;
std::vector<std::string> logs[N];
thread_local int tl_id = N;  // none: main and the later threads log nothing

void log(const std::string &s) {
    if (tl_id < N)
        logs[tl_id].push_back(s);
}

struct Tracked {
    std::string name;
    explicit Tracked(std::string n) : name(std::move(n)) { log("ctor " + name); }
    ~Tracked() { log("dtor " + name); }
};

thread_local Tracked first("first");
thread_local Tracked second("second");
thread_local std::vector<int> tl_vec = {1, 2, 3};
thread_local std::string tl_str = "initial";

struct Scope {
    int k;
    ~Scope() { log("unwound " + std::to_string(k)); }
};

int deep(int depth, int v) {
    Scope s{depth};
    if (depth == 0) {
        if (v % 2)
            throw std::runtime_error("deep " + std::to_string(v));
        lib_throw(v);
    }
    return deep(depth - 1, v) + 1;
}

void work(int id) {
    tl_id = id;
    log("start tl_str=" + tl_str + " vec=" + std::to_string(tl_vec.size()));
    // Second constructed after first: destroyed before it.
    log(second.name + " after " + first.name);
    tl_vec.push_back(id);
    tl_str += "-" + std::to_string(id);
    for (int v = id; v < id + 4; v++) {
        try {
            deep(v % 3 + 1, v);
        } catch (const std::out_of_range &e) {
            log(std::string("caught out_of_range: ") + e.what());
        } catch (const std::runtime_error &e) {
            log(std::string("caught runtime_error: ") + e.what());
        } catch (int x) {
            log("caught int " + std::to_string(x));
        }
    }
    log("bump " + std::to_string(lib_bump(id)) + " " + std::to_string(lib_bump(id)));
    log("end tl_str=" + tl_str + " vec=" + std::to_string(tl_vec.size()));
}
}  // namespace

int main() {
    std::vector<std::thread> ts;
    for (int i = 0; i < N; i++)
        ts.emplace_back(work, i);
    for (auto &t : ts)
        t.join();
    for (int i = 0; i < N; i++) {
        std::printf("thread %d:\n", i);
        for (auto &s : logs[i])
            std::printf("  %s\n", s.c_str());
    }
    std::printf("main tl_str=%s vec=%zu\n", tl_str.c_str(), tl_vec.size());

    // Exceptions carried out of threads.
    for (int i = 0; i < 6; i++) {
        auto f = std::async(std::launch::async, [i] {
            if (i % 2)
                lib_throw(i);
            return lib_bump(i);
        });
        try {
            std::printf("async %d returned %d\n", i, f.get());
        } catch (const std::exception &e) {
            std::printf("async %d threw %s\n", i, e.what());
        } catch (int x) {
            std::printf("async %d threw int %d\n", i, x);
        }
    }
    std::exception_ptr ep;
    std::thread([&ep] {
        try {
            deep(2, 5);
        } catch (...) {
            ep = std::current_exception();
        }
    }).join();
    try {
        std::rethrow_exception(ep);
    } catch (const std::exception &e) {
        std::printf("rethrown in main: %s\n", e.what());
    }

    // Many short threads: stacks and thread_locals made again.
    int sum = 0;
    for (int round = 0; round < 10; round++) {
        std::vector<std::thread> r;
        std::vector<int> out(10);
        for (int i = 0; i < 10; i++)
            r.emplace_back([&out, i, round] { out[i] = lib_bump(i + round) + (int)tl_vec.size() + (int)tl_str.size(); });
        for (auto &t : r)
            t.join();
        for (int v : out)
            sum += v;
    }
    std::printf("rounds sum %d\n", sum);
    std::printf("library thread_locals: %d made, %d destroyed\n", lib_constructed(), lib_destroyed());
    return 7;
}
