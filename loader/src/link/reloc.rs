//! Stage 7: relocation of one object: RELR, RELA (.rela.dyn), then JMPREL (.rela.plt).
//! Every target is checked to lie in a writable segment of the object.
//! IFUNC resolvers run only once the object defining them is relocated:
//! relocations that need a resolver of an unrelocated object are deferred.

use super::Errors;
use super::Registry;
use super::dso::{Dso, State};
use super::lookup::Query;
use super::session::Session;
use crate::elf::pod::{RELA_SIZE, Rela, Sym, WORD_SIZE};
use crate::elf::symbols::{Candidate, SHN_UNDEF, STB_GNU_UNIQUE, STB_LOCAL, STB_WEAK, STT_GNU_IFUNC, STT_TLS, STV_DEFAULT};


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

/// Whether a relocation needing an unrelocated object's IFUNC resolver
/// may wait.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Defer {
    /// Wait until the resolver's object is relocated.
    WhileUnrelocated,
    /// Run the resolver now (the last pass: dependency cycles).
    Never,
}

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
    /// Nothing defines it; a PLT reference that may bind at its first call.
    Lazy,
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

/// How many relocations ahead a reference's symbol, then its name, are
/// fetched.
const SYM_AHEAD: usize = 16;
const NAME_AHEAD: usize = 8;

/// Relocate object `i` against `scope`.
pub fn relocate(reg: &Registry, s: &mut Session, i: usize) {
    let errs = &mut s.errors;
    let d = &reg[i];
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
        let Some(relas) = d.img.table::<Rela>(t.addr, t.size / RELA_SIZE as u64) else {
            errs.report(d.name(), format_args!("relocation table outside the object"));
            return;
        };
        tables[k] = relas;
    }
    for relas in tables {
        // Each reference's symbol and name are cold cache lines of this
        // object, read in no predictable order: ask for them ahead, the
        // name once its symbol has arrived. (Fetching the defining
        // object's bucket and chain ahead as well measured slower: the
        // scope walks it takes cost more than the misses they save.)
        for (k, r) in relas.iter().enumerate() {
            if let Some(a) = relas.get(k + SYM_AHEAD) {
                d.syms.prefetch_entry(a.sym());
            }
            if let Some(b) = relas.get(k + NAME_AHEAD) {
                d.syms.prefetch_name(b.sym());
            }
            apply(reg, s, i, r, Defer::WhileUnrelocated);
        }
    }
}

