//! Granularity through `Engine`: after a world of 2 Gateways × 2 listeners, 50 HTTPRoutes, 10
//! Services and their EndpointSlices is applied, each change emits exactly the resources and
//! statuses whose content it changes, and nothing else.
//!
//! The world (`mk_world`): Gateways `infra/gw-a` and `infra/gw-b`, each with listener `http`
//! (port 80, any host) and `https` (port 443, `*.{a,b}.example.com`, its own Secret). Route
//! `apps/r-NN` belongs to Gateway `gw-a` for even `NN`, `gw-b` for odd, and attaches by `NN % 5`:
//! 0 → both listeners (no sectionName), 1–2 → `http`, 3–4 → `https`; it serves
//! `rNN.{a,b}.example.com` and forwards `/rNN` to `svc-{(NN / 2) % 10}`, so every Service is used
//! from both Gateways.

use std::collections::BTreeSet;

use sluice_dataflow::input::{InputEvent, Record, RecordKind};
use sluice_dataflow::ir::{StatusKey, XdsKey, XdsType};
use sluice_dataflow::model::*;
use sluice_dataflow::output::OutputBatch;
use sluice_dataflow::render::RenderConfig;
use sluice_dataflow::worker::{Engine, Topology};

const ROUTES: usize = 50;
const SERVICES: usize = 10;

// ---------------------------------------------------------------------------------------------
// Builders

fn key(ns: &str, name: &str) -> ObjectKey {
    ObjectKey::new(ns, name)
}

fn mk_class() -> GatewayClassRec {
    GatewayClassRec {
        name: Sym::new("sluice"),
        controller: Sym::new(DEFAULT_CONTROLLER_NAME),
        generation: 1,
    }
}

fn mk_listener(name: &str, port: u16, protocol: Protocol, hostname: Option<String>) -> ListenerRec {
    ListenerRec {
        name: Sym::new(name),
        port,
        protocol,
        hostname,
        tls: None,
        allowed_namespaces: AllowedNamespaces::All,
        supported_kinds: vec![RouteGroupKind::http_route()],
        invalid_kinds: false,
        problem: None,
    }
}

/// Gateway `infra/gw-{x}`: `http` on 80, `https` on 443 for `*.{x}.example.com`.
fn mk_gateway(x: &str) -> GatewayRec {
    let https = ListenerRec {
        tls: Some(ListenerTls {
            mode: TlsMode::Terminate,
            certificate_refs: vec![CertificateRef {
                group: String::new(),
                kind: "Secret".into(),
                key: key("infra", &format!("cert-{x}")),
            }],
        }),
        ..mk_listener(
            "https",
            443,
            Protocol::Https,
            Some(format!("*.{x}.example.com")),
        )
    };
    GatewayRec {
        key: key("infra", &format!("gw-{x}")),
        class: Sym::new("sluice"),
        generation: 1,
        listeners: vec![mk_listener("http", 80, Protocol::Http, None), https],
    }
}

fn mk_secret(x: &str) -> SecretRec {
    SecretRec {
        key: key("infra", &format!("cert-{x}")),
        cert_chain: Some(format!("cert {x}")),
        private_key: Some(format!("key {x}")),
        data: Vec::new(),
        labels: Vec::new(),
    }
}

/// How route `i` attaches: `None` for both listeners, else the listener's name.
fn section_of(i: usize) -> Option<&'static str> {
    match i % 5 {
        0 => None,
        1 | 2 => Some("http"),
        _ => Some("https"),
    }
}

fn gateway_of(i: usize) -> &'static str {
    if i.is_multiple_of(2) { "a" } else { "b" }
}

fn service_of(i: usize) -> usize {
    (i / 2) % SERVICES
}

fn mk_rule(prefix: &str, service: usize) -> RuleRec {
    RuleRec {
        name: None,
        matches: vec![MatchRec {
            path: PathMatch::Prefix(prefix.into()),
            headers: vec![],
            query: vec![],
            method: None,
        }],
        filters: vec![],
        backends: vec![BackendRefRec {
            target: BackendTarget::Service {
                key: key("apps", &format!("svc-{service}")),
                port: Some(80),
            },
            weight: 1,
            filters: vec![],
        }],
        timeout_ms: None,
        backend_timeout_ms: None,
        retry: None,
        invalid: None,
    }
}

