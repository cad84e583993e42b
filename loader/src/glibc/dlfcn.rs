//! libc's run-time loading under the glibc personality: what glibc's
//! ld.so does behind RO's `_dl_open`, `_dl_close` and
//! `_dl_lookup_symbol_x` (glibc 2.36 elf/dl-open.c, dl-close.c,
//! dl-lookup.c), over guardld's runtime machinery (`runtime.rs`: link
//! sessions, references, unloading) and the glibc link maps of
//! `state.rs`. The C entry points are in `exports.rs`; everything here is
//! safe code that returns a `DlError` where glibc would call
//! `_dl_signal_error`, and the entry point raises it through libc once
//! nothing of Rust is left alive.
//!
//! ```text
//!  dlopen ─► libc _dl_catch_error ─► dlopen_doit ─► RO _dl_open ─► open()
//!  dlsym  ─► libc _dl_catch_error ─► _dl_sym ─► RO _dl_lookup_symbol_x ─► lookup()
//!  dlclose ─► libc _dl_catch_error ─► RO _dl_close ─► close() ... unload()
//! ```

use crate::elf::symbols::{Name, Version};
use crate::link::LINKER;
use crate::link::init::Calls;
use crate::runtime;
use alloc::vec::Vec;

/// <dlfcn.h> (the public ABI): the binding bits and the flags glibc's
/// `_dl_open` reads.
pub const RTLD_BINDING_MASK: i32 = 0x3;
pub const RTLD_DEEPBIND: i32 = 0x8;
/// <dlfcn.h>: the base namespace, dlmopen's "new namespace"; glibc's
/// private `__LM_ID_CALLER` (dlopen: the caller's namespace).
pub const LM_ID_BASE: i64 = 0;
pub const LM_ID_NEWLM: i64 = -1;
pub const LM_ID_CALLER: i64 = -2;
/// <errno.h>.
const EINVAL: i32 = 22;

/// An error glibc's ld.so would raise with `_dl_signal_error(errcode,
/// objname, occasion, errstring)`: libc's dlerror shows "objname: text"
/// (and strerror(errcode) when it is nonzero).
pub struct DlError {
    pub errcode: i32,
    pub objname: Vec<u8>,
    pub occasion: Option<&'static core::ffi::CStr>,
    pub text: Vec<u8>,
}

impl DlError {
    pub(super) fn new(errcode: i32, objname: &[u8], text: &[u8]) -> Self {
        DlError { errcode, objname: objname.to_vec(), occasion: None, text: text.to_vec() }
    }
}

/// A layout problem after objects were loaded: glibc's structures cannot
/// be kept right, so the process stops (never a wrong answer).
fn layout_fatal(e: alloc::string::String) -> ! {
    crate::error::fatal("guardld", format_args!("glibc personality: {e}"))
}

/// What a successful `_dl_open` returns: the link map (libc's handle)
/// and the initializers to run.
pub struct Opened {
    pub map: usize,
    pub inits: Vec<Calls>,
}

/// glibc's `_dl_open(file, mode, caller, nsid, ...)`, first half: the
/// checks and the link session. `file` is "" for dlopen(NULL) (the
/// program). Ok(None): RTLD_NOLOAD of an object not loaded (dlopen
/// returns NULL, dlerror has nothing to say).
pub fn open(file: &[u8], mode: i32, caller: usize, nsid: i64) -> Result<Option<Loaded>, DlError> {
    // glibc's loader lock is recursive; guardld's is held by the
    // relocation that runs the resolver (a load inside it would wait for
    // itself).
    if crate::link::init::in_resolver() {
        return Err(DlError::new(0, file, IN_RESOLVER));
    }
    if mode & RTLD_BINDING_MASK == 0 {
        return Err(DlError::new(EINVAL, file, b"invalid mode for dlopen()"));
    }
    match nsid {
        LM_ID_BASE | LM_ID_CALLER => {}
        LM_ID_NEWLM => return Err(DlError::new(EINVAL, file, b"guardld: dlmopen: link-map namespaces are not supported by guardld's glibc personality")),
        // glibc: no namespace other than the base one exists yet.
        _ => return Err(DlError::new(EINVAL, file, b"invalid target namespace in dlmopen()")),
    }
    let opened = if file.is_empty() {
        let program = LINKER.lock().reg.program().ok_or_else(|| DlError::new(0, b"", b"no program"))?;
        runtime::OpenedObject { root: program, fresh: Vec::new(), inits: Vec::new(), deepbind: false }
    } else {
        match runtime::open_object(file, mode, caller) {
            Ok(Some(o)) => o,
            Ok(None) => return Ok(None),
            Err(e) => {
                let (obj, text) = e.first.unwrap_or((Vec::new(), e.text));
                return Err(DlError::new(0, &obj, text.as_bytes()));
            }
        }
    };
    Ok(Some(Loaded(opened)))
}

