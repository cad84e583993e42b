//! The pure mapping planner shared by guardld's loader and its audit
//! module: an object's PT_LOAD segments in, the operations that map it (and
//! its padding: guards, PROT_NONE or extension) out. No system calls, no
//! process state: every rule is unit- and property-tested on the host, at
//! 4, 16 and 64 KiB pages.
//!
//! `plan` plans an object guardld maps itself; `holes` plans the padding
//! holes of an object something else (the kernel) already mapped.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod holes;
pub mod plan;

/// What guardld does with the padding between PT_LOAD segments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Padding {
    /// Extend the preceding mapping over the padding and install guard
    /// regions (MADV_GUARD_INSTALL) on it: no extra VMA, any access faults.
    Guard,
    /// glibc's layout: the padding stays a PROT_NONE mapping (one VMA per gap).
    ProtNone,
    /// musl's behaviour: the padding stays accessible with the preceding
    /// segment's permissions. Unsafe; for comparison only.
    Extend,
}

/// Segment permission bits, as in p_flags.
pub const PF_X: u32 = 1;
pub const PF_W: u32 = 2;
pub const PF_R: u32 = 4;

/// One PT_LOAD, already checked for basic sanity by the ELF layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    pub vaddr: u64,
    pub memsz: u64,
    pub offset: u64,
    pub filesz: u64,
    /// PF_R | PF_W | PF_X
    pub flags: u32,
}

/// Everything the planner needs to know about one object.
#[derive(Clone, Copy, Debug)]
pub struct PlanInput<'a> {
    /// PT_LOAD segments in program-header order.
    pub segments: &'a [Segment],
    /// PT_GNU_RELRO as (vaddr, memsz), if any.
    pub relro: Option<(u64, u64)>,
    pub file_size: u64,
    /// Runtime page size (AT_PAGESZ), a power of two.
    pub page_size: u64,
    pub padding: Padding,
}

/// One operation of a plan. Every address is relative to the load bias
/// (i.e. a link-time virtual address); the executor adds the bias.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// mmap(file, offset) MAP_PRIVATE|MAP_FIXED at `addr`, `len` bytes, `prot`.
    /// `len` may run past the end of the file (only over guarded padding).
    MapFile { addr: u64, len: u64, offset: u64, prot: u32 },
    /// Anonymous MAP_PRIVATE|MAP_FIXED zero pages (bss past the file's pages).
    MapAnon { addr: u64, len: u64, prot: u32 },
    /// madvise(MADV_GUARD_INSTALL) on [addr, addr+len).
    Guard { addr: u64, len: u64 },
    /// Only in plans for an object the kernel mapped (`holes::plan`): grow
    /// the mapping that ends at `addr` over the hole `[addr, addr+len)` in
    /// place (mremap without MREMAP_MAYMOVE), so the grown part continues
    /// that mapping (same file, following offsets, same prot) and no VMA is
    /// added. A Guard on the same range follows it in Guard mode; if either
    /// fails the hole stays a hole.
    GrowInPlace { addr: u64, len: u64 },
    /// Zero [addr, addr+len) inside an already mapped, writable file page
    /// (the part of the last file page past p_filesz).
    Zero { addr: u64, len: u64 },
}

/// The result of planning one object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// The runtime page size the plan was made for (every executor and
    /// RELRO mprotect uses this one).
    pub page_size: u64,
    /// The padding mode the plan was made for: what its padding really is
    /// once executed (the caller re-plans in ProtNone mode if the kernel
    /// refuses guards).
    pub mode: Padding,
    /// Page-aligned link-time start of the span to reserve.
    pub span_start: u64,
    /// Page-aligned length of the span. The executor reserves it PROT_NONE
    /// first; whatever no op covers stays PROT_NONE (prot-none mode's gaps).
    pub span_len: u64,
    /// Operations in execution order (guards before any write).
    pub ops: alloc::vec::Vec<Op>,
    /// mprotect(PROT_READ) range as (addr, len), applied after relocation, page-aligned,
    /// widened over trailing padding where that avoids a VMA split.
    pub relro: Option<(u64, u64)>,
    /// VMAs the object should occupy after relocation and RELRO (for a
    /// kernel-mapped object's plan: as if guardld had mapped it).
    pub predicted_vmas: usize,
    /// The padding ranges (addr, len) between/after segments, for reporting.
    pub padding: alloc::vec::Vec<(u64, u64)>,
    /// For each range of `padding` (same order): which mapping covers it.
    pub padding_side: alloc::vec::Vec<PadSide>,
}

/// Where a padding range goes once the object is mapped: which mapping is
/// extended over it (and in Guard mode carries its guards). The planner
/// picks the side whose VMA fork copies anyway, see `plan::plan`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PadSide {
    /// The tail of the mapping before it: the preceding segment's last
    /// mapping, extended over the padding.
    Prev,
    /// The head of the mapping after it: the next segment's first mapping
    /// starts at the padding (a file mapping from correspondingly earlier
    /// file offsets; an anonymous one simply earlier).
    Next,
    /// Not mapped by any op: left in the PROT_NONE reservation (ProtNone
    /// mode), or a hole of an object the kernel mapped.
    Unmapped,
}

/// `addr` rounded down to a multiple of `page_size` (a power of two; 0 is
/// taken as 1: no rounding).
pub const fn page_floor(addr: u64, page_size: u64) -> u64 {
    addr & !(if page_size == 0 { 0 } else { page_size - 1 })
}

