//! The thread control block and the memory of a thread's TLS area: the one
//! place that writes them. `tls.rs` decides the layout (safe code); this
//! module turns a layout into memory:
//!
//! ```text
//!   area:  [ static TLS blocks (static_size) ][ Tcb (TCB_SIZE) ][ DTV ]
//!                                              ^ tp = %fs base
//! ```
//! The TCB's head follows the x86_64 ABI and glibc where programs that
//! don't link libc may look (the self pointer at %fs:0, the stack canary at
//! %fs:0x28); the rest is guardld's.
#![allow(unsafe_code)] // the unsafe boundary (lib.rs): The thread control block and TLS area memory.

use crate::sys::lock::SpinLock;
use crate::tls::{Layout, Module, TlsError};
use alloc::vec::Vec;
use core::ffi::c_void;
use core::mem::offset_of;
use rustix::mm::{MapFlags, ProtFlags};

/// The TCB, at the thread pointer.
#[repr(C)]
pub struct Tcb {
    /// The TCB's own address: the ABI's %fs:0.
    pub tcb: usize,
    /// The dynamic thread vector: word 0 = module count, then one block
    /// address per module id.
    pub dtv: usize,
    /// The TCB's address again (glibc's `self`).
    pub self_ptr: usize,
    _reserved: [usize; 2],
    /// Stack-protector canary (%fs:0x28).
    pub stack_guard: u64,
    /// Pointer-mangling guard (%fs:0x30).
    pub pointer_guard: u64,
    /// guardld's own: the size of the thread's whole area (for freeing).
    pub area_size: usize,
    _pad: [u8; TCB_SIZE - 0x40],
}

/// Bytes of TCB above the thread pointer.
pub const TCB_SIZE: usize = 0x100;

const _: () = {
    assert!(core::mem::size_of::<Tcb>() == TCB_SIZE);
    assert!(offset_of!(Tcb, dtv) == 0x8);
    assert!(offset_of!(Tcb, self_ptr) == 0x10);
    assert!(offset_of!(Tcb, stack_guard) == 0x28);
    assert!(offset_of!(Tcb, pointer_guard) == 0x30);
};

/// DTV slots in a thread area: the modules known now, plus room; a module
/// dlopen adds past a thread's DTV takes __tls_get_addr's slow path.
fn dtv_slots(lay: &Layout) -> usize {
    lay.modules.len() + 16
}

/// Allocate one thread's area for `lay` with zeroed blocks; returns the
/// thread pointer. `guards`: (stack_guard, pointer_guard).
pub fn allocate(lay: &Layout, guards: (u64, u64)) -> Result<usize, TlsError> {
    let slots = dtv_slots(lay);
    let size = lay.static_size + TCB_SIZE + slots * 8;
    // SAFETY: a fresh private anonymous mapping.
    let p = unsafe { rustix::mm::mmap_anonymous(core::ptr::null_mut(), size, ProtFlags::READ | ProtFlags::WRITE, MapFlags::PRIVATE) }
        .map_err(|_| TlsError::NoMemory)? as usize;
    let tp = p + lay.static_size;
    let dtv = tp + TCB_SIZE;
    // SAFETY: the TCB and the DTV lie inside the mapping just made, which
    // is page-aligned, so `tp` (static_size is a multiple of the layout's
    // alignment) is aligned for Tcb.
    unsafe {
        (tp as *mut Tcb).write(Tcb {
            tcb: tp,
            dtv,
            self_ptr: tp,
            _reserved: [0; 2],
            stack_guard: guards.0,
            pointer_guard: guards.1,
            area_size: size,
            _pad: [0; TCB_SIZE - 0x40],
        });
        let dtv = core::slice::from_raw_parts_mut(dtv as *mut usize, slots);
        dtv[0] = lay.modules.len() - 1;
        for (id, m) in lay.modules.iter().enumerate().skip(1) {
            dtv[id] = m.map_or(0, |m| tp - m.offset);
        }
    }
    Ok(tp)
}