fn mk_route(i: usize) -> HttpRouteRec {
    let gw = gateway_of(i);
    HttpRouteRec {
        key: key("apps", &format!("r-{i:02}")),
        generation: 1,
        created: 0,
        parent_refs: vec![ParentRef {
            group: GATEWAY_GROUP.into(),
            kind: "Gateway".into(),
            gateway: key("infra", &format!("gw-{gw}")),
            section: section_of(i).map(Sym::new),
            port: None,
        }],
        hostnames: vec![format!("r{i:02}.{gw}.example.com")],
        rules: vec![mk_rule(&format!("/r{i:02}"), service_of(i))],
        labels: Vec::new(),
    }
}

fn mk_service(name: &str) -> ServiceRec {
    ServiceRec {
        key: key("apps", name),
        ports: vec![ServicePortRec {
            name: Some("http".into()),
            port: 80,
            app_protocol: None,
        }],
    }
}

fn mk_slice(service: &str, addresses: &[&str]) -> EndpointSliceRec {
    EndpointSliceRec {
        key: key("apps", &format!("{service}-1")),
        service: key("apps", service),
        ports: vec![(Some("http".into()), 8080)],
        endpoints: addresses
            .iter()
            .map(|a| EndpointRec {
                address: a.to_string(),
                ready: true,
                zone: Some("zone-a".into()),
            })
            .collect(),
    }
}

fn mk_world() -> Vec<Record> {
    let mut world = vec![Record::from(mk_class())];
    for x in ["a", "b"] {
        world.push(Record::from(mk_gateway(x)));
        world.push(Record::from(mk_secret(x)));
    }
    for s in 0..SERVICES {
        let name = format!("svc-{s}");
        let ips = [format!("10.0.{s}.1"), format!("10.0.{s}.2")];
        world.push(Record::from(mk_service(&name)));
        world.push(Record::from(mk_slice(
            &name,
            &[ips[0].as_str(), ips[1].as_str()],
        )));
    }
    world.extend((0..ROUTES).map(|i| Record::from(mk_route(i))));
    world
}

// ---------------------------------------------------------------------------------------------
// Observing a batch

/// A batch's keys: `(upserts, deletes, status upserts, status deletes)`, as `LDS infra/gw-a/80`,
/// `HTTPRoute apps/r-01`.
type Keys = (
    BTreeSet<String>,
    BTreeSet<String>,
    BTreeSet<String>,
    BTreeSet<String>,
);

fn xds(k: &XdsKey) -> String {
    let ty = match k.ty {
        XdsType::Listener => "LDS",
        XdsType::Route => "RDS",
        XdsType::Cluster => "CDS",
        XdsType::Endpoint => "EDS",
        XdsType::Secret => "SDS",
    };
    format!("{ty} {}", k.name)
}

fn status(k: &StatusKey) -> String {
    if k.namespace.is_empty() {
        format!("{} {}", k.kind.as_str(), k.name)
    } else {
        format!("{} {}/{}", k.kind.as_str(), k.namespace, k.name)
    }
}

fn keys(b: &OutputBatch) -> Keys {
    (
        b.upserts.iter().map(|r| xds(&r.key())).collect(),
        b.deletes.iter().map(xds).collect(),
        b.status_upserts.iter().map(|(k, _)| status(k)).collect(),
        b.status_deletes.iter().map(status).collect(),
    )
}

fn set<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> BTreeSet<String> {
    items.into_iter().map(|s| s.as_ref().to_string()).collect()
}

fn none() -> BTreeSet<String> {
    BTreeSet::new()
}

/// An engine that has applied the whole world (and checked what it emitted).
fn engine(workers: usize) -> Engine {
    let mut engine =
        Engine::start(Topology::Process(workers), RenderConfig::default()).expect("engine starts");
    let batch = apply(
        &mut engine,
        mk_world().into_iter().map(InputEvent::Upsert).collect(),
    );
    let (upserts, deletes, status_upserts, status_deletes) = keys(&batch);
    let mut expected = BTreeSet::new();
    for x in ["a", "b"] {
        expected.insert(format!("LDS infra/gw-{x}/80"));
        expected.insert(format!("LDS infra/gw-{x}/443"));
        expected.insert(format!("RDS infra/gw-{x}/80"));
        expected.insert(format!("RDS infra/gw-{x}/443/https"));
    }
    for s in 0..SERVICES {
        expected.insert(format!("CDS svc/apps/svc-{s}/80"));
        expected.insert(format!("EDS svc/apps/svc-{s}/80"));
    }
    assert_eq!(upserts, expected);
    assert_eq!(deletes, none());
    let mut statuses = set([
        "GatewayClass sluice",
        "Gateway infra/gw-a",
        "Gateway infra/gw-b",
    ]);
    statuses.extend((0..ROUTES).map(|i| format!("HTTPRoute apps/r-{i:02}")));
    assert_eq!(status_upserts, statuses);
    assert_eq!(status_deletes, none());
    engine
}

