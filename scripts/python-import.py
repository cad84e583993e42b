#!/usr/bin/env python3
"""Run-time loading by real glibc programs, under glibc's ld.so and under
guardld --glibc native, interleaved; medians, quartiles and ratios
(docs/perf.md, "glibc programs at run time (issue 16)").

    scripts/python-import.py [--rounds 200] [--benches python,gdb-version,gdb-batch]
                             [--ways glibc,native] [--guardld target/release/guardld] [--json FILE]

Benchmarks (each names one command line):

    python       /usr/bin/python3 -c 'import _ssl, _json, ...'  (Debian's
                 python3, not the one first in PATH): twenty extension
                 modules, each a .so under /usr/lib/python3.11/lib-dynload/
                 that the interpreter dlopens (with their libraries:
                 libssl, libcrypto, libsqlite3, libffi, libmpdec, liblzma,
                 libbz2, libncursesw, libtinfo, libreadline, libdb, libuuid)
    python-start /usr/bin/python3 -c pass   (the interpreter's start-up alone:
                 the python row minus this one is the imports)
    gdb-version  /usr/bin/gdb --version        (a large C++ program's start-up:
                 gdb and its ~60 libraries, libstdc++ and libpython among them)
    gdb-batch    /usr/bin/gdb -nx -batch -ex quit   (the same, plus gdb's own
                 initialisation, its embedded Python included; no ~/.gdbinit)

Ways:

    glibc     /lib64/ld-linux-x86-64.so.2 PROG ARGS
    native    guardld --glibc native PROG ARGS   (guardld is glibc's ld.so)
    audit     guardld --glibc audit PROG ARGS    (glibc's ld.so with guardld's
              audit module; not in the default list)
    glibc-now LD_BIND_NOW=1 /lib64/ld-linux-x86-64.so.2 PROG ARGS  (glibc's
              ld.so binding every PLT slot at load time, as guardld always
              does; not in the default list: it shows what lazy binding is
              worth to glibc)

Each round runs every (benchmark, way) pair once, the order rotating from
round to round; one warm-up round first, not counted. Time = wall clock from
posix_spawn to waitpid, stdin/stdout/stderr on /dev/null, the working
directory a fresh empty one, the environment without LD_*, GUARDLD_* and
PYTHON* (glibc-now adds LD_BIND_NOW=1). Every run must exit 0. Besides the
medians, each way is compared with glibc round by round: "paired" is the
median over the rounds of (this way's time / glibc's time in the same
round), with a 95% bootstrap interval, and "faster" the share of rounds in
which this way beat glibc. Before timing, each benchmark is run once
per way untimed to check it: the same stdout under every way, the native
way really native (GUARDLD_DEBUG=libs says "running natively"), every
python module loaded from its lib-dynload .so, and a look at the process's
own /proc/self/maps at the end (objects, VMAs, `---p` VMAs; gdb reads its
maps through its embedded Python). guardld and libguardld_audit.so are
copied into a temporary directory first, so a rebuild during the run cannot
change them; their FNV-1a 64 hashes are printed.
"""

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from pinned import GLIBC_LDSO, MODULE, fnv64, pin, spawn_ms

PYTHON = "/usr/bin/python3"
GDB = "/usr/bin/gdb"
DYNLOAD = "/usr/lib/python3.11/lib-dynload/"
# Twenty extension modules of Debian 12's python3.11 (array, select and
# unicodedata are built into Debian's interpreter, so they are not here).
MODULES = [
    "_ssl", "_json", "_sqlite3", "_ctypes", "_decimal", "_lzma", "_bz2", "_hashlib", "_asyncio", "_curses",
    "_dbm", "_multiprocessing", "_queue", "_uuid", "mmap", "readline", "termios", "_lsprof", "_zoneinfo", "resource",
]

# What the process sees of its own mappings at the end (printed by the
# check runs): distinct mapped files, VMAs, ---p VMAs.
MAPS_PY = (
    "m=open('/proc/self/maps').read().splitlines();"
    "print('maps', len(set(l.split()[5] for l in m if len(l.split())>5 and l.split()[5].startswith('/'))),"
    " len(m), sum(1 for l in m if l.split()[1]=='---p'))"
)