fn relr(d: &Dso, errs: &mut Errors) {
    let t = d.dyn_.relr;
    if t.size == 0 {
        return;
    }
    let Some(words) = d.img.table::<u64>(t.addr, t.size / WORD_SIZE as u64) else {
        errs.report(d.name(), format_args!("DT_RELR table outside the object"));
        return;
    };
    let mut at = 0u64;
    let put = |vaddr: u64, errs: &mut Errors| {
        let ok = d.img.add_u64(vaddr, d.img.bias as u64);
        if !ok {
            errs.report(d.name(), format_args!("RELR target {vaddr:#x} outside any writable segment"));
        }
        ok
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
    /// Not found, left to lazy binding (`Query::lazy`).
    Lazy,
    /// Not found, or unreadable (reported).
    Missing,
}

/// Find the definition symbol `symidx` of object `i` refers to, with
/// glibc's rules; every failure is reported to `errs`.
fn find(reg: &Registry, local: &[usize], i: usize, symidx: usize, q: Query, errs: &mut Errors) -> Found {
    let d = &reg[i];
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
    if sym.bind() == STB_LOCAL || (sym.visibility() != STV_DEFAULT && sym.st_shndx != SHN_UNDEF) {
        return Found::Own(sym);
    }
    if !d.syms.has_name(sym) {
        errs.report(d.name(), format_args!("symbol {symidx} has a name outside the string table"));
        return Found::Missing;
    }
    // (Checked: the bytes themselves are read only when needed.)
    let name = || d.syms.name(sym).unwrap_or_default();
    let ver = d.syms.required_version(symidx);
    let q = Query { first: if d.dyn_.symbolic { Some(i) } else { None }, ..q };
    crate::stats::count(&crate::stats::LOOKUPS);
    crate::debug!(Symbols, "symbol={}; lookup for {}", crate::error::Bytes(name()), crate::error::Bytes(d.name()));
    // Its own definition, when no other object defines the name (the
    // index knows): no probe. A unique symbol goes through the process
    // table as any lookup's, so it takes the full path.
    let own = (sym.st_shndx != SHN_UNDEF && !q.deep && !q.skip_main && sym.bind() != STB_GNU_UNIQUE && reg.sole_definition(i, symidx)
        && matches!(d.syms.candidate(symidx, sym, ver.as_ref(), q.plt), Candidate::Accept))
        .then_some(super::lookup::Def { dso: i, sym });
    match own.or_else(|| reg.lookup_global(name(), ver.as_ref(), q, local)) {
        Some(def) => {
            crate::debug!(Bindings, "binding {} to {} `{}'", crate::error::Bytes(d.name()),
                crate::error::Bytes(reg[def.dso].name()), crate::error::Bytes(name()));
            Found::Def(def)
        }
        None if sym.bind() == STB_WEAK => Found::WeakMissing,
        None if q.lazy => Found::Lazy,
        None => {
            report_undefined(d.name(), name(), ver.as_ref(), errs);
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
fn resolve(reg: &Registry, s: &mut Session, i: usize, symidx: usize, ty: u32) -> Value {
    let lazy = ty == R_JUMP_SLOT && s.lazy && !reg[i].dyn_.bind_now;
    let q = Query { skip_main: ty == R_COPY, plt: ty == R_JUMP_SLOT, first: None, deep: s.deepbind, lazy };
    match find(reg, &s.local, i, symidx, q, &mut s.errors) {
        Found::NoSymbol | Found::WeakMissing => Value::Addr(0, None),
        Found::Lazy => Value::Lazy,
        Found::Own(sym) => def_value(reg, i, sym),
        Found::Def(def) => {
            s.note_binding(reg, i, def.dso);
            def_value(reg, def.dso, def.sym)
        }
        Found::Missing => Value::Missing,
    }
}

fn def_value(reg: &Registry, dso: usize, sym: &'static Sym) -> Value {
    let d = &reg[dso];
    if sym.st_shndx == SHN_UNDEF && sym.st_value == 0 {
        return Value::Addr(0, Some((dso, sym)));
    }
    let addr = (d.img.bias as u64).wrapping_add(sym.st_value);
    if sym.kind() == STT_GNU_IFUNC && sym.st_shndx != SHN_UNDEF {
        return Value::Ifunc(addr, dso);
    }
    Value::Addr(addr, Some((dso, sym)))
}

/// The object whose TLS block a TLS relocation refers to, and the symbol's
/// offset inside it (before the addend).
fn tls_target(reg: &Registry, s: &mut Session, i: usize, symidx: usize) -> Option<(usize, u64)> {
    let errs = &mut s.errors;
    // TLS references use the PLT class as in glibc: never an undefined symbol.
    let def = match find(reg, &s.local, i, symidx, Query { plt: true, deep: s.deepbind, ..Query::default() }, errs) {
        Found::NoSymbol => return Some((i, 0)),
        Found::Own(sym) => return Some((i, sym.st_value)),
        Found::Def(def) => def,
        Found::WeakMissing | Found::Lazy => {
            // No TLS block to point at: an error, weak or not.
            let d = &reg[i];
            let sym = d.syms.get(symidx)?;
            report_undefined(d.name(), d.syms.name(sym).unwrap_or(b"?"), d.syms.required_version(symidx).as_ref(), errs);
            return None;
        }
        Found::Missing => return None,
    };
    if def.sym.kind() != STT_TLS {
        let d = &reg[i];
        let name = d.syms.get(symidx).and_then(|s| d.syms.name(s)).unwrap_or(b"?");
        errs.report(d.name(), format_args!("TLS reference to non-TLS symbol {}", crate::error::Bytes(name)));
        return None;
    }
    s.note_binding(reg, i, def.dso);
    Some((def.dso, def.sym.st_value))
}

/// Call an IFUNC resolver (the linker lock is held: `reg` is its).
fn call_resolver(reg: &Registry, addr: u64) -> u64 {
    super::init::run_resolver_holding(reg, addr as usize) as u64
}

/// Apply one RELA relocation (or defer it, as `defer` allows).
pub fn apply(reg: &Registry, s: &mut Session, i: usize, r: &Rela, defer: Defer) {
    crate::stats::count(&crate::stats::RELOCS);
    let ty = r.kind();
    let symidx = r.sym();
    let d = &reg[i];
    let width = match ty {
        R_NONE => return,
        R_PC32 | R_32 | R_32S | R_SIZE32 => 4,
        // The copied size comes from the symbols; copy() checks it.
        R_COPY => 0,
        _ => 8,
    };
    if !d.img.writable(r.r_offset, width) {
        s.errors.report(d.name(), format_args!("relocation target {:#x} outside any writable segment", r.r_offset));
        return;
    }
    let waits = |owner: usize| defer == Defer::WhileUnrelocated && reg[owner].state != State::Relocated;
    // No object code runs once an error was found: a resolver may read
    // what a failed relocation left unset (the session fails anyway).
    let failed = s.errors.count != 0;
    let at = d.img.addr(r.r_offset);
    let bias = d.img.bias as u64;
    let value: u64 = match ty {
        R_RELATIVE => bias.wrapping_add(r.r_addend as u64),
        R_IRELATIVE => {
            if waits(i) {
                s.deferred.push(Deferred { dso: i, rela: *r, waits_for: i });
                return;
            }
            if failed {
                return;
            }
            call_resolver(reg, bias.wrapping_add(r.r_addend as u64))
        }
        R_64 | R_GLOB_DAT | R_JUMP_SLOT | R_PC32 | R_32 | R_32S | R_COPY | R_SIZE32 | R_SIZE64 => {
            let v = match resolve(reg, s, i, symidx, ty) {
                Value::Missing => return,
                Value::Lazy => {
                    if !crate::glibc::lazy::defer(d, i, r) {
                        let name = d.syms.get(symidx).and_then(|s| d.syms.name(s)).unwrap_or(b"?");
                        report_undefined(d.name(), name, d.syms.required_version(symidx).as_ref(), &mut s.errors);
                    }
                    return;
                }
                Value::Ifunc(res, owner) => {
                    if waits(owner) {
                        s.deferred.push(Deferred { dso: i, rela: *r, waits_for: owner });
                        return;
                    }
                    if failed {
                        return;
                    }
                    (call_resolver(reg, res), None)
                }
                Value::Addr(a, sym) => (a, sym),
            };
            let a = r.r_addend as u64;
            match ty {
                R_GLOB_DAT | R_JUMP_SLOT => v.0,
                R_64 => v.0.wrapping_add(a),
                R_SIZE64 | R_SIZE32 => v.1.map_or(0, |s| s.1.st_size).wrapping_add(a),
                R_PC32 => v.0.wrapping_add(a).wrapping_sub(at as u64),
                R_COPY => return copy(reg, i, r, v, &mut s.errors),
                _ => v.0.wrapping_add(a),
            }
        }
        R_DTPMOD64 | R_DTPOFF64 | R_TPOFF64 | R_TLSDESC => {
            let Some((owner, v)) = tls_target(reg, s, i, symidx) else { return };
            let o = &reg[owner];
            let Some(slot) = o.tls_slot else {
                s.errors.report(d.name(), format_args!("{} against an object without TLS ({})", type_name(ty), crate::error::Bytes(o.name())));
                return;
            };
            let dynamic = ty != R_DTPMOD64 && ty != R_DTPOFF64 && crate::tls::is_dynamic(slot.modid);
            if dynamic && ty == R_TPOFF64 {
                // Initial-exec access needs static TLS (glibc's words).
                s.errors.report(d.name(), format_args!("cannot allocate memory in static TLS block"));
                return;
            }
            let v = v.wrapping_add(r.r_addend as u64);
            let tpoff = v.wrapping_sub(slot.offset as u64);
            match ty {
                R_DTPMOD64 => slot.modid as u64,
                R_DTPOFF64 => v,
                R_TPOFF64 => tpoff,
                _ => {
                    // TLSDESC: {resolver, argument}. A module in static TLS:
                    // the argument is the tp offset itself. In dynamic TLS:
                    // the resolver finds the thread's block as
                    // `__tls_get_addr` does, from {module, offset}.
                    let (resolver, arg) = if dynamic {
                        (crate::arch::tlsdesc_dynamic as *const () as u64, crate::tls::tlsdesc_arg(slot.modid, v as usize) as u64)
                    } else {
                        (crate::arch::tlsdesc_static as *const () as u64, tpoff)
                    };
                    let mut desc = [0u8; 16];
                    desc[..8].copy_from_slice(&resolver.to_le_bytes());
                    desc[8..].copy_from_slice(&arg.to_le_bytes());
                    if !d.img.write_bytes(r.r_offset, &desc) {
                        s.errors.report(d.name(), format_args!("relocation target {:#x} outside any writable segment", r.r_offset));
                    }
                    return;
                }
            }
        }
        _ => {
            s.errors.report(d.name(), format_args!("unsupported relocation type {ty}"));
            return;
        }
    };
    if width == 4 {
        let fits = match ty {
            R_32 | R_SIZE32 => value <= u32::MAX as u64,
            _ => (value as i64) >= i32::MIN as i64 && (value as i64) <= i32::MAX as i64,
        };
        if !fits {
            s.errors.report(d.name(), format_args!("relocation at {:#x} overflows 32 bits", r.r_offset));
            return;
        }
        // Checked writable above.
        d.img.write_u32(r.r_offset, value as u32);
    } else {
        d.img.write_u64(r.r_offset, value);
    }
}

/// R_X86_64_COPY: copy the definition's bytes into the executable.
fn copy(reg: &Registry, i: usize, r: &Rela, s: (u64, Option<(usize, &'static Sym)>), errs: &mut Errors) {
    let d = &reg[i];
    let Some(want) = d.syms.get(r.sym()) else { return };
    let Some((owner, src)) = s.1 else { return };
    if src.kind() == STT_TLS {
        errs.report(d.name(), format_args!("copy relocation against a TLS symbol"));
        return;
    }
    let size = want.st_size.min(src.st_size);
    if !d.img.writable(r.r_offset, size) {
        errs.report(d.name(), format_args!("copy relocation target {:#x} outside any writable segment", r.r_offset));
        return;
    }
    // The source must lie inside the defining object's segments.
    let Some(bytes) = reg[owner].img.bytes(src.st_value, size) else {
        errs.report(d.name(), format_args!("copy relocation source outside its object"));
        return;
    };
    d.img.write_bytes(r.r_offset, bytes);
}
