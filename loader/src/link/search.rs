//! Finding a DT_NEEDED library, in glibc's order: DT_RPATH of the requester
//! and its loaders (only if the requester has no DT_RUNPATH), LD_LIBRARY_PATH,
//! DT_RUNPATH, /etc/ld.so.cache, then the default directories.

use alloc::vec::Vec;

pub const DEFAULT_DIRS: &[&[u8]] =
    &[b"/lib64", b"/usr/lib64", b"/lib/x86_64-linux-gnu", b"/usr/lib/x86_64-linux-gnu", b"/lib", b"/usr/lib"];

/// What `$LIB` and `$PLATFORM` expand to (Debian's multiarch layout, as its glibc).
pub const LIB: &[u8] = b"lib/x86_64-linux-gnu";
pub const PLATFORM: &[u8] = b"x86_64";

/// Expand `$ORIGIN`, `${ORIGIN}`, `$LIB`, `$PLATFORM` in one path element.
/// `origin` is the requester's directory. None: the element must be dropped
/// (unknown origin, or `$ORIGIN` refused under AT_SECURE).
pub fn expand(elem: &[u8], origin: Option<&[u8]>, secure: bool) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(elem.len() + 32);
    let mut i = 0;
    while i < elem.len() {
        if elem[i] == b'$' {
            let rest = &elem[i + 1..];
            let (name, skip): (&[u8], usize) = if let Some(r) = rest.strip_prefix(b"{") {
                let end = r.iter().position(|&c| c == b'}')?;
                (&r[..end], end + 2)
            } else {
                let end = rest.iter().position(|&c| !(c.is_ascii_alphanumeric() || c == b'_')).unwrap_or(rest.len());
                (&rest[..end], end)
            };
            match name {
                b"ORIGIN" => {
                    // glibc refuses $ORIGIN in privileged programs.
                    if secure {
                        return None;
                    }
                    out.extend_from_slice(origin?)
                }
                b"LIB" => out.extend_from_slice(LIB),
                b"PLATFORM" => out.extend_from_slice(PLATFORM),
                _ => return None,
            }
            i += 1 + skip;
        } else {
            out.push(elem[i]);
            i += 1;
        }
    }
    // Under AT_SECURE only absolute directories are searched.
    if secure && !out.starts_with(b"/") {
        return None;
    }
    Some(out)
}

/// glibc's system-wide preload list, read for every program it links.
pub const PRELOAD_FILE: &core::ffi::CStr = c"/etc/ld.so.preload";

/// The names in a preload file's contents, as glibc's ld.so parses it
/// (rtld.c): a '#' blanks the rest of its line; names are separated by
/// ':', ' ', '\t' or '\n'; the text is a C string (a NUL ends it), except
/// that a last name with no separator after it is taken on its own.
pub fn preload_file_names(text: &[u8]) -> Vec<Vec<u8>> {
    let sep = |c: u8| matches!(c, b':' | b' ' | b'\t' | b'\n');
    let mut t = text.to_vec();
    let mut k = 0;
    while k < t.len() {
        if t[k] == b'#' {
            while k < t.len() && t[k] != b'\n' {
                t[k] = b' ';
                k += 1;
            }
        }
        k += 1;
    }
    let cstr = |b: &[u8]| b.split(|&c| c == 0).next().unwrap_or_default().to_vec();
    let (main, last) = match t.last() {
        Some(&c) if !sep(c) => {
            let start = t.iter().rposition(|&c| sep(c)).map_or(0, |p| p + 1);
            (&t[..start.saturating_sub(1)], Some(cstr(&t[start..])))
        }
        _ => (&t[..], None),
    };
    let mut names: Vec<Vec<u8>> = cstr(main).split(|&c| sep(c)).filter(|n| !n.is_empty()).map(<[u8]>::to_vec).collect();
    names.extend(last.filter(|n| !n.is_empty()));
    names
}

/// The names in /etc/ld.so.preload; none when it is absent or unreadable
/// (glibc asks access(R_OK) first, the cheap answer when it is absent).
pub fn preload_file() -> Vec<Vec<u8>> {
    if rustix::fs::access(PRELOAD_FILE, rustix::fs::Access::READ_OK).is_err() {
        return Vec::new();
    }
    let text = crate::sys::file::read_all(PRELOAD_FILE).unwrap_or_default();
    preload_file_names(&text)
}

