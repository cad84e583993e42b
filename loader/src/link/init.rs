//! Stage 8: initializers and finalizers in glibc's division of labour: guardld runs
//! the program's DT_PREINIT_ARRAY, then DT_INIT and DT_INIT_ARRAY of every
//! shared object, dependencies first; the finalizer it hands the program
//! runs DT_FINI_ARRAY (reversed) and DT_FINI in exact reverse order, once.
//! Every call into an object's code (initializers, finalizers, IFUNC
//! resolvers) is made here.
#![allow(unsafe_code)] // the unsafe boundary (lib.rs): Every call into an object's code (initializers, finalizers, IFUNC resolvers), and the registry a resolver's own lookups read.

use super::{LINKER, Registry};
use crate::error::Bytes;
use crate::elf::pod::WORD_SIZE;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};

/// glibc's order (elf/dl-sort-maps.c, DFS variant) over the objects
/// reachable from `roots`: a depth-first post-order over DT_NEEDED edges,
/// starting from each root in reverse order; edges into the program are not
/// followed. Cycles are broken where the walk first meets a visited object.
pub fn order_of(reg: &Registry, roots: &[usize]) -> Vec<usize> {
    post_order(reg, roots, false).0
}

/// glibc's order for finalizers (`_dl_sort_maps` with `for_fini`, at exit
/// and in dlclose) over every object but guardld, in load order:
/// dependents first. A first
/// pass follows relocation dependencies too (`Dso::reldeps`, last first);
/// if it met any, a second pass over its result follows DT_NEEDED edges
/// only, so static dependencies win over relocation ones. The program,
/// when it leads the list, stays first (`force_first`).
pub fn fini_order(reg: &Registry) -> Vec<usize> {
    let list: Vec<usize> = reg.iter().filter(|(_, d)| !d.is_loader()).map(|(i, _)| i).collect();
    let list = &list[..];
    let (mut order, saw_reldeps) = post_order(reg, list, true);
    order.reverse();
    if saw_reldeps {
        order = post_order(reg, &order, false).0;
        order.reverse();
    }
    if let Some(&first) = list.first().filter(|&&f| reg[f].is_program())
        && let Some(k) = order.iter().position(|&i| i == first)
    {
        order[..=k].rotate_right(1);
    }
    order
}

/// The depth-first post-order of `order_of`, with relocation dependencies
/// as edges too when `reldeps`; and whether an object with any was met.
fn post_order(reg: &Registry, roots: &[usize], reldeps: bool) -> (Vec<usize>, bool) {
    // A bit per registry slot (slots keep growing over dlopen/dlclose).
    let mut visited = super::deps::Bfs::new();
    let mut out = Vec::with_capacity(reg.iter().count());
    let mut saw = false;
    // The edges of object i, in glibc's order: DT_NEEDED first to last,
    // then (with `reldeps`) relocation dependencies last to first.
    let edge = |i: usize, k: usize| -> Option<usize> {
        let deps = reg[i].deps.as_deref().unwrap_or(&[]);
        if let Some(&d) = deps.get(k) {
            return Some(d);
        }
        let rel = if reldeps { &reg[i].reldeps[..] } else { &[] };
        let r = k - deps.len();
        (r < rel.len()).then(|| rel[rel.len() - 1 - r])
    };
    // Explicit stack of (object, next edge position): a 1000-deep chain
    // must not overflow guardld's stack.
    let mut stack: Vec<(usize, usize)> = Vec::new();
    for &root in roots.iter().rev() {
        if visited.contains(root) {
            continue;
        }
        visited.add(root);
        stack.push((root, 0));
        while let Some(top) = stack.last_mut() {
            let (i, k) = *top;
            if k == 0 && reldeps && !reg[i].reldeps.is_empty() {
                saw = true;
            }
            if let Some(dep) = edge(i, k) {
                top.1 += 1;
                if !visited.contains(dep) && !reg[dep].is_program() {
                    visited.add(dep);
                    stack.push((dep, 0));
                }
            } else {
                stack.pop();
                out.push(i);
            }
        }
    }
    (out, saw)
}

