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
        let nb = (total * 2).next_power_of_two().max(64);
        let mut idx = SymbolIndex { buckets: alloc::vec![NONE; nb], entries: Vec::with_capacity(total), big, scope: scope.to_vec(), generation };
        // Insert in reverse scope order at the head of each bucket chain, so
        // every chain lists definitions in scope order.
        for (pos, &i) in scope.iter().enumerate().rev() {
            if dsos[i].syms.export_bound() > BIG {
                continue;
            }
            for (symidx, _, hash) in dsos[i].syms.exported_rev() {
                let b = hash as usize & (nb - 1);
                let next = idx.buckets[b];
                idx.buckets[b] = idx.entries.len() as u32;
                idx.entries.push(Entry { hash, pos: pos as u32, sym: symidx as u32, next });
            }
        }
        idx
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
