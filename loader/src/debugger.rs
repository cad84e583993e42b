//! Debugger support: the r_debug protocol of the System V ABI as glibc
//! implements it. gdb finds `_r_debug` through the executable's DT_DEBUG
//! (or by name in the interpreter), walks its link map, and keeps a
//! breakpoint on `r_brk` (`_dl_debug_state`), which guardld calls around
//! every change of the object list with r_state set to RT_ADD/RT_DELETE,
//! then RT_CONSISTENT.

use crate::link::Registry;
use alloc::vec::Vec;
use core::ptr::null_mut;

pub const RT_CONSISTENT: i32 = 0;
pub const RT_ADD: i32 = 1;
pub const RT_DELETE: i32 = 2;

pub use guard_abi::link::LinkMap;

/// `struct r_debug`.
#[repr(C)]
pub struct RDebug {
    pub r_version: i32,
    pub r_map: *mut LinkMap,
    pub r_brk: usize,
    pub r_state: i32,
    pub r_ldbase: usize,
}

impl RDebug {
    pub const EMPTY: RDebug = RDebug { r_version: 0, r_map: null_mut(), r_brk: 0, r_state: RT_CONSISTENT, r_ldbase: 0 };
}

/// Record a new r_state and call the debugger's breakpoint.
fn set_state(state: i32) {
    crate::api::r_debug_update(|r| r.r_state = state);
    crate::api::_dl_debug_state();
}

/// Signal the start of an addition (RT_ADD) or removal (RT_DELETE).
pub fn begin(state: i32) {
    set_state(state);
}

/// Rebuild the link map from the registry's objects (load order, guardld
/// last) and announce RT_CONSISTENT. r_ldbase is guardld's load address
/// (every call: a dlopen or dlclose must not reset it).
pub fn publish(reg: &Registry) {
    fill(reg);
    set_state(RT_CONSISTENT);
}

/// `_r_debug` filled from the registry (version, list head, r_brk,
/// r_ldbase) without a state change: at a glibc program's start-up the
/// list is there before relocation, as in glibc, so a program's copy of
/// `_r_debug` (R_X86_64_COPY) holds it.
pub fn fill(reg: &Registry) {
    let ldbase = reg.loader().map_or(0, |i| reg[i].img.bias);
    // A glibc program's debugger list is glibc's own link maps (same head):
    // guardld's list would only be leaked, once per dlopen.
    let head = match crate::glibc::state::debugger_head() {
        Some(h) => h as *mut LinkMap,
        None => own_list(reg),
    };
    crate::api::r_debug_update(|r| {
        r.r_version = 1;
        r.r_map = head;
        r.r_brk = crate::api::_dl_debug_state as *const () as usize;
        r.r_ldbase = ldbase;
    });
}

/// guardld's own link map list of the registry's objects; its head.
fn own_list(reg: &Registry) -> *mut LinkMap {
    let order = reg.iter().filter(|(_, d)| !d.is_loader()).chain(reg.iter().filter(|(_, d)| d.is_loader()));
    // Sized once: the list is leaked, and guardld's allocator never
    // reuses what a growing vector leaves behind.
    let mut nodes: Vec<LinkMap> = Vec::with_capacity(reg.iter().count());
    nodes.extend(order.map(|(_, d)| LinkMap {
            l_addr: d.img.bias,
            l_name: if d.is_program() { c"".as_ptr().cast() } else { d.path.as_ptr() },
            l_ld: d.dyn_addr,
            l_next: null_mut(),
            l_prev: null_mut(),
        }));
    // The old list is leaked on purpose: a debugger may be reading it.
    let nodes = nodes.leak();
    let base = nodes.as_mut_ptr();
    let n = nodes.len();
    for (k, node) in nodes.iter_mut().enumerate() {
        node.l_prev = if k == 0 { null_mut() } else { base.wrapping_add(k - 1) };
        node.l_next = if k + 1 == n { null_mut() } else { base.wrapping_add(k + 1) };
    }
    if n == 0 { null_mut() } else { base }
}

/// Point the DT_DEBUG entries of the program and of guardld (when among
/// `objs`) at _r_debug. Must run before RELRO is applied (.dynamic is
/// usually inside it).
pub fn fill_dt_debug(reg: &Registry, objs: &[usize]) {
    for d in objs.iter().map(|&i| &reg[i]) {
        if d.kind == crate::link::dso::Kind::Library {
            continue;
        }
        // A DT_DEBUG outside a writable segment is left alone (checked).
        if let Some(slot) = d.dyn_.debug_slot {
            d.img.write_u64(slot, crate::api::r_debug_addr() as u64);
        }
    }
}
