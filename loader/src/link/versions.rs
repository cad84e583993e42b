//! Stage 5: symbol version requirements (DT_VERNEED) checked against the definitions
//! (DT_VERDEF) of the objects that should provide them, before relocation.

use super::{Errors, Registry};
use crate::error::Bytes;

/// Check the requirements of `objs` (indices into the registry), with
/// glibc's words (dl-version.c). `warn`: start-up of a glibc program,
/// where glibc's ld.so checks verbosely: it warns about a requirement on
/// an object that defines no versions at all (which satisfies it) and
/// about a missing weak version, and a missing version stops the program
/// with exit status 1.
pub fn check(reg: &Registry, objs: &[usize], errs: &mut Errors, warn: bool) {
    for d in objs.iter().map(|&i| &reg[i]) {
        for need in d.syms.needs.iter().flatten() {
            let Some(file) = need.file else { continue };
            // The provider is the dependency with that soname.
            let Some(p) = d.deps.iter().flatten().map(|&i| &reg[i]).find(|p| p.matches_name(file)) else { continue };
            let (name, by) = (Bytes(need.name), Bytes(d.name()));
            let unversioned = p.syms.defs.iter().flatten().next().is_none();
            match (unversioned || p.syms.defines_version(need), need.weak) {
                (true, _) if unversioned && warn => {
                    crate::eprint!("guardld: {}: no version information available (required by {})\n", Bytes(p.name()), by);
                }
                (true, _) => {}
                (false, true) if warn => {
                    crate::eprint!("guardld: {}: weak version `{}' not found (required by {})\n", Bytes(p.name()), name, by);
                }
                (false, true) => {}
                (false, false) => {
                    errs.report(p.name(), format_args!("version `{name}' not found (required by {by})"));
                    if warn {
                        errs.status = Some(1);
                    }
                }
            }
        }
    }
}
