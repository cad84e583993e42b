//! The system calls rustix does not offer in a form guardld can use, with
//! numbers and constants from linux-raw-sys, and safe wrappers for the few
//! calls whose safety is local (diagnostic writes, a mapping kept forever).
//! The instructions themselves are `arch`'s; no other module names a
//! syscall number.
#![allow(unsafe_code)] // the unsafe boundary (lib.rs): Numbered syscalls and the few mappings guardld keeps or scratches.

use linux_raw_sys::general as k;
use rustix::io::Errno;

fn result(r: isize) -> Result<usize, Errno> {
    if (-4095..0).contains(&r) { Err(Errno::from_raw_os_error(-r as i32)) } else { Ok(r as usize) }
}

/// exit_group(2): the loader's way out on every error path.
pub fn exit_group(code: i32) -> ! {
    crate::arch::syscall1_noreturn(k::__NR_exit_group as usize, code as isize as usize)
}

/// Point %fs at `tp` (arch_prctl ARCH_SET_FS).
///
/// # Safety
/// `tp` must point at a TCB that lives as long as the thread uses it.
pub unsafe fn set_fs_base(tp: usize) -> Result<(), Errno> {
    // SAFETY: forwarded from the caller.
    result(unsafe { crate::arch::syscall3(k::__NR_arch_prctl as usize, k::ARCH_SET_FS as usize, tp, 0) }).map(drop)
}

/// CLOCK_MONOTONIC in nanoseconds.
pub fn monotonic_ns() -> u64 {
    let mut ts = k::__kernel_timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes one timespec into `ts`.
    let _ = unsafe { crate::arch::syscall3(k::__NR_clock_gettime as usize, k::CLOCK_MONOTONIC as usize, &mut ts as *mut _ as usize, 0) };
    (ts.tv_sec as u64).wrapping_mul(1_000_000_000).wrapping_add(ts.tv_nsec as u64)
}

/// The kernel's `struct sigaction` on x86_64.
#[repr(C)]
struct KSigaction {
    handler: usize,
    flags: u64,
    restorer: usize,
    mask: u64,
}

/// A signal handler taking (signal, siginfo, ucontext).
pub type Handler = extern "C" fn(i32, usize, usize);

/// Install `handler` for `sig` (SA_SIGINFO), or restore the default
/// disposition with None.
pub fn sigaction(sig: u32, handler: Option<Handler>) {
    let (handler, flags) = match handler {
        Some(h) => (h as usize, (k::SA_SIGINFO | k::SA_RESTORER) as u64),
        None => (0, 0),
    };
    let act = KSigaction { handler, flags, restorer: crate::arch::sigreturn_restorer as *const () as usize, mask: 0 };
    // SAFETY: the handler is a Rust function of the kernel's handler type
    // (or SIG_DFL); the restorer calls rt_sigreturn.
    let _ = unsafe {
        crate::arch::syscall5(k::__NR_rt_sigaction as usize, sig as usize, &act as *const KSigaction as usize, 0, core::mem::size_of::<u64>(), 0)
    };
}

/// rt_sigreturn's number, for the signal restorer's asm.
pub const NR_RT_SIGRETURN: u32 = k::__NR_rt_sigreturn;

/// execve(2). Returns only on failure.
///
/// # Safety
/// `argv` and `envp` are NULL-terminated arrays of NUL-terminated strings
/// that stay valid across the call.
pub unsafe fn execve(path: &core::ffi::CStr, argv: &[*const u8], envp: *const *const u8) -> Errno {
    // SAFETY: forwarded from the caller.
    let r = unsafe { crate::arch::syscall3(k::__NR_execve as usize, path.as_ptr() as usize, argv.as_ptr() as usize, envp as usize) };
    Errno::from_raw_os_error(-r as i32)
}

/// Write all of `buf` to a file descriptor, ignoring errors (used for
/// diagnostics, which have nowhere else to go).
pub fn write_fd(fd: i32, mut buf: &[u8]) {
    // SAFETY: writing to a possibly-closed fd is harmless (EBADF).
    let fd = unsafe { rustix::fd::BorrowedFd::borrow_raw(fd) };
    while !buf.is_empty() {
        match rustix::io::write(fd, buf) {
            Ok(0) => return,
            Ok(n) => buf = &buf[n..],
            Err(Errno::INTR) => {}
            Err(_) => return,
        }
    }
}