/// Split a search path (':' or ';' separated, as glibc) into expanded directories.
/// An empty element means the current directory, as in glibc.
pub fn split_path(list: &[u8], origin: Option<&[u8]>, secure: bool, out: &mut Vec<Vec<u8>>) {
    for e in list.split(|&c| c == b':' || c == b';') {
        let e: &[u8] = if e.is_empty() { b"." } else { e };
        if let Some(d) = expand(e, origin, secure) {
            out.push(d);
        }
    }
}

/// The directory part of a path ("." for a bare name).
pub fn dirname(path: &[u8]) -> &[u8] {
    match path.iter().rposition(|&c| c == b'/') {
        Some(0) => b"/",
        Some(i) => &path[..i],
        None => b".",
    }
}

/// The directory of an object opened as `path`, as glibc's
/// `_dl_new_object` makes `l_origin`: a relative path is taken from the
/// current directory (`cwd`, asked only then), and the result is cut at
/// its last '/' without normalising ("./prog" gives "CWD/.").
pub fn origin_dir(path: &[u8], cwd: impl FnOnce() -> Option<Vec<u8>>) -> Option<Vec<u8>> {
    let mut full = Vec::new();
    if !path.starts_with(b"/") {
        full = cwd()?;
        full.push(b'/');
    }
    full.extend_from_slice(path);
    let slash = full.iter().rposition(|&c| c == b'/')?;
    full.truncate(slash.max(1));
    Some(full)
}

/// The current directory, asked once per link session (`forget_cwd` at
/// its start: a program may chdir between dlopens); a program with
/// hundreds of libraries opened by relative paths made as many getcwd
/// calls.
pub fn session_cwd() -> Option<Vec<u8>> {
    let mut cwd = CWD.lock();
    if cwd.is_none() {
        *cwd = Some(rustix::process::getcwd(Vec::new()).ok()?.into_bytes());
    }
    cwd.clone()
}

pub fn forget_cwd() {
    *CWD.lock() = None;
}

static CWD: crate::sys::lock::SpinLock<Option<Vec<u8>>> = crate::sys::lock::SpinLock::new(None);

/// `dir/name` with a terminating NUL, ready for open().
pub fn join(dir: &[u8], name: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(dir.len() + name.len() + 2);
    p.extend_from_slice(dir);
    if !dir.ends_with(b"/") {
        p.push(b'/');
    }
    p.extend_from_slice(name);
    p.push(0);
    p
}

/// `dir`/`sub` (no NUL; `sub` may end in '/').
pub fn subdir(dir: &[u8], sub: &[u8]) -> Vec<u8> {
    let sep: &[u8] = if dir.ends_with(b"/") { b"" } else { b"/" };
    [dir, sep, sub].concat()
}

/// /etc/ld.so.cache in glibc's "new" format (glibc-ld.so.cache1.1).
pub struct Cache {
    data: &'static [u8],
}

const CACHE_MAGIC: &[u8] = b"glibc-ld.so.cache1.1";
const FLAG_ELF_LIBC6: i32 = 0x0003;
const FLAG_X8664_LIB64: i32 = 0x0300;

impl Cache {
    /// Wrap cache bytes; None if they are not a cache of the new format.
    pub fn new(data: &'static [u8]) -> Option<Cache> {
        if !data.starts_with(CACHE_MAGIC) || data.len() < 48 {
            return None;
        }
        let c = Cache { data };
        let n = c.u32(20)? as usize;
        // The entry array must fit in the file.
        (48usize.checked_add(n.checked_mul(24)?)? <= data.len()).then_some(c)
    }

    fn u32(&self, at: usize) -> Option<u32> {
        Some(u32::from_le_bytes(self.data.get(at..at + 4)?.try_into().ok()?))
    }

