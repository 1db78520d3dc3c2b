//! ReferenceGrant checks: which cross-namespace references are permitted.

use std::sync::Arc;

use differential_dataflow::operators::arrange::{Arranged, TraceAgent};
use differential_dataflow::trace::implementations::ValSpine;
use serde::{Deserialize, Serialize};

use super::Col;
use crate::model::*;

/// Grants keyed by `(from namespace, grant namespace)`.
pub type GrantsByNamespaces<'s> =
    Arranged<'s, TraceAgent<ValSpine<(Sym, Sym), Arc<ReferenceGrantRec>, u64, isize>>>;

/// A cross-namespace reference to check: `from_kind` objects in `from_ns` referring to the
/// `to_kind` object `to`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct GrantQuery {
    pub from_group: String,
    pub from_kind: String,
    pub from_ns: Sym,
    pub to_group: String,
    pub to_kind: String,
    pub to: ObjectKey,
}

pub fn arrange_grants(grants: Col<'_, Arc<ReferenceGrantRec>>) -> GrantsByNamespaces<'_> {
    grants
        .flat_map(|g| {
            let mut from: Vec<Sym> = g.from.iter().map(|f| f.ns).collect();
            from.sort();
            from.dedup();
            from.into_iter().map(move |ns| ((ns, g.key.ns), g.clone()))
        })
        .arrange_by_key_named("ArrangeGrants")
}

/// The queries some grant permits, each once, with the key of the object that asked.
pub fn check_grants<'s, K: crate::render::Key>(
    queries: Col<'s, (GrantQuery, K)>,
    grants: &GrantsByNamespaces<'s>,
) -> Col<'s, (K, GrantQuery)> {
    queries
        .map(|(q, k)| ((q.from_ns, q.to.ns), (q, k)))
        .join_core(grants.clone(), |_, (q, k), g| {
            g.permits(
                &q.from_group,
                &q.from_kind,
                q.from_ns,
                &q.to_group,
                &q.to_kind,
                q.to,
            )
            .then(|| (k.clone(), q.clone()))
        })
        .distinct()
}
