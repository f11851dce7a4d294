//! Reading state through a write overlay, so a block executes without touching the store
//! until it is committed (and a rejected proposal leaves nothing behind).

use crate::account::Account;
use crate::keys::StateKey;
use crate::supply::Supply;
use commonware_codec::{DecodeExt, Encode};
use std::collections::BTreeMap;
use yun_types::{Address, ChainParams};

/// Read access to committed state, by raw key.
pub trait StateReader {
    fn get(&self, key: &[u8]) -> Option<Vec<u8>>;
    /// Entries with `start <= key < end`, in key order.
    fn range(&self, start: &[u8], end: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)>;
    /// The first `limit` entries of `range(start, end)`: a store answers it without reading
    /// the rest (the default does read it; every reader here overrides it).
    fn range_first(&self, start: &[u8], end: &[u8], limit: usize) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut all = self.range(start, end);
        all.truncate(limit);
        all
    }
}

/// The first `limit` entries of `base`'s range with `writes` on top, reading at most `limit`
/// plus as many base entries as the writes delete in the range (each delete hides at most
/// one of them, so the first `limit` live entries are among those read and the writes).
pub fn range_first_over<'w>(
    base: &(impl StateReader + ?Sized),
    layers: impl IntoIterator<Item = &'w StateWrites> + Clone,
    start: &[u8],
    end: &[u8],
    limit: usize,
) -> Vec<(Vec<u8>, Vec<u8>)> {
    if start >= end || limit == 0 {
        return Vec::new();
    }
    let bounds = start.to_vec()..end.to_vec();
    let deletes: usize = layers
        .clone()
        .into_iter()
        .map(|w| w.range(bounds.clone()).filter(|(_, v)| v.is_none()).count())
        .sum();
    let mut merged: BTreeMap<Vec<u8>, Vec<u8>> = base
        .range_first(start, end, limit.saturating_add(deletes))
        .into_iter()
        .collect();
    for w in layers {
        for (k, v) in w.range(bounds.clone()) {
            match v {
                Some(v) => merged.insert(k.clone(), v.clone()),
                None => merged.remove(k),
            };
        }
    }
    merged.into_iter().take(limit).collect()
}

/// The end of the key range that starts with `prefix` (exclusive): the prefix incremented.
pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return end;
        }
    }
    // Only a prefix of all 0xff bytes gets here; no state key is that long.
    vec![u8::MAX; 256]
}

/// Pending writes, in key order (`None` deletes).
pub type StateWrites = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// Each key written since [`Overlay::begin_journal`], with the overlay's entry for it before
/// (`None`: the overlay had none, so the key read through to the base).
type Journal = BTreeMap<Vec<u8>, Option<Option<Vec<u8>>>>;

/// A reader plus the writes made on top of it.
#[derive(Debug)]
pub struct Overlay<'a, R: StateReader + ?Sized> {
    base: &'a R,
    writes: StateWrites,
    /// Open while one transaction's action runs: counts the keys it writes (its fee) and
    /// undoes them when the fee cannot pay for them.
    journal: Option<Journal>,
    /// Keys whose value a caller holds a copy of, changes and writes back later (debug builds
    /// only): reading one meanwhile would see the stale value, so [`Overlay::get`] asserts it
    /// reads none of them.
    #[cfg(debug_assertions)]
    held: std::collections::BTreeSet<Vec<u8>>,
}

impl<'a, R: StateReader + ?Sized> Overlay<'a, R> {
    pub fn new(base: &'a R) -> Self {
        Overlay {
            base,
            writes: BTreeMap::new(),
            journal: None,
            #[cfg(debug_assertions)]
            held: std::collections::BTreeSet::new(),
        }
    }

    /// Marks `key` as held by a caller that will write it back (see the `held` field): until
    /// [`Overlay::release`], reading or writing it is a failed assertion. A no-op in release
    /// builds.
    pub fn hold(&mut self, key: &[u8]) {
        #[cfg(debug_assertions)]
        self.held.insert(key.to_vec());
        #[cfg(not(debug_assertions))]
        let _ = key;
    }

    /// Ends [`Overlay::hold`] for `key`.
    pub fn release(&mut self, key: &[u8]) {
        #[cfg(debug_assertions)]
        assert!(self.held.remove(key), "a key is released that was not held");
        #[cfg(not(debug_assertions))]
        let _ = key;
    }

    /// Starts recording the keys written from now on (see [`Overlay::end_journal`]).
    pub fn begin_journal(&mut self) {
        self.journal = Some(Journal::new());
    }

