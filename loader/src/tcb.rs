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

/// The head of the TCB, at the thread pointer: the fields the x86_64 ABI
/// and compilers use, where glibc keeps them (`tcbhead_t`). The TCB is
/// `Layout::tcb_size` bytes: guardld's own size for libc-less programs,
/// glibc's `struct pthread` under the glibc personality (which fills the
/// rest through the generated layout).
#[repr(C)]
pub struct Tcb {
    /// The TCB's own address: the ABI's %fs:0.
    pub tcb: usize,
    /// The dynamic thread vector, in glibc's format: 16-byte entries
    /// {block, to_free}; entry -1 holds the entry count, entry 0 the
    /// generation, entry `id` module `id`'s block.
    pub dtv: usize,
    /// The TCB's address again (glibc's `self`).
    pub self_ptr: usize,
    _reserved: [usize; 2],
    /// Stack-protector canary (%fs:0x28).
    pub stack_guard: u64,
    /// Pointer-mangling guard (%fs:0x30).
    pub pointer_guard: u64,
}

/// Bytes of TCB above the thread pointer for libc-less programs.
pub const TCB_SIZE: usize = 0x100;

const _: () = {
    assert!(core::mem::size_of::<Tcb>() <= TCB_SIZE);
    assert!(offset_of!(Tcb, dtv) == 0x8);
    assert!(offset_of!(Tcb, self_ptr) == 0x10);
    assert!(offset_of!(Tcb, stack_guard) == 0x28);
    assert!(offset_of!(Tcb, pointer_guard) == 0x30);
};

/// One DTV entry (glibc's `dtv_t` pointer member).
type DtvEntry = [usize; 2];

/// DTV entries in a thread area: the modules known now, plus room; a module
/// dlopen adds past a thread's DTV takes __tls_get_addr's slow path.
pub fn dtv_slots(lay: &Layout) -> usize {
    lay.modules.len() + 16
}

/// A fresh zeroed mapping of `size` bytes whose start is aligned to
/// `align` (a power of two; the thread pointer, `static_size` bytes in,
/// is then aligned to the largest TLS alignment). Past a page, the excess
/// of a larger mapping is given back on both sides, so the area still
/// starts where `free` unmaps it.
fn aligned_area(size: usize, align: usize) -> Option<usize> {
    const PAGE: usize = 4096;
    let extra = if align > PAGE { align } else { 0 };
    let total = size.checked_add(extra)?;
    // SAFETY: a fresh private anonymous mapping.
    let p0 = unsafe { rustix::mm::mmap_anonymous(core::ptr::null_mut(), total, ProtFlags::READ | ProtFlags::WRITE, MapFlags::PRIVATE) }.ok()? as usize;
    if extra == 0 {
        return Some(p0);
    }
    let p = p0.next_multiple_of(align);
    let end = (p + size).next_multiple_of(PAGE);
    // SAFETY: both ranges lie inside the mapping just made, outside the
    // part kept, and nothing refers to them.
    unsafe {
        if p > p0 {
            let _ = rustix::mm::munmap(p0 as *mut c_void, p - p0);
        }
        if p0 + total > end {
            let _ = rustix::mm::munmap(end as *mut c_void, p0 + total - end);
        }
    }
    Some(p)
}

/// Allocate one thread's area for `lay` with zeroed blocks; returns the
/// thread pointer. `guards`: (stack_guard, pointer_guard).
pub fn allocate(lay: &Layout, guards: (u64, u64)) -> Result<usize, TlsError> {
    let slots = dtv_slots(lay);
    // The DTV: entry -1 (count), entry 0 (generation), the modules.
    let size = lay.static_size + lay.tcb_size + (slots + 2) * size_of::<DtvEntry>();
    let p = aligned_area(size, lay.align).ok_or(TlsError::NoMemory)?;
    crate::sys::place::mapped(p);
    let tp = p + lay.static_size;
    let dtv = tp + lay.tcb_size + size_of::<DtvEntry>();
    // SAFETY: the TCB and the DTV lie inside the mapping just made, which
    // is page-aligned, so `tp` (static_size is a multiple of the layout's
    // alignment) is aligned for Tcb; tcb_size is a multiple of 16.
    unsafe {
        (tp as *mut Tcb).write(Tcb { tcb: tp, dtv, self_ptr: tp, _reserved: [0; 2], stack_guard: guards.0, pointer_guard: guards.1 });
        let all = core::slice::from_raw_parts_mut((dtv - size_of::<DtvEntry>()) as *mut DtvEntry, slots + 2);
        all[0][0] = slots;
        all[1][0] = lay.generation;
        for (id, m) in lay.modules.iter().enumerate().skip(1) {
            all[1 + id][0] = m.map_or(0, |m| tp - m.offset);
        }
    }
    THREADS.lock().push((tp, size));
    Ok(tp)
}

