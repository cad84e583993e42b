//! GLIBC_TUNABLES and the tunables' environment aliases, as glibc 2.36's
//! ld.so reads them (elf/dl-tunables.c: `__tunables_init`,
//! `parse_tunables`, `tunable_initialize`, `do_tunable_update_val`), serves
//! them to libc (`__tunable_get_val`) and lists them (`__tunables_print`).
//! The tunables themselves (names, types, bounds, defaults, security
//! levels, aliases) are the build's `tunable_list`, generated from its debug
//! information (`Build::tunables`), never typed here.

use super::Build;
use alloc::boxed::Box;
use alloc::format;
use alloc::vec::Vec;

/// One entry of ld.so's `tunable_list` as the build initialises it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TunableDef {
    pub name: super::Name,
    /// A `TUNABLE_TYPE_*` enumerator (see `Build::consts`).
    pub type_code: i64,
    pub min: i64,
    pub max: i64,
    /// `val.numval` (for strings: NULL unless `default_str`).
    pub default: i64,
    pub default_str: Option<&'static str>,
    /// A `TUNABLE_SECLEVEL_*` enumerator.
    pub security_level: i64,
    /// The environment variable also setting it ("" if none).
    pub env_alias: super::Name,
}

/// What `__tunable_get_val(id, valp, cb)` does for one tunable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TunableVal {
    /// Written to `valp`: the first `len` bytes.
    pub bytes: [u8; 8],
    /// 4 for INT_32 tunables, 8 for the others (strings: a pointer).
    pub len: usize,
    /// Set by the user (or by CPU init): glibc then calls `cb`.
    pub initialized: bool,
    /// The `tunable_val_t` image `cb` gets a pointer to: numval, or the
    /// NUL-terminated string's address (0 for NULL).
    pub raw: u64,
}