fn apply(engine: &mut Engine, events: Vec<InputEvent>) -> OutputBatch {
    engine.apply(events).expect("engine applies")
}

fn upsert(engine: &mut Engine, record: Record) -> OutputBatch {
    apply(engine, vec![InputEvent::Upsert(record)])
}

/// The route configurations route `i` lands in.
fn route_configs_of(i: usize) -> BTreeSet<String> {
    let gw = gateway_of(i);
    let http = format!("RDS infra/gw-{gw}/80");
    let https = format!("RDS infra/gw-{gw}/443/https");
    match section_of(i) {
        None => set([http, https]),
        Some("http") => set([http]),
        Some(_) => set([https]),
    }
}

// ---------------------------------------------------------------------------------------------
// Tests

#[test]
fn editing_a_route_rule_emits_only_the_route_configurations_it_is_in() {
    let mut engine = engine(1);
    // Same generation (as a status-only observer would see it): no status change.
    for i in [0, 1, 3, 10, 27] {
        let mut r = mk_route(i);
        r.rules[0].matches[0].path = PathMatch::Prefix(format!("/r{i:02}/v2"));
        let batch = upsert(&mut engine, Record::from(r));
        assert_eq!(
            keys(&batch),
            (route_configs_of(i), none(), none(), none()),
            "route {i}"
        );
    }

    // A new generation: the route's status (observedGeneration) changes too.
    let mut r = mk_route(4);
    r.generation = 2;
    r.rules[0].matches[0].path = PathMatch::Exact("/r04".into());
    let batch = upsert(&mut engine, Record::from(r));
    assert_eq!(
        keys(&batch),
        (
            set(["RDS infra/gw-a/443/https"]),
            none(),
            set(["HTTPRoute apps/r-04"]),
            none()
        )
    );

    // Pointing at another Service that is in use already: no cluster changes.
    let mut r = mk_route(5);
    r.rules[0] = mk_rule("/r05", 7);
    let batch = upsert(&mut engine, Record::from(r));
    assert_eq!(keys(&batch), (route_configs_of(5), none(), none(), none()));
}

#[test]
fn changing_an_endpoint_slice_emits_only_its_assignment() {
    let mut engine = engine(1);
    let batch = upsert(
        &mut engine,
        Record::from(mk_slice("svc-3", &["10.0.3.1", "10.0.3.2", "10.0.3.3"])),
    );
    assert_eq!(
        keys(&batch),
        (set(["EDS svc/apps/svc-3/80"]), none(), none(), none())
    );

    // A slice gone leaves an empty assignment, not a deleted one.
    let slice = mk_slice("svc-8", &[]);
    let gone = InputEvent::Delete(Record::from(slice).key());
    let batch = apply(&mut engine, vec![gone]);
    assert_eq!(
        keys(&batch),
        (set(["EDS svc/apps/svc-8/80"]), none(), none(), none())
    );
}

#[test]
fn changing_a_gateway_listener_emits_only_that_gateways_resources() {
    let mut engine = engine(1);

    // The HTTP port moves: that Gateway's Listener and route configuration are replaced and its
    // status's generation moves; no route's status changes (still attached) and no cluster.
    let mut gw = mk_gateway("a");
    gw.generation = 2;
    gw.listeners[0].port = 8080;
    let batch = upsert(&mut engine, Record::from(gw.clone()));
    assert_eq!(
        keys(&batch),
        (
            set(["LDS infra/gw-a/8080", "RDS infra/gw-a/8080"]),
            set(["LDS infra/gw-a/80", "RDS infra/gw-a/80"]),
            set(["Gateway infra/gw-a"]),
            none()
        )
    );

    // The HTTPS hostname changes so that gw-a's routes no longer match it: its SNI Listener and
    // HTTPS route configuration change, and so do the statuses of the routes attached to that
    // listener alone (now unattached) and the Gateway's (attachedRoutes, generation).
    gw.generation = 3;
    gw.listeners[1].hostname = Some("*.x.example.com".into());
    let batch = upsert(&mut engine, Record::from(gw));
    let mut statuses = set(["Gateway infra/gw-a"]);
    statuses.extend(
        (0..ROUTES)
            .filter(|&i| gateway_of(i) == "a" && section_of(i) == Some("https"))
            .map(|i| format!("HTTPRoute apps/r-{i:02}")),
    );
    assert_eq!(
        keys(&batch),
        (
            set(["LDS infra/gw-a/443", "RDS infra/gw-a/443/https"]),
            none(),
            statuses,
            none()
        )
    );
}

