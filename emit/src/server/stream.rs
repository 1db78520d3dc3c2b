//! The stream task both ADS variants share: reads requests, keeps per-type flow control, and —
//! whenever a request arrives or the cache publishes — sends what the protocol's plan says, in
//! make-before-break order.
//!
//! Per type and stream (checklist 5, 8–13):
//! - every response carries a fresh nonce (a per-stream counter);
//! - at most one response per type is un-ACKed; newer state is not queued but recomputed from
//!   the cache when the ACK/NACK arrives (coalescing comes free);
//! - ACK vs NACK is decided by `error_detail` alone; a NACKed version is not resent, because the
//!   protocol's "sent" state already holds it — only a content change makes a new response;
//! - a request carrying a nonce that is not the last one sent for its type is stale: SotW
//!   ignores it entirely, Delta still applies its subscription changes.
//!
//! Ordering (checklist 29–31), evaluated on one consistent cache state per flush:
//! - types are sent in `XdsType` order (CDS, EDS, LDS, RDS) when several are pending; a type
//!   in flight does not hold up the others (checklist 13);
//! - an RDS response waits until every cluster its route configurations reference (and that
//!   exists in the view) was sent at its current version on this stream — however long the
//!   client takes to ACK (found by the soak test: under load a timeout let routes overtake
//!   their clusters) — and, for EDS clusters, their CLA too, even before the client subscribed
//!   to EDS (it does so on its first EDS cluster), for at most [`ROUTE_HOLD_TIMEOUT`], in case
//!   the client never asks for the CLA (checklist 29);
//! - removals of clusters and CLAs wait while LDS or RDS have something to send or in flight;
//! - after a CDS response carrying an EDS cluster, the protocol forgets that cluster's CLA
//!   was sent, so the CLA follows (Envoy only finishes warming a cluster on a CLA response).
//!
//! Cost: a flush recomputes the plan of each type whose view generation, subscription or flow
//! state changed, by walking that type's view for the stream (O(view of the type)), never the
//! whole cache; types and streams untouched by a batch cost one generation comparison.
//!
//! Boundedness (checklist 33, 35): responses go through a channel of [`CHANNEL_CAPACITY`]; with
//! at most one un-ACKed response per type the channel never holds more than four, and the task
//! reserves a slot before committing a response. The task ends when the client's request stream
//! ends or errors or the response stream is dropped, freeing all stream state with it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use envoy_types::pb::envoy::config::core::v3::{ControlPlane, Node};
use envoy_types::pb::google::rpc::Status as RpcStatus;
use sluice_dataflow::ir::XdsType;
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};
use tonic::{Code, Status, Streaming};
use tracing::{debug, info, warn};

use super::auth::Identity;
use super::rewrite::Wire;
use super::source::ResourceSource;
use super::stats::{ServerStats, StreamKind, StreamStats, type_short_name};
use super::subscription::Subscription;
use crate::cache::{Encoded, GatewayId, XdsCache, type_index};

/// How long an RDS response may wait for the clusters and CLAs it references.
pub(crate) const ROUTE_HOLD_TIMEOUT: Duration = Duration::from_secs(5);

/// Responses buffered per stream: more than the four types can have in flight.
pub(crate) const CHANNEL_CAPACITY: usize = 8;

/// Identifies sluice in responses' `control_plane`.
pub(crate) fn control_plane() -> Option<ControlPlane> {
    Some(ControlPlane {
        identifier: "sluice".to_string(),
    })
}

/// Flow-control state of one type on one stream.
#[derive(Debug, Default)]
pub(crate) struct Flow {
    pub last_nonce: Option<String>,
    pub last_version: Option<String>,
    /// A response is waiting for its ACK/NACK.
    pub in_flight: bool,
    /// At least one response of this type was sent on the stream.
    pub responded: bool,
    /// The plan must be recomputed.
    pub dirty: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NonceCheck {
    /// No nonce, or nothing sent yet: a spontaneous request.
    Fresh,
    /// The last nonce sent for the type: an ACK or NACK.
    Latest,
    Stale,
}

impl Flow {
    fn check(&self, nonce: &str) -> NonceCheck {
        match &self.last_nonce {
            _ if nonce.is_empty() => NonceCheck::Fresh,
            None => NonceCheck::Fresh,
            Some(last) if last == nonce => NonceCheck::Latest,
            Some(_) => NonceCheck::Stale,
        }
    }
}

/// What a type has to send, as far as ordering is concerned.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Pending {
    /// Anything at all (upserts, removals, a first empty response).
    pub any: bool,
}

/// The part of the cache one stream may see.
#[derive(Clone, Copy, Debug)]
pub(crate) struct View<'a> {
    pub cache: &'a XdsCache,
    pub gateway: &'a GatewayId,
}

