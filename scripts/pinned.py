"""Private copies of guardld (and its audit module) for the timing scripts:
target/release/guardld may be rebuilt while a benchmark runs."""

import os
import shutil
import sys
import time

GLIBC_LDSO = "/lib64/ld-linux-x86-64.so.2"
MODULE = "libguardld_audit.so"


def fnv64(path):
    """The same FNV-1a 64 as vmabench's (one part: bytes, then 0xff)."""
    h = 0xCBF29CE484222325
    with open(path, "rb") as f:
        data = f.read()
    for b in data + b"\xff":
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def pin(guardld, tmp):
    """Copy guardld, and the audit module beside it if there is one, into
    `tmp`; return (the copy's path, whether the module was copied)."""
    copy = os.path.join(tmp, "guardld")
    shutil.copy2(guardld, copy)
    module = os.path.join(os.path.dirname(os.path.abspath(guardld)), MODULE)
    have = os.path.isfile(module)
    if have:
        shutil.copy2(module, os.path.join(tmp, MODULE))
    return copy, have


def spawn_ms(argv, env, file_actions, label):
    """Run argv (posix_spawn to waitpid) and return its wall time in ms;
    exit with `label` if it does not exit 0."""
    t0 = time.perf_counter_ns()
    pid = os.posix_spawn(argv[0], argv, env, file_actions=file_actions)
    _, st = os.waitpid(pid, 0)
    dt = (time.perf_counter_ns() - t0) / 1e6
    code = os.waitstatus_to_exitcode(st)
    if code != 0:
        sys.exit(f"{label}: {' '.join(argv)} exited {code}")
    return dt
