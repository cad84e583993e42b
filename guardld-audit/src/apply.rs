//! Turning an object's gaps into guarded extensions: the system calls.
//!
//! Every gap is first checked to be what glibc made (PROCMAP_QUERY: one
//! PROT_NONE VMA of a file, at the offset glibc's first mapping has there);
//! if any is not, the object is left as it is. Then, per gap (`gaps.rs`
//! says which): `Protect` guards the gap while it is still PROT_NONE and
//! mprotects it to the segment's protection (it merges); `Grow` grows the
//! segment's mapping over it.
//!
//! Start-up objects are only recorded (`defer`) and changed together at
//! the first la_activity(LA_ACT_CONSISTENT) (`flush`), which glibc's ld.so
//! calls after relocating every object and applying RELRO, before any
//! initializer runs: one thread, nothing else maps, so a Grow is munmap +
//! mremap in place; a RELRO segment is already read-only, so its extension
//! is born read-only and merges; and every object's guards go in with one
//! process_madvise. Objects dlopen'd later (other threads may exist) are
//! changed in la_objopen, atomically: the grown mapping is built elsewhere
//! from a copy of the segment's last page (MREMAP_DONTUNMAP), guarded
//! there, and moved over the last page and the gap in one MREMAP_FIXED,
//! which replaces them: another thread's mmap can never land in a
//! momentary hole.
//!
//! On any failure the gap stays PROT_NONE (or becomes PROT_NONE again):
//! padding is never left readable, and nothing foreign is ever inside an
//! object's span. A kernel that refuses guards (older than 6.15, or
//! mlockall(MCL_FUTURE)) is remembered: later objects are not touched.

use crate::gaps::{Fix, Gap};
use core::ffi::c_void;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};
use guard_abi::sys::IoVec;
use rustix::fd::{BorrowedFd, FromRawFd, IntoRawFd, OwnedFd};
use rustix::mm::{MapFlags, MprotectFlags, MremapFlags, ProtFlags};

/// The kernel refused a guard: leave every later object as glibc mapped it.
static REFUSED: AtomicBool = AtomicBool::new(false);
/// process_madvise failed once: install range by range.
static NO_BATCH: AtomicBool = AtomicBool::new(false);
/// /proc/self/maps, open while objects are being added (-1: closed).
static MAPS: AtomicI32 = AtomicI32::new(-1);

/// /proc/self/maps for PROCMAP_QUERY, opened once per batch of objects.
fn maps() -> Option<BorrowedFd<'static>> {
    let mut fd = MAPS.load(Ordering::Relaxed);
    if fd < 0 {
        let f = rustix::fs::open(c"/proc/self/maps", rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC, rustix::fs::Mode::empty()).ok()?;
        fd = f.into_raw_fd();
        MAPS.store(fd, Ordering::Relaxed);
    }
    // SAFETY: the fd is ours and stays open until `close_maps`.
    Some(unsafe { BorrowedFd::borrow_raw(fd) })
}

/// Close /proc/self/maps once the objects of a batch are added (no file
/// descriptor of the module outlives the loader's work).
pub fn close_maps() {
    let fd = MAPS.swap(-1, Ordering::Relaxed);
    if fd >= 0 {
        // SAFETY: the fd was ours (opened in `maps`), and is forgotten now.
        drop(unsafe { OwnedFd::from_raw_fd(fd) });
    }
}

/// Whether guards may be tried at all.
pub fn refused() -> bool {
    REFUSED.load(Ordering::Relaxed)
}

/// Is `[bias+g.addr, +g.len)` the PROT_NONE file mapping glibc left?
fn is_glibc_gap(maps: BorrowedFd<'_>, bias: usize, g: &Gap) -> bool {
    let start = bias as u64 + g.addr;
    let Ok(Some(v)) = guard_abi::sys::procmap_query(maps, start, 0, &mut []) else { return false };
    v.start <= start
        && v.end >= start + g.len
        && v.perms.is_prot_none()
        && !v.perms.shared
        && v.inode != 0
        && v.offset.checked_add(start - v.start) == Some(g.offset)
}

fn prot(bits: u32) -> MprotectFlags {
    MprotectFlags::from_bits_truncate(bits)
}

/// Back to PROT_NONE (a failure after the gap was changed).
fn reprotect(at: usize, len: usize) {
    // SAFETY: padding of an object being added: nothing lives there.
    let _ = unsafe { rustix::mm::mprotect(at as *mut c_void, len, MprotectFlags::empty()) };
}

/// Install guards on `ranges` (batched when the kernel lets us).
fn guard(ranges: &[IoVec]) -> bool {
    // SAFETY: the ranges are padding of an object being added: nothing of
    // value is there, and nothing has been written to it.
    match unsafe { guard_abi::sys::install_guards(ranges, !NO_BATCH.load(Ordering::Relaxed)) } {
        Ok(batched) => {
            if !batched && ranges.len() > 1 {
                NO_BATCH.store(true, Ordering::Relaxed);
            }
            true
        }
        Err(_) => {
            REFUSED.store(true, Ordering::Relaxed);
            false
        }
    }
}