    fn str_at(&self, off: u32) -> Option<&'static [u8]> {
        let rest = self.data.get(off as usize..)?;
        Some(&rest[..rest.iter().position(|&b| b == 0)?])
    }

    /// The bytes at entry `i`'s key (up to the end of the data: the key
    /// ends at its NUL).
    fn key(&self, i: usize) -> Option<&'static [u8]> {
        self.data.get(self.u32(48 + i * 24 + 4)? as usize..)
    }

    /// The path the cache gives for soname `name`, preferring entries
    /// without a hardware-capability subdirectory. ldconfig writes the
    /// entries sorted by `libcmp`, greatest first, so a bisection finds
    /// the run of entries for `name` (glibc's search_cache does the same);
    /// only exact names are taken.
    pub fn lookup(&self, name: &[u8]) -> Option<&'static [u8]> {
        let n = self.u32(20)? as usize;
        let (mut lo, mut hi) = (0, n);
        let mut hit = None;
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match libcmp(name, self.key(mid)?) {
                core::cmp::Ordering::Equal => {
                    hit = Some(mid);
                    break;
                }
                core::cmp::Ordering::Less => lo = mid + 1,
                core::cmp::Ordering::Greater => hi = mid,
            }
        }
        let mut i = hit?;
        while i > 0 && libcmp(name, self.key(i - 1)?).is_eq() {
            i -= 1;
        }
        let mut best = None;
        while i < n && libcmp(name, self.key(i)?).is_eq() {
            let e = 48 + i * 24;
            i += 1;
            let flags = self.u32(e)? as i32;
            if flags & 0xff != FLAG_ELF_LIBC6 & 0xff || flags & 0xff00 != FLAG_X8664_LIB64 {
                continue;
            }
            let key = self.key(i - 1)?;
            if !key.starts_with(name) || key.get(name.len()) != Some(&0) {
                continue;
            }
            let path = self.str_at(self.u32(e + 8)?)?;
            let hwcap = u64::from_le_bytes(self.data.get(e + 16..e + 24)?.try_into().ok()?);
            if hwcap == 0 {
                return Some(path);
            }
            best.get_or_insert(path);
        }
        best
    }
}

/// ldconfig's order of library names: runs of digits compare as numbers
/// (with C's int arithmetic), other bytes as bytes. `b` ends at its NUL or
/// at the end of the slice, `a` at the end of the slice.
fn libcmp(a: &[u8], b: &[u8]) -> core::cmp::Ordering {
    let at = |s: &[u8], i: usize| s.get(i).copied().unwrap_or(0);
    let b_end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    let b = &b[..b_end];
    let (mut i, mut j) = (0, 0);
    while i < a.len() {
        let (c1, c2) = (a[i], at(b, j));
        if c1.is_ascii_digit() {
            if !c2.is_ascii_digit() {
                return core::cmp::Ordering::Greater;
            }
            let number = |s: &[u8], k: &mut usize| {
                let mut v = 0i32;
                while at(s, *k).is_ascii_digit() {
                    v = v.wrapping_mul(10).wrapping_add(i32::from(at(s, *k) - b'0'));
                    *k += 1;
                }
                v
            };
            let (v1, v2) = (number(a, &mut i), number(b, &mut j));
            if v1 != v2 {
                return v1.wrapping_sub(v2).cmp(&0);
            }
        } else if c2.is_ascii_digit() {
            return core::cmp::Ordering::Less;
        } else if c1 != c2 {
            // C's `char` is signed on x86_64.
            return (c1 as i8).cmp(&(c2 as i8));
        } else {
            i += 1;
            j += 1;
        }
    }
    0i8.cmp(&(at(b, j) as i8))
}

