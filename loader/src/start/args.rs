//! guardld's command line (explicit mode) and environment settings, parsed in
//! one place.

use crate::map::Padding;
use core::ffi::CStr;

pub const USAGE: &str = "\
Usage: guardld [OPTIONS] PROGRAM [ARGS...]
Run PROGRAM with guardld as its dynamic loader: segment padding is covered by
guard regions (MADV_GUARD_INSTALL) instead of PROT_NONE mappings.

Options:
  --argv0 STRING        set argv[0] of PROGRAM to STRING
  --padding MODE        guard (default), prot-none (glibc's layout) or
                        extend (padding left accessible; insecure, for comparison)
  --library-path PATH   use PATH instead of LD_LIBRARY_PATH
  --preload LIST        preload the objects in LIST (colon or space separated)
  --list                list the objects PROGRAM loads and exit (like ldd)
  --glibc MODE          for glibc programs: native (default: guardld runs
                        them itself, known glibc builds only) or audit
                        (glibc's ld.so with guardld's audit module)
  --list-tunables       print the glibc tunables as glibc's ld.so would, exit
  --list-diagnostics    print the x86 CPU features glibc's ld.so would compute
                        (its x86.cpu_features lines), exit
  --probe               report the kernel's guard-region support and exit
  --help                show this help and exit
  --version             show the version and exit
  --                    end of options

A glibc program (it needs libc.so.6) runs under guardld itself if guardld
knows its glibc build; otherwise, in audit mode, with LD_AUDIT,
LD_PROFILE or LD_DEBUG set, LD_SHOW_AUXV present, GLIBC_TUNABLES setting glibc.rtld.nns or
glibc.rtld.optional_static_tls, or for --list, it is handed to glibc's
ld.so with guardld's audit module (libguardld_audit.so beside guardld),
which gives it guard padding; with --padding prot-none, without the
module. A musl program is
refused with a message.

Environment: GUARDLD_PADDING=MODE, GUARDLD_GLIBC=MODE, GUARDLD_DEBUG=map,libs,symbols,bindings,
reloc,init,statistics,all, GUARDLD_INDEX=auto|always|never, LD_LIBRARY_PATH, LD_PRELOAD.
";

/// What the user asked for.
pub struct Options {
    pub argv0: Option<&'static CStr>,
    pub padding: Option<Padding>,
    pub glibc: Option<GlibcMode>,
    pub list_tunables: bool,
    pub list_diagnostics: bool,
    pub library_path: Option<&'static [u8]>,
    pub preload: Option<&'static [u8]>,
    pub list: bool,
    pub probe: bool,
    pub help: bool,
    pub version: bool,
    /// Index in argv of PROGRAM, if one was given.
    pub program: Option<usize>,
}

/// How a glibc program is run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GlibcMode {
    /// guardld links it itself (the glibc personality, known builds).
    Native,
    /// glibc's ld.so runs it with guardld's audit module.
    Audit,
}

pub fn parse_glibc_mode(s: &[u8]) -> Option<GlibcMode> {
    match s {
        b"native" => Some(GlibcMode::Native),
        b"audit" => Some(GlibcMode::Audit),
        _ => None,
    }
}

pub fn parse_padding(s: &[u8]) -> Option<Padding> {
    match s {
        b"guard" => Some(Padding::Guard),
        b"prot-none" => Some(Padding::ProtNone),
        b"extend" => Some(Padding::Extend),
        _ => None,
    }
}

/// Why the command line is unusable.
pub enum UsageError {
    Unknown(&'static [u8]),
    MissingValue(&'static [u8]),
    BadPadding(&'static [u8]),
    BadGlibcMode(&'static [u8]),
}

/// Parse argv[1..] up to PROGRAM.
pub fn parse(arg: impl Fn(usize) -> Option<&'static CStr>) -> Result<Options, UsageError> {
    let mut o = Options {
        argv0: None,
        padding: None,
        glibc: None,
        list_tunables: false,
        list_diagnostics: false,
        library_path: None,
        preload: None,
        list: false,
        probe: false,
        help: false,
        version: false,
        program: None,
    };
    let mut i = 1;
    while let Some(a) = arg(i) {
        let b = a.to_bytes();
        if !b.starts_with(b"--") {
            o.program = Some(i);
            break;
        }
        let mut value = || {
            i += 1;
            arg(i).ok_or(UsageError::MissingValue(b))
        };
        match b {
            b"--" => {
                o.program = arg(i + 1).map(|_| i + 1);
                break;
            }
            b"--help" => o.help = true,
            b"--version" => o.version = true,
            b"--list" => o.list = true,
            b"--probe" => o.probe = true,
            b"--list-tunables" => o.list_tunables = true,
            b"--list-diagnostics" => o.list_diagnostics = true,
            b"--glibc" => {
                let v = value()?.to_bytes();
                o.glibc = Some(parse_glibc_mode(v).ok_or(UsageError::BadGlibcMode(v))?);
            }
            b"--argv0" => o.argv0 = Some(value()?),
            b"--library-path" => o.library_path = Some(value()?.to_bytes()),
            b"--preload" => o.preload = Some(value()?.to_bytes()),
            b"--padding" => {
                let v = value()?.to_bytes();
                o.padding = Some(parse_padding(v).ok_or(UsageError::BadPadding(v))?);
            }
            _ => return Err(UsageError::Unknown(b)),
        }
        i += 1;
    }
    Ok(o)
}
