//! Smoke tests of the world and change strategies: 64 scenarios from a fixed seed, applied
//! through `InputState`, checked for well-formedness (unique keys, 0/1 multiplicities, relists
//! confined to their kind, listener conflicts as `lower` settles them) and for coverage (the
//! generated worlds do contain the cases the translators must get right).

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use sluice_dataflow::input::{InputEvent, InputState, Record, RecordKey, RecordKind};
use sluice_dataflow::model::{
    BackendTarget, GATEWAY_GROUP, GatewayRec, ListenerProblem, Protocol, RouteGroupKind,
};
use sluice_proptests::strategy::{Scenario, materialize, scenario, script, world};
use sluice_proptests::world_yaml::{epochs_to_yaml, world_to_yaml};
use std::collections::{BTreeMap, BTreeSet};

const CASES: usize = 64;

fn scenarios() -> Vec<Scenario> {
    let mut runner = TestRunner::deterministic();
    let strategy = scenario();
    (0..CASES)
        .map(|_| strategy.new_tree(&mut runner).unwrap().current())
        .collect()
}

/// Every record a scenario mentions: its world and everything upserted or relisted later.
fn all_records(s: &Scenario) -> Vec<&Record> {
    let mut out: Vec<&Record> = s.world.iter().collect();
    for event in s.epochs.iter().flatten() {
        match event {
            InputEvent::Upsert(r) => out.push(r),
            InputEvent::Relist(_, rs) => out.extend(rs),
            InputEvent::Delete(_) => {}
        }
    }
    out
}

#[test]
fn keys_are_unique_in_every_world() {
    for s in scenarios() {
        let keys: BTreeSet<RecordKey> = s.world.iter().map(Record::key).collect();
        assert_eq!(
            keys.len(),
            s.world.len(),
            "duplicate keys in\n{}",
            world_to_yaml(&s.world)
        );
        let namespaces = s
            .world
            .iter()
            .filter(|r| matches!(r, Record::Namespace(_)))
            .count();
        assert_eq!(namespaces, 3, "every world has all three namespaces");
    }
}

#[test]
fn input_state_holds_exactly_one_record_per_key() {
    for s in scenarios() {
        let mut state = InputState::default();
        let mut accumulated: BTreeMap<Record, isize> = BTreeMap::new();
        let batches = std::iter::once(s.initial_batch()).chain(s.epochs.iter().cloned());
        for (epoch, batch) in batches.enumerate() {
            for (record, diff) in state.apply(batch) {
                *accumulated.entry(record).or_default() += diff;
            }
            accumulated.retain(|_, d| *d != 0);
            let mut per_key: BTreeMap<RecordKey, isize> = BTreeMap::new();
            for (record, diff) in &accumulated {
                assert_eq!(
                    *diff, 1,
                    "epoch {epoch}: multiplicity {diff} for {record:?}"
                );
                *per_key.entry(record.key()).or_default() += diff;
            }
            assert!(
                per_key.values().all(|&n| n == 1),
                "epoch {epoch}: a key with two records"
            );
            let current: BTreeSet<&Record> = state.records().collect();
            let changed: BTreeSet<&Record> = accumulated.keys().collect();
            assert_eq!(
                current, changed,
                "epoch {epoch}: changes do not add up to the state\n{s:?}"
            );
        }
    }
}

#[test]
fn relists_only_remove_keys_of_their_kind() {
    let mut relists = 0;
    for s in scenarios() {
        let mut state = InputState::default();
        state.apply(s.initial_batch());
        for event in s.epochs.iter().flatten() {
            let before: BTreeSet<RecordKey> = state.records().map(Record::key).collect();
            state.apply(vec![event.clone()]);
            let after: BTreeSet<RecordKey> = state.records().map(Record::key).collect();
            match event {
                InputEvent::Relist(kind, records) => {
                    relists += 1;
                    assert!(
                        records.iter().all(|r| r.key().kind == *kind),
                        "{kind:?} relist mixes kinds"
                    );
                    for gone in before.difference(&after) {
                        assert_eq!(gone.kind, *kind, "relist of {kind:?} removed {gone:?}");
                    }
                }
                InputEvent::Delete(k) => {
                    let gone: Vec<&RecordKey> = before.difference(&after).collect();
                    assert!(
                        gone.is_empty() || gone == [k],
                        "delete of {k:?} removed {gone:?}"
                    );
                }
                InputEvent::Upsert(_) => assert!(before.is_subset(&after)),
            }
        }
    }
    assert!(relists > 0, "no relist generated");
}

