//! Incremental ADS (`DeltaAggregatedResources`).
//!
//! Per type the stream knows what the client holds (`has`: name → version), seeded from the
//! first request's `initial_resource_versions` (checklist 21, 27). A response carries the
//! resources whose content hash differs from what the client holds (checklist 24) and, in
//! `removed_resources`, what the client holds that is no longer covered, plus explicitly
//! subscribed names that do not exist — once, until they appear (checklist 17).
//!
//! - Names in `resource_names_subscribe` are always (re)sent, even if the client supposedly
//!   has them (checklist 18).
//! - Wildcard + explicit X, then unsubscribe X: X is answered, in `resources` if the wildcard
//!   covers it, else in `removed_resources` (checklist 19). Unsubscribing a name that was never
//!   subscribed does nothing (checklist 20).
//! - Stale or absent nonces do not stop subscription changes (checklist 12).
//! - The first request of a fresh client (no `initial_resource_versions`) is always answered,
//!   if need be with an empty response (checklist 4); a reconnecting client that holds exactly
//!   the current state gets nothing.
//! - Cluster and CLA removals wait while LDS/RDS are busy (see `stream`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use envoy_types::pb::envoy::config::core::v3::Node;
use envoy_types::pb::envoy::service::discovery::v3::{
    DeltaDiscoveryRequest, DeltaDiscoveryResponse, Resource,
};
use envoy_types::pb::google::rpc::Status as RpcStatus;
use sluice_dataflow::ir::XdsType;

use super::rewrite::Wire;
use super::stats::StreamKind;
use super::stream::{Commit, Flow, Pending, Protocol, View, control_plane};
use super::subscription::{Subscription, WILDCARD};
use crate::cache::{Encoded, type_index, version_hash};

#[derive(Debug, Default)]
pub(crate) struct Delta {
    types: [DeltaType; XdsType::COUNT],
}

#[derive(Debug, Default)]
struct DeltaType {
    sub: Subscription,
    /// What the client holds: name → version.
    has: BTreeMap<String, String>,
    /// Explicitly subscribed names already reported as not existing.
    absent: BTreeSet<String>,
    /// Unsubscribed names a wildcard stream must answer for (checklist 19).
    must_answer: BTreeSet<String>,
    /// The first request carried no `initial_resource_versions`.
    fresh: bool,
}

impl DeltaType {
    fn holds_current(&self, e: &Encoded) -> bool {
        self.has
            .get(&e.name)
            .is_some_and(|v| version_hash(v) == e.hash())
    }
}

#[derive(Debug, Default)]
pub(crate) struct DeltaPlan {
    upserts: Vec<Arc<Encoded>>,
    removals: Vec<String>,
}

impl Protocol for Delta {
    type Request = DeltaDiscoveryRequest;
    type Response = DeltaDiscoveryResponse;
    type Plan = DeltaPlan;
    const KIND: StreamKind = StreamKind::Delta;
    const APPLY_STALE: bool = true;

    fn type_url(req: &DeltaDiscoveryRequest) -> &str {
        &req.type_url
    }

    fn node(req: &DeltaDiscoveryRequest) -> Option<&Node> {
        req.node.as_ref()
    }

    fn nonce(req: &DeltaDiscoveryRequest) -> &str {
        &req.response_nonce
    }

    fn error_detail(req: &DeltaDiscoveryRequest) -> Option<&RpcStatus> {
        req.error_detail.as_ref()
    }

    fn handle(&mut self, ty: XdsType, req: &DeltaDiscoveryRequest) {
        let t = &mut self.types[type_index(ty)];
        if !t.sub.requested() {
            t.has = req
                .initial_resource_versions
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            t.fresh = t.has.is_empty();
        }
        let change = t.sub.apply_delta(
            &req.resource_names_subscribe,
            &req.resource_names_unsubscribe,
        );
        for name in &req.resource_names_subscribe {
            if name != WILDCARD && t.sub.is_explicit(name) {
                t.has.remove(name);
                t.absent.remove(name);
            }
        }
        for name in change.removed {
            t.has.remove(&name);
            t.absent.remove(&name);
            if t.sub.is_wildcard() {
                t.must_answer.insert(name);
            }
        }
    }

