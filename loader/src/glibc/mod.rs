//! glibc builds guardld knows exactly: the layouts of the structures glibc's
//! libc reads from its ld.so (`_rtld_global`, `_rtld_global_ro`, `struct
//! link_map`, `struct pthread`, the TCB, `struct cpu_features`), generated
//! from each build's debug information by glibc/gen-layout.py, never typed
//! by hand. A build is known by the GNU build IDs of its ld.so and libc.so.6
//! (both: `by_pair`);
//! any other build is unknown, and its programs go to glibc's own ld.so
//! with the audit module (start/handover.rs), never to a guessed layout.
//!
//! The glibc personality that will use these layouts (issue 15) is not
//! built yet: today every glibc program is handed over, and
//! GUARDLD_DEBUG=libs says whether its build is one of these.

pub mod debian12;
pub mod dlfcn;
pub mod exports;
pub mod hwcaps;
pub mod state;
pub mod threads;
pub mod cpu;
pub mod layout;
pub mod lazy;
pub mod tunables;

/// `--list-tunables` / `--list-diagnostics`: what glibc's ld.so would
/// print for the machine's glibc build, computed by the personality.
pub fn diagnostics(environ: &[&[u8]], secure: bool, tunables: bool, cpu_lines: bool) {
    let Some(build) = detect(crate::start::handover::GLIBC_LD) else {
        crate::error::fatal("guardld", "this machine's glibc build is not one guardld knows");
    };
    let (mut t, _) = tunables::Tunables::from_environ(build, environ, secure, suid_debug(secure));
    let size = build.structure("struct cpu_features").map_or(0, |s| s.size);
    let mut cpu = alloc::vec![0u8; size];
    if let Err(e) = cpu::init(build, &mut cpu, &mut t) {
        crate::error::fatal("guardld", e);
    }
    if tunables {
        t.print_list();
    }
    if cpu_lines {
        cpu::print_diagnostics(build, &cpu);
    }
}

/// glibc honours glibc.malloc.check in an AT_SECURE process only when
/// /etc/suid-debug exists.
pub fn suid_debug(secure: bool) -> bool {
    secure && rustix::fs::access(c"/etc/suid-debug", rustix::fs::Access::EXISTS).is_ok()
}

/// A name in the generated tables, held inline: a `&'static str` there
/// would be a pointer guardld relocates at start-up, and the hundreds of
/// them kept the tables in writable RELRO pages (a copy-on-write fault
/// each, every start). Inline, the tables are read-only data.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Name {
    len: u8,
    bytes: [u8; Name::MAX],
}

impl Name {
    /// The longest name the generator may emit (it checks).
    pub const MAX: usize = 55;

    pub const fn new(s: &str) -> Name {
        let b = s.as_bytes();
        assert!(b.len() <= Name::MAX, "name longer than Name::MAX");
        let mut bytes = [0u8; Name::MAX];
        let mut i = 0;
        while i < b.len() {
            bytes[i] = b[i];
            i += 1;
        }
        Name { len: b.len() as u8, bytes }
    }

    pub fn as_str(&self) -> &str {
        core::str::from_utf8(self.as_bytes()).unwrap_or("")
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..(self.len as usize).min(Name::MAX)]
    }

    /// Whether this is `b` (the length first: most names differ there).
    #[inline]
    pub fn is(&self, b: &[u8]) -> bool {
        self.len as usize == b.len() && self.as_bytes() == b
    }
}

