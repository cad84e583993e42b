//! Programs that are not guardld's to link. A glibc program (its objects
//! NEED glibc's libc.so.6, or import glibc's versions from
//! ld-linux-x86-64.so.2) is handed to glibc's own ld.so with guardld's
//! audit module, which gives glibc's layout guard padding: the user's
//! program always runs. A musl program gets a clear message (musl's libc.so
//! is its own loader).
//!
//! The module goes on ld.so's command line (`--audit`), not into LD_AUDIT:
//! it applies to this program only, as guardld was asked to run this
//! program only; the children it starts run as they would without guardld
//! (set LD_AUDIT yourself to give a whole process tree the module).

use super::stack::InitialStack;
use crate::error::{Bytes, fatal};
use crate::link::deps::Foreign;
use crate::map::Padding;
use alloc::ffi::CString;
use alloc::vec::Vec;
use core::ffi::CStr;

/// glibc's loader on x86_64 (the ABI's PT_INTERP).
pub const GLIBC_LD: &CStr = c"/lib64/ld-linux-x86-64.so.2";
/// The module's file name, found beside guardld (or in ../lib/guardld).
const MODULE: &[u8] = b"libguardld_audit.so";

/// How to hand a program over.
pub struct Handover<'a> {
    /// The program's path (as given, or AT_EXECFN).
    pub program: &'a [u8],
    /// The program's PT_INTERP, if it names a loader other than guardld.
    pub interp: Option<&'a [u8]>,
    /// guardld's own path (its directory holds the module).
    pub own_path: &'a [u8],
    pub padding: Padding,
    pub list: bool,
    /// guardld's --library-path and --preload (the environment's
    /// LD_LIBRARY_PATH and LD_PRELOAD pass through as they are).
    pub library_path: Option<&'a [u8]>,
    pub preload: Option<&'a [u8]>,
}

fn c(bytes: &[u8]) -> CString {
    CString::new(bytes.split(|&b| b == 0).next().unwrap_or_default()).unwrap_or_default()
}

fn dirname(p: &[u8]) -> &[u8] {
    crate::link::search::dirname(p.split(|&b| b == 0).next().unwrap_or_default())
}

/// The audit module installed beside guardld, if there is one: beside the
/// binary itself, or beside the path it was started by (a symlink).
fn module(own_path: &[u8]) -> Option<CString> {
    let real = rustix::fs::readlinkat(rustix::fs::CWD, c"/proc/self/exe", Vec::new()).map(|c| c.into_bytes()).unwrap_or_default();
    [real.as_slice(), own_path]
        .into_iter()
        .filter(|p| !p.is_empty())
        .flat_map(|p| {
            let dir = dirname(p);
            [[dir, b"/", MODULE].concat(), [dir, b"/../lib/guardld/", MODULE].concat()]
        })
        .map(|p| c(&p))
        .find(|p| rustix::fs::access(p.as_c_str(), rustix::fs::Access::READ_OK).is_ok())
}

/// Stop for a foreign C library: musl's message, or glibc's ld.so.
pub fn foreign(st: &InitialStack, f: Foreign, because: &[u8], h: &Handover<'_>) -> ! {
    match f {
        Foreign::Musl => fatal(
            Bytes(h.program),
            format_args!("linked against musl ({} needs musl's libc, which is its own dynamic loader): run it directly", Bytes(because)),
        ),
        Foreign::Glibc => to_glibc(st, because, h),
    }
}

/// exec glibc's ld.so (the program's PT_INTERP, or the ABI's) with the
/// audit module (not with --padding prot-none), the options that map, and
/// the program's argv (argv[0] kept with --argv0).
fn to_glibc(st: &InitialStack, because: &[u8], h: &Handover<'_>) -> ! {
    let ld = h.interp.map(c).unwrap_or_else(|| GLIBC_LD.into());
    let module = if h.padding == Padding::ProtNone { None } else { module(h.own_path) };
    let mut args: Vec<CString> = alloc::vec![ld.clone()];
    if let Some(m) = &module {
        args.extend([c(b"--audit"), m.clone()]);
    }
    if h.list {
        args.push(c(b"--list"));
    }
    if let Some(p) = h.library_path {
        args.extend([c(b"--library-path"), c(p)]);
    }
    if let Some(p) = h.preload {
        args.extend([c(b"--preload"), c(p)]);
    }
    let argv0 = st.arg(0).map_or_else(|| c(h.program), CString::from);
    args.extend([c(b"--argv0"), argv0, c(h.program)]);
    args.extend((1..st.argc()).filter_map(|i| st.arg(i)).map(CString::from));
    if crate::log::enabled(crate::log::Cat::Libs) {
        // Whether guardld has this build's layouts (crate::glibc), by the
        // build IDs of the ld.so and of the libc.so.6 ld.so.cache names:
        // read only for the message.
        match crate::glibc::machine_build_ids(ld.as_c_str()) {
            (Some(ld_id), Some(libc_id)) => match crate::glibc::by_pair(&ld_id, &libc_id) {
                Some(b) => crate::eprint!("guardld: glibc build {} (ld.so build ID {}, libc {}): layouts known\n", b.package, Hex(&ld_id), Hex(&libc_id)),
                None => crate::eprint!("guardld: glibc build unknown (ld.so build ID {}, libc {})\n", Hex(&ld_id), Hex(&libc_id)),
            },
            _ => crate::eprint!("guardld: glibc build unknown (no build ID for {} or libc.so.6)\n", Bytes(ld.as_bytes())),
        }
        let mut line = Vec::new();
        for a in &args {
            line.extend_from_slice(b" ");
            line.extend_from_slice(a.as_bytes());
        }
        crate::eprint!(
            "guardld: {}: needs glibc's dynamic loader ({} needs glibc); handing over{}:{}\n",
            Bytes(h.program),
            Bytes(because),
            if module.is_some() { " with the audit module" } else if h.padding == Padding::ProtNone { " (prot-none: no module)" } else { " (no audit module found beside guardld)" },
            Bytes(&line)
        );
    }
    let argv: Vec<&CStr> = args.iter().map(CString::as_c_str).collect();
    let e = st.exec(ld.as_c_str(), &argv);
    fatal(Bytes(h.program), format_args!("needs glibc's dynamic loader, which cannot be started ({}): {}", Bytes(ld.as_bytes()), crate::sys::file::errno_text(e)))
}

/// Bytes as lower-case hex.
struct Hex<'a>(&'a [u8]);

impl core::fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}
