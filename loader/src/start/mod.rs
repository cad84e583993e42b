//! Stage 2: from the kernel's initial stack to the program's entry point.
//!
//! Two ways in. As PT_INTERP the kernel has mapped the program and tells us
//! where through auxv. Explicitly (`guardld PROGRAM ARGS`) the kernel ran
//! guardld itself (AT_ENTRY is our own entry): we parse our options, map the
//! program, and rewrite the stack so the program sees only its own argv and
//! an auxv that describes it.

pub mod args;
pub mod handover;
pub mod list;
pub mod program;
/// The kernel's initial stack and the pointers in it.
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

/// Run stage 2 on the kernel's stack. `base` is guardld's own load
/// address, `own_entry` the runtime address of its `_start`.
pub fn main(mut st: InitialStack, base: usize, own_entry: usize) -> Handoff {
    crate::sys::signals::install();
    crate::sys::lock::note_process();
    let secure = st.aux(AT_SECURE).unwrap_or(0) != 0;
    if !secure
        && let Some(d) = st.getenv(b"GUARDLD_DEBUG") {
            crate::log::set_debug(d);
        }
    if crate::stats::on() {
        crate::stats::START.store(crate::stats::now(), core::sync::atomic::Ordering::Relaxed);
    }
    // The kernel always passes AT_PAGESZ; every mapping is rounded to it.
    let page_size = match st.aux(AT_PAGESZ) {
        Some(p) if p.is_power_of_two() => p as u64,
        _ => fatal("guardld", "no usable AT_PAGESZ in the auxiliary vector"),
    };
    // What guardld learns about guard regions by trying them: created
    // before the first mapping, then kept in the link configuration.
    let guards = crate::map::GuardSupport::new();
    let explicit = st.aux(AT_ENTRY) == Some(own_entry);
    let env_padding = if secure { None } else { st.getenv(b"GUARDLD_PADDING") };
    let mut padding = match env_padding {
        Some(v) => args::parse_padding(v).unwrap_or_else(|| fatal("GUARDLD_PADDING", format_args!("unknown padding mode '{}'", Bytes(v)))),
        None => Padding::Guard,
    };

    if !explicit {
        let entry = st.aux(AT_ENTRY).unwrap_or(0);
        crate::debug!(Map, "started as PT_INTERP (base {:#x}); program entry {:#x}", base, entry);
        let name = st.execfn().unwrap_or(b"main program");
        crate::sys::signals::working_on(name);
        let main = program::from_auxv(&st, padding, page_size, &guards).unwrap_or_else(|e| fatal(Bytes(name), e));
        let list = traced(&st, secure);
        let glibc = glibc_mode(None, &st, secure);
        let settings = Settings { padding, page_size, guards, secure, list, list_option: false, library_path: None, preload: None, program: name, explicit: false, glibc, own_execfn: None };
        link_and_init(&mut st, main, base, &settings);
        return Handoff { entry, sp: st.sp(), fini: crate::link::init::fini as *const () as usize };
    }

    let opts = match args::parse(|i| st.arg(i)) {
        Ok(o) => o,
        Err(args::UsageError::Unknown(o)) => usage_error(format_args!("unrecognized option '{}'", Bytes(o))),
        Err(args::UsageError::MissingValue(o)) => usage_error(format_args!("option '{}' requires an argument", Bytes(o))),
        Err(args::UsageError::BadPadding(v)) => usage_error(format_args!("unknown padding mode '{}'", Bytes(v))),
        Err(args::UsageError::BadGlibcMode(v)) => usage_error(format_args!("unknown glibc mode '{}' (native or audit)", Bytes(v))),
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
    if opts.list_tunables || opts.list_diagnostics {
        let environ: alloc::vec::Vec<&[u8]> = st.env().collect();
        crate::glibc::diagnostics(&environ, secure, opts.list_tunables, opts.list_diagnostics);
        crate::sys::exit(0);
    }
    if opts.probe {
        crate::map::probe::report(page_size);
        crate::sys::exit(0);
    }
    let Some(prog_index) = opts.program else {
        usage_error(format_args!("missing program name"));
    };
    let path = st.arg(prog_index).unwrap_or(c"");
    let prog = crate::map::load::load(path, page_size, padding, &guards).unwrap_or_else(|e| fatal(Bytes(path.to_bytes()), e));
    let entry = prog.bias.wrapping_add(prog.ehdr.e_entry as usize);
    let no_entry = prog.ehdr.e_entry == 0;
    let (phdr_addr, phnum) = (prog.phdr_addr, prog.phdrs.len());
    let main = program::from_loaded(path, prog).unwrap_or_else(|e| fatal(Bytes(path.to_bytes()), e));
    let list = opts.list || traced(&st, secure);
    // Entry 0 is the ELF header: a shared library given as the program
    // would jump there and fault. Listing its dependencies is fine.
    if no_entry && !list {
        fatal(Bytes(path.to_bytes()), "no entry point (e_entry is 0): a shared library, not a program");
    }
    if main.interp().is_none() && main.dyn_.needed.is_empty() && !list {
        // Neither PT_INTERP nor DT_NEEDED: a static or static-pie program,
        // which relocates itself (RELR applied twice would corrupt it) and
        // protects its own RELRO. glibc's ld.so execs such a program (when
        // it is to run, not to be listed); so does guardld.
        let mut argv: alloc::vec::Vec<&core::ffi::CStr> = (prog_index..st.argc()).filter_map(|i| st.arg(i)).collect();
        if let (Some(a0), Some(first)) = (opts.argv0, argv.first_mut()) {
            *first = a0;
        }
        let e = st.exec(path, &argv);
        fatal(Bytes(path.to_bytes()), format_args!("cannot execute: {}", crate::sys::file::errno_text(e)));
    }

    // guardld's own path as the kernel was given it, before AT_EXECFN
    // names the program.
    let own_execfn = st.execfn();
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
    let glibc = glibc_mode(opts.glibc, &st, secure);
    let settings = Settings { padding, page_size, guards, secure, list, list_option: opts.list, library_path: opts.library_path, preload: opts.preload, program: path.to_bytes(), explicit: true, glibc, own_execfn };
    link_and_init(&mut st, main, base, &settings);
    crate::debug!(Map, "jumping to {:#x} with sp {:#x}", entry, st.sp());
    Handoff { entry, sp: st.sp(), fini: crate::link::init::fini as *const () as usize }
}

/// What the linking stage needs from the command line and environment.
struct Settings {
    padding: Padding,
    page_size: u64,
    /// Guard support learnt while mapping the program (handed on to the
    /// link configuration).
    guards: crate::map::GuardSupport,
    secure: bool,
    list: bool,
    /// The listing was asked for with `--list` (not LD_TRACE_LOADED_OBJECTS,
    /// which glibc's ld.so reads itself after a handover, with LD_WARN and
    /// LD_VERBOSE: its listing differs from `--list`'s).
    list_option: bool,
    library_path: Option<&'static [u8]>,
    preload: Option<&'static [u8]>,
    /// The program's path (as given, or AT_EXECFN), for a handover.
    program: &'static [u8],
    /// Explicit start: the path guardld was executed by (its AT_EXECFN).
    own_execfn: Option<&'static [u8]>,
    /// guardld was run as `guardld PROGRAM` (not as PT_INTERP).
    explicit: bool,
    /// How a glibc program runs.
    glibc: args::GlibcMode,
}

/// LD_TRACE_LOADED_OBJECTS is set, to any value (glibc's ld.so: present
/// is enough), outside AT_SECURE.
fn traced(st: &InitialStack, secure: bool) -> bool {
    let set = st.getenv(b"LD_TRACE_LOADED_OBJECTS").is_some();
    if set && secure {
        // glibc's ld.so in an AT_SECURE process asked to trace: exit 5,
        // nothing run, nothing printed (rtld.c, process_envvars).
        crate::sys::exit(5);
    }
    set
}

/// `--glibc`, else GUARDLD_GLIBC (ignored under AT_SECURE), else native.
fn glibc_mode(opt: Option<args::GlibcMode>, st: &InitialStack, secure: bool) -> args::GlibcMode {
    let env = if secure { None } else { st.getenv(b"GUARDLD_GLIBC") };
    match (opt, env) {
        (Some(m), _) => m,
        (None, Some(v)) => args::parse_glibc_mode(v).unwrap_or_else(|| fatal("GUARDLD_GLIBC", format_args!("unknown glibc mode '{}' (native or audit)", Bytes(v)))),
        (None, None) => args::GlibcMode::Native,
    }
}

impl Settings {
    /// How to hand the program over to another loader.
    fn handover<'a>(&'a self, main: &'a crate::link::dso::Dso, own_path: &'a [u8]) -> handover::Handover<'a> {
        // As PT_INTERP, the program's PT_INTERP is guardld.
        let glibc_ld = |p: &&[u8]| p.rsplit(|&c| c == b'/').next().is_some_and(|n| n.starts_with(b"ld-linux"));
        handover::Handover {
            program: self.program,
            interp: if self.explicit { main.interp().filter(glibc_ld) } else { None },
            own_path,
            padding: self.padding,
            list: self.list_option,
            library_path: self.library_path,
            preload: self.preload,
        }
    }
}