#[test]
fn re_applying_identical_objects_emits_nothing() {
    let mut engine = engine(1);
    for record in [
        Record::from(mk_class()),
        Record::from(mk_gateway("a")),
        Record::from(mk_secret("b")),
        Record::from(mk_route(17)),
        Record::from(mk_service("svc-2")),
        Record::from(mk_slice("svc-2", &["10.0.2.1", "10.0.2.2"])),
    ] {
        let batch = upsert(&mut engine, record.clone());
        assert!(batch.is_empty(), "{record:?}: {batch:?}");
    }
    // All at once, and as a relist of every route.
    let batch = apply(
        &mut engine,
        mk_world().into_iter().map(InputEvent::Upsert).collect(),
    );
    assert!(batch.is_empty(), "{batch:?}");
    let routes = (0..ROUTES).map(|i| Record::from(mk_route(i))).collect();
    let batch = apply(
        &mut engine,
        vec![InputEvent::Relist(RecordKind::HttpRoute, routes)],
    );
    assert!(batch.is_empty(), "{batch:?}");

    // An edit undone within one batch is no change either.
    let mut edited = mk_route(3);
    edited.rules[0].matches[0].path = PathMatch::Prefix("/elsewhere".into());
    let batch = apply(
        &mut engine,
        vec![
            InputEvent::Upsert(Record::from(edited)),
            InputEvent::Upsert(Record::from(mk_route(3))),
        ],
    );
    assert!(batch.is_empty(), "{batch:?}");
}

#[test]
fn objects_nothing_uses_emit_nothing() {
    let mut engine = engine(1);
    let unused: Vec<Record> = vec![
        Record::from(mk_service("unused")),
        Record::from(mk_slice("unused", &["10.9.9.9"])),
        Record::from(SecretRec {
            key: key("infra", "spare"),
            ..mk_secret("spare")
        }),
        Record::from(ReferenceGrantRec {
            key: key("apps", "grant"),
            from: vec![GrantFrom {
                group: GATEWAY_GROUP.into(),
                kind: "HTTPRoute".into(),
                ns: Sym::new("web"),
            }],
            to: vec![GrantTo {
                group: String::new(),
                kind: "Service".into(),
                name: None,
            }],
        }),
        // Listeners admit every namespace, so labels change nothing.
        Record::from(NamespaceRec {
            name: Sym::new("apps"),
            labels: [("team".to_string(), "a".to_string())].into(),
        }),
        // A Gateway of another class, and a route attached only to it.
        Record::from(GatewayRec {
            key: key("infra", "theirs"),
            class: Sym::new("other"),
            ..mk_gateway("c")
        }),
        Record::from(HttpRouteRec {
            key: key("apps", "theirs"),
            parent_refs: vec![ParentRef {
                gateway: key("infra", "theirs"),
                section: None,
                ..mk_route(0).parent_refs[0].clone()
            }],
            ..mk_route(0)
        }),
    ];
    for record in unused {
        let batch = upsert(&mut engine, record.clone());
        assert!(batch.is_empty(), "{record:?}: {batch:?}");
    }
}

#[test]
fn granularity_holds_with_several_workers() {
    let mut engine = engine(2);
    let mut r = mk_route(12);
    r.rules[0].matches[0].path = PathMatch::Prefix("/r12/v2".into());
    let batch = upsert(&mut engine, Record::from(r));
    assert_eq!(keys(&batch), (route_configs_of(12), none(), none(), none()));

    let batch = upsert(&mut engine, Record::from(mk_slice("svc-0", &["10.0.0.9"])));
    assert_eq!(
        keys(&batch),
        (set(["EDS svc/apps/svc-0/80"]), none(), none(), none())
    );
    engine.shutdown();
}
