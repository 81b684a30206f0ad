//! Keeping the cache behind acknowledged writes: read-your-writes on one host.
//!
//! Keys hash to stripes; each stripe has a generation, bumped whenever a write to one
//! of its keys finishes, and a count of writes in flight. A read-through notes the
//! generation before it asks the backend and caches its answer only if the generation
//! is unchanged afterwards: a slow read that started before a write finished can never
//! overwrite what that write left. A finished write stores its new item only if no
//! other write to the stripe overlapped it (their commit order is unknown); otherwise it
//! invalidates. The check and the cache update happen under the stripe's lock.
//!
//! Stripes rather than keys keep memory bounded; a collision only costs a skipped insert.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::{Mutex, MutexGuard, PoisonError};

const STRIPES: usize = 4096;

#[derive(Default)]
struct Stripe {
    generation: u64,
    writers: u32,
}

/// The stripes.
pub(crate) struct Coherence {
    stripes: Box<[Mutex<Stripe>]>,
}

impl Coherence {
    pub fn new() -> Self {
        Self {
            stripes: (0..STRIPES).map(|_| Mutex::default()).collect(),
        }
    }

    fn lock(&self, key: &impl Hash) -> MutexGuard<'_, Stripe> {
        let mut hasher = DefaultHasher::new();
        key.hash(&mut hasher);
        let index = (hasher.finish() % STRIPES as u64) as usize;
        // A panic while holding a stripe cannot leave it inconsistent (two integers).
        self.stripes[index]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The key's stripe generation now.
    pub fn generation(&self, key: &impl Hash) -> u64 {
        self.lock(key).generation
    }

    /// Runs `insert` if no write to the key's stripe finished since `observed`.
    pub fn insert_if_unchanged(
        &self,
        key: &impl Hash,
        observed: u64,
        insert: impl FnOnce(),
    ) -> bool {
        let stripe = self.lock(key);
        let unchanged = stripe.generation == observed;
        if unchanged {
            insert();
        }
        unchanged
    }

    /// Notes a write to the key starting; returns the generation it started at.
    pub fn begin_write(&self, key: &impl Hash) -> u64 {
        let mut stripe = self.lock(key);
        stripe.writers += 1;
        stripe.generation
    }

    /// Notes a write finishing and updates the cache under the stripe's lock:
    /// `update(exclusive)`, where `exclusive` says no other write to the stripe
    /// overlapped this one.
    pub fn finish_write(&self, key: &impl Hash, started: u64, update: impl FnOnce(bool)) {
        let mut stripe = self.lock(key);
        stripe.writers = stripe.writers.saturating_sub(1);
        let exclusive = stripe.generation == started && stripe.writers == 0;
        stripe.generation += 1;
        update(exclusive);
    }
}