impl<'a> View<'a> {
    /// The resources of `ty` a subscription covers: the whole view for a wildcard, else the
    /// explicitly named resources that exist in the view.
    pub fn desired(&self, ty: XdsType, sub: &Subscription) -> BTreeMap<&'a str, &'a Arc<Encoded>> {
        if sub.is_wildcard() {
            self.cache
                .resources_for(self.gateway, ty)
                .map(|e| (e.name.as_str(), e))
                .collect()
        } else {
            sub.names()
                .iter()
                .filter_map(|n| self.cache.get_for(self.gateway, ty, n))
                .map(|e| (e.name.as_str(), e))
                .collect()
        }
    }
}

/// What an RDS response waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Wait {
    No,
    /// A cluster not yet delivered: always waited for.
    Clusters,
    /// Only CLAs: waited for at most [`ROUTE_HOLD_TIMEOUT`].
    Endpoints,
}

/// A response ready to go, with what the stats want to know about it.
pub(crate) struct Commit<R> {
    pub response: R,
    pub version: String,
    pub resources: usize,
    pub removals: usize,
}

/// The variant-specific half of a stream: subscription bookkeeping and response building.
pub(crate) trait Protocol: Default + Send + 'static {
    type Request: Send + 'static;
    type Response: Send + 'static;
    type Plan;
    const KIND: StreamKind;
    /// Whether a request with a stale nonce still changes the subscription.
    const APPLY_STALE: bool;

    fn type_url(req: &Self::Request) -> &str;
    fn node(req: &Self::Request) -> Option<&Node>;
    fn nonce(req: &Self::Request) -> &str;
    fn error_detail(req: &Self::Request) -> Option<&RpcStatus>;

    /// Applies a request of type `ty` (nonce bookkeeping already done).
    fn handle(&mut self, ty: XdsType, req: &Self::Request);

    /// What to send for `ty` now, without committing it. May drop state that has no effect on
    /// the wire (SotW forgets EDS/RDS resources that left the view).
    fn plan(
        &mut self,
        ty: XdsType,
        view: View<'_>,
        flow: &Flow,
        defer_removals: bool,
    ) -> (Self::Plan, Pending);

    /// The resources `plan` would send.
    fn plan_resources(plan: &Self::Plan) -> &[Arc<Encoded>];

    /// Whether the client asked for type `ty` on this stream.
    fn requested(&self, ty: XdsType) -> bool;

    /// Whether `e`, at its current version, was sent on this stream.
    fn delivered(&self, e: &Encoded) -> bool;

    /// Records `plan` as sent and builds its response, each resource encoded by `wire`.
    fn commit(
        &mut self,
        ty: XdsType,
        plan: Self::Plan,
        view: View<'_>,
        nonce: String,
        wire: &mut Wire,
    ) -> Commit<Self::Response>;
}

/// Runs one stream to its end.
pub(crate) async fn run<S: ResourceSource, P: Protocol>(
    source: S,
    stats: Arc<ServerStats>,
    identity: Identity,
    mut requests: Streaming<P::Request>,
    tx: mpsc::Sender<Result<P::Response, Status>>,
) {
    let stream_stats = stats.open(P::KIND);
    let mut stream = Stream::<P> {
        proto: P::default(),
        flows: Default::default(),
        node: None,
        identity,
        gateway: None,
        wire: Wire::default(),
        seen_generation: [0; XdsType::COUNT],
        nonces: 0,
        routes_held_since: None,
        release_routes: false,
        stats: stream_stats,
    };
    let mut publications = source.subscribe();
    let mut watching = true;
    loop {
        let ready = publications.borrow_and_update().ready;
        if ready && let Some(gateway) = stream.gateway.clone() {
            source.read(|cache| {
                stream.flush(
                    View {
                        cache,
                        gateway: &gateway,
                    },
                    &tx,
                )
            });
        }
        let hold_deadline = stream.routes_held_since.map(|t| t + ROUTE_HOLD_TIMEOUT);
        tokio::select! {
            msg = requests.message() => match msg {
                Ok(Some(req)) => {
                    if let Err(status) = stream.on_request(req) {
                        let _ = tx.try_send(Err(status));
                        return;
                    }
                }
                Ok(None) => return,
                Err(status) => {
                    let status = oversized(status);
                    if status.code() == Code::ResourceExhausted {
                        stats.oversized();
                        warn!(stream = stream.stats.id(), "xDS request over the decode limit: {}", status.message());
                    }
                    let _ = tx.try_send(Err(status));
                    return;
                }
            },
            () = sleep_until(hold_deadline.unwrap_or_else(Instant::now)), if hold_deadline.is_some() => {
                stream.release_routes = true;
                stream.flows[type_index(XdsType::Route)].dirty = true;
            }
            changed = publications.changed(), if watching => {
                // The publisher is gone: keep serving what we have.
                watching = changed.is_ok();
            }
            () = tx.closed() => return,
        }
    }
}

