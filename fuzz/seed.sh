#!/bin/sh
# Seed the fuzz corpora from the test programs the integration tests built
# (run `cargo test --release` first) and the system's ld.so.cache.
# Objects are stripped (the dynamic tables stay; debug info only slows the
# fuzzer down). Usage: fuzz/seed.sh   (from anywhere)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
mkdir -p "$here/corpus/headers" "$here/corpus/dynamic" "$here/corpus/cache"
n=0
find "$root/target/itest/testbins" "$root/target/itest/release/guardld" -type f -size -2M 2>/dev/null | sort | while read -r f; do
    head -c 4 "$f" | grep -q 'ELF' || continue
    tmp="$here/corpus/.tmp"
    strip -o "$tmp" "$f" 2>/dev/null || cp "$f" "$tmp"
    # Named by content: the many identical builds collapse into one seed.
    name=$(sha1sum "$tmp" | cut -c1-16)
    mv "$tmp" "$here/corpus/dynamic/$name"
    cp "$here/corpus/dynamic/$name" "$here/corpus/headers/$name"
done
[ -f /etc/ld.so.cache ] && cp /etc/ld.so.cache "$here/corpus/cache/ld.so.cache"
# Small hand-made caches: the magic alone, a header with no entries.
printf 'glibc-ld.so.cache1.1' > "$here/corpus/cache/magic-only"
head -c 48 /etc/ld.so.cache > "$here/corpus/cache/header-only" 2>/dev/null || true
ls "$here/corpus/dynamic" | wc -l | sed 's/^/dynamic seeds: /'