/// The conflict rule, restated independently of the strategy's implementation.
fn check_listeners(gw: &GatewayRec) {
    let ls = &gw.listeners;
    for (i, l) in ls.iter().enumerate() {
        assert_eq!(
            l.name.as_str(),
            format!("l-{i}"),
            "{:?}: listener names",
            gw.key
        );
        let mut protocol_conflict = false;
        let mut hostname_conflict = false;
        for (j, other) in ls.iter().enumerate() {
            if i != j && other.port == l.port {
                if other.protocol != l.protocol {
                    protocol_conflict = true;
                } else if other.hostname == l.hostname {
                    hostname_conflict = true;
                }
            }
        }
        let expected = if protocol_conflict {
            Some(ListenerProblem::Conflicted("ProtocolConflict".into()))
        } else if hostname_conflict {
            Some(ListenerProblem::Conflicted("HostnameConflict".into()))
        } else if !matches!(l.protocol, Protocol::Http | Protocol::Https) {
            Some(ListenerProblem::UnsupportedProtocol)
        } else {
            None
        };
        assert_eq!(l.problem, expected, "{:?} listener {i}: {ls:#?}", gw.key);
        let http = matches!(l.protocol, Protocol::Http | Protocol::Https);
        assert!(
            l.supported_kinds
                .iter()
                .all(|k| *k == RouteGroupKind::http_route() && http)
        );
        assert!(l.invalid_kinds || !http || !l.supported_kinds.is_empty());
        assert_eq!(l.tls.is_some(), l.protocol == Protocol::Https);
    }
}

#[test]
fn listener_problems_follow_the_conflict_rule() {
    let mut gateways = 0;
    for s in scenarios() {
        for r in all_records(&s) {
            if let Record::Gateway(gw) = r {
                gateways += 1;
                check_listeners(gw);
            }
        }
    }
    assert!(gateways > CASES, "too few gateways: {gateways}");
}

/// What the generated worlds are expected to contain at least once across the 64 cases.
#[derive(Debug, Default)]
struct Coverage {
    cross_ns_backend_granted: usize,
    cross_ns_backend_not_granted: usize,
    https_valid_secret: usize,
    https_missing_secret: usize,
    hostname_conflict: usize,
    protocol_conflict: usize,
    unsupported_protocol: usize,
    parent_exists: usize,
    parent_missing: usize,
    shared_hostname_tie: usize,
    delete_missing: usize,
    changed_twice: usize,
}

