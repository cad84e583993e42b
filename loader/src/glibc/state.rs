//! The glibc personality's process state: `_rtld_global(_ro)` filled at
//! start-up as glibc's ld.so fills them, a glibc `struct link_map` for
//! every object (in `_dl_ns[0]` and `_r_debug`), the main thread's
//! `struct pthread`, and the answers to libc's calls (`exports.rs`).
//! Every offset comes from the build's generated layout (`layout.rs`).

use super::layout::{At, Missing, get, put};
use super::tunables::Tunables;
use super::{Build, Struct, exports};
use crate::elf::pod::{Dyn, Phdr, words_as_bytes_mut};
use crate::link::Registry;
use crate::link::dso::Dso;
use crate::sys::lock::SpinLock;
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

const PT_LOAD: u32 = 1;
const PT_GNU_EH_FRAME: u32 = 0x6474_e550;
const PT_GNU_STACK: u32 = 0x6474_e551;
const PF_X: u32 = 1;
const DT_NULL: i64 = 0;
/// The tags whose d_ptr glibc's elf_get_dynamic_info relocates in place
/// (DT_HASH, DT_PLTGOT, DT_STRTAB, DT_SYMTAB, DT_RELA, DT_JMPREL, DT_RELR,
/// DT_VERSYM, DT_GNU_HASH): libc's dladdr reads them as addresses.
const ADJUSTED: [i64; 9] = [4, 3, 5, 6, 7, 23, 36, 0x6fff_fff0, 0x6fff_fef5];

/// One object's glibc link map.
struct Map {
    /// The object's registry index (None: the vDSO, which the kernel
    /// mapped and the personality keeps itself).
    dso: Option<usize>,
    /// Address of its `struct link_map`.
    lm: usize,
    /// The map is `_rtld_global._dl_rtld_map` (guardld's own).
    in_r: bool,
    start: usize,
    end: usize,
    eh_frame: usize,
    tls_offset: Option<usize>,
    /// `l_searchlist.r_list`: the program's is the global scope, a dlopen
    /// root's its closure; None for the others (glibc's NULL).
    searchlist: Option<Box<[u64]>>,
    /// The memory of the link map and what it points to (names, scope
    /// arrays); guardld's own map lives in `_rtld_global`.
    _mem: Vec<Box<[u64]>>,
}

/// libc.so.6's functions the personality calls (addresses; 0: absent).
#[derive(Clone, Copy, Default)]
pub struct LibcFns {
    /// `int _dl_catch_error(const char **, const char **, bool *, void (*)(void *), void *)`.
    pub catch_error: usize,
    /// `void _dl_signal_error(int, const char *, const char *, const char *)`.
    pub signal_error: usize,
    /// `int pthread_mutex_lock(pthread_mutex_t *)` and its unlock.
    pub mutex_lock: usize,
    pub mutex_unlock: usize,
    /// `int __register_atfork(void (*)(void), void (*)(void), void (*)(void), void *)`.
    pub register_atfork: usize,
}

pub struct State {
    pub build: &'static Build,
    pub tunables: Tunables,
    r: &'static mut [u8],
    ro: &'static mut [u8],
    lm: &'static Struct,
    lmf: LmAt,
    /// Offset of the loader's own link map in `_rtld_global`.
    rtld_map: usize,
    /// In `_dl_ns[0]` list order.
    maps: Vec<Map>,
    /// Global searchlist arrays replaced by dlopen/dlclose: kept, since
    /// libc may be reading one (glibc frees them later, through
    /// `_dl_scope_free_list`).
    retired: Vec<Box<[u64]>>,
    libc: LibcFns,
    /// The vDSO (AT_SYSINFO_EHDR), read where the kernel mapped it; its
    /// link map is second on the list, as in glibc.
    vdso: Option<Box<Dso>>,
    /// `_rtld_global._dl_tls_dtv_slotinfo_list`'s memory.
    slotinfo: Option<Box<[u64]>>,
}

static STATE: SpinLock<Option<State>> = SpinLock::new(None);

/// Link map index by registry index (`State::positions`).
struct Positions(alloc::collections::BTreeMap<usize, usize>);

impl Positions {
    fn get(&self, i: usize) -> Option<&usize> {
        self.0.get(&i)
    }
}
/// What glibc's tunables_init does to an AT_SECURE process's environment,
/// one edit per entry, applied by start-up before any object code runs.
static ENV_EDITS: SpinLock<Vec<super::tunables::EnvEdit>> = SpinLock::new(Vec::new());

/// The environment edits `begin` decided (once).
pub fn take_env_edits() -> Vec<super::tunables::EnvEdit> {
    core::mem::take(&mut *ENV_EDITS.lock())
}

/// glibc's process_envvars in an AT_SECURE process: every entry of a
/// variable in the build's UNSECURE_ENVVARS goes (unsetenv removes them
/// all), after the tunables' own edits.
fn unset_unsecure(build: &Build, environ: &[&[u8]], edits: &mut [super::tunables::EnvEdit]) {
    for (e, edit) in environ.iter().zip(edits.iter_mut()) {
        if super::is_unsecure(build.unsecure_envvars, e) {
            *edit = super::tunables::EnvEdit::Remove;
        }
    }
}

/// What start-up hands the personality from the kernel's stack.
pub struct Start<'a> {
    pub aux: &'a dyn Fn(usize) -> Option<usize>,
    /// Address of the auxiliary vector.
    pub auxv: usize,
    pub stack_end: usize,
    pub argv: usize,
    pub secure: bool,
    pub platform: Option<&'a [u8]>,
    /// The environment strings (GLIBC_TUNABLES and the tunables' aliases).
    pub environ: &'a [&'static [u8]],
}

/// Whether the glibc personality runs this process.
pub fn active() -> bool {
    STATE.lock().is_some()
}

fn at(s: &Struct, name: &'static str) -> Result<At, String> {
    s.at(name).map_err(|e: Missing| alloc::format!("{e}"))
}

/// Write a field; a value that does not fit is a layout mismatch.
fn set(buf: &mut [u8], s: &Struct, name: &'static str, v: u64) -> Result<(), String> {
    let a = at(s, name)?;
    if put(buf, a, v) { Ok(()) } else { Err(alloc::format!("glibc layout table: {}.{} cannot hold {v:#x}", s.name, name)) }
}

/// Write a field resolved beforehand (`LmAt`).
fn put_at(buf: &mut [u8], a: At, v: u64) -> Result<(), String> {
    if put(buf, a, v) { Ok(()) } else { Err(alloc::format!("glibc layout table: the link map field at {:#x} cannot hold {v:#x}", a.offset)) }
}

