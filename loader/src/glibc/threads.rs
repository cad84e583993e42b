//! Threads of a glibc program: the loader's side of libc's pthread_create,
//! thread exit and stack cache (glibc 2.36 elf/dl-tls.c `_dl_allocate_tls`,
//! `_dl_allocate_tls_init`, `_dl_deallocate_tls`, and dl-execstack.c's
//! `__nptl_change_stack_perm`).
//!
//! libc maps a thread's stack and places in it the `struct pthread` (the
//! TCB, at the thread pointer) with the static TLS below it:
//!
//! ```text
//!   area:  [ static TLS (Layout::static_size) ][ struct pthread ]
//!                                              ^ tp
//! ```
//! The loader gives the thread a DTV in glibc's format (`Dtv`), points
//! `tcbhead_t.dtv` at it, and copies every module's TLS image into its
//! block (bss zeroed); a cached stack comes back through `init` after libc
//! cleared its DTV. When libc frees the stack, `deallocate` takes the DTV
//! back. DTVs come from libc's calloc and go back to its free, as glibc's
//! (`exports::LibcWords`). Every DTV entry's `to_free` is NULL,
//! so libc's `free` of it frees nothing: static blocks live in the stack,
//! and the blocks of dynamic TLS modules (dlopen past the static surplus;
//! their entries stay 0 and `__tls_get_addr` finds them in `tls.rs`) are
//! guardld's, freed by `tls::thread_gone` when the TCB goes or is reused.
//! Offsets come from the generated layout
//! (`Plan`, resolved at start-up); the C entry points are in `exports.rs`,
//! which turns libc's pointers into the byte views these functions take.
//!
//! Lock order: `tls::LAYOUT`, then `THREADS`, then tcb.rs's thread list
//! (and tls.rs's dynamic modules).
//! `deallocate` holds LAYOUT too, so a dlopen filling a new module's block
//! in every thread (`tls::init_module`, under LAYOUT) never writes into a
//! stack libc is about to unmap.

use super::Build;
use super::exports::LibcWords;
use super::layout::{At, Missing, get, put};
use crate::sys::lock::SpinLock;
use crate::tls::{Layout, Module};
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::Ordering::Relaxed;

const WORD: usize = size_of::<usize>();
/// Words per DTV entry: {val, to_free} (glibc's `dtv_t`, checked against
/// the build by `prepare`).
const ENTRY: usize = 2;

/// The glibc fields threads use, looked up once at start-up.
#[derive(Clone, Copy, Debug)]
struct Plan {
    /// `tcbhead_t.dtv`, inside the TCB.
    dtv: At,
    /// `sizeof (struct pthread)`: the TCB's bytes from the thread pointer.
    pd_size: usize,
    stackblock: At,
    stackblock_size: At,
    guardsize: At,
}

static PLAN: SpinLock<Option<Plan>> = SpinLock::new(None);

fn missing(m: Missing) -> String {
    format!("{m}")
}

/// Resolve the fields threads need in the build's layout (start-up, with
/// the main thread; an error stops start-up with exit 127). `lay` is the
/// static TLS layout, TCB size included.
pub fn prepare(build: &Build, lay: &Layout) -> Result<(), String> {
    let plan = plan_for(build)?;
    if lay.tcb_size != plan.pd_size {
        return Err(format!("the TCB is {} bytes, struct pthread {}", lay.tcb_size, plan.pd_size));
    }
    *PLAN.lock() = Some(plan);
    Ok(())
}

fn plan_for(build: &Build) -> Result<Plan, String> {
    let tcb = build.structure("tcbhead_t").map_err(missing)?;
    let pd = build.structure("struct pthread").map_err(missing)?;
    let dtv_t = build.structure("dtv_t").map_err(missing)?;
    // guardld's DTV (tcb.rs, __tls_get_addr, `Dtv` here) is glibc's format.
    let (counter, val, to_free) = (dtv_t.at("counter").map_err(missing)?, dtv_t.at("pointer.val").map_err(missing)?, dtv_t.at("pointer.to_free").map_err(missing)?);
    if dtv_t.size != ENTRY * WORD || counter.offset != 0 || val.offset != 0 || to_free.offset != WORD {
        return Err(format!("dtv_t is not {{val, to_free}} in {} bytes", ENTRY * WORD));
    }
    let dtv = tcb.at("dtv").map_err(missing)?;
    // __tls_get_addr reads the DTV through tcb.rs's `Tcb` for every thread.
    if dtv.offset != core::mem::offset_of!(crate::tcb::Tcb, dtv) {
        return Err(format!("tcbhead_t.dtv at {:#x}, where guardld's TCB keeps it at {:#x}", dtv.offset, core::mem::offset_of!(crate::tcb::Tcb, dtv)));
    }
    let word = |a: At, what: &str| {
        let ok = a.size == WORD && a.bits.is_none() && a.offset + WORD <= pd.size;
        if ok { Ok(a) } else { Err(format!("{what} is not a word inside struct pthread")) }
    };
    Ok(Plan {
        dtv: word(dtv, "tcbhead_t.dtv")?,
        pd_size: pd.size,
        stackblock: word(pd.at("stackblock").map_err(missing)?, "stackblock")?,
        stackblock_size: word(pd.at("stackblock_size").map_err(missing)?, "stackblock_size")?,
        guardsize: word(pd.at("guardsize").map_err(missing)?, "guardsize")?,
    })
}

