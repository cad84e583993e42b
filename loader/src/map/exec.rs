//! Execute a mapping plan with syscalls. A failure unmaps everything this
//! object got: never a partly mapped object.

use super::{Op, Plan};
use crate::arch::madvise_raw;
use core::ffi::c_void;
use core::sync::atomic::{AtomicU8, Ordering};
use rustix::fd::BorrowedFd;
use rustix::io::Errno;
use rustix::mm::{MapFlags, MprotectFlags, ProtFlags};

pub const MADV_GUARD_INSTALL: usize = 102;

/// Whether guard installation works here: learnt from the first attempt.
const GUARDS_UNKNOWN: u8 = 0;
const GUARDS_WORK: u8 = 1;
const GUARDS_FAIL: u8 = 2;
static GUARDS: AtomicU8 = AtomicU8::new(GUARDS_UNKNOWN);

/// Why the kernel refused guards (errno), for the fallback message.
static GUARD_ERRNO: AtomicU8 = AtomicU8::new(0);

/// True once a guard install has failed in this process: later objects are
/// planned in prot-none mode.
pub fn guards_failed() -> bool {
    GUARDS.load(Ordering::Relaxed) == GUARDS_FAIL
}

pub fn guard_errno() -> i32 {
    GUARD_ERRNO.load(Ordering::Relaxed) as i32
}

#[derive(Clone, Copy, Debug)]
pub enum MapError {
    Reserve(Errno),
    Map(Errno, u64),
    Protect(Errno, u64),
}

impl MapError {
    pub fn describe(&self, f: &mut impl core::fmt::Write) -> core::fmt::Result {
        match *self {
            MapError::Reserve(e) => write!(f, "cannot reserve address space: {}", crate::sys::file::errno_text(e)),
            MapError::Map(e, a) => write!(f, "cannot map segment at {a:#x}: {}", crate::sys::file::errno_text(e)),
            MapError::Protect(e, a) => write!(f, "cannot protect range at {a:#x}: {}", crate::sys::file::errno_text(e)),
        }
    }
}

pub fn prot_flags(prot: u32) -> ProtFlags {
    ProtFlags::from_bits_truncate(prot)
}

/// How an object ended up mapped.
pub struct Mapped {
    pub bias: usize,
    pub start: usize,
    pub len: usize,
    /// Padding ranges covered by guards (false: fell back to PROT_NONE).
    pub guarded: bool,
    /// Ranges mapped so far (what to undo on failure).
    pub placed: alloc::vec::Vec<(usize, usize)>,
}

/// Map `plan` from `fd`. `fixed` places the span at its link-time address
/// (ET_EXEC); otherwise the kernel chooses.
pub fn execute(plan: &Plan, fd: BorrowedFd<'_>, fixed: bool) -> Result<Mapped, MapError> {
    execute_with(plan, fd, fixed, true)
}

fn execute_with(plan: &Plan, fd: BorrowedFd<'_>, fixed: bool, allow_trim: bool) -> Result<Mapped, MapError> {
    let hint = if fixed { plan.span_start as *mut c_void } else { core::ptr::null_mut() };
    let flags = if fixed { MapFlags::PRIVATE | MapFlags::FIXED_NOREPLACE } else { MapFlags::PRIVATE };
    // When every byte of the span is covered by ops (no PROT_NONE gaps) and
    // the first op maps the file at the span's start, that mapping, made
    // span-long, is the reservation: one mmap fewer per object. The later
    // ops replace the rest of it.
    let first = match plan.ops.first() {
        Some(&Op::MapFile { addr, offset, prot, .. }) if addr == plan.span_start && covers_span(plan) => Some((offset, prot)),
        _ => None,
    };
    // SAFETY: a fresh mapping; FIXED_NOREPLACE never clobbers.
    let start = unsafe {
        match first {
            Some((offset, prot)) => rustix::mm::mmap(hint, plan.span_len as usize, prot_flags(prot), flags, fd, offset),
            None => rustix::mm::mmap_anonymous(hint, plan.span_len as usize, ProtFlags::empty(), flags),
        }
    }
    .map_err(MapError::Reserve)? as usize;
    if fixed && start as u64 != plan.span_start {
        // SAFETY: our own reservation.
        let _ = unsafe { rustix::mm::munmap(start as *mut c_void, plan.span_len as usize) };
        return Err(MapError::Reserve(Errno::EXIST));
    }
    let bias = start.wrapping_sub(plan.span_start as usize);
    let mut m = Mapped { bias, start, len: plan.span_len as usize, guarded: true, placed: alloc::vec::Vec::new() };
    // With the first op as the reservation, trim the reservation back to
    // that op and place the others into the freed tail with
    // FIXED_NOREPLACE: plain insertions, where replacing parts of the
    // reservation would split and trim it once per op. If another thread
    // takes part of the tail meanwhile (EEXIST), fall back to replacing.
    let mut trimmed = false;
    if let Some(&Op::MapFile { len, .. }) = plan.ops.first().filter(|_| first.is_some() && allow_trim)
        && (len as usize) < m.len {
            // SAFETY: the tail of our own reservation.
            trimmed = unsafe { rustix::mm::munmap((start + len as usize) as *mut c_void, m.len - len as usize) }.is_ok();
        }
    match run_ops(plan, fd, &mut m, first.is_some(), trimmed) {
        Ok(()) => Ok(m),
        Err(e) => {
            if trimmed {
                // Unmap only what we placed: the tail was free, and another
                // thread may own parts of it now.
                for &(at, len) in m.placed.iter() {
                    // SAFETY: a range this function mapped.
                    let _ = unsafe { rustix::mm::munmap(at as *mut c_void, len) };
                }
                if matches!(e, MapError::Map(Errno::EXIST, _)) {
                    // Raced with another mapping: do it the replacing way.
                    return execute_with(plan, fd, fixed, false);
                }
            } else {
                // SAFETY: the span is ours alone; unmapping it undoes every op.
                let _ = unsafe { rustix::mm::munmap(start as *mut c_void, plan.span_len as usize) };
            }
            Err(e)
        }
    }
}

