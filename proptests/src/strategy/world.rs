//! Whole worlds (every object of a cluster at one instant) and single records of a given kind.
//!
//! Objects are generated independently from the vocabulary, then [`link`]ed: most references
//! (parentRefs, Service and Backend backendRefs, mirror targets, certificateRefs) are steered to
//! objects the world does contain and may reach, Service references to a port the Service has,
//! and most EndpointSlices are moved to an existing Service and list its port names. The rest
//! keep their random targets, so dangling, unpermitted and unmatched references still occur.
//! Change scripts link what they upsert against the state at that point the same way (see
//! [`Targets`]), so edits keep the world connected.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use sluice_dataflow::input::{Record, RecordKey, RecordKind};
use sluice_dataflow::model::{
    BackendTarget, FilterRec, GATEWAY_GROUP, KGATEWAY_GROUP, ObjectKey, PolicyKind,
    ReferenceGrantRec, ServicePortRec, ServiceRec, Sym,
};
use std::collections::BTreeSet;

use super::backend::{
    backend, direct_response, endpoint_slice, service, slice_service, slice_target_port,
};
use super::gateway::{gateway, gateway_class, gateway_classes, secret};
use super::grant::reference_grant;
use super::names::{any_namespace_rec, namespace_recs};
use super::policy::{policy, policy_of};
use super::route::http_route;

/// A world: all three Namespaces, usually our GatewayClass, and a handful of every other kind,
/// with unique keys (the first of two records with one key wins), [`link`]ed.
pub fn world() -> impl Strategy<Value = Vec<Record>> {
    (
        namespace_recs(),
        gateway_classes(),
        vec(gateway(), 1..=4),
        vec(http_route(), 1..=8),
        vec(service(), 3..=7),
        vec(endpoint_slice(), 0..=6),
        vec(reference_grant(), 0..=3),
        vec(secret(), 2..=4),
        vec(backend(), 0..=2),
        vec(direct_response(), 0..=2),
        vec(policy(), 0..=3),
        links(LINK_PICKS),
    )
        .prop_map(
            |(ns, classes, gws, routes, svcs, slices, grants, secrets, bes, drs, pols, picks)| {
                let records = ns
                    .into_iter()
                    .map(Record::from)
                    .chain(classes.into_iter().map(Record::from))
                    .chain(gws.into_iter().map(Record::from))
                    .chain(routes.into_iter().map(Record::from))
                    .chain(svcs.into_iter().map(Record::from))
                    .chain(slices.into_iter().map(Record::from))
                    .chain(grants.into_iter().map(Record::from))
                    .chain(secrets.into_iter().map(Record::from))
                    .chain(bes.into_iter().map(Record::from))
                    .chain(drs.into_iter().map(Record::from))
                    .chain(pols.into_iter().map(Record::from));
                link(dedup_by_key(records), &picks)
            },
        )
}

/// How many references of a world [`link`] may steer.
const LINK_PICKS: usize = 160;

/// How many references of a single record (a route has at most 3 parentRefs and 3 rules of
/// 3 backendRefs and a mirror) linking may steer.
pub const RECORD_LINK_PICKS: usize = 16;

/// Choices for [`Targets::link`]: `None` leaves a reference as generated, `Some(i)` steers it
/// to the `i`-th candidate.
pub type Links = Vec<Option<Index>>;

/// `n` link choices, most of them steering.
pub fn links(n: usize) -> impl Strategy<Value = Links> {
    vec(prop::option::weighted(0.92, any::<Index>()), n)
}

/// Steers references of `records` to objects of `records` (see [`Targets::link`]); slices that
/// move onto a key already taken are dropped.
pub fn link(records: Vec<Record>, picks: &[Option<Index>]) -> Vec<Record> {
    let targets = Targets::of(&records);
    let mut picks = picks.iter();
    let linked: Vec<Record> = records
        .into_iter()
        .map(|r| targets.link(r, &mut picks, true))
        .collect();
    dedup_by_key(linked)
}

