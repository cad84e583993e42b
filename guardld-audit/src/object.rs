//! An object as la_objopen sees it: glibc's public `struct link_map` head,
//! and the object's program headers read from its own first page.
//!
//! The ELF header of a shared object is mapped at `l_addr` when its first
//! PT_LOAD has p_vaddr 0 and p_offset 0 (every linker's default), and its
//! program headers follow it in the same page. A library linked at another
//! base (`--image-base`, `-Ttext-segment`) and loaded elsewhere has nothing
//! of its own at `l_addr`: before reading there, the dynamic section
//! (which glibc has just read, at `l_ld`) must name a symbol or string
//! table in that first page, proving it mapped; no system call is needed.
//! Nothing else of glibc's private link_map is read: the module works with
//! any glibc.

use alloc::vec::Vec;
use guard_plan::Segment;

pub use guard_abi::link::LinkMap;

const PT_LOAD: u32 = 1;
const PT_DYNAMIC: u32 = 2;
const PT_GNU_RELRO: u32 = 0x6474_e552;
const EHDR_SIZE: usize = 64;
const PHDR_SIZE: usize = 56;
/// The smallest page x86_64 has: the ELF header's page is mapped at least
/// this far, so headers inside it can be read.
const MIN_PAGE: usize = 1 << 12;

const DT_NULL: i64 = 0;
const DT_HASH: i64 = 4;
const DT_STRTAB: i64 = 5;
const DT_SYMTAB: i64 = 6;
const DT_GNU_HASH: i64 = 0x6fff_fef5;
/// Dynamic entries read at most (glibc's tables have a few dozen).
const MAX_DYN: usize = 1024;

/// Whether one of the tables the dynamic entries (tag, value) name lies in
/// the object's first page `[l_addr, l_addr + MIN_PAGE)`. glibc stores
/// their addresses relocated (absolute) in place, or leaves them relative
/// when the dynamic section is read-only: both are accepted.
pub fn table_in_first_page(dyns: impl Iterator<Item = (i64, u64)>, l_addr: usize) -> bool {
    let l_addr = l_addr as u64;
    dyns.take(MAX_DYN)
        .take_while(|&(tag, _)| tag != DT_NULL)
        .filter(|&(tag, _)| matches!(tag, DT_HASH | DT_STRTAB | DT_SYMTAB | DT_GNU_HASH))
        .any(|(_, v)| {
            let vaddr = if v >= l_addr { v - l_addr } else { v };
            vaddr < MIN_PAGE as u64
        })
}