BENCHES = {
    "python": [PYTHON, "-c", "import " + ", ".join(MODULES)],
    "python-start": [PYTHON, "-c", "pass"],
    "gdb-version": [GDB, "--version"],
    "gdb-batch": [GDB, "-nx", "-batch", "-ex", "quit"],
}
# The check run of each benchmark: the same work, then a look at the maps.
CHECKS = {
    "python": [PYTHON, "-c", "import " + ", ".join(MODULES) + "\nimport sys\n"
               "for n in " + repr(MODULES) + ": print(n, sys.modules[n].__file__)\n" + MAPS_PY],
    "python-start": [PYTHON, "-c", MAPS_PY],
    "gdb-version": [GDB, "-nx", "-batch", "-ex", "python " + MAPS_PY],
    "gdb-batch": [GDB, "-nx", "-batch", "-ex", "python " + MAPS_PY],
}


def quartiles(v):
    q = statistics.quantiles(v, n=4)
    return q[0], q[2]


def paired(a, g, resamples=2000):
    """Round-by-round comparison of times `a` with glibc's `g` (same
    rounds): the median of a[i] / g[i], its 95% bootstrap interval, and the
    share of rounds with a[i] < g[i]."""
    r = [x / y for x, y in zip(a, g)]
    rng = random.Random(1)
    boot = sorted(statistics.median(rng.choices(r, k=len(r))) for _ in range(resamples))
    return statistics.median(r), boot[int(0.025 * resamples)], boot[int(0.975 * resamples) - 1], sum(1 for x, y in zip(a, g) if x < y) / len(r)


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--guardld", default=os.path.join(root, "target/release/guardld"))
    ap.add_argument("--benches", default="python,python-start,gdb-version,gdb-batch", help="comma-separated subset of " + ",".join(BENCHES))
    ap.add_argument("--ways", default="glibc,native", help="comma-separated subset of glibc,native,audit,glibc-now (glibc first for the ratios)")
    ap.add_argument("--json", metavar="FILE")
    a = ap.parse_args()
    if a.rounds < 2:
        sys.exit("--rounds: at least 2 (quartiles)")
    benches = [b for b in a.benches.split(",") if b]
    names = [w for w in a.ways.split(",") if w]
    for b in benches:
        if b not in BENCHES:
            sys.exit(f"unknown benchmark {b!r} ({', '.join(BENCHES)})")
    for p in {BENCHES[b][0] for b in benches}:
        if not os.path.exists(p):
            sys.exit(f"{p} not found")

    tmp = tempfile.mkdtemp(prefix="python-import-")
    try:
        guardld, have_module = pin(a.guardld, tmp)
        prefix = {
            "glibc": [GLIBC_LDSO],
            "native": [guardld, "--glibc", "native"],
            "audit": [guardld, "--glibc", "audit"],
            "glibc-now": [GLIBC_LDSO],
        }
        for w in names:
            if w not in prefix:
                sys.exit(f"unknown way {w!r} (glibc, native, audit, glibc-now)")
        if "audit" in names and not have_module:
            sys.exit(f"{src_module} not found: guardld would run the programs under glibc's ld.so without the module")
        cwd = os.path.join(tmp, "cwd")
        os.mkdir(cwd)
        env0 = {k: v for k, v in os.environ.items() if not (k.startswith("LD_") or k.startswith("GUARDLD_") or k.startswith("PYTHON"))}
        envs = {w: dict(env0, LD_BIND_NOW="1") if w == "glibc-now" else env0 for w in names}

        # Checks (untimed).
        maps = {}
        for b in benches:
            outs = {}
            for w in names:
                env = envs[w]
                r = subprocess.run(prefix[w] + BENCHES[b], env=env, cwd=cwd, capture_output=True, text=True)
                if r.returncode != 0:
                    sys.exit(f"{b} {w}: exited {r.returncode}: {r.stderr.strip()}")
                outs[w] = r.stdout
                c = subprocess.run(prefix[w] + CHECKS[b], env=env, cwd=cwd, capture_output=True, text=True)
                if c.returncode != 0:
                    sys.exit(f"{b} {w} (check run): exited {c.returncode}: {c.stderr.strip()}")
                lines = c.stdout.splitlines()
                m = [l for l in lines if l.startswith("maps ")]
                if not m:
                    sys.exit(f"{b} {w} (check run): no maps line: {c.stdout!r} {c.stderr!r}")
                maps[(b, w)] = [int(x) for x in m[-1].split()[1:]]
                if b == "python":
                    files = dict(l.split(" ", 1) for l in lines if l and not l.startswith("maps "))
                    for mod in MODULES:
                        f = files.get(mod, "")
                        if not (f.startswith(DYNLOAD) and f.endswith(".so")):
                            sys.exit(f"python {w}: {mod} not loaded from an extension module in {DYNLOAD}: {f!r}")
                if w == "native":
                    d = subprocess.run(prefix[w] + BENCHES[b], env=dict(env, GUARDLD_DEBUG="libs"), cwd=cwd, capture_output=True, text=True)
                    if d.returncode != 0 or "running natively" not in d.stderr:
                        sys.exit(f"{b} native: guardld did not run it natively: {d.stderr[-2000:]}")
            first = names[0]
            for w in names[1:]:
                if outs[w] != outs[first]:
                    sys.exit(f"{b}: stdout under {w} differs from {first}:\n{outs[w]!r}\n{outs[first]!r}")

        null = os.open(os.devnull, os.O_RDWR)
        fa = [(os.POSIX_SPAWN_DUP2, null, 0), (os.POSIX_SPAWN_DUP2, null, 1), (os.POSIX_SPAWN_DUP2, null, 2)]
        pairs = [(b, w) for b in benches for w in names]
        times = {p: [] for p in pairs}
        os.chdir(cwd)
        load0 = os.getloadavg()
        t_start = time.time()
        for i in range(a.rounds + 1):
            k = i % len(pairs)
            for b, w in pairs[k:] + pairs[:k]:
                dt = spawn_ms(prefix[w] + BENCHES[b], envs[w], fa, f"{b} {w}")
                if i:
                    times[(b, w)].append(dt)
        elapsed = time.time() - t_start
        os.chdir(root)

        load = os.getloadavg()
        cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
        print(f"# {a.rounds} interleaved rounds (+1 warm-up) of {len(pairs)} runs each, {elapsed:.0f} s; "
              f"load average {load0[0]:.2f} before, {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} after")
        print(f"# nproc {os.cpu_count()}, {cpu}, kernel {platform.release()}")
        print(f"# guardld {a.guardld} (fnv64 {fnv64(guardld)})" + (f", {MODULE} (fnv64 {fnv64(os.path.join(tmp, MODULE))})" if have_module else ""))
        result = {}
        for b in benches:
            med = {w: statistics.median(times[(b, w)]) for w in names}
            base = med.get("glibc")
            print(f"\n## {b}: {' '.join(BENCHES[b])}")
            print(f"{'way':<9} {'median ms':>10} {'q1':>9} {'q3':>9} {'min':>9} {'x glibc':>8} {'paired':>7} {'95% interval':>15} {'faster':>7} {'objects':>8} {'VMAs':>6} {'---p':>6}")
            paired_out = {}
            for w in names:
                q1, q3 = quartiles(times[(b, w)])
                ratio = f"{med[w] / base:8.3f}" if base else f"{'n/a':>8}"
                o, v, g = maps[(b, w)]
                if "glibc" in names:
                    pr, lo, hi, fast = paired(times[(b, w)], times[(b, "glibc")])
                    paired_out[w] = {"median_ratio": pr, "ci95": [lo, hi], "faster_share": fast}
                    pcols = f"{pr:7.3f} {'[' + f'{lo:.3f}, {hi:.3f}' + ']':>15} {fast:6.0%}"
                else:
                    pcols = f"{'n/a':>7} {'':>15} {'':>7}"
                print(f"{w:<9} {med[w]:10.3f} {q1:9.3f} {q3:9.3f} {min(times[(b, w)]):9.3f} {ratio} {pcols} {o:8d} {v:6d} {g:6d}")
            result[b] = {"argv": BENCHES[b], "median_ms": med, "times_ms": {w: times[(b, w)] for w in names}, "paired": paired_out,
                         "maps": {w: dict(zip(["objects", "vmas", "prot_none_vmas"], maps[(b, w)])) for w in names}}
        print("\n# paired: median over the rounds of (way / glibc in the same round), 95% bootstrap interval; faster: share of rounds in which the way beat glibc")
        print("# objects / VMAs / ---p: distinct mapped files, VMAs and ---p VMAs in the process's own /proc/self/maps at the end of a check run"
              " (python: after the imports; gdb: from its embedded Python, after start-up)")
        if a.json:
            with open(a.json, "w") as f:
                json.dump({"rounds": a.rounds, "loadavg_before": load0, "loadavg_after": load, "elapsed_s": elapsed,
                           "guardld_fnv64": fnv64(guardld), "ways": {w: prefix[w][1:] for w in names}, "benches": result}, f, indent=1)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
