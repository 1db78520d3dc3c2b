//! State-of-the-world ADS (`StreamAggregatedResources`).
//!
//! - LDS and CDS are full-state: every response carries the whole subscribed set, so a missing
//!   listener or cluster is a deletion; the first request of either gets an answer even when
//!   the set is empty (checklist 4, 22). While cluster removals wait for routing (see
//!   `stream`), the clusters still sent stay in the response.
//! - EDS and RDS carry only new or changed resources among the subscribed names; a resource
//!   that leaves the view is forgotten silently (deletion happens through its parent;
//!   checklist 23), and resent if it comes back.
//! - A name added to `resource_names` is (re)sent even if it was sent before (checklist 15);
//!   a subscribed name that does not exist yet is sent when it appears (checklist 16, 17).
//! - `version_info` is `{prefix}.{hash of the names and versions the client now holds}`.
//! - A request with a stale nonce is ignored entirely (checklist 11): the client's next ACK
//!   repeats its full subscription anyway.

use std::collections::BTreeMap;
use std::sync::Arc;

use envoy_types::pb::envoy::config::core::v3::Node;
use envoy_types::pb::envoy::service::discovery::v3::{DiscoveryRequest, DiscoveryResponse};
use envoy_types::pb::google::rpc::Status as RpcStatus;
use sha2::{Digest, Sha256};
use sluice_dataflow::ir::XdsType;

use super::rewrite::Wire;
use super::stats::StreamKind;
use super::stream::{Commit, Flow, Pending, Protocol, View, control_plane};
use super::subscription::Subscription;
use crate::cache::{Encoded, type_index};

#[derive(Debug, Default)]
pub(crate) struct Sotw {
    types: [SotwType; XdsType::COUNT],
}

#[derive(Debug, Default)]
struct SotwType {
    sub: Subscription,
    /// What the client holds (as far as we sent it).
    sent: BTreeMap<String, Arc<Encoded>>,
}

#[derive(Debug)]
pub(crate) enum SotwPlan {
    Nothing,
    /// The whole set (LDS, CDS).
    Full(Vec<Arc<Encoded>>),
    /// New or changed resources (EDS, RDS).
    Partial(Vec<Arc<Encoded>>),
}

fn full_state(ty: XdsType) -> bool {
    matches!(ty, XdsType::Listener | XdsType::Cluster)
}

fn is_current(sent: &BTreeMap<String, Arc<Encoded>>, e: &Encoded) -> bool {
    sent.get(&e.name).is_some_and(|s| s.version == e.version)
}

/// `{prefix}.{hash}` over the names and versions of `sent`.
fn type_version(prefix: &str, sent: &BTreeMap<String, Arc<Encoded>>) -> String {
    let mut hasher = Sha256::new();
    for (name, e) in sent {
        hasher.update(name.as_bytes());
        hasher.update([0u8]);
        hasher.update(e.version.as_bytes());
        hasher.update([0u8]);
    }
    let digest = hasher.finalize();
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}.{hex}")
}

impl Protocol for Sotw {
    type Request = DiscoveryRequest;
    type Response = DiscoveryResponse;
    type Plan = SotwPlan;
    const KIND: StreamKind = StreamKind::Sotw;
    const APPLY_STALE: bool = false;

    fn type_url(req: &DiscoveryRequest) -> &str {
        &req.type_url
    }

    fn node(req: &DiscoveryRequest) -> Option<&Node> {
        req.node.as_ref()
    }

    fn nonce(req: &DiscoveryRequest) -> &str {
        &req.response_nonce
    }

    fn error_detail(req: &DiscoveryRequest) -> Option<&RpcStatus> {
        req.error_detail.as_ref()
    }

    fn handle(&mut self, ty: XdsType, req: &DiscoveryRequest) {
        let t = &mut self.types[type_index(ty)];
        let change = t.sub.apply_sotw(&req.resource_names);
        // Added names are sent even if sent before; removed ones are forgotten.
        for name in change.added.iter().chain(&change.removed) {
            t.sent.remove(name);
        }
    }