/// What references can be steered to: the objects of a world, or of the state a change script
/// has reached.
#[derive(Clone, Debug, Default)]
pub struct Targets {
    gateways: Vec<ObjectKey>,
    services: Vec<ServiceRec>,
    secrets: Vec<ObjectKey>,
    backends: Vec<ObjectKey>,
    grants: Vec<ReferenceGrantRec>,
}

fn pick<T: Copy>(picks: &mut std::slice::Iter<'_, Option<Index>>, pool: &[T]) -> Option<T> {
    let i = picks.next()?.as_ref()?;
    (!pool.is_empty()).then(|| pool[i.index(pool.len())])
}

impl Targets {
    /// The candidates among `records`, in their order (which must not depend on interning).
    pub fn of<'a>(records: impl IntoIterator<Item = &'a Record>) -> Targets {
        let mut t = Targets::default();
        for r in records {
            match r {
                Record::Gateway(g) => t.gateways.push(g.key),
                Record::Service(s) => t.services.push((**s).clone()),
                Record::Secret(s) => t.secrets.push(s.key),
                Record::Backend(b) => t.backends.push(b.key),
                Record::ReferenceGrant(g) => t.grants.push((**g).clone()),
                _ => {}
            }
        }
        t
    }

    fn reachable<'a>(
        &self,
        pool: impl IntoIterator<Item = &'a ObjectKey>,
        from_kind: &str,
        from_ns: Sym,
        to_group: &str,
        to_kind: &str,
    ) -> Vec<ObjectKey> {
        pool.into_iter()
            .filter(|k| {
                k.ns == from_ns
                    || self.grants.iter().any(|g| {
                        g.permits(GATEWAY_GROUP, from_kind, from_ns, to_group, to_kind, **k)
                    })
            })
            .copied()
            .collect()
    }

    /// The `(Service, port)` pairs an HTTPRoute in `ns` may reach.
    fn service_ports(&self, ns: Sym) -> Vec<(ObjectKey, u16)> {
        let keys = self.reachable(
            self.services.iter().map(|s| &s.key),
            "HTTPRoute",
            ns,
            "",
            "Service",
        );
        self.services
            .iter()
            .filter(|s| keys.contains(&s.key))
            .flat_map(|s| s.ports.iter().map(move |p| (s.key, p.port)))
            .collect()
    }

    /// `record` with some of its references steered, one pick per reference (in record
    /// order): parentRefs to a Gateway; Service backendRefs and mirror targets to a reachable
    /// Service port; Backend backendRefs to a reachable Backend; certificateRefs to a
    /// reachable Secret. An EndpointSlice moves to a Service's namespace and name (only when
    /// `movable`: an edit keeps its key) and lists its Service's port names; a Service that
    /// replaces one with its key keeps the old one's port numbers, so references stay
    /// resolved.
    pub fn link(
        &self,
        record: Record,
        picks: &mut std::slice::Iter<'_, Option<Index>>,
        movable: bool,
    ) -> Record {
        match record {
            Record::Gateway(gw) => {
                let mut gw = std::sync::Arc::unwrap_or_clone(gw);
                let pool = self.reachable(&self.secrets, "Gateway", gw.key.ns, "", "Secret");
                for tls in gw.listeners.iter_mut().filter_map(|l| l.tls.as_mut()) {
                    for cert in &mut tls.certificate_refs {
                        if let Some(key) = pick(picks, &pool) {
                            cert.key = key;
                        }
                    }
                }
                Record::from(gw)
            }
            Record::HttpRoute(route) => {
                let mut route = std::sync::Arc::unwrap_or_clone(route);
                for p in &mut route.parent_refs {
                    if let Some(key) = pick(picks, &self.gateways) {
                        p.gateway = key;
                    }
                }
                let ports = self.service_ports(route.key.ns);
                let backends = self.reachable(
                    &self.backends,
                    "HTTPRoute",
                    route.key.ns,
                    KGATEWAY_GROUP,
                    "Backend",
                );
                let steer =
                    |target: &mut BackendTarget,
                     picks: &mut std::slice::Iter<'_, Option<Index>>| {
                        match target {
                            BackendTarget::Service { key, port } => {
                                if let Some((to, p)) = pick(picks, &ports) {
                                    *key = to;
                                    *port = Some(p);
                                }
                            }
                            BackendTarget::Backend { key } => {
                                if let Some(to) = pick(picks, &backends) {
                                    *key = to;
                                }
                            }
                            BackendTarget::Unsupported { .. } => {}
                        }
                    };
                for rule in &mut route.rules {
                    for b in &mut rule.backends {
                        steer(&mut b.target, picks);
                    }
                    for f in &mut rule.filters {
                        if let FilterRec::Mirror(m) = f {
                            steer(&mut m.target, picks);
                        }
                    }
                }
                Record::from(route)
            }
            Record::EndpointSlice(slice) => {
                let mut slice = std::sync::Arc::unwrap_or_clone(slice);
                if movable {
                    let keys: Vec<ObjectKey> = self.services.iter().map(|s| s.key).collect();
                    if let Some(svc) = pick(picks, &keys) {
                        let name = slice.key.name.as_str();
                        let suffix = name.rsplit_once('-').map_or(name, |(_, s)| s);
                        slice.key =
                            ObjectKey::new(svc.ns.as_str(), &format!("{}-{suffix}", svc.name));
                        slice.service = svc;
                    }
                }
                let svc = self.services.iter().find(|s| s.key == slice.service);
                if let (Some(svc), Some(Some(_))) = (svc, picks.next()) {
                    slice.ports = svc
                        .ports
                        .iter()
                        .map(|p| (p.name.clone(), slice_target_port(p.port)))
                        .collect();
                }
                Record::from(slice)
            }
            Record::Service(svc) => {
                let mut svc = std::sync::Arc::unwrap_or_clone(svc);
                let old = self.services.iter().find(|s| s.key == svc.key);
                if let (Some(old), Some(Some(_))) = (old, picks.next()) {
                    svc.ports = old
                        .ports
                        .iter()
                        .map(|p| {
                            svc.ports
                                .iter()
                                .find(|q| q.port == p.port)
                                .cloned()
                                .unwrap_or_else(|| ServicePortRec {
                                    app_protocol: svc
                                        .ports
                                        .first()
                                        .and_then(|q| q.app_protocol.clone()),
                                    ..p.clone()
                                })
                        })
                        .collect();
                }
                Record::from(svc)
            }
            other => other,
        }
    }
}

