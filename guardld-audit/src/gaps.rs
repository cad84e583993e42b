//! What to do with each gap of an object glibc mapped: pure, host-tested.
//!
//! glibc's ld.so (`_dl_map_segments`) maps an object's whole span from the
//! file at the first segment's offset, makes everything after the first
//! segment PROT_NONE, then maps each later segment over it with MAP_FIXED
//! (and anonymous pages for bss past the file). What stays of the first
//! mapping between segments is a gap: a PROT_NONE VMA of the same open
//! file, at file offset `first.offset + (gap - first.vaddr)` (page-rounded).
//!
//! A gap can join the mapping before it without a VMA of its own in two
//! ways (measured on Linux 6.18; VMAs merge only with the same open-file
//! object, contiguous file offsets and equal flags):
//! - `Protect`: the gap's file offset already continues that mapping
//!   (the gap after the first segment, whose mapping it is a piece of):
//!   mprotect it to the segment's protection, and it merges.
//! - `Grow`: otherwise the segment's mapping is grown over the gap (mremap
//!   of its last page), so the extension continues its file offsets (or
//!   its anonymous bss). When glibc will later make the segment's tail
//!   read-only (RELRO ending where the gap starts), the extension is made
//!   read-only at once, so that the RELRO mprotect leaves one VMA.
//!
//! The gaps themselves are the planner's padding (guard-plan, the same
//! arithmetic the loader maps with).

use alloc::vec::Vec;
use guard_plan::{Padding, PlanInput, Segment, page_floor};

/// How one gap joins the mapping before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fix {
    /// mprotect the gap to `prot` (PROT_* bits): it merges.
    Protect { prot: u32 },
    /// Grow the mapping ending at the gap over it; `readonly`: mprotect
    /// the extension to PROT_READ right away (RELRO follows).
    Grow { readonly: bool },
}

/// One gap, in link-time addresses (add the bias).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gap {
    pub addr: u64,
    pub len: u64,
    /// The file offset glibc's PROT_NONE mapping has at `addr`: what the
    /// VMA found there must show before anything is changed.
    pub offset: u64,
    pub fix: Fix,
}

/// PROT_* bits for p_flags (PF_X 1, PF_W 2, PF_R 4).
pub fn prot_of(flags: u32) -> u32 {
    let mut p = 0;
    if flags & guard_plan::PF_R != 0 {
        p |= 1;
    }
    if flags & guard_plan::PF_W != 0 {
        p |= 2;
    }
    if flags & guard_plan::PF_X != 0 {
        p |= 4;
    }
    p
}