/// tonic reports a message over the decode limit as `OUT_OF_RANGE`; gRPC's convention (and
/// checklist 38) is `RESOURCE_EXHAUSTED`.
fn oversized(status: Status) -> Status {
    if status.code() == Code::OutOfRange && status.message().contains("message length too large") {
        Status::resource_exhausted(status.message().to_string())
    } else {
        status
    }
}

struct Stream<P> {
    proto: P,
    flows: [Flow; XdsType::COUNT],
    node: Option<Node>,
    /// What the peer proved it is (the node's claim must agree).
    identity: Identity,
    /// Set with the node; `None` while the node is unknown (requests are held).
    gateway: Option<GatewayId>,
    /// Encodes resources for this node (its own listener address, if it has one).
    wire: Wire,
    seen_generation: [u64; XdsType::COUNT],
    nonces: u64,
    /// Since when an RDS response waits for its clusters.
    routes_held_since: Option<Instant>,
    /// The wait timed out: send RDS regardless.
    release_routes: bool,
    stats: StreamStats,
}

impl<P: Protocol> Stream<P> {
    fn on_request(&mut self, req: P::Request) -> Result<(), Status> {
        let type_url = P::type_url(&req);
        if type_url.is_empty() {
            self.stats.invalid_request();
            return Err(Status::invalid_argument("type_url is required on ADS"));
        }
        if self.node.is_none() {
            if let Some(node) = P::node(&req) {
                self.set_node(node.clone())?;
            }
        } else if let Some(node) = P::node(&req)
            && Some(&node.id) != self.node.as_ref().map(|n| &n.id)
        {
            // Checklist 2: the first node sticks.
            debug!(
                stream = self.stats.id(),
                "ignoring a later request's different node {:?}", node.id
            );
        }
        let Some(ty) = XdsType::from_type_url(type_url) else {
            debug!(
                stream = self.stats.id(),
                "ignoring request for unserved type {type_url}"
            );
            return Ok(());
        };
        let flow = &mut self.flows[type_index(ty)];
        let check = flow.check(P::nonce(&req));
        match check {
            // A repeated nonce after the ACK is a plain request (subscription change).
            NonceCheck::Latest if !flow.in_flight => {}
            NonceCheck::Latest => {
                flow.in_flight = false;
                if let Some(err) = P::error_detail(&req) {
                    let node = self.node.as_ref().map_or("", |n| n.id.as_str());
                    warn!(
                        node,
                        r#type = type_short_name(ty),
                        nonce = P::nonce(&req),
                        "xDS NACK: {}",
                        err.message
                    );
                    self.stats.nack(ty, P::nonce(&req), &err.message);
                } else {
                    self.stats
                        .ack(ty, flow.last_version.as_deref().unwrap_or_default());
                }
            }
            NonceCheck::Stale => {
                self.stats.stale_nonce();
                if !P::APPLY_STALE {
                    return Ok(());
                }
            }
            NonceCheck::Fresh => {}
        }
        self.proto.handle(ty, &req);
        self.flows[type_index(ty)].dirty = true;
        if matches!(ty, XdsType::Listener | XdsType::Route) {
            // Cluster removals may have waited for this ACK.
            self.flows[type_index(XdsType::Cluster)].dirty = true;
            self.flows[type_index(XdsType::Endpoint)].dirty = true;
        }
        Ok(())
    }

    fn set_node(&mut self, node: Node) -> Result<(), Status> {
        let claimed = super::node::gateway_of(&node);
        let gateway = self.identity.resolve(claimed).inspect_err(|status| {
            self.stats.permission_denied();
            warn!(
                stream = self.stats.id(),
                node = node.id,
                "xDS stream refused: {}",
                status.message()
            );
        })?;
        if self.stats.set_node(&node.id, gateway.as_ref()) {
            info!(
                node = node.id,
                cluster = node.cluster,
                "xDS node names no Gateway (metadata.gateway, metadata.role or cluster \"ns/name\"); holding its requests"
            );
        }
        self.gateway = gateway;
        self.wire = Wire::new(super::node::listener_address_of(&node));
        self.node = Some(node);
        Ok(())
    }