/// What `__tunables_init` did to one environment entry (AT_SECURE only
/// changes anything).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EnvEdit {
    Keep,
    /// An SXID_ERASE tunable's alias: erased from the environment.
    Remove,
    /// GLIBC_TUNABLES rewritten without the tunables an AT_SECURE
    /// process may not pass on: the whole new `NAME=value` entry.
    Replace(Vec<u8>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Int32,
    Uint64,
    SizeT,
    Str,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Level {
    SxidErase,
    SxidIgnore,
    None,
}

/// One tunable's live state (glibc's `tunable_t` after initialisation).
#[derive(Clone, Copy, Debug)]
struct Slot {
    def: &'static TunableDef,
    /// None only for a type code the build's enumerators do not name: such
    /// a tunable is never set, served or listed.
    kind: Option<Kind>,
    level: Level,
    num: i64,
    /// NUL-terminated and leaked: libc keeps the pointer for the process.
    string: Option<&'static [u8]>,
    min: i64,
    max: i64,
    initialized: bool,
}

/// The tunables of one process.
pub struct Tunables {
    pub build: &'static Build,
    slots: Vec<Slot>,
}

const GLIBC_TUNABLES: &[u8] = b"GLIBC_TUNABLES";

impl Tunables {
    /// Parse `GLIBC_TUNABLES` (its value, if set) for `build`, as if it were
    /// the only environment variable.
    pub fn new(build: &'static Build, env: Option<&[u8]>, secure: bool) -> Tunables {
        let mut t = Tunables::defaults(build);
        if let Some(v) = env {
            t.parse(until_nul(v), secure);
        }
        t
    }

    /// `__tunables_init(envp)`: GLIBC_TUNABLES and the aliases, in
    /// environment order. `suid_debug`: /etc/suid-debug exists (glibc then
    /// honours glibc.malloc.check in AT_SECURE processes). Returns one edit
    /// per entry of `env`.
    pub fn from_environ(build: &'static Build, env: &[&[u8]], secure: bool, suid_debug: bool) -> (Tunables, Vec<EnvEdit>) {
        let mut t = Tunables::defaults(build);
        if secure
            && suid_debug
            && let Some(s) = t.slot_mut("glibc.malloc.check")
        {
            s.level = Level::None;
        }
        let mut edits: Vec<EnvEdit> = env.iter().map(|_| EnvEdit::Keep).collect();
        // glibc walks the array it erases from: (original index, entry).
        // Entries are cut at their NUL only when they matter (a long
        // LS_COLORS is not scanned to its end).
        let mut live: Vec<(usize, &[u8])> = env.iter().copied().enumerate().collect();
        // Only tunables with an alias are asked for each entry.
        let aliased: Vec<usize> = (0..t.slots.len()).filter(|&id| !t.slots[id].def.env_alias.as_bytes().is_empty()).collect();
        let mut pos = 0;
        while let Some(&(index, entry)) = live.get(pos) {
            pos += 1;
            let Some((name, value)) = split_entry(entry) else { continue };
            if name == GLIBC_TUNABLES {
                let rewritten = t.parse(until_nul(value), secure);
                if secure {
                    edits[index] = EnvEdit::Replace([GLIBC_TUNABLES, &b"="[..], &rewritten[..]].concat());
                }
                continue;
            }
            if t.alias(&aliased, name, until_nul(value), secure) && secure {
                // An SXID_ERASE alias: every such entry from here on goes.
                pos -= 1;
                let (kept, gone): (Vec<_>, Vec<_>) = live.drain(pos..).partition(|&(_, e)| split_entry(e).is_none_or(|(n, _)| n != name));
                live.extend(kept);
                gone.iter().for_each(|&(i, _)| edits[i] = EnvEdit::Remove);
            }
        }
        (t, edits)
    }

    /// Every tunable at its build default.
    fn defaults(build: &'static Build) -> Tunables {
        // The enumerators' codes, resolved once (not per tunable).
        let kinds = KINDS.map(|(n, k)| (enumerator(build, n), k));
        let levels = LEVELS.map(|(n, l)| (enumerator(build, n), l));
        let slots = build.tunables.iter().map(|def| Slot {
            def,
            kind: kinds.iter().find(|(c, _)| *c == Some(def.type_code)).map(|&(_, k)| k),
            // An unnamed level is the strictest.
            level: levels.iter().find(|(c, _)| *c == Some(def.security_level)).map_or(Level::SxidErase, |&(_, l)| l),
            num: def.default,
            string: def.default_str.map(|s| leak_cstr(s.as_bytes())),
            min: def.min,
            max: def.max,
            initialized: false,
        });
        Tunables { build, slots: slots.collect() }
    }

    /// The id (index in `tunable_list`) of the tunable named `name`.
    pub fn id(&self, name: &str) -> Option<usize> {
        self.slots.iter().position(|s| s.def.name.is(name.as_bytes()))
    }

    fn slot_mut(&mut self, name: &str) -> Option<&mut Slot> {
        self.slots.iter_mut().find(|s| s.def.name.is(name.as_bytes()))
    }

    /// `parse_tunables`: `name=value` pairs separated by ':'; a pair with
    /// an unknown name, or text without '=', is skipped. Returns the
    /// AT_SECURE rewrite of the string (empty when not `secure`).
    fn parse(&mut self, s: &[u8], secure: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let mut p = 0;
        loop {
            let rest = s.get(p..).unwrap_or_default();
            let len = rest.iter().position(|&c| c == b'=' || c == b':').unwrap_or(rest.len());
            match rest.get(len) {
                None => break,
                Some(b':') => {
                    p += len + 1;
                    continue;
                }
                Some(_) => {}
            }
            let vrest = rest.get(len + 1..).unwrap_or_default();
            let vlen = vrest.iter().position(|&c| c == b':').unwrap_or(vrest.len());
            self.set_pair(rest.get(..len).unwrap_or_default(), vrest.get(..vlen).unwrap_or_default(), secure, &mut out);
            if vlen == vrest.len() {
                break;
            }
            p += len + 1 + vlen + 1;
        }
        out
    }

    /// One pair of GLIBC_TUNABLES. In an AT_SECURE process, SXID_ERASE
    /// tunables are dropped from the rewrite and only SXID_NONE ones set.
    fn set_pair(&mut self, name: &[u8], value: &[u8], secure: bool, out: &mut Vec<u8>) {
        let Some(id) = self.slots.iter().position(|s| s.def.name.as_bytes() == name) else { return };
        let level = self.slots[id].level;
        if secure {
            if level != Level::SxidErase {
                if !out.is_empty() {
                    out.push(b':');
                }
                out.extend_from_slice(name);
                out.push(b'=');
                out.extend_from_slice(value);
            }
            if level != Level::None {
                return;
            }
        }
        self.initialize(id, value);
    }

    /// An environment entry `name=value` that may be a tunable's alias:
    /// the first alias match not yet set takes it. Returns whether it
    /// must be erased (an SXID_ERASE alias in an AT_SECURE process).
    fn alias(&mut self, aliased: &[usize], name: &[u8], value: &[u8], secure: bool) -> bool {
        let mut erase = false;
        // Every environment entry is asked: compare names without copying
        // the slots, only those of tunables with an alias (`aliased`, in
        // id order).
        for &id in aliased {
            let s = &self.slots[id];
            if s.initialized || !s.def.env_alias.is(name) || name.is_empty() {
                continue;
            }
            if secure {
                erase |= s.level == Level::SxidErase;
                if s.level != Level::None {
                    continue;
                }
            }
            self.initialize(id, value);
            break;
        }
        erase
    }

    /// `tunable_initialize`: a string is taken as is, a number through
    /// ld.so's `_dl_strtoul` and the tunable's bounds.
    fn initialize(&mut self, id: usize, value: &[u8]) {
        let Some(s) = self.slots.get_mut(id) else { return };
        match s.kind {
            Some(Kind::Str) => {
                s.string = Some(leak_cstr(value));
                s.initialized = true;
            }
            Some(_) => self.update(id, strtoul(value) as i64, None, None),
            None => {}
        }
    }

    /// `do_tunable_update_val`: bounds may only narrow (inconsistent ones
    /// are ignored); a value outside them is dropped.
    fn update(&mut self, id: usize, val: i64, minp: Option<i64>, maxp: Option<i64>) {
        let Some(s) = self.slots.get_mut(id) else { return };
        let Some(kind) = s.kind else { return };
        if kind == Kind::Str {
            return; // CPU init sets numbers only
        }
        let unsigned = kind != Kind::Int32;
        let lt = |a: i64, b: i64| if unsigned { (a as u64) < (b as u64) } else { a < b };
        let (mut min, mut max) = (minp.unwrap_or(s.min), maxp.unwrap_or(s.max));
        if lt(min, s.min) {
            min = s.min;
        }
        if lt(s.max, max) {
            max = s.max;
        }
        if lt(max, min) {
            (min, max) = (s.min, s.max);
        }
        if lt(val, min) || lt(max, val) {
            return;
        }
        (s.num, s.min, s.max, s.initialized) = (val, min, max, true);
    }

    /// `__tunable_get_val(id, ...)`: what to write to `valp` and pass to
    /// the callback. None for an id the build does not have.
    pub fn get_val(&self, id: usize) -> Option<TunableVal> {
        let s = self.slots.get(id)?;
        let kind = s.kind?;
        let raw = match kind {
            Kind::Str => s.string.map_or(0, |v| v.as_ptr() as usize as u64),
            _ => s.num as u64,
        };
        let (bytes, len) = match kind {
            Kind::Int32 => {
                let mut b = [0; 8];
                b[..4].copy_from_slice(&(s.num as i32).to_le_bytes());
                (b, 4)
            }
            _ => (raw.to_le_bytes(), 8),
        };
        Some(TunableVal { bytes, len, initialized: s.initialized, raw })
    }

    /// TUNABLE_GET of a numeric tunable: its value, set or default.
    pub fn value(&self, name: &str) -> Option<u64> {
        let s = &self.slots[self.id(name)?];
        matches!(s.kind, Some(Kind::Int32 | Kind::Uint64 | Kind::SizeT)).then_some(s.num as u64)
    }

    /// The `--list-tunables` text (`__tunables_print`).
    pub fn list(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for s in &self.slots {
            let name = s.def.name;
            let line = match (s.kind, s.string) {
                (None, _) => continue,
                (Some(Kind::Str), None) => format!("{name}:\n"),
                (Some(Kind::Str), Some(v)) => {
                    out.extend_from_slice(format!("{name}: ").as_bytes());
                    out.extend_from_slice(until_nul(v));
                    out.push(b'\n');
                    continue;
                }
                (Some(Kind::Int32), _) => format!("{name}: {} (min: {}, max: {})\n", s.num as i32, s.min as i32, s.max as i32),
                (Some(_), _) => format!("{name}: {:#x} (min: {:#x}, max: {:#x})\n", s.num as u64, s.min as u64, s.max as u64),
            };
            out.extend_from_slice(line.as_bytes());
        }
        out
    }

    /// Print them as `ld.so --list-tunables` does.
    pub fn print_list(&self) {
        crate::sys::write_fd(1, &self.list());
    }
}

impl super::cpu::CpuTunables for Tunables {
    fn num(&self, name: &str) -> Option<u64> {
        let s = &self.slots[self.id(name)?];
        (s.initialized && s.kind != Some(Kind::Str)).then_some(s.num as u64)
    }
    fn string(&self, name: &str) -> Option<&[u8]> {
        let s = &self.slots[self.id(name)?];
        s.initialized.then_some(until_nul(s.string?))
    }
    fn set_bounds(&mut self, name: &str, val: u64, min: u64, max: u64) {
        if let Some(id) = self.id(name) {
            self.update(id, val as i64, Some(min as i64), Some(max as i64));
        }
    }
}

/// The kind a type code names, by the build's enumerators.
/// The type enumerators of the build's `tunable_type_code_t`.
const KINDS: [(&str, Kind); 4] = [
    ("TUNABLE_TYPE_INT_32", Kind::Int32),
    ("TUNABLE_TYPE_UINT_64", Kind::Uint64),
    ("TUNABLE_TYPE_SIZE_T", Kind::SizeT),
    ("TUNABLE_TYPE_STRING", Kind::Str),
];

/// The security-level enumerators.
const LEVELS: [(&str, Level); 3] = [
    ("TUNABLE_SECLEVEL_SXID_ERASE", Level::SxidErase),
    ("TUNABLE_SECLEVEL_SXID_IGNORE", Level::SxidIgnore),
    ("TUNABLE_SECLEVEL_NONE", Level::None),
];

fn enumerator(build: &Build, name: &str) -> Option<i64> {
    build.constant_named(name.as_bytes())
}

/// `NAME=value` (glibc's get_next_env skips entries without '=').
fn split_entry(entry: &[u8]) -> Option<(&[u8], &[u8])> {
    let eq = entry.iter().position(|&c| c == b'=' || c == 0).filter(|&i| entry[i] == b'=')?;
    Some((&entry[..eq], &entry[eq + 1..]))
}

/// A C string ends at its first NUL.
fn until_nul(s: &[u8]) -> &[u8] {
    s.iter().position(|&c| c == 0).map_or(s, |n| &s[..n])
}

/// A NUL-terminated copy that lives as long as the process: libc keeps
/// string tunables' pointers.
fn leak_cstr(s: &[u8]) -> &'static [u8] {
    let v: Vec<u8> = until_nul(s).iter().copied().chain([0]).collect();
    Box::leak(v.into_boxed_slice())
}