/// Whether the map ops cover the whole span (true in guard and extend modes).
fn covers_span(plan: &Plan) -> bool {
    let mut end = plan.span_start;
    for op in &plan.ops {
        match *op {
            Op::MapFile { addr, len, .. } | Op::MapAnon { addr, len, .. } if addr == end => end = addr + len,
            Op::MapFile { .. } | Op::MapAnon { .. } => return false,
            _ => {}
        }
    }
    end == plan.span_start + plan.span_len
}

fn run_ops(plan: &Plan, fd: BorrowedFd<'_>, m: &mut Mapped, first_done: bool, into_free: bool) -> Result<(), MapError> {
    let fixed = if into_free { MapFlags::PRIVATE | MapFlags::FIXED_NOREPLACE } else { MapFlags::PRIVATE | MapFlags::FIXED };
    let mut guards: [(usize, usize); 8] = [(0, 0); 8];
    let mut nguards = 0;
    for (k, op) in plan.ops.iter().enumerate() {
        if k == 0 && first_done {
            // Already mapped as the reservation.
            if let Op::MapFile { addr, len, .. } = *op {
                m.placed.push((m.bias.wrapping_add(addr as usize), len as usize));
            }
            continue;
        }
        match *op {
            Op::MapFile { addr, len, offset, prot } => {
                let at = m.bias.wrapping_add(addr as usize);
                // SAFETY: inside our own span: MAP_FIXED over our reservation,
                // or FIXED_NOREPLACE into its freed tail.
                unsafe {
                    rustix::mm::mmap(at as *mut c_void, len as usize, prot_flags(prot), fixed, fd, offset)
                }
                .map_err(|e| MapError::Map(e, addr))?;
                m.placed.push((at, len as usize));
            }
            Op::MapAnon { addr, len, prot } => {
                let at = m.bias.wrapping_add(addr as usize);
                // SAFETY: as above.
                unsafe { rustix::mm::mmap_anonymous(at as *mut c_void, len as usize, prot_flags(prot), fixed) }
                    .map_err(|e| MapError::Map(e, addr))?;
                m.placed.push((at, len as usize));
            }
            Op::Guard { addr, len } => {
                // Collected, then installed in one call before any write.
                let at = m.bias.wrapping_add(addr as usize);
                if nguards == guards.len() {
                    install_all(&guards[..nguards], m)?;
                    nguards = 0;
                }
                guards[nguards] = (at, len as usize);
                nguards += 1;
            }
            Op::Zero { addr, len } => {
                install_all(&guards[..nguards], m)?;
                nguards = 0;
                zero(plan, m.bias, addr, len)?
            }
        }
    }
    install_all(&guards[..nguards], m)
}

/// Install guards on every range; where the kernel refuses, the range
/// becomes PROT_NONE instead (glibc's layout for that gap): padding is never
/// left accessible.
fn install_all(ranges: &[(usize, usize)], m: &mut Mapped) -> Result<(), MapError> {
    if ranges.is_empty() || install_guards(ranges) {
        return Ok(());
    }
    m.guarded = false;
    for &(at, len) in ranges {
        // SAFETY: padding inside our own span; nothing lives there.
        unsafe { rustix::mm::mprotect(at as *mut c_void, len, MprotectFlags::empty()) }
            .map_err(|e| MapError::Protect(e, (at - m.bias) as u64))?;
    }
    Ok(())
}

