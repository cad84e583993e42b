//! A global index of exported symbols, built once per scope.
//!
//! glibc resolves each reference by walking the scope object by object
//! (bloom filter, then hash chain): O(objects) per lookup, which dominates
//! start-up with hundreds of libraries. guardld indexes every exported
//! definition of the scope's objects by name, in scope order, so a lookup
//! costs one hash probe plus the definitions of that one name.
//!
//! Semantics are glibc's: the first acceptable definition in scope order
//! wins, weak ones included; versions are checked per definition exactly as
//! in the per-object lookup (`Symbols::candidate`), object by object.
//!
//! A reference an object makes to its own exported definition (a
//! function table, a call through its own PLT without -Bsymbolic) binds
//! to that definition unless an object earlier in the scope interposes.
//! The index notes the names defined exactly once in the scope (`sole`):
//! such a reference then needs no probe at all.
//!
//! Very large objects (more than `BIG` exports) are not indexed: indexing a
//! 50,000-symbol library costs more than the few lookups a program makes
//! into it. They keep their position in scope order and are searched
//! through their own hash tables, but only when they come before the first
//! indexed definition.

use super::Registry;
use super::lookup::{Def, Query};
use crate::elf::symbols::{Name, Pick, Version};
use alloc::vec::Vec;

/// Objects with more exports than this are searched, not indexed.
pub const BIG: usize = 4096;
/// Indexing one export costs about as much as this many per-object probes
/// of a scope walk (bloom filter, sometimes a hash chain), measured with
/// GUARDLD_DEBUG=statistics on ls (5 objects) and vmabench's N = 10..200.
pub const WALK_PER_EXPORT: usize = 4;

/// GUARDLD_INDEX: build the index when it pays (default), always, or never
/// (tests exercise both resolution paths on small programs).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Policy {
    Auto,
    Always,
    Never,
}

impl Policy {
    pub fn parse(v: &[u8]) -> Option<Policy> {
        match v {
            b"auto" => Some(Policy::Auto),
            b"always" => Some(Policy::Always),
            b"never" => Some(Policy::Never),
            _ => None,
        }
    }
}
const NONE: u32 = u32::MAX;

struct Entry {
    /// GNU hash of the name >> 1.
    hash: u32,
    /// Position of the object in the scope.
    pos: u32,
    sym: u32,
    next: u32,
}

pub struct SymbolIndex {
    buckets: Vec<u32>,
    entries: Vec<Entry>,
    /// (scope position, dso) of unindexed big objects, in scope order.
    big: Vec<(u32, usize)>,
    /// The scope this index describes.
    scope: Vec<usize>,
    /// Scope position of each registry index (NONE: not in the scope).
    pos_of: Vec<u32>,
    /// Per scope position, the first word in `sole` of its bitmap (one bit
    /// a symbol index: the only indexed definition of its name).
    sole_at: Vec<u32>,
    sole: Vec<u64>,
    /// Linker generation the index was built at (see `Registry::generation`).
    pub generation: u64,
}

impl SymbolIndex {
    pub fn build(dsos: &Registry, scope: &[usize], generation: u64) -> SymbolIndex {
        let mut big = Vec::new();
        let mut total = 0;
        for (pos, &i) in scope.iter().enumerate() {
            let n = dsos[i].syms.export_bound();
            if n > BIG {
                big.push((pos as u32, i));
            } else {
                total += n;
            }
        }
        let nb = total.next_power_of_two().max(64);
        let slots = scope.iter().max().map_or(0, |&m| m + 1);
        let mut pos_of = alloc::vec![NONE; slots];
        let mut sole_at = Vec::with_capacity(scope.len() + 1);
        let mut words = 0u32;
        for (pos, &i) in scope.iter().enumerate() {
            pos_of[i] = pos as u32;
            sole_at.push(words);
            words = words.saturating_add(dsos[i].syms.len().div_ceil(64) as u32);
        }
        sole_at.push(words);
        let mut idx = SymbolIndex {
            buckets: alloc::vec![NONE; nb],
            entries: Vec::with_capacity(total),
            big,
            scope: scope.to_vec(),
            pos_of,
            sole_at,
            sole: alloc::vec![0; words as usize],
            generation,
        };
        // Insert in reverse scope order at the head of each bucket chain, so
        // every chain lists definitions in scope order.
        for (pos, &i) in scope.iter().enumerate().rev() {
            let d = &dsos[i];
            if d.syms.export_bound() > BIG {
                continue;
            }
            let (start, end) = (idx.sole_at[pos] as usize, idx.sole_at[pos + 1] as usize);
            for (symidx, sym, hash) in d.syms.exported_rev() {
                let b = hash as usize & (nb - 1);
                let next = idx.buckets[b];
                // Another definition of the name already indexed (later in
                // the scope, or another version in this object): neither
                // is the name's only one.
                let mut alone = true;
                let mut e = next;
                while e != NONE {
                    let other = &idx.entries[e as usize];
                    e = other.next;
                    // A hash shared with a neighbour in this object (names
                    // ending in consecutive characters share it without
                    // its low bit) without reading either name.
                    if other.hash != hash || (other.pos == pos as u32 && d.syms.on_different_chains(symidx, other.sym as usize)) {
                        continue;
                    }
                    let od = &dsos[idx.scope[other.pos as usize]];
                    if od.syms.get(other.sym as usize).is_some_and(|o| d.syms.same_name(sym, &od.syms, o)) {
                        alone = false;
                        idx.clear_sole(other.pos, other.sym);
                    }
                }
                let w = start + symidx / 64;
                if alone && w < end {
                    idx.sole[w] |= 1 << (symidx % 64);
                }
                idx.buckets[b] = idx.entries.len() as u32;
                idx.entries.push(Entry { hash, pos: pos as u32, sym: symidx as u32, next });
            }
        }
        idx
    }