/// Replace the gaps of the object at `bias` now, atomically (other
/// threads may exist).
pub fn apply(bias: usize, gaps: &[Gap], page: usize) {
    if gaps.is_empty() || refused() {
        return;
    }
    let Some(maps) = maps() else { return };
    if gaps.iter().all(|g| is_glibc_gap(maps, bias, g)) {
        gaps.iter().for_each(|g| apply_atomic(bias, g, page));
    }
}

/// A gap of a start-up object, waiting for `flush`.
#[derive(Clone, Copy)]
struct Pending {
    bias: usize,
    gap: Gap,
}

/// Start-up gaps recorded by `defer`. Fixed storage in the module's data
/// (no allocation lives across hooks); glibc calls audit hooks under its
/// loader lock, so they never run concurrently.
struct Deferred {
    gaps: core::cell::UnsafeCell<[Option<Pending>; DEFERRED_MAX]>,
    len: AtomicUsize,
}

/// Gaps recorded at most (three per library: 680 libraries); an object
/// that does not fit is changed at once, in place.
const DEFERRED_MAX: usize = 2048;

// SAFETY: only `defer` and `flush` touch `gaps`, and glibc serialises the
// audit hooks that call them (its loader lock).
unsafe impl Sync for Deferred {}

#[unsafe(link_section = ".data")]
static DEFERRED: Deferred = Deferred { gaps: core::cell::UnsafeCell::new([None; DEFERRED_MAX]), len: AtomicUsize::new(0) };

/// Record a start-up object's gaps for `flush` (or change them now, in
/// place, if the record is full: still one thread at start-up).
pub fn defer(bias: usize, gaps: &[Gap], page: usize) {
    if gaps.is_empty() || refused() {
        return;
    }
    let n = DEFERRED.len.load(Ordering::Relaxed);
    if n + gaps.len() > DEFERRED_MAX {
        // One object's gaps, on the stack (a PT_LOAD table in one page
        // has at most this many).
        let mut one = [None; MAX_OBJECT_GAPS];
        let mut iov = [IoVec::default(); MAX_OBJECT_GAPS];
        for (slot, &gap) in one.iter_mut().zip(gaps) {
            *slot = Some(Pending { bias, gap });
        }
        let k = gaps.len().min(MAX_OBJECT_GAPS);
        return startup(&mut one[..k], &mut iov[..k], page, true);
    }
    // SAFETY: see `Deferred`: no other hook runs now.
    let slots = unsafe { &mut *DEFERRED.gaps.get() };
    for (slot, &gap) in slots[n..].iter_mut().zip(gaps) {
        *slot = Some(Pending { bias, gap });
    }
    DEFERRED.len.store(n + gaps.len(), Ordering::Relaxed);
}

/// Gaps of one object at most: 4 KiB of program headers hold 73 entries.
const MAX_OBJECT_GAPS: usize = 80;

/// The ranges handed to one guard call in `flush` (no allocation: the
/// module's small heap is for one object's planning).
struct IoBuf(core::cell::UnsafeCell<[IoVec; DEFERRED_MAX]>);

// SAFETY: used by `flush` only, which glibc's loader lock serialises.
unsafe impl Sync for IoBuf {}

#[unsafe(link_section = ".data")]
static IOBUF: IoBuf = IoBuf(core::cell::UnsafeCell::new([IoVec { base: 0, len: 0 }; DEFERRED_MAX]));

/// Change every recorded gap (the end of start-up: relocated, RELRO
/// applied, no initializer run yet, one thread).
pub fn flush(page: usize) {
    let n = DEFERRED.len.swap(0, Ordering::Relaxed);
    // SAFETY: see `Deferred` and `IoBuf`: no other hook runs now.
    let (slots, iov) = unsafe { (&mut *DEFERRED.gaps.get(), &mut *IOBUF.0.get()) };
    startup(&mut slots[..n], &mut iov[..n], page, false);
}

/// One thread, nothing else mapping: check, grow in place, guard all in
/// one call, then protect. `readonly`: make RELRO extensions read-only
/// (before relocation; after it, RELRO is read-only already). `iov` is
/// scratch as long as `pending`; slots that fail become None.
fn startup(pending: &mut [Option<Pending>], iov: &mut [IoVec], page: usize, readonly: bool) {
    if pending.is_empty() || refused() {
        return;
    }
    let Some(maps) = maps() else { return };
    // An object with any gap that is not glibc's is left as it is.
    for i in 0..pending.len() {
        let Some(p) = pending[i] else { continue };
        if !is_glibc_gap(maps, p.bias, &p.gap) {
            pending.iter_mut().filter(|q| q.is_some_and(|q| q.bias == p.bias)).for_each(|q| *q = None);
        }
    }
    let mut k = 0;
    for slot in pending.iter_mut() {
        let Some(p) = *slot else { continue };
        let (at, len) = (p.bias + p.gap.addr as usize, p.gap.len as usize);
        let ok = match p.gap.fix {
            Fix::Protect { .. } => true,
            Fix::Grow { readonly: r } => grow_in_place(at, len, page, r && readonly),
        };
        if ok {
            iov[k] = IoVec { base: at, len };
            k += 1;
        } else {
            *slot = None;
        }
    }
    let grown = |p: &Pending| matches!(p.gap.fix, Fix::Grow { .. });
    if !guard(&iov[..k]) {
        for p in pending.iter().flatten().filter(|p| grown(p)) {
            reprotect(p.bias + p.gap.addr as usize, p.gap.len as usize);
        }
        return;
    }
    for p in pending.iter().flatten() {
        if let Fix::Protect { prot: bits } = p.gap.fix {
            // SAFETY: the gap is guarded: making it accessible exposes nothing.
            let _ = unsafe { rustix::mm::mprotect((p.bias + p.gap.addr as usize) as *mut c_void, p.gap.len as usize, prot(bits)) };
        }
    }
}

