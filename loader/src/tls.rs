//! Thread-local storage, x86_64 variant II.
//!
//! Layout of one thread's static TLS area (addresses grow to the right):
//!
//! ```text
//!   [ surplus | ... module 3 | module 2 | module 1 (exe) ][ TCB ]
//!                                                        ^ tp = %fs base
//! ```
//! Module blocks sit below the thread pointer, the executable's nearest;
//! each at its PT_TLS alignment with glibc's offset rule, so that
//! initial-exec offsets (TPOFF64) computed here match what a linker that
//! knows the layout would compute. The TCB holds its own address at %fs:0
//! (the ABI's requirement), the DTV pointer at %fs:8, and the stack canary
//! at %fs:0x28 and pointer guard at %fs:0x30 where glibc keeps them.

use crate::link::Linker;
use crate::link::dso::Dso;
use crate::sys::lock::SpinLock;
use alloc::vec::Vec;
use core::ffi::c_void;
use rustix::mm::{MapFlags, ProtFlags};

/// Static TLS kept free for initial-exec libraries loaded later by dlopen
/// (glibc reserves a similar surplus).
pub const SURPLUS: usize = 1664;
/// Bytes of TCB above the thread pointer. Only the first 0x38 are defined
/// here; the rest is zero padding programs must not rely on.
pub const TCB_SIZE: usize = 0x100;
const ARCH_SET_FS: usize = 0x1002;

/// One module's TLS image, as the linker described it.
#[derive(Clone, Copy, Debug)]
pub struct Module {
    /// Runtime address of the .tdata image.
    pub image: usize,
    pub filesz: usize,
    pub memsz: usize,
    pub align: usize,
    /// The block starts `offset` bytes below the thread pointer.
    pub offset: usize,
}

/// The process's static TLS layout.
pub struct Layout {
    /// Surplus regions of unloaded modules: (offset, size), reusable.
    pub free: Vec<(usize, usize)>,
    /// Modules by id; index 0 is unused (module ids start at 1).
    pub modules: Vec<Option<Module>>,
    /// Bytes below the thread pointer, surplus included, a multiple of `align`.
    pub static_size: usize,
    pub align: usize,
    /// Where the surplus starts (offset below tp) for later IE modules.
    pub surplus_used: usize,
}

pub static LAYOUT: SpinLock<Layout> = SpinLock::new(Layout { free: Vec::new(), modules: Vec::new(), static_size: 0, align: 16, surplus_used: 0 });

/// Thread pointers of every live thread whose TLS guardld set up, so that a
/// module loaded later by dlopen can be initialised in all of them.
static THREADS: SpinLock<Vec<usize>> = SpinLock::new(Vec::new());

/// Why a PT_TLS is unusable.
pub enum TlsError {
    FileszGtMemsz,
    BadAlign,
    ImageOutside,
    NoMemory,
}

impl TlsError {
    pub fn message(&self) -> &'static str {
        match self {
            TlsError::FileszGtMemsz => "PT_TLS: p_filesz larger than p_memsz",
            TlsError::BadAlign => "PT_TLS: alignment not a power of two, or above the page size",
            TlsError::ImageOutside => "PT_TLS: initialization image outside the loaded segments",
            TlsError::NoMemory => "cannot allocate thread-local storage",
        }
    }
}

fn round_up(v: usize, a: usize) -> usize {
    (v + a - 1) & !(a - 1)
}

/// Check one object's PT_TLS and describe its module (offset not yet set).
pub fn module_of(d: &Dso) -> Result<Option<Module>, TlsError> {
    let Some(p) = d.tls else { return Ok(None) };
    if p.p_filesz > p.p_memsz {
        return Err(TlsError::FileszGtMemsz);
    }
    let align = p.p_align.max(1);
    if !align.is_power_of_two() || align > 4096 {
        return Err(TlsError::BadAlign);
    }
    if p.p_memsz > 1 << 30 {
        return Err(TlsError::ImageOutside);
    }
    if p.p_filesz > 0 && d.img.bytes(p.p_vaddr, p.p_filesz).is_none() {
        return Err(TlsError::ImageOutside);
    }
    Ok(Some(Module { image: d.img.addr(p.p_vaddr), filesz: p.p_filesz as usize, memsz: p.p_memsz as usize, align: align as usize, offset: 0 }))
}

/// glibc's offset rule (elf/dl-tls.c, TLS_TCB_AT_TP): the block ends below
/// the previous one, its first byte congruent to p_vaddr modulo align.
fn place(prev: usize, m: &Module, vaddr_mod: usize) -> usize {
    let firstbyte = vaddr_mod.wrapping_neg() & (m.align - 1);
    round_up(prev + m.memsz - firstbyte, m.align) + firstbyte
}