/// A structure's fields, resolved once from the build's generated layout
/// (by their generated names) instead of on every write.
macro_rules! resolved_fields {
    ($(#[$doc:meta])* $name:ident of $st:literal { $($f:ident: $path:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy)]
        struct $name { $($f: At),* }
        impl $name {
            fn of(b: &Build) -> Result<$name, String> {
                let s = structure(b, $st)?;
                Ok($name { $($f: at(s, $path)?),* })
            }
        }
    };
}

resolved_fields! {
    /// The `struct link_map` fields written for every object (start-up
    /// writes about fifty per object; with hundreds of objects, looking
    /// each up by name showed in the profile).
    LmAt of "struct link_map" {
        addr: "l_addr", name: "l_name", ld: "l_ld", next: "l_next", prev: "l_prev", real: "l_real",
        libname: "l_libname", phdr: "l_phdr", phnum: "l_phnum", map_start: "l_map_start", map_end: "l_map_end",
        text_end: "l_text_end", tls_modid: "l_tls_modid", tls_offset: "l_tls_offset", origin: "l_origin",
        tls_blocksize: "l_tls_blocksize", tls_align: "l_tls_align", tls_firstbyte_offset: "l_tls_firstbyte_offset",
        tls_initimage: "l_tls_initimage", tls_initimage_size: "l_tls_initimage_size", ty: "l_type",
        relocated: "l_relocated", init_called: "l_init_called", contiguous: "l_contiguous", global: "l_global",
        relro_addr: "l_relro_addr", relro_size: "l_relro_size", file_dev: "l_file_id.dev", file_ino: "l_file_id.ino",
        nbuckets: "l_nbuckets", gnu_bitmask_idxbits: "l_gnu_bitmask_idxbits", gnu_shift: "l_gnu_shift",
        gnu_bitmask: "l_gnu_bitmask", gnu_buckets: "l_gnu_buckets", gnu_chain_zero: "l_gnu_chain_zero",
        buckets: "l_buckets", chain: "l_chain", info: "l_info", searchlist: "l_searchlist",
        searchlist_list: "l_searchlist.r_list", searchlist_n: "l_searchlist.r_nlist", scope_mem: "l_scope_mem",
        local_scope: "l_local_scope", scope_max: "l_scope_max", scope: "l_scope", loader: "l_loader",
    }
}

/// Stage 3 for a glibc program: the globals as glibc's ld.so has them
/// before it maps anything (its static initializers, the auxiliary
/// vector, tunables, CPU features).
pub fn begin(build: &'static Build, st: &Start<'_>) -> Result<(), String> {
    let g = exports::take_globals().ok_or("glibc globals already in use")?;
    let (r, ro) = (g.r, g.ro);
    let rs = build.structure("struct rtld_global").map_err(|e| alloc::format!("{e}"))?;
    let ros = build.structure("struct rtld_global_ro").map_err(|e| alloc::format!("{e}"))?;
    if r.len() < rs.size || ro.len() < ros.size {
        return Err("glibc globals smaller than the build's".into());
    }
    for (buf, init) in [(&mut *r, build.r_init), (&mut *ro, build.ro_init)] {
        for &(off, v) in init {
            let ok = buf.get_mut(off..off + 8).map(|w| w.copy_from_slice(&v.to_le_bytes())).is_some();
            if !ok {
                return Err("glibc initializer outside its structure".into());
            }
        }
    }
    let aux = st.aux;
    use linux_raw_sys::auxvec as k;
    let a = |key: u32| aux(key as usize);
    set(ro, ros, "_dl_pagesize", a(k::AT_PAGESZ).ok_or("no AT_PAGESZ in the auxiliary vector")? as u64)?;
    set(ro, ros, "_dl_clktck", a(k::AT_CLKTCK).unwrap_or(0) as u64)?;
    set(ro, ros, "_dl_hwcap", a(k::AT_HWCAP).unwrap_or(0) as u64)?;
    set(ro, ros, "_dl_hwcap2", a(k::AT_HWCAP2).unwrap_or(0) as u64)?;
    set(ro, ros, "_dl_auxv", st.auxv as u64)?;
    set(ro, ros, "_dl_sysinfo_dso", a(k::AT_SYSINFO_EHDR).unwrap_or(0) as u64)?;
    if let Some(m) = a(k::AT_MINSIGSTKSZ) {
        set(ro, ros, "_dl_minsigstacksize", m as u64)?;
    }
    if let Some(p) = st.platform {
        set(ro, ros, "_dl_platform", p.as_ptr() as u64)?;
        set(ro, ros, "_dl_platformlen", p.len() as u64)?;
    }
    // Functions libc calls through RO.
    // (`_dl_catch_error` is libc's own, set once libc is mapped:
    // `build_maps`.)
    let fns: [(&'static str, usize); 9] = [
        ("_dl_debug_printf", crate::arch::debug_printf as *const () as usize),
        ("_dl_mcount", exports::_dl_mcount as *const () as usize),
        ("_dl_lookup_symbol_x", exports::lookup_symbol_x as *const () as usize),
        ("_dl_open", exports::dl_open as *const () as usize),
        ("_dl_close", exports::dl_close as *const () as usize),
        ("_dl_error_free", exports::error_free as *const () as usize),
        ("_dl_tls_get_addr_soft", exports::tls_get_addr_soft as *const () as usize),
        ("_dl_libc_freeres", exports::libc_freeres as *const () as usize),
        ("_dl_find_object", exports::_dl_find_object as *const () as usize),
    ];
    for (name, f) in fns {
        set(ro, ros, name, f as u64)?;
    }
    // rtld_active(): libc asks whether RO's init_all_dirs is set, and
    // __libc_freeres frees R's all_dirs list up to it: equal, non-NULL.
    let dirs = Box::leak(Box::new([0u64; 4])).as_ptr() as u64;
    set(ro, ros, "_dl_init_all_dirs", dirs)?;
    set(r, rs, "_dl_all_dirs", dirs)?;
    // The stack lists (empty circular lists until the main thread joins).
    let lh = structure(build, "struct list_head")?;
    let (next, prev) = (at(lh, "next")?, at(lh, "prev")?);
    for list in ["_dl_stack_used", "_dl_stack_user", "_dl_stack_cache"] {
        let a = at(rs, list)?;
        let head = (exports::r_addr() + a.offset) as u64;
        let ok = a.member(next).is_some_and(|n| put(r, n, head)) && a.member(prev).is_some_and(|p| put(r, p, head));
        if !ok {
            return Err(alloc::format!("glibc layout table: _rtld_global.{list} is not a list_head"));
        }
    }
    exports::set_start(st.stack_end, st.argv, st.secure);

    let (mut tunables, mut edits) = Tunables::from_environ(build, st.environ, st.secure, super::suid_debug(st.secure));
    if st.secure {
        unset_unsecure(build, st.environ, &mut edits);
    }
    *ENV_EDITS.lock() = edits;
    let cpu = at(ros, "_dl_x86_cpu_features")?;
    let init = super::cpu::init(build, &mut ro[cpu.offset..cpu.offset + cpu.size], &mut tunables).map_err(|e| alloc::format!("{e}"))?;
    set(ro, ros, "_dl_hwcap", init.hwcap)?;
    if let Some(p) = init.platform {
        set(ro, ros, "_dl_platform", p.as_ptr() as u64)?;
        set(ro, ros, "_dl_platformlen", (p.len() - 1) as u64)?;
    }
    let lm = build.structure("struct link_map").map_err(|e| alloc::format!("{e}"))?;
    *STATE.lock() = Some(State { build, tunables, r, ro, lm, lmf: LmAt::of(build)?, rtld_map: at(structure(build, "struct rtld_global")?, "_dl_rtld_map")?.offset, maps: Vec::new(), retired: Vec::new(), libc: LibcFns::default(), vdso: None, slotinfo: None });
    Ok(())
}

/// The TLS ABI a glibc program needs: `struct pthread` as the TCB.
pub fn tls_abi(build: &Build) -> Result<(usize, usize), String> {
    let pd = build.structure("struct pthread").map_err(|e| alloc::format!("{e}"))?;
    let align = build.constant("PTHREAD_ALIGN").map_err(|e| alloc::format!("{e}"))? as usize;
    Ok((pd.size, align))
}

/// glibc's `__tls_init_tp` for the main thread (TCB made by tcb.rs), and
/// RO's and R's static TLS fields.
pub fn init_main_thread(lay: &crate::tls::Layout, tp: usize) -> Result<(), String> {
    let mut g = STATE.lock();
    let s = g.as_mut().ok_or("no glibc state")?;
    let b = s.build;
    let pds = b.structure("struct pthread").map_err(|e| alloc::format!("{e}"))?;
    let pd = crate::tcb::main_tcb_bytes(lay).ok_or("no main thread")?;
    let field = |name| at(pds, name);
    // The thread joins GL(dl_stack_user).
    let user = at(b.structure("struct rtld_global").map_err(|e| alloc::format!("{e}"))?, "_dl_stack_user")?;
    let head = exports::r_addr() + user.offset;
    let list = tp + field("list")?.offset;
    let lh = b.structure("struct list_head").map_err(|e| alloc::format!("{e}"))?;
    let (next, prev) = (at(lh, "next")?, at(lh, "prev")?);
    let pd_list = field("list")?;
    let w = |buf: &mut [u8], a: At, m: At, v: usize| a.member(m).is_some_and(|f| put(buf, f, v as u64));
    let ok = w(pd, pd_list, next, head) && w(pd, pd_list, prev, head) && w(s.r, user, next, list) && w(s.r, user, prev, list);
    if !ok {
        return Err("glibc thread list out of bounds".into());
    }
    let tid_at = tp + field("tid")?.offset;
    set(pd, pds, "specific.0", (tp + field("specific_1stblock")?.offset) as u64).or_else(|_| {
        let sp = field("specific")?;
        // `specific` is an array of pointers: its first element.
        if put(pd, word(sp.offset), (tp + field("specific_1stblock")?.offset) as u64) { Ok(()) } else { Err(String::from("specific")) }
    })?;
    set(pd, pds, "user_stack", 1)?;
    // The robust list: futex_offset is __lock's distance from __list.
    let m = b.structure("pthread_mutex_t").map_err(|e| alloc::format!("{e}"))?;
    let futex_offset = at(m, "__data.__lock")?.offset as i64 - at(m, "__data.__list")?.offset as i64;
    let rh = field("robust_head")?;
    let rh_addr = tp + rh.offset;
    set(pd, pds, "robust_prev", rh_addr as u64)?;
    set(pd, pds, "robust_head.list", rh_addr as u64)?;
    set(pd, pds, "robust_head.futex_offset", futex_offset as u64)?;
    // rseq, unless glibc.pthread.rseq=0; __rseq_size keeps the build's
    // initial value when registered, 0 otherwise.
    let area = field("rseq_area")?;
    let want = s.tunables.value("glibc.pthread.rseq").is_none_or(|v| v != 0);
    let (tid, registered) = crate::tcb::register_main_with_kernel(tid_at, (rh_addr, rh.size), want.then_some((tp + area.offset, area.size, RSEQ_SIG)));
    set(pd, pds, "tid", tid as u64)?;
    if !registered {
        set(pd, pds, "rseq_area.cpu_id", RSEQ_CPU_ID_REGISTRATION_FAILED as u32 as u64)?;
    }
    // glibc reports the size of the original rseq ABI (up to and including
    // `flags`, Debian's backport of glibc bug 31965), not the area's.
    let flags = field("rseq_area.flags")?;
    let used = (flags.offset + flags.size - area.offset) as u32;
    exports::set_rseq(area.offset as isize, if registered { used } else { 0 });
    set(pd, pds, "stackblock_size", exports::__libc_stack_end.load(core::sync::atomic::Ordering::Relaxed) as u64)?;

    let ros = b.structure("struct rtld_global_ro").map_err(|e| alloc::format!("{e}"))?;
    let rs = b.structure("struct rtld_global").map_err(|e| alloc::format!("{e}"))?;
    set(s.ro, ros, "_dl_tls_static_size", (lay.static_size + lay.tcb_size) as u64)?;
    set(s.ro, ros, "_dl_tls_static_align", lay.align as u64)?;
    set(s.ro, ros, "_dl_tls_static_surplus", lay.surplus as u64)?;
    let n = lay.modules.len().saturating_sub(1) as u64;
    set(s.r, rs, "_dl_tls_max_dtv_idx", n)?;
    set(s.r, rs, "_dl_tls_static_nelem", n)?;
    set(s.r, rs, "_dl_tls_static_used", lay.surplus_used as u64)?;
    set(s.r, rs, "_dl_tls_generation", lay.generation as u64)?;
    set(s.r, rs, "_dl_initial_dtv", get(pd, at(b.structure("tcbhead_t").map_err(|e| alloc::format!("{e}"))?, "dtv")?).unwrap_or(0))?;
    // pthread_create's TLS (glibc/threads.rs): its fields, checked now.
    super::threads::prepare(b, lay)
}

/// x86's rseq signature (the kernel's and librseq's `RSEQ_SIG`): the word
/// before an abort handler. glibc registers with it.
const RSEQ_SIG: u32 = 0x5305_3053;
/// linux/rseq.h: `RSEQ_CPU_ID_REGISTRATION_FAILED`.
const RSEQ_CPU_ID_REGISTRATION_FAILED: i32 = -2;

/// An object found by address.
pub struct Found {
    pub link_map: usize,
    pub start: usize,
    pub end: usize,
    pub eh_frame: usize,
}

resolved_fields! {
    /// `struct dl_find_object`'s fields.
    DlfoAt of "struct dl_find_object" {
        map_start: "dlfo_map_start", map_end: "dlfo_map_end", link_map: "dlfo_link_map", eh_frame: "dlfo_eh_frame",
    }
}

/// What `_dl_find_object` answers from: every object's range, sorted by
/// start, with the layout of the structure it fills. A table is published
/// whole whenever the object list changes and never changed or freed
/// afterwards (exports.rs): libgcc asks for every frame it unwinds, from
/// any thread and from signal handlers (glibc documents the call as
/// async-signal-safe), so it takes no lock.
pub struct FindTable {
    size: usize,
    at: DlfoAt,
    /// (start, end, link map, PT_GNU_EH_FRAME address).
    objects: Vec<(usize, usize, usize, usize)>,
}

impl FindTable {
    /// The object whose mapping contains `addr`.
    pub fn find(&self, addr: usize) -> Option<Found> {
        let k = self.objects.partition_point(|o| o.0 <= addr).checked_sub(1)?;
        let &(start, end, link_map, eh_frame) = self.objects.get(k)?;
        (addr < end).then_some(Found { link_map, start, end, eh_frame })
    }

    /// `sizeof (struct dl_find_object)` of the build.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Fill a `struct dl_find_object` for `f`.
    pub fn fill(&self, out: &mut [u8], f: &Found) -> bool {
        out.fill(0);
        [(self.at.map_start, f.start), (self.at.map_end, f.end), (self.at.link_map, f.link_map), (self.at.eh_frame, f.eh_frame)]
            .into_iter()
            .all(|(a, v)| put(out, a, v as u64))
    }
}

/// The object whose mapping contains `addr`.
pub fn find_object(addr: usize) -> Option<Found> {
    exports::with_find_table(|t| t.find(addr)).flatten()
}

/// The static TLS offset (below the thread pointer) of the object whose
/// link map is at `lm`.
pub fn tls_offset_of(lm: usize) -> Option<usize> {
    STATE.lock().as_ref()?.maps.iter().find(|m| m.lm == lm)?.tls_offset
}

/// A tunable's value for `__tunable_get_val`.
pub fn tunable(id: usize) -> Option<super::tunables::TunableVal> {
    STATE.lock().as_ref()?.tunables.get_val(id)
}

/// Address of RO's `struct cpu_features`.
pub fn cpu_features_addr() -> Option<usize> {
    let g = STATE.lock();
    let s = g.as_ref()?;
    let a = s.build.structure("struct rtld_global_ro").ok()?.at("_dl_x86_cpu_features").ok()?;
    Some(exports::ro_addr() + a.offset)
}

/// RO's (static TLS size, alignment).
pub fn tls_static_info() -> (usize, usize) {
    let g = STATE.lock();
    let Some(s) = g.as_ref() else { return (0, 0) };
    let Ok(ros) = s.build.structure("struct rtld_global_ro") else { return (0, 0) };
    let v = |n| ros.at(n).ok().and_then(|a| get(s.ro, a)).unwrap_or(0) as usize;
    (v("_dl_tls_static_size"), v("_dl_tls_static_align"))
}

/// The program headers of an object, through its bounds-checked image.
fn phdrs(d: &Dso) -> &'static [Phdr] {
    let vaddr = d.phdr_addr.wrapping_sub(d.img.bias) as u64;
    d.img.table::<Phdr>(vaddr, d.phnum as u64).unwrap_or(&[])
}

/// (start, end, contiguous) of an object's mapping.
fn extent(d: &Dso, page: u64) -> (usize, usize, bool) {
    let loads = phdrs(d).iter().filter(|p| p.p_type == PT_LOAD);
    let (mut lo, mut hi, mut contiguous) = (u64::MAX, 0u64, true);
    for p in loads {
        let start = p.p_vaddr & !(page - 1);
        if hi != 0 && start != (hi + page - 1) & !(page - 1) {
            contiguous = false;
        }
        lo = lo.min(start);
        hi = hi.max(p.p_vaddr.saturating_add(p.p_memsz));
    }
    // glibc's l_map_end is the end of the last segment's memory, not of
    // its page (`allocend`): dladdr and _dl_find_object stop there. An
    // object guardld mapped is one span (its padding covered).
    if let Some((start, _)) = d.span() {
        return (start, if lo == u64::MAX { start } else { d.img.addr(hi) }, true);
    }
    if lo == u64::MAX {
        return (0, 0, false);
    }
    (d.img.addr(lo), d.img.addr(hi), contiguous)
}

fn structure(b: &Build, name: &'static str) -> Result<&'static Struct, String> {
    b.structure(name).map_err(|e| alloc::format!("{e}"))
}

fn constant(b: &Build, name: &'static str) -> Result<u64, String> {
    b.constant(name).map(|v| v as u64).map_err(|e| alloc::format!("{e}"))
}

/// A pointer-sized word at `offset` of a buffer.
fn word(offset: usize) -> At {
    At { offset, size: 8, bits: None }
}

impl State {
    /// The bytes of link map `k`.
    fn map_buf(&mut self, k: usize) -> Result<&mut [u8], String> {
        let size = self.lm.size;
        let own = self.rtld_map;
        let m = self.maps.get_mut(k).ok_or("no such link map")?;
        let buf = if m.in_r { self.r.get_mut(own..own + size) } else { m._mem.first_mut().and_then(|w| words_as_bytes_mut(w).get_mut(..size)) };
        buf.ok_or_else(|| String::from("link map outside its memory"))
    }

    /// Write field `name` of link map `k`.
    fn set_lm(&mut self, k: usize, name: &'static str, v: u64) -> Result<(), String> {
        let lm = self.lm;
        set(self.map_buf(k)?, lm, name, v)
    }

    fn get_lm(&mut self, k: usize, name: &'static str) -> Result<u64, String> {
        let a = at(self.lm, name)?;
        get(self.map_buf(k)?, a).ok_or_else(|| String::from("link map field outside its memory"))
    }

    fn index_of_lm(&self, lm: usize) -> Option<usize> {
        self.maps.iter().position(|m| m.lm == lm)
    }

    fn index_of_dso(&self, dso: usize) -> Option<usize> {
        self.maps.iter().position(|m| m.dso == Some(dso))
    }

    /// Link map index by registry index (for lookups over whole lists:
    /// `index_of_dso` per element made a dlopen quadratic in the objects).
    /// A map, not an array by registry index: indices keep growing over a
    /// long run of dlopen/dlclose while the live maps stay few.
    fn positions(&self) -> Positions {
        Positions(self.maps.iter().enumerate().filter_map(|(k, m)| Some((m.dso?, k))).collect())
    }

    /// The address of link map `k`'s `l_searchlist`.
    fn searchlist_addr(&self, k: usize) -> Result<usize, String> {
        Ok(self.maps.get(k).ok_or("no such link map")?.lm + self.lmf.searchlist.offset)
    }

    /// Give link map `k` the searchlist `list` (link map addresses).
    fn set_searchlist(&mut self, k: usize, list: Vec<u64>) -> Result<(), String> {
        let mut arr = list.into_boxed_slice();
        let f = self.lmf;
        let buf = self.map_buf(k)?;
        put_at(buf, f.searchlist_list, arr.as_mut_ptr() as u64)?;
        put_at(buf, f.searchlist_n, arr.len() as u64)?;
        if let Some(old) = self.maps[k].searchlist.replace(arr) {
            self.retired.push(old);
        }
        Ok(())
    }

    /// Chain the maps in list order (`l_next`, `l_prev`) and publish the
    /// list in `_dl_ns[0]`.
    fn relink(&mut self) -> Result<(), String> {
        self.relink_from(0)
    }

    /// `relink` for a list whose maps before `from` are unchanged (new maps
    /// appended): only the one before them and the new ones are written.
    fn relink_from(&mut self, from: usize) -> Result<(), String> {
        let n = self.maps.len();
        for k in from.saturating_sub(1)..n {
            let prev = if k == 0 { 0 } else { self.maps[k - 1].lm };
            let next = if k + 1 == n { 0 } else { self.maps[k + 1].lm };
            let f = self.lmf;
            let buf = self.map_buf(k)?;
            put_at(buf, f.prev, prev as u64)?;
            put_at(buf, f.next, next as u64)?;
        }
        let b = self.build;
        let ns = structure(b, "struct link_namespaces")?;
        let ns0 = at(structure(b, "struct rtld_global")?, "_dl_ns")?.offset;
        let nsbuf = self.r.get_mut(ns0..ns0 + ns.size).ok_or("_dl_ns outside _rtld_global")?;
        set(nsbuf, ns, "_ns_loaded", self.maps.first().map_or(0, |m| m.lm) as u64)?;
        set(nsbuf, ns, "_ns_nloaded", n as u64)?;
        self.publish_find_table()
    }

    /// A new `_dl_find_object` table for the current list.
    fn publish_find_table(&self) -> Result<(), String> {
        let st = structure(self.build, "struct dl_find_object")?;
        let mut objects: Vec<(usize, usize, usize, usize)> = self.maps.iter().filter(|m| m.start < m.end).map(|m| (m.start, m.end, m.lm, m.eh_frame)).collect();
        objects.sort_unstable();
        exports::publish_find_table(Box::new(FindTable { size: st.size, at: DlfoAt::of(self.build)?, objects }));
        Ok(())
    }

    /// `l_scope` of map `k`: the global searchlist, then `local` (the
    /// searchlist of the dlopen root that loaded it) unless that is the
    /// global one, or `local` first (RTLD_DEEPBIND, `deep`);
    /// `l_local_scope[0]`: its own searchlist.
    fn set_scope(&mut self, k: usize, local: Option<usize>, deep: bool) -> Result<(), String> {
        let f = self.lmf;
        let global = self.searchlist_addr(0)?;
        let own = self.searchlist_addr(k)?;
        let this = self.maps[k].lm;
        let (scope_mem, local_scope) = (f.scope_mem, f.local_scope);
        let buf = self.map_buf(k)?;
        put_at(buf, f.scope_max, (scope_mem.size / 8) as u64)?;
        let local = local.filter(|&l| l != global);
        let slots = if deep && local.is_some() { [local, Some(global), None] } else { [Some(global), local, None] };
        for (j, v) in slots.iter().enumerate() {
            let slot = scope_mem.element(j, 8).ok_or("l_scope_mem too small")?;
            if !put(buf, slot, v.unwrap_or(0) as u64) {
                return Err("l_scope_mem outside the link map".into());
            }
        }
        put_at(buf, f.scope, (this + scope_mem.offset) as u64)?;
        if !put(buf, word(local_scope.offset), own as u64) {
            return Err("l_local_scope outside the link map".into());
        }
        Ok(())
    }

    /// Make the program's searchlist (the global scope) `scope`'s maps,
    /// and mark `l_global` on them.
    fn set_global_scope(&mut self, scope: &[usize]) -> Result<(), String> {
        let pos = self.positions();
        let at = |i: usize| pos.get(i).copied();
        let list: Vec<u64> = scope.iter().filter_map(|&i| at(i)).map(|k| self.maps[k].lm as u64).collect();
        let mut global = alloc::vec![false; self.maps.len()];
        for k in scope.iter().filter_map(|&i| at(i)) {
            global[k] = true;
        }
        let f = self.lmf;
        for (k, on) in global.into_iter().enumerate() {
            put_at(self.map_buf(k)?, f.global, on as u64)?;
        }
        self.set_searchlist(0, list)
    }
}

/// Make the link map of object `i` (list links and scopes are the
/// caller's): every per-object field, as glibc's `_dl_new_object`,
/// `_dl_map_object_from_fd` and `_dl_setup_hash` fill them. `l_info`
/// holds the dynamic entries' addresses; their in-place relocation is
/// `relocate_dynamic`'s.
fn make_map(s: &mut State, d: &Dso, dso: Option<usize>, page: u64, lt: u64, relocate_dyn: bool) -> Result<Map, String> {
    let b = s.build;
    let lm = s.lm;
    let f = s.lmf;
    let (start, end, contiguous) = extent(d, page);
    let eh = phdrs(d).iter().find(|p| p.p_type == PT_GNU_EH_FRAME).map_or(0, |p| d.img.addr(p.p_vaddr));
    // A module in dynamic TLS has no static offset (glibc: NO_TLS_OFFSET, 0).
    let tls_static = d.tls_slot.filter(|t| !crate::tls::is_dynamic(t.modid));
    let mut m = Map { dso, lm: 0, in_r: d.is_loader(), start, end, eh_frame: eh, tls_offset: tls_static.map(|t| t.offset), searchlist: None, _mem: Vec::new() };
    let own = s.rtld_map;
    if m.in_r {
        m.lm = exports::r_addr() + own;
    } else {
        let mut words = alloc::vec![0u64; lm.size.div_ceil(8)].into_boxed_slice();
        m.lm = words.as_mut_ptr() as usize;
        m._mem.push(words);
    }
    let this = m.lm;
    let name_ptr: u64 = if d.is_program() { c"".as_ptr() as u64 } else { d.path.as_ptr() as u64 };
    let mut libname = alloc::vec![0u64; 3].into_boxed_slice();
    libname[0] = match (d.is_program(), d.soname) {
        (true, _) | (_, None) => name_ptr,
        (false, Some(_)) => d.dyn_.soname.and_then(|o| d.string(o)).map_or(name_ptr, |s| s.as_ptr() as u64),
    };
    let libname_addr = libname.as_ptr() as u64;
    // `l_origin` is the directory $ORIGIN expands to (`Dso::origin`): an
    // object's, from the current directory when it was opened by a
    // relative path, as glibc's `_dl_new_object`; the program's the same
    // (explicit start), or /proc/self/exe's as PT_INTERP, which glibc sets
    // once $ORIGIN is used (else it leaves NULL, where
    // dlinfo(RTLD_DI_ORIGIN) faults).
    let origin = d.origin.as_deref().map(nul_words);
    let origin_addr = origin.as_ref().map_or(0, |o| o.as_ptr() as u64);
    {
        let buf: &mut [u8] = if m.in_r {
            s.r.get_mut(own..own + lm.size).ok_or("_dl_rtld_map outside _rtld_global")?
        } else {
            &mut words_as_bytes_mut(&mut m._mem[0])[..lm.size]
        };
        let tls = d.tls.filter(|_| d.tls_slot.is_some());
        let vals: [(At, u64); 17] = [
            (f.addr, d.img.bias as u64),
            (f.name, name_ptr),
            (f.ld, d.dyn_addr as u64),
            (f.real, this as u64),
            (f.libname, libname_addr),
            (f.phdr, d.phdr_addr as u64),
            (f.phnum, d.phnum as u64),
            (f.map_start, start as u64),
            (f.map_end, end as u64),
            (f.text_end, text_end(d) as u64),
            (f.tls_modid, d.tls_slot.map_or(0, |t| t.modid) as u64),
            (f.tls_offset, tls_static.map_or(0, |t| t.offset) as u64),
            (f.origin, origin_addr),
            (f.ty, lt),
            (f.relocated, 1),
            (f.init_called, 1),
            (f.contiguous, contiguous as u64),
        ];
        for (a, v) in vals {
            put_at(buf, a, v)?;
        }
        if let Some(p) = tls {
            put_at(buf, f.tls_blocksize, p.p_memsz)?;
            put_at(buf, f.tls_align, p.p_align.max(1))?;
            put_at(buf, f.tls_firstbyte_offset, p.p_vaddr & (p.p_align.max(1) - 1))?;
            put_at(buf, f.tls_initimage, d.img.addr(p.p_vaddr) as u64)?;
            put_at(buf, f.tls_initimage_size, p.p_filesz)?;
        }
        if let Some((start, len)) = d.relro {
            put_at(buf, f.relro_addr, d.img.addr(start) as u64)?;
            put_at(buf, f.relro_size, len)?;
        }
        if let Some((dev, ino)) = d.identity() {
            put_at(buf, f.file_dev, dev)?;
            put_at(buf, f.file_ino, ino)?;
        }
        hash_fields(d, buf, &f)?;
        dynamic_info(b, d, buf, &f, relocate_dyn)?;
    }
    m._mem.push(libname);
    m._mem.extend(origin);
    Ok(m)
}

/// `s` and a NUL, in words (link-map strings live in word buffers).
fn nul_words(s: &[u8]) -> Box<[u64]> {
    let mut words = alloc::vec![0u64; (s.len() + 1).div_ceil(8)].into_boxed_slice();
    words_as_bytes_mut(&mut words)[..s.len()].copy_from_slice(s);
    words
}

/// Build the glibc link maps of every object in the registry (load order,
/// guardld last) and publish them in `_dl_ns[0]`; relocate their dynamic
/// sections' address entries in place as glibc does. Before relocation
/// (libc's IFUNC resolvers may ask for them), after the TLS layout.
pub fn build_maps(reg: &Registry, page: u64) -> Result<(), String> {
    let mut g = STATE.lock();
    let s = g.as_mut().ok_or("no glibc state")?;
    let b = s.build;
    let rs = structure(b, "struct rtld_global")?;
    let lt_exec = constant(b, "LT_EXECUTABLE")?;
    let lt_lib = constant(b, "LT_LIBRARY")?;
    let order: Vec<usize> = reg.iter().filter(|(_, d)| !d.is_loader()).chain(reg.iter().filter(|(_, d)| d.is_loader())).map(|(i, _)| i).collect();
    if order.first().is_none_or(|&i| !reg[i].is_program()) {
        return Err("no program".into());
    }
    let mut maps = Vec::with_capacity(order.len());
    for &i in &order {
        maps.push(make_map(s, &reg[i], Some(i), page, if reg[i].is_program() { lt_exec } else { lt_lib }, true)?);
    }
    s.maps = maps;
    let vdso = add_vdso(s, page)?;
    s.relink()?;
    // The program's searchlist is the global scope; every object's scope
    // is that list alone (glibc: start-up objects' loader is the program).
    s.set_global_scope(&reg.scope)?;
    for k in 0..s.maps.len() {
        s.set_scope(k, None, false)?;
    }
    // `l_loader`: the object whose DT_NEEDED loaded each library, the
    // program for preloads (glibc's _dl_new_object); dlsym(RTLD_NEXT)
    // walks it up to the program, whose local scope is the global one.
    let pos = s.positions();
    let main_lm = s.maps[0].lm;
    for k in 1..s.maps.len() {
        let Some(i) = s.maps[k].dso.filter(|&i| !reg[i].is_loader()) else { continue };
        let loader = reg[i].needed_by.and_then(|n| pos.get(n).copied()).map_or(main_lm, |j| s.maps[j].lm);
        let f = s.lmf;
        put_at(s.map_buf(k)?, f.loader, loader as u64)?;
    }
    if let Some(k) = vdso {
        vdso_pointers(s, k)?;
    }
    s.set_lm(0, "l_main_map", 1)?;
    // glibc: "And it was opened directly."
    s.set_lm(0, "l_direct_opencount", 1)?;
    let n = s.maps.len();
    let main_list = s.maps[0].searchlist.as_ref().map_or(0, |l| l.as_ptr() as u64);
    let main_nlist = s.maps[0].searchlist.as_ref().map_or(0, |l| l.len() as u64);
    let main_searchlist = s.searchlist_addr(0)?;
    // _dl_ns[0], RO's initial searchlist.
    let ns = structure(b, "struct link_namespaces")?;
    let ns0 = at(rs, "_dl_ns")?.offset;
    let libc = s.maps.iter().filter_map(|m| m.dso).find(|&i| reg[i].soname == Some(b"libc.so.6"));
    let libc_lm = libc.and_then(|i| s.index_of_dso(i)).map_or(0, |k| s.maps[k].lm);
    let nsbuf = &mut s.r[ns0..ns0 + ns.size];
    set(nsbuf, ns, "_ns_main_searchlist", main_searchlist as u64)?;
    set(nsbuf, ns, "libc_map", libc_lm as u64)?;
    set(s.r, rs, "_dl_load_adds", n as u64)?;
    let ros = structure(b, "struct rtld_global_ro")?;
    set(s.ro, ros, "_dl_initial_searchlist.r_list", main_list)?;
    set(s.ro, ros, "_dl_initial_searchlist.r_nlist", main_nlist)?;
    let stack = reg.program().map(|p| &reg[p]).and_then(|p| phdrs(p).iter().find(|h| h.p_type == PT_GNU_STACK).map(|h| h.p_flags));
    if let Some(flags) = stack {
        set(s.r, rs, "_dl_stack_flags", flags as u64)?;
    }
    // libc's own error catching (its `_dl_catch_error` keeps the catch
    // frame its `_dl_signal_error` longjmps to) and the locks libc's
    // dl* functions share with the loader.
    {
        let d = &reg[libc.ok_or("no libc.so.6 among the objects")?];
        let f = |name: &[u8]| {
            let mut n = crate::elf::symbols::Name::new(name);
            d.syms.lookup(&mut n, None, false).map_or(0, |(_, sym)| d.img.addr(sym.st_value))
        };
        s.libc = LibcFns { catch_error: f(b"_dl_catch_error"), signal_error: f(b"_dl_signal_error"), mutex_lock: f(b"pthread_mutex_lock"), mutex_unlock: f(b"pthread_mutex_unlock"), register_atfork: f(b"__register_atfork") };
        if s.libc.catch_error == 0 || s.libc.signal_error == 0 || s.libc.mutex_lock == 0 || s.libc.mutex_unlock == 0 || s.libc.register_atfork == 0 {
            return Err("libc.so.6 lacks _dl_catch_error, _dl_signal_error, pthread_mutex_lock/unlock or __register_atfork".into());
        }
        set(s.ro, ros, "_dl_catch_error", s.libc.catch_error as u64)?;
    }
    // glibc's __rtld_malloc_init_real: the loader allocates thread DTVs
    // with the calloc and free the program's scope resolves (an
    // interposed malloc included).
    let find = |name: &[u8]| crate::link::lookup::lookup(reg, &reg.scope, name, None, Default::default()).map(|def| reg[def.dso].img.addr(def.sym.st_value));
    let (Some(calloc), Some(free)) = (find(b"calloc"), find(b"free")) else { return Err("no calloc or free in the program's scope".into()) };
    super::exports::set_malloc(calloc, free);
    Ok(())
}

/// The end of an object's executable segments.
fn text_end(d: &Dso) -> usize {
    phdrs(d).iter().filter(|p| p.p_type == PT_LOAD && p.p_flags & PF_X != 0).map(|p| d.img.addr(p.p_vaddr.saturating_add(p.p_memsz))).max().unwrap_or(0)
}

/// The hash-table fields of a link map, as glibc's _dl_setup_hash.
fn hash_fields(d: &Dso, buf: &mut [u8], f: &LmAt) -> Result<(), String> {
    let u32s = |vaddr: u64, n: u64| d.img.table::<u32>(vaddr, n);
    if let Some(h) = d.dyn_.gnu_hash {
        let Some(&[nbuckets, symbias, bitmask_nwords, shift]) = u32s(h, 4) else { return Ok(()) };
        let bitmask = h + 16;
        let buckets = bitmask + 8 * bitmask_nwords as u64;
        put_at(buf, f.nbuckets, nbuckets as u64)?;
        put_at(buf, f.gnu_bitmask_idxbits, bitmask_nwords.wrapping_sub(1) as u64)?;
        put_at(buf, f.gnu_shift, shift as u64)?;
        put_at(buf, f.gnu_bitmask, d.img.addr(bitmask) as u64)?;
        put_at(buf, f.gnu_buckets, d.img.addr(buckets) as u64)?;
        let chain_zero = d.img.addr(buckets + 4 * nbuckets as u64).wrapping_sub(4 * symbias as usize);
        put_at(buf, f.gnu_chain_zero, chain_zero as u64)?;
    } else if let Some(h) = d.dyn_.hash {
        let Some(&[nbuckets, _]) = u32s(h, 2) else { return Ok(()) };
        put_at(buf, f.nbuckets, nbuckets as u64)?;
        put_at(buf, f.buckets, d.img.addr(h + 8) as u64)?;
        put_at(buf, f.chain, d.img.addr(h + 8 + 4 * nbuckets as u64) as u64)?;
    }
    Ok(())
}

/// `l_info`: a pointer to the (last) dynamic entry of each tag; with
/// `relocate`, the entries relocated in place too (`relocate_dynamic`, in
/// the same pass over the section).
fn dynamic_info(b: &Build, d: &Dso, buf: &mut [u8], f: &LmAt, relocate: bool) -> Result<(), String> {
    let info = f.info;
    for (idx, vaddr, tag) in dynamic_slots(b, d) {
        let slot = info.element(idx, 8).ok_or("l_info index outside l_info")?;
        let _ = put(buf, slot, d.img.addr(vaddr) as u64);
        if relocate {
            relocate_entry(d, vaddr, tag);
        }
    }
    Ok(())
}

/// (l_info index, link-time address of the entry, tag) of the last entry
/// of each tag glibc keeps in `l_info`.
fn dynamic_slots(b: &Build, d: &Dso) -> Vec<(usize, u64, i64)> {
    let base = d.dyn_addr.wrapping_sub(d.img.bias) as u64;
    // The section as one bounded table (up to its segment's end), read
    // once; each slot keeps its last entry.
    let count = d.img.bytes_from(base).map_or(0, |b| b.len() / core::mem::size_of::<Dyn>()).min(4096);
    let Some(entries) = d.img.table::<Dyn>(base, count as u64) else { return Vec::new() };
    // Indexed by l_info slot (the build's L_INFO_LEN, 80, fits; a slot
    // past it could not be stored in l_info anyway).
    // Entry number + 1 (0: none); `count` is at most 4096.
    let mut last = [0u16; 128];
    for (k, e) in entries.iter().enumerate() {
        if e.d_tag == DT_NULL {
            break;
        }
        if let Some(s) = b.l_info_index(e.d_tag as u64).and_then(|idx| last.get_mut(idx)) {
            *s = k as u16 + 1;
        }
    }
    let mut out = Vec::with_capacity(32);
    out.extend(last.iter().enumerate().filter(|&(_, &n)| n != 0).map(|(idx, &n)| {
        let k = n as usize - 1;
        (idx, base + 16 * k as u64, entries[k].d_tag)
    }));
    out
}

/// Relocate the address entries of `objs`' dynamic sections in place, as
/// glibc's `elf_get_dynamic_info` does (libc's dladdr reads them as
/// addresses). Once per object, before its RELRO is protected: start-up
/// does it while building the link maps, a dlopen session for its new
/// objects before relocating them.
pub fn relocate_dynamic(reg: &Registry, objs: &[usize]) {
    let Some(b) = STATE.lock().as_ref().map(|s| s.build) else { return };
    relocate_dynamic_of(b, reg, objs);
}

fn relocate_dynamic_of(b: &Build, reg: &Registry, objs: &[usize]) {
    for &i in objs {
        let d = &reg[i];
        for (_, vaddr, tag) in dynamic_slots(b, d) {
            relocate_entry(d, vaddr, tag);
        }
    }
}

/// Relocate dynamic entry `tag` at `vaddr` of `d` in place if glibc
/// does (an address entry of a moved object).
fn relocate_entry(d: &Dso, vaddr: u64, tag: i64) {
    if d.img.bias != 0
        && d.dyn_addr != 0
        && ADJUSTED.contains(&tag)
        && let Some(v) = d.img.read_writable_u64(vaddr + 8)
    {
        d.img.write_u64(vaddr + 8, v.wrapping_add(d.img.bias as u64));
    }
}

/// Link the glibc maps into `_r_debug` (gdb reads the public head of each).
pub fn debugger_head() -> Option<usize> {
    STATE.lock().as_ref()?.maps.first().map(|m| m.lm)
}

/// The known build whose libc `d` (a loaded libc.so.6) is: its build ID,
/// from its PT_NOTE segments in memory.
pub fn libc_build(d: &Dso) -> Option<&'static Build> {
    const PT_NOTE: u32 = 4;
    phdrs(d).iter().filter(|p| p.p_type == PT_NOTE && p.p_filesz <= 1 << 12).find_map(|p| d.img.bytes(p.p_vaddr, p.p_filesz).and_then(crate::elf::note::gnu_build_id).and_then(super::by_libc))
}

// ------------------------------------------------------ run-time loading ----
// What glibc's `_dl_open`/`_dl_close` do to the link maps (glibc/dlfcn.rs
// holds the logic around them). Lock order: LINKER, then STATE.

/// libc's functions the personality calls (found at start-up).
pub fn libc_fns() -> LibcFns {
    STATE.lock().as_ref().map_or(LibcFns::default(), |s| s.libc)
}

/// Addresses of `_rtld_global._dl_load_lock` and `_dl_load_write_lock`
/// (libc's recursive mutexes around the object list).
pub fn load_locks() -> Option<(usize, usize)> {
    let g = STATE.lock();
    let rs = g.as_ref()?.build.structure("struct rtld_global").ok()?;
    let r = exports::r_addr();
    Some((r + rs.at("_dl_load_lock").ok()?.offset, r + rs.at("_dl_load_write_lock").ok()?.offset))
}

/// The registry index of the object whose link map is at `lm`.
pub fn dso_of(lm: usize) -> Option<usize> {
    let g = STATE.lock();
    let s = g.as_ref()?;
    s.index_of_lm(lm).and_then(|k| s.maps[k].dso)
}

/// The link map of registry object `dso`.
pub fn lm_of(dso: usize) -> Option<usize> {
    let g = STATE.lock();
    let s = g.as_ref()?;
    s.index_of_dso(dso).map(|k| s.maps[k].lm)
}

/// The link map of registry object `dso` and its `l_scope` (the
/// `struct r_scope_elem` addresses, in order): what glibc's lazy binding
/// searches. The personality keeps `l_scope` in the map's `l_scope_mem`.
pub fn scope_of(dso: usize) -> Option<(usize, Vec<usize>)> {
    let mut g = STATE.lock();
    let s = g.as_mut()?;
    let k = s.index_of_dso(dso)?;
    let f = s.lmf;
    let lm = s.maps[k].lm;
    let buf = s.map_buf(k).ok()?;
    let mut elems = Vec::new();
    for j in 0..f.scope_mem.size / 8 {
        match get(buf, f.scope_mem.element(j, 8)?)? {
            0 => break,
            e => elems.push(e as usize),
        }
    }
    Some((lm, elems))
}

/// The objects (registry indices) of the searchlist whose
/// `struct r_scope_elem` is at `elem`, in order; None if `elem` is no
/// link map's `l_searchlist`.
pub fn searchlist_objects(elem: usize) -> Option<Vec<usize>> {
    let g = STATE.lock();
    let s = g.as_ref()?;
    // `elem` is some map's `l_searchlist` (dlsym passes a handle's).
    let owner = elem.checked_sub(s.lmf.searchlist.offset)?;
    let k = s.index_of_lm(owner)?;
    let list = s.maps[k].searchlist.as_deref().unwrap_or(&[]);
    let dso = |j: usize| s.maps[j].dso;
    if list.len() <= 8 {
        // A dlopen'd library's own closure, usually: search per element.
        return Some(list.iter().filter_map(|&lm| s.index_of_lm(lm as usize)).filter_map(dso).collect());
    }
    // Link map address -> object, once (not a search per element).
    let mut by_lm: Vec<(usize, usize)> = s.maps.iter().filter_map(|m| m.dso.map(|i| (m.lm, i))).collect();
    by_lm.sort_unstable();
    Some(list.iter().filter_map(|&lm| by_lm.binary_search_by_key(&(lm as usize), |e| e.0).ok().map(|j| by_lm[j].1)).collect())
}

/// What `_dl_open` made of a successful session: link maps for the new
/// objects (`fresh`, load order), appended to `_dl_ns[0]`, with glibc's
/// scopes (`l_scope`: the global searchlist, then the root's), the root's
/// searchlist (its closure, made the first time it is dlopen'd, as
/// glibc's `_dl_map_object_deps`), the global searchlist if RTLD_GLOBAL
/// changed the scope, the root's `l_direct_opencount` and NODELETE,
/// `_dl_load_adds` and the TLS counters. Returns the root's link map.
pub fn add_objects(reg: &Registry, page: u64, fresh: &[usize], root: usize, deep: bool) -> Result<usize, String> {
    let mut g = STATE.lock();
    let s = g.as_mut().ok_or("no glibc state")?;
    let b = s.build;
    let lt_loaded = constant(b, "LT_LOADED")?;
    let old = s.maps.len();
    for &i in fresh {
        let m = make_map(s, &reg[i], Some(i), page, lt_loaded, false)?;
        s.maps.push(m);
    }
    s.relink_from(old)?;
    let rk = s.index_of_dso(root).ok_or("dlopen's object has no link map")?;
    if s.maps[rk].searchlist.is_none() {
        let list: Vec<u64> = reg.closure(root).list.iter().filter_map(|&i| s.index_of_dso(i)).map(|k| s.maps[k].lm as u64).collect();
        s.set_searchlist(rk, list)?;
    }
    let root_sl = s.searchlist_addr(rk)?;
    let root_lm = s.maps[rk].lm;
    for &i in fresh {
        let k = s.index_of_dso(i).ok_or("new object without a link map")?;
        // l_loader: the object whose DT_NEEDED loaded it (the root has none).
        let loader = if i == root { 0 } else { reg[i].needed_by.and_then(|n| s.index_of_dso(n)).map_or(root_lm, |n| s.maps[n].lm) };
        s.set_lm(k, "l_loader", loader as u64)?;
        s.set_scope(k, Some(root_sl), deep)?;
    }
    // The global searchlist follows the registry's scope (RTLD_GLOBAL).
    let pos = s.positions();
    let now: Vec<u64> = reg.scope.iter().filter_map(|&i| pos.get(i).copied()).map(|k| s.maps[k].lm as u64).collect();
    if s.maps[0].searchlist.as_deref() != Some(&now[..]) {
        s.set_global_scope(&reg.scope)?;
    }
    let count = s.get_lm(rk, "l_direct_opencount")?;
    s.set_lm(rk, "l_direct_opencount", count + 1)?;
    for &i in fresh.iter().chain([&root]) {
        if reg[i].dyn_.nodelete {
            let k = s.index_of_dso(i).ok_or("dlopen'd object without a link map")?;
            s.set_lm(k, "l_nodelete_active", 1)?;
        }
    }
    let rs = structure(b, "struct rtld_global")?;
    let adds = get(s.r, at(rs, "_dl_load_adds")?).unwrap_or(0);
    set(s.r, rs, "_dl_load_adds", adds + fresh.len() as u64)?;
    if fresh.iter().any(|&i| reg[i].tls_slot.is_some()) {
        let max = reg.iter().filter_map(|(_, d)| d.tls_slot.map(|t| t.modid)).max().unwrap_or(0);
        let generation = get(s.r, at(rs, "_dl_tls_generation")?).unwrap_or(0);
        set(s.r, rs, "_dl_tls_max_dtv_idx", max as u64)?;
        set(s.r, rs, "_dl_tls_generation", generation + 1)?;
    }
    Ok(root_lm)
}

/// What `_dl_close` may do with a link map.
pub enum CloseStep {
    /// Drop a reference of registry object `dso`.
    Close(usize),
    /// NODELETE: nothing to do.
    Stays,
    /// Not a link map guardld made, or one not opened by dlopen (glibc's
    /// "shared object not open"); the object, if it is one.
    NotOpen(Option<usize>),
}

/// Mark registry object `dso`'s link map NODELETE (`l_nodelete_active`:
/// `_dl_close` keeps it).
pub fn mark_nodelete(dso: usize) -> Result<(), String> {
    let mut g = STATE.lock();
    let s = g.as_mut().ok_or("no glibc state")?;
    let k = s.index_of_dso(dso).ok_or("object without a link map")?;
    s.set_lm(k, "l_nodelete_active", 1)
}

/// glibc's `_dl_close` checks: NODELETE, `l_direct_opencount`; a
/// reference is dropped from the count here.
pub fn begin_close(lm: usize) -> Result<CloseStep, String> {
    let mut g = STATE.lock();
    let s = g.as_mut().ok_or("no glibc state")?;
    let Some(k) = s.index_of_lm(lm) else { return Ok(CloseStep::NotOpen(None)) };
    if s.get_lm(k, "l_nodelete_active")? != 0 {
        return Ok(CloseStep::Stays);
    }
    let count = s.get_lm(k, "l_direct_opencount")?;
    if count == 0 {
        return Ok(CloseStep::NotOpen(s.maps[k].dso));
    }
    s.set_lm(k, "l_direct_opencount", count - 1)?;
    match s.maps[k].dso {
        Some(i) => Ok(CloseStep::Close(i)),
        None => Ok(CloseStep::Stays),
    }
}

/// At exit, as glibc's `_dl_fini`: one more `l_direct_opencount` on every
/// object's link map, so a finalizer's dlclose of an object opened before
/// exit began only drops that reference.
pub fn hold_all_at_exit() {
    let mut g = STATE.lock();
    let Some(s) = g.as_mut() else { return };
    for k in 0..s.maps.len() {
        if s.maps[k].dso.is_some()
            && let Ok(c) = s.get_lm(k, "l_direct_opencount")
        {
            let _ = s.set_lm(k, "l_direct_opencount", c + 1);
        }
    }
}

/// Whether object `dso` has C++ `thread_local` destructors pending
/// (libc counts them in `l_tls_dtor_count`): glibc keeps such an object.
pub fn tls_dtors_pending(dso: usize) -> bool {
    let mut g = STATE.lock();
    let Some(s) = g.as_mut() else { return false };
    let Some(k) = s.index_of_dso(dso) else { return false };
    s.get_lm(k, "l_tls_dtor_count").is_ok_and(|c| c != 0)
}

/// Take the link maps of the objects `gone` (registry indices) off
/// `_dl_ns[0]` and the global searchlist, and free them. Maps that
/// referred to them (as `l_loader`, or to a removed root's searchlist in
/// `l_scope`) are pointed back at the global scope.
pub fn remove_objects(gone: &[usize]) -> Result<(), String> {
    let mut g = STATE.lock();
    let s = g.as_mut().ok_or("no glibc state")?;
    let is_gone = |m: &Map| m.dso.is_some_and(|i| gone.contains(&i));
    let removed: Vec<(usize, usize)> = (0..s.maps.len()).filter(|&k| is_gone(&s.maps[k])).map(|k| Ok((s.maps[k].lm, s.searchlist_addr(k)?))).collect::<Result<_, String>>()?;
    if removed.is_empty() {
        return Ok(());
    }
    let global = s.maps[0].searchlist.as_deref().unwrap_or(&[]);
    if global.iter().any(|&lm| removed.iter().any(|r| r.0 == lm as usize)) {
        let list: Vec<u64> = global.iter().copied().filter(|&lm| !removed.iter().any(|r| r.0 == lm as usize)).collect();
        s.set_searchlist(0, list)?;
    }
    let lm = s.lm;
    let second = at(lm, "l_scope_mem")?.element(1, 8).ok_or("l_scope_mem too small")?;
    let mut dropped = Vec::new();
    let mut k = 0;
    while k < s.maps.len() {
        if is_gone(&s.maps[k]) {
            dropped.push(s.maps.remove(k));
            continue;
        }
        let loader = s.get_lm(k, "l_loader")? as usize;
        if removed.iter().any(|r| r.0 == loader) {
            s.set_lm(k, "l_loader", 0)?;
        }
        let scope = get(s.map_buf(k)?, second).unwrap_or(0) as usize;
        if removed.iter().any(|r| r.1 == scope) {
            s.set_scope(k, None, false)?;
        }
        k += 1;
    }
    s.relink()?;
    // A removed root's searchlist may still be read by a lookup in
    // flight on another thread: kept with the retired arrays.
    for m in dropped {
        s.retired.extend(m.searchlist);
    }
    Ok(())
}

/// Whether `lm` is the program's link map (its `l_name` is "").
pub fn is_program_map(lm: usize) -> bool {
    let g = STATE.lock();
    g.as_ref().is_some_and(|s| s.maps.first().is_some_and(|m| m.lm == lm))
}

/// The glibc build the personality runs (None without one).
pub fn build() -> Option<&'static Build> {
    STATE.lock().as_ref().map(|s| s.build)
}