/// ld.so's `_dl_strtoul` (elf/dl-misc.c): optional blanks and sign, then
/// decimal, 0-octal or 0x-hex digits up to the first other character;
/// no digit gives 0, overflow (by its conservative test) UINT64_MAX.
fn strtoul(s: &[u8]) -> u64 {
    let at = |i: usize| s.get(i).copied().unwrap_or(0);
    let mut i = s.iter().position(|&c| c != b' ' && c != b'\t').unwrap_or(s.len());
    let negative = at(i) == b'-';
    if negative || at(i) == b'+' {
        i += 1;
    }
    if !at(i).is_ascii_digit() {
        return 0;
    }
    let mut base = 10;
    if at(i) == b'0' {
        if (at(i + 1) | 0x20) == b'x' {
            base = 16;
            i += 2;
        } else {
            base = 8;
        }
    }
    let mut result: u64 = 0;
    while let Some(d) = (at(i) as char).to_digit(base) {
        let d = u64::from(d);
        if result >= (u64::MAX - d) / u64::from(base) {
            return u64::MAX;
        }
        result = result * u64::from(base) + d;
        i += 1;
    }
    if negative { result.wrapping_neg() } else { result }
}

#[cfg(test)]
mod tests {
    use super::super::cpu::CpuTunables;
    use super::super::{KNOWN, debian12};
    use super::*;

