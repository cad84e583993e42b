//! Symbol resolution over a scope: the first definition in scope order
//! wins (glibc's rules; weak definitions count as definitions).

use super::Registry;
use crate::elf::pod::Sym;
use crate::elf::symbols::{Name, Version};

/// A definition found for a reference.
#[derive(Clone, Copy)]
pub struct Def {
    pub dso: usize,
    pub sym: &'static Sym,
}

/// What a lookup must skip or prefer.
#[derive(Clone, Copy, Default)]
pub struct Query {
    /// Skip the main program (R_X86_64_COPY looks past the executable).
    pub skip_main: bool,
    /// A JUMP_SLOT must not bind to an executable's canonical PLT address.
    pub plt: bool,
    /// DT_SYMBOLIC: search this object before the scope.
    pub first: Option<usize>,
    /// RTLD_DEEPBIND: search the dlopen'd group before the global scope.
    pub deep: bool,
    /// A PLT reference that may be bound at its first call if nothing
    /// defines it now (`glibc::lazy`).
    pub lazy: bool,
}

/// Find `name` (version `ver`) in `scope` (indices into the registry).
pub fn lookup(reg: &Registry, scope: &[usize], name: &[u8], ver: Option<&Version<'_>>, q: Query) -> Option<Def> {
    let mut n = Name::new(name);
    let first = q.first.into_iter();
    for i in first.chain(scope.iter().copied()) {
        let Some(d) = reg.get(i) else { continue };
        if (q.skip_main && d.is_program()) || !d.syms.may_define(&n) {
            continue;
        }
        if let Some((_, sym)) = d.syms.lookup(&mut n, ver, q.plt) {
            return Some(reg.unique(name, Def { dso: i, sym }));
        }
    }
    None
}