/// Whether object `d` asks for an executable stack (PT_GNU_STACK with
/// PF_X) that the process does not have yet (`_dl_stack_flags`).
pub fn needs_exec_stack(d: &Dso) -> bool {
    let wants = phdrs(d).iter().any(|p| p.p_type == PT_GNU_STACK && p.p_flags & PF_X != 0);
    // The program given explicitly: the kernel made the stack for
    // guardld's PT_GNU_STACK, not the program's (whose flags are already
    // in `_dl_stack_flags`), so glibc's ld.so makes it executable then.
    let explicit_program = d.is_program() && d.span().is_some();
    wants && (explicit_program || stack_flags().is_some_and(|f| f & PF_X as u64 == 0))
}

/// `_dl_stack_flags`.
pub fn stack_flags() -> Option<u64> {
    let mut g = STATE.lock();
    let s = g.as_mut()?;
    let rs = s.build.structure("struct rtld_global").ok()?;
    get(s.r, rs.at("_dl_stack_flags").ok()?)
}

/// `_dl_stack_flags |= flags`.
pub fn add_stack_flags(flags: u64) -> Result<(), String> {
    let mut g = STATE.lock();
    let s = g.as_mut().ok_or("no glibc state")?;
    let rs = structure(s.build, "struct rtld_global")?;
    let old = get(s.r, at(rs, "_dl_stack_flags")?).ok_or("_dl_stack_flags outside _rtld_global")?;
    set(s.r, rs, "_dl_stack_flags", old | flags)
}