/// Objects `open` loaded and referenced, not yet on glibc's lists.
pub struct Loaded(runtime::OpenedObject);

/// `_dl_open`, second half: the new objects' link maps on glibc's lists
/// (under libc's `_dl_load_write_lock`, which the entry point holds).
pub fn publish(loaded: Loaded) -> Opened {
    let o = loaded.0;
    let mut l = LINKER.lock();
    // glibc marks an object NODELETE when a lookup binds to one of its
    // STB_GNU_UNIQUE definitions (C++ inline statics): its own relocations
    // refer to them, so an object defining one stays (an approximation:
    // glibc also needs the binding).
    for &i in &o.fresh {
        let d = &l.reg[i];
        let unique = d.syms.iter().any(|(_, s)| s.bind() == crate::elf::symbols::STB_GNU_UNIQUE && s.st_shndx != crate::elf::symbols::SHN_UNDEF);
        if unique {
            l.reg[i].dyn_.nodelete = true;
        }
    }
    let page = l.config.as_ref().map_or(4096, |c| c.page_size);
    let map = crate::glibc::state::add_objects(&l.reg, page, &o.fresh, o.root, o.deepbind).unwrap_or_else(|e| layout_fatal(e));
    if o.fresh.iter().any(|&i| l.reg[i].tls_slot.is_some()) {
        // libthread_db finds the new modules in glibc's slotinfo list.
        let modules = crate::tls::LAYOUT.lock().modules.len();
        crate::glibc::state::publish_tls_slotinfo(modules).unwrap_or_else(|e| layout_fatal(e));
    }
    if !o.fresh.is_empty() {
        // The session announced its objects before their glibc link maps
        // were on the list: announce the list again.
        crate::debugger::begin(crate::debugger::RT_ADD);
        crate::debugger::publish(&l.reg);
    }
    Opened { map, inits: o.inits }
}

/// What `_dl_close` leaves to its entry point: run `finis` with the
/// linker lock released, then `unload`, then, if it owns the close, ask
/// `close_again` (a finalizer's own dlclose).
pub use crate::runtime::Closing;

/// glibc's `_dl_close(map)`, first half: the checks, one reference
/// dropped, the finalizers of what is no longer referenced.
pub fn close(map: usize) -> Result<Closing, DlError> {
    use crate::glibc::state::{self, CloseStep};
    if crate::link::init::in_resolver() {
        return Err(DlError::new(0, b"", IN_RESOLVER));
    }
    match state::begin_close(map).unwrap_or_else(|e| layout_fatal(e)) {
        CloseStep::Stays => Ok(Closing::nothing()),
        CloseStep::NotOpen(dso) => {
            // glibc names the object by `l_name`: "" for the program.
            let name = dso.and_then(|i| LINKER.lock().reg.get(i).filter(|d| !d.is_program()).map(|d| d.path.strip_suffix(b"\0").unwrap_or(&d.path).to_vec()));
            Err(DlError::new(0, &name.unwrap_or_default(), b"shared object not open"))
        }
        // An object with C++ thread_local destructors still pending
        // stays, as in glibc.
        CloseStep::Close(dso) => Ok(runtime::close_object(dso, state::tls_dtors_pending)),
    }
}

/// What a dlclose made by the finalizers `close` returned left to collect
/// (`runtime::close_again`).
pub fn close_again() -> Option<Closing> {
    runtime::close_again(crate::glibc::state::tls_dtors_pending)
}

/// `_dl_close`, second half (after the finalizers ran): the link maps
/// off the lists, the objects unmapped, the debugger told.
pub fn unload(c: Closing) {
    runtime::unload_with(&c.gone, |gone| {
        if let Err(e) = crate::glibc::state::remove_objects(gone) {
            layout_fatal(e)
        }
    });
}

