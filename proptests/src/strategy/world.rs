//! Whole worlds (every object of a cluster at one instant) and single records of a given kind.
//!
//! Objects are generated independently from the vocabulary, then [`link`]ed: a share of the
//! references (parentRefs, Service backendRefs, certificateRefs) is steered to objects the
//! world does contain, so that most worlds route traffic somewhere while dangling and
//! unpermitted references still occur.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use sluice_dataflow::input::{Record, RecordKey, RecordKind};
use sluice_dataflow::model::{
    BackendTarget, FilterRec, GATEWAY_GROUP, ObjectKey, ReferenceGrantRec, Sym,
};
use std::collections::BTreeSet;

use super::backend::{backend, direct_response, endpoint_slice, service, slice_service};
use super::gateway::{gateway, gateway_class, gateway_classes, secret};
use super::grant::reference_grant;
use super::names::{any_namespace_rec, namespace_recs};
use super::route::http_route;

/// A world: all three Namespaces, 0–2 GatewayClasses, and a handful of every other kind, with
/// unique keys (the first of two records with one key wins).
pub fn world() -> impl Strategy<Value = Vec<Record>> {
    (
        namespace_recs(),
        gateway_classes(),
        vec(gateway(), 0..=4),
        vec(http_route(), 0..=6),
        vec(service(), 0..=5),
        vec(endpoint_slice(), 0..=6),
        vec(reference_grant(), 0..=3),
        vec(secret(), 0..=4),
        vec(backend(), 0..=2),
        vec(direct_response(), 0..=2),
        vec(prop::option::weighted(0.6, any::<Index>()), LINK_PICKS),
    )
        .prop_map(
            |(ns, classes, gws, routes, svcs, slices, grants, secrets, bes, drs, picks)| {
                let records = ns
                    .into_iter()
                    .map(Record::Namespace)
                    .chain(classes.into_iter().map(Record::GatewayClass))
                    .chain(gws.into_iter().map(Record::Gateway))
                    .chain(routes.into_iter().map(Record::HttpRoute))
                    .chain(svcs.into_iter().map(Record::Service))
                    .chain(slices.into_iter().map(Record::EndpointSlice))
                    .chain(grants.into_iter().map(Record::ReferenceGrant))
                    .chain(secrets.into_iter().map(Record::Secret))
                    .chain(bes.into_iter().map(Record::Backend))
                    .chain(drs.into_iter().map(Record::DirectResponse));
                link(dedup_by_key(records), &picks)
            },
        )
}

/// How many references of a world [`link`] may steer.
const LINK_PICKS: usize = 48;