/// What `_dl_make_stacks_executable` walks, as addresses and offsets from
/// the generated layouts.
pub struct StackLists {
    /// `_dl_stack_cache_lock` (an `int` lowlevellock).
    pub lock: usize,
    /// The heads of `_dl_stack_used` and `_dl_stack_cache`.
    pub heads: [usize; 2],
    /// `next` in a `struct list_head`.
    pub next: usize,
    /// `list` in a `struct pthread` (the node's place in its thread).
    pub pd_list: usize,
}

pub fn stack_lists() -> Result<StackLists, String> {
    let g = STATE.lock();
    let s = g.as_ref().ok_or("no glibc state")?;
    let rs = structure(s.build, "struct rtld_global")?;
    let r = exports::r_addr();
    let lock = at(rs, "_dl_stack_cache_lock")?;
    if lock.size != 4 {
        return Err("glibc layout table: _dl_stack_cache_lock is not an int".into());
    }
    let next = at(structure(s.build, "struct list_head")?, "next")?.offset;
    let pd_list = at(structure(s.build, "struct pthread")?, "list")?.offset;
    Ok(StackLists { lock: r + lock.offset, heads: [r + at(rs, "_dl_stack_used")?.offset, r + at(rs, "_dl_stack_cache")?.offset], next, pd_list })
}