/// What the module needs of an object.
#[derive(Debug, PartialEq, Eq)]
pub struct Layout {
    pub segments: Vec<Segment>,
    pub relro: Option<(u64, u64)>,
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// The layout of an object from the bytes of its first page, or None if
/// they are not a 64-bit little-endian ELF whose program headers lie in
/// that page, or if its PT_DYNAMIC is not at `l_ld - l_addr` (the header
/// read is then not this object's).
pub fn parse(page: &[u8], dynamic_vaddr: u64) -> Option<Layout> {
    if page.get(..6)? != b"\x7fELF\x02\x01" {
        return None;
    }
    let phoff = usize::try_from(u64_at(page, 32)?).ok()?;
    let phentsize = u16_at(page, 54)? as usize;
    let phnum = u16_at(page, 56)? as usize;
    if phentsize != PHDR_SIZE || phoff < EHDR_SIZE || phoff.checked_add(phnum * PHDR_SIZE)? > page.len() {
        return None;
    }
    let mut segments = Vec::new();
    let mut relro = None;
    let mut dynamic_ok = false;
    for i in 0..phnum {
        let p = page.get(phoff + i * PHDR_SIZE..phoff + (i + 1) * PHDR_SIZE)?;
        let (ty, flags) = (u32_at(p, 0)?, u32_at(p, 4)?);
        let (offset, vaddr, filesz, memsz) = (u64_at(p, 8)?, u64_at(p, 16)?, u64_at(p, 32)?, u64_at(p, 40)?);
        match ty {
            PT_LOAD => segments.push(Segment { vaddr, memsz, offset, filesz, flags }),
            PT_GNU_RELRO => relro = Some((vaddr, memsz)),
            PT_DYNAMIC => dynamic_ok = vaddr == dynamic_vaddr,
            _ => {}
        }
    }
    dynamic_ok.then_some(Layout { segments, relro })
}

/// The layout of the object `map` describes, read from its memory. None
/// for anything that does not look like a position-independent object
/// mapped at `l_addr` (an ET_EXEC program has l_addr 0). The program
/// itself comes here too: when the kernel mapped it, its padding is holes,
/// not glibc's PROT_NONE gaps, and `apply` leaves it; when glibc's ld.so
/// was run with the program as argument (guardld's hand-over), glibc
/// mapped it like a library, and its gaps are treated like one's.
///
/// # Safety
/// `map` is a link_map glibc passed to la_objopen: the object is mapped.
pub unsafe fn layout(map: &LinkMap) -> Option<Layout> {
    if map.l_addr == 0 || !map.l_addr.is_multiple_of(MIN_PAGE) || map.l_ld <= map.l_addr || !map.l_ld.is_multiple_of(8) {
        return None;
    }
    // SAFETY: l_ld is the object's dynamic section in its mapped segment;
    // glibc has just read it entry by entry up to DT_NULL, as this does.
    let dyns = (0..).map(|i| unsafe { ((map.l_ld as *const i64).add(2 * i).read(), (map.l_ld as *const u64).add(2 * i + 1).read()) });
    if !table_in_first_page(dyns, map.l_addr) {
        return None;
    }
    // SAFETY: a table glibc reads lies in [l_addr, l_addr + MIN_PAGE)
    // (checked above): that page is mapped and readable.
    let page = unsafe { core::slice::from_raw_parts(map.l_addr as *const u8, MIN_PAGE) };
    parse(page, (map.l_ld - map.l_addr) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn elf(phdrs: &[(u32, u32, u64, u64, u64, u64)]) -> Vec<u8> {
        let mut b = vec![0u8; MIN_PAGE];
        b[..6].copy_from_slice(b"\x7fELF\x02\x01");
        b[32..40].copy_from_slice(&64u64.to_le_bytes());
        b[54..56].copy_from_slice(&56u16.to_le_bytes());
        b[56..58].copy_from_slice(&(phdrs.len() as u16).to_le_bytes());
        for (i, &(ty, flags, off, vaddr, filesz, memsz)) in phdrs.iter().enumerate() {
            let p = 64 + i * 56;
            b[p..p + 4].copy_from_slice(&ty.to_le_bytes());
            b[p + 4..p + 8].copy_from_slice(&flags.to_le_bytes());
            b[p + 8..p + 16].copy_from_slice(&off.to_le_bytes());
            b[p + 16..p + 24].copy_from_slice(&vaddr.to_le_bytes());
            b[p + 32..p + 40].copy_from_slice(&filesz.to_le_bytes());
            b[p + 40..p + 48].copy_from_slice(&memsz.to_le_bytes());
        }
        b
    }

    #[test]
    fn reads_loads_relro_and_checks_dynamic() {
        let b = elf(&[(PT_LOAD, 4, 0, 0, 0x100, 0x100), (PT_LOAD, 6, 0x100, 0x10100, 0x20, 0x40), (PT_DYNAMIC, 6, 0x100, 0x10100, 0x20, 0x20), (PT_GNU_RELRO, 4, 0x100, 0x10100, 0x20, 0x20)]);
        let l = parse(&b, 0x10100).unwrap();
        assert_eq!(l.segments.len(), 2);
        assert_eq!(l.segments[1], Segment { vaddr: 0x10100, memsz: 0x40, offset: 0x100, filesz: 0x20, flags: 6 });
        assert_eq!(l.relro, Some((0x10100, 0x20)));
        // The dynamic section elsewhere: not this object's headers.
        assert_eq!(parse(&b, 0x20000), None);
    }

    #[test]
    fn first_page_must_hold_a_table() {
        let base = 0x7f00_0000_0000usize;
        // Absolute (relocated by glibc) and relative values in page 0.
        assert!(table_in_first_page([(DT_GNU_HASH, base as u64 + 0x2a8), (DT_NULL, 0)].into_iter(), base));
        assert!(table_in_first_page([(DT_STRTAB, 0x400), (DT_NULL, 0)].into_iter(), base));
        // Linked at 0x40000000 and loaded elsewhere: nothing of it at l_addr.
        assert!(!table_in_first_page([(DT_SYMTAB, base as u64 + 0x4000_0200), (DT_STRTAB, base as u64 + 0x4000_0300), (DT_NULL, 0)].into_iter(), base));
        // Only before DT_NULL, and only the four table tags.
        assert!(!table_in_first_page([(DT_NULL, 0), (DT_SYMTAB, 0x200)].into_iter(), base));
        assert!(!table_in_first_page([(1, 0x10), (DT_NULL, 0)].into_iter(), base));
        assert!(!table_in_first_page(core::iter::repeat((1, 0)), base));
    }

    #[test]
    fn refuses_what_is_not_an_elf_page() {
        let good = elf(&[(PT_DYNAMIC, 6, 0, 0, 0, 0)]);
        assert!(parse(&good, 0).is_some());
        let mut b = good.clone();
        b[4] = 1; // 32-bit
        assert_eq!(parse(&b, 0), None);
        let mut b = good.clone();
        b[56..58].copy_from_slice(&100u16.to_le_bytes()); // headers past the page
        assert_eq!(parse(&b, 0), None);
        let mut b = good.clone();
        b[54..56].copy_from_slice(&64u16.to_le_bytes()); // odd entry size
        assert_eq!(parse(&b, 0), None);
        assert_eq!(parse(&good[..32], 0), None);
    }
}
