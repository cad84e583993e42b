//! Stage 2: from the kernel's initial stack to the program's entry point.
//!
//! Two ways in. As PT_INTERP the kernel has mapped the program and tells us
//! where through auxv. Explicitly (`guardld PROGRAM ARGS`) the kernel ran
//! guardld itself (AT_ENTRY is our own entry): we parse our options, map the
//! program, and rewrite the stack so the program sees only its own argv and
//! an auxv that describes it.

pub mod args;
pub mod list;
pub mod program;
pub mod stack;

use crate::error::{Bytes, fatal};
use crate::map::Padding;
use stack::*;

/// Where to jump, with which stack.
pub struct Handoff {
    pub entry: usize,
    pub sp: usize,
    pub fini: usize,
}

const VERSION: &str = concat!("guardld ", env!("CARGO_PKG_VERSION"), "\n");

/// Run stage 2. `base` is guardld's own load address, `own_entry` the
/// runtime address of its `_start`.
///
/// # Safety
/// `sp` must be the initial stack pointer the kernel passed to `_start`.
pub unsafe fn main(sp: *mut usize, base: usize, own_entry: usize) -> Handoff {
    // SAFETY: forwarded from the caller.
    let mut st = unsafe { InitialStack::new(sp) };
    crate::sys::signals::install();
    let secure = st.aux(AT_SECURE).unwrap_or(0) != 0;
    if !secure
        && let Some(d) = st.getenv(b"GUARDLD_DEBUG") {
            crate::log::set_debug(d);
        }
    if crate::stats::on() {
        crate::stats::START.store(crate::stats::now(), core::sync::atomic::Ordering::Relaxed);
    }
    let page_size = st.aux(AT_PAGESZ).unwrap_or(4096) as u64;
    let explicit = st.aux(AT_ENTRY) == Some(own_entry);
    let env_padding = if secure { None } else { st.getenv(b"GUARDLD_PADDING") };
    let mut padding = match env_padding {
        Some(v) => args::parse_padding(v).unwrap_or_else(|| fatal("GUARDLD_PADDING", format_args!("unknown padding mode '{}'", Bytes(v)))),
        None => Padding::Guard,
    };

    if !explicit {
        let entry = st.aux(AT_ENTRY).unwrap_or(0);
        crate::debug!(Map, "started as PT_INTERP (base {:#x}); program entry {:#x}", base, entry);
        let name = st.aux(AT_EXECFN).filter(|&p| p != 0).map_or(&b"main program"[..], |p| {
            // SAFETY: AT_EXECFN points at the NUL-terminated path on the stack.
            unsafe { core::ffi::CStr::from_ptr(p as *const core::ffi::c_char) }.to_bytes()
        });
        crate::sys::signals::working_on(name);
        let main = program::from_auxv(&st, padding, page_size).unwrap_or_else(|e| fatal(Bytes(name), e));
        let list = !secure && st.getenv(b"LD_TRACE_LOADED_OBJECTS").is_some_and(|v| !v.is_empty());
        let settings = Settings { padding, page_size, secure, list, library_path: None, preload: None };
        link_and_init(&mut st, main, base, &settings);
        return Handoff { entry, sp: st.sp(), fini: crate::link::init::fini as *const () as usize };
    }

    let opts = match args::parse(|i| st.arg(i)) {
        Ok(o) => o,
        Err(args::UsageError::Unknown(o)) => usage_error(format_args!("unrecognized option '{}'", Bytes(o))),
        Err(args::UsageError::MissingValue(o)) => usage_error(format_args!("option '{}' requires an argument", Bytes(o))),
        Err(args::UsageError::BadPadding(v)) => usage_error(format_args!("unknown padding mode '{}'", Bytes(v))),
    };
    if opts.help {
        crate::sys::write_fd(1, args::USAGE.as_bytes());
        crate::sys::exit(0);
    }
    if opts.version {
        crate::sys::write_fd(1, VERSION.as_bytes());
        crate::sys::exit(0);
    }
    if let Some(p) = opts.padding {
        padding = p;
    }
    if opts.probe {
        crate::map::probe::report(page_size);
        crate::sys::exit(0);
    }
    let Some(prog_index) = opts.program else {
        usage_error(format_args!("missing program name"));
    };
    let path = st.arg(prog_index).unwrap_or(c"");
    let prog = crate::load::load(path, page_size, padding).unwrap_or_else(|e| fatal(Bytes(path.to_bytes()), e));
    let entry = prog.bias.wrapping_add(prog.ehdr.e_entry as usize);
    let (phdr_addr, phnum) = (prog.phdr_addr, prog.phdrs.len());
    let main = program::from_loaded(path, prog).unwrap_or_else(|e| fatal(Bytes(path.to_bytes()), e));

    // The program sees argv from PROGRAM on, and an auxv describing it.
    st.drop_args(prog_index);
    if let Some(a0) = opts.argv0 {
        st.set_arg(0, a0);
    }
    st.set_aux(AT_PHDR, phdr_addr);
    st.set_aux(AT_PHNUM, phnum);
    st.set_aux(AT_ENTRY, entry);
    st.set_aux(AT_BASE, base);
    st.set_aux(AT_EXECFN, path.as_ptr() as usize);
    let list = opts.list || (!secure && st.getenv(b"LD_TRACE_LOADED_OBJECTS").is_some_and(|v| !v.is_empty()));
    let settings = Settings { padding, page_size, secure, list, library_path: opts.library_path, preload: opts.preload };
    link_and_init(&mut st, main, base, &settings);
    crate::debug!(Map, "jumping to {:#x} with sp {:#x}", entry, st.sp());
    Handoff { entry, sp: st.sp(), fini: crate::link::init::fini as *const () as usize }
}

