//! Stage 6: thread-local storage, x86_64 variant II.
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
//! knows the layout would compute. The TCB (`tcb.rs`, which also writes
//! the areas) holds its own address at %fs:0 (the ABI's requirement), the
//! DTV pointer at %fs:8, and the stack canary at %fs:0x28 and pointer guard
//! at %fs:0x30 where glibc keeps them.

use crate::link::Registry;
use crate::link::dso::{Dso, TlsSlot};
use crate::sys::lock::SpinLock;
use alloc::vec::Vec;

/// Static TLS kept free for initial-exec libraries loaded later by dlopen
/// (glibc reserves a similar surplus).
pub const SURPLUS: usize = 1664;

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
    /// Static TLS kept free for initial-exec modules dlopen adds.
    pub surplus: usize,
    /// Where the surplus starts (offset below tp) for later IE modules.
    pub surplus_used: usize,
    /// Bytes of TCB above the thread pointer (and its alignment, at least
    /// `align`): guardld's own, or glibc's `struct pthread`.
    pub tcb_size: usize,
    /// The DTV generation new threads start with.
    pub generation: usize,
}

pub static LAYOUT: SpinLock<Layout> =
    SpinLock::new(Layout { free: Vec::new(), modules: Vec::new(), static_size: 0, align: 16, surplus: SURPLUS, surplus_used: 0, tcb_size: crate::tcb::TCB_SIZE, generation: 1 });

/// The TCB and static TLS of another C library's ABI (glibc's `struct
/// pthread`, its alignment and static surplus), set before `assign`.
pub fn set_abi(tcb_size: usize, tcb_align: usize, surplus: usize) {
    let mut lay = LAYOUT.lock();
    lay.tcb_size = tcb_size;
    lay.align = tcb_align.max(16);
    lay.surplus = surplus;
}


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
            TlsError::BadAlign => "PT_TLS: alignment not a power of two, or above 2 MiB",
            TlsError::ImageOutside => "PT_TLS: initialization image outside the loaded segments",
            TlsError::NoMemory => "cannot allocate thread-local storage",
        }
    }
}

/// The largest PT_TLS alignment accepted. glibc sets none; a thread area
/// is aligned to its largest module's alignment (`tcb::allocate`), so this
/// only keeps an absurd p_align from asking for absurd memory.
const MAX_ALIGN: u64 = 1 << 21;

/// `v` rounded up to a multiple of `a` (a power of two), wrapping as C's
/// size_t arithmetic does in glibc's offset rule.
fn round_up(v: usize, a: usize) -> usize {
    v.wrapping_add(a - 1) & !(a - 1)
}