/// process_madvise(2) on ourselves: one syscall for all of an object's
/// padding ranges. PIDFD_SELF (Linux 6.14+) names the calling process.
const SYS_PROCESS_MADVISE: usize = 440;
const PIDFD_SELF: isize = -10000;
static BATCH: AtomicU8 = AtomicU8::new(GUARDS_UNKNOWN);

fn install_batch(ranges: &[(usize, usize)]) -> Option<bool> {
    if BATCH.load(Ordering::Relaxed) == GUARDS_FAIL {
        return None;
    }
    let total: usize = ranges.iter().map(|r| r.1).sum();
    // SAFETY: struct iovec { void *base; size_t len; } has the layout of
    // the pairs; the ranges are our own padding, guarded before any write.
    let r = unsafe { crate::arch::syscall5(SYS_PROCESS_MADVISE, PIDFD_SELF as usize, ranges.as_ptr() as usize, ranges.len(), MADV_GUARD_INSTALL, 0) };
    if r >= 0 && r as usize == total {
        BATCH.store(GUARDS_WORK, Ordering::Relaxed);
        return Some(true);
    }
    // Not available (old kernel, EBADF for PIDFD_SELF): use madvise from now on.
    BATCH.store(GUARDS_FAIL, Ordering::Relaxed);
    None
}

/// Install guards on every range; false if the kernel refuses.
fn install_guards(ranges: &[(usize, usize)]) -> bool {
    if GUARDS.load(Ordering::Relaxed) == GUARDS_FAIL {
        return false;
    }
    if ranges.len() > 1 && install_batch(ranges) == Some(true) {
        GUARDS.store(GUARDS_WORK, Ordering::Relaxed);
        return true;
    }
    let mut r = 0;
    for &(at, len) in ranges {
        // SAFETY: the range is padding of an object being mapped: nothing of
        // value is there, and guards are installed before any write.
        r = unsafe { madvise_raw(at, len, MADV_GUARD_INSTALL) };
        if r != 0 {
            break;
        }
    }
    if r == 0 {
        GUARDS.store(GUARDS_WORK, Ordering::Relaxed);
        return true;
    }
    GUARD_ERRNO.store((-r) as u8, Ordering::Relaxed);
    GUARDS.store(GUARDS_FAIL, Ordering::Relaxed);
    crate::debug!(Map, "guard regions unavailable (madvise 102: errno {}): padding falls back to PROT_NONE", -r);
    false
}

/// Zero the tail of a file page past p_filesz. If the segment is not
/// writable, make the page writable for the write and restore it after.
fn zero(plan: &Plan, bias: usize, addr: u64, len: u64) -> Result<(), MapError> {
    let prot = plan
        .ops
        .iter()
        .find_map(|op| match *op {
            Op::MapFile { addr: a, len: l, prot, .. } if a <= addr && addr < a + l => Some(prot),
            _ => None,
        })
        .unwrap_or(0);
    let at = bias.wrapping_add(addr as usize);
    let page = at & !4095;
    let writable = prot & 2 != 0;
    let page_len = ((at + len as usize + 4095) & !4095) - page;
    if !writable {
        // SAFETY: a page of our own mapping.
        unsafe { rustix::mm::mprotect(page as *mut c_void, page_len, MprotectFlags::READ | MprotectFlags::WRITE) }
            .map_err(|e| MapError::Protect(e, addr))?;
    }
    // SAFETY: [at, at+len) lies in a mapped, now writable page of ours.
    unsafe { core::ptr::write_bytes(at as *mut u8, 0, len as usize) };
    if !writable {
        // SAFETY: restore the segment's own protection.
        unsafe { rustix::mm::mprotect(page as *mut c_void, page_len, MprotectFlags::from_bits_truncate(prot)) }
            .map_err(|e| MapError::Protect(e, addr))?;
    }
    Ok(())
}

/// Apply the plan's RELRO protection once relocation is done.
pub fn protect_relro(relro: Option<(u64, u64)>, bias: usize) -> Result<(), MapError> {
    if let Some((addr, len)) = relro {
        // SAFETY: RELRO lies inside the object's own mapping.
        unsafe { rustix::mm::mprotect(bias.wrapping_add(addr as usize) as *mut c_void, len as usize, MprotectFlags::READ) }
            .map_err(|e| MapError::Protect(e, addr))?;
    }
    Ok(())
}