impl core::fmt::Debug for Name {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl core::fmt::Display for Name {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The key the generated tables are sorted and searched by (gen-layout.py
/// `name_key`): two 64-bit hashes of the name, FNV-1a high and a
/// multiply-rotate hash seeded with the length low. A table's keys sit in
/// their own compact array and are distinct (the generator checks; a test
/// too), so a search touches a few cache lines of keys and never the wide
/// entries, where reading the name back was a cache miss per field looked
/// up (1.3 % of `ls`'s start-up, measured).
pub const fn name_key(b: &[u8]) -> u128 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    let mut g = b.len() as u64;
    let mut i = 0;
    while i < b.len() {
        h = (h ^ b[i] as u64).wrapping_mul(0x0000_0100_0000_01b3);
        g = (g.rotate_left(5) ^ b[i] as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        i += 1;
    }
    ((h as u128) << 64) | g as u128
}

/// The entry of a table sorted by `name_key` whose key is `name`'s.
pub fn find_key(keys: &[u128], name: &[u8]) -> Option<usize> {
    keys.binary_search(&name_key(name)).ok()
}

/// One member of a structure: byte offset, bit offset for bitfields, size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    pub name: Name,
    pub offset: usize,
    /// Bitfields: (bit offset, width) in the storage unit at `offset`.
    pub bits: Option<(u8, u8)>,
    pub size: usize,
}

#[derive(Clone, Copy, Debug)]
pub struct Struct {
    pub name: &'static str,
    pub size: usize,
    /// `name_key` of each member, ascending.
    pub keys: &'static [u128],
    /// Members in the order of `keys`; nested ones as `outer.inner`.
    pub fields: &'static [Field],
}

impl Struct {
    /// The member named `name`, by bisection of the keys.
    pub fn field(&self, name: &str) -> Option<&'static Field> {
        let f = self.fields.get(find_key(self.keys, name.as_bytes())?)?;
        debug_assert!(f.name.is(name.as_bytes()), "{}: key of {name} found {}", self.name, f.name);
        Some(f)
    }
}

/// A glibc build and its layouts.
#[derive(Clone, Copy, Debug)]
pub struct Build {
    /// The distribution's package version (Debian's libc6).
    pub package: &'static str,
    /// NT_GNU_BUILD_ID of its ld.so and libc.so.6, lower-case hex.
    pub ld_so_build_id: &'static str,
    pub libc_build_id: &'static str,
    pub structs: &'static [Struct],
    /// `name_key` of each constant, ascending.
    pub const_keys: &'static [u128],
    /// Enumerators and sizes from the debug information, in that order.
    pub consts: &'static [(Name, i64)],
    /// The static initializers of `_rtld_global` and `_rtld_global_ro` in
    /// the build's ld.so: nonzero words (offset, value), pointers left out.
    pub r_init: &'static [(usize, u64)],
    pub ro_init: &'static [(usize, u64)],
    /// (dynamic tag, `link_map.l_info` index).
    pub l_info: &'static [(u64, usize)],
    /// ld.so's `tunable_list`, indexed by tunable id.
    pub tunables: &'static [tunables::TunableDef],
    /// ld.so's default search directories (`system_dirs`), in order.
    pub system_dirs: &'static [&'static str],
    /// UNSECURE_ENVVARS: the variables ld.so unsets in an AT_SECURE process.
    pub unsecure_envvars: &'static [&'static str],
    /// `_dl_hwcaps_subdirs`: the glibc-hwcaps/ names, best first, ':'-separated.
    pub hwcaps_subdirs: &'static str,
    /// `_dl_x86_hwcap_flags`: the legacy hwcap bits' names, by bit.
    pub hwcap_flags: &'static [&'static str],
    /// `_dl_x86_platforms`: the platform names glibc may choose.
    pub platforms: &'static [&'static str],
}

/// Every build guardld has layouts for.
pub static KNOWN: &[Build] = &[debian12::BUILD];

/// The default directories of a glibc program's search: the known
/// builds' ld.so `system_dirs`, when they agree (else None: guardld's own
/// list, and a build whose dirs differ is not matched exactly).
pub fn system_dirs() -> Option<&'static [&'static str]> {
    let first = KNOWN.first()?.system_dirs;
    KNOWN.iter().all(|b| b.system_dirs == first).then_some(first)
}

/// The variables glibc's ld.so unsets in an AT_SECURE process: every
/// known build's UNSECURE_ENVVARS (their union), for guardld's own
/// programs, which no build's ld.so would run.
pub fn unsecure_envvars() -> alloc::vec::Vec<&'static str> {
    let mut v: alloc::vec::Vec<&'static str> = KNOWN.iter().flat_map(|b| b.unsecure_envvars.iter().copied()).collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// Whether environment entry `entry` ("NAME=value") sets one of `list`
/// (unsetenv removes only entries with a '=').
pub fn is_unsecure(list: &[&str], entry: &[u8]) -> bool {
    entry.split(|&c| c == b'=').next().is_some_and(|name| name.len() < entry.len() && list.iter().any(|v| v.as_bytes() == name))
}