    fn clear_sole(&mut self, pos: u32, sym: u32) {
        let (Some(&start), Some(&end)) = (self.sole_at.get(pos as usize), self.sole_at.get(pos as usize + 1)) else { return };
        let w = start as usize + sym as usize / 64;
        if w < end as usize {
            self.sole[w] &= !(1u64 << (sym % 64));
        }
    }

    /// Whether a reference object `dso` makes to its own exported symbol
    /// `sym` binds to that symbol before any other definition in the scope
    /// is considered: the name has no other indexed definition and no
    /// unindexed big object comes earlier. (Whether the definition answers
    /// the reference's version is the caller's check.)
    pub fn sole(&self, dso: usize, sym: usize) -> bool {
        let Some(&pos) = self.pos_of.get(dso) else { return false };
        if pos == NONE || self.big.first().is_some_and(|&(b, _)| b < pos) {
            return false;
        }
        let (start, end) = (self.sole_at[pos as usize] as usize, self.sole_at[pos as usize + 1] as usize);
        let w = start + sym / 64;
        w < end && self.sole[w] >> (sym % 64) & 1 != 0
    }

    /// First acceptable definition in scope order among indexed objects:
    /// (scope position, definition).
    fn first_indexed(&self, dsos: &Registry, name: &Name<'_>, ver: Option<&Version<'_>>, q: Query) -> Option<(u32, Def)> {
        // Keys are the GNU hash without its lowest bit (what the objects'
        // hash chains store).
        let key = name.gnu >> 1;
        let mut e = self.buckets[key as usize & (self.buckets.len() - 1)];
        // One object's definitions are judged together (version fallback).
        let mut cur: Option<(u32, Pick)> = None;
        while e != NONE {
            let en = &self.entries[e as usize];
            e = en.next;
            if en.hash != key {
                continue;
            }
            let d = &dsos[self.scope[en.pos as usize]];
            if !d.syms.get(en.sym as usize).is_some_and(|s| d.syms.named(s, name.bytes)) {
                continue;
            }
            if let Some((pos, pick)) = cur.take() {
                if pos != en.pos {
                    if let Some((_, sym)) = pick.result() {
                        return Some((pos, Def { dso: self.scope[pos as usize], sym }));
                    }
                } else {
                    cur = Some((pos, pick));
                }
            }
            let dso = self.scope[en.pos as usize];
            let d = &dsos[dso];
            if q.skip_main && d.is_program() {
                continue;
            }
            let Some(sym) = d.syms.get(en.sym as usize) else { continue };
            let (_, pick) = cur.get_or_insert_with(|| (en.pos, Pick::default()));
            pick.offer(d.syms.candidate(en.sym as usize, sym, ver, q.plt), en.sym as usize, sym);
        }
        let (pos, pick) = cur?;
        pick.result().map(|(_, sym)| (pos, Def { dso: self.scope[pos as usize], sym }))
    }

    /// Resolve `name` like a walk over the scope would (and, as it, bind a
    /// unique definition to the process's: `Registry::unique`).
    pub fn lookup(&self, dsos: &Registry, name: &[u8], ver: Option<&Version<'_>>, q: Query) -> Option<Def> {
        self.find(dsos, name, ver, q).map(|d| dsos.unique(name, d))
    }

    fn find(&self, dsos: &Registry, name: &[u8], ver: Option<&Version<'_>>, q: Query) -> Option<Def> {
        let mut n = Name::new(name);
        if let Some(first) = q.first
            && let Some((_, sym)) = dsos[first].syms.lookup(&mut n, ver, q.plt) {
                return Some(Def { dso: first, sym });
            }
        let hit = self.first_indexed(dsos, &n, ver, q);
        let limit = hit.as_ref().map_or(u32::MAX, |h| h.0);
        for &(pos, i) in &self.big {
            if pos >= limit {
                break;
            }
            if q.skip_main && dsos[i].is_program() {
                continue;
            }
            if let Some((_, sym)) = dsos[i].syms.lookup(&mut n, ver, q.plt) {
                return Some(Def { dso: i, sym });
            }
        }
        hit.map(|h| h.1)
    }
}