/// A layout problem found while a thread is made: libc cannot be given a
/// thread it would misuse.
fn fatal(what: core::fmt::Arguments<'_>) -> ! {
    crate::error::fatal("guardld", format_args!("glibc personality: {what}"))
}

fn plan() -> Plan {
    PLAN.lock().unwrap_or_else(|| fatal(format_args!("libc asked for thread TLS before the main thread was set up")))
}

/// One thread's DTV in glibc's format: entry -1 holds the number of module
/// entries, entry 0 the generation, entry k module k's block
/// {val, to_free}. Atomic words: libc writes it too, through the pointer
/// in the TCB (get_cached_stack clears it before `init`).
struct Dtv(LibcWords);

impl Dtv {
    /// A zeroed DTV with `slots` module entries, from libc's calloc as
    /// glibc's `allocate_dtv`; None when out of memory. Called outside
    /// guardld's locks: calloc may initialise malloc, which asks the
    /// loader for tunables.
    fn new(slots: usize) -> Option<Dtv> {
        let d = Dtv(LibcWords::calloc(slots.checked_add(2)?, ENTRY * WORD)?);
        d.0[0].store(slots, Relaxed);
        Some(d)
    }

    fn slots(&self) -> usize {
        self.0.len() / ENTRY - 2
    }

    /// What the TCB points at: entry 0.
    fn addr(&self) -> usize {
        self.0.addr() + ENTRY * WORD
    }

    /// Entry `k` (0 = generation; `k <= slots`).
    fn set(&self, k: usize, val: usize, to_free: usize) {
        let i = (k + 1) * ENTRY;
        self.0[i].store(val, Relaxed);
        self.0[i + 1].store(to_free, Relaxed);
    }

    /// Entries 0..=slots zeroed (the count stays).
    fn clear(&self) {
        self.0[ENTRY..].iter().for_each(|w| w.store(0, Relaxed));
    }
}

/// A TCB whose DTV guardld made.
struct Thread {
    dtv: Dtv,
    /// The TLS area itself, when guardld allocated it (`_dl_allocate_tls`
    /// with NULL): static TLS and TCB inside.
    storage: Option<Box<[u64]>>,
}

struct Threads {
    /// By thread pointer: libc's stacks, running or cached.
    live: BTreeMap<usize, Thread>,
}

static THREADS: SpinLock<Threads> = SpinLock::new(Threads { live: BTreeMap::new() });

/// The bytes of a thread's area below its thread pointer (static TLS) and
/// from it (struct pthread), for `exports.rs` to view libc's memory.
pub fn area_bounds() -> (usize, usize) {
    let p = plan();
    (crate::tls::LAYOUT.lock().static_size, p.pd_size)
}

/// `_dl_allocate_tls(tcb)`: a new DTV for the TCB at `tp`, whose `area`
/// (`area_bounds`, tp at `area[below]`) libc placed, then `init`. Returns
/// tp, or None when out of memory (libc's pthread_create then fails).
pub fn allocate(tp: usize, area: &mut [u8]) -> Option<usize> {
    setup(tp, area, true)
}

/// `_dl_allocate_tls_init(tcb, init_tls)`: the DTV (grown if modules were
/// added since it was made) and every module's block filled in again. As
/// glibc does for the base namespace (the only one guardld has), the blocks
/// are copied whatever `init_tls` says.
pub fn init(tp: usize, area: &mut [u8]) -> Option<usize> {
    setup(tp, area, false)
}

