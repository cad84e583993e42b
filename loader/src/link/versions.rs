//! Symbol version requirements (DT_VERNEED) checked against the definitions
//! (DT_VERDEF) of the objects that should provide them, before relocation.

use super::{Errors, Linker};
use crate::error::Bytes;

pub fn check(l: &Linker, errs: &mut Errors) {
    for d in &l.dsos {
        for need in d.syms.needs.iter().flatten() {
            let Some(file) = need.file else { continue };
            // The provider is the dependency with that soname; an object that
            // defines no versions at all satisfies any requirement (glibc
            // only warns there).
            let Some(p) = d.deps.iter().map(|&i| &l.dsos[i]).find(|p| p.matches_name(file)) else { continue };
            if p.syms.defs.iter().flatten().next().is_none() || need.weak {
                continue;
            }
            if !p.syms.defines_version(need) {
                errs.report(d.name(), format_args!("version `{}' not found (required by {}, in {})",
                    Bytes(need.name), Bytes(d.name()), Bytes(file)));
            }
        }
    }
}
