//! [`LruTable`], the fixed-capacity LRU map behind every per-source table (detection
//! windows, the decider's offenders, the source log) and behind the flow table.

use std::{
    hash::{BuildHasher, Hash, RandomState},
    sync::OnceLock,
};

/// No slot (end of the recency list).
const NIL: u32 = u32::MAX;

/// Largest capacity of an [`LruTable`] (slot numbers are `u32`).
pub const MAX_CAPACITY: usize = 1 << 30;

struct Slot<K, V> {
    key: K,
    value: V,
    /// More recently used neighbour, or `NIL`.
    prev: u32,
    /// Less recently used neighbour, or `NIL`.
    next: u32,
}

/// A map of at most `capacity` entries that forgets the least recently used entry to make
/// room, in memory reserved once that never grows, however many keys pass through.
///
/// Why not the `lru` crate: its index is a SwissTable in which every eviction is a remove
/// plus an insert. Removals leave tombstones; once they use up the spare room, the table is
/// rebuilt at twice its size (it only rehashes in place below half load), so every table
/// grew by a step soon after reaching its cap. Its entries are also one heap allocation
/// each (16 bytes of allocator overhead, and fragmentation under churn).
///
/// Here the entries live in one `Vec` reserved for `capacity`, kept dense (a removal moves
/// the last entry into the hole), linked in recency order by `u32` slot numbers; eviction
/// reuses the evicted slot in place. The index is an open-addressing table with linear
/// probing and backward-shift deletion (no tombstones), sized once to a power of two of 1.5
/// to 3 times the capacity, hashed with a per-table random SipHash key so that keys (source
/// addresses) cannot be chosen to collide. Hot tables may pass a faster keyed hasher
/// ([`seeded_fast_hasher`]) to [`LruTable::with_hasher`].
pub struct LruTable<K, V, S = RandomState> {
    slots: Vec<Slot<K, V>>,
    /// Per bucket `hash << 32 | (slot + 1)`, 0 when empty: an empty index is zeroed memory,
    /// whose pages are only touched as entries arrive.
    index: Box<[u64]>,
    mask: usize,
    capacity: usize,
    /// Most recently used slot.
    head: u32,
    /// Least recently used slot.
    tail: u32,
    hasher: S,
}

/// A foldhash (quality variant) hasher keyed with fresh OS randomness, for hot tables whose
/// keys are short and attacker-chosen (source addresses): several times cheaper than SipHash
/// on a 16-byte key.
///
/// Why not `foldhash`'s own `RandomState`: its seeds come from address-space layout and a
/// counter, and the crate disclaims HashDoS resistance. Here every seed is secret: the
/// process-wide shared seed and the per-table seed are both drawn from std's `RandomState`
/// (the OS random generator), so colliding keys cannot be chosen offline.
pub fn seeded_fast_hasher() -> foldhash::quality::SeedableRandomState {
    static SHARED: OnceLock<foldhash::SharedSeed> = OnceLock::new();
    let shared =
        SHARED.get_or_init(|| foldhash::SharedSeed::from_u64(RandomState::new().hash_one(0u8)));
    foldhash::quality::SeedableRandomState::with_seed(RandomState::new().hash_one(1u8), shared)
}

impl<K: Hash + Eq, V> LruTable<K, V> {
    /// An empty table for at most `capacity` entries (at least 1, at most
    /// [`MAX_CAPACITY`]); their memory is reserved now. Keys are hashed with SipHash under
    /// a random key.
    pub fn new(capacity: usize) -> Self {
        Self::with_hasher(capacity, RandomState::new())
    }
}