/// A `struct r_found_version` request (dlvsym, or a lookup libc makes).
pub struct VersionRequest<'a> {
    pub name: &'a [u8],
    pub hash: u32,
    pub filename: Option<&'a [u8]>,
    /// `hidden`: this version only (libc's dlvsym sets it).
    pub hidden: bool,
}

/// One `_dl_lookup_symbol_x` call.
pub struct Lookup<'a> {
    pub name: &'a [u8],
    /// The referencing link map (named in the error message).
    pub undef_map: usize,
    /// The scope: the `struct r_scope_elem` addresses, in order.
    pub scope: &'a [usize],
    pub version: Option<VersionRequest<'a>>,
    /// RTLD_NEXT: the caller's link map, skipped (and the search starts
    /// at it in the first scope element).
    pub skip_map: usize,
    /// The reference passed in is a weak symbol: a missing definition is
    /// no error (libc's vDSO lookups).
    pub weak: bool,
    /// argv[0], which glibc names for the program (its `l_name` is "").
    pub argv0: &'a [u8],
    /// DL_LOOKUP_RETURN_NEWEST (dlsym): an unversioned request takes an
    /// object's default version, not its oldest.
    pub newest: bool,
    /// ELF_RTYPE_CLASS_PLT (lazy binding): an executable's canonical PLT
    /// address does not define the name.
    pub plt: bool,
    /// DL_LOOKUP_ADD_DEPENDENCY (libc's dlsym with RTLD_DEFAULT): the
    /// definer must outlive `undef_map`'s object (`add_dependency`).
    pub add_dependency: bool,
}

