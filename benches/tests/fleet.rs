//! The fleet generator: determinism, the counts of `performance.md`, YAML round trips, and
//! change sequences.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use sluice_benches::fleet::{
    self, Change, ChangeKind, Counts, FleetKind, Shape, generate, generate_namespace,
    namespace_name,
};
use sluice_crds::Object;

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let a = fleet::yaml_files(&generate(FleetKind::S, 7)).unwrap();
    let b = fleet::yaml_files(&generate(FleetKind::S, 7)).unwrap();
    assert_eq!(a, b);
    let c = fleet::yaml_files(&generate(FleetKind::S, 8)).unwrap();
    assert_ne!(a, c);
    assert_eq!(a.len(), 11, "cluster.yaml and one file per namespace");
    assert!(a.contains_key("cluster.yaml") && a.contains_key("ns-0000.yaml"));
}

#[test]
fn fleet_s_has_the_table_counts() {
    let f = generate(FleetKind::S, 1);
    let c = &f.counts;
    let s = Shape::of(FleetKind::S);
    assert_eq!(
        (
            c.gateways,
            c.listeners,
            c.http_routes,
            c.services,
            c.endpoints,
            c.policies
        ),
        (10, 20, 1_000, 500, 2_000, 100)
    );
    assert_eq!(c.gateway_policies, 10);
    assert_eq!(c.endpoint_slices, s.endpoint_slices);
    assert_eq!(c.reference_grants, 10);
    assert_eq!(c.namespaces, 10);
    assert_eq!(c.gateway_classes, 1);
    assert_eq!(c.objects, s.objects());
    assert_eq!(*c, Counts::of(&f.objects));
    // Variety: 1–4 rules, roughly 10% cross-namespace refs, a few dangling ones.
    assert!(c.rules > c.http_routes && c.rules < 4 * c.http_routes);
    let per_route: BTreeSet<usize> = f
        .objects
        .iter()
        .filter_map(|o| match o {
            Object::HTTPRoute(r) => Some(r.spec.rules.len()),
            _ => None,
        })
        .collect();
    assert_eq!(per_route, BTreeSet::from([1, 2, 3, 4]));
    let cross = c.cross_namespace_refs as f64 / c.backend_refs as f64;
    assert!(
        (0.07..0.14).contains(&cross),
        "cross-namespace share {cross}"
    );
    assert!(c.dangling_refs > 0 && c.dangling_refs < c.backend_refs / 50);
    assert!(c.backends > 0 && c.direct_responses > 0);
}

#[test]
fn fleet_s_uses_every_match_and_filter_kind() {
    let f = generate(FleetKind::S, 1);
    let yaml = fleet::yaml_files(&f)
        .unwrap()
        .into_values()
        .collect::<String>();
    for needle in [
        "type: PathPrefix",
        "type: Exact",
        "type: RegularExpression",
        "headers:",
        "queryParams:",
        "method:",
        "type: RequestHeaderModifier",
        "type: ResponseHeaderModifier",
        "type: RequestRedirect",
        "type: URLRewrite",
        "type: RequestMirror",
        "type: ExtensionRef",
        "kind: DirectResponse",
        "kind: Backend",
        "request: ",
        "backendRequest: 2s",
        "sectionName: http-8080",
        "from: All",
        "from: Selector",
        "zone: zone-b",
        "kind: ReferenceGrant",
        "kind: TrafficPolicy",
        "controllerName: sluice.dev/gateway-controller",
    ] {
        assert!(yaml.contains(needle), "no `{needle}` in fleet S");
    }
}