/// `records` without the second and later records of each key, order kept.
pub fn dedup_by_key(records: impl IntoIterator<Item = Record>) -> Vec<Record> {
    let mut seen = BTreeSet::new();
    records
        .into_iter()
        .filter(|r| seen.insert(r.key()))
        .collect()
}

/// A random record of `kind`, keyed from the vocabulary.
pub fn record_of(kind: RecordKind) -> BoxedStrategy<Record> {
    match kind {
        RecordKind::GatewayClass => gateway_class().prop_map(Record::from).boxed(),
        RecordKind::Gateway => gateway().prop_map(Record::from).boxed(),
        RecordKind::HttpRoute => http_route().prop_map(Record::from).boxed(),
        RecordKind::Service => service().prop_map(Record::from).boxed(),
        RecordKind::EndpointSlice => endpoint_slice().prop_map(Record::from).boxed(),
        RecordKind::ReferenceGrant => reference_grant().prop_map(Record::from).boxed(),
        RecordKind::Secret => secret().prop_map(Record::from).boxed(),
        RecordKind::Namespace => any_namespace_rec().prop_map(Record::from).boxed(),
        RecordKind::Backend => backend().prop_map(Record::from).boxed(),
        RecordKind::DirectResponse => direct_response().prop_map(Record::from).boxed(),
        RecordKind::Policy(kind) => policy_of(Just(kind)).prop_map(Record::from).boxed(),
    }
}

