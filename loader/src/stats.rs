//! GUARDLD_DEBUG=statistics: where start-up time goes, like glibc's
//! LD_DEBUG=statistics. Timing uses the raw clock_gettime syscall and only
//! runs when statistics are enabled.

use core::sync::atomic::{AtomicU64, Ordering};

pub static START: AtomicU64 = AtomicU64::new(0);
pub static MAP: AtomicU64 = AtomicU64::new(0);
pub static INDEX: AtomicU64 = AtomicU64::new(0);
pub static RELOC: AtomicU64 = AtomicU64::new(0);
pub static INIT: AtomicU64 = AtomicU64::new(0);
/// The glibc personality's own start-up: recognising the build, the
/// globals, tunables and CPU features.
pub static GLIBC: AtomicU64 = AtomicU64::new(0);
pub static RELOCS: AtomicU64 = AtomicU64::new(0);
pub static LOOKUPS: AtomicU64 = AtomicU64::new(0);
/// Nonzero when start-up built the global symbol index.
pub static INDEXED: AtomicU64 = AtomicU64::new(0);

pub fn on() -> bool {
    crate::log::enabled(crate::log::Cat::Statistics)
}

/// Monotonic time in nanoseconds.
pub fn now() -> u64 {
    crate::sys::raw::monotonic_ns()
}

/// Time `f` into `counter` when statistics are on.
pub fn timed<R>(counter: &AtomicU64, f: impl FnOnce() -> R) -> R {
    if !on() {
        return f();
    }
    let t = now();
    let r = f();
    counter.fetch_add(now() - t, Ordering::Relaxed);
    r
}

pub fn count(counter: &AtomicU64) {
    if on() {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

pub fn report(objects: usize) {
    if !on() {
        return;
    }
    let total = now() - START.load(Ordering::Relaxed);
    let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
    let pct = |v: u64| (v * 100).checked_div(total).unwrap_or(0);
    let us = |v: u64| v / 1000;
    crate::eprint!(
        "guardld: statistics: total start-up time in guardld: {} us\n\
         guardld:   map and load {} objects: {} us ({}%)\n\
         guardld:   build symbol index: {} us ({}%)\n\
         guardld:   relocation ({} relocations): {} us ({}%)\n\
         guardld:     symbol lookups: {} ({})\n\
         guardld:   initializers: {} us ({}%)\n",
        us(total), objects, us(g(&MAP)), pct(g(&MAP)), us(g(&INDEX)), pct(g(&INDEX)),
        g(&RELOCS), us(g(&RELOC)), pct(g(&RELOC)), g(&LOOKUPS), if g(&INDEXED) != 0 { "through the index" } else { "walking the scope" },
        us(g(&INIT)), pct(g(&INIT))
    );
    if g(&GLIBC) != 0 {
        crate::eprint!("guardld:   glibc personality (build, globals, tunables, CPU features): {} us ({}%)\n", us(g(&GLIBC)), pct(g(&GLIBC)));
    }
    let (bytes, chunks) = crate::sys::arena::footprint();
    crate::eprint!("guardld:   memory: {} KB from {} chunk(s)\n", bytes.div_ceil(1024), chunks);
}
