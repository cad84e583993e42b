//! The dynamic section: the tables the linker needs, each checked against
//! the object's segments when it is read.

use super::image::Image;
use super::pod::Dyn;
use alloc::vec::Vec;

pub const DT_NULL: i64 = 0;
pub const DT_NEEDED: i64 = 1;
pub const DT_PLTRELSZ: i64 = 2;
pub const DT_HASH: i64 = 4;
pub const DT_STRTAB: i64 = 5;
pub const DT_SYMTAB: i64 = 6;
pub const DT_RELA: i64 = 7;
pub const DT_RELASZ: i64 = 8;
pub const DT_RELAENT: i64 = 9;
pub const DT_STRSZ: i64 = 10;
pub const DT_SYMENT: i64 = 11;
pub const DT_INIT: i64 = 12;
pub const DT_FINI: i64 = 13;
pub const DT_SONAME: i64 = 14;
pub const DT_RPATH: i64 = 15;
pub const DT_SYMBOLIC: i64 = 16;
pub const DT_REL: i64 = 17;
pub const DT_PLTGOT: i64 = 3;
pub const DT_PLTREL: i64 = 20;
pub const DT_DEBUG: i64 = 21;
pub const DT_TEXTREL: i64 = 22;
pub const DT_JMPREL: i64 = 23;
pub const DT_BIND_NOW: i64 = 24;
pub const DT_INIT_ARRAY: i64 = 25;
pub const DT_FINI_ARRAY: i64 = 26;
pub const DT_INIT_ARRAYSZ: i64 = 27;
pub const DT_FINI_ARRAYSZ: i64 = 28;
pub const DT_RUNPATH: i64 = 29;
pub const DT_FLAGS: i64 = 30;
pub const DT_PREINIT_ARRAY: i64 = 32;
pub const DT_PREINIT_ARRAYSZ: i64 = 33;
pub const DT_RELRSZ: i64 = 35;
pub const DT_RELR: i64 = 36;
pub const DT_RELRENT: i64 = 37;
pub const DT_GNU_HASH: i64 = 0x6fff_fef5;
pub const DT_VERSYM: i64 = 0x6fff_fff0;
pub const DT_FLAGS_1: i64 = 0x6fff_fffb;
pub const DT_VERDEF: i64 = 0x6fff_fffc;
pub const DT_VERDEFNUM: i64 = 0x6fff_fffd;
pub const DT_VERNEED: i64 = 0x6fff_fffe;
pub const DT_VERNEEDNUM: i64 = 0x6fff_ffff;

pub const DF_SYMBOLIC: u64 = 0x2;
pub const DF_TEXTREL: u64 = 0x4;
pub const DF_BIND_NOW: u64 = 0x8;
pub const DF_STATIC_TLS: u64 = 0x10;
pub const DF_1_NOW: u64 = 0x1;
pub const DF_1_NODELETE: u64 = 0x8;
pub const DF_1_NOOPEN: u64 = 0x40;
pub const DF_1_NODEFLIB: u64 = 0x800;
pub const DF_1_PIE: u64 = 0x0800_0000;

/// Sanity bound on a dynamic section's length.
const MAX_DYN: u64 = 4096;

/// A table located by (address, size in bytes); both checked.
#[derive(Clone, Copy, Debug, Default)]
pub struct Table {
    pub addr: u64,
    pub size: u64,
}