#[test]
fn fleet_l_shape_and_namespace_slices() {
    let s = Shape::of(FleetKind::L);
    assert_eq!(
        (
            s.gateways,
            s.listeners,
            s.http_routes,
            s.services,
            s.policies,
            s.gateway_policies
        ),
        (10_000, 20_000, 100_000, 50_000, 10_000, 1_000)
    );
    assert_eq!(s.endpoints_per_service, 4);
    assert_eq!(s.namespaces, 100);
    let xl = Shape::of(FleetKind::XL);
    assert_eq!(
        (
            xl.gateways,
            xl.listeners,
            xl.http_routes,
            xl.services,
            xl.policies
        ),
        (100_000, 200_000, 1_000_000, 500_000, 100_000)
    );
    // Two namespaces of L, generated on their own, hold 1/100 of everything.
    for ns in [0, 57] {
        let objects = generate_namespace(FleetKind::L, 3, ns);
        let c = Counts::of(&objects);
        assert_eq!(c.namespaces, 1);
        assert_eq!(
            (
                c.gateways,
                c.listeners,
                c.http_routes,
                c.services,
                c.endpoints,
                c.policies
            ),
            (100, 200, 1_000, 500, 2_000, 100)
        );
        assert_eq!(c.gateway_policies, 10);
        assert_eq!(c.reference_grants, 1);
        let ns_name = namespace_name(ns);
        assert!(
            objects
                .iter()
                .all(|o| o.kind() == sluice_crds::Kind::Namespace
                    || o.meta().namespace.as_deref() == Some(ns_name.as_str()))
        );
    }
    // A namespace generated alone is the same as inside the whole fleet.
    let whole = generate(FleetKind::S, 5);
    let alone = generate_namespace(FleetKind::S, 5, 3);
    let inside: Vec<&Object> = whole
        .objects
        .iter()
        .filter(|o| {
            o.meta().namespace.as_deref() == Some("ns-0003")
                || o.meta().name.as_deref() == Some("ns-0003")
        })
        .collect();
    assert_eq!(inside, alone.iter().collect::<Vec<_>>());
}

#[test]
fn hot_listener_shape() {
    let f = generate(FleetKind::Hot, 1);
    let c = &f.counts;
    assert_eq!((c.gateways, c.listeners, c.http_routes), (1, 1, 10_000));
    let hostnames: BTreeSet<&str> = f
        .objects
        .iter()
        .filter_map(|o| match o {
            Object::HTTPRoute(r) => Some(r.spec.hostnames.iter().map(String::as_str)),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(hostnames.len(), 10_000, "distinct hostnames");
}

fn round_trip(objects: &[Object]) {
    for o in objects {
        let yaml = serde_yaml_ng::to_string(o).unwrap();
        let value: serde_json::Value = serde_yaml_ng::from_str(&yaml).unwrap();
        let back = Object::from_value(value)
            .unwrap_or_else(|e| panic!("{}: {e}\n{yaml}", o.obj_ref()))
            .unwrap_or_else(|| panic!("{}: kind not read back", o.obj_ref()));
        assert_eq!(&back, o, "{} changed through YAML:\n{yaml}", o.obj_ref());
    }
}

#[test]
fn every_object_round_trips_through_yaml() {
    round_trip(&generate(FleetKind::S, 11).objects);
    round_trip(&generate_namespace(FleetKind::Hot, 11, 0));
}

#[test]
fn changed_objects_round_trip_too() {
    let f = generate(FleetKind::S, 2);
    for kind in ChangeKind::ALL {
        let objects: Vec<Object> = fleet::changes(&f, kind, 40, 9)
            .into_iter()
            .flat_map(|e| e.changes)
            .filter_map(|c| match c {
                Change::Upsert(o) => Some(o),
                Change::Delete(_) => None,
            })
            .collect();
        round_trip(&objects);
    }
}

#[test]
fn written_files_read_back_as_the_fleet() {
    let f = generate(FleetKind::S, 4);
    let dir = tempfile::tempdir().unwrap();
    fleet::write_yaml(FleetKind::S, 4, dir.path()).unwrap();
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names.len(), 11);
    let mut read = Vec::new();
    for name in &names {
        let text = std::fs::read_to_string(dir.path().join(name)).unwrap();
        for doc in serde_yaml_ng::Deserializer::from_str(&text) {
            let value = serde_json::Value::deserialize(doc).unwrap();
            read.push(Object::from_value(value).unwrap().unwrap());
        }
    }
    assert_eq!(read.len(), f.objects.len());
    let key = |o: &Object| o.obj_ref();
    let mut expected = f.objects.clone();
    expected.sort_by_key(key);
    read.sort_by_key(key);
    assert_eq!(read, expected);
}

#[test]
fn streamed_files_equal_the_fleet_rendered_in_memory() {
    for kind in [FleetKind::S, FleetKind::Hot] {
        let dir = tempfile::tempdir().unwrap();
        let whole = generate(kind, 6);
        let counts = fleet::write_yaml(kind, 6, dir.path()).unwrap();
        assert_eq!(counts, whole.counts);
        let written: BTreeMap<String, String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let name = e.file_name().into_string().unwrap();
                (name, std::fs::read_to_string(e.path()).unwrap())
            })
            .collect();
        assert_eq!(written, fleet::yaml_files(&whole).unwrap(), "{kind}");
    }
}