/// What one object's initializers or finalizers are, copied out of the
/// linker state so no lock or reference is held while object code runs
/// (an initializer may call guardld's runtime API, which takes the lock).
pub struct Calls {
    name: Vec<u8>,
    /// DT_INIT or DT_FINI, runtime address.
    single: Option<usize>,
    /// DT_*_ARRAY entries (already relocated), in call order.
    array: Vec<usize>,
}

fn array(reg: &Registry, i: usize, t: crate::elf::dynamic::Table) -> Vec<usize> {
    let d = &reg[i];
    let ptrs = d.img.table::<u64>(t.addr, t.size / WORD_SIZE as u64).unwrap_or(&[]);
    // 0 and -1 are placeholders some linkers leave: skip them.
    ptrs.iter().filter(|&&p| p != 0 && p != u64::MAX).map(|&p| p as usize).collect()
}

pub fn init_calls(reg: &Registry, i: usize) -> Calls {
    let d = &reg[i];
    Calls { name: d.name().to_vec(), single: d.dyn_.init.map(|a| d.img.addr(a)), array: array(reg, i, d.dyn_.init_array) }
}

/// The program's DT_PREINIT_ARRAY (its DT_INIT and DT_INIT_ARRAY are its
/// start code's to run).
pub fn preinit_calls(reg: &Registry, i: usize) -> Calls {
    let d = &reg[i];
    Calls { name: d.name().to_vec(), single: None, array: array(reg, i, d.dyn_.preinit_array) }
}

pub fn fini_calls(reg: &Registry, i: usize) -> Calls {
    let d = &reg[i];
    let mut a = array(reg, i, d.dyn_.fini_array);
    a.reverse();
    Calls { name: d.name().to_vec(), single: d.dyn_.fini.map(|a| d.img.addr(a)), array: a }
}

fn call_init(f: usize, args: (i32, usize, usize)) {
    // SAFETY: DT_INIT or a DT_INIT_ARRAY/DT_PREINIT_ARRAY entry of a
    // relocated object (read from its bounds-checked dynamic tables).
    unsafe { crate::arch::call_init(f, args.0, args.1, args.2) }
}

fn call_fini(f: usize) {
    // SAFETY: DT_FINI or a DT_FINI_ARRAY entry of a relocated object.
    unsafe { crate::arch::call0(f) };
}

/// glibc's `void __libc_early_init(_Bool initial)`, called with true.
pub fn call_early_init(f: usize) {
    // SAFETY: libc.so.6's exported __libc_early_init, after relocation.
    unsafe { crate::arch::call_init(f, 1, 0, 0) }
}

/// libc's `__register_atfork(prepare, parent, child, dso_handle)` with only
/// a child handler: glibc programs run natively get guardld's fork epoch
/// (sys/lock.rs). Nonzero: libc refused (out of memory).
pub fn register_fork_child(register_atfork: usize) -> i32 {
    let child = crate::sys::lock::after_fork_child as *const () as usize;
    // SAFETY: libc.so.6's exported __register_atfork, called after
    // __libc_early_init, outside the linker lock.
    unsafe { crate::arch::call4(register_atfork, 0, 0, child, 0) }
}

/// Run an IFUNC resolver: an STT_GNU_IFUNC symbol's value or an IRELATIVE
/// addend, of an object relocated (or, in a dependency cycle, being
/// relocated: as glibc). Returns the implementation's address.
pub fn run_resolver(f: usize) -> usize {
    // SAFETY: callers pass the resolver of a relocated object, found
    // through its bounds-checked tables: a function of no arguments.
    unsafe { crate::arch::call0(f) }
}

/// While relocation runs an IFUNC resolver under the linker lock: the
/// thread (its thread pointer) and the registry it relocates from. glibc's
/// loader lock is recursive, so a resolver may call dlsym (libc's dlsym
/// reaches `_dl_lookup_symbol_x`); guardld's is not, so that thread's
/// lookups read this registry instead of taking the lock again.
static RESOLVING_TP: AtomicUsize = AtomicUsize::new(0);
static RESOLVING_REG: AtomicUsize = AtomicUsize::new(0);

