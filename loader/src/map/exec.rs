//! The executor: the one place where plan operations become syscalls
//! (mmap, mremap, madvise, mprotect). Two entry points, one per kind of
//! plan:
//!
//! * `execute`: an object guardld maps from its file (`plan::plan`).
//!   Reserve the span, replay the map ops, install all guards before any
//!   write, zero the bss tails. Any failure unmaps everything this object
//!   got: never a partly mapped object. If the kernel refuses guards the
//!   object is unmapped too and the error says so
//!   (`MapError::GuardsRefused`): the caller records it and maps the
//!   object again from a ProtNone plan.
//! * `execute_in_place`: an object the kernel mapped (`holes::plan`): grow
//!   the mapping before each padding hole in place and guard the grown
//!   part. It never fails as a whole: a hole whose growth or guard fails
//!   stays a hole (never a PROT_NONE VMA, never readable padding).
//!
//! The page size is the plan's. What guard support is known is not read
//! from global state: the caller says whether to try the batched install,
//! and each run reports what the kernel said (`GuardReport`).
#![allow(unsafe_code)] // the unsafe boundary (lib.rs): The executor: plan operations become mmap/mremap/madvise/mprotect.

use super::{GuardReport, Op, Plan};
use guard_abi::sys::IoVec;
use alloc::vec::Vec;
use core::ffi::c_void;
use rustix::fd::BorrowedFd;
use rustix::io::Errno;
use rustix::mm::{MapFlags, MprotectFlags, ProtFlags};

/// madvise advice: install guard regions (Linux 6.13; file mappings 6.15),
/// 102, from the guard-abi crate (`probe` and `GuardSupport` use it).
pub use guard_abi::MADV_GUARD_INSTALL;

#[derive(Clone, Copy, Debug)]
pub enum MapError {
    Reserve(Errno),
    Map(Errno, u64),
    Protect(Errno, u64),
    /// The kernel refused MADV_GUARD_INSTALL with this errno. Nothing of
    /// the object is left mapped.
    GuardsRefused(i32),
}

