//! Shared by `ads_sotw` and `ads_delta`: IR builders (`mk_*`), a server on 127.0.0.1:0, and
//! SotW / Delta clients over a real connection with the generated tonic client.
#![allow(dead_code)] // each test binary uses a different subset

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use envoy_types::pb::envoy::config::core::v3::Node;
use envoy_types::pb::envoy::service::discovery::v3::aggregated_discovery_service_client::AggregatedDiscoveryServiceClient;
use envoy_types::pb::envoy::service::discovery::v3::{
    DeltaDiscoveryRequest, DeltaDiscoveryResponse, DiscoveryRequest, DiscoveryResponse,
};
use envoy_types::pb::google::protobuf::{Struct, Value, value::Kind};
use envoy_types::pb::google::rpc::Status as RpcStatus;
use sluice_dataflow::ir::*;
use sluice_dataflow::output::OutputBatch;
use sluice_emit::cache::XdsCache;
use sluice_emit::server::{ServerStats, SharedCache, XdsServer};
use tokio::sync::mpsc;
use tokio_stream::wrappers::{ReceiverStream, TcpListenerStream};
use tonic::transport::Channel;
use tonic::{Status, Streaming};

/// How long "the server sends nothing" is watched for.
pub const SILENCE: Duration = Duration::from_millis(300);
/// How long a response may take.
pub const PATIENCE: Duration = Duration::from_secs(10);

pub const LDS: &str = "type.googleapis.com/envoy.config.listener.v3.Listener";
pub const RDS: &str = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
pub const CDS: &str = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
pub const EDS: &str = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";

/// The Gateway most tests serve, its listener / route config name, and its clusters.
pub const GW: &str = "ns/gw";
pub const L80: &str = "ns/gw/80";
pub const A: &str = "svc/ns/a/80";
pub const B: &str = "svc/ns/b/80";

// ---- IR builders ----

pub fn mk_listener(gw: &str, port: u16, route_configs: &[&str]) -> Resource {
    Resource::from(ListenerIr {
        name: format!("{gw}/{port}"),
        address: "0.0.0.0".into(),
        port,
        settings: None,
        filter_chains: route_configs
            .iter()
            .map(|rc| FilterChainIr {
                name: rc.to_string(),
                server_names: Vec::new(),
                tls: None,
                route_config_name: rc.to_string(),
            })
            .collect(),
    })
}

/// A listener with one SNI filter chain per route configuration (`{rc}.example.com`): how
/// many route configurations share one port.
pub fn mk_sni_listener(gw: &str, port: u16, route_configs: &[&str]) -> Resource {
    let Resource::Listener(mut l) = mk_listener(gw, port, route_configs) else {
        unreachable!()
    };
    for chain in &mut Arc::make_mut(&mut l).filter_chains {
        chain.server_names = vec![format!("{}.example.com", chain.name.replace('/', "-"))];
    }
    Resource::Listener(l)
}

/// A route configuration with one route per cluster (prefix `/{i}`).
pub fn mk_route_config(name: &str, clusters: &[&str]) -> Resource {
    let routes = clusters
        .iter()
        .enumerate()
        .map(|(i, c)| RouteIr {
            name: format!("ns/r/rule/{i}/match/0"),
            path: PathMatchIr::Prefix(format!("/{i}")),
            headers: Vec::new(),
            query: Vec::new(),
            action: ActionIr::forward(ForwardIr {
                clusters: vec![WeightedClusterIr {
                    cluster: c.to_string(),
                    weight: 1,
                    request_headers: HeaderOpsIr::default(),
                    response_headers: HeaderOpsIr::default(),
                }],
                timeout_ms: None,
                per_try_timeout_ms: None,
                host_rewrite: None,
                path_rewrite: None,
                mirrors: Vec::new(),
                retry: None,
                idle_timeout_ms: None,
                auto_host_rewrite: false,
                internal_redirect: None,
            }),
            request_headers: HeaderOpsIr::default(),
            response_headers: HeaderOpsIr::default(),
            cors: None,
            filters: Vec::new(),
            stat_prefix: None,
            tracing: None,
        })
        .map(Arc::new)
        .collect();
    Resource::from(RouteConfigIr {
        name: name.into(),
        virtual_hosts: vec![VirtualHostIr {
            name: format!("{name}/*"),
            domains: vec!["*".into()],
            routes,
        }],
    })
}

/// An EDS cluster.
pub fn mk_cluster(name: &str) -> Resource {
    mk_cluster_timeout(name, 5000)
}

