//! Installing guards: madvise(MADV_GUARD_INSTALL) and process_madvise on
//! this process, which rustix does not offer (its `Advice` has no guard
//! values, and it has no process_madvise). Numbers from linux-raw-sys; the
//! instruction is x86_64's `syscall`.

use super::{Errno, Result};
use linux_raw_sys::general as k;

/// One range for process_madvise: `struct iovec`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IoVec {
    pub base: usize,
    pub len: usize,
}

/// include/uapi/linux/pidfd.h: PIDFD_SELF_THREAD_GROUP (not in
/// linux-raw-sys 0.12): process_madvise on the calling process, no pidfd.
const PIDFD_SELF: isize = -10000;

fn result(r: isize) -> Result<usize> {
    if (-4095..0).contains(&r) { Err(Errno::from_raw_os_error(-r as i32)) } else { Ok(r as usize) }
}

/// # Safety
/// The syscall and its arguments must be valid for this process.
#[cfg(target_arch = "x86_64")]
unsafe fn syscall5(nr: u32, a: usize, b: usize, c: usize, d: usize, e: usize) -> isize {
    let ret: isize;
    // SAFETY: forwarded from the caller.
    unsafe {
        core::arch::asm!("syscall", inlateout("rax") nr as isize => ret, in("rdi") a, in("rsi") b, in("rdx") c,
            in("r10") d, in("r8") e, lateout("rcx") _, lateout("r11") _, options(nostack));
    }
    ret
}

/// madvise(2) with any advice (MADV_GUARD_INSTALL, MADV_GUARD_REMOVE...).
///
/// # Safety
/// Guarding or zapping the pages of `[addr, addr+len)` must not break
/// anything the caller relies on (installing a guard discards the data of
/// the pages it covers).
pub unsafe fn madvise(addr: usize, len: usize, advice: u32) -> Result<()> {
    // SAFETY: madvise changes page-table state of the range only; the caller
    // vouches for the range.
    result(unsafe { syscall5(k::__NR_madvise, addr, len, advice as usize, 0, 0) }).map(drop)
}

/// Whether the kernel knows `advice` (madvise of an empty range: no page
/// is touched).
pub fn advice_known(advice: u32) -> bool {
    // SAFETY: a zero-length range.
    unsafe { madvise(0, 0, advice) }.is_ok()
}

/// process_madvise(2) on this process: one call for several ranges.
/// Returns the bytes advised (a short count means a range failed).
///
/// # Safety
/// As `madvise`, for every range.
pub unsafe fn process_madvise_self(ranges: &[IoVec], advice: u32) -> Result<usize> {
    // SAFETY: the kernel reads `ranges` during the call; the ranges are the
    // caller's to advise.
    result(unsafe { syscall5(k::__NR_process_madvise, PIDFD_SELF as usize, ranges.as_ptr() as usize, ranges.len(), advice as usize, 0) })
}

/// mremap(MREMAP_MAYMOVE | MREMAP_DONTUNMAP): move `[addr, addr+len)`'s
/// pages to a new place the kernel picks, leaving the old range mapped
/// (it refaults from its file). Returns the new address. (rustix's mremap
/// passes four arguments; with MREMAP_DONTUNMAP the kernel reads the
/// fifth as a new-address hint and refuses garbage there with EINVAL.)
///
/// # Safety
/// The range's contents move away: nothing may rely on them being there
/// until the caller moves them back.
pub unsafe fn mremap_dontunmap(addr: usize, len: usize) -> Result<usize> {
    let flags = (k::MREMAP_MAYMOVE | k::MREMAP_DONTUNMAP) as usize;
    // SAFETY: forwarded from the caller; the hint 0 lets the kernel choose.
    result(unsafe { syscall5(k::__NR_mremap, addr, len, len, flags, 0) })
}

/// Install guards on every range: one process_madvise when it works, else
/// madvise range by range (kernels before 6.13 know no PIDFD_SELF; some
/// seccomp policies deny process_madvise). Returns whether process_madvise
/// served, or the errno of the first range refused.
///
/// # Safety
/// As `madvise`, for every range.
pub unsafe fn install_guards(ranges: &[IoVec], try_batch: bool) -> core::result::Result<bool, Errno> {
    if ranges.is_empty() {
        return Ok(try_batch);
    }
    // process_madvise takes at most UIO_MAXIOV ranges per call.
    if try_batch && ranges.len() > 1 {
        let batched = ranges.chunks(k::UIO_MAXIOV as usize).all(|c| {
            let total: usize = c.iter().map(|r| r.len).sum();
            // SAFETY: forwarded from the caller.
            (unsafe { process_madvise_self(c, k::MADV_GUARD_INSTALL) }) == Ok(total)
        });
        if batched {
            return Ok(true);
        }
    }
    // Range by range (a range already guarded by a partial batch is
    // guarded again: installing is idempotent).
    for r in ranges {
        // SAFETY: forwarded from the caller.
        unsafe { madvise(r.base, r.len, k::MADV_GUARD_INSTALL) }?;
    }
    Ok(false)
}
