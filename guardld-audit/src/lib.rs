//! guardld-audit: an rtld-audit module (`man rtld-audit`) that gives
//! glibc's own ld.so guardld's padding. Loaded with `LD_AUDIT=` or
//! `ld.so --audit`, for any glibc: in la_objopen, right after glibc mapped
//! an object and before it is relocated, each PROT_NONE gap glibc left
//! between the object's segments becomes a guarded extension of a
//! segment's mapping: no VMA of its own, any access faults (SIGSEGV).
//!
//! - `object.rs`: the object's program headers, from its first page.
//! - `gaps.rs` (pure): its gaps (guard-plan's padding) and how each joins
//!   the mapping before it.
//! - `apply.rs`: the checks and system calls.
//!
//! No libc, no DT_NEEDED (a module linking libc makes glibc load a second
//! libc into the audit namespace); no allocation on the way for objects
//! without gaps, and no system call either.
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

extern crate alloc;

pub mod apply;
pub mod gaps;
pub mod object;

#[cfg(not(test))]
mod rt;

use core::sync::atomic::{AtomicBool, Ordering};
use object::LinkMap;

/// <link.h>: the interface version this module was written against.
const LAV_CURRENT: u32 = 1;
/// <link.h>: la_activity's flag once the link map is consistent again.
const LA_ACT_CONSISTENT: u32 = 0;
/// x86_64's smallest page: an object with no gap at this size has none at
/// the real page size either (larger pages only shrink gaps), so it costs
/// no system call.
const MIN_PAGE: u64 = 1 << 12;

/// Start-up is over (the first la_activity(LA_ACT_CONSISTENT), which
/// changes the gaps recorded until then): other threads may exist from now
/// on.
static STARTED: AtomicBool = AtomicBool::new(false);

/// `unsigned int la_version(unsigned int version)`: use interface 1 (or
/// none, if glibc offers less).
#[unsafe(no_mangle)]
pub extern "C" fn la_version(version: u32) -> u32 {
    if version >= LAV_CURRENT { LAV_CURRENT } else { 0 }
}

/// `void la_activity(uintptr_t *cookie, unsigned int flag)`: the end of a
/// batch of additions (start-up, or one dlopen).
#[unsafe(no_mangle)]
pub extern "C" fn la_activity(_cookie: *mut usize, flag: u32) {
    if flag == LA_ACT_CONSISTENT {
        if !STARTED.swap(true, Ordering::Relaxed) {
            apply::flush(rustix::param::page_size());
        }
        apply::close_maps();
    }
}

/// `unsigned int la_objopen(struct link_map *map, Lmid_t lmid, uintptr_t
/// *cookie)`: an object was mapped. Returns 0: no symbol-binding audit.
///
/// # Safety
/// Called by glibc's ld.so with the object's link map.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn la_objopen(map: *mut LinkMap, _lmid: i64, _cookie: *mut usize) -> u32 {
    // SAFETY: glibc passes the link map of an object it just mapped.
    if let Some(map) = unsafe { map.as_ref() } {
        // SAFETY: as above: the object is mapped.
        guard_object(map, unsafe { object::layout(map) });
    }
    0
}

fn guard_object(map: &LinkMap, layout: Option<object::Layout>) {
    let Some(l) = layout else { return };
    if apply::refused() || gaps::gaps(&l.segments, l.relro, MIN_PAGE).is_none_or(|g| g.is_empty()) {
        return;
    }
    let page = rustix::param::page_size() as u64;
    let Some(gaps) = gaps::gaps(&l.segments, l.relro, page) else { return };
    if STARTED.load(Ordering::Relaxed) {
        apply::apply(map.l_addr, &gaps, page as usize);
    } else {
        apply::defer(map.l_addr, &gaps, page as usize);
    }
}