/// Map `len` bytes of a regular file read-only, for the rest of the
/// process (never unmapped: the slice is 'static).
pub fn map_readonly_forever(fd: rustix::fd::BorrowedFd<'_>, len: usize) -> Option<&'static [u8]> {
    use rustix::mm::{MapFlags, ProtFlags};
    // SAFETY: a fresh private read-only mapping; nothing unmaps it.
    let p = unsafe { rustix::mm::mmap(core::ptr::null_mut(), len, ProtFlags::READ, MapFlags::PRIVATE, fd, 0) }.ok()?;
    super::place::mapped(p as usize);
    // SAFETY: `len` bytes mapped readable at `p`, for the process's life.
    Some(unsafe { core::slice::from_raw_parts(p as *const u8, len) })
}

/// A private mapping guardld makes to try something on (`--probe`), and
/// unmaps when dropped. Nothing else lives in it, so advising it is safe.
pub struct Scratch {
    addr: usize,
    len: usize,
}

impl Scratch {
    /// `len` bytes of anonymous read-only memory.
    pub fn anonymous(len: usize) -> Option<Scratch> {
        use rustix::mm::{MapFlags, ProtFlags};
        // SAFETY: a fresh private mapping at an address the kernel picks.
        let p = unsafe { rustix::mm::mmap_anonymous(core::ptr::null_mut(), len, ProtFlags::READ, MapFlags::PRIVATE) }.ok()?;
        Some(Scratch { addr: p as usize, len })
    }

    /// The first `len` bytes of an open file, private and read-only.
    pub fn file(fd: rustix::fd::BorrowedFd<'_>, len: usize) -> Option<Scratch> {
        use rustix::mm::{MapFlags, ProtFlags};
        // SAFETY: a fresh private mapping at an address the kernel picks.
        let p = unsafe { rustix::mm::mmap(core::ptr::null_mut(), len, ProtFlags::READ, MapFlags::PRIVATE, fd, 0) }.ok()?;
        Some(Scratch { addr: p as usize, len })
    }

    pub fn addr(&self) -> usize {
        self.addr
    }

    /// madvise `[addr+off, addr+off+len)` of this scratch mapping.
    pub fn advise(&self, off: usize, len: usize, advice: u32) -> Result<(), Errno> {
        if off.checked_add(len).is_none_or(|e| e > self.len) {
            return Err(Errno::INVAL);
        }
        // SAFETY: the range is inside this scratch mapping, which holds
        // nothing anyone uses.
        unsafe { guard_abi::sys::madvise(self.addr + off, len, advice) }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // SAFETY: our own mapping, used by nobody once dropped.
        let _ = unsafe { rustix::mm::munmap(self.addr as *mut core::ffi::c_void, self.len) };
    }
}

/// set_tid_address(2): the kernel clears `*tid` and wakes it at thread
/// exit; returns the caller's thread ID.
///
/// # Safety
/// `tid` must stay valid for the thread's life.
pub unsafe fn set_tid_address(tid: usize) -> usize {
    // SAFETY: forwarded from the caller.
    unsafe { crate::arch::syscall3(k::__NR_set_tid_address as usize, tid, 0, 0) as usize }
}

/// set_robust_list(2).
///
/// # Safety
/// `head` must be a robust list head valid for the thread's life.
pub unsafe fn set_robust_list(head: usize, len: usize) -> Result<(), Errno> {
    // SAFETY: forwarded from the caller.
    result(unsafe { crate::arch::syscall3(k::__NR_set_robust_list as usize, head, len, 0) }).map(drop)
}

/// rseq(2) registration of the calling thread.
///
/// # Safety
/// `area` must be the thread's rseq area, valid for the thread's life.
pub unsafe fn rseq(area: usize, len: usize, sig: u32) -> Result<(), Errno> {
    // SAFETY: forwarded from the caller.
    result(unsafe { crate::arch::syscall5(k::__NR_rseq as usize, area, len, 0, sig as usize, 0) }).map(drop)
}