/// Check one object's PT_TLS and describe its module (offset not yet set).
pub fn module_of(d: &Dso) -> Result<Option<Module>, TlsError> {
    let Some(p) = d.tls else { return Ok(None) };
    if p.p_filesz > p.p_memsz {
        return Err(TlsError::FileszGtMemsz);
    }
    let align = p.p_align.max(1);
    if !align.is_power_of_two() || align > MAX_ALIGN {
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
    round_up(prev.wrapping_add(m.memsz).wrapping_sub(firstbyte), m.align).wrapping_add(firstbyte)
}

/// Assign module ids and static offsets to every object with PT_TLS, in
/// load order (the executable first). Errors name the object.
pub fn assign(reg: &mut Registry, errs: &mut crate::link::Errors) {
    let mut lay = LAYOUT.lock();
    lay.modules.clear();
    lay.modules.push(None);
    let mut offset = 0usize;
    let mut align = lay.align;
    // glibc's _dl_determine_tlsoffset: the gap an alignment leaves below a
    // block (between `freetop` and `freebottom`) takes a later block that
    // fits in it, so offsets (libc's errno's among them) and the static
    // TLS used are glibc's.
    let (mut freetop, mut freebottom) = (0usize, 0usize);
    let objs: Vec<usize> = reg.iter().map(|(i, _)| i).collect();
    for i in objs {
        let d = &mut reg[i];
        match module_of(d) {
            Ok(Some(mut m)) => {
                let vaddr_mod = d.tls.map_or(0, |p| p.p_vaddr as usize) & (m.align - 1);
                align = align.max(m.align);
                let in_gap = (freebottom - freetop >= m.memsz).then(|| place(freetop, &m, vaddr_mod)).filter(|&off| off <= freebottom);
                if let Some(off) = in_gap {
                    freetop = off;
                    m.offset = off;
                } else {
                    let off = place(offset, &m, vaddr_mod);
                    if off > offset + m.memsz + (freebottom - freetop) {
                        freetop = offset;
                        freebottom = off - m.memsz;
                    }
                    offset = off;
                    m.offset = off;
                }
                d.tls_slot = Some(TlsSlot { modid: lay.modules.len(), offset: m.offset });
                lay.modules.push(Some(m));
            }
            Ok(None) => {}
            Err(e) => errs.report(d.name(), format_args!("{}", e.message())),
        }
    }
    lay.surplus_used = offset;
    lay.static_size = round_up(offset + lay.surplus, align);
    lay.align = align;
}

/// Add the TLS module of an object loaded by dlopen: with `wants_static`
/// it goes into the static surplus (so initial-exec access works too),
/// else, or when the surplus is exhausted, into dynamic TLS. The image is
/// copied into live threads by `init_module` once the object is relocated
/// (.tdata may hold relocated pointers).
pub fn add_module(d: &mut Dso, wants_static: bool) -> Result<(), TlsError> {
    let Some(mut m) = module_of(d)? else { return Ok(()) };
    let mut lay = LAYOUT.lock();
    let vaddr_mod = d.tls.map_or(0, |p| p.p_vaddr as usize) & (m.align - 1);
    if m.align > lay.align || !wants_static {
        add_dynamic(&mut lay, d, m);
        return Ok(());
    }
    // First a region an unloaded module gave back, then fresh surplus.
    if let Some(k) = lay.free.iter().position(|&(o, size)| fit_in(o, size, &m, vaddr_mod).is_some()) {
        let (o, size) = lay.free.swap_remove(k);
        m.offset = fit_in(o, size, &m, vaddr_mod).unwrap_or(o);
    } else {
        let offset = place(lay.surplus_used, &m, vaddr_mod);
        if offset > lay.static_size {
            // The surplus is full: dynamic TLS, as glibc.
            add_dynamic(&mut lay, d, m);
            return Ok(());
        }
        m.offset = offset;
        lay.surplus_used = m.offset;
    }
    d.tls_slot = Some(TlsSlot { modid: lay.modules.len(), offset: m.offset });
    lay.modules.push(Some(m));
    Ok(())
}

/// Initialise module `id`'s block in every live thread.
pub fn init_module(id: usize) {
    let lay = LAYOUT.lock();
    let Some(m) = lay.modules.get(id).copied().flatten() else { return };
    for tp in crate::tcb::threads() {
        crate::tcb::fill_block(tp, &m, true);
    }
}

/// Static offset of module `id` below the thread pointer, if it is loaded.
pub fn module_offset(id: usize) -> Option<usize> {
    LAYOUT.lock().modules.get(id).copied().flatten().map(|m| m.offset)
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
    TLSDESC_ARGS.lock().retain(|(m, _)| *m != id);
    let gone = {
        let mut dynamic = DYNAMIC.lock();
        dynamic.iter().position(|d| d.modid == id).map(|k| dynamic.swap_remove(k))
    };
    // Freed with no lock of the dynamic modules held.
    if let Some(d) = gone {
        for (_, block) in d.blocks {
            crate::tcb::free_dynamic_block(block, &d.module);
        }
    }
}

/// A TLS module dlopen added when the static surplus was full (or its
/// alignment too large for it): dynamic TLS, as glibc's. Each thread's
/// block is allocated on its first access, by `__tls_get_addr`'s slow
/// path (TLSDESC references reach it through `arch::tlsdesc_dynamic`); no
/// initial-exec access (TPOFF64) can reach it.
struct DynamicModule {
    modid: usize,
    /// The image; `offset` unused.
    module: Module,
    /// (thread pointer, block) of the threads that touched it.
    blocks: Vec<(usize, crate::tcb::DynBlock)>,
}

static DYNAMIC: SpinLock<Vec<DynamicModule>> = SpinLock::new(Vec::new());

/// The arguments of TLSDESC descriptors that point into dynamic TLS:
/// `__tls_get_addr`'s {module, offset}, kept by module id and freed when
/// the module goes (its descriptors go with its object).
static TLSDESC_ARGS: SpinLock<Vec<(usize, alloc::boxed::Box<[usize; 2]>)>> = SpinLock::new(Vec::new());

/// The argument of a TLSDESC descriptor for `offset` in dynamic module
/// `modid` (`arch::tlsdesc_dynamic` reads it).
pub fn tlsdesc_arg(modid: usize, offset: usize) -> usize {
    let arg = alloc::boxed::Box::new([modid, offset]);
    let at = &*arg as *const [usize; 2] as usize;
    TLSDESC_ARGS.lock().push((modid, arg));
    at
}

/// Give `d`'s module `m` a module id without static TLS (its `modules`
/// entry stays None: no thread area holds a block for it).
fn add_dynamic(lay: &mut Layout, d: &mut Dso, m: Module) {
    let modid = lay.modules.len();
    lay.modules.push(None);
    DYNAMIC.lock().push(DynamicModule { modid, module: m, blocks: Vec::new() });
    d.tls_slot = Some(TlsSlot { modid, offset: 0 });
}

/// Whether module `id` is in dynamic TLS.
pub fn is_dynamic(id: usize) -> bool {
    DYNAMIC.lock().iter().any(|d| d.modid == id)
}

/// The block of dynamic module `id` for the thread at `tp`, allocated
/// (image copied, the rest zero) on first use; None: not a dynamic
/// module, or no memory.
pub fn dynamic_block(tp: usize, id: usize) -> Option<usize> {
    let module = {
        let dynamic = DYNAMIC.lock();
        let d = dynamic.iter().find(|d| d.modid == id)?;
        if let Some((_, b)) = d.blocks.iter().find(|b| b.0 == tp) {
            return Some(b.addr);
        }
        d.module
    };
    // Allocated with no lock held: the program's calloc may be anybody's.
    let b = crate::tcb::new_dynamic_block(&module)?;
    let mut dynamic = DYNAMIC.lock();
    let d = dynamic.iter_mut().find(|d| d.modid == id);
    // The module was unloaded meanwhile, or a signal handler on this
    // thread made the block first: this one goes.
    let Some(d) = d.filter(|d| !d.blocks.iter().any(|b| b.0 == tp)) else {
        let made = dynamic.iter().find(|d| d.modid == id).and_then(|d| d.blocks.iter().find(|b| b.0 == tp)).map(|b| b.1.addr);
        drop(dynamic);
        crate::tcb::free_dynamic_block(b, &module);
        return made;
    };
    crate::tcb::fill_dynamic_block(&b, &d.module);
    d.blocks.push((tp, b));
    Some(b.addr)
}

/// The block of dynamic module `id` of the thread at `tp`, if that thread
/// has touched it (glibc's `_dl_tls_get_addr_soft`: never allocates).
pub fn dynamic_block_if_allocated(tp: usize, id: usize) -> Option<usize> {
    DYNAMIC.lock().iter().find(|d| d.modid == id)?.blocks.iter().find(|b| b.0 == tp).map(|b| b.1.addr)
}

/// The thread at `tp` has exited (or its area is being reused for a new
/// thread): free its dynamic TLS blocks, so a thread given the same
/// thread pointer later starts from the images again.
pub fn thread_gone(tp: usize) {
    let mut gone = Vec::new();
    for d in DYNAMIC.lock().iter_mut() {
        d.blocks.retain(|&(t, b)| {
            if t == tp {
                gone.push((b, d.module));
            }
            t != tp
        });
    }
    // Freed with no lock of the dynamic modules held.
    for (b, m) in gone {
        crate::tcb::free_dynamic_block(b, &m);
    }
}

/// Copy each module's .tdata into its block of the thread at `tp` (.tbss
/// is already zero). Called after relocation: images may hold relocated
/// pointers.
fn init_blocks(lay: &Layout, tp: usize) {
    for m in lay.modules.iter().flatten() {
        crate::tcb::fill_block(tp, m, false);
    }
}

/// Set up the main thread: allocate its area with the canary and pointer
/// guard from AT_RANDOM, and point %fs at it.
pub fn setup_main(random: Option<[u8; 16]>) -> Result<usize, TlsError> {
    let lay = LAYOUT.lock();
    // The canary's low byte is zeroed as glibc does, so string overflows
    // cannot reproduce it.
    let guards = random.map_or((0, 0), |r| {
        let word = |b: &[u8]| b.iter().rev().fold(0u64, |v, &x| v << 8 | x as u64);
        (word(&r[..8]) & !0xff, word(&r[8..]))
    });
    let tp = crate::tcb::allocate(&lay, guards)?;
    crate::tcb::install_main(tp)?;
    Ok(tp)
}

/// Copy TLS images into the main thread's blocks (after relocation). A
/// glibc program's libthread_db also finds the modules' link maps (made
/// since `setup_main`) in glibc's slotinfo list.
pub fn init_main(tp: usize) {
    let lay = LAYOUT.lock();
    init_blocks(&lay, tp);
    if let Err(e) = crate::glibc::state::publish_tls_slotinfo(lay.modules.len()) {
        crate::error::fatal("guardld", format_args!("glibc personality: {e}"));
    }
}

/// A TLS area for a new thread, blocks initialised, guards copied from the
/// calling thread; returns its thread pointer.
pub fn alloc_thread() -> Result<usize, TlsError> {
    let lay = LAYOUT.lock();
    let tp = crate::tcb::allocate(&lay, crate::tcb::current_guards())?;
    init_blocks(&lay, tp);
    Ok(tp)
}

/// Release an area from `alloc_thread` once its thread has exited.
/// Unknown pointers are ignored.
pub fn free_thread(tp: usize) {
    crate::tcb::free(&LAYOUT.lock(), tp);
}

/// The calling thread's thread pointer, or 0 before TLS is set up.
pub fn current_tp() -> usize {
    crate::tcb::current()
}