/// Slotinfo entries kept free for modules dlopen adds (glibc's
/// TLS_SLOTINFO_SURPLUS is 62).
const SLOTINFO_ROOM: usize = 64;

/// `_rtld_global._dl_tls_dtv_slotinfo_list` as glibc's init_tls makes it:
/// one element whose entry k is module k's {generation 0, link map}, with
/// room for later modules. libthread_db reads it to find a thread's TLS
/// (gdb's `print tls_var`); libc's `__libc_freeres` frees the elements
/// after the first (there are none). After `build_maps`; `modules` is the
/// TLS layout's module count (index 0 unused).
pub fn publish_tls_slotinfo(modules: usize) -> Result<(), String> {
    let mut g = STATE.lock();
    let Some(s) = g.as_mut() else { return Ok(()) };
    let b = s.build;
    let (list, slot) = (structure(b, "struct dtv_slotinfo_list")?, structure(b, "struct dtv_slotinfo")?);
    let first = at(list, "slotinfo")?.offset;
    // Rewritten in place while it has room; else a list twice as long
    // (the old one is kept: libc or libthread_db may be reading it), so
    // many dlopens of TLS libraries cost linear memory.
    let capacity = |mem: &[u64]| (mem.len() * 8).saturating_sub(first) / slot.size.max(1);
    if s.slotinfo.as_deref().is_none_or(|m| capacity(m) <= modules) {
        let len = (modules + SLOTINFO_ROOM).max(s.slotinfo.as_deref().map_or(0, capacity) * 2);
        let mem = alloc::vec![0u64; (first + len * slot.size).div_ceil(8)].into_boxed_slice();
        if let Some(old) = s.slotinfo.replace(mem) {
            s.retired.push(old);
        }
    }
    let modid = at(s.lm, "l_tls_modid")?;
    let maps: Vec<(usize, usize)> = (0..s.maps.len()).map(|k| Ok((get(s.map_buf(k)?, modid).ok_or("link map field outside its memory")? as usize, s.maps[k].lm))).collect::<Result<_, String>>()?;
    let mem = s.slotinfo.as_mut().ok_or("no slotinfo list")?;
    let len = capacity(mem);
    let buf = words_as_bytes_mut(mem);
    set(buf, list, "len", len as u64)?;
    // Every slot gets its value directly (no zeroing pass a reader could
    // see): the module's map, or NULL (none, or closed).
    let mut want = alloc::vec![0u64; len];
    for (id, lm) in maps {
        if id != 0 {
            *want.get_mut(id).ok_or("TLS module id past the slotinfo list")? = lm as u64;
        }
    }
    let map = at(slot, "map")?;
    for (id, v) in want.into_iter().enumerate() {
        let entry = buf.get_mut(first + id * slot.size..first + (id + 1) * slot.size).ok_or("slotinfo entry outside its list")?;
        put_at(entry, map, v)?;
    }
    let addr = buf.as_ptr() as u64;
    set(s.r, structure(b, "struct rtld_global")?, "_dl_tls_dtv_slotinfo_list", addr)
}

