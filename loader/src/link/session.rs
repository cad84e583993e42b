//! One link session: the stage sequence that start-up and dlopen share.
//!
//! ```text
//!  Request ──► 4 closure ──► 5 versions ──► 6 TLS ──► 7 relocation ──► 8 initializer list
//!            (new objects,   (checked)     (slots,   (RELRO, link map   (Calls, run by the
//!             scope/group)                  %fs)      published)          caller unlocked)
//! ```
//! A `Session` holds the scratch state of one call: the objects it loaded,
//! the local scope its relocations also search, IFUNC relocations waiting
//! for their resolver's object, and the errors found. The lasting state is
//! the `Registry`. Every stage ends with a check: after an error no later
//! stage runs (no object code runs after a failure); dlopen then unloads
//! everything the session loaded.

use super::deps::{self, Bfs, LoadConfig};
use super::dso::{Opened, State};
use super::init::{self, Calls};
use super::reloc::{self, Defer, Deferred};
use super::{Errors, Registry};
use crate::error::Bytes;
use alloc::vec::Vec;

/// What a session is asked to do.
pub enum Request<'a> {
    /// Start-up: the program and guardld are in the registry; load the
    /// preloads and the program's DT_NEEDED closure (the global scope).
    /// `list_only`: stop after the version check (`--list`).
    /// `random`: AT_RANDOM's bytes, for the stack and pointer guards.
    /// `glibc`: what the glibc personality needs from the kernel's stack,
    /// when `--glibc native` may apply.
    Startup { preload: &'a [deps::Preload], list_only: bool, random: Option<[u8; 16]>, glibc: Option<&'a crate::glibc::state::Start<'a>> },
    /// dlopen: `name` and its closure, searched with `requester`'s paths.
    Open { name: &'a [u8], requester: Option<usize> },
}

/// Scratch state of one start-up or dlopen.
pub struct Session<'c> {
    pub cfg: &'c LoadConfig,
    pub errors: Errors,
    /// The first registry slot this session filled: objects from here on
    /// are the session's own.
    first: usize,
    /// Searched after the global scope (dlopen's RTLD_LOCAL group), or
    /// before it with `deepbind`.
    pub local: Vec<usize>,
    /// RTLD_DEEPBIND: the group's own definitions come first.
    pub deepbind: bool,
    /// IFUNC relocations waiting for their resolver's object.
    pub deferred: Vec<Deferred>,
    /// A PLT reference nothing defines is left to lazy binding (glibc
    /// programs only: `glibc::lazy`), not refused.
    pub lazy: bool,
    opened: Opened,
    /// The closure met a foreign C library (and the object needing it):
    /// the session stops; start-up hands the program over.
    pub foreign: Option<(deps::Foreign, Vec<u8>)>,
    /// (object, definer) of relocations that bound a new object to one an
    /// earlier dlopen loaded: the definer must outlive it (`pin_bindings`).
    bound: Vec<(usize, usize)>,
    /// RTLD_NOLOAD: the search stops at the file it finds; a file that
    /// is not loaded already is not loaded (no error, no object).
    pub noload: bool,
    /// Search directories held open for this session (`deps::Dirs`).
    pub dirs: super::deps::Dirs,
    /// The last requester's search directories (`deps::SearchList`).
    pub search_list: Option<super::deps::SearchList>,
}

/// A session failed; what went wrong is in its `errors`.
#[derive(Debug)]
pub struct Failed;

/// What a successful session produced.
pub struct Linked {
    /// dlopen's object (None at start-up).
    pub root: Option<usize>,
    /// The root and everything it needs (dlopen), breadth-first.
    pub group: Vec<usize>,
    /// Initializers to run, in order, once the linker lock is released.
    pub inits: Vec<Calls>,
}

impl<'c> Session<'c> {
    /// A session whose new objects start at registry slot `first`.
    pub fn new(cfg: &'c LoadConfig, errors: Errors, first: usize, opened: Opened) -> Self {
        Session { cfg, errors, first, local: Vec::new(), deepbind: false, deferred: Vec::new(), lazy: false, opened, foreign: None, bound: Vec::new(), noload: false, dirs: super::deps::Dirs::default(), search_list: None }
    }