    fn build() -> &'static Build {
        &debian12::BUILD
    }

    fn parsed(s: &str) -> Tunables {
        Tunables::new(build(), Some(s.as_bytes()), false)
    }

    /// (value, min, max, initialized) of a numeric tunable.
    fn state(t: &Tunables, name: &str) -> (i64, i64, i64, bool) {
        let s = &t.slots[t.id(name).unwrap()];
        (s.num, s.min, s.max, s.initialized)
    }

    fn line<'a>(list: &'a str, name: &str) -> &'a str {
        list.lines().find(|l| l.starts_with(&format!("{name}:"))).unwrap()
    }

    #[test]
    fn every_tunable_has_a_known_type_and_level() {
        for b in KNOWN {
            let t = Tunables::new(b, None, false);
            assert_eq!(t.slots.len(), b.tunables.len());
            for s in &t.slots {
                assert!(s.kind.is_some(), "{}: type code {}", s.def.name, s.def.type_code);
                assert!(NAMES_LEVELS.iter().any(|n| enumerator(b, n) == Some(s.def.security_level)), "{}", s.def.name);
            }
        }
    }
    const NAMES_LEVELS: [&str; 3] = ["TUNABLE_SECLEVEL_SXID_ERASE", "TUNABLE_SECLEVEL_SXID_IGNORE", "TUNABLE_SECLEVEL_NONE"];

    #[test]
    fn strtoul_is_dl_strtoul() {
        let cases: &[(&str, u64)] = &[
            ("", 0),
            ("a", 0),
            ("12", 12),
            ("  \t12x", 12),
            ("+7", 7),
            ("-1", u64::MAX),
            ("-", 0),
            ("010", 8),
            ("08", 0),
            ("0x1F", 31),
            ("0X1f", 31),
            ("0x", 0),
            ("0xg", 0),
            ("18446744073709551615", u64::MAX),
            // The overflow test is conservative: this fits, yet saturates.
            ("18446744073709551614", u64::MAX),
            ("1844674407370955161", 1844674407370955161),
            ("99999999999999999999", u64::MAX),
            ("-99999999999999999999", u64::MAX),
            ("0xffffffffffffffff", u64::MAX),
            (" 5", 5),
            ("\n5", 0),
        ];
        for &(s, want) in cases {
            assert_eq!(strtoul(s.as_bytes()), want, "{s:?}");
        }
    }

    #[test]
    fn defaults_are_the_builds() {
        let t = Tunables::new(build(), None, false);
        assert_eq!(state(&t, "glibc.rtld.nns"), (4, 1, 16, false));
        assert_eq!(state(&t, "glibc.malloc.check"), (0, 0, 3, false));
        let list = String::from_utf8(t.list()).unwrap();
        assert_eq!(list.lines().count(), build().tunables.len());
        assert_eq!(line(&list, "glibc.rtld.nns"), "glibc.rtld.nns: 0x4 (min: 0x1, max: 0x10)");
        assert_eq!(line(&list, "glibc.malloc.trim_threshold"), "glibc.malloc.trim_threshold: 0x0 (min: 0x0, max: 0xffffffffffffffff)");
        assert_eq!(line(&list, "glibc.gmon.maxarcs"), "glibc.gmon.maxarcs: 1048576 (min: 50, max: 2147483647)");
        assert_eq!(line(&list, "glibc.cpu.hwcaps"), "glibc.cpu.hwcaps:");
    }

    #[test]
    fn pairs_set_tunables_within_bounds() {
        let t = parsed("glibc.malloc.check=2:glibc.rtld.nns=0x10:glibc.malloc.arena_max=0:glibc.pthread.rseq=0");
        assert_eq!(state(&t, "glibc.malloc.check"), (2, 0, 3, true));
        assert_eq!(state(&t, "glibc.rtld.nns"), (16, 1, 16, true));
        assert_eq!(state(&t, "glibc.malloc.arena_max"), (0, 1, -1, false), "below min: ignored");
        assert_eq!(state(&t, "glibc.pthread.rseq"), (0, 0, 1, true));
        let t = parsed("glibc.rtld.nns=17:glibc.malloc.check=-1:glibc.gmon.minarcs=0x80000000");
        assert!(!state(&t, "glibc.rtld.nns").3);
        assert!(!state(&t, "glibc.malloc.check").3, "signed: -1 < 0");
        assert!(!state(&t, "glibc.gmon.minarcs").3, "2^31 > INT_MAX");
        let t = parsed("glibc.malloc.mxfast=-1");
        assert_eq!(state(&t, "glibc.malloc.mxfast"), (-1, 0, -1, true), "unsigned: -1 is SIZE_MAX");
        // Not a number: _dl_strtoul gives 0, which may be in range.
        assert_eq!(state(&parsed("glibc.malloc.check=x"), "glibc.malloc.check"), (0, 0, 3, true));
    }

    #[test]
    fn malformed_strings_set_nothing() {
        for s in ["", "a", "glibc.malloc.check", ":::", "=1", "=", ":=:", "glibc.malloc.check:=1", "glibc.malloc.chec=1", "glibc.malloc.checkk=1", " glibc.malloc.check=1", "glibc.malloc.check =1", "\0glibc.malloc.check=1"] {
            let t = parsed(s);
            assert!(t.slots.iter().all(|s| !s.initialized), "{s:?}");
        }
    }

    #[test]
    fn last_setting_wins_and_values_end_at_colons() {
        let t = parsed("glibc.malloc.check=1:glibc.malloc.check=3::x:glibc.rtld.nns=2=3");
        assert_eq!(state(&t, "glibc.malloc.check").0, 3);
        assert_eq!(state(&t, "glibc.rtld.nns").0, 2, "a value may hold '=': strtoul stops there");
        let t = parsed("glibc.malloc.check=3:glibc.malloc.check=9");
        assert_eq!(state(&t, "glibc.malloc.check"), (3, 0, 3, true), "an invalid repeat leaves the earlier value");
        let t = parsed("glibc.cpu.hwcaps=-AVX2:glibc.cpu.x86_ibt=on:glibc.cpu.hwcaps=x,y=z");
        assert_eq!(t.string("glibc.cpu.hwcaps"), Some(&b"x,y=z"[..]));
        assert_eq!(t.string("glibc.cpu.x86_ibt"), Some(&b"on"[..]));
        let list = String::from_utf8(t.list()).unwrap();
        assert_eq!(line(&list, "glibc.cpu.hwcaps"), "glibc.cpu.hwcaps: x,y=z");
        let t = parsed("glibc.cpu.x86_shstk=");
        assert_eq!(line(&String::from_utf8(t.list()).unwrap(), "glibc.cpu.x86_shstk"), "glibc.cpu.x86_shstk: ");
    }

    #[test]
    fn get_val_is_tunable_get_val() {
        let t = parsed("glibc.malloc.check=3:glibc.malloc.mxfast=0x100:glibc.cpu.hwcaps=abc");
        let id = t.id("glibc.malloc.check").unwrap();
        assert_eq!(t.get_val(id), Some(TunableVal { bytes: [3, 0, 0, 0, 0, 0, 0, 0], len: 4, initialized: true, raw: 3 }));
        let v = t.get_val(t.id("glibc.malloc.mxfast").unwrap()).unwrap();
        assert_eq!((v.bytes, v.len, v.raw), (0x100u64.to_le_bytes(), 8, 0x100));
        let v = t.get_val(t.id("glibc.rtld.nns").unwrap()).unwrap();
        assert_eq!((v.raw, v.initialized), (4, false));
        let v = t.get_val(t.id("glibc.cpu.hwcaps").unwrap()).unwrap();
        assert_eq!((v.len, v.initialized, u64::from_le_bytes(v.bytes)), (8, true, v.raw));
        let s = t.slots[t.id("glibc.cpu.hwcaps").unwrap()].string.unwrap();
        assert_eq!((s.as_ptr() as u64, s), (v.raw, &b"abc\0"[..]));
        let v = t.get_val(t.id("glibc.cpu.x86_ibt").unwrap()).unwrap();
        assert_eq!((v.raw, v.bytes, v.initialized), (0, [0; 8], false), "NULL string");
        assert_eq!(t.get_val(t.slots.len()), None);
    }

    #[test]
    fn secure_drops_erase_and_ignores_ignore() {
        let s = "glibc.malloc.check=1:glibc.malloc.mmap_max=5:junk:glibc.rtld.nns=2:x=1:glibc.malloc.top_pad=7";
        let mut t = Tunables::defaults(build());
        let rewritten = t.parse(s.as_bytes(), true);
        assert_eq!(rewritten, b"glibc.malloc.mmap_max=5:glibc.malloc.top_pad=7");
        assert!(t.slots.iter().all(|s| !s.initialized), "SXID_IGNORE is passed on, not used");
        let (t, edits) = Tunables::from_environ(build(), &[b"A=1", b"GLIBC_TUNABLES=glibc.malloc.check=2"], true, true);
        assert_eq!(state(&t, "glibc.malloc.check").0, 2, "/etc/suid-debug: glibc.malloc.check is SXID_NONE");
        assert_eq!(edits, [EnvEdit::Keep, EnvEdit::Replace(b"GLIBC_TUNABLES=glibc.malloc.check=2".to_vec())]);
    }

    #[test]
    fn aliases_apply_in_environment_order() {
        let env: &[&[u8]] = &[b"MALLOC_ARENA_MAX=3", b"GLIBC_TUNABLES=glibc.malloc.arena_max=5:glibc.malloc.top_pad=1", b"MALLOC_TOP_PAD_=9", b"MALLOC_CHECK_"];
        let (t, edits) = Tunables::from_environ(build(), env, false, false);
        assert_eq!(state(&t, "glibc.malloc.arena_max").0, 5, "GLIBC_TUNABLES overrides an earlier alias");
        assert_eq!(state(&t, "glibc.malloc.top_pad").0, 1, "a later alias does not override");
        assert!(edits.iter().all(|e| *e == EnvEdit::Keep));
        let (t, _) = Tunables::from_environ(build(), &[b"MALLOC_ARENA_MAX=0", b"MALLOC_ARENA_MAX=4"], false, false);
        assert_eq!(state(&t, "glibc.malloc.arena_max").0, 4, "an invalid alias leaves it unset");
    }

    #[test]
    fn secure_erases_erase_aliases() {
        let env: &[&[u8]] = &[b"MALLOC_CHECK_=3", b"B=1", b"MALLOC_CHECK_=2", b"MALLOC_ARENA_MAX=2", b"LD_HWCAP_MASK=1", b"MALLOC_CHECK_", b"GLIBC_TUNABLES=glibc.rtld.nns=2"];
        let (t, edits) = Tunables::from_environ(build(), env, true, false);
        use EnvEdit::*;
        assert_eq!(edits, [Remove, Keep, Remove, Keep, Remove, Keep, Replace(b"GLIBC_TUNABLES=".to_vec())]);
        assert!(t.slots.iter().all(|s| !s.initialized));
        let (t, edits) = Tunables::from_environ(build(), env, true, true);
        assert_eq!(state(&t, "glibc.malloc.check").0, 3);
        assert_eq!(edits[..3], [Keep, Keep, Keep]);
        // What glibc's ld.so left of this environment in a set-user-ID
        // program run by another user (`env` printed it).
        let env: &[&[u8]] = &[
            b"MALLOC_CHECK_=3",
            b"B=1",
            b"MALLOC_CHECK_=2",
            b"MALLOC_ARENA_MAX=2",
            b"LD_HWCAP_MASK=1",
            b"MALLOC_CHECK_",
            b"GLIBC_TUNABLES=glibc.rtld.nns=2:glibc.malloc.mmap_max=5:x=1:glibc.malloc.top_pad=7",
            b"GLIBC_TUNABLES=junk:glibc.malloc.check=1",
        ];
        let (_, edits) = Tunables::from_environ(build(), env, true, false);
        let left: Vec<&[u8]> = env
            .iter()
            .zip(&edits)
            .filter_map(|(&e, edit)| match edit {
                Keep => Some(e),
                Remove => None,
                Replace(v) => Some(v.as_slice()),
            })
            .collect();
        let glibc: &[&[u8]] = &[b"B=1", b"MALLOC_ARENA_MAX=2", b"MALLOC_CHECK_", b"GLIBC_TUNABLES=glibc.malloc.mmap_max=5:glibc.malloc.top_pad=7", b"GLIBC_TUNABLES="];
        assert_eq!(left, glibc);
    }

    #[test]
    fn cpu_bounds_narrow_only() {
        let mut t = parsed("glibc.cpu.x86_rep_movsb_threshold=0x1000");
        assert_eq!(t.num("glibc.cpu.x86_rep_movsb_threshold"), Some(0x1000));
        assert_eq!(t.num("glibc.cpu.x86_data_cache_size"), None);
        assert_eq!(t.value("glibc.cpu.x86_rep_stosb_threshold"), Some(2048));
        t.set_bounds("glibc.cpu.x86_rep_movsb_threshold", 0x840, 0x200, u64::MAX);
        assert_eq!(state(&t, "glibc.cpu.x86_rep_movsb_threshold"), (0x840, 0x200, -1, true));
        t.set_bounds("glibc.cpu.x86_non_temporal_threshold", 0x4000, 0x4040, 0x0fff_ffff_ffff_ffff);
        assert_eq!(state(&t, "glibc.cpu.x86_non_temporal_threshold"), (0, 0, -1, false), "value below the new min: nothing changes");
        t.set_bounds("glibc.rtld.nns", 3, 8, 2);
        assert_eq!(state(&t, "glibc.rtld.nns"), (3, 1, 16, true), "inconsistent bounds: the old ones");
        t.set_bounds("no.such.tunable", 1, 0, 1);
        t.set_bounds("glibc.cpu.hwcaps", 1, 0, 1);
        assert_eq!(t.string("glibc.cpu.hwcaps"), None);
    }

    /// Random strings of tunables' pieces never panic and keep every value
    /// within its bounds; the AT_SECURE rewrite has no SXID_ERASE tunable.
    #[test]
    fn random_strings_are_safe() {
        const PIECES: &[&str] = &["glibc.malloc.check", "glibc.rtld.nns", "glibc.cpu.hwcaps", "glibc.malloc.mxfast", "glibc.malloc.mmap_max", "=", "==", ":", "::", "0", "1", "17", "-1", "0x", "0xffffffffffffffff", "08", " ", "a", "\0", "99999999999999999999"];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20000 {
            let mut s = Vec::new();
            for _ in 0..(x % 12) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                s.extend_from_slice(PIECES[(x % PIECES.len() as u64) as usize].as_bytes());
            }
            for secure in [false, true] {
                let mut t = Tunables::defaults(build());
                let rewritten = t.parse(until_nul(&s), secure);
                for sl in &t.slots {
                    let unsigned = sl.kind != Some(Kind::Int32);
                    let le = |a: i64, b: i64| if unsigned { a as u64 <= b as u64 } else { a <= b };
                    assert!(!sl.initialized || sl.kind == Some(Kind::Str) || (le(sl.min, sl.num) && le(sl.num, sl.max)), "{:?}", String::from_utf8_lossy(&s));
                }
                for pair in rewritten.split(|&c| c == b':').filter(|p| !p.is_empty()) {
                    let name = pair.split(|&c| c == b'=').next().unwrap();
                    let sl = t.slots.iter().find(|sl| sl.def.name.as_bytes() == name).unwrap();
                    assert_ne!(sl.level, Level::SxidErase);
                }
                let _ = t.list();
            }
        }
    }
}
