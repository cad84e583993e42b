#!/usr/bin/env python3
"""Start-up of a glibc program (default `/bin/ls /`) under glibc's ld.so and
under guardld, interleaved; medians and ratios (docs/perf.md, "glibc
programs (issue 15)").

    scripts/ls-startup.py [--rounds 300] [--guardld target/release/guardld] [-- PROG ARGS...]

Ways (each round runs every way once, the order rotating from round to
round; one warm-up round first, not counted):

    glibc     /lib64/ld-linux-x86-64.so.2 PROG ARGS
    native    guardld --glibc native PROG ARGS   (guardld is glibc's ld.so)
    audit     guardld PROG ARGS                  (the default, --glibc audit:
              guardld hands the program to glibc's ld.so with its audit module)

Time = wall clock from posix_spawn to waitpid, stdin/stdout/stderr on
/dev/null, environment without LD_* and GUARDLD_*. Every run must exit 0.
guardld and libguardld_audit.so (found beside it) are copied into a
temporary directory first, so a rebuild during the run cannot change them;
their FNV-1a 64 hashes are printed. With --json FILE the times are written
too.
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile

from pinned import GLIBC_LDSO, MODULE, fnv64, pin, spawn_ms



def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=300)
    ap.add_argument("--guardld", default=os.path.join(root, "target/release/guardld"))
    ap.add_argument("--ways", default="glibc,native,audit", help="comma-separated subset of glibc,native,audit")
    ap.add_argument("--json", metavar="FILE")
    ap.add_argument("prog", nargs="*", default=["/bin/ls", "/"])
    a = ap.parse_args()
    if a.rounds < 2:
        sys.exit("--rounds: at least 2 (quartiles)")
    prog = a.prog or ["/bin/ls", "/"]

    tmp = tempfile.mkdtemp(prefix="ls-startup-")
    try:
        guardld, have_module = pin(a.guardld, tmp)
        ways = {
            "glibc": [GLIBC_LDSO] + prog,
            "native": [guardld, "--glibc", "native"] + prog,
            "audit": [guardld, "--glibc", "audit"] + prog,
        }
        names = [w for w in a.ways.split(",") if w]
        for w in names:
            if w not in ways:
                sys.exit(f"unknown way {w!r} (glibc, native, audit)")
        if "audit" in names and not have_module:
            sys.exit(f"{src_module} not found: guardld would run the program under glibc's ld.so without the module")

        env = {k: v for k, v in os.environ.items() if not (k.startswith("LD_") or k.startswith("GUARDLD_"))}
        null = os.open(os.devnull, os.O_RDWR)
        fa = [(os.POSIX_SPAWN_DUP2, null, 0), (os.POSIX_SPAWN_DUP2, null, 1), (os.POSIX_SPAWN_DUP2, null, 2)]
        times = {w: [] for w in names}
        for i in range(a.rounds + 1):
            k = i % len(names)
            for w in names[k:] + names[:k]:
                dt = spawn_ms(ways[w], env, fa, w)
                if i:
                    times[w].append(dt)

        med = {w: statistics.median(v) for w, v in times.items()}
        quart = {w: statistics.quantiles(v, n=4) for w, v in times.items()}
        load = os.getloadavg()
        print(f"# {' '.join(prog)}: {a.rounds} interleaved rounds (+1 warm-up), medians; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
        print(f"# guardld {a.guardld} (fnv64 {fnv64(guardld)})" + (f", {MODULE} (fnv64 {fnv64(os.path.join(tmp, MODULE))})" if have_module else ""))
        base = med.get("glibc")
        print(f"{'way':<8} {'median ms':>10} {'q1':>8} {'q3':>8} {'x glibc':>8}  command")
        for w in names:
            ratio = f"{med[w] / base:8.3f}" if base else f"{'n/a':>8}"
            cmd = " ".join(["guardld" if x == guardld else x for x in ways[w]])
            print(f"{w:<8} {med[w]:10.3f} {quart[w][0]:8.3f} {quart[w][2]:8.3f} {ratio}  {cmd}")
        if a.json:
            with open(a.json, "w") as f:
                json.dump({"prog": prog, "rounds": a.rounds, "loadavg": load, "times_ms": times, "median_ms": med,
                           "guardld_fnv64": fnv64(guardld)}, f, indent=1)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