    /// A relocation of object `i` bound to a definition in `def`. Only
    /// objects an earlier dlopen loaded are noted (at start-up none is).
    pub fn note_binding(&mut self, reg: &Registry, i: usize, def: usize) {
        if def != i && !self.is_fresh(def) && reg[def].by_dlopen() && self.bound.last() != Some(&(i, def)) {
            self.bound.push((i, def));
        }
    }

    /// How objects loaded by this session are held open.
    pub fn opened(&self) -> Opened {
        self.opened
    }

    /// Whether object `i` was loaded by this session.
    pub fn is_fresh(&self, i: usize) -> bool {
        i >= self.first
    }

    /// The objects this session loaded, in load order.
    pub fn fresh(&self, reg: &Registry) -> Vec<usize> {
        reg.iter_from(self.first).map(|(i, _)| i).collect()
    }

    /// End of a stage: Err if anything failed so far.
    fn stage_done(&self) -> Result<(), Failed> {
        if self.errors.count == 0 { Ok(()) } else { Err(Failed) }
    }
}

/// Run the stage sequence for `req`. On failure the errors are in
/// `s.errors`; a dlopen session has unloaded everything it loaded.
pub fn run(reg: &mut Registry, s: &mut Session, req: Request<'_>) -> Result<Linked, Failed> {
    let startup = matches!(req, Request::Startup { .. });
    crate::link::search::forget_cwd();
    let r = stages(reg, s, req);
    if r.is_err() && !startup {
        // A failed dlopen leaves nothing mapped.
        for i in s.fresh(reg).into_iter().rev() {
            reg.unload(i);
        }
        crate::debugger::publish(reg);
    }
    r
}