/// /etc/ld.so.cache, mapped read-only for the life of the process; None
/// when absent or not in the format guardld reads.
pub fn ld_so_cache() -> Option<Cache> {
    let f = crate::sys::file::open(c"/etc/ld.so.cache").ok()?;
    if f.size < 48 || f.size > 64 << 20 {
        return None;
    }
    use rustix::fd::AsFd;
    Cache::new(crate::sys::raw::map_readonly_forever(f.fd.as_fd(), f.size as usize)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// glibc's parsing (elf/rtld.c): comments to the end of the line,
    /// four separators, empty names dropped, a last name with no
    /// separator after it kept, nothing after a NUL.
    #[test]
    fn preload_file_is_parsed_as_glibc_parses_it() {
        let text = b"# a comment: /not/this.so\n/lib/a.so:libb.so \t libc.so#x.so\n\n  ::/d.so\n/e.so\0/f.so\n";
        let want: [&[u8]; 5] = [b"/lib/a.so", b"libb.so", b"libc.so", b"/d.so", b"/e.so"];
        assert_eq!(preload_file_names(text), want);
        assert_eq!(preload_file_names(b"last.so"), [&b"last.so"[..]]);
        // A NUL ends the text, but a last name with no separator after it
        // is taken on its own (glibc's `problem` case).
        assert_eq!(preload_file_names(b"a.so\0 b.so"), [&b"a.so"[..], b"b.so"]);
        assert_eq!(preload_file_names(b"a.so b.so\0c.so"), [&b"a.so"[..], b"b.so"]);
        assert!(preload_file_names(b"#only a comment").is_empty());
        assert!(preload_file_names(b"").is_empty());
    }

    /// Every soname of this machine's /etc/ld.so.cache (and names it
    /// lacks) gives by bisection what a scan of every entry gives.
    #[test]
    fn cache_bisection_finds_what_a_full_scan_finds() {
        let Some(c) = ld_so_cache() else {
            println!("skipped: no /etc/ld.so.cache in the new format");
            return;
        };
        let n = c.u32(20).unwrap() as usize;
        let scan = |name: &[u8]| {
            let mut best = None;
            for i in 0..n {
                let e = 48 + i * 24;
                let flags = c.u32(e).unwrap() as i32;
                let key = c.str_at(c.u32(e + 4).unwrap()).unwrap();
                if flags & 0xff != FLAG_ELF_LIBC6 & 0xff || flags & 0xff00 != FLAG_X8664_LIB64 || key != name {
                    continue;
                }
                let path = c.str_at(c.u32(e + 8).unwrap()).unwrap();
                if u64::from_le_bytes(c.data[e + 16..e + 24].try_into().unwrap()) == 0 {
                    return Some(path);
                }
                best.get_or_insert(path);
            }
            best
        };
        let mut found = 0;
        for i in 0..n {
            let key = c.str_at(c.u32(48 + i * 24 + 4).unwrap()).unwrap();
            let want = scan(key);
            found += usize::from(want.is_some());
            assert_eq!(c.lookup(key), want, "{}", String::from_utf8_lossy(key));
        }
        assert!(found > 0, "no entry of this machine's cache found");
        for name in [&b"libc.so"[..], b"libc.so.66", b"libc.so.6.", b"", b"zzz", b"libc.so.06", b"lib\xffc.so"] {
            assert_eq!(c.lookup(name), scan(name), "{}", String::from_utf8_lossy(name));
        }
    }

    #[test]
    fn libcmp_orders_numbers_by_value() {
        use core::cmp::Ordering::*;
        assert_eq!(libcmp(b"libx.so.10", b"libx.so.9\0junk"), Greater);
        assert_eq!(libcmp(b"libx.so.9", b"libx.so.10"), Less);
        assert_eq!(libcmp(b"libx.so.1", b"libx.so.01"), Equal);
        assert_eq!(libcmp(b"libx.so", b"libx.so.1"), Less);
        assert_eq!(libcmp(b"libx.so.1", b"libx.so"), Greater);
        assert_eq!(libcmp(b"liba", b"libb"), Less);
        assert_eq!(libcmp(b"lib1", b"liba"), Greater, "a digit sorts after a non-digit");
    }

    #[test]
    fn expands_tokens() {
        let o = Some(&b"/opt/app"[..]);
        assert_eq!(expand(b"$ORIGIN/lib", o, false).unwrap(), b"/opt/app/lib");
        assert_eq!(expand(b"${ORIGIN}/../x", o, false).unwrap(), b"/opt/app/../x");
        assert_eq!(expand(b"/usr/$LIB", o, false).unwrap(), b"/usr/lib/x86_64-linux-gnu");
        assert_eq!(expand(b"/p/$PLATFORM", o, false).unwrap(), b"/p/x86_64");
        assert_eq!(expand(b"$ORIGIN/lib", o, true), None);
        assert_eq!(expand(b"rel/dir", o, true), None);
        assert_eq!(expand(b"$BOGUS", o, false), None);
    }

    #[test]
    fn splits_and_joins() {
        let mut v = Vec::new();
        split_path(b"/a::/b;c", None, false, &mut v);
        assert_eq!(v, [&b"/a"[..], b".", b"/b", b"c"]);
        assert_eq!(join(b"/a/", b"x.so"), b"/a/x.so\0");
        assert_eq!(dirname(b"/usr/lib/x.so"), b"/usr/lib");
        assert_eq!(dirname(b"x.so"), b".");
        assert_eq!(dirname(b"/x.so"), b"/");
    }

    #[test]
    fn reads_the_system_cache_when_present() {
        // Oracle: ldconfig -p lists what the cache maps libc.so.6 to.
        let Ok(data) = std::fs::read("/etc/ld.so.cache") else { return };
        let Ok(out) = std::process::Command::new("/sbin/ldconfig").arg("-p").output() else { return };
        let text = String::from_utf8_lossy(&out.stdout);
        let want = text.lines().find(|l| l.trim_start().starts_with("libc.so.6 ") && l.contains("x86-64"))
            .and_then(|l| l.split("=> ").nth(1)).map(|s| s.trim().to_string());
        let data: &'static [u8] = Box::leak(data.into_boxed_slice());
        let cache = Cache::new(data).expect("new-format cache");
        assert_eq!(cache.lookup(b"libc.so.6").map(|p| String::from_utf8_lossy(p).into_owned()), want);
        assert!(Cache::new(&data[..30]).is_none());
        assert_eq!(cache.lookup(b"libdoesnotexist.so.9"), None);
    }
}