fn setup(tp: usize, area: &mut [u8], fresh: bool) -> Option<usize> {
    let plan = plan();
    // Dynamic TLS blocks of a thread that had this TCB before start again
    // from the images (glibc's get_cached_stack frees `to_free`).
    crate::tls::thread_gone(tp);
    // A DTV made outside the locks, and the one it replaces: libc's
    // calloc and free run with no guardld lock held.
    let mut made: Option<Dtv> = None;
    let mut replaced: Option<Dtv> = None;
    loop {
        let lay = crate::tls::LAYOUT.lock();
        let below = lay.static_size;
        if area.len() != below + plan.pd_size {
            fatal(format_args!("thread area of {} bytes, expected {}", area.len(), below + plan.pd_size));
        }
        let max_modid = lay.modules.len().saturating_sub(1);
        let mut t = THREADS.lock();
        let reuse = !fresh && t.live.get(&tp).is_some_and(|th| th.dtv.slots() >= max_modid);
        if !reuse {
            // glibc's allocate_dtv (fresh) or _dl_resize_dtv (too small);
            // made again if a dlopen added modules meanwhile.
            let Some(dtv) = made.take_if(|d| d.slots() >= max_modid) else {
                let slots = crate::tcb::dtv_slots(&lay);
                drop(t);
                drop(lay);
                // (One made before a dlopen added modules is freed here.)
                made = Some(Dtv::new(slots)?);
                continue;
            };
            if let Some(old) = t.live.insert(tp, Thread { dtv, storage: None }) {
                replaced = Some(old.dtv);
                if let Some(s) = old.storage {
                    // A TCB guardld allocated and libc re-allocated a DTV
                    // for: the storage stays where the thread uses it.
                    Box::leak(s);
                }
            }
            crate::tcb::adopt(tp);
        }
        let th = t.live.get(&tp)?;
        let dtv = &th.dtv;
        dtv.clear();
        let (blocks, tcb) = area.split_at_mut(below);
        if !put(tcb, plan.dtv, dtv.addr() as u64) {
            fatal(format_args!("tcbhead_t.dtv outside the TCB"));
        }
        fill_blocks(blocks, tp, &lay.modules, dtv);
        dtv.set(0, lay.generation, 0);
        break;
    }
    drop(replaced);
    Some(tp)
}

/// Each module's block of one thread: its image, bss zeroed, and its DTV
/// entry {tp - offset, NULL}. `blocks` ends at the thread pointer.
fn fill_blocks(blocks: &mut [u8], tp: usize, modules: &[Option<Module>], dtv: &Dtv) {
    let below = blocks.len();
    for (id, m) in modules.iter().enumerate().skip(1) {
        let Some(m) = m else { continue };
        let block = below.checked_sub(m.offset).and_then(|s| blocks.get_mut(s..s.checked_add(m.memsz)?));
        let Some(block) = block else {
            fatal(format_args!("TLS module {id} ({} bytes at tp-{:#x}) outside the static TLS ({below} bytes)", m.memsz, m.offset));
        };
        crate::tcb::copy_image(block, m);
        if id <= dtv.slots() {
            dtv.set(id, tp - m.offset, 0);
        }
    }
}

/// `_dl_deallocate_tls(tcb, dealloc_tcb)`: the DTV guardld made for `tp`
/// is taken back, and the area too when guardld allocated it and
/// `dealloc_tcb` says so. TCBs guardld did not make (the main thread's)
/// are left alone, as glibc leaves its initial DTV.
pub fn deallocate(tp: usize, dealloc_tcb: bool) {
    let th = {
        let _layout = crate::tls::LAYOUT.lock();
        let Some(th) = THREADS.lock().live.remove(&tp) else { return };
        crate::tcb::release(tp);
        th
    };
    // Its dynamic TLS blocks go back to their allocator outside the locks.
    crate::tls::thread_gone(tp);
    if let Some(s) = th.storage
        && !dealloc_tcb
    {
        // The caller keeps using the TCB: it is not guardld's to free.
        Box::leak(s);
    }
    // The DTV goes back to libc's free, outside the locks.
}

/// `_dl_allocate_tls(NULL)`: an area (static TLS and a zeroed TCB) from
/// guardld's allocator, set up as `allocate` sets up libc's; returns tp.
pub fn allocate_storage() -> Option<usize> {
    let plan = plan();
    let (below, align) = {
        let lay = crate::tls::LAYOUT.lock();
        (lay.static_size, lay.align)
    };
    let len = below + plan.pd_size;
    let words = (len + align).div_ceil(8);
    let mut v: Vec<u64> = Vec::new();
    v.try_reserve_exact(words).ok()?;
    v.resize(words, 0);
    let mut storage = v.into_boxed_slice();
    let base = storage.as_ptr() as usize;
    // The TCB at the layout's alignment (static_size is a multiple of it).
    let tp = (base + below).next_multiple_of(align);
    let start = tp - below - base;
    let area = crate::elf::pod::words_as_bytes_mut(&mut storage).get_mut(start..start + len)?;
    setup(tp, area, true)?;
    if let Some(th) = THREADS.lock().live.get_mut(&tp) {
        th.storage = Some(storage);
    }
    Some(tp)
}