/// The first EI_ABIVERSION of the GNU OS ABI no known build takes
/// (glibc's LIBC_ABI_MAX, the smallest among them): every object guardld
/// loads is held to it, as glibc's open_verify holds them.
pub fn abi_max() -> u8 {
    KNOWN.iter().filter_map(|b| b.constant_named(b"LIBC_ABI_MAX")).min().map_or(1, |m| m.clamp(1, 255) as u8)
}

/// The known build whose ld.so has this build ID.
pub fn by_ld_so(build_id: &[u8]) -> Option<&'static Build> {
    KNOWN.iter().find(|b| hex_eq(b.ld_so_build_id, build_id))
}

/// The known build whose libc.so.6 has this build ID. The personality
/// replaces ld.so, so the libc it talks to is what must match: a libc.so.6
/// build ID names exactly one package build (and its ld.so).
pub fn by_libc(build_id: &[u8]) -> Option<&'static Build> {
    KNOWN.iter().find(|b| hex_eq(b.libc_build_id, build_id))
}

/// The known build whose ld.so and libc.so.6 both have these build IDs:
/// a layout is used only for exactly the pair it was generated from.
pub fn by_pair(ld_so: &[u8], libc: &[u8]) -> Option<&'static Build> {
    KNOWN.iter().find(|b| hex_eq(b.ld_so_build_id, ld_so) && hex_eq(b.libc_build_id, libc))
}

/// The machine's glibc build, by the build IDs of glibc's ld.so (`ld`)
/// and of the libc.so.6 ld.so.cache names, if guardld knows it.
pub fn detect(ld: &core::ffi::CStr) -> Option<&'static Build> {
    let (ld_id, libc_id) = machine_build_ids(ld);
    by_pair(&ld_id?, &libc_id?)
}

/// The GNU build IDs of glibc's ld.so (`ld`) and of the libc.so.6
/// ld.so.cache names (None where a file or its note is missing).
pub fn machine_build_ids(ld: &core::ffi::CStr) -> (Option<alloc::vec::Vec<u8>>, Option<alloc::vec::Vec<u8>>) {
    let libc = crate::link::search::ld_so_cache().and_then(|c| c.lookup(b"libc.so.6").map(|p| [p, &b"\0"[..]].concat()));
    let libc_id = libc.as_deref().and_then(|p| core::ffi::CStr::from_bytes_until_nul(p).ok()).and_then(crate::elf::note::file_build_id);
    (crate::elf::note::file_build_id(ld), libc_id)
}

fn hex_eq(hex: &str, bytes: &[u8]) -> bool {
    let h = hex.as_bytes();
    h.len() == bytes.len() * 2
        && bytes.iter().enumerate().all(|(i, &b)| {
            let digit = |c: u8| (c as char).to_digit(16);
            digit(h[2 * i]).zip(digit(h[2 * i + 1])).is_some_and(|(hi, lo)| (hi * 16 + lo) as u8 == b)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_by_build_id_only() {
        let b = &debian12::BUILD;
        let id: Vec<u8> = (0..b.ld_so_build_id.len() / 2).map(|i| u8::from_str_radix(&b.ld_so_build_id[2 * i..2 * i + 2], 16).unwrap()).collect();
        assert_eq!(by_ld_so(&id).map(|k| k.package), Some(b.package));
        let mut other = id.clone();
        other[0] ^= 1;
        assert!(by_ld_so(&other).is_none());
        assert!(by_ld_so(&id[..id.len() - 1]).is_none());
        assert!(by_ld_so(&[]).is_none());
        let libc: Vec<u8> = (0..b.libc_build_id.len() / 2).map(|i| u8::from_str_radix(&b.libc_build_id[2 * i..2 * i + 2], 16).unwrap()).collect();
        assert_eq!(by_pair(&id, &libc).map(|k| k.package), Some(b.package));
        assert!(by_pair(&id, &other).is_none(), "an ld.so ID is not a libc ID");
        assert!(by_pair(&other, &libc).is_none());
        assert_eq!(by_libc(&libc).map(|k| k.package), Some(b.package));
        assert!(by_libc(&id).is_none(), "an ld.so ID is not a libc ID");
    }

    #[test]
    fn fields_lie_inside_their_structures() {
        for b in KNOWN {
            for s in b.structs {
                for f in s.fields {
                    assert!(f.offset + f.size <= s.size, "{}.{} past {} bytes", s.name, f.name, s.size);
                }
            }
        }
    }
}