fn stages(reg: &mut Registry, s: &mut Session, req: Request<'_>) -> Result<Linked, Failed> {
    crate::debugger::begin(crate::debugger::RT_ADD);
    // Stage 4: the closure of new objects.
    let (root, group, startup) = crate::stats::timed(&crate::stats::MAP, || match req {
        Request::Startup { preload, list_only, random, glibc } => {
            deps::load_startup(reg, s, preload);
            (None, Vec::new(), Some((list_only, random, glibc)))
        }
        Request::Open { name, requester } => {
            let root = deps::load_needed(reg, s, name, requester);
            let mut group = Bfs::new();
            if let Some(r) = root {
                group.add(r);
                group.close(reg, s);
            }
            (root, group.list, None)
        }
    });
    if s.foreign.is_some() {
        return Err(Failed);
    }
    s.stage_done()?;
    let fresh = s.fresh(reg);

    // Stage 5: symbol versions.
    super::versions::check(reg, &fresh, &mut s.errors, startup.is_some() && s.cfg.glibc_program);
    s.stage_done()?;
    if let Some((true, _, _)) = startup {
        return Ok(Linked { root: None, group, inits: Vec::new() });
    }
    // A glibc program run natively: the personality's globals, before any
    // layout decision (stage 3 of glibc's ld.so).
    let glibc = match startup {
        Some((_, _, Some(start))) => crate::stats::timed(&crate::stats::GLIBC, || glibc_program(reg, s, start))?,
        _ => None,
    };
    if startup.is_some() {
        // Lazy binding is glibc's (LD_BIND_NOW unset: the caller's `lazy`);
        // a libc-less program keeps guardld's rule.
        s.lazy &= glibc.is_some();
        crate::glibc::lazy::set_enabled(s.lazy);
    }

    // Stage 6: thread-local storage. At start-up the static layout is made
    // and %fs set before any IFUNC resolver or initializer runs; blocks are
    // filled once relocation is done (.tdata may hold relocated pointers).
    let tp = match startup {
        Some((_, random, _)) => {
            crate::tls::assign(reg, &mut s.errors);
            s.stage_done()?;
            let tp = crate::tls::setup_main(random).map_err(|e| {
                s.errors.report(b"guardld", format_args!("{}", e.message()));
                Failed
            })?;
            if glibc.is_some() {
                let r = crate::glibc::state::init_main_thread(&crate::tls::LAYOUT.lock(), tp);
                glibc_check(s, r)?;
            }
            Some(tp)
        }
        None => {
            // Static TLS (the surplus) for a dlopen'd module of a glibc
            // program only where initial-exec references need it, as
            // glibc: the module says so (DF_STATIC_TLS) or a new object has
            // TPOFF relocations; the others get dynamic TLS, so that the
            // surplus stays for the modules that cannot do without.
            // guardld's own programs keep the surplus first (faster).
            // (The relocations are scanned only when a new object has TLS.)
            let ie = fresh.iter().any(|&i| reg[i].tls.is_some()) && fresh.iter().any(|&i| reg[i].has_relocation(super::reloc::R_TPOFF64));
            let glibc = crate::glibc::state::active();
            for &i in &fresh {
                let wants_static = !glibc || ie || reg[i].dyn_.static_tls;
                if let Err(e) = crate::tls::add_module(&mut reg[i], wants_static) {
                    let n = reg[i].name().to_vec();
                    s.errors.report(&n, format_args!("{}", e.message()));
                }
            }
            None
        }
    };
    s.stage_done()?;

    // Stage 7: relocation, dependencies first, then RELRO; the debugger's
    // list is published once the objects are consistent.
    crate::debugger::fill_dt_debug(reg, &fresh);
    s.local = group.clone();
    // The global index is built once, at start-up (for hundreds of
    // objects it beats walking the scope). A dlopen's few relocations walk
    // the scope instead: rebuilding the index after every RTLD_GLOBAL
    // dlopen would cost O(exports) each time.
    if tp.is_some() {
        let lookups = fresh.iter().map(|&i| reg[i].dyn_.rela.size.saturating_add(reg[i].dyn_.jmprel.size) / 24).sum::<u64>();
        crate::stats::timed(&crate::stats::INDEX, || reg.refresh_index(lookups as usize, s.cfg.index));
    }
    if glibc.is_some() {
        let r = crate::glibc::state::build_maps(reg, s.cfg.page_size);
        glibc_check(s, r)?;
        crate::debugger::fill(reg);
    } else if tp.is_none() {
        // dlopen under the glibc personality: the new objects' dynamic
        // sections as glibc has them, before RELRO (their link maps are
        // made once the session succeeded: glibc/dlfcn.rs).
        crate::glibc::state::relocate_dynamic(reg, &fresh);
    }
    exec_stacks(reg, s, &fresh);
    s.stage_done()?;
    crate::stats::timed(&crate::stats::RELOC, || relocate(reg, s, &fresh));
    s.stage_done()?;
    match tp {
        Some(tp) => crate::tls::init_main(tp),
        None => {
            for &i in &fresh {
                if let Some(t) = reg[i].tls_slot {
                    crate::tls::init_module(t.modid);
                }
            }
        }
    }
    protect_relro(reg, s, &fresh);
    s.stage_done()?;
    crate::debugger::publish(reg);
    // glibc's ld.so calls libc's __libc_early_init once libc is relocated,
    // before any initializer.
    if let Some(libc) = glibc {
        early_init(reg, s, libc)?;
    }
    pin_bindings(reg, s);

    // Stage 8: the initializer list, dependencies first; the caller runs
    // it after releasing the lock.
    let roots = if root.is_some() { group.clone() } else { reg.scope.clone() };
    let order: Vec<usize> = init::order_of(reg, &roots).into_iter().filter(|&i| s.is_fresh(i) && reg[i].kind == super::dso::Kind::Library).collect();
    let mut inits = Vec::with_capacity(order.len() + 1);
    if root.is_none() {
        inits.extend(reg.program().map(|m| init::preinit_calls(reg, m)));
    }
    inits.extend(order.iter().map(|&i| init::init_calls(reg, i)));
    reg.init_order.extend(order);
    Ok(Linked { root, group, inits })
}

/// glibc's relocation dependencies: a new object whose relocations bound
/// to an object an earlier dlopen loaded (RTLD_GLOBAL, outside its own
/// dependencies) keeps that object loaded while it is, however often the
/// latter is dlclosed (`Registry::add_dependency`). Done once the session
/// can no longer fail.
fn pin_bindings(reg: &mut Registry, s: &mut Session) {
    let mut bound = core::mem::take(&mut s.bound);
    bound.sort_unstable();
    bound.dedup();
    for (i, def) in bound {
        if reg.add_dependency(i, def) == super::Pin::NoDelete {
            // The glibc personality's link map says so too (none without it).
            let _ = crate::glibc::state::mark_nodelete(def);
        }
    }
}