/// Assign module ids and static offsets to every object with PT_TLS, in
/// load order (the executable first). Errors name the object.
pub fn assign(l: &mut Linker, errs: &mut crate::link::Errors) {
    let mut lay = LAYOUT.lock();
    lay.modules.clear();
    lay.modules.push(None);
    let mut offset = 0usize;
    let mut align = 16usize;
    for d in l.dsos.iter_mut() {
        match module_of(d) {
            Ok(Some(mut m)) => {
                let vaddr_mod = d.tls.map_or(0, |p| p.p_vaddr as usize) & (m.align - 1);
                m.offset = place(offset, &m, vaddr_mod);
                offset = m.offset;
                align = align.max(m.align);
                d.tls_modid = lay.modules.len();
                d.tls_offset = m.offset;
                lay.modules.push(Some(m));
            }
            Ok(None) => {}
            Err(e) => errs.report(d.name(), format_args!("{}", e.message())),
        }
    }
    lay.surplus_used = offset;
    lay.static_size = round_up(offset + SURPLUS, align);
    lay.align = align;
}

/// DTV slots in a thread area: the modules known now, plus room; a module
/// dlopen adds past a thread's DTV takes __tls_get_addr's slow path.
fn dtv_slots(lay: &Layout) -> usize {
    lay.modules.len() + 16
}

/// Private TCB word where guardld keeps the size of the thread's area.
const TCB_AREA_SIZE: usize = 0x38;

/// Add the TLS module of an object loaded by dlopen: it goes into the static
/// surplus (so initial-exec access works too). Fails when the surplus is
/// exhausted. The image is copied into live threads by `init_module` once
/// the object is relocated (.tdata may hold relocated pointers).
pub fn add_module(d: &mut Dso) -> Result<(), TlsError> {
    let Some(mut m) = module_of(d)? else { return Ok(()) };
    let mut lay = LAYOUT.lock();
    let vaddr_mod = d.tls.map_or(0, |p| p.p_vaddr as usize) & (m.align - 1);
    if m.align > lay.align {
        return Err(TlsError::NoMemory);
    }
    // First a region an unloaded module gave back, then fresh surplus.
    if let Some(k) = lay.free.iter().position(|&(o, size)| fit_in(o, size, &m, vaddr_mod).is_some()) {
        let (o, size) = lay.free.swap_remove(k);
        m.offset = fit_in(o, size, &m, vaddr_mod).unwrap_or(o);
    } else {
        m.offset = place(lay.surplus_used, &m, vaddr_mod);
        if m.offset > lay.static_size {
            return Err(TlsError::NoMemory);
        }
        lay.surplus_used = m.offset;
    }
    d.tls_modid = lay.modules.len();
    d.tls_offset = m.offset;
    lay.modules.push(Some(m));
    Ok(())
}

/// Initialise module `id`'s block in every live thread.
pub fn init_module(id: usize) {
    let lay = LAYOUT.lock();
    let Some(m) = lay.modules.get(id).copied().flatten() else { return };
    for &tp in THREADS.lock().iter() {
        // SAFETY: the block lies in the surplus of a live thread's area,
        // reserved for this module; the image was checked inside the object.
        unsafe {
            core::ptr::write_bytes((tp - m.offset) as *mut u8, 0, m.memsz);
            core::ptr::copy_nonoverlapping(m.image as *const u8, (tp - m.offset) as *mut u8, m.filesz);
        }
    }
}

/// The offset at which module `m` fits inside the free region ending at
/// `o` below tp (`size` bytes), respecting its alignment; None if it does
/// not fit. tp is aligned to the layout's (larger) alignment.
fn fit_in(o: usize, size: usize, m: &Module, vaddr_mod: usize) -> Option<usize> {
    // Block start tp - off must be congruent to vaddr_mod modulo align.
    let want = vaddr_mod.wrapping_neg() & (m.align - 1);
    let off = o - ((o.wrapping_sub(want)) & (m.align - 1));
    (off + size >= o + m.memsz && off <= o).then_some(off)
}

/// Forget module `id` (its object is being unmapped): new threads must not
/// copy from the old image, and its surplus region can serve a later dlopen.
pub fn remove_module(id: usize) {
    let mut lay = LAYOUT.lock();
    if let Some(m) = lay.modules.get_mut(id).and_then(|s| s.take()) {
        lay.free.push((m.offset, m.memsz));
    }
}

/// Allocate one thread's TLS area and TCB; returns the thread pointer.
/// Blocks are zeroed; `init_blocks` copies the images in.
fn allocate(lay: &Layout) -> Result<usize, TlsError> {
    let ndtv = lay.modules.len();
    let size = lay.static_size + TCB_SIZE + dtv_slots(lay) * 8;
    // SAFETY: a fresh private anonymous mapping.
    let p = unsafe { rustix::mm::mmap_anonymous(core::ptr::null_mut(), size, ProtFlags::READ | ProtFlags::WRITE, MapFlags::PRIVATE) }
        .map_err(|_| TlsError::NoMemory)? as usize;
    let tp = p + lay.static_size;
    let dtv = tp + TCB_SIZE;
    // SAFETY: all inside the mapping just made.
    unsafe {
        *(tp as *mut usize) = tp;
        *((tp + 8) as *mut usize) = dtv;
        *((tp + TCB_AREA_SIZE) as *mut usize) = size;
        *((tp + 16) as *mut usize) = tp;
        *(dtv as *mut usize) = ndtv - 1;
        for (id, m) in lay.modules.iter().enumerate().skip(1) {
            *((dtv + id * 8) as *mut usize) = m.map_or(0, |m| tp - m.offset);
        }
    }
    Ok(tp)
}