impl MapError {
    pub fn describe(&self, f: &mut impl core::fmt::Write) -> core::fmt::Result {
        match *self {
            MapError::Reserve(e) => write!(f, "cannot reserve address space: {}", crate::sys::file::errno_text(e)),
            MapError::Map(e, a) => write!(f, "cannot map segment at {a:#x}: {}", crate::sys::file::errno_text(e)),
            MapError::Protect(e, a) => write!(f, "cannot protect range at {a:#x}: {}", crate::sys::file::errno_text(e)),
            MapError::GuardsRefused(e) => write!(f, "cannot install guard regions (errno {e})"),
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
    /// What the kernel said about guards (never `refused`: that is an error).
    pub guards: GuardReport,
    /// Ranges mapped so far (what to undo on failure).
    placed: Vec<(usize, usize)>,
}

impl Mapped {
    /// The object's span, owned: unmapped when the owner drops it.
    pub fn into_span(self) -> Span {
        Span { start: self.start, len: self.len }
    }
}

/// Map `plan` from `fd`. `fixed` places the span at its link-time address
/// (ET_EXEC); otherwise the kernel chooses. `batch`: try installing all
/// guards with one process_madvise (`GuardSupport::batch`).
pub fn execute(plan: &Plan, fd: BorrowedFd<'_>, fixed: bool, batch: bool) -> Result<Mapped, MapError> {
    let mut inst = Installer { batch, report: GuardReport::default() };
    let mut m = execute_with(plan, fd, fixed, true, &mut inst)?;
    m.guards = inst.report;
    Ok(m)
}

fn execute_with(plan: &Plan, fd: BorrowedFd<'_>, fixed: bool, allow_trim: bool, inst: &mut Installer) -> Result<Mapped, MapError> {
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
    // Cheaper still: place the span right below the lowest mapping guardld
    // made (where the kernel's top-down search would put it anyway), op by
    // op in address order (as glibc and the kernel map segments: tools
    // such as valgrind expect it), each with FIXED_NOREPLACE: no
    // reservation to trim. Any refusal falls back to the reservation.
    if first.is_some()
        && !fixed
        && allow_trim
        && let Some(at) = crate::sys::place::below().checked_sub(plan.span_len as usize).filter(|&a| a != 0)
        && let Some(mut m) = place_at(plan, fd, at)
    {
        return match run_ops(plan, fd, &mut m, Placed::All, inst) {
            Ok(()) => {
                crate::sys::place::placed(at);
                Ok(m)
            }
            Err(e) => {
                m.unmap_placed();
                Err(e)
            }
        };
    }
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
    let mut m = Mapped { bias, start, len: plan.span_len as usize, guards: GuardReport::default(), placed: Vec::new() };
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
    let placed = match (first.is_some(), trimmed) {
        (false, _) => Placed::None,
        (true, false) => Placed::First,
        (true, true) => Placed::FirstTrimmed,
    };
    match run_ops(plan, fd, &mut m, placed, inst) {
        Ok(()) => {
            if !fixed {
                crate::sys::place::placed(start);
            }
            Ok(m)
        }
        Err(e) => {
            if trimmed {
                // Unmap only what we placed: the tail was free, and another
                // thread may own parts of it now.
                m.unmap_placed();
                if matches!(e, MapError::Map(Errno::EXIST, _)) {
                    // Raced with another mapping: do it the replacing way.
                    return execute_with(plan, fd, fixed, false, inst);
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

/// Map every map op of `plan` for a span starting at `at`, in address
/// order, each into free address space (FIXED_NOREPLACE). None (and
/// nothing left mapped) if any is refused or lands elsewhere (a kernel
/// without FIXED_NOREPLACE takes the address as a hint).
fn place_at(plan: &Plan, fd: BorrowedFd<'_>, at: usize) -> Option<Mapped> {
    let bias = at.wrapping_sub(plan.span_start as usize);
    let mut m = Mapped { bias, start: at, len: plan.span_len as usize, guards: GuardReport::default(), placed: Vec::new() };
    let flags = MapFlags::PRIVATE | MapFlags::FIXED_NOREPLACE;
    for op in &plan.ops {
        let (addr, len, r) = match *op {
            // SAFETY: FIXED_NOREPLACE never clobbers a mapping.
            Op::MapFile { addr, len, offset, prot } => (addr, len, unsafe {
                rustix::mm::mmap(bias.wrapping_add(addr as usize) as *mut c_void, len as usize, prot_flags(prot), flags, fd, offset)
            }),
            // SAFETY: as above.
            Op::MapAnon { addr, len, prot } => (addr, len, unsafe {
                rustix::mm::mmap_anonymous(bias.wrapping_add(addr as usize) as *mut c_void, len as usize, prot_flags(prot), flags)
            }),
            _ => continue,
        };
        if placed_at(&mut m, r, bias.wrapping_add(addr as usize), len, addr).is_err() {
            m.unmap_placed();
            return None;
        }
    }
    Some(m)
}

/// Which map ops are done before `run_ops`, and how the rest go in.
#[derive(Clone, Copy, PartialEq)]
enum Placed {
    /// None: the span is an anonymous reservation; ops replace parts of it.
    None,
    /// The first op is the reservation; the others replace parts of it.
    First,
    /// The first op is done and the rest of the span is free.
    FirstTrimmed,
    /// Every map op is done (`place_at`).
    All,
}

impl Mapped {
    /// Unmap every range placed so far (the span was never reserved whole).
    fn unmap_placed(&mut self) {
        for &(at, len) in self.placed.iter() {
            // SAFETY: a range the executor mapped for this object.
            let _ = unsafe { rustix::mm::munmap(at as *mut c_void, len) };
        }
        self.placed.clear();
    }
}

/// Record a mapping `run_ops` asked for at `at`. A kernel without
/// FIXED_NOREPLACE (before 4.17) takes the address as a hint: a mapping
/// elsewhere is given back and reported as taken (EEXIST: the caller then
/// maps the replacing way), never recorded as ours at `at`.
fn placed_at(m: &mut Mapped, r: rustix::io::Result<*mut c_void>, at: usize, len: u64, addr: u64) -> Result<(), MapError> {
    match r {
        Ok(p) if p as usize == at => {
            m.placed.push((at, len as usize));
            Ok(())
        }
        Ok(p) => {
            // SAFETY: the mapping just made elsewhere, ours alone.
            let _ = unsafe { rustix::mm::munmap(p, len as usize) };
            Err(MapError::Map(Errno::EXIST, addr))
        }
        Err(e) => Err(MapError::Map(e, addr)),
    }
}

fn run_ops(plan: &Plan, fd: BorrowedFd<'_>, m: &mut Mapped, placed: Placed, inst: &mut Installer) -> Result<(), MapError> {
    let fixed = if placed == Placed::FirstTrimmed { MapFlags::PRIVATE | MapFlags::FIXED_NOREPLACE } else { MapFlags::PRIVATE | MapFlags::FIXED };
    let mut guards: [(usize, usize); 8] = [(0, 0); 8];
    let mut nguards = 0;
    for (k, op) in plan.ops.iter().enumerate() {
        if placed == Placed::All && matches!(op, Op::MapFile { .. } | Op::MapAnon { .. }) {
            continue;
        }
        if k == 0 && matches!(placed, Placed::First | Placed::FirstTrimmed) {
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
                let r = unsafe { rustix::mm::mmap(at as *mut c_void, len as usize, prot_flags(prot), fixed, fd, offset) };
                placed_at(m, r, at, len, addr)?;
            }
            Op::MapAnon { addr, len, prot } => {
                let at = m.bias.wrapping_add(addr as usize);
                // SAFETY: as above.
                let r = unsafe { rustix::mm::mmap_anonymous(at as *mut c_void, len as usize, prot_flags(prot), fixed) };
                placed_at(m, r, at, len, addr)?;
            }
            Op::Guard { addr, len } => {
                // Collected, then installed in one call before any write.
                let at = m.bias.wrapping_add(addr as usize);
                if nguards == guards.len() {
                    inst.install(&guards[..nguards]).map_err(MapError::GuardsRefused)?;
                    nguards = 0;
                }
                guards[nguards] = (at, len as usize);
                nguards += 1;
            }
            Op::Zero { addr, len } => {
                inst.install(&guards[..nguards]).map_err(MapError::GuardsRefused)?;
                nguards = 0;
                zero(plan, m.bias, addr, len)?
            }
            // Only in plans of kernel-mapped objects (`execute_in_place`).
            Op::GrowInPlace { addr, .. } => return Err(MapError::Map(Errno::INVAL, addr)),
        }
    }
    inst.install(&guards[..nguards]).map_err(MapError::GuardsRefused)
}

/// Guard installation during one executor run: whether to try the batched
/// call, and what the kernel said (reported to the caller).
struct Installer {
    batch: bool,
    report: GuardReport,
}

impl Installer {
    /// Install guards on every range; Err(errno) if the kernel refuses (the
    /// caller undoes the ranges: padding is never left accessible, and
    /// never turned into a PROT_NONE VMA behind the plan's back).
    fn install(&mut self, ranges: &[(usize, usize)]) -> Result<(), i32> {
        if ranges.is_empty() {
            return Ok(());
        }
        if let Some(e) = self.report.refused {
            return Err(e);
        }
        let iov: Vec<IoVec> = ranges.iter().map(|&(base, len)| IoVec { base, len }).collect();
        // SAFETY: the ranges are padding of an object being mapped: nothing
        // of value is there, and guards go in before any write.
        match unsafe { guard_abi::sys::install_guards(&iov, self.batch) } {
            Ok(batched) => {
                // One process_madvise is not available (old kernel, a
                // seccomp policy): madvise range by range from now on.
                if self.batch && !batched && ranges.len() > 1 {
                    self.batch = false;
                    self.report.no_batch = true;
                }
                Ok(())
            }
            Err(e) => {
                let e = e.raw_os_error();
                self.report.refused = Some(e);
                Err(e)
            }
        }
    }
}

/// What `execute_in_place` did.
pub struct InPlace {
    /// Holes filled (grown, and guarded in Guard mode).
    pub filled: usize,
    pub guards: GuardReport,
}

/// Run a plan of an object the kernel mapped at `bias` (`holes::plan`):
/// each `GrowInPlace` grows the mapping ending at `addr` over the hole in
/// place; the `Guard`s of the grown holes are then installed together
/// (`batch`: with one process_madvise). A hole whose growth fails, or
/// whose guard the kernel refuses, is shrunk back: it stays a hole.
pub fn execute_in_place(plan: &Plan, bias: usize, batch: bool) -> InPlace {
    let page = plan.page_size as usize;
    let mut inst = Installer { batch, report: GuardReport::default() };
    // (link-time addr, runtime addr, len) of each grown hole.
    let mut grown: Vec<(u64, usize, usize)> = Vec::new();
    let mut guards: Vec<(usize, usize)> = Vec::new();
    for op in &plan.ops {
        match *op {
            Op::GrowInPlace { addr, len } => {
                let at = bias.wrapping_add(addr as usize);
                let last = at.wrapping_sub(page);
                // SAFETY: grows the VMA ending at `at` over the hole after
                // it, in place (no MREMAP_MAYMOVE): nothing else is touched.
                let r = unsafe { rustix::mm::mremap(last as *mut c_void, page, page + len as usize, rustix::mm::MremapFlags::empty()) };
                if r.ok() == Some(last as *mut c_void) {
                    grown.push((addr, at, len as usize));
                }
            }
            Op::Guard { addr, len } => {
                if let Some(&(_, at, l)) = grown.iter().find(|g| g.0 == addr && g.2 == len as usize) {
                    guards.push((at, l));
                }
            }
            // Never in an in-place plan: the kernel mapped the object.
            Op::MapFile { .. } | Op::MapAnon { .. } | Op::Zero { .. } => {}
        }
    }
    let mut filled = grown.len();
    if inst.install(&guards).is_err() {
        // Back to holes: shrink every mapping we grew to be guarded (munmap
        // takes any guard already installed with it).
        for &(at, len) in &guards {
            // SAFETY: the part we just added; it holds nothing.
            let _ = unsafe { rustix::mm::munmap(at as *mut c_void, len) };
        }
        filled -= guards.len();
    }
    InPlace { filled, guards: inst.report }
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
    let page = super::page_floor(at as u64, plan.page_size) as usize;
    let writable = prot & 2 != 0;
    let page_len = (at + len as usize).next_multiple_of(plan.page_size as usize) - page;
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

/// Ownership of the address range the executor mapped for one object:
/// dropping the owner unmaps it (and removes its guards with it).
/// A page-aligned range of this process's address space that one owner
/// mapped and alone may unmap.
pub struct Span {
    start: usize,
    len: usize,
}

impl Span {
    pub fn start(&self) -> usize {
        self.start
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Drop for Span {
    fn drop(&mut self) {
        if self.len != 0 {
            // SAFETY: `adopt`'s contract: the range is ours alone and unused.
            let _ = unsafe { rustix::mm::munmap(self.start as *mut core::ffi::c_void, self.len) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map::{Padding, PlanInput, Segment};
    use std::os::fd::AsRawFd;

    fn anon(len: usize) -> usize {
        // SAFETY: a fresh private mapping.
        unsafe { rustix::mm::mmap_anonymous(core::ptr::null_mut(), len, ProtFlags::READ | ProtFlags::WRITE, MapFlags::PRIVATE) }.unwrap() as usize
    }

    /// An object is placed right below `sys::place::below()` when that
    /// range is free, and goes to a reservation elsewhere when something
    /// is in the way (which stays as it was).
    #[test]
    fn placement_below_and_its_fallback() {
        let page = 4096usize;
        let path = std::env::temp_dir().join(format!("guardld-place-{}", std::process::id()));
        let bytes: Vec<u8> = (0..3 * page).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &bytes).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        // SAFETY: `file` stays open for the whole test.
        let fd = unsafe { BorrowedFd::borrow_raw(file.as_raw_fd()) };
        let seg = [Segment { vaddr: 0, memsz: 3 * page as u64, offset: 0, filesz: 3 * page as u64, flags: crate::map::PF_R }];
        let plan = crate::map::plan::plan(&PlanInput { segments: &seg, relro: None, file_size: 3 * page as u64, page_size: page as u64, padding: Padding::Extend }).unwrap();
        // A free range: mapped, then given back.
        let free = anon(64 * page);
        // SAFETY: our own mapping.
        unsafe { rustix::mm::munmap(free as *mut c_void, 64 * page) }.unwrap();
        crate::sys::place::placed(free + 64 * page);
        let m = execute(&plan, fd, false, false).unwrap();
        assert_eq!(m.start, free + 61 * page, "placed right below the hint");
        // SAFETY: the object's three mapped pages.
        assert_eq!(unsafe { core::slice::from_raw_parts(m.start as *const u8, 3 * page) }, &bytes[..]);
        drop(m.into_span());
        // Something in the way: a mapping of ours right below the hint.
        let blocker = anon(16 * page);
        // SAFETY: our own writable mapping.
        unsafe { core::ptr::write_bytes(blocker as *mut u8, 0x5a, 16 * page) };
        crate::sys::place::placed(blocker + 16 * page);
        let m = execute(&plan, fd, false, false).unwrap();
        assert!(m.start + 3 * page <= blocker || m.start >= blocker + 16 * page, "placed over the blocker");
        // SAFETY: the object's pages and the blocker, both mapped.
        unsafe {
            assert_eq!(core::slice::from_raw_parts(m.start as *const u8, 3 * page), &bytes[..]);
            assert!(core::slice::from_raw_parts(blocker as *const u8, 16 * page).iter().all(|&b| b == 0x5a));
        }
        drop(m.into_span());
        let _ = std::fs::remove_file(&path);
    }
}
