//! Stage 5: symbol version requirements (DT_VERNEED) checked against the definitions
//! (DT_VERDEF) of the objects that should provide them, before relocation.

use super::{Errors, Registry};
use crate::error::Bytes;

/// Check the requirements of `objs` (indices into the registry).
pub fn check(reg: &Registry, objs: &[usize], errs: &mut Errors) {
    for d in objs.iter().map(|&i| &reg[i]) {
        for need in d.syms.needs.iter().flatten() {
            let Some(file) = need.file else { continue };
            // The provider is the dependency with that soname; an object that
            // defines no versions at all satisfies any requirement (glibc
            // only warns there).
            let Some(p) = d.deps.iter().flatten().map(|&i| &reg[i]).find(|p| p.matches_name(file)) else { continue };
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
