//! A safety net while guardld itself runs: every input is bounds-checked,
//! but a file can still change under us (truncated after mapping: SIGBUS on
//! its pages). While guardld's own stages run, SIGSEGV and SIGBUS report
//! `guardld: <object>: <reason>` and exit 127 instead of killing the process
//! with a signal. The default dispositions are restored before any code of
//! the program or its libraries runs (initializers included).

use core::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

const SIGBUS: usize = 7;
const SIGSEGV: usize = 11;
const SA_SIGINFO: u64 = 4;
const SA_RESTORER: u64 = 0x0400_0000;
const SYS_RT_SIGACTION: usize = 13;

/// The object guardld is working on, for the message: a copy, so the
/// handler never reads memory the loader may have reused.
static CURRENT: [AtomicU8; 256] = [const { AtomicU8::new(0) }; 256];
static CURRENT_LEN: AtomicUsize = AtomicUsize::new(0);

#[repr(C)]
struct KSigaction {
    handler: usize,
    flags: u64,
    restorer: usize,
    mask: u64,
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
    let what = if sig as usize == SIGBUS {
        "bus error reading the file (was it truncated or changed while loading?)"
    } else {
        "invalid memory access while loading (corrupt or changing file)"
    };
    crate::eprint!("guardld: {}: {}\n", crate::error::Bytes(name), what);
    crate::sys::exit(crate::error::EXIT_FAILURE);
}

/// SA_RESTORER is mandatory on x86_64; the handler never returns, but the
/// kernel still wants a restorer: rt_sigreturn.
#[unsafe(naked)]
extern "C" fn restorer() {
    core::arch::naked_asm!("mov eax, 15", "syscall", "ud2")
}

fn set(sig: usize, handler: usize) {
    let flags = if handler == 0 { 0 } else { SA_SIGINFO | SA_RESTORER };
    let act = KSigaction { handler, flags, restorer: restorer as *const () as usize, mask: 0 };
    // SAFETY: rt_sigaction with a valid struct and the kernel's sigset size.
    unsafe { crate::arch::syscall5(SYS_RT_SIGACTION, sig, &act as *const KSigaction as usize, 0, 8, 0) };
}

/// Catch faults inside guardld.
pub fn install() {
    for sig in [SIGSEGV, SIGBUS] {
        set(sig, on_fault as *const () as usize);
    }
}

/// Back to the default dispositions, before object code runs.
pub fn uninstall() {
    for sig in [SIGSEGV, SIGBUS] {
        set(sig, 0);
    }
}
