//! Relocation of one object: RELR, RELA (.rela.dyn), then JMPREL (.rela.plt).
//! Every target is checked to lie in a writable segment of the object.
//! IFUNC resolvers run only once the object defining them is relocated:
//! relocations that need a resolver of an unrelocated object are deferred.

use super::dso::Dso;
use super::lookup::Query;
use super::{Errors, Linker};
use crate::elf::pod::{Rela, Sym};
use crate::elf::symbols::{STB_LOCAL, STB_WEAK, STT_GNU_IFUNC, STT_TLS, SHN_UNDEF};
use alloc::vec::Vec;

pub const R_NONE: u32 = 0;
pub const R_64: u32 = 1;
pub const R_PC32: u32 = 2;
pub const R_COPY: u32 = 5;
pub const R_GLOB_DAT: u32 = 6;
pub const R_JUMP_SLOT: u32 = 7;
pub const R_RELATIVE: u32 = 8;
pub const R_32: u32 = 10;
pub const R_32S: u32 = 11;
pub const R_DTPMOD64: u32 = 16;
pub const R_DTPOFF64: u32 = 17;
pub const R_TPOFF64: u32 = 18;
pub const R_SIZE32: u32 = 32;
pub const R_SIZE64: u32 = 33;
pub const R_TLSDESC: u32 = 36;
pub const R_IRELATIVE: u32 = 37;

/// A relocation postponed until an IFUNC resolver may run.
pub struct Deferred {
    pub dso: usize,
    pub rela: Rela,
    /// The object whose resolver is needed.
    pub waits_for: usize,
}