/// Unmap the gap and grow the mapping before it over the hole in place.
/// On failure the hole is filled with PROT_NONE again.
fn grow_in_place(at: usize, len: usize, page: usize, readonly: bool) -> bool {
    let last = at - page;
    // SAFETY: the gap is glibc's PROT_NONE padding of this object (checked).
    if unsafe { rustix::mm::munmap(at as *mut c_void, len) }.is_err() {
        return false;
    }
    // SAFETY: grows the segment's own mapping over the hole just made,
    // without moving it.
    let grown = unsafe { rustix::mm::mremap(last as *mut c_void, page, page + len, MremapFlags::empty()) };
    if grown.ok() != Some(last as *mut c_void) {
        // SAFETY: refill our own hole with inaccessible memory.
        let _ = unsafe { rustix::mm::mmap_anonymous(at as *mut c_void, len, ProtFlags::empty(), MapFlags::PRIVATE | MapFlags::FIXED_NOREPLACE) };
        return false;
    }
    if readonly {
        // SAFETY: the extension of this object's segment, not yet used.
        let _ = unsafe { rustix::mm::mprotect(at as *mut c_void, len, MprotectFlags::READ) };
    }
    true
}

/// After start-up: every change replaces memory atomically.
fn apply_atomic(bias: usize, g: &Gap, page: usize) {
    let (at, len) = (bias + g.addr as usize, g.len as usize);
    match g.fix {
        Fix::Protect { prot: p } => {
            if guard(&[IoVec { base: at, len }]) {
                // SAFETY: the gap is guarded: making it accessible exposes nothing.
                let _ = unsafe { rustix::mm::mprotect(at as *mut c_void, len, prot(p)) };
            }
        }
        Fix::Grow { readonly } => grow_elsewhere(at, len, page, readonly),
    }
}

/// Build [last page | guarded extension] elsewhere and move it over
/// [last page | gap] in one call.
fn grow_elsewhere(at: usize, len: usize, page: usize, readonly: bool) {
    let last = at - page;
    // SAFETY: a copy of the segment's last page (same file object, same
    // offset; its pages move with it and come back with the final move).
    let Ok(copy) = (unsafe { guard_abi::sys::mremap_dontunmap(last, page) }) else { return };
    let copy = copy as *mut c_void;
    // SAFETY: our copy, grown where the kernel finds room.
    let grown = match unsafe { rustix::mm::mremap(copy, page, page + len, MremapFlags::MAYMOVE) } {
        Ok(p) => p as usize,
        Err(_) => {
            // SAFETY: our copy; its page goes back over the last page.
            let _ = unsafe { rustix::mm::mremap_fixed(copy, page, page, MremapFlags::MAYMOVE, last as *mut c_void) };
            return;
        }
    };
    let ext = IoVec { base: grown + page, len };
    let readonly_ok = !readonly
        // SAFETY: the extension of our copy, not yet used.
        || unsafe { rustix::mm::mprotect(ext.base as *mut c_void, len, MprotectFlags::READ) }.is_ok();
    if !(readonly_ok && guard(&[ext])) {
        // Only the last page goes back; the gap stays glibc's.
        // SAFETY: our copy's first page back over the last page.
        let _ = unsafe { rustix::mm::mremap_fixed(grown as *mut c_void, page, page, MremapFlags::MAYMOVE, last as *mut c_void) };
        // SAFETY: the rest of our copy.
        let _ = unsafe { rustix::mm::munmap(ext.base as *mut c_void, len) };
        return;
    }
    // SAFETY: replaces the segment's last page (with its own pages) and the
    // PROT_NONE gap after it, atomically.
    if unsafe { rustix::mm::mremap_fixed(grown as *mut c_void, page + len, page + len, MremapFlags::MAYMOVE, last as *mut c_void) }.is_err() {
        // SAFETY: as above: the last page back, the extension dropped.
        let _ = unsafe { rustix::mm::mremap_fixed(grown as *mut c_void, page, page, MremapFlags::MAYMOVE, last as *mut c_void) };
        // SAFETY: the rest of our copy.
        let _ = unsafe { rustix::mm::munmap(ext.base as *mut c_void, len) };
    }
}