    /// How many distinct keys were written (or deleted) since [`Overlay::begin_journal`].
    pub fn journal_len(&self) -> u64 {
        self.journal.as_ref().map_or(0, |j| j.len() as u64)
    }

    /// Stops recording; returns how many distinct keys were written (or deleted) since
    /// [`Overlay::begin_journal`], and with `undo` restores each to what it was before.
    pub fn end_journal(&mut self, undo: bool) -> u64 {
        let journal = self.journal.take().unwrap_or_default();
        let written = journal.len() as u64;
        if undo {
            for (key, before) in journal {
                match before {
                    Some(entry) => {
                        self.writes.insert(key, entry);
                    }
                    None => {
                        self.writes.remove(&key);
                    }
                }
            }
        }
        written
    }

    fn record(&mut self, key: &[u8]) {
        if let Some(journal) = &mut self.journal
            && !journal.contains_key(key)
        {
            journal.insert(key.to_vec(), self.writes.get(key).cloned());
        }
    }

    pub fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        #[cfg(debug_assertions)]
        assert!(
            !self.held.contains(key),
            "a held key is read before it is written back"
        );
        match self.writes.get(key) {
            Some(v) => v.clone(),
            None => self.base.get(key),
        }
    }

    pub fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.assert_not_held(&key);
        self.record(&key);
        self.writes.insert(key, Some(value));
    }

    pub fn delete(&mut self, key: Vec<u8>) {
        self.assert_not_held(&key);
        self.record(&key);
        self.writes.insert(key, None);
    }

    /// A held key is written back only after it is released (a write meanwhile would be lost
    /// to the held copy's); checked in debug builds.
    fn assert_not_held(&self, key: &[u8]) {
        #[cfg(debug_assertions)]
        assert!(
            !self.held.contains(key),
            "a held key is written before it is released"
        );
        #[cfg(not(debug_assertions))]
        let _ = key;
    }

    /// Marks an index entry present (the value carries nothing: the key is the entry).
    pub fn mark(&mut self, key: Vec<u8>) {
        self.put(key, Vec::new());
    }

    /// Entries with `start <= key < end` as they stand with this overlay's writes applied.
    pub fn range(&self, start: &[u8], end: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut merged: BTreeMap<Vec<u8>, Vec<u8>> =
            self.base.range(start, end).into_iter().collect();
        for (k, v) in self.writes.range(start.to_vec()..end.to_vec()) {
            match v {
                Some(v) => {
                    merged.insert(k.clone(), v.clone());
                }
                None => {
                    merged.remove(k);
                }
            }
        }
        merged.into_iter().collect()
    }

    /// Entries whose key starts with `prefix`.
    pub fn scan(&self, prefix: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.range(prefix, &prefix_end(prefix))
    }

    /// The first `limit` entries of `range(start, end)`, without reading the rest.
    pub fn range_first(&self, start: &[u8], end: &[u8], limit: usize) -> Vec<(Vec<u8>, Vec<u8>)> {
        range_first_over(self.base, [&self.writes], start, end, limit)
    }

    /// The first `limit` entries whose key starts with `prefix`, without reading the rest.
    pub fn scan_first(&self, prefix: &[u8], limit: usize) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.range_first(prefix, &prefix_end(prefix), limit)
    }

    /// Whether any key starts with `prefix` (reads one entry, not the whole prefix).
    pub fn any_under(&self, prefix: &[u8]) -> bool {
        !self.scan_first(prefix, 1).is_empty()
    }

    pub fn account(&self, address: &Address) -> Account {
        self.get(&StateKey::Account(*address).bytes())
            .map(|v| Account::from_bytes(&v))
            .unwrap_or_default()
    }

    pub fn set_account(&mut self, address: &Address, account: Account) {
        self.put(StateKey::Account(*address).bytes(), account.to_bytes());
    }

    pub fn params(&self) -> ChainParams {
        let raw = self
            .get(&StateKey::Params.bytes())
            .expect("params are set at genesis");
        ChainParams::decode(commonware_codec::Copying(&raw)).expect("stored params decode")
    }

    pub fn set_params(&mut self, params: &ChainParams) {
        self.put(StateKey::Params.bytes(), params.encode().to_vec());
    }

    pub fn supply(&self) -> Supply {
        let raw = self
            .get(&StateKey::Supply.bytes())
            .expect("supply is set at genesis");
        Supply::decode(commonware_codec::Copying(&raw)).expect("stored supply decodes")
    }

    pub fn set_supply(&mut self, supply: &Supply) {
        self.put(StateKey::Supply.bytes(), supply.encode().to_vec());
    }

    /// Number of keys written so far.
    pub fn writes_len(&self) -> usize {
        self.writes.len()
    }

    pub fn into_writes(self) -> StateWrites {
        self.writes
    }
}