/// Copy module `m`'s image into its block of the thread at `tp`, zeroing
/// the block first when `zero` (a block reused from an unloaded module).
pub fn fill_block(tp: usize, m: &Module, zero: bool) {
    let block = (tp - m.offset) as *mut u8;
    // SAFETY: `tp` is a live thread's area made by `allocate` for a layout
    // holding `m` (its block lies in the static part); the image was checked
    // inside its object's segments by `tls::module_of`.
    unsafe {
        if zero {
            core::ptr::write_bytes(block, 0, m.memsz);
        }
        core::ptr::copy_nonoverlapping(m.image as *const u8, block, m.filesz);
    }
}

/// The stack and pointer guards of the calling thread (0s before TLS).
pub fn current_guards() -> (u64, u64) {
    let tp = current();
    if tp == 0 {
        return (0, 0);
    }
    // SAFETY: a nonzero %fs:0 is a TCB guardld made (see `current`).
    unsafe { ((*(tp as *const Tcb)).stack_guard, (*(tp as *const Tcb)).pointer_guard) }
}

/// Thread pointers of every live thread whose area guardld made (the main
/// thread's first), so that a module loaded later by dlopen can be
/// initialised in all of them.
static THREADS: SpinLock<Vec<usize>> = SpinLock::new(Vec::new());

/// Record a new thread's area (made by `allocate`).
pub fn register(tp: usize) {
    THREADS.lock().push(tp);
}

/// The live threads' thread pointers.
pub fn threads() -> Vec<usize> {
    THREADS.lock().clone()
}

/// Unmap the area of a thread registered after the main one. Pointers
/// guardld did not hand out, and the main thread's, are ignored; the caller
/// (guardld_tls_free's contract) says the thread has exited.
pub fn free(lay: &Layout, tp: usize) {
    let mut threads = THREADS.lock();
    let Some(k) = threads.iter().skip(1).position(|&t| t == tp) else { return };
    threads.remove(k + 1);
    // SAFETY: the area was made by `allocate` (it was registered), which
    // recorded its size; no thread uses it any more.
    unsafe {
        let size = (*(tp as *const Tcb)).area_size;
        let _ = rustix::mm::munmap((tp - lay.static_size) as *mut c_void, size);
    }
}

/// The calling thread's thread pointer, or 0 before guardld set up TLS.
pub fn current() -> usize {
    if THREADS.lock().is_empty() {
        return 0;
    }
    // SAFETY: once the main thread's TLS is set up, %fs points at a TCB
    // (guardld's, or one following the ABI) whose first word is its address.
    unsafe { crate::arch::thread_pointer() }
}

/// Make `tp` (from `allocate`) the main thread's area: point %fs at it.
/// It lives for the process (`free` never releases the first area).
pub fn install_main(tp: usize) -> Result<(), TlsError> {
    // SAFETY: `tp` is a TCB from `allocate`, never freed.
    unsafe { crate::sys::raw::set_fs_base(tp) }.map_err(|_| TlsError::NoMemory)?;
    THREADS.lock().insert(0, tp);
    Ok(())
}

/// `void *__tls_get_addr(tls_index *ti)`: the general-dynamic access path.
///
/// # Safety
/// `ti` points at {module, offset} from a DTPMOD64/DTPOFF64 pair.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __tls_get_addr(ti: *const [usize; 2]) -> *mut c_void {
    // SAFETY: %fs points at this thread's TCB (set up by guardld) whose dtv
    // field is its DTV; the module id came from a relocation guardld applied.
    unsafe {
        let tp = crate::arch::thread_pointer();
        let dtv = (*(tp as *const Tcb)).dtv as *const usize;
        let [module, offset] = *ti;
        if module <= *dtv {
            return (*dtv.add(module) + offset) as *mut c_void;
        }
        // A module added by dlopen after this thread's DTV was filled: it
        // sits in static TLS at a known offset.
        match crate::tls::module_offset(module) {
            Some(o) => (tp - o + offset) as *mut c_void,
            None => core::ptr::null_mut(),
        }
    }
}
