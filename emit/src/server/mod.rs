//! The ADS server: `AggregatedDiscoveryService` with both `StreamAggregatedResources` (SotW)
//! and `DeltaAggregatedResources` (Delta), serving each proxy the view of its Gateway out of a
//! [`ResourceSource`] (the [`SharedCache`] in production).
//!
//! ```ignore
//! let cache = SharedCache::new(XdsCache::new(process_epoch()));
//! let server = XdsServer::new(cache.clone());
//! let stats = server.stats(); // for /metrics and /debug
//! tonic::transport::Server::builder().add_service(server.into_service()).serve(addr);
//! // dataflow side, every epoch:
//! cache.publish(&batch);
//! // once the initial sync and first compile are in:
//! cache.mark_ready();
//! ```
//!
//! Layout: `stream` (the per-stream task: flow control, ordering), `sotw` and `delta` (the two
//! protocols' subscription and response rules), `subscription` (wildcard rules), `node`
//! (node → Gateway), `source` (cache + publication watch), `stats` (metrics, debug state),
//! `rewrite` (a node's own listener address, `metadata.listener_address`).
//!
//! A stream's peer proves who it is first (`auth`): with [`Auth::Verified`], a client
//! certificate from sluice's CA or a ServiceAccount token, else `UNAUTHENTICATED`; a node
//! naming a Gateway its identity is not bound to gets `PERMISSION_DENIED`.
//!
//! Streams answer nothing until the source is ready (checklist 3), nor while their node names
//! no Gateway (checklist 7). An empty `type_url` ends the stream with `INVALID_ARGUMENT`
//! (checklist 1); a request over the decode limit (16 MiB by default) with
//! `RESOURCE_EXHAUSTED` (checklist 38).

mod auth;
mod delta;
mod node;
mod rewrite;
mod sotw;
mod source;
mod stats;
mod stream;
mod subscription;

use std::sync::Arc;

use envoy_types::pb::envoy::service::discovery::v3::aggregated_discovery_service_server::{
    AggregatedDiscoveryService, AggregatedDiscoveryServiceServer,
};
use envoy_types::pb::envoy::service::discovery::v3::{
    DeltaDiscoveryRequest, DeltaDiscoveryResponse, DiscoveryRequest, DiscoveryResponse,
};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

pub use auth::{Auth, Identity, TokenReviewer};
pub use node::{LISTENER_ADDRESS_KEY, gateway_of, listener_address_of};
pub use source::{Publication, ResourceSource, SharedCache};
pub use stats::{Nack, ProxyStatus, ServerStats, StreamKind, Totals, TypeStatus, type_short_name};

/// Default decode limit for requests: large `initial_resource_versions` maps must fit.
pub const DEFAULT_DECODE_LIMIT: usize = 16 << 20;

/// An ADS server over a resource source.
#[derive(Debug)]
pub struct XdsServer<S> {
    source: S,
    stats: Arc<ServerStats>,
    decode_limit: usize,
    auth: Auth,
}

impl<S: ResourceSource> XdsServer<S> {
    pub fn new(source: S) -> XdsServer<S> {
        XdsServer {
            source,
            stats: Arc::new(ServerStats::default()),
            decode_limit: DEFAULT_DECODE_LIMIT,
            auth: Auth::Insecure,
        }
    }

    /// What a peer must prove before it gets anything (default: [`Auth::Insecure`], for
    /// in-process use; `sluice serve` verifies unless told `--insecure-xds`).
    pub fn with_auth(mut self, auth: Auth) -> XdsServer<S> {
        self.auth = auth;
        self
    }

    /// Overrides the request decode limit (bytes).
    pub fn with_decode_limit(mut self, bytes: usize) -> XdsServer<S> {
        self.decode_limit = bytes;
        self
    }

    /// The streams' state and counters (shared; stays valid after `into_service`).
    pub fn stats(&self) -> Arc<ServerStats> {
        self.stats.clone()
    }

    /// The tonic service to add to a `tonic::transport::Server`.
    pub fn into_service(self) -> AggregatedDiscoveryServiceServer<AdsService<S>> {
        let service = AdsService {
            source: self.source,
            stats: self.stats,
            auth: self.auth,
        };
        AggregatedDiscoveryServiceServer::new(service).max_decoding_message_size(self.decode_limit)
    }
}

/// The `AggregatedDiscoveryService` implementation: one task per stream.
#[derive(Debug)]
pub struct AdsService<S> {
    source: S,
    stats: Arc<ServerStats>,
    auth: Auth,
}

impl<S> AdsService<S> {
    async fn identify<T>(&self, request: &Request<T>) -> Result<Identity, Status> {
        self.auth.identify(request).await.inspect_err(|status| {
            self.stats.unauthenticated();
            let peer = request.remote_addr().map(|a| a.to_string());
            tracing::warn!(peer, "xDS stream refused: {}", status.message());
        })
    }
}

type ResponseStream<T> = ReceiverStream<Result<T, Status>>;

#[tonic::async_trait]
impl<S: ResourceSource> AggregatedDiscoveryService for AdsService<S> {
    type StreamAggregatedResourcesStream = ResponseStream<DiscoveryResponse>;
    type DeltaAggregatedResourcesStream = ResponseStream<DeltaDiscoveryResponse>;

    async fn stream_aggregated_resources(
        &self,
        request: Request<Streaming<DiscoveryRequest>>,
    ) -> Result<Response<Self::StreamAggregatedResourcesStream>, Status> {
        let identity = self.identify(&request).await?;
        let (tx, rx) = mpsc::channel(stream::CHANNEL_CAPACITY);
        tokio::spawn(stream::run::<S, sotw::Sotw>(
            self.source.clone(),
            self.stats.clone(),
            identity,
            request.into_inner(),
            tx,
        ));
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn delta_aggregated_resources(
        &self,
        request: Request<Streaming<DeltaDiscoveryRequest>>,
    ) -> Result<Response<Self::DeltaAggregatedResourcesStream>, Status> {
        let identity = self.identify(&request).await?;
        let (tx, rx) = mpsc::channel(stream::CHANNEL_CAPACITY);
        tokio::spawn(stream::run::<S, delta::Delta>(
            self.source.clone(),
            self.stats.clone(),
            identity,
            request.into_inner(),
            tx,
        ));
        Ok(Response::new(ReceiverStream::new(rx)))
    }
}