/// Steers references to objects of `records`: the `n`-th reference (in record order) whose
/// `picks[n]` is `Some(i)` is pointed at the `i`-th candidate, keeping its section, port and
/// kind. Candidates are every Gateway for a parentRef; the Services, or Secrets, in the
/// referrer's namespace or granted to it for a backendRef, or certificateRef.
pub fn link(mut records: Vec<Record>, picks: &[Option<Index>]) -> Vec<Record> {
    let keys = |kind: RecordKind| -> Vec<ObjectKey> {
        records
            .iter()
            .map(Record::key)
            .filter(|k| k.kind == kind)
            .map(|k| k.key)
            .collect()
    };
    let gateways = keys(RecordKind::Gateway);
    let services = keys(RecordKind::Service);
    let secrets = keys(RecordKind::Secret);
    let grants: Vec<ReferenceGrantRec> = records
        .iter()
        .filter_map(|r| {
            if let Record::ReferenceGrant(g) = r {
                Some(g.clone())
            } else {
                None
            }
        })
        .collect();
    let reachable = |pool: &[ObjectKey], from_kind: &str, from_ns: Sym, to_kind: &str| {
        pool.iter()
            .filter(|k| {
                k.ns == from_ns
                    || grants
                        .iter()
                        .any(|g| g.permits(GATEWAY_GROUP, from_kind, from_ns, "", to_kind, **k))
            })
            .copied()
            .collect::<Vec<ObjectKey>>()
    };
    let mut picks = picks.iter();
    let mut pick = |pool: &[ObjectKey]| -> Option<ObjectKey> {
        let i = picks.next()?.as_ref()?;
        (!pool.is_empty()).then(|| pool[i.index(pool.len())])
    };
    for record in &mut records {
        match record {
            Record::Gateway(gw) => {
                let pool = reachable(&secrets, "Gateway", gw.key.ns, "Secret");
                for tls in gw.listeners.iter_mut().filter_map(|l| l.tls.as_mut()) {
                    for cert in &mut tls.certificate_refs {
                        if let Some(key) = pick(&pool) {
                            cert.key = key;
                        }
                    }
                }
            }
            Record::HttpRoute(route) => {
                for p in &mut route.parent_refs {
                    if let Some(key) = pick(&gateways) {
                        p.gateway = key;
                    }
                }
                let pool = reachable(&services, "HTTPRoute", route.key.ns, "Service");
                for b in route.rules.iter_mut().flat_map(|rule| &mut rule.backends) {
                    if let BackendTarget::Service { key, .. } = &mut b.target
                        && let Some(to) = pick(&pool)
                    {
                        *key = to;
                    }
                }
            }
            _ => {}
        }
    }
    records
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
        RecordKind::GatewayClass => gateway_class().prop_map(Record::GatewayClass).boxed(),
        RecordKind::Gateway => gateway().prop_map(Record::Gateway).boxed(),
        RecordKind::HttpRoute => http_route().prop_map(Record::HttpRoute).boxed(),
        RecordKind::Service => service().prop_map(Record::Service).boxed(),
        RecordKind::EndpointSlice => endpoint_slice().prop_map(Record::EndpointSlice).boxed(),
        RecordKind::ReferenceGrant => reference_grant().prop_map(Record::ReferenceGrant).boxed(),
        RecordKind::Secret => secret().prop_map(Record::Secret).boxed(),
        RecordKind::Namespace => any_namespace_rec().prop_map(Record::Namespace).boxed(),
        RecordKind::Backend => backend().prop_map(Record::Backend).boxed(),
        RecordKind::DirectResponse => direct_response().prop_map(Record::DirectResponse).boxed(),
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
        Record::GatewayClass(mut r) => {
            r.name = name;
            Record::GatewayClass(r)
        }
        Record::Namespace(mut r) => {
            r.name = name;
            Record::Namespace(r)
        }
        Record::Gateway(mut r) => {
            r.key = to.key;
            for tls in r.listeners.iter_mut().filter_map(|l| l.tls.as_mut()) {
                for c in &mut tls.certificate_refs {
                    c.key = ns(c.key);
                }
            }
            Record::Gateway(r)
        }
        Record::HttpRoute(mut r) => {
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
            Record::HttpRoute(r)
        }
        Record::EndpointSlice(mut r) => {
            r.key = to.key;
            r.service = slice_service(to.key);
            Record::EndpointSlice(r)
        }
        Record::Service(mut r) => {
            r.key = to.key;
            Record::Service(r)
        }
        Record::ReferenceGrant(mut r) => {
            r.key = to.key;
            Record::ReferenceGrant(r)
        }
        Record::Secret(mut r) => {
            let (was, is) = (from.key.to_string(), to.key.to_string());
            r.cert_chain = r.cert_chain.map(|c| c.replace(&was, &is));
            r.private_key = r.private_key.map(|k| k.replace(&was, &is));
            r.key = to.key;
            Record::Secret(r)
        }
        Record::Backend(mut r) => {
            r.key = to.key;
            Record::Backend(r)
        }
        Record::DirectResponse(mut r) => {
            r.key = to.key;
            Record::DirectResponse(r)
        }
    }
}