impl<K: Hash + Eq, V, S: BuildHasher> LruTable<K, V, S> {
    /// [`LruTable::new`] with keys hashed by `hasher`, which must be keyed with a secret
    /// random seed when keys can be chosen by an attacker.
    pub fn with_hasher(capacity: usize, hasher: S) -> Self {
        let capacity = capacity.clamp(1, MAX_CAPACITY);
        // At most 2/3 full, and always at least one empty bucket to end a probe.
        let buckets = (capacity + capacity / 2)
            .max(capacity + 1)
            .next_power_of_two();
        LruTable {
            slots: Vec::with_capacity(capacity),
            index: vec![0u64; buckets].into_boxed_slice(),
            mask: buckets - 1,
            capacity,
            head: NIL,
            tail: NIL,
            hasher,
        }
    }

    /// Entries now.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether there is no entry.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Most entries kept.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Whether `key` has an entry (recency unchanged).
    pub fn contains(&self, key: &K) -> bool {
        self.find(self.hash(key), key).is_some()
    }

    /// The value of `key` (recency unchanged).
    pub fn peek(&self, key: &K) -> Option<&V> {
        let (_, s) = self.find(self.hash(key), key)?;
        Some(&self.slots[s].value)
    }

    /// The value of `key`, which becomes the most recently used entry.
    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        let (_, s) = self.find(self.hash(key), key)?;
        self.touch(s);
        Some(&mut self.slots[s].value)
    }

    /// The value of `key`, made with `make` if absent (evicting the least recently used
    /// entry when full); `key` becomes the most recently used entry.
    pub fn get_or_insert_with(&mut self, key: K, make: impl FnOnce() -> V) -> &mut V {
        let hash = self.hash(&key);
        let s = match self.find(hash, &key) {
            Some((_, s)) => {
                self.touch(s);
                s
            }
            None => self.insert_new(hash, key, make()).0,
        };
        &mut self.slots[s].value
    }

    /// Sets the value of `key`, which becomes the most recently used entry. Returns the
    /// entry displaced: the previous value of `key`, or the least recently used entry,
    /// evicted to make room.
    pub fn insert(&mut self, key: K, value: V) -> Option<(K, V)> {
        let hash = self.hash(&key);
        if let Some((_, s)) = self.find(hash, &key) {
            self.touch(s);
            let slot = &mut self.slots[s];
            let old = std::mem::replace(&mut slot.value, value);
            return Some((std::mem::replace(&mut slot.key, key), old));
        }
        self.insert_new(hash, key, value).1
    }

    /// Removes the entry of `key`.
    pub fn remove(&mut self, key: &K) -> Option<V> {
        let (pos, s) = self.find(self.hash(key), key)?;
        Some(self.remove_slot(pos, s).1)
    }

    /// The least recently used entry.
    pub fn peek_lru(&self) -> Option<(&K, &V)> {
        let slot = self.slots.get(self.tail as usize)?;
        Some((&slot.key, &slot.value))
    }

    /// Removes the least recently used entry.
    pub fn pop_lru(&mut self) -> Option<(K, V)> {
        if self.tail == NIL {
            return None;
        }
        let s = self.tail as usize;
        let pos = self.position_of(s);
        Some(self.remove_slot(pos, s))
    }

    fn hash(&self, key: &K) -> u32 {
        // The low bits choose the home bucket; all 32 are compared before the key is.
        self.hasher.hash_one(key) as u32
    }

    /// Index position and slot of `key`.
    fn find(&self, hash: u32, key: &K) -> Option<(usize, usize)> {
        let mut pos = hash as usize & self.mask;
        loop {
            let b = self.index[pos];
            if b == 0 {
                return None;
            }
            if (b >> 32) as u32 == hash {
                let s = (b as u32 - 1) as usize;
                if self.slots[s].key == *key {
                    return Some((pos, s));
                }
            }
            pos = (pos + 1) & self.mask;
        }
    }

    /// Index position of slot `s`.
    fn position_of(&self, s: usize) -> usize {
        let want = s as u64 + 1;
        let mut pos = self.hash(&self.slots[s].key) as usize & self.mask;
        while self.index[pos] & 0xffff_ffff != want {
            pos = (pos + 1) & self.mask;
        }
        pos
    }

    /// Adds an absent key; returns its slot and the entry evicted for it.
    fn insert_new(&mut self, hash: u32, key: K, value: V) -> (usize, Option<(K, V)>) {
        let (s, evicted) = if self.slots.len() == self.capacity {
            // Full: the least recently used slot is reused in place.
            let s = self.tail as usize;
            let pos = self.position_of(s);
            self.unindex(pos);
            self.detach(s);
            let slot = &mut self.slots[s];
            let old = (
                std::mem::replace(&mut slot.key, key),
                std::mem::replace(&mut slot.value, value),
            );
            (s, Some(old))
        } else {
            // Within the capacity reserved in `new`: never reallocates.
            self.slots.push(Slot {
                key,
                value,
                prev: NIL,
                next: NIL,
            });
            (self.slots.len() - 1, None)
        };
        let mut pos = hash as usize & self.mask;
        while self.index[pos] != 0 {
            pos = (pos + 1) & self.mask;
        }
        self.index[pos] = u64::from(hash) << 32 | (s as u64 + 1);
        self.attach_front(s);
        (s, evicted)
    }

    /// Removes slot `s`, indexed at `pos`; the last slot moves into its place.
    fn remove_slot(&mut self, pos: usize, s: usize) -> (K, V) {
        self.unindex(pos);
        self.detach(s);
        let last = self.slots.len() - 1;
        if s != last {
            let pos = self.position_of(last);
            self.index[pos] = (self.index[pos] & !0xffff_ffff) | (s as u64 + 1);
        }
        let removed = self.slots.swap_remove(s);
        if s != last {
            // Repoint the moved slot's neighbours.
            let (prev, next) = (self.slots[s].prev, self.slots[s].next);
            match prev {
                NIL => self.head = s as u32,
                p => self.slots[p as usize].next = s as u32,
            }
            match next {
                NIL => self.tail = s as u32,
                n => self.slots[n as usize].prev = s as u32,
            }
        }
        (removed.key, removed.value)
    }

    /// Empties index position `pos`, moving later entries of its probe run back so that
    /// every entry stays reachable from its home bucket without tombstones.
    fn unindex(&mut self, pos: usize) {
        let mask = self.mask;
        let mut hole = pos;
        let mut next = (pos + 1) & mask;
        loop {
            let b = self.index[next];
            if b == 0 {
                break;
            }
            let home = (b >> 32) as usize & mask;
            // It may move into the hole if the hole is not before its home bucket.
            if next.wrapping_sub(home) & mask >= next.wrapping_sub(hole) & mask {
                self.index[hole] = b;
                hole = next;
            }
            next = (next + 1) & mask;
        }
        self.index[hole] = 0;
    }

    fn detach(&mut self, s: usize) {
        let (prev, next) = (self.slots[s].prev, self.slots[s].next);
        match prev {
            NIL => self.head = next,
            p => self.slots[p as usize].next = next,
        }
        match next {
            NIL => self.tail = prev,
            n => self.slots[n as usize].prev = prev,
        }
    }

    fn attach_front(&mut self, s: usize) {
        let old = self.head;
        self.slots[s].prev = NIL;
        self.slots[s].next = old;
        match old {
            NIL => self.tail = s as u32,
            h => self.slots[h as usize].prev = s as u32,
        }
        self.head = s as u32;
    }

    fn touch(&mut self, s: usize) {
        if self.head != s as u32 {
            self.detach(s);
            self.attach_front(s);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use std::net::IpAddr;

    use super::*;
    use crate::net::source_key;

    /// xorshift64: reproducible pseudo-random operations without a dependency.
    fn rng(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    /// Checks every internal invariant: dense slots, each indexed once and reachable from
    /// its home bucket, the recency list covering every slot, nothing past the capacity.
    fn check<K: Hash + Eq, V, S: BuildHasher>(t: &LruTable<K, V, S>) {
        assert!(t.len() <= t.capacity);
        let indexed: Vec<_> = t.index.iter().filter(|&&b| b != 0).collect();
        assert_eq!(indexed.len(), t.len());
        for s in 0..t.len() {
            let (pos, found) = t.find(t.hash(&t.slots[s].key), &t.slots[s].key).unwrap();
            assert_eq!(found, s);
            assert_eq!(t.position_of(s), pos);
        }
        let (mut n, mut cur, mut prev) = (0, t.head, NIL);
        while cur != NIL {
            assert_eq!(t.slots[cur as usize].prev, prev);
            (prev, cur) = (cur, t.slots[cur as usize].next);
            n += 1;
        }
        assert_eq!((n, prev), (t.len(), t.tail));
    }

    #[test]
    fn matches_a_reference_lru_under_random_churn() {
        for cap in [1, 2, 3, 7, 64] {
            let mut t = LruTable::new(cap);
            // Reference: keys, most recently used first.
            let mut model: VecDeque<(u64, u64)> = VecDeque::new();
            let mut state = 0x9e37_79b9_7f4a_7c15 ^ cap as u64;
            for step in 0..20_000u64 {
                let key = rng(&mut state) % (cap as u64 * 3);
                let at = model.iter().position(|(k, _)| *k == key);
                match rng(&mut state) % 6 {
                    0 => {
                        let got = t.remove(&key);
                        assert_eq!(got, at.map(|i| model.remove(i).unwrap().1));
                    }
                    1 => {
                        let got = t.pop_lru();
                        assert_eq!(got, model.pop_back());
                    }
                    2 => {
                        let got = t.insert(key, step);
                        let want = match at {
                            Some(i) => model.remove(i),
                            None if model.len() == cap => model.pop_back(),
                            None => None,
                        };
                        model.push_front((key, step));
                        assert_eq!(got, want);
                    }
                    3 => {
                        assert_eq!(t.peek(&key), at.map(|i| &model[i].1));
                        assert_eq!(t.contains(&key), at.is_some());
                    }
                    _ => {
                        let v = *t.get_or_insert_with(key, || step);
                        let entry = match at {
                            Some(i) => model.remove(i).unwrap(),
                            None => {
                                if model.len() == cap {
                                    model.pop_back();
                                }
                                (key, step)
                            }
                        };
                        assert_eq!(v, entry.1);
                        model.push_front(entry);
                    }
                }
                assert_eq!(t.len(), model.len());
                assert_eq!(t.peek_lru().map(|(k, v)| (*k, *v)), model.back().copied());
                if step % 97 == 0 {
                    check(&t);
                }
            }
            check(&t);
        }
    }

    #[test]
    fn memory_is_reserved_once_and_never_grows() {
        let mut t = LruTable::new(1000);
        let (slots, buckets) = (t.slots.capacity(), t.index.len());
        assert!(slots >= 1000 && buckets >= 1500);
        // A million distinct sources through a table of 1,000, some removed on the way.
        for i in 0..1_000_000u32 {
            let key = source_key(IpAddr::from(i.to_be_bytes()));
            *t.get_or_insert_with(key, || 0u64) += 1;
            if i % 7 == 1 {
                t.remove(&key);
            }
            assert!(t.len() <= 1000);
        }
        assert_eq!(t.len(), 1000);
        assert_eq!((t.slots.capacity(), t.index.len()), (slots, buckets));
        check(&t);
    }

    #[test]
    fn keyed_fast_hasher_behaves_like_siphash() {
        let mut sip = LruTable::new(500);
        let mut fast = LruTable::with_hasher(500, seeded_fast_hasher());
        let mut state = 0x2545_f491_4f6c_dd1d;
        for step in 0..100_000u64 {
            let ip = IpAddr::from(((rng(&mut state) % 2000) as u32).to_be_bytes());
            let key = source_key(ip);
            if step % 5 == 0 {
                assert_eq!(sip.remove(&key), fast.remove(&key));
            } else {
                *sip.get_or_insert_with(key, || 0u64) += 1;
                *fast.get_or_insert_with(key, || 0u64) += 1;
            }
            assert_eq!(sip.peek_lru(), fast.peek_lru());
        }
        check(&fast);
    }
}
