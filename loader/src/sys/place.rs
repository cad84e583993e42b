//! Where the next object's span goes: right below the lowest mapping
//! guardld made (`map/exec.rs` tries there first, as the kernel's top-down
//! search would place it). A hint only: any thread may move it, and a
//! taken range just sends the executor to a reservation.

use core::sync::atomic::{AtomicUsize, Ordering};

static BELOW: AtomicUsize = AtomicUsize::new(0);

/// The address the next span should end at (0: none placed yet).
pub fn below() -> usize {
    BELOW.load(Ordering::Relaxed)
}

/// A span was placed at `start`.
pub fn placed(start: usize) {
    BELOW.store(start, Ordering::Relaxed);
}

/// guardld mapped something else at `addr` (its arena, ld.so.cache, a
/// TCB): the kernel put it below the last span, where the next span would
/// otherwise collide with it (or, before any span, where the first goes).
pub fn mapped(addr: usize) {
    let b = below();
    if b == 0 || addr < b {
        let _ = BELOW.compare_exchange(b, addr, Ordering::Relaxed, Ordering::Relaxed);
    }
}