/// What the dynamic section says. Addresses are link-time (add the bias).
#[derive(Clone, Debug, Default)]
pub struct DynInfo {
    pub strtab: u64,
    pub strsz: u64,
    pub symtab: u64,
    pub hash: Option<u64>,
    pub gnu_hash: Option<u64>,
    pub rela: Table,
    pub jmprel: Table,
    pub relr: Table,
    pub init: Option<u64>,
    pub fini: Option<u64>,
    pub init_array: Table,
    pub fini_array: Table,
    pub preinit_array: Table,
    pub versym: Option<u64>,
    pub verdef: Option<(u64, u64)>,
    pub verneed: Option<(u64, u64)>,
    /// String-table offsets.
    pub needed: Vec<u64>,
    pub soname: Option<u64>,
    pub rpath: Option<u64>,
    pub runpath: Option<u64>,
    pub symbolic: bool,
    pub textrel: bool,
    pub nodelete: bool,
    /// DF_1_NOOPEN: dlopen refuses the object.
    pub noopen: bool,
    /// DF_STATIC_TLS: initial-exec TLS references (the linker's mark).
    pub static_tls: bool,
    /// DF_1_NODEFLIB: what this object needs is not looked for in the
    /// default directories (nor in ld.so.cache entries under them).
    pub nodeflib: bool,
    /// DF_1_PIE: a position-independent executable, loaded only as the
    /// program.
    pub pie: bool,
    /// DT_BIND_NOW, DF_BIND_NOW or DF_1_NOW: no lazy binding (glibc).
    pub bind_now: bool,
    /// DT_PLTGOT: the GOT whose words 1 and 2 lazy binding uses.
    pub pltgot: Option<u64>,
    /// Link-time address of the DT_DEBUG entry's value, if any.
    pub debug_slot: Option<u64>,
}

/// What is wrong with a dynamic section.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DynError {
    Outside,
    Unterminated,
    NoStrtab,
    NoSymtab,
    BadEntSize(&'static str),
    TableOutside(&'static str),
    Rel,
}

impl DynError {
    pub fn message(self) -> &'static str {
        match self {
            DynError::Outside => "dynamic section outside the loaded segments",
            DynError::Unterminated => "dynamic section not terminated by DT_NULL",
            DynError::NoStrtab => "dynamic section has no string table",
            DynError::NoSymtab => "dynamic section has no symbol table",
            DynError::BadEntSize(_) => "bad dynamic table entry size",
            DynError::TableOutside(_) => "a dynamic table lies outside the loaded segments",
            DynError::Rel => "REL relocations are not used on x86_64",
        }
    }
    /// The table concerned, where one is.
    pub fn table(self) -> Option<&'static str> {
        match self {
            DynError::BadEntSize(t) | DynError::TableOutside(t) => Some(t),
            _ => None,
        }
    }
}