/// Copy module `m`'s image into its block of the thread at `tp`, zeroing
/// the block first when `zero` (a block reused from an unloaded module).
pub fn fill_block(tp: usize, m: &Module, zero: bool) {
    let block = (tp - m.offset) as *mut u8;
    // SAFETY: `tp` is a live thread's area made by `allocate`, or adopted
    // (glibc's, whose static TLS has the layout's size; it is released
    // under the layout's lock before libc frees it), for a layout holding
    // `m` (its block lies in the static part); the image was checked
    // inside its object's segments by `tls::module_of`.
    unsafe {
        if zero {
            core::ptr::write_bytes(block, 0, m.memsz);
        }
        core::ptr::copy_nonoverlapping(m.image as *const u8, block, m.filesz);
    }
}

/// Copy module `m`'s image into `block` (its block in some thread's area,
/// `memsz` bytes) and zero the rest: its bss.
pub fn copy_image(block: &mut [u8], m: &Module) {
    let n = m.filesz.min(block.len());
    // SAFETY: the image was checked inside its object's segments by
    // `tls::module_of`, and a module in the layout belongs to a mapped
    // object (the caller holds the layout's lock; unloading removes the
    // module under it first).
    let image = unsafe { core::slice::from_raw_parts(m.image as *const u8, n) };
    block[..n].copy_from_slice(image);
    block[n..].fill(0);
}

/// The TCB of the main thread as bytes (`Layout::tcb_size` of them), for
/// the glibc personality's `struct pthread` fields; start-up only.
pub fn main_tcb_bytes(lay: &Layout) -> Option<&'static mut [u8]> {
    let tp = THREADS.lock().first()?.0;
    // SAFETY: the main thread's area (made by `allocate`, never freed)
    // holds tcb_size bytes at tp; start-up runs on one thread and hands
    // the view to the personality before any object code runs.
    Some(unsafe { core::slice::from_raw_parts_mut(tp as *mut u8, lay.tcb_size) })
}