    fn plan(
        &mut self,
        ty: XdsType,
        view: View<'_>,
        flow: &Flow,
        defer_removals: bool,
    ) -> (DeltaPlan, Pending) {
        let t = &self.types[type_index(ty)];
        if !t.sub.requested() {
            return (DeltaPlan::default(), Pending::default());
        }
        let desired = view.desired(ty, &t.sub);
        let upserts: Vec<Arc<Encoded>> = desired
            .values()
            .filter(|e| t.must_answer.contains(&e.name) || !t.holds_current(e))
            .map(|e| (*e).clone())
            .collect();
        let mut removals = BTreeSet::new();
        let defer =
            defer_removals && matches!(ty, XdsType::Cluster | XdsType::Endpoint | XdsType::Secret);
        if !defer {
            let gone = t.has.keys().filter(|n| !desired.contains_key(n.as_str()));
            removals.extend(gone.cloned());
        }
        let missing = t.sub.names().iter().chain(&t.must_answer).filter(|n| {
            !desired.contains_key(n.as_str()) && !t.has.contains_key(*n) && !t.absent.contains(*n)
        });
        removals.extend(missing.cloned());
        let first = !flow.responded && t.fresh;
        let pending = Pending {
            any: !upserts.is_empty() || !removals.is_empty() || first,
        };
        let plan = DeltaPlan {
            upserts,
            removals: removals.into_iter().collect(),
        };
        (plan, pending)
    }

    fn plan_resources(plan: &DeltaPlan) -> &[Arc<Encoded>] {
        &plan.upserts
    }

    fn requested(&self, ty: XdsType) -> bool {
        self.types[type_index(ty)].sub.requested()
    }

    fn delivered(&self, e: &Encoded) -> bool {
        self.types[type_index(e.ty)].holds_current(e)
    }

    fn commit(
        &mut self,
        ty: XdsType,
        plan: DeltaPlan,
        view: View<'_>,
        nonce: String,
        wire: &mut Wire,
    ) -> Commit<DeltaDiscoveryResponse> {
        if ty == XdsType::Cluster {
            // Checklist 31: a new or changed EDS cluster is followed by its CLA.
            let t = &self.types[type_index(ty)];
            let changed: Vec<String> = plan
                .upserts
                .iter()
                .filter(|e| e.is_eds_cluster() && !t.holds_current(e))
                .map(|e| e.name.clone())
                .collect();
            let eds = &mut self.types[type_index(XdsType::Endpoint)].has;
            for name in changed {
                eds.remove(&name);
            }
        }
        let t = &mut self.types[type_index(ty)];
        for e in &plan.upserts {
            t.has.insert(e.name.clone(), e.version.clone());
            t.absent.remove(&e.name);
        }
        for name in &plan.removals {
            t.has.remove(name);
            if t.sub.is_explicit(name) {
                t.absent.insert(name.clone());
            }
        }
        t.must_answer.clear();
        if ty == XdsType::Listener && !plan.removals.is_empty() {
            let has = &t.has;
            wire.retain_listeners(|name| has.contains_key(name));
        }
        let version = format!("{}.{}", view.cache.prefix(), view.cache.epoch());
        let resources = plan
            .upserts
            .iter()
            .map(|e| Resource {
                name: e.name.clone(),
                version: e.version.clone(),
                resource: Some(wire.any(e)),
                ..Default::default()
            })
            .collect();
        let response = DeltaDiscoveryResponse {
            system_version_info: version.clone(),
            resources,
            type_url: ty.type_url().to_string(),
            removed_resources: plan.removals.clone(),
            nonce,
            control_plane: control_plane(),
            ..Default::default()
        };
        Commit {
            response,
            version,
            resources: plan.upserts.len(),
            removals: plan.removals.len(),
        }
    }
}
