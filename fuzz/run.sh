#!/usr/bin/env bash
# Build and run guardld's fuzz targets with cargo-fuzz on a stable toolchain.
#
#   fuzz/run.sh build                       # all targets
#   fuzz/run.sh run TARGET [SECONDS]        # default 600 s, corpus fuzz/corpus/TARGET
#
# cargo-fuzz passes nightly-only flags (-Zsanitizer, -Cpasses=sancov-module,
# ...). RUSTC_BOOTSTRAP=1 makes the stable compiler accept them: an escape
# hatch meant for building the compiler itself, not a supported way to use
# unstable features. Sanitizer: address (the default) unless FUZZ_SAN is
# set (e.g. FUZZ_SAN=none).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$(dirname "$here")"
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER="$here/link-gcc"
san=${FUZZ_SAN:-address}
case "${1:-build}" in
    build)
        cargo fuzz build -O -s "$san"
        ;;
    run)
        t=$2
        secs=${3:-600}
        mkdir -p "$here/corpus/$t" "$here/artifacts/$t"
        cargo fuzz run -O -s "$san" "$t" "$here/corpus/$t" -- \
            -max_total_time="$secs" -rss_limit_mb=4096 -max_len=262144 \
            -print_final_stats=1 -artifact_prefix="$here/artifacts/$t/"
        ;;
    *)
        echo "usage: $0 build | run TARGET [SECONDS]" >&2
        exit 2
        ;;
esac
