//! Stage 1: relocate guardld itself.
//!
//! Until this is done, every pointer stored in guardld's data (vtables,
//! string tables, function pointer tables) holds a link-time address. So this
//! code touches memory only through `raw_load`/`raw_store` (asm), uses only
//! wrapping integer arithmetic (an overflow check would call the panic
//! machinery through unrelocated pointers) and has no bounds-checked
//! indexing. A state that cannot happen in a correctly linked guardld traps.
#![allow(unsafe_code)] // the unsafe boundary (lib.rs): Relocating guardld itself before anything may be assumed.

use crate::arch::{own_base, own_dynamic, raw_load, raw_store};

const DT_NULL: usize = 0;
const DT_RELA: usize = 7;
const DT_RELASZ: usize = 8;
const DT_RELAENT: usize = 9;
const DT_RELRSZ: usize = 35;
const DT_RELR: usize = 36;
const R_X86_64_RELATIVE: usize = 8;

#[inline(always)]
fn trap() -> ! {
    // SAFETY: ud2 raises SIGILL: the only safe reaction to a broken self-image.
    unsafe { core::arch::asm!("ud2", options(noreturn, nostack)) }
}

/// Apply guardld's own RELATIVE and RELR relocations. Returns its load base.
///
/// # Safety
/// Must run once, first thing after entry, before any relocated data is read.
#[inline(never)]
pub unsafe extern "C" fn relocate_self() -> usize {
    // The linker script places the ELF header at link address 0, so the
    // header's runtime address is the load bias.
    let base = own_base();
    let mut dyn_ = own_dynamic();
    let (mut rela, mut relasz, mut relaent, mut relr, mut relrsz) = (0, 0, 24, 0, 0);
    loop {
        // SAFETY: _DYNAMIC is mapped and ends with DT_NULL.
        let (tag, val) = unsafe { (raw_load(dyn_), raw_load(dyn_.wrapping_add(8))) };
        match tag {
            DT_NULL => break,
            DT_RELA => rela = val,
            DT_RELASZ => relasz = val,
            DT_RELAENT => relaent = val,
            DT_RELR => relr = val,
            DT_RELRSZ => relrsz = val,
            _ => {}
        }
        dyn_ = dyn_.wrapping_add(16);
    }
    if relaent != 24 {
        trap();
    }
    let mut off = 0;
    while off < relasz {
        let r = base.wrapping_add(rela).wrapping_add(off);
        // SAFETY: r lies inside .rela.dyn, which the linker sized as relasz.
        let (where_, info, addend) = unsafe { (raw_load(r), raw_load(r.wrapping_add(8)), raw_load(r.wrapping_add(16))) };
        if info & 0xffff_ffff != R_X86_64_RELATIVE {
            trap();
        }
        // SAFETY: the linker emitted this relocation for a writable word of ours.
        unsafe { raw_store(base.wrapping_add(where_), base.wrapping_add(addend)) };
        off = off.wrapping_add(24);
    }
    // RELR: an address word, then bitmap words each covering the next 63 words.
    let mut where_ = 0usize;
    let mut off = 0;
    while off < relrsz {
        // SAFETY: inside .relr.dyn.
        let entry = unsafe { raw_load(base.wrapping_add(relr).wrapping_add(off)) };
        if entry & 1 == 0 {
            where_ = base.wrapping_add(entry);
            // SAFETY: a RELR address entry names a writable word of ours.
            unsafe { raw_store(where_, raw_load(where_).wrapping_add(base)) };
            where_ = where_.wrapping_add(8);
        } else {
            let mut bits = entry >> 1;
            let mut p = where_;
            while bits != 0 {
                if bits & 1 != 0 {
                    // SAFETY: as above, for each bit set in the bitmap.
                    unsafe { raw_store(p, raw_load(p).wrapping_add(base)) };
                }
                bits >>= 1;
                p = p.wrapping_add(8);
            }
            where_ = where_.wrapping_add(63 * 8);
        }
        off = off.wrapping_add(8);
    }
    base
}

/// guardld's own program headers, after relocation: their runtime address
/// and a copy. linker.ld puts the ELF header at `base` and the program
/// headers after it, inside the first segment.
pub fn own_program_headers(base: usize) -> (usize, alloc::vec::Vec<crate::elf::pod::Phdr>) {
    use crate::elf::pod::{self, Ehdr, Phdr};
    // SAFETY: our own ELF header is mapped at `base` (linker.ld's FILEHDR).
    let eh: Ehdr = pod::read(unsafe { pod::mapped(base, core::mem::size_of::<Ehdr>()) }, 0).unwrap_or_default();
    let at = base + eh.e_phoff as usize;
    let size = core::mem::size_of::<Phdr>();
    // SAFETY: linker.ld's PHDRS: e_phnum headers at e_phoff, in the first
    // segment, mapped with it.
    let bytes = unsafe { pod::mapped(at, eh.e_phnum as usize * size) };
    (at, (0..eh.e_phnum as usize).filter_map(|i| pod::read::<Phdr>(bytes, i * size)).collect())
}
