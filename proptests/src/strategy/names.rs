//! The fixed vocabulary every generated object draws its names from.
//!
//! The vocabulary is deliberately tiny so that references collide: a route's parentRef names a
//! Gateway that often exists, two listeners often share a port, two routes often share a
//! hostname. [`all_keys`] lists every key the vocabulary can form, which is how a change script
//! finds a key that is *not* in the current state.

use proptest::prelude::*;
use proptest::sample::select;
use sluice_dataflow::input::{RecordKey, RecordKind};
use sluice_dataflow::model::{DEFAULT_CONTROLLER_NAME, NamespaceRec, ObjectKey, PolicyKind, Sym};
use std::collections::BTreeMap;

pub const NAMESPACES: [&str; 3] = ["ns-a", "ns-b", "ns-c"];
/// `(name, controller)`: `sluice` is ours, `other` belongs to somebody else.
pub const GATEWAY_CLASSES: [(&str, &str); 2] = [
    ("sluice", DEFAULT_CONTROLLER_NAME),
    ("other", "example.com/other"),
];
pub const GATEWAYS: [&str; 3] = ["gw-1", "gw-2", "gw-3"];
/// Listener ports (`l-0`, `l-1`… are named by position, see [`listener_name`]).
pub const LISTENER_PORTS: [u16; 3] = [80, 443, 8080];
/// Section names parentRefs use: the first two usually exist, `l-9` never does.
pub const SECTION_NAMES: [&str; 3] = ["l-0", "l-1", "l-9"];
pub const ROUTES: [&str; 6] = ["r-1", "r-2", "r-3", "r-4", "r-5", "r-6"];
pub const SERVICES: [&str; 4] = ["svc-1", "svc-2", "svc-3", "svc-4"];
pub const SERVICE_PORTS: [u16; 2] = [80, 8080];
/// EndpointSlices are named `<service>-<suffix>`.
pub const SLICE_SUFFIXES: [&str; 2] = ["a", "b"];
pub const HOSTNAMES: [&str; 5] = [
    "a.example.com",
    "*.example.com",
    "b.example.com",
    "*.b.example.com",
    "foo.bar.example.com",
];
pub const PATHS: [&str; 4] = ["/", "/a", "/a/b", "/b"];
pub const SECRETS: [&str; 2] = ["tls-1", "tls-2"];
pub const BACKENDS: [&str; 1] = ["be-1"];
pub const DIRECT_RESPONSES: [&str; 2] = ["dr-1", "dr-2"];
pub const GRANTS: [&str; 2] = ["rg-1", "rg-2"];
/// Policy-like objects of every kind are named from these.
pub const POLICIES: [&str; 2] = ["tp-1", "tp-2"];
/// Labels routes carry and policies select on.
pub const POLICY_LABELS: [(&str, &str); 2] = [("app", "shop"), ("tier", "web")];

/// The name of the listener at `index` in its Gateway.
pub fn listener_name(index: usize) -> Sym {
    Sym::new(&format!("l-{index}"))
}

/// The name a Service port `port` carries (`None` only for single-port Services).
pub fn service_port_name(port: u16) -> &'static str {
    if port == 80 { "http" } else { "http-alt" }
}

pub fn namespace() -> impl Strategy<Value = &'static str> {
    select(&NAMESPACES[..])
}

/// Where a reference points, relative to the referring object: mostly its own namespace.
pub fn ns_choice() -> impl Strategy<Value = Option<&'static str>> {
    prop::option::weighted(0.25, namespace())
}

/// Where a parentRef points: its own namespace, the shared `ns-a` where most Gateways live,
/// or any.
pub fn parent_ns_choice() -> impl Strategy<Value = Option<&'static str>> {
    prop_oneof![2 => Just(None), 2 => Just(Some(NAMESPACES[0])), 1 => namespace().prop_map(Some)]
}

/// A Gateway name, skewed towards `gw-1` so that parentRefs find their Gateway often.
pub fn gateway_name() -> impl Strategy<Value = &'static str> {
    select(&["gw-1", "gw-1", "gw-1", "gw-2", "gw-2", "gw-3"][..])
}

/// A Gateway key: mostly in `ns-a`, the shared infrastructure namespace.
pub fn gateway_key() -> impl Strategy<Value = ObjectKey> {
    let ns = select(&["ns-a", "ns-a", "ns-a", "ns-b", "ns-c"][..]);
    (ns, gateway_name()).prop_map(|(ns, name)| ObjectKey::new(ns, name))
}

