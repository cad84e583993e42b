//! ELF on the test side: program headers, dynamic entries, sections and symbols read with the
//! `object` crate, and the byte patching that breaks them on purpose (mapping's malformed
//! segment tables, hardening's broken objects). Little-endian ELF64 only, as x86_64 is; every
//! helper panics with a message on an object it cannot read (they are test helpers).

use object::elf::{DT_NULL, FileHeader64, PF_X, PT_DYNAMIC, PT_LOAD, R_X86_64_RELATIVE};
use object::read::elf::{Dyn, ElfFile64, FileHeader, ProgramHeader};
use object::{Endianness, Object, ObjectSection, ObjectSymbol};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Size of one ELF64 program header entry.
pub const PHDR_SIZE: usize = 56;
/// Size of one ELF64 dynamic entry.
const DYN_SIZE: usize = 16;
/// x86_64's runtime page size, for page-rounding segment bounds.
const PAGE: u64 = 4096;

fn rd(x: u64) -> u64 {
    x / PAGE * PAGE
}
fn ru(x: u64) -> u64 {
    x.div_ceil(PAGE) * PAGE
}

// ------------------------------------------------------------ raw bytes ----

pub fn u16_at(d: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(d[at..at + 2].try_into().unwrap())
}
pub fn u32_at(d: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(d[at..at + 4].try_into().unwrap())
}
pub fn u64_at(d: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(d[at..at + 8].try_into().unwrap())
}
pub fn put_u16(d: &mut [u8], at: usize, v: u16) {
    d[at..at + 2].copy_from_slice(&v.to_le_bytes());
}
pub fn put_u32(d: &mut [u8], at: usize, v: u32) {
    d[at..at + 4].copy_from_slice(&v.to_le_bytes());
}
pub fn put_u64(d: &mut [u8], at: usize, v: u64) {
    d[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

// ------------------------------------------------------- program headers ----

/// One program header entry, with where it sits in the file (to patch it).
#[derive(Clone, Copy, Debug)]
pub struct Phdr {
    /// Index in the program header table.
    pub index: usize,
    /// File offset of this entry.
    pub at: usize,
    pub p_type: u32,
    pub p_flags: u32,
    pub p_offset: u64,
    pub p_vaddr: u64,
    pub p_filesz: u64,
    pub p_memsz: u64,
}

/// The parts of an ELF file the mapping and hardening tests need.
pub struct Elf {
    pub file_size: u64,
    /// e_phoff.
    pub phoff: usize,
    pub phdrs: Vec<Phdr>,
}

impl Elf {
    pub fn parse(b: &[u8]) -> Elf {
        let h = FileHeader64::<Endianness>::parse(b).expect("not an ELF64 file");
        let e = h.endian().expect("unknown ELF byte order");
        assert_eq!(e, Endianness::Little, "not a little-endian ELF file");
        let phoff = h.e_phoff.get(e) as usize;
        let phdrs = h
            .program_headers(e, b)
            .expect("unreadable program headers")
            .iter()
            .enumerate()
            .map(|(index, p)| Phdr {
                index,
                at: phoff + index * PHDR_SIZE,
                p_type: p.p_type(e),
                p_flags: p.p_flags(e),
                p_offset: p.p_offset(e),
                p_vaddr: p.p_vaddr(e),
                p_filesz: p.p_filesz(e),
                p_memsz: p.p_memsz(e),
            })
            .collect();
        Elf {
            file_size: b.len() as u64,
            phoff,
            phdrs,
        }
    }

    pub fn read(path: &Path) -> Elf {
        Elf::parse(&std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
    }

    /// PT_LOADs that map something (p_memsz > 0), in header order.
    pub fn loads(&self) -> Vec<Phdr> {
        self.phdrs
            .iter()
            .copied()
            .filter(|p| p.p_type == PT_LOAD && p.p_memsz > 0)
            .collect()
    }

    /// Link-time span [start, end) of the PT_LOADs, page-rounded.
    pub fn span(&self) -> (u64, u64) {
        let l = self.loads();
        let last = l[l.len() - 1];
        (rd(l[0].p_vaddr), ru(last.p_vaddr + last.p_memsz))
    }

    /// Link-time padding ranges [start, end) between consecutive PT_LOADs, with the PT_LOAD
    /// each one follows.
    pub fn padding(&self) -> Vec<(u64, u64, Phdr)> {
        self.loads()
            .windows(2)
            .filter_map(|w| {
                let (a, b) = (ru(w[0].p_vaddr + w[0].p_memsz), rd(w[1].p_vaddr));
                (b > a).then_some((a, b, w[0]))
            })
            .collect()
    }

    /// Bytes of the program header table.
    pub fn phdr_table(&self) -> std::ops::Range<usize> {
        self.phoff..self.phoff + self.phdrs.len() * PHDR_SIZE
    }
}

pub fn phdrs(d: &[u8]) -> Vec<Phdr> {
    Elf::parse(d).phdrs
}

/// See [`Elf::loads`].
pub fn loads(d: &[u8]) -> Vec<Phdr> {
    Elf::parse(d).loads()
}

/// The bytes a program or library needs to be loadable: headers and every PT_LOAD's file
/// range.
pub fn needed_len(d: &[u8]) -> usize {
    let e = Elf::parse(d);
    e.loads()
        .iter()
        .map(|p| (p.p_offset + p.p_filesz) as usize)
        .chain([64, e.phdr_table().end])
        .max()
        .unwrap()
}

/// The first page of padding after the `k`-th PT_LOAD, plus 0x100: inside the object's
/// span, outside every segment.
pub fn padding_addr(d: &[u8], k: usize) -> u64 {
    let l = loads(d);
    let end = (l[k].p_vaddr + l[k].p_memsz).next_multiple_of(0x1000);
    assert!(
        end + 0x1000 <= l[k + 1].p_vaddr & !0xfff,
        "no padding after PT_LOAD #{k}: {l:#x?}"
    );
    end + 0x100
}

/// The PT_LOAD whose memory holds link-time address `vaddr`.
pub fn load_at(d: &[u8], vaddr: u64) -> Phdr {
    loads(d)
        .into_iter()
        .find(|p| vaddr >= p.p_vaddr && vaddr < p.p_vaddr + p.p_memsz)
        .unwrap_or_else(|| panic!("no PT_LOAD holds {vaddr:#x}"))
}

/// An address in the executable (text) segment.
pub fn text_addr(d: &[u8]) -> u64 {
    let t = loads(d)
        .into_iter()
        .find(|p| p.p_flags & PF_X != 0)
        .expect("no PF_X segment");
    t.p_vaddr + 0x10
}

/// A field of a program header entry.
#[derive(Clone, Copy, Debug)]
pub enum Field {
    Offset,
    Memsz,
}

/// The `load`-th PT_LOAD entry of the table (counting every PT_LOAD entry).
fn nth_load(b: &[u8], load: usize) -> Phdr {
    phdrs(b)
        .into_iter()
        .filter(|p| p.p_type == PT_LOAD)
        .nth(load)
        .expect("no such PT_LOAD")
}

/// Rewrite `field` of the `load`-th PT_LOAD entry of the ELF image `b`.
pub fn set_load_field(b: &mut [u8], load: usize, field: Field, value: u64) {
    let at = nth_load(b, load).at
        + match field {
            Field::Offset => 8,
            Field::Memsz => 40,
        };
    put_u64(b, at, value);
}

/// Swap the whole program header entries of the `a`-th and `b`-th PT_LOAD.
pub fn swap_loads(bytes: &mut [u8], a: usize, b: usize) {
    let (x, y) = (nth_load(bytes, a).at, nth_load(bytes, b).at);
    let tmp: Vec<u8> = bytes[x..x + PHDR_SIZE].to_vec();
    bytes.copy_within(y..y + PHDR_SIZE, x);
    bytes[y..y + PHDR_SIZE].copy_from_slice(&tmp);
}

// ------------------------------------------------------- dynamic section ----

/// (tag, file offset of the entry, value) of each dynamic entry up to DT_NULL.
pub fn dyn_entries(d: &[u8]) -> Vec<(u64, usize, u64)> {
    let h = FileHeader64::<Endianness>::parse(d).expect("not an ELF64 file");
    let e = h.endian().expect("unknown ELF byte order");
    let p = h
        .program_headers(e, d)
        .expect("unreadable program headers")
        .iter()
        .find(|p| p.p_type(e) == PT_DYNAMIC)
        .expect("no PT_DYNAMIC");
    let entries = p
        .dynamic(e, d)
        .expect("unreadable PT_DYNAMIC")
        .unwrap_or_default();
    let mut v = Vec::new();
    for (i, x) in entries.iter().enumerate() {
        let tag = x.d_tag(e);
        v.push((tag, p.p_offset(e) as usize + i * DYN_SIZE, x.d_val(e)));
        if tag == u64::from(DT_NULL) {
            break;
        }
    }
    v
}

/// (file offset of the entry, value) of the first dynamic entry with `tag`.
fn dyn_entry(d: &[u8], tag: u32) -> (usize, u64) {
    let (_, at, value) = *dyn_entries(d)
        .iter()
        .find(|e| e.0 == u64::from(tag))
        .unwrap_or_else(|| panic!("no dynamic tag {tag:#x}"));
    (at, value)
}

pub fn dyn_value(d: &[u8], tag: u32) -> u64 {
    dyn_entry(d, tag).1
}

pub fn set_dyn(d: &mut [u8], tag: u32, value: u64) {
    let at = dyn_entry(d, tag).0;
    put_u64(d, at + 8, value);
}

// ------------------------------------------------- sections and symbols ----

/// (file offset, size) of a section.
pub fn section(d: &[u8], name: &str) -> (usize, usize) {
    let f = ElfFile64::<Endianness>::parse(d).unwrap();
    let s = f
        .section_by_name(name)
        .unwrap_or_else(|| panic!("no section {name}"));
    let (o, n) = s.file_range().unwrap();
    (o as usize, n as usize)
}

/// (symbol table index, value) of a dynamic symbol.
pub fn dynsym(d: &[u8], name: &str) -> (usize, u64) {
    let f = ElfFile64::<Endianness>::parse(d).unwrap();
    let s = f
        .dynamic_symbols()
        .find(|s| s.name() == Ok(name))
        .unwrap_or_else(|| panic!("no dynamic symbol {name}"));
    (s.index().0, s.address())
}

pub fn dynsym_count(d: &[u8]) -> usize {
    section(d, ".dynsym").1 / 24
}

/// File offset of the first R_X86_64_RELATIVE entry of .rela.dyn (its r_offset comes first).
pub fn first_relative_rela(d: &[u8]) -> usize {
    let (at, n) = section(d, ".rela.dyn");
    (0..n / 24)
        .map(|k| at + 24 * k)
        .find(|&e| u64_at(d, e + 8) & 0xffff_ffff == u64::from(R_X86_64_RELATIVE))
        .expect("no R_X86_64_RELATIVE")
}

/// GNU hash layout: nbuckets, symoffset, bloom_size, bloom_shift, then bloom (u64 each),
/// buckets, chain (u32 each).
pub struct GnuHash {
    pub at: usize,
    pub nbuckets: usize,
    pub symoffset: usize,
    pub bloom: usize,
}

impl GnuHash {
    pub fn of(d: &[u8]) -> GnuHash {
        let (at, _) = section(d, ".gnu.hash");
        GnuHash {
            at,
            nbuckets: u32_at(d, at) as usize,
            symoffset: u32_at(d, at + 4) as usize,
            bloom: u32_at(d, at + 8) as usize,
        }
    }
    pub fn buckets(&self) -> usize {
        self.at + 16 + self.bloom * 8
    }
    pub fn chain(&self) -> usize {
        self.buckets() + self.nbuckets * 4
    }
}

/// SysV hash layout: nbucket, nchain, then buckets and chain (u32 each).
pub struct SysvHash {
    pub at: usize,
    pub nbucket: usize,
    pub nchain: usize,
}

impl SysvHash {
    pub fn of(d: &[u8]) -> SysvHash {
        let (at, _) = section(d, ".hash");
        SysvHash {
            at,
            nbucket: u32_at(d, at) as usize,
            nchain: u32_at(d, at + 4) as usize,
        }
    }
    pub fn bucket(&self, k: usize) -> usize {
        self.at + 8 + 4 * k
    }
    pub fn chain(&self, i: usize) -> usize {
        self.at + 8 + 4 * self.nbucket + 4 * i
    }
}

// ------------------------------------------------------------- patching ----

/// Write a patched copy over `file` (a new inode: mapped copies of the old one are
/// untouched). The patch must change something.
pub fn patch(file: &Path, f: impl FnOnce(&mut Vec<u8>)) {
    let mut d = std::fs::read(file).unwrap();
    let before = d.clone();
    f(&mut d);
    assert_ne!(d, before, "the patch changed nothing");
    let tmp = file.with_extension("patched");
    std::fs::write(&tmp, &d).unwrap();
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::rename(&tmp, file).unwrap();
}