/// What `__nptl_change_stack_perm` makes executable: the thread's stack
/// block above its guard (glibc's stack-grows-down case), as (start, len),
/// read from its `struct pthread` bytes. None if the fields are absurd.
pub fn stack_to_protect(pd: &[u8]) -> Option<(usize, usize)> {
    let p = plan();
    let field = |a| get(pd, a).map(|v| v as usize);
    let (block, size, guard) = (field(p.stackblock)?, field(p.stackblock_size)?, field(p.guardsize)?);
    Some((block.checked_add(guard)?, size.checked_sub(guard)?))
}

/// `sizeof (struct pthread)`, for `exports.rs`'s view of one.
pub fn pthread_size() -> usize {
    plan().pd_size
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan_of_build() -> Plan {
        plan_for(&super::super::debian12::BUILD).unwrap()
    }

    #[test]
    fn plan_comes_from_the_build() {
        let p = plan_of_build();
        assert_eq!(p.dtv.size, 8);
        assert!(p.stackblock.offset < p.pd_size && p.guardsize.offset < p.pd_size);
        assert_eq!(p.stackblock_size.offset, p.stackblock.offset + 8, "stackblock_size follows stackblock in 2.36");
    }

    #[test]
    fn dtv_has_glibc_shape() {
        super::super::exports::use_host_malloc();
        let d = Dtv::new(3).unwrap();
        assert_eq!(d.slots(), 3);
        assert_eq!(d.0.len(), 10);
        assert_eq!(d.0[0].load(Relaxed), 3, "entry -1 counts the module entries");
        d.set(0, 7, 0);
        d.set(3, 0x1000, 0x2000);
        assert_eq!((d.0[2].load(Relaxed), d.0[8].load(Relaxed), d.0[9].load(Relaxed)), (7, 0x1000, 0x2000));
        assert_eq!(d.addr(), d.0.addr() + 16);
        d.clear();
        assert!(d.0[2..].iter().all(|w| w.load(Relaxed) == 0));
        assert_eq!(d.0[0].load(Relaxed), 3);
    }

    #[test]
    fn blocks_get_image_and_zeroed_bss() {
        let image = [1u8, 2, 3, 4];
        let m = |offset, memsz| Some(Module { image: image.as_ptr() as usize, filesz: 4, memsz, align: 8, offset });
        let modules = [None, m(16, 8), None, m(40, 6)];
        let mut blocks = [0xeeu8; 48];
        let tp = 0x10_0000;
        super::super::exports::use_host_malloc();
        let d = Dtv::new(4).unwrap();
        fill_blocks(&mut blocks, tp, &modules, &d);
        assert_eq!(&blocks[32..40], &[1, 2, 3, 4, 0, 0, 0, 0]);
        assert_eq!(&blocks[8..14], &[1, 2, 3, 4, 0, 0]);
        assert_eq!(blocks[14], 0xee, "past the block: untouched");
        assert_eq!((d.0[4].load(Relaxed), d.0[5].load(Relaxed)), (tp - 16, 0), "module 1, to_free NULL");
        assert_eq!(d.0[6].load(Relaxed), 0, "module 2 is gone");
        assert_eq!(d.0[8].load(Relaxed), tp - 40);
    }

    #[test]
    fn stack_range_is_above_the_guard() {
        let p = plan_of_build();
        *PLAN.lock() = Some(p);
        let mut pd = alloc::vec![0u8; p.pd_size];
        assert!(put(&mut pd, p.stackblock, 0x7000_0000));
        assert!(put(&mut pd, p.stackblock_size, 0x80_0000));
        assert!(put(&mut pd, p.guardsize, 0x1000));
        assert_eq!(stack_to_protect(&pd), Some((0x7000_1000, 0x7f_f000)));
        assert!(put(&mut pd, p.guardsize, 0x90_0000));
        assert_eq!(stack_to_protect(&pd), None, "a guard larger than the stack");
        assert_eq!(stack_to_protect(&pd[..8]), None, "a short view");
    }
}