    /// Sends everything the plans allow, in order, on one cache state.
    fn flush(&mut self, view: View<'_>, tx: &mpsc::Sender<Result<P::Response, Status>>) {
        for ty in XdsType::ALL {
            let generation = view.cache.generation(view.gateway, ty);
            let seen = &mut self.seen_generation[type_index(ty)];
            if *seen != generation {
                *seen = generation;
                self.flows[type_index(ty)].dirty = true;
            }
        }
        loop {
            let mut plans: [Option<P::Plan>; XdsType::COUNT] = Default::default();
            let mut pending = [Pending::default(); XdsType::COUNT];
            // Routes and listeners first: cluster removals wait for them.
            for ty in [XdsType::Listener, XdsType::Route] {
                self.plan(ty, view, false, &mut plans, &mut pending);
            }
            // Cluster removals wait while routing has anything to send or in flight.
            let routing_busy = [XdsType::Listener, XdsType::Route]
                .into_iter()
                .any(|ty| pending[type_index(ty)].any || self.flows[type_index(ty)].in_flight);
            let rds = type_index(XdsType::Route);
            // Clusters are always waited for (CDS is wildcard: they come as soon as the client
            // ACKs); a CLA only for ROUTE_HOLD_TIMEOUT (the client may never ask for it).
            let held = pending[rds].any
                && !self.flows[rds].in_flight
                && match plans[rds]
                    .as_ref()
                    .map_or(Wait::No, |p| self.routes_wait(P::plan_resources(p), view))
                {
                    Wait::No => false,
                    Wait::Clusters => true,
                    Wait::Endpoints => !self.release_routes,
                };
            if held {
                pending[rds].any = false;
                self.flows[rds].dirty = true;
                self.routes_held_since.get_or_insert_with(Instant::now);
            } else {
                self.routes_held_since = None;
            }
            for ty in [XdsType::Cluster, XdsType::Endpoint, XdsType::Secret] {
                self.plan(ty, view, routing_busy, &mut plans, &mut pending);
            }

            let Some(ty) = self.next_type(&pending) else {
                return;
            };
            let Ok(permit) = tx.try_reserve() else {
                // Full (cannot happen with ≤ 5 in flight) or closed: the type stays dirty.
                self.flows[type_index(ty)].dirty = true;
                return;
            };
            let Some(plan) = plans[type_index(ty)].take() else {
                return;
            };
            self.nonces += 1;
            let nonce = self.nonces.to_string();
            let commit = self
                .proto
                .commit(ty, plan, view, nonce.clone(), &mut self.wire);
            permit.send(Ok(commit.response));
            self.stats.sent(
                ty,
                &commit.version,
                &nonce,
                commit.resources,
                commit.removals,
            );
            if ty == XdsType::Route {
                self.release_routes = false;
            }
            let flow = &mut self.flows[type_index(ty)];
            flow.last_nonce = Some(nonce);
            flow.last_version = Some(commit.version);
            flow.in_flight = true;
            flow.responded = true;
            // Sending one type can make another pending (CLA after its cluster).
            for f in &mut self.flows {
                f.dirty = true;
            }
        }
    }

    /// Whether route configurations must wait for clusters they reference: a cluster in the
    /// view not yet sent at its current version, or an EDS cluster whose current CLA was not.
    fn routes_wait(&self, route_configs: &[Arc<Encoded>], view: View<'_>) -> Wait {
        let mut wait = Wait::No;
        let cds = self.proto.requested(XdsType::Cluster);
        let eds = self.proto.requested(XdsType::Endpoint);
        let clusters = route_configs
            .iter()
            .flat_map(|rc| &rc.refs)
            .filter_map(|r| view.cache.get_for(view.gateway, XdsType::Cluster, &r.name));
        for cluster in clusters {
            if cds && !self.proto.delivered(cluster) {
                return Wait::Clusters;
            }
            let cla = || {
                view.cache
                    .get_for(view.gateway, XdsType::Endpoint, &cluster.name)
            };
            // Not only when EDS is subscribed: on a stream's first EDS cluster the client
            // subscribes to EDS only once it holds the cluster, and a route sent before the CLA
            // would find that cluster still warming (503, `NC`).
            if (eds || cds)
                && cluster.is_eds_cluster()
                && let Some(cla) = cla()
                && !self.proto.delivered(cla)
            {
                wait = Wait::Endpoints;
            }
        }
        wait
    }

    /// Computes `ty`'s plan if it may have changed.
    fn plan(
        &mut self,
        ty: XdsType,
        view: View<'_>,
        defer_removals: bool,
        plans: &mut [Option<P::Plan>; XdsType::COUNT],
        pending: &mut [Pending; XdsType::COUNT],
    ) {
        let i = type_index(ty);
        if self.flows[i].dirty {
            let (plan, p) = self.proto.plan(ty, view, &self.flows[i], defer_removals);
            self.flows[i].dirty = p.any;
            plans[i] = Some(plan);
            pending[i] = p;
        }
    }

    /// The first type in make-before-break order that has something to send and no response
    /// in flight. Types do not wait for each other's ACKs (checklist 13); what must reach the
    /// client first is enforced by `routes_wait` and the deferred cluster removals.
    fn next_type(&self, pending: &[Pending; XdsType::COUNT]) -> Option<XdsType> {
        XdsType::ALL
            .into_iter()
            .find(|ty| pending[type_index(*ty)].any && !self.flows[type_index(*ty)].in_flight)
    }
}
