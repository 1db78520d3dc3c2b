//! Coverage of the world strategy, measured on what the oracle makes of 256 deterministic
//! worlds: enough of them must reach the deep end of the translation (routes attached to
//! virtual hosts, rules forwarding to clusters, clusters with endpoint localities, TLS filter
//! chains) for `dataflow_vs_oracle` to test it, while the shallow failures (dangling,
//! unpermitted, invalid) still occur.

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use sluice_dataflow::input::InputState;
use sluice_dataflow::ir::{ActionIr, Condition, Resource, StatusIr};
use sluice_dataflow::output::Snapshot;
use sluice_proptests::oracle::{self, Config};
use sluice_proptests::strategy::scenario;

const WORLDS: usize = 256;

#[derive(Debug, Default)]
struct Counts {
    route_configs: usize,
    virtual_hosts: usize,
    routes: usize,
    forward_routes: usize,
    clusters: usize,
    localities: usize,
    tls_chains: usize,
    statuses: usize,
    /// Route and listener conditions that report a problem (`Conflicted=True`, any other
    /// type `False`), by reason.
    failures: std::collections::BTreeMap<String, usize>,
}

impl Counts {
    fn add(&mut self, snap: &Snapshot) {
        for r in snap.resources.values() {
            match r {
                Resource::Route(rc) => {
                    self.route_configs += 1;
                    self.virtual_hosts += rc.virtual_hosts.len();
                    for vh in &rc.virtual_hosts {
                        self.routes += vh.routes.len();
                        self.forward_routes += vh
                            .routes
                            .iter()
                            .filter(|r| matches!(r.action, ActionIr::Forward(_)))
                            .count();
                    }
                }
                Resource::Cluster(_) => self.clusters += 1,
                Resource::Endpoint(e) => self.localities += e.localities.len(),
                Resource::Listener(l) => {
                    self.tls_chains += l.filter_chains.iter().filter(|c| c.tls.is_some()).count();
                }
            }
        }
        self.statuses += snap.statuses.len();
        for status in snap.statuses.values() {
            let conditions: Vec<_> = match &**status {
                StatusIr::Route { parents } => parents.iter().flat_map(|p| &p.conditions).collect(),
                StatusIr::Gateway { listeners, .. } => {
                    listeners.iter().flat_map(|l| &l.conditions).collect()
                }
                _ => Vec::new(),
            };
            let problem = |c: &&Condition| (c.type_ == "Conflicted") == (c.status == "True");
            for c in conditions.into_iter().filter(problem) {
                *self.failures.entry(c.reason.clone()).or_default() += 1;
            }
        }
    }
}

#[test]
fn worlds_reach_forwarding_clusters_and_endpoints() {
    let mut runner = TestRunner::deterministic();
    let strategy = scenario();
    let (mut initial, mut last) = (Counts::default(), Counts::default());
    for _ in 0..WORLDS {
        let s = strategy.new_tree(&mut runner).unwrap().current();
        let mut state = InputState::default();
        state.apply(s.initial_batch());
        initial.add(&oracle::translate(state.records(), &Config::default()));
        for epoch in &s.epochs {
            state.apply(epoch.clone());
        }
        last.add(&oracle::translate(state.records(), &Config::default()));
    }
    println!("initial worlds: {initial:#?}\nafter the change scripts: {last:#?}");

    let c = &initial;
    assert!(c.virtual_hosts >= 300, "virtual hosts: {c:#?}");
    assert!(c.routes >= 800, "routes: {c:#?}");
    assert!(
        c.forward_routes * 10 >= c.routes * 4,
        "forwarding routes under 40%: {c:#?}"
    );
    assert!(c.clusters >= 300, "clusters: {c:#?}");
    assert!(c.localities >= 150, "endpoint localities: {c:#?}");
    assert!(c.tls_chains >= 40, "TLS filter chains: {c:#?}");
    // Routes that do not forward, and references that fail, still occur.
    assert!(c.forward_routes < c.routes, "every route forwards: {c:#?}");
    for reason in [
        "BackendNotFound",
        "RefNotPermitted",
        "NoMatchingParent",
        "NotAllowedByListeners",
        "NoMatchingListenerHostname",
        "InvalidCertificateRef",
        "InvalidKind",
        "ProtocolConflict",
        "HostnameConflict",
    ] {
        assert!(
            c.failures.contains_key(reason),
            "no {reason} condition: {c:#?}"
        );
    }

    // Change scripts keep the worlds connected.
    let c = &last;
    assert!(c.routes >= 400, "routes after changes: {c:#?}");
    assert!(
        c.forward_routes * 10 >= c.routes * 3,
        "forwarding routes after changes under 30%: {c:#?}"
    );
    assert!(c.clusters >= 150, "clusters after changes: {c:#?}");
    assert!(c.localities >= 75, "localities after changes: {c:#?}");
}