/// `run_resolver` from relocation, which holds the linker lock and `reg`.
pub fn run_resolver_holding(reg: &Registry, f: usize) -> usize {
    let saved = (RESOLVING_TP.load(Ordering::Relaxed), RESOLVING_REG.load(Ordering::Relaxed));
    RESOLVING_TP.store(crate::tcb::current(), Ordering::Relaxed);
    RESOLVING_REG.store(reg as *const Registry as usize, Ordering::Release);
    let r = run_resolver(f);
    RESOLVING_REG.store(saved.1, Ordering::Release);
    RESOLVING_TP.store(saved.0, Ordering::Relaxed);
    r
}

/// Whether this thread is inside an IFUNC resolver that relocation runs
/// under the linker lock (the lock must not be taken again here).
pub fn in_resolver() -> bool {
    RESOLVING_REG.load(Ordering::Acquire) != 0 && RESOLVING_TP.load(Ordering::Relaxed) == crate::tcb::current()
}

/// Read the registry: the one this thread's relocation holds when it is
/// inside an IFUNC resolver, else under the linker lock.
pub fn with_registry<R>(f: impl FnOnce(&Registry) -> R) -> R {
    if in_resolver() {
        let reg = RESOLVING_REG.load(Ordering::Acquire);
        // SAFETY: `reg` is the `&Registry` this same thread's relocation
        // passed to `run_resolver_holding`, which is still on its stack
        // (the resolver runs inside that call) and only shared-borrowed:
        // nothing mutates the registry until the resolver returns.
        return f(unsafe { &*(reg as *const Registry) });
    }
    f(&LINKER.lock().reg)
}

impl Calls {
    /// Run initializers (outside the linker lock) with the process's
    /// original arguments, as glibc passes them to dlopen'd objects.
    pub fn run_init(self) {
        let args = *INIT_ARGS.lock();
        crate::debug!(Init, "calling init: {}", Bytes(&self.name));
        self.single.into_iter().chain(self.array).for_each(|f| call_init(f, args));
    }

    pub fn run_fini(self) {
        crate::debug!(Init, "calling fini: {}", Bytes(&self.name));
        self.array.into_iter().chain(self.single).for_each(call_fini);
    }
}

/// (argc, argv, envp) given to initializers, kept for dlopen.
static INIT_ARGS: crate::sys::lock::SpinLock<(i32, usize, usize)> = crate::sys::lock::SpinLock::new((0, 0, 0));

/// Record the arguments every initializer gets (start-up, before any runs).
pub fn set_args(argc: usize, argv: usize, envp: usize) {
    *INIT_ARGS.lock() = (argc as i32, argv, envp);
}

/// The finalizer handed to the program in %rdx: DT_FINI_ARRAY (reversed)
/// then DT_FINI of each object, in reverse init order (a glibc program:
/// glibc's order at exit), once.
pub extern "C" fn fini() {
    let order: Vec<usize> = {
        let mut l = LINKER.lock();
        let reg = &mut l.reg;
        if reg.fini_done {
            return;
        }
        reg.fini_done = true;
        // Every object loaded now stays while the finalizers run (glibc's
        // `_dl_fini` takes a reference on each): a finalizer's dlclose
        // unloads only what was opened after exit began.
        for i in reg.iter().map(|(i, _)| i).collect::<Vec<_>>() {
            if let super::dso::Opened::ByDlopen { refs } = &mut reg[i].opened {
                *refs += 1;
            }
        }
        crate::glibc::state::hold_all_at_exit();
        if crate::glibc::state::active() {
            // glibc's _dl_fini: every object still loaded, sorted at exit
            // from the list order (dlopen'd objects last), dependents
            // before their dependencies; the program too (libc ran its
            // constructors), first.
            fini_order(reg).into_iter().filter(|&i| reg[i].is_program() || reg.init_order.contains(&i)).collect()
        } else {
            reg.init_order.iter().rev().copied().collect()
        }
    };
    // One object at a time: a finalizer may dlclose (and so finalize and
    // unload) an object later in the order; that one is skipped.
    for i in order {
        let calls = {
            let mut l = LINKER.lock();
            match l.reg.get_mut(i) {
                Some(d) if !d.finalized => {
                    d.finalized = true;
                    fini_calls(&l.reg, i)
                }
                _ => continue,
            }
        };
        calls.run_fini();
    }
}
