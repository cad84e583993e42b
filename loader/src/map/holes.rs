//! The program the kernel mapped (PT_INTERP start) has its padding left as
//! holes: unmapped address ranges. A hole faults like a guard, but it is free
//! address space a later mapping can take, and the kernel's guard interfaces
//! do not report it as padding. guardld fills each hole the way it maps its
//! own objects: the mapping before the hole is grown over it in place with
//! mremap (so it stays one VMA: a fresh mmap of the file would come from
//! another `struct file` and could not merge), then guards are installed on
//! the grown part. The VMA count does not change (tests/mapping.rs measures
//! it). If anything fails the hole stays a hole, still inaccessible: never a
//! PROT_NONE VMA, never readable padding.

use super::exec::MADV_GUARD_INSTALL;
use super::{Padding, Plan};
use crate::arch::madvise_raw;
use core::ffi::c_void;

/// Fill the padding holes of the kernel-mapped program described by `plan`
/// (a plan of its program headers) at `bias`. Returns how many were filled.
pub fn fill(plan: &Plan, bias: usize, padding: Padding, page_size: usize) -> usize {
    if padding == Padding::ProtNone || (padding == Padding::Guard && super::exec::guards_failed()) {
        return 0;
    }
    let mut filled = 0;
    for &(a, len) in &plan.padding {
        let at = bias.wrapping_add(a as usize);
        let last = at - page_size;
        // SAFETY: grows the VMA ending at `at` over the hole after it, in
        // place (no MREMAP_MAYMOVE): nothing else is touched.
        let r = unsafe { rustix::mm::mremap(last as *mut c_void, page_size, page_size + len as usize, rustix::mm::MremapFlags::empty()) };
        if r.ok() != Some(last as *mut c_void) {
            continue;
        }
        // SAFETY: the grown part holds nothing yet.
        if padding == Padding::Guard && unsafe { madvise_raw(at, len as usize, MADV_GUARD_INSTALL) } != 0 {
            // Back to a hole: shrink the mapping again.
            // SAFETY: the part we just added.
            let _ = unsafe { rustix::mm::munmap(at as *mut c_void, len as usize) };
            continue;
        }
        filled += 1;
    }
    crate::debug!(Map, "program padding: {} of {} holes filled ({:?})", filled, plan.padding.len(), padding);
    filled
}
