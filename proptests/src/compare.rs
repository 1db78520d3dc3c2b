//! Side-by-side reports of where two outputs differ, for failing property tests.

use std::collections::BTreeSet;
use std::fmt::Write;

use sluice_dataflow::output::{OutputBatch, Snapshot};

/// `None` when equal; else each differing resource and status, left and right.
pub fn snapshot_diff(
    left_name: &str,
    left: &Snapshot,
    right_name: &str,
    right: &Snapshot,
) -> Option<String> {
    if left == right {
        return None;
    }
    let mut out = String::new();
    let keys: BTreeSet<_> = left
        .resources
        .keys()
        .chain(right.resources.keys())
        .collect();
    for k in keys {
        let (a, b) = (left.resources.get(k), right.resources.get(k));
        if a != b {
            let _ = writeln!(
                out,
                "resource {k:?}\n  {left_name}: {a:#?}\n  {right_name}: {b:#?}"
            );
        }
    }
    let keys: BTreeSet<_> = left.statuses.keys().chain(right.statuses.keys()).collect();
    for k in keys {
        let (a, b) = (left.statuses.get(k), right.statuses.get(k));
        if a != b {
            let _ = writeln!(
                out,
                "status {k:?}\n  {left_name}: {a:#?}\n  {right_name}: {b:#?}"
            );
        }
    }
    Some(out)
}

/// `None` when both batches carry the same changes (epoch numbers aside).
pub fn batch_diff(
    left_name: &str,
    left: &OutputBatch,
    right_name: &str,
    right: &OutputBatch,
) -> Option<String> {
    let strip = |b: &OutputBatch| OutputBatch {
        epoch: 0,
        ..b.clone()
    };
    if strip(left) == strip(right) {
        return None;
    }
    let keys = |b: &OutputBatch| -> Vec<String> {
        b.upserts
            .iter()
            .map(|r| format!("upsert {:?}", r.key()))
            .chain(b.deletes.iter().map(|k| format!("delete {k:?}")))
            .chain(
                b.status_upserts
                    .iter()
                    .map(|(k, _)| format!("status upsert {k:?}")),
            )
            .chain(
                b.status_deletes
                    .iter()
                    .map(|k| format!("status delete {k:?}")),
            )
            .collect()
    };
    Some(format!(
        "{left_name}: {:#?}\n{right_name}: {:#?}",
        keys(left),
        keys(right)
    ))
}