fn coverage_of(s: &Scenario, c: &mut Coverage) {
    let by_key: BTreeMap<RecordKey, &Record> = s.world.iter().map(|r| (r.key(), r)).collect();
    let grants: Vec<_> = s
        .world
        .iter()
        .filter_map(|r| {
            if let Record::ReferenceGrant(g) = r {
                Some(g)
            } else {
                None
            }
        })
        .collect();
    let exists = |kind, key| by_key.contains_key(&RecordKey { kind, key });
    let mut routes = Vec::new();
    for r in &s.world {
        match r {
            Record::HttpRoute(route) => {
                routes.push(route);
                for p in &route.parent_refs {
                    if exists(RecordKind::Gateway, p.gateway) {
                        c.parent_exists += 1;
                    } else {
                        c.parent_missing += 1;
                    }
                }
                for b in route.rules.iter().flat_map(|rule| &rule.backends) {
                    let BackendTarget::Service { key, .. } = b.target else {
                        continue;
                    };
                    if key.ns == route.key.ns {
                        continue;
                    }
                    let granted = grants.iter().any(|g| {
                        g.permits(GATEWAY_GROUP, "HTTPRoute", route.key.ns, "", "Service", key)
                    });
                    if granted {
                        c.cross_ns_backend_granted += 1;
                    } else {
                        c.cross_ns_backend_not_granted += 1;
                    }
                }
            }
            Record::Gateway(gw) => {
                for l in &gw.listeners {
                    match &l.problem {
                        Some(ListenerProblem::Conflicted(r)) if r == "HostnameConflict" => {
                            c.hostname_conflict += 1
                        }
                        Some(ListenerProblem::Conflicted(_)) => c.protocol_conflict += 1,
                        Some(ListenerProblem::UnsupportedProtocol) => c.unsupported_protocol += 1,
                        None => {}
                    }
                    let Some(tls) = &l.tls else { continue };
                    let valid = tls.certificate_refs.iter().all(|cert| {
                        let pair = matches!(
                            by_key.get(&RecordKey { kind: RecordKind::Secret, key: cert.key }),
                            Some(Record::Secret(secret)) if secret.tls_pair().is_some()
                        );
                        let permitted = cert.key.ns == gw.key.ns
                            || grants.iter().any(|g| {
                                g.permits(
                                    GATEWAY_GROUP,
                                    "Gateway",
                                    gw.key.ns,
                                    "",
                                    "Secret",
                                    cert.key,
                                )
                            });
                        pair && permitted
                    });
                    if valid {
                        c.https_valid_secret += 1;
                    } else {
                        c.https_missing_secret += 1;
                    }
                }
            }
            _ => {}
        }
    }
    for (i, a) in routes.iter().enumerate() {
        for b in &routes[i + 1..] {
            if a.created == b.created && a.hostnames.iter().any(|h| b.hostnames.contains(h)) {
                c.shared_hostname_tie += 1;
            }
        }
    }
    let mut present: BTreeSet<RecordKey> = by_key.keys().copied().collect();
    for epoch in &s.epochs {
        let mut touched: BTreeMap<RecordKey, usize> = BTreeMap::new();
        for event in epoch {
            match event {
                InputEvent::Upsert(r) => {
                    *touched.entry(r.key()).or_default() += 1;
                    present.insert(r.key());
                }
                InputEvent::Delete(k) => {
                    *touched.entry(*k).or_default() += 1;
                    if !present.remove(k) {
                        c.delete_missing += 1;
                    }
                }
                InputEvent::Relist(kind, records) => {
                    present.retain(|k| k.kind != *kind);
                    present.extend(records.iter().map(Record::key));
                }
            }
        }
        c.changed_twice += touched.values().filter(|&&n| n >= 2).count();
    }
}

#[test]
fn worlds_exercise_the_interesting_cases() {
    let mut c = Coverage::default();
    for s in scenarios() {
        coverage_of(&s, &mut c);
    }
    let counts = [
        c.cross_ns_backend_granted,
        c.cross_ns_backend_not_granted,
        c.https_valid_secret,
        c.https_missing_secret,
        c.hostname_conflict,
        c.protocol_conflict,
        c.unsupported_protocol,
        c.parent_exists,
        c.parent_missing,
        c.shared_hostname_tie,
        c.delete_missing,
        c.changed_twice,
    ];
    assert!(
        counts.iter().all(|&n| n > 0),
        "a case never generated: {c:#?}"
    );
}

#[test]
fn materialization_is_deterministic_and_printable() {
    let mut runner = TestRunner::deterministic();
    let world = world().new_tree(&mut runner).unwrap().current();
    let script = script().new_tree(&mut runner).unwrap().current();
    let epochs = materialize(&world, &script);
    assert_eq!(epochs, materialize(&world, &script));
    assert_eq!(epochs.len(), script.len());
    let yaml = world_to_yaml(&world);
    assert!(
        yaml.contains("kind: Namespace") && yaml.contains("key: ns-a"),
        "{yaml}"
    );
    assert!(epochs_to_yaml(&epochs).starts_with("- epoch: 1"));
    let printed = format!("{:?}", Scenario { world, epochs });
    assert!(printed.starts_with("# world\n"), "{printed}");
}