pub fn mk_cluster_timeout(name: &str, connect_timeout_ms: u64) -> Resource {
    Resource::from(ClusterIr {
        name: name.into(),
        discovery: DiscoveryIr::Eds,
        http2: false,
        connect_timeout_ms,
    })
}

pub fn mk_cla(name: &str, ips: &[&str]) -> Resource {
    let localities = if ips.is_empty() {
        Vec::new()
    } else {
        vec![LocalityIr {
            zone: String::new(),
            weight: ips.len() as u32,
            endpoints: ips.iter().map(|ip| (ip.to_string(), 8080, true)).collect(),
        }]
    };
    Resource::from(EndpointsIr {
        cluster_name: name.into(),
        localities,
    })
}

pub fn key(ty: XdsType, name: &str) -> XdsKey {
    XdsKey {
        ty,
        name: name.into(),
    }
}

pub fn mk_batch(epoch: u64, upserts: Vec<Resource>, deletes: Vec<XdsKey>) -> OutputBatch {
    OutputBatch {
        epoch,
        upserts,
        deletes,
        ..Default::default()
    }
}

/// Gateway `ns/gw`: listener 80 → route config `ns/gw/80` → cluster A (EDS) with one endpoint.
pub fn mk_world() -> Vec<Resource> {
    vec![
        mk_listener(GW, 80, &[L80]),
        mk_route_config(L80, &[A]),
        mk_cluster(A),
        mk_cla(A, &["10.0.0.1"]),
    ]
}

/// A node serving `gw` (`ns/name`) through `metadata.gateway`.
pub fn mk_node(id: &str, gw: &str) -> Node {
    let value = Value {
        kind: Some(Kind::StringValue(gw.into())),
    };
    Node {
        id: id.into(),
        cluster: "sluice".into(),
        metadata: Some(Struct {
            fields: [("gateway".to_string(), value)].into_iter().collect(),
        }),
        ..Default::default()
    }
}

// ---- server ----

pub struct Harness {
    pub cache: SharedCache,
    pub stats: Arc<ServerStats>,
    pub addr: SocketAddr,
}

/// A ready server with `resources` published as epoch 1, versions prefixed `1`.
pub async fn start(resources: Vec<Resource>) -> Harness {
    let h = start_not_ready(1).await;
    h.cache.publish(&mk_batch(1, resources, Vec::new()));
    h.cache.mark_ready();
    h
}

/// A server that has published nothing and is not ready, versions prefixed `prefix`.
pub async fn start_not_ready(prefix: u64) -> Harness {
    let cache = SharedCache::new(XdsCache::new(prefix));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = XdsServer::new(cache.clone());
    let stats = server.stats();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(server.into_service())
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );
    Harness { cache, stats, addr }
}

impl Harness {
    pub async fn client(&self) -> AggregatedDiscoveryServiceClient<Channel> {
        AggregatedDiscoveryServiceClient::connect(format!("http://{}", self.addr))
            .await
            .unwrap()
    }

    pub async fn sotw(&self) -> SotwClient {
        let (tx, rx) = mpsc::channel(16);
        let responses = self
            .client()
            .await
            .stream_aggregated_resources(ReceiverStream::new(rx))
            .await
            .unwrap()
            .into_inner();
        SotwClient { tx, responses }
    }

    pub async fn delta(&self) -> DeltaClient {
        let (tx, rx) = mpsc::channel(16);
        let responses = self
            .client()
            .await
            .delta_aggregated_resources(ReceiverStream::new(rx))
            .await
            .unwrap()
            .into_inner();
        DeltaClient { tx, responses }
    }

    pub fn publish(&self, epoch: u64, upserts: Vec<Resource>, deletes: Vec<XdsKey>) {
        self.cache.publish(&mk_batch(epoch, upserts, deletes));
    }
}

async fn next<T>(stream: &mut Streaming<T>) -> Result<T, Status> {
    match tokio::time::timeout(PATIENCE, stream.message()).await {
        Err(_) => panic!("no response within {PATIENCE:?}"),
        Ok(Ok(Some(m))) => Ok(m),
        Ok(Ok(None)) => panic!("the server ended the stream"),
        Ok(Err(status)) => Err(status),
    }
}

async fn silent<T: std::fmt::Debug>(stream: &mut Streaming<T>) {
    match tokio::time::timeout(SILENCE, stream.message()).await {
        Err(_) => {}
        Ok(other) => panic!("expected no response, got {other:?}"),
    }
}

