//! What a translation produces: the full state (`Snapshot`) and the per-epoch change
//! (`OutputBatch`). The dataflow emits batches; the naive translator emits snapshots; the
//! difference of two snapshots is a batch, which is how the two are compared.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

use crate::ir::{Resource, StatusIr, StatusKey, XdsKey};

/// The complete output at one point in time.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub resources: BTreeMap<XdsKey, Resource>,
    pub statuses: BTreeMap<StatusKey, Arc<StatusIr>>,
}

/// The changes of one epoch: only what differs from the previous epoch's output.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputBatch {
    pub epoch: u64,
    /// New or changed resources, ordered by key.
    pub upserts: Vec<Resource>,
    /// Removed resources, ordered by key.
    pub deletes: Vec<XdsKey>,
    pub status_upserts: Vec<(StatusKey, Arc<StatusIr>)>,
    pub status_deletes: Vec<StatusKey>,
}

impl OutputBatch {
    pub fn is_empty(&self) -> bool {
        self.upserts.is_empty()
            && self.deletes.is_empty()
            && self.status_upserts.is_empty()
            && self.status_deletes.is_empty()
    }

    /// Builds a batch from consolidated `(item, diff)` changes: `-old,+new` is an update, a
    /// lone `-` a delete, a lone `+` a create. Panics if a key is inserted twice, which would
    /// mean the translation produced two values for one resource.
    pub fn from_changes(
        epoch: u64,
        resources: impl IntoIterator<Item = (Resource, isize)>,
        statuses: impl IntoIterator<Item = ((StatusKey, Arc<StatusIr>), isize)>,
    ) -> OutputBatch {
        let (upserts, deletes) = split(resources.into_iter().map(|(r, d)| ((r.key(), r), d)));
        let (status_upserts, status_deletes) = split(statuses);
        OutputBatch {
            epoch,
            upserts: upserts.into_values().collect(),
            deletes,
            status_upserts: status_upserts.into_iter().collect(),
            status_deletes,
        }
    }

    /// Number of xDS resources this batch touches.
    pub fn resource_changes(&self) -> usize {
        self.upserts.len() + self.deletes.len()
    }
}

fn split<K: Ord + Clone + std::fmt::Debug, V: Clone>(
    changes: impl IntoIterator<Item = ((K, V), isize)>,
) -> (BTreeMap<K, V>, Vec<K>) {
    let mut added = BTreeMap::new();
    let mut removed = std::collections::BTreeSet::new();
    for ((k, v), d) in changes {
        match d {
            1 => {
                if added.insert(k.clone(), v).is_some() {
                    panic!("two values for one output key {k:?}");
                }
            }
            -1 => {
                removed.insert(k);
            }
            d => panic!("output multiplicity {d} for {k:?}: a resource must be 0 or 1"),
        }
    }
    let deletes = removed
        .into_iter()
        .filter(|k| !added.contains_key(k))
        .collect();
    (added, deletes)
}

impl Snapshot {
    pub fn apply(&mut self, batch: &OutputBatch) {
        for k in &batch.deletes {
            self.resources.remove(k);
        }
        for r in &batch.upserts {
            self.resources.insert(r.key(), r.clone());
        }
        for k in &batch.status_deletes {
            self.statuses.remove(k);
        }
        for (k, s) in &batch.status_upserts {
            self.statuses.insert(k.clone(), s.clone());
        }
    }

    /// The batch that turns `self` into `next`.
    pub fn diff(&self, next: &Snapshot, epoch: u64) -> OutputBatch {
        OutputBatch {
            epoch,
            upserts: next
                .resources
                .iter()
                .filter(|(k, v)| self.resources.get(k) != Some(v))
                .map(|(_, v)| v.clone())
                .collect(),
            deletes: self
                .resources
                .keys()
                .filter(|k| !next.resources.contains_key(k))
                .cloned()
                .collect(),
            status_upserts: next
                .statuses
                .iter()
                .filter(|(k, v)| self.statuses.get(k) != Some(v))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            status_deletes: self
                .statuses
                .keys()
                .filter(|k| !next.statuses.contains_key(k))
                .cloned()
                .collect(),
        }
    }
}
