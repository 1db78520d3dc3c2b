//! Where the ADS streams read resources from: a [`ResourceSource`] — a cache the streams read
//! under a lock, and a `watch` that says "something was published". [`SharedCache`] is the
//! production one: the dataflow side [`publish`](SharedCache::publish)es each epoch's
//! `OutputBatch` and [`mark_ready`](SharedCache::mark_ready)s once the first full compile is in.
//!
//! Notify and send are decoupled (checklist 33): publishing only bumps the watch; each stream
//! task reads the cache when it may send, so a slow stream never holds up the publisher or other
//! streams, and nothing is queued per stream.

use std::collections::BTreeSet;
use std::sync::{Arc, RwLock};

use sluice_dataflow::output::OutputBatch;
use tokio::sync::watch;

use crate::cache::{GatewayId, XdsCache};

/// What the watch carries: the last published epoch and whether streams may answer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Publication {
    /// Number of batches published so far.
    pub published: u64,
    /// The first full compile is in (checklist 3): until then no request is answered.
    pub ready: bool,
}

/// What an ADS server serves from.
pub trait ResourceSource: Clone + Send + Sync + 'static {
    /// Changes on every publication.
    fn subscribe(&self) -> watch::Receiver<Publication>;

    /// Runs `f` on a consistent state of the cache (one epoch).
    fn read<R>(&self, f: impl FnOnce(&XdsCache) -> R) -> R;
}

/// The cache behind a lock plus the publication watch; cheap to clone.
#[derive(Clone, Debug)]
pub struct SharedCache {
    inner: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    cache: RwLock<XdsCache>,
    publications: watch::Sender<Publication>,
}

impl SharedCache {
    pub fn new(cache: XdsCache) -> SharedCache {
        SharedCache {
            inner: Arc::new(Shared {
                cache: RwLock::new(cache),
                publications: watch::Sender::new(Publication::default()),
            }),
        }
    }

    /// Applies one epoch's batch and wakes the streams; returns the Gateways whose view
    /// changed. Never blocks on a stream (only on the lock, held by readers for the time it
    /// takes to diff one stream's view).
    pub fn publish(&self, batch: &OutputBatch) -> BTreeSet<GatewayId> {
        let touched = {
            let mut cache = self.inner.cache.write().unwrap_or_else(|e| e.into_inner());
            cache.apply(batch)
        };
        self.inner.publications.send_modify(|p| p.published += 1);
        touched
    }

    /// Lets streams answer: call once the initial sync and the first compile are published.
    pub fn mark_ready(&self) {
        self.inner.publications.send_if_modified(|p| {
            let was = p.ready;
            p.ready = true;
            !was
        });
    }

    pub fn is_ready(&self) -> bool {
        self.inner.publications.borrow().ready
    }
}

impl ResourceSource for SharedCache {
    fn subscribe(&self) -> watch::Receiver<Publication> {
        self.inner.publications.subscribe()
    }

    fn read<R>(&self, f: impl FnOnce(&XdsCache) -> R) -> R {
        let cache = self.inner.cache.read().unwrap_or_else(|e| e.into_inner());
        f(&cache)
    }
}