pub fn nack_detail(message: &str) -> Option<RpcStatus> {
    Some(RpcStatus {
        code: 3,
        message: message.into(),
        details: Vec::new(),
    })
}

// ---- SotW client ----

pub struct SotwClient {
    pub tx: mpsc::Sender<DiscoveryRequest>,
    pub responses: Streaming<DiscoveryResponse>,
}

impl SotwClient {
    pub async fn send(&self, req: DiscoveryRequest) {
        self.tx.send(req).await.unwrap();
    }

    /// A request naming `gw`'s node.
    pub async fn request(&self, gw: &str, type_url: &str, names: &[&str]) {
        self.send(DiscoveryRequest {
            node: Some(mk_node("envoy", gw)),
            type_url: type_url.into(),
            resource_names: names.iter().map(|n| n.to_string()).collect(),
            ..Default::default()
        })
        .await;
    }

    /// ACKs `resp`, keeping the subscription at `names`.
    pub async fn ack(&self, resp: &DiscoveryResponse, names: &[&str]) {
        self.send(DiscoveryRequest {
            version_info: resp.version_info.clone(),
            type_url: resp.type_url.clone(),
            response_nonce: resp.nonce.clone(),
            resource_names: names.iter().map(|n| n.to_string()).collect(),
            ..Default::default()
        })
        .await;
    }

    pub async fn recv(&mut self) -> DiscoveryResponse {
        next(&mut self.responses)
            .await
            .expect("a response, not an error")
    }

    pub async fn recv_err(&mut self) -> Status {
        next(&mut self.responses)
            .await
            .expect_err("an error status")
    }

    pub async fn silent(&mut self) {
        silent(&mut self.responses).await;
    }
}

/// Names of the resources of a SotW response (decoded `name` field 1 of each message).
pub fn sotw_names(resp: &DiscoveryResponse) -> Vec<String> {
    resp.resources.iter().map(|a| any_name(&a.value)).collect()
}

/// The `name` of an encoded Listener / RouteConfiguration / Cluster, or the `cluster_name`
/// of a ClusterLoadAssignment: all are field 1.
pub fn any_name(bytes: &[u8]) -> String {
    #[derive(Clone, PartialEq, prost::Message)]
    struct Named {
        #[prost(string, tag = "1")]
        name: String,
    }
    <Named as prost::Message>::decode(bytes).unwrap().name
}

// ---- Delta client ----

pub struct DeltaClient {
    pub tx: mpsc::Sender<DeltaDiscoveryRequest>,
    pub responses: Streaming<DeltaDiscoveryResponse>,
}

impl DeltaClient {
    pub async fn send(&self, req: DeltaDiscoveryRequest) {
        self.tx.send(req).await.unwrap();
    }

    /// A spontaneous request naming `gw`'s node.
    pub async fn subscribe(
        &self,
        gw: &str,
        type_url: &str,
        subscribe: &[&str],
        unsubscribe: &[&str],
    ) {
        self.send(DeltaDiscoveryRequest {
            node: Some(mk_node("envoy", gw)),
            type_url: type_url.into(),
            resource_names_subscribe: subscribe.iter().map(|n| n.to_string()).collect(),
            resource_names_unsubscribe: unsubscribe.iter().map(|n| n.to_string()).collect(),
            ..Default::default()
        })
        .await;
    }

    pub async fn ack(&self, resp: &DeltaDiscoveryResponse) {
        self.send(DeltaDiscoveryRequest {
            type_url: resp.type_url.clone(),
            response_nonce: resp.nonce.clone(),
            ..Default::default()
        })
        .await;
    }

    pub async fn nack(&self, resp: &DeltaDiscoveryResponse, message: &str) {
        self.send(DeltaDiscoveryRequest {
            type_url: resp.type_url.clone(),
            response_nonce: resp.nonce.clone(),
            error_detail: nack_detail(message),
            ..Default::default()
        })
        .await;
    }

    pub async fn recv(&mut self) -> DeltaDiscoveryResponse {
        next(&mut self.responses)
            .await
            .expect("a response, not an error")
    }

    pub async fn recv_err(&mut self) -> Status {
        next(&mut self.responses)
            .await
            .expect_err("an error status")
    }

    pub async fn silent(&mut self) {
        silent(&mut self.responses).await;
    }
}

pub fn delta_names(resp: &DeltaDiscoveryResponse) -> Vec<String> {
    resp.resources.iter().map(|r| r.name.clone()).collect()
}