/// Parse the dynamic section at link-time address `vaddr` of size `size`
/// (PT_DYNAMIC's p_memsz) and check every table it names.
pub fn parse(img: &Image, vaddr: u64, size: u64) -> Result<DynInfo, DynError> {
    let count = (size / 16).min(MAX_DYN);
    let entries: &[Dyn] = img.table(vaddr, count).ok_or(DynError::Outside)?;
    let mut d = DynInfo::default();
    let (mut strtab, mut symtab, mut strsz) = (None, None, 0);
    let mut pltrel_ok = true;
    let mut terminated = false;
    let (mut verdefnum, mut verneednum) = (0, 0);
    let (mut verdef, mut verneed) = (None, None);
    for (i, e) in entries.iter().enumerate() {
        let v = e.d_val;
        match e.d_tag {
            DT_NULL => {
                terminated = true;
                break;
            }
            DT_NEEDED => d.needed.push(v),
            DT_PLTRELSZ => d.jmprel.size = v,
            DT_HASH => d.hash = Some(v),
            DT_STRTAB => strtab = Some(v),
            DT_SYMTAB => symtab = Some(v),
            DT_RELA => d.rela.addr = v,
            DT_RELASZ => d.rela.size = v,
            DT_RELAENT if v != 24 => return Err(DynError::BadEntSize("DT_RELAENT")),
            DT_STRSZ => strsz = v,
            DT_SYMENT if v != 24 => return Err(DynError::BadEntSize("DT_SYMENT")),
            DT_INIT => d.init = Some(v),
            DT_FINI => d.fini = Some(v),
            DT_SONAME => d.soname = Some(v),
            DT_RPATH => d.rpath = Some(v),
            DT_RUNPATH => d.runpath = Some(v),
            DT_SYMBOLIC => d.symbolic = true,
            DT_REL => return Err(DynError::Rel),
            DT_PLTREL => pltrel_ok = v == DT_RELA as u64,
            DT_DEBUG => d.debug_slot = Some(vaddr + i as u64 * 16 + 8),
            DT_TEXTREL => d.textrel = true,
            DT_JMPREL => d.jmprel.addr = v,
            DT_INIT_ARRAY => d.init_array.addr = v,
            DT_FINI_ARRAY => d.fini_array.addr = v,
            DT_INIT_ARRAYSZ => d.init_array.size = v,
            DT_FINI_ARRAYSZ => d.fini_array.size = v,
            DT_PREINIT_ARRAY => d.preinit_array.addr = v,
            DT_PREINIT_ARRAYSZ => d.preinit_array.size = v,
            DT_FLAGS => {
                d.symbolic |= v & DF_SYMBOLIC != 0;
                d.textrel |= v & DF_TEXTREL != 0;
                d.bind_now |= v & DF_BIND_NOW != 0;
                d.static_tls |= v & DF_STATIC_TLS != 0;
            }
            DT_FLAGS_1 => {
                d.nodelete = v & DF_1_NODELETE != 0;
                d.noopen = v & DF_1_NOOPEN != 0;
                d.nodeflib = v & DF_1_NODEFLIB != 0;
                d.pie = v & DF_1_PIE != 0;
                d.bind_now |= v & DF_1_NOW != 0;
            }
            DT_BIND_NOW => d.bind_now = true,
            DT_PLTGOT => d.pltgot = Some(v),
            DT_RELR => d.relr.addr = v,
            DT_RELRSZ => d.relr.size = v,
            DT_RELRENT if v != 8 => return Err(DynError::BadEntSize("DT_RELRENT")),
            DT_GNU_HASH => d.gnu_hash = Some(v),
            DT_VERSYM => d.versym = Some(v),
            DT_VERDEF => verdef = Some(v),
            DT_VERDEFNUM => verdefnum = v,
            DT_VERNEED => verneed = Some(v),
            DT_VERNEEDNUM => verneednum = v,
            _ => {}
        }
    }
    if !terminated {
        return Err(DynError::Unterminated);
    }
    if !pltrel_ok {
        return Err(DynError::Rel);
    }
    d.strtab = strtab.ok_or(DynError::NoStrtab)?;
    d.strsz = strsz;
    img.bytes(d.strtab, strsz).ok_or(DynError::TableOutside("DT_STRTAB"))?;
    d.symtab = symtab.ok_or(DynError::NoSymtab)?;
    img.bytes(d.symtab, 24).ok_or(DynError::TableOutside("DT_SYMTAB"))?;
    d.verdef = verdef.map(|a| (a, verdefnum));
    d.verneed = verneed.map(|a| (a, verneednum));
    for (t, name) in [
        (d.rela, "DT_RELA"),
        (d.jmprel, "DT_JMPREL"),
        (d.relr, "DT_RELR"),
        (d.init_array, "DT_INIT_ARRAY"),
        (d.fini_array, "DT_FINI_ARRAY"),
        (d.preinit_array, "DT_PREINIT_ARRAY"),
    ] {
        if t.size != 0 && (t.size % 8 != 0 || img.bytes(t.addr, t.size).is_none()) {
            return Err(DynError::TableOutside(name));
        }
    }
    for (h, name) in [(d.hash, "DT_HASH"), (d.gnu_hash, "DT_GNU_HASH"), (d.versym, "DT_VERSYM")] {
        if let Some(a) = h {
            img.bytes(a, 8).ok_or(DynError::TableOutside(name))?;
        }
    }
    Ok(d)
}

/// A NUL-terminated string at offset `off` of the string table.
pub fn string(img: &Image, d: &DynInfo, off: u64) -> Option<&'static [u8]> {
    if off >= d.strsz {
        return None;
    }
    let tab = img.bytes(d.strtab, d.strsz)?;
    let s = &tab[off as usize..];
    let n = s.iter().position(|&b| b == 0)?;
    Some(&s[..n])
}