/// A kind, weighted towards the ones with the most cross-references.
pub fn record_kind() -> impl Strategy<Value = RecordKind> {
    prop_oneof![
        4 => Just(RecordKind::HttpRoute),
        3 => Just(RecordKind::Gateway),
        2 => Just(RecordKind::Service),
        2 => Just(RecordKind::EndpointSlice),
        1 => Just(RecordKind::ReferenceGrant),
        1 => Just(RecordKind::Secret),
        1 => Just(RecordKind::Namespace),
        1 => Just(RecordKind::GatewayClass),
        1 => Just(RecordKind::Backend),
        1 => Just(RecordKind::DirectResponse),
        3 => Just(RecordKind::Policy(PolicyKind::TrafficPolicy)),
        1 => select(&PolicyKind::ALL[1..]).prop_map(RecordKind::Policy),
    ]
}

/// A random record of a random kind (see [`record_kind`]).
pub fn any_record() -> impl Strategy<Value = Record> {
    record_kind().prop_flat_map(record_of)
}

/// `record` moved to `to` (which must be of the record's kind): references into the record's
/// own namespace follow it into the new one, so a same-namespace reference stays one. An
/// EndpointSlice's Service follows the slice's name (`<service>-<suffix>`).
pub fn rekey(record: Record, to: RecordKey) -> Record {
    let from = record.key();
    assert_eq!(from.kind, to.kind, "rekey across kinds");
    let (old, new) = (from.key.ns, to.key.ns);
    let ns = |k: ObjectKey| {
        if k.ns == old {
            ObjectKey {
                ns: new,
                name: k.name,
            }
        } else {
            k
        }
    };
    let target = |t: &mut BackendTarget| match t {
        BackendTarget::Service { key, .. }
        | BackendTarget::Backend { key }
        | BackendTarget::Unsupported { key, .. } => *key = ns(*key),
    };
    let name: Sym = to.key.name;
    match record {
        Record::GatewayClass(r) => {
            let mut r = std::sync::Arc::unwrap_or_clone(r);
            r.name = name;
            Record::from(r)
        }
        Record::Namespace(r) => {
            let mut r = std::sync::Arc::unwrap_or_clone(r);
            r.name = name;
            Record::from(r)
        }
        Record::Gateway(r) => {
            let mut r = std::sync::Arc::unwrap_or_clone(r);
            r.key = to.key;
            for tls in r.listeners.iter_mut().filter_map(|l| l.tls.as_mut()) {
                for c in &mut tls.certificate_refs {
                    c.key = ns(c.key);
                }
            }
            Record::from(r)
        }
        Record::HttpRoute(r) => {
            let mut r = std::sync::Arc::unwrap_or_clone(r);
            r.key = to.key;
            for p in &mut r.parent_refs {
                p.gateway = ns(p.gateway);
            }
            for rule in &mut r.rules {
                for b in &mut rule.backends {
                    target(&mut b.target);
                }
                for f in &mut rule.filters {
                    if let FilterRec::Mirror(m) = f {
                        target(&mut m.target);
                    }
                }
            }
            Record::from(r)
        }
        Record::EndpointSlice(r) => {
            let mut r = std::sync::Arc::unwrap_or_clone(r);
            r.key = to.key;
            r.service = slice_service(to.key);
            Record::from(r)
        }
        Record::Service(r) => {
            let mut r = std::sync::Arc::unwrap_or_clone(r);
            r.key = to.key;
            Record::from(r)
        }
        Record::ReferenceGrant(r) => {
            let mut r = std::sync::Arc::unwrap_or_clone(r);
            r.key = to.key;
            Record::from(r)
        }
        Record::Secret(r) => {
            let mut r = std::sync::Arc::unwrap_or_clone(r);
            let (was, is) = (from.key.to_string(), to.key.to_string());
            r.cert_chain = r.cert_chain.map(|c| c.replace(&was, &is));
            r.private_key = r.private_key.map(|k| k.replace(&was, &is));
            r.key = to.key;
            Record::from(r)
        }
        Record::Backend(r) => {
            let mut r = std::sync::Arc::unwrap_or_clone(r);
            r.key = to.key;
            Record::from(r)
        }
        Record::DirectResponse(r) => {
            let mut r = std::sync::Arc::unwrap_or_clone(r);
            r.key = to.key;
            Record::from(r)
        }
        Record::Policy(r) => {
            let mut r = std::sync::Arc::unwrap_or_clone(r);
            r.key = to.key;
            Record::from(r)
        }
    }
}
