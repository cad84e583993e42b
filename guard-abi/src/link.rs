//! The public head of the dynamic linker's `struct link_map` (<link.h>),
//! which debuggers walk from `r_debug.r_map` and rtld-audit modules receive:
//! once here for guardld's debugger interface and its audit module.

/// `struct link_map`'s public members, in glibc's order.
#[repr(C)]
pub struct LinkMap {
    pub l_addr: usize,
    pub l_name: *const u8,
    pub l_ld: usize,
    pub l_next: *mut LinkMap,
    pub l_prev: *mut LinkMap,
}