/// glibc's check_match for an unversioned dlsym (DL_LOOKUP_RETURN_NEWEST)
/// in object `d`, given the definition the relocation rule found: a
/// definition with a version index of 2 or more is taken only as the
/// object's one non-hidden versioned definition of the name (its default
/// version); an unversioned one (index 0 or 1) directly.
fn newest(d: &crate::link::dso::Dso, name: &[u8], hit: (usize, &'static crate::elf::pod::Sym)) -> Option<(usize, &'static crate::elf::pod::Sym)> {
    let Some(versym) = d.dyn_.versym else { return Some(hit) };
    let ndx = |i: usize| d.img.table::<u16>(versym + 2 * i as u64, 1).map_or(0, |v| v[0]);
    if ndx(hit.0) & 0x7fff < 2 {
        return Some(hit);
    }
    // The relocation rule took an index-2 definition: look at every
    // definition of the name, along its hash chain (dlsym of any libc
    // function: scanning the whole table made it hundreds of times slower).
    use crate::elf::symbols::Candidate;
    let mut unversioned = None;
    let mut versioned = Vec::new();
    d.syms.each_named(&mut crate::elf::symbols::Name::new(name), |i, sym| {
        if d.syms.candidate(i, sym, None, false) != Candidate::Reject {
            let v = ndx(i);
            if v & 0x7fff < 2 {
                unversioned.get_or_insert((i, sym));
            } else if v & 0x8000 == 0 {
                versioned.push((i, sym));
            }
        }
        false
    });
    unversioned.or(if versioned.len() == 1 { versioned.pop() } else { None })
}

/// glibc's `_dl_lookup_symbol_x`: the defining link map and the address
/// of the definition's `ElfW(Sym)` in that object's own symbol table;
/// Ok(None) for a weak reference not found.
pub fn lookup(q: &Lookup<'_>) -> Result<Option<(usize, usize)>, DlError> {
    use crate::glibc::state;
    match lookup_def(q)? {
        Def::Vdso(found) => Ok(Some(found)),
        Def::Object(dso, sym) => {
            if q.add_dependency
                && let Some(undef) = state::dso_of(q.undef_map)
            {
                add_dependency(undef, dso).map_err(|e| DlError::new(0, b"", e.as_bytes()))?;
            }
            let lm = state::lm_of(dso).ok_or_else(|| DlError::new(0, b"", b"symbol found in an object without a link map"))?;
            Ok(Some((lm, sym as *const crate::elf::pod::Sym as usize)))
        }
        Def::WeakMissing => Ok(None),
    }
}

/// dlopen/dlclose from an IFUNC resolver run while objects are relocated.
const IN_RESOLVER: &[u8] = b"guardld: dlopen and dlclose are not supported inside an IFUNC resolver run during relocation";

/// What `lookup_def` found.
pub enum Def {
    /// In the vDSO: (its link map, the symbol's address).
    Vdso((usize, usize)),
    /// In registry object `usize`.
    Object(usize, &'static crate::elf::pod::Sym),
    /// Nothing, and the reference is weak.
    WeakMissing,
}

/// `lookup`, answering with the registry's object and symbol.
pub fn lookup_def(q: &Lookup<'_>) -> Result<Def, DlError> {
    use crate::glibc::state;
    let ver = q.version.as_ref().map(|v| Version { name: v.name, hash: v.hash, file: v.filename, weak: false, hidden: v.hidden });
    // The vDSO's scope (libc's vDSO lookups, also while libc is being
    // relocated at start-up, with the registry locked): the personality's.
    if let Some(&[elem]) = Some(q.scope)
        && let Some(found) = state::vdso_lookup(elem, q.name, ver.as_ref())
    {
        return match found {
            Some(f) => Ok(Def::Vdso(f)),
            None if q.weak => Ok(Def::WeakMissing),
            None => Err(DlError { errcode: 0, objname: b"linux-vdso.so.1".to_vec(), occasion: Some(c"symbol lookup error"), text: undefined_text(q) }),
        };
    }
    let lists: Vec<Vec<usize>> = q.scope.iter().filter_map(|&e| state::searchlist_objects(e)).collect();
    let skip = (q.skip_map != 0).then(|| state::dso_of(q.skip_map)).flatten();
    let found = crate::link::init::with_registry(|reg| {
        let mut n = Name::new(q.name);
        let mut hit = None;
        'scopes: for (k, list) in lists.iter().enumerate() {
            let start = match skip {
                Some(s) if k == 0 => list.iter().position(|&i| i == s).unwrap_or(0),
                _ => 0,
            };
            for &i in &list[start..] {
                if Some(i) == skip {
                    continue;
                }
                let Some(d) = reg.get(i) else { continue };
                let found = d.syms.lookup(&mut n, ver.as_ref(), q.plt);
                let found = if ver.is_none() && q.newest { found.and_then(|f| newest(d, q.name, f)) } else { found };
                if let Some((_, sym)) = found {
                    let def = reg.unique(q.name, crate::link::lookup::Def { dso: i, sym });
                    hit = Some((def.dso, def.sym));
                    break 'scopes;
                }
            }
        }
        hit
    });
    if let Some((dso, sym)) = found {
        return Ok(Def::Object(dso, sym));
    }
    if q.weak {
        return Ok(Def::WeakMissing);
    }
    // glibc: DSO_FILENAME (undef_map->l_name), "undefined symbol: %s%s%s".
    let who = if q.undef_map == 0 || state::is_program_map(q.undef_map) {
        q.argv0.to_vec()
    } else {
        let dso = state::dso_of(q.undef_map);
        dso.and_then(|i| crate::link::init::with_registry(|reg| reg.get(i).map(|d| d.path.strip_suffix(b"\0").unwrap_or(&d.path).to_vec()))).unwrap_or_default()
    };
    Err(DlError { errcode: 0, objname: who, occasion: Some(c"symbol lookup error"), text: undefined_text(q) })
}

/// glibc's "undefined symbol: NAME[, version V]".
fn undefined_text(q: &Lookup<'_>) -> Vec<u8> {
    let mut text = b"undefined symbol: ".to_vec();
    text.extend_from_slice(q.name);
    if let Some(v) = &q.version {
        text.extend_from_slice(b", version ");
        text.extend_from_slice(v.name);
    }
    text
}

/// The `struct r_found_version` at `bytes`: (name, hash, filename), the
/// strings as addresses.
pub fn version_fields(bytes: &[u8]) -> Option<(usize, u32, usize, bool)> {
    let s = crate::glibc::state::build()?.structure("struct r_found_version").ok()?;
    let f = |n| s.at(n).ok().and_then(|a| crate::glibc::layout::get(bytes, a));
    Some((f("name")? as usize, f("hash")? as u32, f("filename")? as usize, f("hidden")? != 0))
}

/// `sizeof (struct r_found_version)` of the build.
pub fn version_size() -> usize {
    crate::glibc::state::build().and_then(|b| b.structure("struct r_found_version").ok()).map_or(0, |s| s.size)
}

/// Messages `_dl_exception_create` copied (errstring, then objname, in
/// one buffer, as glibc's): libc hands each back to RO's
/// `_dl_error_free` once dlerror has formatted it.
static MESSAGES: crate::sys::lock::SpinLock<Vec<alloc::boxed::Box<[u8]>>> = crate::sys::lock::SpinLock::new(Vec::new());

/// A `struct dl_exception` for (objname, errstring), with the strings
/// copied into a message buffer of guardld's: the bytes to store.
pub fn exception(objname: &[u8], errstring: &[u8]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(errstring.len() + objname.len() + 2);
    buf.extend_from_slice(errstring);
    buf.push(0);
    buf.extend_from_slice(objname);
    buf.push(0);
    let buf = buf.into_boxed_slice();
    let text = buf.as_ptr() as usize;
    let obj = text + errstring.len() + 1;
    MESSAGES.lock().push(buf);
    let Some(s) = crate::glibc::state::build().and_then(|b| b.structure("struct dl_exception").ok()) else { return Vec::new() };
    let mut out = alloc::vec![0u8; s.size];
    let ok = [("objname", obj), ("errstring", text), ("message_buffer", text)]
        .into_iter()
        .all(|(n, v)| s.at(n).is_ok_and(|a| crate::glibc::layout::put(&mut out, a, v as u64)));
    if ok { out } else { Vec::new() }
}

/// RO's `_dl_error_free`: release a message `exception` made (anything
/// else is not guardld's and is left alone).
pub fn free_message(p: usize) {
    let mut m = MESSAGES.lock();
    if let Some(k) = m.iter().position(|b| b.as_ptr() as usize == p) {
        m.swap_remove(k);
    }
}

/// dlinfo RTLD_DI_SERINFO: the directories glibc's `_dl_rtld_di_serinfo`
/// reports for the object whose link map is `map`, in its order: the
/// DT_RPATH chain (the object's, its loaders', the program's; only
/// without a DT_RUNPATH), LD_LIBRARY_PATH, the DT_RUNPATH, ld.so's
/// default directories. Each group without repeats, trailing slashes
/// dropped, as glibc's `fillin_rpath` stores them.
pub fn search_path(map: usize) -> Vec<Vec<u8>> {
    let Some(dso) = crate::glibc::state::dso_of(map) else { return Vec::new() };
    let system = crate::glibc::state::build().map_or(&[][..], |b| b.system_dirs);
    let l = LINKER.lock();
    let (reg, Some(cfg)) = (&l.reg, l.config.as_ref()) else { return Vec::new() };
    let mut out = Vec::new();
    let mut group = |dirs: Vec<Vec<u8>>| {
        let mut seen: Vec<Vec<u8>> = Vec::new();
        for mut d in dirs {
            while d.len() > 1 && d.ends_with(b"/") {
                d.pop();
            }
            if !seen.contains(&d) {
                seen.push(d);
            }
        }
        out.extend(seen);
    };
    let paths = |i: usize, tag: Option<u64>| {
        let d = &reg[i];
        let mut v = Vec::new();
        if let Some(p) = tag.and_then(|o| d.string(o)) {
            crate::link::search::split_path(p, d.origin.as_deref(), cfg.secure, &mut v);
        }
        v
    };
    let d = &reg[dso];
    if d.dyn_.runpath.is_none() {
        let mut at = Some(dso);
        let mut steps = 0;
        while let Some(i) = at.filter(|_| steps <= reg.slots()) {
            group(paths(i, reg[i].dyn_.rpath));
            at = reg[i].needed_by;
            steps += 1;
        }
        if let Some(p) = reg.program().filter(|&p| p != dso && !reg[p].by_dlopen()) {
            group(paths(p, reg[p].dyn_.rpath));
        }
    }
    group(cfg.library_path.clone());
    group(paths(dso, d.dyn_.runpath));
    // DF_1_NODEFLIB drops the default directories (glibc's add_path).
    if !d.dyn_.nodeflib {
        group(system.iter().map(|s| s.as_bytes().to_vec()).collect());
    }
    out
}

/// Fill a `Dl_serinfo` (`buf`, at address `base`, `dls_size` bytes) as
/// glibc's `_dl_rtld_di_serinfo` does: counting, `dls_cnt` and
/// `dls_size` (the structure with its strings); else the entries and
/// their strings after the `dls_cnt` entries the caller's `dls_cnt` says.
/// False: a layout problem.
pub fn fill_serinfo(buf: &mut [u8], base: usize, dirs: &[Vec<u8>], counting: bool) -> bool {
    use crate::glibc::layout::{get, put};
    let Some(b) = crate::glibc::state::build() else { return false };
    let (Ok(si), Ok(sp)) = (b.structure("Dl_serinfo"), b.structure("Dl_serpath")) else { return false };
    let (Ok(size_at), Ok(cnt_at), Ok(path_at), Ok(name_at), Ok(flags_at)) =
        (si.at("dls_size"), si.at("dls_cnt"), si.at("dls_serpath"), sp.at("dls_name"), sp.at("dls_flags"))
    else {
        return false;
    };
    // glibc's dirnamelen counts the trailing slash ("/" alone: 1).
    let stored = |d: &[u8]| if d == b"/" { 2 } else { (d.len() + 1).max(2) };
    if counting {
        let strings: usize = dirs.iter().map(|d| stored(d)).sum();
        let total = path_at.offset + dirs.len() * sp.size + strings;
        return put(buf, cnt_at, dirs.len() as u64) && put(buf, size_at, total as u64);
    }
    let Some(cnt) = get(buf, cnt_at) else { return false };
    // dls_cnt comes from the caller's buffer: checked arithmetic.
    let Some(mut str_at) = usize::try_from(cnt).ok().and_then(|c| c.checked_mul(sp.size)).and_then(|b| b.checked_add(path_at.offset)) else { return false };
    for (k, d) in dirs.iter().enumerate().take(cnt as usize) {
        let text: &[u8] = d;
        let Some(dst) = str_at.checked_add(text.len() + 1).and_then(|end| buf.get_mut(str_at..end)) else { return true };
        dst[..text.len()].copy_from_slice(text);
        dst[text.len()] = 0;
        let entry = path_at.offset + k * sp.size;
        let Some(e) = entry.checked_add(sp.size).and_then(|end| buf.get_mut(entry..end)) else { return true };
        if !(put(e, name_at, (base + str_at) as u64) && put(e, flags_at, 0)) {
            return false;
        }
        str_at += text.len() + 1;
    }
    true
}

/// A binding of object `undef` to a definition in `def`, which must
/// outlive it (`Registry::add_dependency`; glibc's NODELETE mark too when
/// `def` becomes one). Inside an IFUNC resolver run by a relocation the
/// registry cannot change: nothing is pinned (the definer is being loaded
/// with the caller, or loaded for good).
pub fn add_dependency(undef: usize, def: usize) -> Result<(), alloc::string::String> {
    if crate::link::init::in_resolver() {
        return Ok(());
    }
    let pin = LINKER.lock().reg.add_dependency(undef, def);
    if pin == crate::link::Pin::NoDelete {
        crate::glibc::state::mark_nodelete(def)?;
    }
    Ok(())
}

/// Whether lookup `flags` ask for DL_LOOKUP_ADD_DEPENDENCY (the build's
/// enumerator).
pub fn adds_dependency(flags: i32) -> bool {
    crate::glibc::state::build().and_then(|b| b.constant("DL_LOOKUP_ADD_DEPENDENCY").ok()).is_some_and(|v| flags as i64 & v != 0)
}

/// Whether lookup `flags` ask for DL_LOOKUP_RETURN_NEWEST (the build's
/// enumerator).
pub fn return_newest(flags: i32) -> bool {
    crate::glibc::state::build().and_then(|b| b.constant("DL_LOOKUP_RETURN_NEWEST").ok()).is_some_and(|v| flags as i64 & v != 0)
}

/// `sizeof (Dl_serinfo)` of the build (the header dlinfo's counting call
/// passes).
pub fn serinfo_header_size() -> usize {
    crate::glibc::state::build().and_then(|b| b.structure("Dl_serinfo").ok()).map_or(0, |s| s.size)
}

/// The `dls_size` a caller's `Dl_serinfo` header says it has.
pub fn serinfo_size(header: &[u8]) -> usize {
    let at = crate::glibc::state::build().and_then(|b| b.structure("Dl_serinfo").ok()).and_then(|s| s.at("dls_size").ok());
    at.and_then(|a| crate::glibc::layout::get(header, a)).unwrap_or(0) as usize
}
