//! Debugger support: the r_debug protocol of the System V ABI as glibc
//! implements it. gdb finds `_r_debug` through the executable's DT_DEBUG
//! (or by name in the interpreter), walks its link map, and keeps a
//! breakpoint on `r_brk` (`_dl_debug_state`), which guardld calls around
//! every change of the object list with r_state set to RT_ADD/RT_DELETE,
//! then RT_CONSISTENT.

use crate::link::Linker;
use core::ptr::null_mut;

pub const RT_CONSISTENT: i32 = 0;
pub const RT_ADD: i32 = 1;
pub const RT_DELETE: i32 = 2;

/// `struct link_map`: the public head of glibc's structure.
#[repr(C)]
pub struct LinkMap {
    pub l_addr: usize,
    pub l_name: *const u8,
    pub l_ld: usize,
    pub l_next: *mut LinkMap,
    pub l_prev: *mut LinkMap,
}

/// `struct r_debug`.
#[repr(C)]
pub struct RDebug {
    pub r_version: i32,
    pub r_map: *mut LinkMap,
    pub r_brk: usize,
    pub r_state: i32,
    pub r_ldbase: usize,
}

/// Exported for debuggers; written only by guardld, under the linker lock.
#[unsafe(no_mangle)]
pub static mut _r_debug: RDebug = RDebug { r_version: 0, r_map: null_mut(), r_brk: 0, r_state: RT_CONSISTENT, r_ldbase: 0 };

/// The debugger's breakpoint: called after r_state changes.
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "C" fn _dl_debug_state() {
    // An empty asm keeps the function (and the call to it) from being
    // optimised away.
    // SAFETY: no instructions.
    unsafe { core::arch::asm!("", options(nostack, preserves_flags)) };
}

fn set_state(state: i32) {
    // SAFETY: only guardld writes _r_debug, under the linker lock.
    unsafe { (*core::ptr::addr_of_mut!(_r_debug)).r_state = state };
    _dl_debug_state();
}

/// Signal the start of an addition (RT_ADD) or removal (RT_DELETE).
pub fn begin(state: i32) {
    set_state(state);
}

/// Rebuild the link map from the linker's objects (load order, guardld
/// last unless something NEEDed it earlier) and announce RT_CONSISTENT.
pub fn publish(l: &mut Linker, ldbase: usize) {
    let mut prev: *mut LinkMap = null_mut();
    let mut head: *mut LinkMap = null_mut();
    let order = l.dsos.iter().enumerate().filter(|(_, d)| !d.is_self).chain(l.dsos.iter().enumerate().filter(|(_, d)| d.is_self));
    for (_, d) in order {
        let name = if d.is_main { c"".as_ptr().cast() } else { d.path.as_ptr() };
        let node = alloc::boxed::Box::into_raw(alloc::boxed::Box::new(LinkMap {
            l_addr: d.img.bias,
            l_name: name,
            l_ld: d.dyn_addr,
            l_next: null_mut(),
            l_prev: prev,
        }));
        if prev.is_null() {
            head = node;
        } else {
            // SAFETY: `prev` is the node allocated in the previous iteration.
            unsafe { (*prev).l_next = node };
        }
        prev = node;
    }
    // SAFETY: only guardld writes _r_debug, under the linker lock. Old
    // nodes are leaked on purpose: a debugger may be reading them.
    unsafe {
        let r = &mut *core::ptr::addr_of_mut!(_r_debug);
        r.r_version = 1;
        r.r_map = head;
        r.r_brk = _dl_debug_state as *const () as usize;
        r.r_ldbase = ldbase;
    }
    set_state(RT_CONSISTENT);
}

/// Point the DT_DEBUG entries of the program and of guardld at _r_debug.
/// Must run before RELRO is applied (.dynamic is usually inside it).
pub fn fill_dt_debug(l: &Linker) {
    for d in &l.dsos {
        if !(d.is_main || d.is_self) {
            continue;
        }
        if let Some(slot) = d.dyn_.debug_slot
            && (d.img.writable(slot, 8) || d.is_self) {
                // SAFETY: the DT_DEBUG value word of a dynamic section in a
                // writable segment (guardld's own is writable until its RELRO
                // is applied, which happens after this).
                unsafe { *(d.img.addr(slot) as *mut usize) = core::ptr::addr_of!(_r_debug) as usize };
            }
    }
}