#[test]
fn change_sequences_are_deterministic_and_sized() {
    let f = generate(FleetKind::S, 1);
    for kind in ChangeKind::ALL {
        let a = fleet::changes(&f, kind, 25, 3);
        assert_eq!(a, fleet::changes(&f, kind, 25, 3), "{kind}");
        assert_eq!(a.iter().filter(|e| e.measured).count(), 25, "{kind}");
        assert!(a.iter().all(|e| !e.changes.is_empty()), "{kind}");
        assert_ne!(a, fleet::changes(&f, kind, 25, 4), "{kind}: seed ignored");
    }
    // Deletions and listener changes alternate with restores.
    let l = fleet::changes(&f, ChangeKind::ListenerChange, 3, 1);
    assert_eq!(l.len(), 6);
    assert!(l[0].measured && !l[1].measured);
    let d = fleet::changes(&f, ChangeKind::GrantDelete, 3, 1);
    assert_eq!(d.len(), 6);
    assert!(matches!(d[0].changes[0], Change::Delete(_)) && d[0].measured);
    assert!(matches!(d[1].changes[0], Change::Upsert(_)) && !d[1].measured);
}

#[test]
fn a_streamed_sample_gives_the_changes_of_the_whole_fleet() {
    for kind in [FleetKind::S, FleetKind::Hot] {
        let whole = generate(kind, 3);
        let wanted: Vec<_> = ChangeKind::ALL
            .iter()
            .flat_map(|&c| fleet::picks(kind, 3, c, 30, 5))
            .collect();
        let mut sample = fleet::Sample::new(kind, 3, wanted);
        let mut streamed = 0;
        let counts = fleet::stream(kind, 3, |o| {
            assert_eq!(o, whole.objects[streamed], "stream order");
            streamed += 1;
            sample.offer(&o);
        });
        assert_eq!(streamed, whole.objects.len());
        assert_eq!(counts, whole.counts);
        for c in ChangeKind::ALL {
            let expected = fleet::changes(&whole, c, 30, 5);
            assert_eq!(fleet::changes(&sample, c, 30, 5), expected, "{kind} {c}");
        }
    }
}

#[test]
fn every_generated_object_lowers() {
    use sluice_dataflow::lower::{Lowered, lower};
    let f = generate(FleetKind::S, 1);
    let mut policies = 0;
    for o in &f.objects {
        match lower(o) {
            Lowered::Record(sluice_dataflow::input::Record::Policy(p)) => {
                // The fleet's TrafficPolicies use only what sluice translates.
                assert!(p.problems.is_empty(), "{}: {:?}", o.obj_ref(), p.problems);
                policies += 1;
            }
            Lowered::Record(_) => {}
            Lowered::Unsupported => panic!("{}: not lowered", o.obj_ref()),
            Lowered::Invalid(e) => panic!("{}: {e}", o.obj_ref()),
        }
    }
    assert_eq!(policies, f.counts.policies);
}
