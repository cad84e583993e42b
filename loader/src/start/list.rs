//! `guardld --list` / LD_TRACE_LOADED_OBJECTS=1: each object with its path
//! and load address, like ldd, plus the VMAs it occupies (counted from
//! /proc/self/maps, not predicted) and the padding mode.

use crate::error::Bytes;
use crate::link::Registry;
use crate::map::Padding;
use alloc::vec::Vec;

/// (start, end) of every VMA in /proc/self/maps.
fn vmas() -> Vec<(usize, usize)> {
    let Some(text) = crate::sys::file::read_all(c"/proc/self/maps") else { return Vec::new() };
    guard_abi::maps_entries(&text).flatten().map(|e| (e.start as usize, e.end as usize)).collect()
}

pub fn print(reg: &Registry, padding: Padding, guards: &crate::map::GuardSupport) {
    let maps = vmas();
    let mode = match padding {
        Padding::Guard if guards.refused().is_some() => "prot-none (guards unavailable)",
        Padding::Guard => "guard",
        Padding::ProtNone => "prot-none",
        Padding::Extend => "extend",
    };
    for &i in &reg.scope {
        let d = &reg[i];
        if d.is_program() {
            continue;
        }
        let soname = d.soname.unwrap_or(d.name());
        let (start, len) = d.span().unwrap_or((d.img.bias, 0));
        let n = maps.iter().filter(|&&(a, b)| a < start + len && b > start).count();
        let mut w = crate::log::Writer::stdout();
        use core::fmt::Write;
        if d.is_loader() {
            let _ = writeln!(w, "\t{} (guardld itself)", Bytes(soname));
        } else {
            let _ = writeln!(w, "\t{} => {} ({:#018x}) {} VMAs, padding {}", Bytes(soname), Bytes(d.name()), start, n, mode);
        }
    }
}