/// Copy each module's .tdata into its block of the thread at `tp` (.tbss
/// is already zero). Called after relocation: images may hold relocated
/// pointers.
fn init_blocks(lay: &Layout, tp: usize) {
    for m in lay.modules.iter().flatten() {
        // SAFETY: the image was checked inside its object's segments; the
        // block lies inside this thread's TLS area.
        unsafe { core::ptr::copy_nonoverlapping(m.image as *const u8, (tp - m.offset) as *mut u8, m.filesz) };
    }
}

/// Set up the main thread: allocate, install the canary, point %fs at it.
pub fn setup_main(random: Option<usize>) -> Result<usize, TlsError> {
    let lay = LAYOUT.lock();
    let tp = allocate(&lay)?;
    if let Some(r) = random {
        // SAFETY: AT_RANDOM points at 16 random bytes the kernel provides.
        let (a, b) = unsafe { ((r as *const u64).read_unaligned(), ((r + 8) as *const u64).read_unaligned()) };
        // SAFETY: inside the TCB just allocated. Low byte zeroed as glibc
        // does, so string overflows cannot reproduce the canary.
        unsafe {
            *((tp + 0x28) as *mut u64) = a & !0xff;
            *((tp + 0x30) as *mut u64) = b;
        }
    }
    THREADS.lock().push(tp);
    // SAFETY: tp points at a TCB that lives for the process.
    let r = unsafe { crate::arch::syscall3(158, ARCH_SET_FS, tp, 0) };
    if r < 0 {
        return Err(TlsError::NoMemory);
    }
    Ok(tp)
}

/// Copy TLS images into the main thread's blocks (after relocation).
pub fn init_main(tp: usize) {
    init_blocks(&LAYOUT.lock(), tp);
}

/// `void *guardld_tls_alloc(void)`: a TLS area and TCB for a new thread,
/// blocks initialised; returns the thread pointer to pass as clone's tls
/// argument (CLONE_SETTLS), or NULL without memory. The canary is copied
/// from the calling thread.
#[unsafe(no_mangle)]
pub extern "C" fn guardld_tls_alloc() -> *mut c_void {
    let lay = LAYOUT.lock();
    let Ok(tp) = allocate(&lay) else { return core::ptr::null_mut() };
    init_blocks(&lay, tp);
    THREADS.lock().push(tp);
    // SAFETY: the calling thread's %fs points at a TCB set up by guardld.
    unsafe {
        let me = crate::arch::thread_pointer();
        if me != 0 {
            *((tp + 0x28) as *mut u64) = *((me + 0x28) as *const u64);
            *((tp + 0x30) as *mut u64) = *((me + 0x30) as *const u64);
        }
    }
    tp as *mut c_void
}

/// `void guardld_tls_free(void *tp)`: release an area from
/// guardld_tls_alloc once its thread has exited.
#[unsafe(no_mangle)]
pub extern "C" fn guardld_tls_free(tp: *mut c_void) {
    if tp.is_null() {
        return;
    }
    THREADS.lock().retain(|&t| t != tp as usize);
    let lay = LAYOUT.lock();
    // SAFETY: tp came from guardld_tls_alloc, which recorded the size.
    let size = unsafe { *((tp as usize + TCB_AREA_SIZE) as *const usize) };
    let base = tp as usize - lay.static_size;
    // SAFETY: tp came from guardld_tls_alloc with this layout.
    let _ = unsafe { rustix::mm::munmap(base as *mut c_void, size) };
}

/// `void *__tls_get_addr(tls_index *ti)`: the general-dynamic access path.
///
/// # Safety
/// `ti` points at {module, offset} from a DTPMOD64/DTPOFF64 pair.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __tls_get_addr(ti: *const [usize; 2]) -> *mut c_void {
    // SAFETY: %fs:8 holds this thread's DTV (set up by guardld); the module
    // id came from a relocation guardld applied.
    unsafe {
        let tp = crate::arch::thread_pointer();
        let dtv = *((tp + 8) as *const usize);
        let [module, offset] = *ti;
        if module <= *(dtv as *const usize) {
            return (*((dtv + module * 8) as *const usize) + offset) as *mut c_void;
        }
        // A module added by dlopen after this thread's DTV was filled: it
        // sits in static TLS at a known offset.
        let lay = LAYOUT.lock();
        match lay.modules.get(module).copied().flatten() {
            Some(m) => (tp - m.offset + offset) as *mut c_void,
            None => core::ptr::null_mut(),
        }
    }
}

/// The calling thread's thread pointer, or 0 before TLS is set up.
pub fn current_tp() -> usize {
    if THREADS.lock().is_empty() {
        return 0;
    }
    // SAFETY: once a thread list exists, %fs points at a guardld TCB.
    unsafe { crate::arch::thread_pointer() }
}
