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
    dso: usize,
    /// Address of its `struct link_map`.
    lm: usize,
    start: usize,
    end: usize,
    eh_frame: usize,
    tls_offset: Option<usize>,
    /// The memory of the link map and what it points to (names, scope
    /// arrays); guardld's own map lives in `_rtld_global`.
    _mem: Vec<Box<[u64]>>,
}

pub struct State {
    pub build: &'static Build,
    pub tunables: Tunables,
    r: &'static mut [u8],
    ro: &'static mut [u8],
    lm: &'static Struct,
    maps: Vec<Map>,
}

static STATE: SpinLock<Option<State>> = SpinLock::new(None);

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
/// What glibc's tunables_init does to an AT_SECURE process's environment,
/// one edit per entry, applied by start-up before any object code runs.
static ENV_EDITS: SpinLock<Vec<super::tunables::EnvEdit>> = SpinLock::new(Vec::new());

/// The environment edits `begin` decided (once).
pub fn take_env_edits() -> Vec<super::tunables::EnvEdit> {
    core::mem::take(&mut *ENV_EDITS.lock())
}
fn set(buf: &mut [u8], s: &Struct, name: &'static str, v: u64) -> Result<(), String> {
    let a = at(s, name)?;
    if put(buf, a, v) { Ok(()) } else { Err(alloc::format!("glibc layout table: {}.{} cannot hold {v:#x}", s.name, name)) }
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
    let fns: [(&'static str, usize); 10] = [
        ("_dl_debug_printf", exports::debug_printf as *const () as usize),
        ("_dl_mcount", exports::_dl_mcount as *const () as usize),
        ("_dl_lookup_symbol_x", exports::lookup_unsupported as *const () as usize),
        ("_dl_open", exports::open_unsupported as *const () as usize),
        ("_dl_close", exports::open_unsupported as *const () as usize),
        ("_dl_catch_error", exports::catch_error as *const () as usize),
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
    for list in ["_dl_stack_used", "_dl_stack_user", "_dl_stack_cache"] {
        let a = at(rs, list)?;
        let head = (exports::r_addr() + a.offset) as u64;
        let _ = put(r, At { offset: a.offset, size: 8, bits: None }, head) && put(r, At { offset: a.offset + 8, size: 8, bits: None }, head);
    }
    exports::set_start(st.stack_end, st.argv, st.secure);

    let (mut tunables, edits) = Tunables::from_environ(build, st.environ, st.secure, super::suid_debug(st.secure));
    *ENV_EDITS.lock() = edits;
    let cpu = at(ros, "_dl_x86_cpu_features")?;
    let init = super::cpu::init(build, &mut ro[cpu.offset..cpu.offset + cpu.size], &mut tunables).map_err(|e| alloc::format!("{e}"))?;
    set(ro, ros, "_dl_hwcap", init.hwcap)?;
    if let Some(p) = init.platform {
        set(ro, ros, "_dl_platform", p.as_ptr() as u64)?;
        set(ro, ros, "_dl_platformlen", (p.len() - 1) as u64)?;
    }
    let lm = build.structure("struct link_map").map_err(|e| alloc::format!("{e}"))?;
    *STATE.lock() = Some(State { build, tunables, r, ro, lm, maps: Vec::new() });
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
    let w = |buf: &mut [u8], off: usize, v: usize| put(buf, At { offset: off, size: 8, bits: None }, v as u64);
    let ok = w(pd, field("list")?.offset, head) && w(pd, field("list")?.offset + 8, head) && w(s.r, user.offset, list) && w(s.r, user.offset + 8, list);
    if !ok {
        return Err("glibc thread list out of bounds".into());
    }
    let tid_at = tp + field("tid")?.offset;
    set(pd, pds, "specific.0", (tp + field("specific_1stblock")?.offset) as u64).or_else(|_| {
        let sp = field("specific")?;
        if w(pd, sp.offset, tp + field("specific_1stblock")?.offset) { Ok(()) } else { Err(String::from("specific")) }
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
    Ok(())
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

/// The object whose mapping contains `addr`.
pub fn find_object(addr: usize) -> Option<Found> {
    let g = STATE.lock();
    let m = g.as_ref()?.maps.iter().find(|m| m.start <= addr && addr < m.end)?;
    Some(Found { link_map: m.lm, start: m.start, end: m.end, eh_frame: m.eh_frame })
}

/// `sizeof (struct dl_find_object)` of the build.
pub fn dl_find_object_size() -> usize {
    STATE.lock().as_ref().and_then(|s| s.build.structure("struct dl_find_object").ok()).map_or(0, |s| s.size)
}

/// Fill a `struct dl_find_object` for `f`.
pub fn fill_find_object(out: &mut [u8], f: &Found) -> bool {
    let Some(s) = STATE.lock().as_ref().and_then(|s| s.build.structure("struct dl_find_object").ok()) else { return false };
    out.fill(0);
    [("dlfo_map_start", f.start), ("dlfo_map_end", f.end), ("dlfo_link_map", f.link_map), ("dlfo_eh_frame", f.eh_frame)]
        .into_iter()
        .all(|(n, v)| set(out, s, n, v as u64).is_ok())
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
    if let Some((start, len)) = d.span() {
        return (start, start + len, true);
    }
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
    if lo == u64::MAX {
        return (0, 0, false);
    }
    (d.img.addr(lo), d.img.addr(hi), contiguous)
}

/// Build the glibc link maps of every object in the registry (load order,
/// guardld last) and publish them in `_dl_ns[0]`; relocate their dynamic
/// sections' address entries in place as glibc does. Before relocation
/// (libc's IFUNC resolvers may ask for them), after the TLS layout.
pub fn build_maps(reg: &Registry, page: u64) -> Result<(), String> {
    let mut g = STATE.lock();
    let s = g.as_mut().ok_or("no glibc state")?;
    let b = s.build;
    let lm = s.lm;
    let rs = b.structure("struct rtld_global").map_err(|e| alloc::format!("{e}"))?;
    let own = at(rs, "_dl_rtld_map")?;
    let words = lm.size.div_ceil(8);
    let order: Vec<usize> = reg.iter().filter(|(_, d)| !d.is_loader()).chain(reg.iter().filter(|(_, d)| d.is_loader())).map(|(i, _)| i).collect();
    let mut maps = Vec::with_capacity(order.len());
    for &i in &order {
        let d = &reg[i];
        let (start, end, _) = extent(d, page);
        let eh = phdrs(d).iter().find(|p| p.p_type == PT_GNU_EH_FRAME).map_or(0, |p| d.img.addr(p.p_vaddr));
        let (addr, mem) = if d.is_loader() {
            (exports::r_addr() + own.offset, Vec::new())
        } else {
            let mut m = alloc::vec![0u64; words].into_boxed_slice();
            let a = m.as_mut_ptr() as usize;
            (a, alloc::vec![m])
        };
        maps.push(Map { dso: i, lm: addr, start, end, eh_frame: eh, tls_offset: d.tls_slot.map(|t| t.offset), _mem: mem });
    }
    let main_lm = maps.first().map(|m| m.lm).ok_or("no objects")?;
    // The main searchlist: the global scope's link maps.
    let scope: Vec<u64> = reg.scope.iter().filter_map(|&i| maps.iter().find(|m| m.dso == i)).map(|m| m.lm as u64).collect();
    let mut r_list = scope.clone().into_boxed_slice();
    let r_list_addr = r_list.as_mut_ptr() as u64;
    let searchlist = at(lm, "l_searchlist")?.offset;
    let lt_exec = b.constant("LT_EXECUTABLE").map_err(|e| alloc::format!("{e}"))? as u64;
    let lt_lib = b.constant("LT_LIBRARY").map_err(|e| alloc::format!("{e}"))? as u64;
    let n = maps.len();
    for k in 0..n {
        let d = &reg[maps[k].dso];
        let prev = if k == 0 { 0 } else { maps[k - 1].lm };
        let next = if k + 1 == n { 0 } else { maps[k + 1].lm };
        let (_, _, contiguous) = extent(d, page);
        let mut libname = alloc::vec![0u64; 3].into_boxed_slice();
        let name_ptr: u64 = if d.is_program() { c"".as_ptr() as u64 } else { d.path.as_ptr() as u64 };
        libname[0] = match (d.is_program(), d.soname) {
            (true, _) | (_, None) => name_ptr,
            (false, Some(_)) => d.dyn_.soname.and_then(|o| d.string(o)).map_or(name_ptr, |s| s.as_ptr() as u64),
        };
        let libname_addr = libname.as_ptr() as u64;
        let mut scope_mem_extra = Vec::new();
        {
            let (this, map_start, map_end, dso) = (maps[k].lm, maps[k].start, maps[k].end, maps[k].dso);
            let buf: &mut [u8] = if d.is_loader() {
                let o = own.offset;
                &mut s.r[o..o + lm.size]
            } else {
                &mut words_as_bytes_mut(&mut maps[k]._mem[0])[..lm.size]
            };
            let tls = d.tls.filter(|_| d.tls_slot.is_some());
            let vals: [(&'static str, u64); 14] = [
                ("l_addr", d.img.bias as u64),
                ("l_name", name_ptr),
                ("l_ld", d.dyn_addr as u64),
                ("l_next", next as u64),
                ("l_prev", prev as u64),
                ("l_real", this as u64),
                ("l_libname", libname_addr),
                ("l_phdr", d.phdr_addr as u64),
                ("l_phnum", d.phnum as u64),
                ("l_map_start", map_start as u64),
                ("l_map_end", map_end as u64),
                ("l_text_end", text_end(d) as u64),
                ("l_tls_modid", d.tls_slot.map_or(0, |t| t.modid) as u64),
                ("l_tls_offset", d.tls_slot.map_or(0, |t| t.offset) as u64),
            ];
            for (name, v) in vals {
                set(buf, lm, name, v)?;
            }
            if let Some(p) = tls {
                set(buf, lm, "l_tls_blocksize", p.p_memsz)?;
                set(buf, lm, "l_tls_align", p.p_align.max(1))?;
                set(buf, lm, "l_tls_firstbyte_offset", p.p_vaddr & (p.p_align.max(1) - 1))?;
                set(buf, lm, "l_tls_initimage", d.img.addr(p.p_vaddr) as u64)?;
                set(buf, lm, "l_tls_initimage_size", p.p_filesz)?;
            }
            set(buf, lm, "l_type", if d.is_program() { lt_exec } else { lt_lib })?;
            set(buf, lm, "l_relocated", 1)?;
            set(buf, lm, "l_init_called", 1)?;
            set(buf, lm, "l_global", reg.scope.contains(&dso) as u64)?;
            set(buf, lm, "l_contiguous", contiguous as u64)?;
            if d.is_program() {
                set(buf, lm, "l_main_map", 1)?;
                set(buf, lm, "l_searchlist.r_list", r_list_addr)?;
                set(buf, lm, "l_searchlist.r_nlist", scope.len() as u64)?;
            }
            if let Some((start, len)) = d.relro {
                set(buf, lm, "l_relro_addr", d.img.addr(start) as u64)?;
                set(buf, lm, "l_relro_size", len)?;
            }
            if let Some((dev, ino)) = d.identity() {
                set(buf, lm, "l_file_id.dev", dev)?;
                set(buf, lm, "l_file_id.ino", ino)?;
            }
            // The scope: the global searchlist, then the object's own.
            let scope_mem = at(lm, "l_scope_mem")?;
            set(buf, lm, "l_scope_max", (scope_mem.size / 8) as u64)?;
            let _ = put(buf, At { offset: scope_mem.offset, size: 8, bits: None }, (main_lm + searchlist) as u64);
            set(buf, lm, "l_scope", (this + scope_mem.offset) as u64)?;
            let local = at(lm, "l_local_scope")?;
            let _ = put(buf, At { offset: local.offset, size: 8, bits: None }, (this + searchlist) as u64);
            hash_fields(d, buf, lm)?;
            dynamic_info(b, d, buf, lm)?;
            scope_mem_extra.push(libname);
        }
        maps[k]._mem.extend(scope_mem_extra);
    }
    if let Some(m) = maps.first_mut() {
        m._mem.push(r_list);
    }
    // _dl_ns[0], RO's initial searchlist.
    let ns = b.structure("struct link_namespaces").map_err(|e| alloc::format!("{e}"))?;
    let ns0 = at(rs, "_dl_ns")?.offset;
    let libc = maps.iter().find(|m| reg[m.dso].soname == Some(b"libc.so.6")).map_or(0, |m| m.lm);
    let nsbuf = &mut s.r[ns0..ns0 + ns.size];
    set(nsbuf, ns, "_ns_loaded", main_lm as u64)?;
    set(nsbuf, ns, "_ns_nloaded", n as u64)?;
    set(nsbuf, ns, "_ns_main_searchlist", (main_lm + searchlist) as u64)?;
    set(nsbuf, ns, "libc_map", libc as u64)?;
    let ros = b.structure("struct rtld_global_ro").map_err(|e| alloc::format!("{e}"))?;
    set(s.ro, ros, "_dl_initial_searchlist.r_list", r_list_addr)?;
    set(s.ro, ros, "_dl_initial_searchlist.r_nlist", scope.len() as u64)?;
    let stack = reg.program().map(|p| &reg[p]).and_then(|p| phdrs(p).iter().find(|h| h.p_type == PT_GNU_STACK).map(|h| h.p_flags));
    if let Some(flags) = stack {
        set(s.r, rs, "_dl_stack_flags", flags as u64)?;
    }
    s.maps = maps;
    Ok(())
}

/// The end of an object's executable segments.
fn text_end(d: &Dso) -> usize {
    phdrs(d).iter().filter(|p| p.p_type == PT_LOAD && p.p_flags & PF_X != 0).map(|p| d.img.addr(p.p_vaddr.saturating_add(p.p_memsz))).max().unwrap_or(0)
}

/// The hash-table fields of a link map, as glibc's _dl_setup_hash.
fn hash_fields(d: &Dso, buf: &mut [u8], lm: &Struct) -> Result<(), String> {
    let u32s = |vaddr: u64, n: u64| d.img.table::<u32>(vaddr, n);
    if let Some(h) = d.dyn_.gnu_hash {
        let Some(&[nbuckets, symbias, bitmask_nwords, shift]) = u32s(h, 4) else { return Ok(()) };
        let bitmask = h + 16;
        let buckets = bitmask + 8 * bitmask_nwords as u64;
        set(buf, lm, "l_nbuckets", nbuckets as u64)?;
        set(buf, lm, "l_gnu_bitmask_idxbits", bitmask_nwords.wrapping_sub(1) as u64)?;
        set(buf, lm, "l_gnu_shift", shift as u64)?;
        set(buf, lm, "l_gnu_bitmask", d.img.addr(bitmask) as u64)?;
        set(buf, lm, "l_gnu_buckets", d.img.addr(buckets) as u64)?;
        let chain_zero = d.img.addr(buckets + 4 * nbuckets as u64).wrapping_sub(4 * symbias as usize);
        set(buf, lm, "l_gnu_chain_zero", chain_zero as u64)?;
    } else if let Some(h) = d.dyn_.hash {
        let Some(&[nbuckets, _]) = u32s(h, 2) else { return Ok(()) };
        set(buf, lm, "l_nbuckets", nbuckets as u64)?;
        set(buf, lm, "l_buckets", d.img.addr(h + 8) as u64)?;
        set(buf, lm, "l_chain", d.img.addr(h + 8 + 4 * nbuckets as u64) as u64)?;
    }
    Ok(())
}

/// `l_info`: a pointer to the (last) dynamic entry of each tag, with the
/// address entries glibc relocates in place relocated here too.
fn dynamic_info(b: &Build, d: &Dso, buf: &mut [u8], lm: &Struct) -> Result<(), String> {
    let info = at(lm, "l_info")?;
    let base = d.dyn_addr.wrapping_sub(d.img.bias) as u64;
    let mut k = 0u64;
    let mut slots: Vec<(usize, u64, i64)> = Vec::new();
    while let Some(&[e]) = d.img.table::<Dyn>(base + 16 * k, 1) {
        if e.d_tag == DT_NULL || k > 4096 {
            break;
        }
        if let Some(idx) = b.l_info_index(e.d_tag as u64) {
            slots.retain(|s| s.0 != idx);
            slots.push((idx, base + 16 * k, e.d_tag));
        }
        k += 1;
    }
    for (idx, vaddr, tag) in slots {
        let slot = info.element(idx, 8).ok_or("l_info index outside l_info")?;
        let _ = put(buf, slot, d.img.addr(vaddr) as u64);
        if d.img.bias != 0 && ADJUSTED.contains(&tag)
            && let Some(v) = d.img.read_writable_u64(vaddr + 8)
        {
            d.img.write_u64(vaddr + 8, v.wrapping_add(d.img.bias as u64));
        }
    }
    Ok(())
}

/// Link the glibc maps into `_r_debug` (gdb reads the public head of each).
pub fn debugger_head() -> Option<usize> {
    STATE.lock().as_ref()?.maps.first().map(|m| m.lm)
}

/// Whether `d` (a loaded libc.so.6) is the libc of `build`: its build ID,
/// from its PT_NOTE segments in memory.
pub fn libc_build(d: &Dso) -> Option<&'static Build> {
    const PT_NOTE: u32 = 4;
    phdrs(d).iter().filter(|p| p.p_type == PT_NOTE && p.p_filesz <= 1 << 12).find_map(|p| d.img.bytes(p.p_vaddr, p.p_filesz).and_then(crate::elf::note::gnu_build_id).and_then(super::by_libc))
}