/// A Service name, skewed towards the first two so that backendRefs find their Service often.
pub fn service_name() -> impl Strategy<Value = &'static str> {
    select(&["svc-1", "svc-1", "svc-2", "svc-2", "svc-3", "svc-4"][..])
}

/// `choice` resolved against the referring object's namespace.
pub fn resolve_ns(own: &str, choice: Option<&str>) -> Sym {
    Sym::new(choice.unwrap_or(own))
}

pub fn hostname() -> impl Strategy<Value = &'static str> {
    select(&HOSTNAMES[..])
}

pub fn path() -> impl Strategy<Value = &'static str> {
    select(&PATHS[..])
}

/// `(namespace, name)` with the name drawn from `names`.
pub fn key_in(names: &'static [&'static str]) -> impl Strategy<Value = ObjectKey> {
    (namespace(), select(names)).prop_map(|(ns, name)| ObjectKey::new(ns, name))
}

fn cluster_key(name: &str) -> ObjectKey {
    ObjectKey::new("", name)
}

/// Every key the vocabulary can form, per kind, in vocabulary order.
pub fn all_keys() -> Vec<RecordKey> {
    let mut out = Vec::new();
    let namespaced = |kind: RecordKind, names: &[String], out: &mut Vec<RecordKey>| {
        for ns in NAMESPACES {
            for name in names {
                out.push(RecordKey {
                    kind,
                    key: ObjectKey::new(ns, name),
                });
            }
        }
    };
    let owned = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    for (name, _) in GATEWAY_CLASSES {
        out.push(RecordKey {
            kind: RecordKind::GatewayClass,
            key: cluster_key(name),
        });
    }
    for ns in NAMESPACES {
        out.push(RecordKey {
            kind: RecordKind::Namespace,
            key: cluster_key(ns),
        });
    }
    namespaced(RecordKind::Gateway, &owned(&GATEWAYS), &mut out);
    namespaced(RecordKind::HttpRoute, &owned(&ROUTES), &mut out);
    namespaced(RecordKind::Service, &owned(&SERVICES), &mut out);
    let slices: Vec<String> = SERVICES
        .iter()
        .flat_map(|svc| SLICE_SUFFIXES.iter().map(move |s| format!("{svc}-{s}")))
        .collect();
    namespaced(RecordKind::EndpointSlice, &slices, &mut out);
    namespaced(RecordKind::ReferenceGrant, &owned(&GRANTS), &mut out);
    namespaced(RecordKind::Secret, &owned(&SECRETS), &mut out);
    namespaced(RecordKind::Backend, &owned(&BACKENDS), &mut out);
    namespaced(
        RecordKind::DirectResponse,
        &owned(&DIRECT_RESPONSES),
        &mut out,
    );
    for kind in PolicyKind::ALL {
        namespaced(RecordKind::Policy(kind), &owned(&POLICIES), &mut out);
    }
    out
}

/// Orders record keys by kind, then namespace and name *text*: interned ids order by first
/// appearance in the process, which must not decide what a replayed test case does.
pub fn cmp_record_keys(a: &RecordKey, b: &RecordKey) -> std::cmp::Ordering {
    a.kind.cmp(&b.kind).then_with(|| a.key.cmp_str(&b.key))
}

/// A Namespace of the vocabulary with random labels from `env: prod|dev` and `team: x`.
pub fn namespace_rec(name: &'static str) -> impl Strategy<Value = NamespaceRec> {
    let env = prop_oneof![2 => Just(Some("prod")), 1 => Just(Some("dev")), 1 => Just(None)];
    (env, any::<bool>()).prop_map(move |(env, team)| {
        let mut labels = BTreeMap::new();
        if let Some(env) = env {
            labels.insert("env".to_string(), env.to_string());
        }
        if team {
            labels.insert("team".to_string(), "x".to_string());
        }
        NamespaceRec {
            name: Sym::new(name),
            labels,
        }
    })
}

/// All three Namespaces, labelled at random.
pub fn namespace_recs() -> impl Strategy<Value = Vec<NamespaceRec>> {
    NAMESPACES.map(namespace_rec).prop_map(Vec::from)
}

/// One Namespace of the vocabulary, labelled at random.
pub fn any_namespace_rec() -> impl Strategy<Value = NamespaceRec> {
    namespace().prop_flat_map(namespace_rec)
}