/// Relocate `objs` (load order) in reverse, dependencies first, the
/// program last (as glibc); guardld is relocated already. IFUNC
/// relocations wait until their resolver's object is relocated; the last
/// pass runs the rest (dependency cycles), unless an error was found.
fn relocate(reg: &mut Registry, s: &mut Session, objs: &[usize]) {
    for &i in objs.iter().rev() {
        if reg[i].state == State::Relocated {
            continue;
        }
        crate::debug!(Reloc, "relocating {}", Bytes(reg[i].name()));
        reloc::relocate(reg, s, i);
        reg[i].state = State::Relocated;
        if s.errors.count == 0 {
            run_deferred(reg, s, Defer::WhileUnrelocated);
        }
    }
    if s.errors.count == 0 {
        run_deferred(reg, s, Defer::Never);
    }
    s.deferred.clear();
}

/// Apply the deferred relocations whose resolvers may now run (all of
/// them with `Defer::Never`).
fn run_deferred(reg: &Registry, s: &mut Session, defer: Defer) {
    let pending = core::mem::take(&mut s.deferred);
    for p in pending {
        if defer == Defer::Never || reg[p.waits_for].state == State::Relocated {
            reloc::apply(reg, s, p.dso, &p.rela, Defer::Never);
        } else {
            s.deferred.push(p);
        }
    }
}

/// Under the glibc personality, an object whose PT_GNU_STACK asks for an
/// executable stack makes every stack executable before its code runs, as
/// glibc's ld.so does when it maps one (`exports::make_stacks_executable`).
fn exec_stacks(reg: &Registry, s: &mut Session, objs: &[usize]) {
    for &i in objs {
        let d = &reg[i];
        if !crate::glibc::state::needs_exec_stack(d) {
            continue;
        }
        let e = crate::glibc::exports::make_stacks_executable(s.cfg.page_size as usize);
        if e != 0 {
            let why = crate::sys::file::errno_text(rustix::io::Errno::from_raw_os_error(e));
            s.errors.report(d.name(), format_args!("cannot enable executable stack as shared object requires: {why}"));
        }
    }
}

/// Make the RELRO range of each of `objs` read-only (guardld's own too, at
/// start-up: its DT_DEBUG was written above).
fn protect_relro(reg: &Registry, s: &mut Session, objs: &[usize]) {
    for &i in objs {
        let d = &reg[i];
        if let Err(e) = crate::map::exec::protect_relro(d.relro, d.img.bias) {
            let mut msg = alloc::string::String::new();
            let _ = e.describe(&mut msg);
            s.errors.report(d.name(), format_args!("{msg}"));
        }
    }
}

/// At start-up with the glibc personality allowed: whether the program
/// loaded glibc's libc.so.6 and it is the known build (its build ID); a
/// different libc (LD_LIBRARY_PATH, a chroot) is handed over. Returns
/// libc's registry index, with the personality's globals set up.
fn glibc_program(reg: &Registry, s: &mut Session, start: &crate::glibc::state::Start<'_>) -> Result<Option<usize>, Failed> {
    let Some((libc, d)) = reg.iter().find(|(_, d)| d.soname == Some(b"libc.so.6")) else { return Ok(None) };
    let Some(build) = crate::glibc::state::libc_build(d) else {
        crate::debug!(Libs, "{}: not a glibc build guardld knows: handing over", Bytes(d.name()));
        s.foreign = Some((deps::Foreign::Glibc, d.name().to_vec()));
        return Err(Failed);
    };
    crate::debug!(Libs, "glibc {}: running natively (glibc personality)", build.package);
    let r = crate::glibc::state::tls_abi(build).and_then(|(size, align)| {
        crate::tls::set_abi(size, align, crate::tls::SURPLUS);
        crate::glibc::state::begin(build, start)
    });
    glibc_check(s, r)?;
    Ok(Some(libc))
}

/// A personality step's error ends the session (exit 127 at start-up).
fn glibc_check(s: &mut Session, r: Result<(), alloc::string::String>) -> Result<(), Failed> {
    r.map_err(|e| {
        s.errors.report(b"guardld", format_args!("glibc personality: {e}"));
        Failed
    })
}

/// Call libc's `__libc_early_init(true)`.
fn early_init(reg: &Registry, s: &mut Session, libc: usize) -> Result<(), Failed> {
    let d = &reg[libc];
    let mut name = crate::elf::symbols::Name::new(b"__libc_early_init");
    let Some((_, sym)) = d.syms.lookup(&mut name, None, false) else {
        s.errors.report(d.name(), format_args!("no __libc_early_init"));
        return Err(Failed);
    };
    init::call_early_init(d.img.addr(sym.st_value));
    Ok(())
}