    fn plan(
        &mut self,
        ty: XdsType,
        view: View<'_>,
        flow: &Flow,
        defer_removals: bool,
    ) -> (SotwPlan, Pending) {
        let t = &mut self.types[type_index(ty)];
        if !t.sub.requested() {
            return (SotwPlan::Nothing, Pending::default());
        }
        let desired = view.desired(ty, &t.sub);
        if full_state(ty) {
            let mut set: Vec<Arc<Encoded>> = desired.values().map(|e| (*e).clone()).collect();
            if defer_removals {
                let lingering = t
                    .sent
                    .iter()
                    .filter(|(n, _)| !desired.contains_key(n.as_str()));
                set.extend(lingering.map(|(_, e)| e.clone()));
                set.sort_by(|a, b| a.name.cmp(&b.name));
            }
            let upserts = set.iter().any(|e| !is_current(&t.sent, e));
            let same = flow.responded && !upserts && set.len() == t.sent.len();
            if same {
                return (SotwPlan::Nothing, Pending::default());
            }
            (SotwPlan::Full(set), Pending { any: true })
        } else {
            t.sent.retain(|n, _| desired.contains_key(n.as_str()));
            let changed: Vec<Arc<Encoded>> = desired
                .values()
                .filter(|e| !is_current(&t.sent, e))
                .map(|e| (*e).clone())
                .collect();
            if changed.is_empty() {
                return (SotwPlan::Nothing, Pending::default());
            }
            (SotwPlan::Partial(changed), Pending { any: true })
        }
    }

    fn plan_resources(plan: &SotwPlan) -> &[Arc<Encoded>] {
        match plan {
            SotwPlan::Nothing => &[],
            SotwPlan::Full(v) | SotwPlan::Partial(v) => v,
        }
    }

    fn requested(&self, ty: XdsType) -> bool {
        self.types[type_index(ty)].sub.requested()
    }

    fn delivered(&self, e: &Encoded) -> bool {
        is_current(&self.types[type_index(e.ty)].sent, e)
    }

    fn commit(
        &mut self,
        ty: XdsType,
        plan: SotwPlan,
        view: View<'_>,
        nonce: String,
        wire: &mut Wire,
    ) -> Commit<DiscoveryResponse> {
        let resources = match plan {
            SotwPlan::Nothing => Vec::new(),
            SotwPlan::Full(set) => {
                if ty == XdsType::Cluster {
                    // Checklist 31: a new or changed EDS cluster is followed by its CLA.
                    let sent = &self.types[type_index(ty)].sent;
                    let changed: Vec<String> = set
                        .iter()
                        .filter(|e| e.is_eds_cluster() && !is_current(sent, e))
                        .map(|e| e.name.clone())
                        .collect();
                    let eds = &mut self.types[type_index(XdsType::Endpoint)].sent;
                    for name in changed {
                        eds.remove(&name);
                    }
                }
                let t = &mut self.types[type_index(ty)];
                t.sent = set.iter().map(|e| (e.name.clone(), e.clone())).collect();
                if ty == XdsType::Listener {
                    wire.retain_listeners(|name| t.sent.contains_key(name));
                }
                set
            }
            SotwPlan::Partial(changed) => {
                let t = &mut self.types[type_index(ty)];
                for e in &changed {
                    t.sent.insert(e.name.clone(), e.clone());
                }
                changed
            }
        };
        let version = type_version(view.cache.prefix(), &self.types[type_index(ty)].sent);
        let response = DiscoveryResponse {
            version_info: version.clone(),
            resources: resources.iter().map(|e| wire.any(e)).collect(),
            type_url: ty.type_url().to_string(),
            nonce,
            control_plane: control_plane(),
            ..Default::default()
        };
        Commit {
            response,
            version,
            resources: resources.len(),
            removals: 0,
        }
    }
}