/// What the linking stage needs from the command line and environment.
struct Settings {
    padding: Padding,
    page_size: u64,
    secure: bool,
    list: bool,
    library_path: Option<&'static [u8]>,
    preload: Option<&'static [u8]>,
}

/// Stage 3 and 4: load dependencies, relocate, run initializers.
fn link_and_init(st: &mut InitialStack, main: crate::link::dso::Dso, base: usize, s: &Settings) {
    use crate::link::{self, Errors, LINKER, deps};
    let mut errs = Errors::default();
    let mut l = LINKER.lock();
    let me = program::guardld_itself(base, &main);
    l.dsos.push(main);
    match me {
        Ok(me) => l.dsos.push(me),
        Err(e) => fatal("guardld", e),
    }
    // Under AT_SECURE the environment may not redirect library loading (as glibc).
    let env = |name: &[u8]| if s.secure { None } else { st.getenv(name) };
    let origin = l.dsos[0].origin.clone();
    let mut library_path = alloc::vec::Vec::new();
    if let Some(p) = s.library_path.or_else(|| env(b"LD_LIBRARY_PATH")) {
        link::search::split_path(p, origin.as_deref(), s.secure, &mut library_path);
    }
    let preload: alloc::vec::Vec<alloc::vec::Vec<u8>> = s
        .preload
        .or_else(|| env(b"LD_PRELOAD"))
        .map(|p| p.split(|&c| c == b':' || c == b' ').filter(|e| !e.is_empty()).map(|e| e.to_vec()).collect())
        .unwrap_or_default();
    let cfg = deps::LoadConfig { page_size: s.page_size, padding: s.padding, library_path, secure: s.secure, cache: core::cell::OnceCell::new() };
    crate::debug::begin(crate::debug::RT_ADD);
    let t = crate::stats::now();
    let mut names = core::mem::take(&mut l.names);
    deps::load_all(&mut l, &mut names, &preload, &cfg, &mut errs);
    l.names = names;
    if crate::stats::on() {
        // Includes the program's own mapping in explicit mode (done earlier).
        crate::stats::MAP.fetch_add(crate::stats::now() - t, core::sync::atomic::Ordering::Relaxed);
    }
    errs.check();
    link::versions::check(&l, &mut errs);
    errs.check();
    if s.list {
        list::print(&l, s.padding);
        crate::sys::exit(0);
    }
    // Thread-local storage: layout, then %fs before any IFUNC resolver or
    // initializer runs; blocks filled once relocation is done (as glibc).
    crate::tls::assign(&mut l, &mut errs);
    errs.check();
    let tp = crate::tls::setup_main(st.aux(AT_RANDOM)).unwrap_or_else(|e| fatal("guardld", e.message()));
    crate::debug::fill_dt_debug(&l);
    crate::stats::timed(&crate::stats::INDEX, || l.refresh_index());
    crate::stats::timed(&crate::stats::RELOC, || link::relocate_all(&mut l, &mut errs));
    errs.check();
    crate::tls::init_main(tp);
    protect_self(&l);
    crate::debug::publish(&mut l, base);
    l.config = Some(cfg);
    let objects = l.dsos.len();
    drop(l);
    // Object code runs from here on: its faults are its own.
    crate::sys::signals::uninstall();
    let argc = st.argc();
    let argv = st.sp() + 8;
    let envp = argv + (argc + 1) * 8;
    crate::stats::timed(&crate::stats::INIT, || link::init::run_init(argc, argv, envp));
    crate::stats::report(objects);
}

/// guardld's own RELRO (its GOT, .dynamic, vtables) becomes read-only once
/// nothing will write it again.
fn protect_self(l: &crate::link::Linker) {
    if let Some(me) = l.dsos.iter().find(|d| d.is_self) {
        let relro = program::relro_of_phdrs(me.phdr_addr, me.phnum);
        let _ = crate::map::exec::protect_relro(relro, me.img.bias);
    }
}

fn usage_error(msg: core::fmt::Arguments<'_>) -> ! {
    crate::eprint!("guardld: {}\nTry 'guardld --help' for more information.\n", msg);
    crate::sys::exit(crate::error::EXIT_FAILURE)
}