/// The TLS module id of the object whose link map is at `lm` (0: none).
pub fn tls_modid_of(lm: usize) -> usize {
    let mut g = STATE.lock();
    let Some(s) = g.as_mut() else { return 0 };
    s.index_of_lm(lm).and_then(|k| s.get_lm(k, "l_tls_modid").ok()).unwrap_or(0) as usize
}

/// The vDSO's link map, as glibc's `setup_vdso`: made from the image the
/// kernel mapped at AT_SYSINFO_EHDR (RO's `_dl_sysinfo_dso`), named by its
/// soname, its dynamic section left alone (`l_ld_readonly`: libc adds
/// `l_addr` to its entries), second on the list. Returns its index in
/// `s.maps`; None without a vDSO (or one guardld cannot read: libc then
/// takes the system calls).
fn add_vdso(s: &mut State, page: u64) -> Result<Option<usize>, String> {
    let ros = structure(s.build, "struct rtld_global_ro")?;
    let ehdr = get(s.ro, at(ros, "_dl_sysinfo_dso")?).unwrap_or(0) as usize;
    let Some((phdr_addr, phdrs)) = exports::vdso_headers(ehdr, page as usize) else { return Ok(None) };
    let Some(first) = phdrs.iter().find(|p| p.p_type == PT_LOAD) else { return Ok(None) };
    let bias = ehdr.wrapping_sub(first.p_vaddr as usize);
    let Ok(mut d) = Dso::new(crate::link::dso::Kind::Library, Vec::new(), &phdrs, bias, phdr_addr) else { return Ok(None) };
    let mut name = d.soname.unwrap_or(b"linux-vdso.so.1").to_vec();
    name.push(0);
    d.path = name;
    d.state = crate::link::dso::State::Relocated;
    let lt_lib = constant(s.build, "LT_LIBRARY")?;
    let m = make_map(s, &d, None, page, lt_lib, false)?;
    let lm = m.lm;
    let k = 1.min(s.maps.len());
    s.maps.insert(k, m);
    s.vdso = Some(Box::new(d));
    s.set_lm(k, "l_ld_readonly", 1)?;
    // glibc: its local scope is itself.
    s.set_searchlist(k, alloc::vec![lm as u64])?;
    set(s.ro, ros, "_dl_sysinfo_map", lm as u64)?;
    Ok(Some(k))
}

