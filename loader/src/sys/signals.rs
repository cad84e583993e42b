//! A safety net while guardld itself runs: every input is bounds-checked,
//! but a file can still change under us (truncated after mapping: SIGBUS on
//! its pages). While guardld's own stages run, SIGSEGV and SIGBUS report
//! `guardld: <object>: <reason>` and exit 127 instead of killing the process
//! with a signal. The default dispositions are restored before any code of
//! the program or its libraries runs (initializers included).

use core::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

use linux_raw_sys::general::{SIGBUS, SIGSEGV};

/// The object guardld is working on, for the message: a copy, so the
/// handler never reads memory the loader may have reused.
static CURRENT: [AtomicU8; 256] = [const { AtomicU8::new(0) }; 256];
static CURRENT_LEN: AtomicUsize = AtomicUsize::new(0);

/// A link error was reported: a fault after it is guardld's own failure to
/// stop cleanly, not a file changing under it.
static AFTER_ERRORS: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// Record that an error was reported (see `AFTER_ERRORS`).
pub fn error_reported() {
    AFTER_ERRORS.store(true, Ordering::Relaxed);
}

/// Name the object being processed.
pub fn working_on(name: &[u8]) {
    let n = name.len().min(CURRENT.len());
    CURRENT_LEN.store(0, Ordering::Relaxed);
    for (slot, &b) in CURRENT.iter().zip(&name[..n]) {
        slot.store(b, Ordering::Relaxed);
    }
    CURRENT_LEN.store(n, Ordering::Release);
}

/// Copy the name of the object being processed into `buf` ("guardld" if none).
pub fn current(buf: &mut [u8; 256]) -> &[u8] {
    let len = CURRENT_LEN.load(Ordering::Acquire);
    for (b, slot) in buf.iter_mut().zip(&CURRENT[..len]) {
        *b = slot.load(Ordering::Relaxed);
    }
    if len == 0 { b"guardld" } else { &buf[..len] }
}

extern "C" fn on_fault(sig: i32, _info: usize, _ctx: usize) {
    let mut buf = [0u8; 256];
    let name = current(&mut buf);
    let what = if sig as u32 == SIGBUS {
        "bus error reading the file (was it truncated or changed while loading?)"
    } else if AFTER_ERRORS.load(Ordering::Relaxed) {
        "internal error: invalid memory access after the errors above (a guardld bug; please report it)"
    } else {
        "invalid memory access while loading (corrupt or changing file)"
    };
    crate::eprint!("guardld: {}: {}\n", crate::error::Bytes(name), what);
    crate::sys::exit(crate::error::EXIT_FAILURE);
}

/// Catch faults inside guardld.
pub fn install() {
    for sig in [SIGSEGV, SIGBUS] {
        crate::sys::raw::sigaction(sig, Some(on_fault));
    }
}

/// Back to the default dispositions, before object code runs.
pub fn uninstall() {
    for sig in [SIGSEGV, SIGBUS] {
        crate::sys::raw::sigaction(sig, None);
    }
}