/// A resolved symbol value, or why there is none.
enum Value {
    /// Address, and the defining object and symbol (None: absolute 0).
    Addr(u64, Option<(usize, &'static Sym)>),
    /// IFUNC resolver at this address in object `usize`.
    Ifunc(u64, usize),
    Missing,
}

fn type_name(t: u32) -> &'static str {
    match t {
        R_DTPMOD64 => "R_X86_64_DTPMOD64",
        R_DTPOFF64 => "R_X86_64_DTPOFF64",
        R_TPOFF64 => "R_X86_64_TPOFF64",
        R_TLSDESC => "R_X86_64_TLSDESC",
        _ => "unknown",
    }
}

/// Relocate object `i` against `scope`.
pub fn relocate(l: &mut Linker, i: usize, errs: &mut Errors) {
    let d = &l.dsos[i];
    crate::sys::signals::working_on(d.name());
    if d.dyn_.textrel {
        errs.report(d.name(), format_args!("text relocations (DT_TEXTREL) are not supported: rebuild with -fPIC"));
        return;
    }
    relr(d, errs);
    let mut tables: [&'static [Rela]; 2] = [&[], &[]];
    for (k, t) in [d.dyn_.rela, d.dyn_.jmprel].into_iter().enumerate() {
        if t.size == 0 {
            continue;
        }
        let Some(relas) = d.img.table::<Rela>(t.addr, t.size / 24) else {
            errs.report(d.name(), format_args!("relocation table outside the object"));
            return;
        };
        tables[k] = relas;
    }
    for relas in tables {
        for r in relas {
            apply(l, i, r, errs);
        }
    }
}

fn relr(d: &Dso, errs: &mut Errors) {
    let t = d.dyn_.relr;
    if t.size == 0 {
        return;
    }
    let Some(words) = d.img.table::<u64>(t.addr, t.size / 8) else {
        errs.report(d.name(), format_args!("DT_RELR table outside the object"));
        return;
    };
    let mut at = 0u64;
    let put = |vaddr: u64, errs: &mut Errors| {
        if !d.img.writable(vaddr, 8) {
            errs.report(d.name(), format_args!("RELR target {vaddr:#x} outside any writable segment"));
            return false;
        }
        let p = d.img.addr(vaddr) as *mut u64;
        // SAFETY: checked inside a writable segment of this object.
        unsafe { p.write_unaligned(p.read_unaligned().wrapping_add(d.img.bias as u64)) };
        true
    };
    for &w in words {
        if w & 1 == 0 {
            if !put(w, errs) {
                return;
            }
            at = w.wrapping_add(8);
        } else {
            let mut bits = w >> 1;
            let mut p = at;
            while bits != 0 {
                if bits & 1 != 0 && !put(p, errs) {
                    return;
                }
                bits >>= 1;
                p = p.wrapping_add(8);
            }
            at = at.wrapping_add(63 * 8);
        }
    }
}

/// Where a relocation's symbol is defined.
enum Found {
    /// Symbol index 0: no symbol.
    NoSymbol,
    /// Binds within object `i` itself (local, or a defined hidden,
    /// internal or protected symbol).
    Own(&'static Sym),
    /// Found in the scope.
    Def(super::lookup::Def),
    /// Not found, but the reference is weak.
    WeakMissing,
    /// Not found, or unreadable (reported).
    Missing,
}

/// Find the definition symbol `symidx` of object `i` refers to, with
/// glibc's rules; every failure is reported to `errs`.
fn find(l: &Linker, i: usize, symidx: usize, q: Query, errs: &mut Errors) -> Found {
    let d = &l.dsos[i];
    if symidx == 0 {
        return Found::NoSymbol;
    }
    let Some(sym) = d.syms.get(symidx) else {
        errs.report(d.name(), format_args!("symbol index {symidx} past the end of the symbol table"));
        return Found::Missing;
    };
    // A local symbol, or a defined hidden, internal or protected one, binds
    // within its own object (glibc: hidden/internal references are treated
    // as local, protected ones resolve to the object's own definition).
    let vis = sym.st_other & 3;
    if sym.st_info >> 4 == STB_LOCAL || (vis != 0 && sym.st_shndx != SHN_UNDEF) {
        return Found::Own(sym);
    }
    let Some(name) = d.syms.name(sym) else {
        errs.report(d.name(), format_args!("symbol {symidx} has a name outside the string table"));
        return Found::Missing;
    };
    let ver = d.syms.required_version(symidx);
    let q = Query { first: if d.dyn_.symbolic { Some(i) } else { None }, ..q };
    crate::stats::count(&crate::stats::LOOKUPS);
    crate::debug!(Symbols, "symbol={}; lookup for {}", crate::error::Bytes(name), crate::error::Bytes(d.name()));
    match l.lookup_global(name, ver.as_ref(), q) {
        Some(def) => {
            crate::debug!(Bindings, "binding {} to {} `{}'", crate::error::Bytes(d.name()),
                crate::error::Bytes(l.dsos[def.dso].name()), crate::error::Bytes(name));
            Found::Def(def)
        }
        None if sym.st_info >> 4 == STB_WEAK => Found::WeakMissing,
        None => {
            report_undefined(d.name(), name, ver.as_ref(), errs);
            Found::Missing
        }
    }
}

fn report_undefined(who: &[u8], name: &[u8], ver: Option<&crate::elf::symbols::Version<'_>>, errs: &mut Errors) {
    match ver {
        Some(v) => errs.report(who, format_args!("undefined symbol: {}, version {}",
            crate::error::Bytes(name), crate::error::Bytes(v.name))),
        None => errs.report(who, format_args!("undefined symbol: {}", crate::error::Bytes(name))),
    }
}

/// Resolve the symbol of relocation type `ty` at index `symidx` of object `i`.
fn resolve(l: &Linker, i: usize, symidx: usize, ty: u32, errs: &mut Errors) -> Value {
    let q = Query { skip_main: ty == R_COPY, plt: ty == R_JUMP_SLOT, first: None };
    match find(l, i, symidx, q, errs) {
        Found::NoSymbol | Found::WeakMissing => Value::Addr(0, None),
        Found::Own(sym) => def_value(l, i, sym),
        Found::Def(def) => def_value(l, def.dso, def.sym),
        Found::Missing => Value::Missing,
    }
}

fn def_value(l: &Linker, dso: usize, sym: &'static Sym) -> Value {
    let d = &l.dsos[dso];
    if sym.st_shndx == SHN_UNDEF && sym.st_value == 0 {
        return Value::Addr(0, Some((dso, sym)));
    }
    let addr = (d.img.bias as u64).wrapping_add(sym.st_value);
    if sym.st_info & 0xf == STT_GNU_IFUNC && sym.st_shndx != SHN_UNDEF {
        return Value::Ifunc(addr, dso);
    }
    Value::Addr(addr, Some((dso, sym)))
}

/// The object whose TLS block a TLS relocation refers to, and the symbol's
/// offset inside it (before the addend).
fn tls_target(l: &Linker, i: usize, symidx: usize, errs: &mut Errors) -> Option<(usize, u64)> {
    // TLS references use the PLT class as in glibc: never an undefined symbol.
    let def = match find(l, i, symidx, Query { plt: true, ..Query::default() }, errs) {
        Found::NoSymbol => return Some((i, 0)),
        Found::Own(sym) => return Some((i, sym.st_value)),
        Found::Def(def) => def,
        Found::WeakMissing => {
            // No TLS block to point at: an error, weak or not.
            let d = &l.dsos[i];
            let sym = d.syms.get(symidx)?;
            report_undefined(d.name(), d.syms.name(sym).unwrap_or(b"?"), d.syms.required_version(symidx).as_ref(), errs);
            return None;
        }
        Found::Missing => return None,
    };
    if def.sym.st_info & 0xf != STT_TLS {
        let d = &l.dsos[i];
        let name = d.syms.get(symidx).and_then(|s| d.syms.name(s)).unwrap_or(b"?");
        errs.report(d.name(), format_args!("TLS reference to non-TLS symbol {}", crate::error::Bytes(name)));
        return None;
    }
    Some((def.dso, def.sym.st_value))
}

/// Call an IFUNC resolver.
fn call_resolver(addr: u64) -> u64 {
    // SAFETY: the address is an STT_GNU_IFUNC symbol (or IRELATIVE addend) of
    // a relocated object: a resolver taking no arguments.
    let f: extern "C" fn() -> u64 = unsafe { core::mem::transmute(addr as usize) };
    f()
}

/// Apply one RELA relocation (or defer it).
pub fn apply(l: &mut Linker, i: usize, r: &Rela, errs: &mut Errors) {
    crate::stats::count(&crate::stats::RELOCS);
    let ty = (r.r_info & 0xffff_ffff) as u32;
    let symidx = (r.r_info >> 32) as usize;
    let d = &l.dsos[i];
    let width = match ty {
        R_NONE => return,
        R_PC32 | R_32 | R_32S | R_SIZE32 => 4,
        // The copied size comes from the symbols; copy() checks it.
        R_COPY => 0,
        _ => 8,
    };
    if !d.img.writable(r.r_offset, width) {
        errs.report(d.name(), format_args!("relocation target {:#x} outside any writable segment", r.r_offset));
        return;
    }
    let at = d.img.addr(r.r_offset);
    let bias = d.img.bias as u64;
    let value: u64 = match ty {
        R_RELATIVE => bias.wrapping_add(r.r_addend as u64),
        R_IRELATIVE => {
            if !l.dsos[i].relocated {
                l.deferred.push(Deferred { dso: i, rela: *r, waits_for: i });
                return;
            }
            call_resolver(bias.wrapping_add(r.r_addend as u64))
        }
        R_64 | R_GLOB_DAT | R_JUMP_SLOT | R_PC32 | R_32 | R_32S | R_COPY | R_SIZE32 | R_SIZE64 => {
            let s = match resolve(l, i, symidx, ty, errs) {
                Value::Missing => return,
                Value::Ifunc(res, owner) => {
                    if !l.dsos[owner].relocated {
                        l.deferred.push(Deferred { dso: i, rela: *r, waits_for: owner });
                        return;
                    }
                    (call_resolver(res), None)
                }
                Value::Addr(a, sym) => (a, sym),
            };
            let a = r.r_addend as u64;
            match ty {
                R_GLOB_DAT | R_JUMP_SLOT => s.0,
                R_64 => s.0.wrapping_add(a),
                R_SIZE64 | R_SIZE32 => s.1.map_or(0, |s| s.1.st_size).wrapping_add(a),
                R_PC32 => s.0.wrapping_add(a).wrapping_sub(at as u64),
                R_COPY => return copy(l, i, r, s, errs),
                _ => s.0.wrapping_add(a),
            }
        }
        R_DTPMOD64 | R_DTPOFF64 | R_TPOFF64 | R_TLSDESC => {
            let Some((owner, v)) = tls_target(l, i, symidx, errs) else { return };
            let o = &l.dsos[owner];
            if o.tls_modid == 0 {
                errs.report(d.name(), format_args!("{} against an object without TLS ({})", type_name(ty), crate::error::Bytes(o.name())));
                return;
            }
            let v = v.wrapping_add(r.r_addend as u64);
            let tpoff = v.wrapping_sub(o.tls_offset as u64);
            match ty {
                R_DTPMOD64 => o.tls_modid as u64,
                R_DTPOFF64 => v,
                R_TPOFF64 => tpoff,
                _ => {
                    // TLSDESC: {resolver, argument}; every module sits in
                    // static TLS, so the argument is the tp offset itself.
                    if !d.img.writable(r.r_offset, 16) {
                        errs.report(d.name(), format_args!("relocation target {:#x} outside any writable segment", r.r_offset));
                        return;
                    }
                    // SAFETY: checked: 16 bytes inside a writable segment.
                    unsafe {
                        (at as *mut u64).write_unaligned(crate::arch::tlsdesc_static as *const () as u64);
                        ((at + 8) as *mut u64).write_unaligned(tpoff);
                    }
                    return;
                }
            }
        }
        _ => {
            errs.report(d.name(), format_args!("unsupported relocation type {ty}"));
            return;
        }
    };
    let d = &l.dsos[i];
    if width == 4 {
        let fits = match ty {
            R_32 | R_SIZE32 => value <= u32::MAX as u64,
            _ => (value as i64) >= i32::MIN as i64 && (value as i64) <= i32::MAX as i64,
        };
        if !fits {
            errs.report(d.name(), format_args!("relocation at {:#x} overflows 32 bits", r.r_offset));
            return;
        }
        // SAFETY: checked: 4 bytes inside a writable segment.
        unsafe { (at as *mut u32).write_unaligned(value as u32) };
    } else {
        // SAFETY: checked: 8 bytes inside a writable segment.
        unsafe { (at as *mut u64).write_unaligned(value) };
    }
}

/// R_X86_64_COPY: copy the definition's bytes into the executable.
fn copy(l: &Linker, i: usize, r: &Rela, s: (u64, Option<(usize, &'static Sym)>), errs: &mut Errors) {
    let d = &l.dsos[i];
    let Some(want) = d.syms.get((r.r_info >> 32) as usize) else { return };
    let Some((owner, src)) = s.1 else { return };
    if src.st_info & 0xf == STT_TLS {
        errs.report(d.name(), format_args!("copy relocation against a TLS symbol"));
        return;
    }
    let size = want.st_size.min(src.st_size);
    if !d.img.writable(r.r_offset, size) {
        errs.report(d.name(), format_args!("copy relocation target {:#x} outside any writable segment", r.r_offset));
        return;
    }
    // The source must lie inside the defining object's segments.
    if l.dsos[owner].img.bytes(src.st_value, size).is_none() {
        errs.report(d.name(), format_args!("copy relocation source outside its object"));
        return;
    }
    // SAFETY: both ranges were checked inside mapped segments; they belong to
    // different objects, so they do not overlap.
    unsafe { core::ptr::copy_nonoverlapping(s.0 as usize as *const u8, d.img.addr(r.r_offset) as *mut u8, size as usize) };
}

/// Apply the deferred relocations whose resolvers may now run; with `all`,
/// every remaining one (end of relocation: every object is relocated).
pub fn run_deferred(l: &mut Linker, all: bool, errs: &mut Errors) {
    let pending: Vec<Deferred> = core::mem::take(&mut l.deferred);
    for p in pending {
        if all || l.dsos[p.waits_for].relocated {
            l.dsos[p.waits_for].relocated = true;
            apply(l, p.dso, &p.rela, errs);
        } else {
            l.deferred.push(p);
        }
    }
}