/// The vDSO version glibc asks for on x86_64, and RO's pointers glibc's
/// `setup_vdso_pointers` fills from it.
const VDSO_VERSION: &[u8] = b"LINUX_2.6";
const VDSO_POINTERS: [(&str, &[u8]); 5] = [
    ("_dl_vdso_clock_gettime64", b"__vdso_clock_gettime"),
    ("_dl_vdso_gettimeofday", b"__vdso_gettimeofday"),
    ("_dl_vdso_time", b"__vdso_time"),
    ("_dl_vdso_getcpu", b"__vdso_getcpu"),
    ("_dl_vdso_clock_getres_time64", b"__vdso_clock_getres"),
];

/// A symbol of the vDSO (LINUX_2.6): its address.
fn vdso_symbol(d: &Dso, name: &[u8], version: Option<&crate::elf::symbols::Version<'_>>) -> Option<(usize, &'static crate::elf::pod::Sym)> {
    let mut n = crate::elf::symbols::Name::new(name);
    d.syms.lookup(&mut n, version, false).map(|(_, sym)| (d.img.addr(sym.st_value), sym))
}

fn vdso_pointers(s: &mut State, _k: usize) -> Result<(), String> {
    let ros = structure(s.build, "struct rtld_global_ro")?;
    let Some(d) = s.vdso.as_deref() else { return Ok(()) };
    let v = crate::elf::symbols::Version { name: VDSO_VERSION, hash: crate::elf::symbols::sysv_hash(VDSO_VERSION), file: None, weak: false, hidden: false };
    let found: Vec<(&'static str, usize)> = VDSO_POINTERS.iter().map(|&(field, sym)| (field, vdso_symbol(d, sym, Some(&v)).map_or(0, |f| f.0))).collect();
    for (field, addr) in found {
        set(s.ro, ros, field, addr as u64)?;
    }
    Ok(())
}

/// `_dl_lookup_symbol_x` in the vDSO's scope (libc's `dl_vdso_vsym`,
/// from IFUNC resolvers while libc is relocated: no registry lock may be
/// taken): Some(the link map and symbol found, or None) when `elem` is the
/// vDSO's searchlist; None otherwise.
pub fn vdso_lookup(elem: usize, name: &[u8], version: Option<&crate::elf::symbols::Version<'_>>) -> Option<Option<(usize, usize)>> {
    let g = STATE.lock();
    let s = g.as_ref()?;
    let k = s.maps.iter().position(|m| m.dso.is_none())?;
    if s.searchlist_addr(k).ok()? != elem {
        return None;
    }
    let d = s.vdso.as_deref()?;
    Some(vdso_symbol(d, name, version).map(|(_, sym)| (s.maps[k].lm, sym as *const crate::elf::pod::Sym as usize)))
}