/// What glibc's `__tls_init_tp` tells the kernel about the main thread:
/// where to clear its TID at exit, its robust-futex list, its rseq area
/// (`rseq`: address, length, signature; None skips registration).
/// Returns (TID, whether rseq registration succeeded).
pub fn register_main_with_kernel(tid: usize, robust: (usize, usize), rseq: Option<(usize, usize, u32)>) -> (usize, bool) {
    let main = THREADS.lock().first().copied();
    let inside = |a: usize, len: usize| main.is_some_and(|(tp, size)| a >= tp && a + len <= tp + size);
    if !inside(tid, 4) || !inside(robust.0, robust.1) || rseq.is_some_and(|r| !inside(r.0, r.1)) {
        return (0, false);
    }
    // SAFETY: every address lies inside the main thread's area, which is
    // never freed (checked just above).
    unsafe {
        let t = crate::sys::raw::set_tid_address(tid);
        let _ = crate::sys::raw::set_robust_list(robust.0, robust.1);
        let r = rseq.is_some_and(|(a, len, sig)| crate::sys::raw::rseq(a, len, sig).is_ok());
        (t, r)
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

/// (thread pointer, area size) of every live thread, so that a module
/// loaded later by dlopen can be initialised in all of them: the areas
/// `allocate` made (the main thread's first, once installed) and, with
/// size 0, those `adopt`ed from glibc's pthread_create.
static THREADS: SpinLock<Vec<(usize, usize)>> = SpinLock::new(Vec::new());

/// The live threads' thread pointers.
pub fn threads() -> Vec<usize> {
    THREADS.lock().iter().map(|t| t.0).collect()
}

/// Count a thread whose area another C library made (glibc's pthread_create
/// under the personality) among the live threads, so that a module dlopen
/// adds is initialised in it too; its memory is not guardld's (size 0).
pub fn adopt(tp: usize) {
    let mut threads = THREADS.lock();
    if !threads.iter().any(|t| t.0 == tp) {
        threads.push((tp, 0));
    }
}

/// Forget an adopted thread (its library is about to free its area).
pub fn release(tp: usize) {
    THREADS.lock().retain(|t| t.0 != tp || t.1 != 0);
}

/// Unmap the area of a thread registered after the main one. Pointers
/// guardld did not hand out, and the main thread's, are ignored; the caller
/// (guardld_tls_free's contract) says the thread has exited.
pub fn free(lay: &Layout, tp: usize) {
    let mut threads = THREADS.lock();
    let Some(k) = threads.iter().skip(1).position(|&t| t.0 == tp && t.1 != 0) else { return };
    let (_, size) = threads.remove(k + 1);
    // SAFETY: the area was made by `allocate`, which recorded its size; no
    // thread uses it any more.
    unsafe {
        let _ = rustix::mm::munmap((tp - lay.static_size) as *mut c_void, size);
    }
}

/// The calling thread's thread pointer, or 0 before guardld set up TLS.
pub fn current() -> usize {
    if !MAIN_INSTALLED.load(core::sync::atomic::Ordering::Acquire) {
        return 0;
    }
    // SAFETY: once the main thread's TLS is set up, %fs points at a TCB
    // (guardld's, or one following the ABI) whose first word is its address.
    unsafe { crate::arch::thread_pointer() }
}

/// %fs points at a TCB guardld made.
static MAIN_INSTALLED: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// Make `tp` (from `allocate`) the main thread's area: point %fs at it.
/// It lives for the process (`free` never releases the first area).
pub fn install_main(tp: usize) -> Result<(), TlsError> {
    // SAFETY: `tp` is a TCB from `allocate`, never freed.
    unsafe { crate::sys::raw::set_fs_base(tp) }.map_err(|_| TlsError::NoMemory)?;
    let mut threads = THREADS.lock();
    if let Some(k) = threads.iter().position(|t| t.0 == tp) {
        let main = threads.remove(k);
        threads.insert(0, main);
    }
    MAIN_INSTALLED.store(true, core::sync::atomic::Ordering::Release);
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
        let dtv = (*(tp as *const Tcb)).dtv as *const DtvEntry;
        let [module, offset] = *ti;
        if module < (*dtv.sub(1))[0] && (*dtv.add(module))[0] != 0 {
            return ((*dtv.add(module))[0] + offset) as *mut c_void;
        }
        // A module added by dlopen after this thread's DTV was filled: it
        // sits in static TLS at a known offset, or in dynamic TLS (a
        // dlopen past the static surplus).
        let block = match crate::tls::module_offset(module) {
            Some(o) => tp - o,
            None => match crate::tls::dynamic_block(tp, module) {
                Some(b) => b,
                None => return core::ptr::null_mut(),
            },
        };
        // Remembered in the thread's DTV (its own, written only by itself
        // and by whoever sets up or reuses the thread): the next access
        // takes the fast path. Module ids are never reused, and a reused
        // stack's DTV is cleared, so an entry never outlives its block's
        // meaning. `to_free` stays NULL: guardld frees dynamic blocks.
        if module < (*dtv.sub(1))[0] {
            *(dtv.add(module) as *mut DtvEntry) = [block, 0];
        }
        (block + offset) as *mut c_void
    }
}

/// A thread's block of a dynamic TLS module (`tls::dynamic_block`).
#[derive(Clone, Copy)]
pub struct DynBlock {
    /// The block, at the module's alignment.
    pub addr: usize,
    /// What to free: the allocation holding it.
    start: usize,
    /// From the program's calloc (a glibc program run natively, as glibc's
    /// `__tls_get_addr` mallocs blocks), else from guardld's allocator.
    libc: bool,
}

/// A new zeroed block for `m` (`fill_dynamic_block` copies the image in):
/// `m.memsz` bytes at its alignment; None without memory. Under the glibc
/// personality it
/// comes from the program's calloc (over-allocated by the alignment, as
/// glibc's `allocate_dtv_entry` does), called with no guardld lock held.
pub fn new_dynamic_block(m: &Module) -> Option<DynBlock> {
    let b = if crate::glibc::exports::have_libc_malloc() {
        let start = crate::glibc::exports::libc_calloc(1, m.memsz.max(1).checked_add(m.align)?)?;
        DynBlock { addr: start.next_multiple_of(m.align.max(1)), start, libc: true }
    } else {
        let layout = core::alloc::Layout::from_size_align(m.memsz.max(1), m.align).ok()?;
        // SAFETY: the layout's size is not zero.
        let p = unsafe { alloc::alloc::alloc_zeroed(layout) };
        if p.is_null() {
            return None;
        }
        DynBlock { addr: p as usize, start: p as usize, libc: false }
    };
    Some(b)
}

/// Copy `m`'s image into a block `new_dynamic_block` made for it (the
/// caller holds the dynamic modules' lock, so the object is mapped).
pub fn fill_dynamic_block(b: &DynBlock, m: &Module) {
    // SAFETY: the block holds memsz (>= filesz) bytes from `addr`; the
    // image was checked inside its object's segments by `tls::module_of`,
    // and the object stays mapped while its module is registered (the
    // caller holds the dynamic modules' lock; unloading removes the module
    // first).
    unsafe { core::ptr::copy_nonoverlapping(m.image as *const u8, b.addr as *mut u8, m.filesz.min(m.memsz)) };
}

/// Free a block `new_dynamic_block` made for `m` (with no guardld lock
/// held when it came from the program's allocator).
pub fn free_dynamic_block(b: DynBlock, m: &Module) {
    if b.libc {
        crate::glibc::exports::libc_free(b.start);
    } else if let Ok(layout) = core::alloc::Layout::from_size_align(m.memsz.max(1), m.align) {
        // SAFETY: `start` came from `new_dynamic_block` with this layout
        // and is no longer handed out (its module or thread is gone).
        unsafe { alloc::alloc::dealloc(b.start as *mut u8, layout) };
    }
}
