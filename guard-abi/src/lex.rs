//! Bounds-checked scanning of the kernel's text formats: no indexing that can panic, numbers
//! checked for overflow.

/// Splits off the next space-separated field of `s`: `(field, rest)`, leading spaces skipped,
/// `rest` starting at the space after the field. None if no field is left.
pub fn field(s: &[u8]) -> Option<(&[u8], &[u8])> {
    let s = skip_spaces(s);
    let n = s.iter().position(|&b| b == b' ').unwrap_or(s.len());
    let (f, rest) = s.split_at(n);
    (!f.is_empty()).then_some((f, rest))
}

pub fn skip_spaces(s: &[u8]) -> &[u8] {
    let n = s.iter().position(|&b| b != b' ').unwrap_or(s.len());
    s.split_at(n).1
}

/// A non-empty run of hex digits (either case, no `0x`), as the kernel prints with `%lx`.
pub fn hex(s: &[u8]) -> Option<u64> {
    number(s, 16)
}

/// A non-empty run of decimal digits.
pub fn dec(s: &[u8]) -> Option<u64> {
    number(s, 10)
}

/// Digits only (no sign, no prefix, unlike `from_str_radix`), checked for overflow.
fn number(s: &[u8], radix: u32) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.iter().try_fold(0u64, |acc, &b| {
        let d = (b as char).to_digit(radix)?;
        acc.checked_mul(u64::from(radix))?.checked_add(u64::from(d))
    })
}

/// Splits `s` at the first `sep`: `(before, after)`.
pub fn split_once(s: &[u8], sep: u8) -> Option<(&[u8], &[u8])> {
    let i = s.iter().position(|&b| b == sep)?;
    let (a, b) = s.split_at(i);
    Some((a, b.get(1..)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(hex(b"7fFF"), Some(0x7fff));
        assert_eq!(hex(b"ffffffffffffffff"), Some(u64::MAX));
        assert_eq!(hex(b"10000000000000000"), None);
        assert_eq!(hex(b""), None);
        assert_eq!(hex(b"0x10"), None);
        assert_eq!(hex(b"+1"), None);
        assert_eq!(dec(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(dec(b"18446744073709551616"), None);
        assert_eq!(dec(b"12a"), None);
    }

    #[test]
    fn fields() {
        assert_eq!(field(b"  ab  cd"), Some((&b"ab"[..], &b"  cd"[..])));
        assert_eq!(field(b"   "), None);
        assert_eq!(split_once(b"a-b", b'-'), Some((&b"a"[..], &b"b"[..])));
        assert_eq!(split_once(b"ab", b'-'), None);
    }
}
