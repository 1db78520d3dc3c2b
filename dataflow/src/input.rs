//! Input events: what sources hand the dataflow, one batch per epoch.
//!
//! Sources send the new state of an object (`Upsert`), its disappearance (`Delete`), or the
//! complete set of one kind (`Relist`). They never send old values: `InputState` remembers the
//! current record of every key and turns each event into exact `(record, ±1)` changes, so every
//! key's multiplicity is always 0 or 1.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

use crate::model::*;

/// The kinds of record the dataflow consumes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RecordKind {
    GatewayClass,
    Gateway,
    HttpRoute,
    Service,
    EndpointSlice,
    ReferenceGrant,
    Secret,
    Namespace,
    Backend,
    DirectResponse,
    /// A kgateway policy-like kind: one record type for all of them.
    Policy(PolicyKind),
}

impl RecordKind {
    pub const ALL: [RecordKind; 16] = [
        RecordKind::GatewayClass,
        RecordKind::Gateway,
        RecordKind::HttpRoute,
        RecordKind::Service,
        RecordKind::EndpointSlice,
        RecordKind::ReferenceGrant,
        RecordKind::Secret,
        RecordKind::Namespace,
        RecordKind::Backend,
        RecordKind::DirectResponse,
        RecordKind::Policy(PolicyKind::TrafficPolicy),
        RecordKind::Policy(PolicyKind::ListenerPolicy),
        RecordKind::Policy(PolicyKind::HTTPListenerPolicy),
        RecordKind::Policy(PolicyKind::BackendConfigPolicy),
        RecordKind::Policy(PolicyKind::GatewayExtension),
        RecordKind::Policy(PolicyKind::GatewayParameters),
    ];
}

/// Identity of a record: kind plus `namespace/name` (namespace `""` for cluster-scoped kinds).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RecordKey {
    pub kind: RecordKind,
    pub key: ObjectKey,
}

/// One lowered object. Records are shared, not copied: the input state, the dataflow's input
/// arrangements and every operator that holds a record point at the same allocation.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Record {
    GatewayClass(Arc<GatewayClassRec>),
    Gateway(Arc<GatewayRec>),
    HttpRoute(Arc<HttpRouteRec>),
    Service(Arc<ServiceRec>),
    EndpointSlice(Arc<EndpointSliceRec>),
    ReferenceGrant(Arc<ReferenceGrantRec>),
    Secret(Arc<SecretRec>),
    Namespace(Arc<NamespaceRec>),
    Backend(Arc<BackendRec>),
    DirectResponse(Arc<DirectResponseRec>),
    Policy(Arc<PolicyRec>),
}

from_arc_variants!(Record {
    GatewayClass(GatewayClassRec),
    Gateway(GatewayRec),
    HttpRoute(HttpRouteRec),
    Service(ServiceRec),
    EndpointSlice(EndpointSliceRec),
    ReferenceGrant(ReferenceGrantRec),
    Secret(SecretRec),
    Namespace(NamespaceRec),
    Backend(BackendRec),
    DirectResponse(DirectResponseRec),
    Policy(PolicyRec),
});

impl Record {
    pub fn key(&self) -> RecordKey {
        let cluster = |name: Sym| ObjectKey {
            ns: Sym::new(""),
            name,
        };
        let (kind, key) = match self {
            Record::GatewayClass(r) => (RecordKind::GatewayClass, cluster(r.name)),
            Record::Gateway(r) => (RecordKind::Gateway, r.key),
            Record::HttpRoute(r) => (RecordKind::HttpRoute, r.key),
            Record::Service(r) => (RecordKind::Service, r.key),
            Record::EndpointSlice(r) => (RecordKind::EndpointSlice, r.key),
            Record::ReferenceGrant(r) => (RecordKind::ReferenceGrant, r.key),
            Record::Secret(r) => (RecordKind::Secret, r.key),
            Record::Namespace(r) => (RecordKind::Namespace, cluster(r.name)),
            Record::Backend(r) => (RecordKind::Backend, r.key),
            Record::DirectResponse(r) => (RecordKind::DirectResponse, r.key),
            Record::Policy(r) => (RecordKind::Policy(r.kind), r.key),
        };
        RecordKey { kind, key }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum InputEvent {
    /// Create or replace the object with this key.
    Upsert(Record),
    /// The object is gone (a no-op if it was never there).
    Delete(RecordKey),
    /// These are all objects of the kind: anything else of that kind is gone.
    Relist(RecordKind, Vec<Record>),
}

/// The current record of every key; turns events into exact changes.
#[derive(Debug, Default, Clone)]
pub struct InputState {
    current: BTreeMap<RecordKey, Record>,
}

impl InputState {
    /// Applies one batch; returns the changes `(record, +1 | -1)`, consolidated: an object
    /// changed twice in the batch gives one retraction of its old value and one insertion of
    /// its final value, and an unchanged object gives nothing.
    pub fn apply(&mut self, batch: Vec<InputEvent>) -> Vec<(Record, isize)> {
        let mut before: BTreeMap<RecordKey, Option<Record>> = BTreeMap::new();
        let mut remember = |current: &BTreeMap<RecordKey, Record>, k: RecordKey| {
            before.entry(k).or_insert_with(|| current.get(&k).cloned());
        };
        for event in batch {
            match event {
                InputEvent::Upsert(r) => {
                    let k = r.key();
                    remember(&self.current, k);
                    self.current.insert(k, r);
                }
                InputEvent::Delete(k) => {
                    remember(&self.current, k);
                    self.current.remove(&k);
                }
                InputEvent::Relist(kind, records) => {
                    let fresh: BTreeMap<RecordKey, Record> =
                        records.into_iter().map(|r| (r.key(), r)).collect();
                    let gone: Vec<RecordKey> = self
                        .current
                        .range(kind_range(kind))
                        .map(|(k, _)| *k)
                        .filter(|k| !fresh.contains_key(k))
                        .collect();
                    for k in gone {
                        remember(&self.current, k);
                        self.current.remove(&k);
                    }
                    for (k, r) in fresh {
                        remember(&self.current, k);
                        self.current.insert(k, r);
                    }
                }
            }
        }
        let mut changes = Vec::new();
        for (k, old) in before {
            let new = self.current.get(&k);
            if old.as_ref() == new {
                continue;
            }
            if let Some(old) = old {
                changes.push((old, -1));
            }
            if let Some(new) = new {
                changes.push((new.clone(), 1));
            }
        }
        changes
    }

    pub fn records(&self) -> impl Iterator<Item = &Record> {
        self.current.values()
    }

    pub fn len(&self) -> usize {
        self.current.len()
    }

    pub fn is_empty(&self) -> bool {
        self.current.is_empty()
    }
}

fn kind_range(kind: RecordKind) -> std::ops::RangeInclusive<RecordKey> {
    // ObjectKeys order by interned id; the range just needs to span every key of the kind.
    let lo = ObjectKey {
        ns: Sym::MIN,
        name: Sym::MIN,
    };
    let hi = ObjectKey {
        ns: Sym::MAX,
        name: Sym::MAX,
    };
    RecordKey { kind, key: lo }..=RecordKey { kind, key: hi }
}