/// Tunables of glibc's static TLS surplus, which the personality does
/// not honour (its surplus is glibc's default).
const SURPLUS_TUNABLES: [&[u8]; 2] = [b"glibc.rtld.nns", b"glibc.rtld.optional_static_tls"];

/// The link session of start-up (stages 4-8, link/session.rs), then the
/// initializers.
fn link_and_init(st: &mut InitialStack, main: crate::link::dso::Dso, base: usize, s: &Settings) {
    use crate::link::{Errors, LINKER, deps, dso::Opened, session};
    let me = program::guardld_itself(base, &main, s.own_execfn, s.page_size).unwrap_or_else(|e| fatal("guardld", e));
    // Under AT_SECURE the environment may not redirect library loading (as glibc).
    let env = |name: &[u8]| if s.secure { None } else { st.getenv(name) };
    let mut library_path = alloc::vec::Vec::new();
    // An empty list is no list (glibc: "" adds no directory, while an
    // empty element of a list is the current directory).
    if let Some(p) = s.library_path.or_else(|| env(b"LD_LIBRARY_PATH")).filter(|p| !p.is_empty()) {
        crate::link::search::split_path(p, main.origin.as_deref(), s.secure, &mut library_path);
    }
    // LD_PRELOAD's objects, then --preload's (glibc's ld.so takes both, in
    // this order), separated by ':' or ' '.
    let preload: alloc::vec::Vec<deps::Preload> = [(env(b"LD_PRELOAD"), "LD_PRELOAD"), (s.preload, "--preload")]
        .into_iter()
        .filter_map(|(list, from)| Some((list?, from)))
        .flat_map(|(list, from)| list.split(|&c| c == b':' || c == b' ').filter(|e| !e.is_empty()).map(move |e| deps::Preload { name: e.to_vec(), from }))
        .collect();
    let mut guard = LINKER.lock();
    let l = &mut *guard;
    l.reg.push(main);
    l.reg.push(me);
    // The glibc personality: the libc.so.6 the closure loads must be a
    // build guardld knows (session.rs); any other is handed over as in
    // audit mode.
    // glibc's ld.so features the personality lacks (rtld-audit modules,
    // profiling, glibc's own LD_DEBUG output) send a glibc program to
    // glibc's ld.so: asked for, they must not be dropped silently.
    // So do the tunables of the static TLS surplus, which the personality
    // keeps at glibc's default.
    // LD_SHOW_AUXV (glibc prints the auxiliary vector) counts when
    // present at all, as glibc reads it.
    // Under AT_SECURE glibc's ld.so ignores all of these (it unsets the
    // variables and drops the tunables): so does the personality.
    // LD_AUDIT and LD_DEBUG add up over their entries (glibc ORs debug
    // masks, appends audit lists): any non-empty one counts; LD_PROFILE's
    // last entry does.
    let glibc_only = [&b"LD_AUDIT"[..], b"LD_DEBUG"]
        .into_iter()
        .find(|&v| st.getenv_all(v).any(|x| !x.is_empty()))
        .or_else(|| st.getenv(b"LD_PROFILE").filter(|x| !x.is_empty()).map(|_| &b"LD_PROFILE"[..]))
        .or_else(|| st.getenv(b"LD_SHOW_AUXV").map(|_| &b"LD_SHOW_AUXV"[..]))
        .filter(|_| !s.secure);
    // Every GLIBC_TUNABLES entry counts (glibc's tunables_init reads
    // them all, in order).
    let tunable = st
        .getenv_all(b"GLIBC_TUNABLES")
        .find_map(|t| t.split(|&c| c == b':').filter_map(|e| e.split(|&c| c == b'=').next()).find(|n| SURPLUS_TUNABLES.contains(n)))
        .filter(|_| !s.secure);
    if s.glibc == args::GlibcMode::Native {
        if let Some(v) = glibc_only {
            crate::debug!(Libs, "{} is set: a glibc program goes to glibc's ld.so", Bytes(v));
        } else if let Some(t) = tunable {
            crate::debug!(Libs, "GLIBC_TUNABLES sets {}: a glibc program goes to glibc's ld.so", Bytes(t));
        }
    }
    let glibc_only = glibc_only.or(tunable);
    // `--list` of a glibc program is glibc's own (ldd's format, its search):
    // handed over like an unknown build.
    let native = s.glibc == args::GlibcMode::Native && glibc_only.is_none() && !s.list;
    let index = match env(b"GUARDLD_INDEX") {
        None => crate::link::index::Policy::Auto,
        Some(v) => crate::link::index::Policy::parse(v).unwrap_or_else(|| fatal("GUARDLD_INDEX", format_args!("unknown index policy '{}' (auto, always or never)", Bytes(v)))),
    };
    // A program that needs glibc's libc searches glibc's capability
    // subdirectories too (glibc/hwcaps.rs).
    let needs_libc = l.reg[0].dyn_.needed.iter().any(|&o| l.reg[0].string(o) == Some(&b"libc.so.6"[..]));
    let hwcaps = (native && needs_libc).then(|| crate::glibc::hwcaps::Search::new(st.env().collect(), st.platform(), s.secure));
    // glibc's ld.so also preloads what /etc/ld.so.preload names, after
    // LD_PRELOAD's and --preload's objects, even under AT_SECURE (root
    // owns the file). Only for a glibc program run natively: one handed
    // over gets it from glibc's ld.so, and guardld's own programs do not
    // take glibc-built objects.
    let mut preload = preload;
    if hwcaps.is_some() {
        let file = crate::link::search::PRELOAD_FILE.to_str().unwrap_or_default();
        preload.extend(crate::link::search::preload_file().into_iter().map(|name| deps::Preload { name, from: file }));
    }
    let cfg = l.config.insert(deps::LoadConfig { page_size: s.page_size, padding: s.padding, guards: s.guards.clone(), library_path, secure: s.secure, cache: core::cell::OnceCell::new(), glibc_native: native, index, glibc_program: hwcaps.is_some(), hwcaps });
    let main_path = l.reg[0].name().to_vec();
    if let Some(f) = l.reg[0].interp().and_then(crate::link::deps::Foreign::of_interp) {
        let own = l.reg[1].path.clone();
        handover::foreign(st, f, &main_path, &s.handover(&l.reg[0], &own));
    }
    let mut sess = session::Session::new(cfg, Errors::default(), 0, Opened::AtStartup);
    // glibc's dl_lazy: LD_BIND_NOW, even under AT_SECURE, binds all now.
    sess.lazy = st.getenv(b"LD_BIND_NOW").is_none_or(<[u8]>::is_empty);
    // glibc reads GLIBC_TUNABLES and the aliases even under AT_SECURE (it
    // then drops what such a process may not set).
    let environ: alloc::vec::Vec<&'static [u8]> = st.env().collect();
    let aux = |k: usize| st.aux(k);
    let start = crate::glibc::state::Start { aux: &aux, auxv: st.auxv_addr(), stack_end: st.sp(), argv: st.sp() + 8, secure: s.secure, platform: st.platform(), environ: &environ };
    let req = session::Request::Startup { preload: &preload, list_only: s.list, random: st.random(), glibc: native.then_some(&start) };
    let Ok(linked) = session::run(&mut l.reg, &mut sess, req) else {
        if let Some((f, because)) = sess.foreign.take() {
            let own = l.reg[1].path.clone();
            handover::foreign(st, f, &because, &s.handover(&l.reg[0], &own));
        }
        // Every error was printed where it was found.
        crate::sys::exit(sess.errors.status.unwrap_or(crate::error::EXIT_FAILURE))
    };
    if s.list {
        list::print(&l.reg, s.padding, &cfg.guards);
        crate::sys::exit(0);
    }
    // A glibc program under AT_SECURE: the environment as glibc's
    // tunables_init leaves it, before libc reads it.
    for (i, e) in crate::glibc::state::take_env_edits().into_iter().enumerate().rev() {
        use crate::glibc::tunables::EnvEdit;
        match e {
            EnvEdit::Keep => {}
            EnvEdit::Remove => st.remove_env(i),
            EnvEdit::Replace(mut v) => {
                v.push(0);
                let leaked: &'static [u8] = alloc::boxed::Box::leak(v.into_boxed_slice());
                if let Ok(c) = core::ffi::CStr::from_bytes_with_nul(leaked) {
                    st.set_env(i, c);
                }
            }
        }
    }
    // guardld's own (libc-less) programs under AT_SECURE: the variables
    // glibc's ld.so unsets for any program (a set-user-ID program that
    // runs a helper as root must not pass LD_PRELOAD on), from the known
    // builds' UNSECURE_ENVVARS.
    if s.secure && !crate::glibc::state::active() {
        let list = crate::glibc::unsecure_envvars();
        let gone: alloc::vec::Vec<usize> = st
            .env()
            .enumerate()
            .filter(|(_, e)| crate::glibc::is_unsecure(&list, e))
            .map(|(i, _)| i)
            .collect();
        for i in gone.into_iter().rev() {
            st.remove_env_and_close_up(i);
        }
    }
    let objects = l.reg.iter().count();
    drop(guard);
    // Object code runs from here on: its faults are its own.
    crate::sys::signals::uninstall();
    // A glibc program run natively: guardld's locks survive fork (libc's
    // atfork child handler starts a new lock epoch, sys/lock.rs).
    let atfork = crate::glibc::state::libc_fns().register_atfork;
    if atfork != 0 && crate::link::init::register_fork_child(atfork) != 0 {
        fatal("guardld", "glibc personality: libc's __register_atfork failed");
    }
    let argc = st.argc();
    let argv = st.sp() + 8;
    let envp = argv + (argc + 1) * 8;
    crate::link::init::set_args(argc, argv, envp);
    crate::stats::timed(&crate::stats::INIT, || linked.inits.into_iter().for_each(crate::link::init::Calls::run_init));
    crate::stats::report(objects);
}

fn usage_error(msg: core::fmt::Arguments<'_>) -> ! {
    crate::eprint!("guardld: {}\nTry 'guardld --help' for more information.\n", msg);
    crate::sys::exit(crate::error::EXIT_FAILURE)
}
