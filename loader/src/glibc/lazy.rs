//! Lazy binding for glibc programs, where eager binding would refuse a
//! program glibc runs: a PLT reference that nothing defines at load time.
//!
//! guardld binds every reference it can at load time (`link::reloc`), as
//! with LD_BIND_NOW. glibc binds PLT references at their first call, so a
//! library that references a function nothing defines runs until it calls
//! it, and a definition dlopen'd with RTLD_GLOBAL later satisfies it. For a
//! glibc program run natively (and only there: a libc-less program keeps
//! guardld's rule, refused at load time), such a reference is left to its
//! PLT stub, with GOT[1] naming the object and GOT[2] guardld's resolver
//! (`arch::lazy_trampoline`). Its first call looks the name up in the
//! object's `l_scope` as glibc's `_dl_fixup` does, writes the GOT slot and
//! goes on; nothing found is glibc's fatal "symbol lookup error" (libc's
//! `_dl_signal_error`: exit 127).
//!
//! Not for objects marked DF_BIND_NOW/DF_1_NOW, with LD_BIND_NOW set, or
//! for a dlopen without RTLD_LAZY: there, as in glibc, the reference is a
//! load error.

use super::dlfcn::{self, DlError, Def, Lookup, VersionRequest};
use super::state;
use crate::elf::pod::{RELA_SIZE, Rela};
use crate::elf::symbols::STT_GNU_IFUNC;
use crate::link::dso::Dso;
use crate::link::reloc::R_JUMP_SLOT;
use core::sync::atomic::{AtomicBool, Ordering};

/// glibc's `dl_lazy`: the glibc personality runs the program and
/// LD_BIND_NOW is unset or empty (set once at start-up).
static LAZY: AtomicBool = AtomicBool::new(false);

pub fn set_enabled(on: bool) {
    LAZY.store(on, Ordering::Relaxed);
}

/// Whether references may be bound at their first call (a dlopen adds
/// RTLD_LAZY to this).
pub fn enabled() -> bool {
    LAZY.load(Ordering::Relaxed)
}

/// Leave the JUMP_SLOT relocation `r` of object `i` (registry index) to
/// lazy binding (the relocation stage asks only for objects without
/// DF_BIND_NOW/DF_1_NOW): the slot gets back its PLT stub, GOT[1] and
/// GOT[2] the object and the resolver. False (nothing written) where the object
/// cannot bind lazily: no DT_PLTGOT, a slot read-only after relocation
/// (RELRO), a slot or GOT word outside its writable segments, a stub that
/// is not code of the object.
pub fn defer(d: &Dso, i: usize, r: &Rela) -> bool {
    let Some(got) = d.dyn_.pltgot else { return false };
    let Some(words) = got.checked_add(8) else { return false };
    let in_relro = |a: u64, n: u64| d.relro.is_some_and(|(s, l)| a < s.saturating_add(l) && s < a.saturating_add(n));
    // GOT[1] and GOT[2] are written now, before RELRO is protected (bfd
    // puts them inside it); the slot is written at the first call.
    if in_relro(r.r_offset, 8) || !d.img.writable(words, 16) {
        return false;
    }
    // The slot's link-time value is the address of its PLT entry's lazy
    // stub (push the index, jump to PLT0).
    let Some(stub) = d.img.read_writable_u64(r.r_offset) else { return false };
    if !d.img.is_code(stub) {
        return false;
    }
    let trampoline = crate::arch::lazy_trampoline as *const () as u64;
    d.img.write_u64(words, i as u64) && d.img.write_u64(words + 8, trampoline) && d.img.write_u64(r.r_offset, (d.img.bias as u64).wrapping_add(stub))
}

/// `_dl_fixup`: bind PLT relocation `index` of object `obj` (what the
/// trampoline got from PLT0 and the PLT entry) and return the address to
/// jump to. Err: glibc's error, raised through libc by the caller.
pub fn fixup(obj: usize, index: usize) -> Result<usize, DlError> {
    let bad = |what: &[u8]| DlError::new(0, b"", what);
    // The reference, read under the linker lock, or from the registry
    // relocation holds when an IFUNC resolver it runs makes the first call
    // (`with_registry`).
    let (slot, name, version) = crate::link::init::with_registry(|reg| {
        let d = reg.get(obj).ok_or_else(|| bad(b"lazy binding for an object that is not loaded"))?;
        let t = d.dyn_.jmprel;
        let r = d.img.table::<Rela>(t.addr, t.size / RELA_SIZE as u64).and_then(|rs| rs.get(index)).ok_or_else(|| bad(b"lazy binding: no such PLT relocation"))?;
        let sym = d.syms.get(r.sym()).filter(|_| r.kind() == R_JUMP_SLOT).ok_or_else(|| bad(b"lazy binding: not a PLT relocation"))?;
        let name = d.syms.name(sym).ok_or_else(|| bad(b"lazy binding: symbol name outside the string table"))?;
        Ok::<_, DlError>((r.r_offset, name, d.syms.required_version(r.sym())))
    })?;
    let (lm, scope) = state::scope_of(obj).ok_or_else(|| bad(b"lazy binding for an object without a link map"))?;
    let q = Lookup {
        name,
        undef_map: lm,
        scope: &scope,
        version: version.map(|v| VersionRequest { name: v.name, hash: v.hash, filename: v.file, hidden: false }),
        skip_map: 0,
        weak: false,
        argv0: super::exports::argv0(),
        newest: false,
        plt: true,
        add_dependency: false,
    };
    let value = match dlfcn::lookup_def(&q)? {
        Def::Object(def, sym) => {
            let addr = crate::link::init::with_registry(|reg| {
                let d = reg.get(def).ok_or_else(|| bad(b"lazy binding: the definition was unloaded"))?;
                Ok::<_, DlError>((d.img.bias as u64).wrapping_add(sym.st_value))
            })?;
            // The slot now points into `def`, which must outlive the
            // reference: glibc's DL_LOOKUP_ADD_DEPENDENCY.
            dlfcn::add_dependency(obj, def).map_err(|e| bad(e.as_bytes()))?;
            if sym.kind() == STT_GNU_IFUNC {
                crate::link::init::run_resolver(addr as usize) as u64
            } else {
                addr
            }
        }
        // Neither is in an object's l_scope (the vDSO's own scope, weak
        // references) for a PLT reference.
        Def::Vdso(_) | Def::WeakMissing => return Err(bad(b"lazy binding: no definition in the object's scope")),
    };
    crate::link::init::with_registry(|reg| {
        if let Some(d) = reg.get(obj) {
            d.img.write_u64(slot, value);
        }
    });
    Ok(value as usize)
}