/// A whole state in memory: the test backend, and what `yun chain verify` can replay into.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemState {
    pub entries: BTreeMap<Vec<u8>, Vec<u8>>,
}

impl MemState {
    /// blake3 over every entry in key order, lengths included so entries cannot run together:
    /// equal digests, equal states (how tests and benches check that a change moved nothing).
    pub fn content_digest(&self) -> yun_types::Hash32 {
        let mut h = blake3::Hasher::new();
        for (k, v) in &self.entries {
            h.update(&(k.len() as u64).to_be_bytes());
            h.update(k);
            h.update(&(v.len() as u64).to_be_bytes());
            h.update(v);
        }
        yun_types::Hash32(*h.finalize().as_bytes())
    }
}

impl StateReader for MemState {
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.entries.get(key).cloned()
    }
    fn range(&self, start: &[u8], end: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.range_first(start, end, usize::MAX)
    }
    fn range_first(&self, start: &[u8], end: &[u8], limit: usize) -> Vec<(Vec<u8>, Vec<u8>)> {
        if start >= end {
            return Vec::new();
        }
        self.entries
            .range(start.to_vec()..end.to_vec())
            .take(limit)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

impl MemState {
    pub fn apply(&mut self, writes: StateWrites) {
        for (k, v) in writes {
            match v {
                Some(v) => {
                    self.entries.insert(k, v);
                }
                None => {
                    self.entries.remove(&k);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A base with keys a1..a5 and an overlay that deletes a1, a2 and a4 and writes a0 and a3.
    fn layered(base: &MemState) -> Overlay<'_, MemState> {
        let mut o = Overlay::new(base);
        for k in ["a1", "a2", "a4"] {
            o.delete(k.as_bytes().to_vec());
        }
        o.put(b"a0".to_vec(), b"new".to_vec());
        o.put(b"a3".to_vec(), b"over".to_vec());
        o
    }

    /// The guard that keeps a held copy (the market's job in one pass) the only one in use.
    #[cfg(debug_assertions)]
    #[test]
    #[should_panic(expected = "a held key is read before it is written back")]
    fn reading_a_held_key_is_a_bug() {
        let base = MemState::default();
        let mut o = Overlay::new(&base);
        o.put(b"job".to_vec(), b"v1".to_vec());
        o.hold(b"job");
        let _ = o.get(b"job");
    }

    #[cfg(debug_assertions)]
    #[test]
    #[should_panic(expected = "a held key is written before it is released")]
    fn writing_a_held_key_is_a_bug() {
        let base = MemState::default();
        let mut o = Overlay::new(&base);
        o.hold(b"job");
        o.put(b"job".to_vec(), b"v2".to_vec());
    }

    #[test]
    fn a_released_key_reads_again() {
        let base = MemState::default();
        let mut o = Overlay::new(&base);
        o.put(b"job".to_vec(), b"v1".to_vec());
        o.hold(b"job");
        assert_eq!(o.get(b"other"), None, "only the held key is guarded");
        o.release(b"job");
        assert_eq!(o.get(b"job"), Some(b"v1".to_vec()));
    }

    fn keys(entries: &[(Vec<u8>, Vec<u8>)]) -> Vec<String> {
        entries
            .iter()
            .map(|(k, _)| String::from_utf8(k.clone()).unwrap())
            .collect()
    }

    #[test]
    fn a_bounded_read_sees_what_a_full_read_sees_first_deletes_and_writes_included() {
        let mut base = MemState::default();
        let mut w = StateWrites::new();
        for k in ["a1", "a2", "a3", "a4", "a5", "b1"] {
            w.insert(k.as_bytes().to_vec(), Some(b"base".to_vec()));
        }
        base.apply(w);
        let o = layered(&base);
        let full = o.scan(b"a");
        assert_eq!(keys(&full), ["a0", "a3", "a5"]);
        for limit in 0..5 {
            let first = o.scan_first(b"a", limit);
            assert_eq!(first, full[..limit.min(full.len())], "limit {limit}");
        }
        assert_eq!(o.scan_first(b"a", 1)[0].1, b"new");
        assert!(o.any_under(b"a") && o.any_under(b"b") && !o.any_under(b"c"));
        let mut gone = Overlay::new(&base);
        gone.delete(b"b1".to_vec());
        assert!(!gone.any_under(b"b"), "a deleted key is not there");
        assert!(base.range_first(b"b", b"a", 3).is_empty(), "an empty range");
    }
}
