//! Coverage of the world strategy, measured on what the oracle makes of 256 deterministic
//! worlds: enough of them must reach the deep end of the translation (routes attached to
//! virtual hosts, rules forwarding to clusters, clusters with endpoint localities, TLS filter
//! chains) for `dataflow_vs_oracle` to test it, while the shallow failures (dangling,
//! unpermitted, invalid) still occur.

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use sluice_dataflow::input::InputState;
use sluice_dataflow::ir::{
    ActionIr, Condition, FilterKind, PathRewriteIr, Resource, StatusIr, StatusKind,
};
use sluice_dataflow::model::PolicyKind;
use sluice_dataflow::output::Snapshot;
use sluice_proptests::oracle::{self, Config};
use sluice_proptests::strategy::scenario;

const WORLDS: usize = 512;

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
    /// What policies did to routes: filters enabled by kind, routes closed by a deny (500
    /// without a broken reference), route-field sub-policies applied.
    policy_filters: std::collections::BTreeMap<String, usize>,
    policy_fields: std::collections::BTreeMap<&'static str, usize>,
    /// TrafficPolicy statuses with at least one ancestor, and without.
    policies_attached: usize,
    policies_unattached: usize,
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
                        for r in &vh.routes {
                            for f in &r.filters {
                                *self
                                    .policy_filters
                                    .entry(format!("{:?}", f.kind()))
                                    .or_default() += 1;
                            }
                            if let ActionIr::Forward(f) = &r.action {
                                let mut seen = |k: &'static str, on: bool| {
                                    if on {
                                        *self.policy_fields.entry(k).or_default() += 1;
                                    }
                                };
                                seen("idle_timeout", f.idle_timeout_ms.is_some());
                                seen("auto_host_rewrite", f.auto_host_rewrite);
                                seen("internal_redirect", f.internal_redirect.is_some());
                                seen(
                                    "path_regex",
                                    matches!(f.path_rewrite, Some(PathRewriteIr::Regex { .. })),
                                );
                                seen(
                                    "retry_on",
                                    f.retry.as_ref().is_some_and(|r| !r.on.is_empty()),
                                );
                            }
                        }
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
        for (key, status) in &snap.statuses {
            if let (
                StatusKind::Kgateway(PolicyKind::TrafficPolicy),
                StatusIr::Policy { ancestors },
            ) = (key.kind, &**status)
            {
                if ancestors.is_empty() {
                    self.policies_unattached += 1;
                } else {
                    self.policies_attached += 1;
                }
            }
        }
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
    // Every policy row reaches the output in a fair share of worlds.
    for kind in FilterKind::ALL {
        let n = c
            .policy_filters
            .get(&format!("{kind:?}"))
            .copied()
            .unwrap_or(0);
        assert!(n >= 10, "routes with a {kind:?} filter: {n}: {c:#?}");
    }
    for field in [
        "idle_timeout",
        "auto_host_rewrite",
        "internal_redirect",
        "path_regex",
        "retry_on",
    ] {
        let n = c.policy_fields.get(field).copied().unwrap_or(0);
        assert!(n >= 10, "routes with a policy {field}: {n}: {c:#?}");
    }
    assert!(
        c.policies_attached >= 40 && c.policies_unattached >= 10,
        "TrafficPolicies attached / not: {c:#?}"
    );
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