/// The gaps of an object with these PT_LOADs (in program-header order)
/// and PT_GNU_RELRO (vaddr, memsz), at `page` bytes per page. None: a
/// layout the planner refuses (left as glibc mapped it).
pub fn gaps(segments: &[Segment], relro: Option<(u64, u64)>, page: u64) -> Option<Vec<Gap>> {
    let input = PlanInput { segments, relro, file_size: u64::MAX, page_size: page, padding: Padding::ProtNone };
    let plan = guard_plan::plan::plan(&input).ok()?;
    let loads: Vec<&Segment> = segments.iter().filter(|s| s.memsz > 0).collect();
    let first = loads.first()?;
    let base = page_floor(first.vaddr, page);
    let base_offset = page_floor(first.offset, page);
    let ceil = |v: u64| v.checked_add(page - 1).map(|x| page_floor(x, page));
    // glibc's RELRO mprotect: [floor(start), floor(end)).
    let relro_end = relro.and_then(|(v, m)| v.checked_add(m)).map(|e| page_floor(e, page));
    let mut out = Vec::with_capacity(plan.padding.len());
    for &(addr, len) in &plan.padding {
        // The segment whose pages end where the gap starts.
        let prev = loads.iter().rev().find(|s| s.vaddr < addr && ceil(s.vaddr + s.memsz) == Some(addr))?;
        let offset = base_offset.checked_add(addr - base)?;
        let prev_start = page_floor(prev.vaddr, page);
        // Its file mapping ends at the gap (no anonymous bss pages between)
        // and continues at the gap's offset: the gap is a piece of it.
        let file_end = ceil(prev.vaddr + prev.filesz)?;
        let continues = file_end == addr && page_floor(prev.offset, page).checked_add(addr - prev_start) == Some(offset);
        let fix = if continues {
            Fix::Protect { prot: prot_of(prev.flags) }
        } else {
            let readonly = prev.flags & guard_plan::PF_W != 0
                && relro.is_some_and(|(v, _)| v <= prev.vaddr + prev.memsz && relro_end.is_some_and(|e| e >= addr));
            Fix::Grow { readonly }
        };
        out.push(Gap { addr, len, offset, fix });
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use guard_plan::{PF_R, PF_W, PF_X};

    const P: u64 = 0x1000;

    fn seg(vaddr: u64, memsz: u64, offset: u64, filesz: u64, flags: u32) -> Segment {
        Segment { vaddr, memsz, offset, filesz, flags }
    }

    /// lld, -z max-page-size=65536: R, RX, RW (RELRO), RW (data + bss),
    /// offsets packed, addresses 64 KiB apart (a library of the tests).
    fn lld_64k() -> (Vec<Segment>, Option<(u64, u64)>) {
        let segs = vec![
            seg(0x0, 0x5a8, 0x0, 0x5a8, PF_R),
            seg(0x105b0, 0x1a5, 0x5b0, 0x1a5, PF_R | PF_X),
            seg(0x20758, 0x1a8, 0x758, 0x1a8, PF_R | PF_W),
            seg(0x30900, 0x2010, 0x900, 0x10, PF_R | PF_W),
        ];
        // RELRO: the third segment, to the end of its page.
        (segs, Some((0x20758, 0x8a8)))
    }

    #[test]
    fn lld_64k_layout() {
        let (segs, relro) = lld_64k();
        let g = gaps(&segs, relro, P).unwrap();
        assert_eq!(
            g,
            vec![
                // After the first segment: a piece of glibc's first mapping.
                Gap { addr: 0x1000, len: 0xf000, offset: 0x1000, fix: Fix::Protect { prot: 1 } },
                // After the code: the code's mapping has offset 0x0 at
                // 0x10000, so it would continue at 0x1000, not 0x11000.
                Gap { addr: 0x11000, len: 0xf000, offset: 0x11000, fix: Fix::Grow { readonly: false } },
                // After RELRO, which ends on the gap's first page: read-only.
                Gap { addr: 0x21000, len: 0xf000, offset: 0x21000, fix: Fix::Grow { readonly: true } },
            ]
        );
    }

    #[test]
    fn relro_not_to_the_gap_keeps_write() {
        let (segs, _) = lld_64k();
        // RELRO ends inside the segment's last page: glibc leaves it RW.
        let g = gaps(&segs, Some((0x20758, 0x100)), P).unwrap();
        assert_eq!(g[2].fix, Fix::Grow { readonly: false });
        let g = gaps(&segs, None, P).unwrap();
        assert_eq!(g[2].fix, Fix::Grow { readonly: false });
    }

    #[test]
    fn four_k_layout_has_no_gaps() {
        let segs = vec![
            seg(0x0, 0x5a8, 0x0, 0x5a8, PF_R),
            seg(0x15b0, 0x1a5, 0x5b0, 0x1a5, PF_R | PF_X),
            seg(0x2758, 0x1a8, 0x758, 0x1a8, PF_R | PF_W),
        ];
        assert_eq!(gaps(&segs, None, P).unwrap(), vec![]);
    }

    #[test]
    fn bss_pages_before_the_gap_grow() {
        // The first segment has bss pages past its file pages: the gap
        // follows anonymous memory, not the file mapping.
        let segs = vec![seg(0x0, 0x3000, 0x0, 0x800, PF_R | PF_W), seg(0x10000, 0x100, 0x10000, 0x100, PF_R | PF_X)];
        let g = gaps(&segs, None, P).unwrap();
        assert_eq!(g, vec![Gap { addr: 0x3000, len: 0xd000, offset: 0x3000, fix: Fix::Grow { readonly: false } }]);
    }

    #[test]
    fn sixty_four_k_pages() {
        // On a 64 KiB-page kernel the lld 64 KiB layout has no padding:
        // every segment starts in the page after the previous one.
        let (segs, relro) = lld_64k();
        assert_eq!(gaps(&segs, relro, 0x10000), Some(vec![]));
        // A 4 KiB-aligned layout cannot be mapped with 64 KiB pages
        // (offsets not congruent to addresses): refused, left to glibc.
        let segs = vec![seg(0x0, 0x5a8, 0x0, 0x5a8, PF_R), seg(0x15b0, 0x1a5, 0x5b0, 0x1a5, PF_R | PF_X)];
        assert_eq!(gaps(&segs, None, 0x10000), None);
    }

    #[test]
    fn refused_layouts() {
        assert_eq!(gaps(&[], None, P), None);
        // Overlapping segments.
        let segs = vec![seg(0x0, 0x2000, 0x0, 0x2000, PF_R), seg(0x1000, 0x100, 0x1000, 0x100, PF_R)];
        assert_eq!(gaps(&segs, None, P), None);
    }
}
