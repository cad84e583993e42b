//! Initializers and finalizers in glibc's division of labour: guardld runs
//! the program's DT_PREINIT_ARRAY, then DT_INIT and DT_INIT_ARRAY of every
//! shared object, dependencies first; the finalizer it hands the program
//! runs DT_FINI_ARRAY (reversed) and DT_FINI in exact reverse order, once.

use super::{LINKER, Linker};
use crate::error::Bytes;
use alloc::vec::Vec;

/// glibc's order (elf/dl-sort-maps.c, DFS variant): a depth-first
/// post-order over DT_NEEDED edges, starting from each object in reverse
/// load order; edges into the main program are not followed. Cycles are
/// broken where the walk first meets a visited object.
pub fn order(l: &Linker) -> Vec<usize> {
    order_of(l, &l.scope)
}

/// The same order over the objects reachable from `roots`.
pub fn order_of(l: &Linker, roots: &[usize]) -> Vec<usize> {
    let n = l.dsos.len();
    let mut visited = alloc::vec![false; n];
    let mut out = Vec::with_capacity(n);
    // Explicit stack of (object, next dependency position): a 1000-deep
    // chain must not overflow guardld's stack.
    let mut stack: Vec<(usize, usize)> = Vec::new();
    for &root in roots.iter().rev() {
        if visited[root] {
            continue;
        }
        visited[root] = true;
        stack.push((root, 0));
        while let Some(top) = stack.last_mut() {
            let (i, k) = *top;
            if let Some(&dep) = l.dsos[i].deps.get(k) {
                top.1 += 1;
                if !visited[dep] && !l.dsos[dep].is_main {
                    visited[dep] = true;
                    stack.push((dep, 0));
                }
            } else {
                stack.pop();
                out.push(i);
            }
        }
    }
    out
}

type InitFn = extern "C" fn(i32, *const *const u8, *const *const u8);
type FiniFn = extern "C" fn();

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

fn array(l: &Linker, i: usize, t: crate::elf::dynamic::Table) -> Vec<usize> {
    let d = &l.dsos[i];
    let ptrs = d.img.table::<u64>(t.addr, t.size / 8).unwrap_or(&[]);
    // 0 and -1 are placeholders some linkers leave: skip them.
    ptrs.iter().filter(|&&p| p != 0 && p != u64::MAX).map(|&p| p as usize).collect()
}

pub fn init_calls(l: &Linker, i: usize) -> Calls {
    let d = &l.dsos[i];
    Calls { name: d.name().to_vec(), single: d.dyn_.init.map(|a| d.img.addr(a)), array: array(l, i, d.dyn_.init_array) }
}

pub fn fini_calls(l: &Linker, i: usize) -> Calls {
    let d = &l.dsos[i];
    let mut a = array(l, i, d.dyn_.fini_array);
    a.reverse();
    Calls { name: d.name().to_vec(), single: d.dyn_.fini.map(|a| d.img.addr(a)), array: a }
}

fn call_init(f: usize, args: (i32, usize, usize)) {
    // SAFETY: DT_INIT or a DT_INIT_ARRAY/DT_PREINIT_ARRAY entry of a
    // relocated object: a function of (argc, argv, envp), or of fewer
    // arguments (the extra registers are ignored by the ABI).
    let f: InitFn = unsafe { core::mem::transmute(f) };
    f(args.0, args.1 as _, args.2 as _);
}

fn call_fini(f: usize) {
    // SAFETY: DT_FINI or a DT_FINI_ARRAY entry of a relocated object.
    let f: FiniFn = unsafe { core::mem::transmute(f) };
    f();
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

/// Run the program's DT_PREINIT_ARRAY and every object's initializers.
pub fn run_init(argc: usize, argv: usize, envp: usize) {
    let args = (argc as i32, argv, envp);
    *INIT_ARGS.lock() = args;
    let (preinit, calls) = {
        let mut l = LINKER.lock();
        let list: Vec<usize> = order(&l).into_iter().filter(|&i| !l.dsos[i].is_main && !l.dsos[i].is_self).collect();
        let preinit = l.dsos.iter().position(|d| d.is_main).map(|m| array(&l, m, l.dsos[m].dyn_.preinit_array)).unwrap_or_default();
        let calls: Vec<Calls> = list.iter().map(|&i| init_calls(&l, i)).collect();
        l.init_order = list;
        (preinit, calls)
    };
    preinit.into_iter().for_each(|f| call_init(f, args));
    calls.into_iter().for_each(Calls::run_init);
}

/// The finalizer handed to the program in %rdx: DT_FINI_ARRAY (reversed)
/// then DT_FINI of each object, in reverse init order, once.
pub extern "C" fn fini() {
    let calls: Vec<Calls> = {
        let mut l = LINKER.lock();
        if l.fini_done {
            return;
        }
        l.fini_done = true;
        l.init_order.iter().rev().map(|&i| fini_calls(&l, i)).collect()
    };
    calls.into_iter().for_each(Calls::run_fini);
}
