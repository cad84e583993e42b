#!/usr/bin/env bash
# Install guardld under PREFIX (default /usr/local):
#   PREFIX/bin/guardld                      the loader (usable as PT_INTERP:
#                                           -Wl,--dynamic-linker=PREFIX/bin/guardld)
#   PREFIX/lib/guardld/libguardld_audit.so  the rtld-audit module (guardld finds it
#                                           there to hand glibc programs over; or
#                                           LD_AUDIT=... for glibc's own ld.so)
#   PREFIX/include/guardld.h                the runtime API's C declarations
#   PREFIX/share/doc/guardld/               the documentation, and api/ (the
#                                           guardld-api crate's rustdoc)
# Builds what is missing with cargo (release profile) into ${CARGO_TARGET_DIR:-target}.
# DESTDIR is honoured, as packagers expect.
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=${1:-/usr/local}
target=${CARGO_TARGET_DIR:-target}
root="${DESTDIR:-}${prefix}"

cargo build --release -p guardld -p guardld-audit
install -D -m 0755 "$target/release/guardld" "$root/bin/guardld"
install -D -m 0644 "$target/release/libguardld_audit.so" "$root/lib/guardld/libguardld_audit.so"
install -D -m 0644 include/guardld.h "$root/include/guardld.h"
install -d "$root/share/doc/guardld"
install -m 0644 README.md docs/*.md "$root/share/doc/guardld/"
if [ -z "${GUARDLD_INSTALL_NO_RUSTDOC:-}" ]; then
    cargo doc --release --no-deps -p guardld-api
    rm -rf "$root/share/doc/guardld/api"
    cp -r "$target/doc" "$root/share/doc/guardld/api"
fi
echo "guardld installed under $root"
