//! Measure (5), serving: one change delivered to N connected Delta clients.
//!
//! The real ADS server (`sluice_emit::server`) runs in this process on a loopback port, over
//! the fleet's current state; N clients, each its own HTTP/2 connection and Delta stream, act
//! as N replicas of the proxy of the Gateway the change touches: they subscribe to its
//! listeners (wildcard) and RouteConfigurations (by name), as Envoy does, and ACK everything.
//! Once all are in sync the change is published, and the figure is the time from `publish`
//! (which encodes the changed resources) until the last client holds the new
//! RouteConfiguration; bytes are the responses' encoded sizes, summed over clients; memory is
//! the process's RSS growth from connecting the clients, per client.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use envoy_types::pb::envoy::config::core::v3::Node;
use envoy_types::pb::envoy::service::discovery::v3::aggregated_discovery_service_client::AggregatedDiscoveryServiceClient;
use envoy_types::pb::envoy::service::discovery::v3::{
    DeltaDiscoveryRequest, DeltaDiscoveryResponse,
};
use prost::Message;
use serde::{Deserialize, Serialize};
use sluice_dataflow::ir::XdsType;
use sluice_dataflow::output::{OutputBatch, Snapshot};
use sluice_emit::bootstrap::{AdsBootstrap, ads_bootstrap_proto};
use sluice_emit::cache::XdsCache;
use sluice_emit::server::{SharedCache, XdsServer};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Streaming;
use tonic::transport::server::TcpIncoming;

use super::{percentile, rss};

const LDS: XdsType = XdsType::Listener;
const RDS: XdsType = XdsType::Route;
/// How long a client may take to sync or to receive the change before the run gives up.
const PATIENCE: Duration = Duration::from_secs(120);

/// One change delivered to `clients` Delta clients.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ServeFigure {
    pub clients: usize,
    /// The RouteConfiguration the change rewrote (the one every client waits for).
    pub resource: String,
    /// From `publish` until the last client received it.
    pub all_ms: f64,
    /// The same, for the median client.
    pub p50_ms: f64,
    /// Encoded size of the responses the change caused, summed over clients.
    pub bytes_on_wire: u64,
    /// RSS growth from connecting and syncing the clients (both ends in this process), per
    /// client.
    pub rss_per_client_bytes: i64,
    /// Time to connect and sync all clients (not part of `all_ms`).
    pub sync_s: f64,
    /// Streams that failed while connecting (reset under a burst of connections) and were
    /// retried, as Envoy retries.
    pub reconnects: usize,
}

/// The Gateway (`ns/name`) a RouteConfiguration named `ns/gw/port[/section]` belongs to.
fn gateway_of_route_config(name: &str) -> Option<String> {
    let mut parts = name.splitn(3, '/');
    let (ns, gw) = (parts.next()?, parts.next()?);
    parts.next()?;
    Some(format!("{ns}/{gw}"))
}

/// The first RouteConfiguration `batch` upserts.
fn changed_route_config(batch: &OutputBatch) -> Option<String> {
    batch
        .upserts
        .iter()
        .map(|r| r.key())
        .find(|k| k.ty == XdsType::Route)
        .map(|k| k.name)
}

/// The server over `snapshot`, ready, on a loopback port.
pub struct Served {
    runtime: tokio::runtime::Runtime,
    cache: SharedCache,
    addr: SocketAddr,
    epoch: u64,
}

impl Served {
    /// Publishes `snapshot` as one epoch and starts the server.
    ///
    /// # Panics
    /// When the runtime or the loopback listener cannot start.
    pub fn start(snapshot: &Snapshot) -> Served {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        let cache = SharedCache::new(XdsCache::new(1));
        cache.publish(&OutputBatch {
            epoch: 1,
            upserts: snapshot.resources.values().cloned().collect(),
            ..OutputBatch::default()
        });
        cache.mark_ready();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind a loopback port");
        let addr = listener.local_addr().expect("local address");
        // TCP_NODELAY as `sluice serve` sets it (tonic ignores its own setting for a given
        // listener): without it Nagle and delayed ACKs add ~40 ms to every response.
        let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
        runtime.spawn(
            tonic::transport::Server::builder()
                .add_service(XdsServer::new(cache.clone()).into_service())
                .serve_with_incoming(incoming),
        );
        Served {
            runtime,
            cache,
            addr,
            epoch: 1,
        }
    }

    /// Connects `clients` proxies of the Gateway whose RouteConfiguration `batch` changes,
    /// syncs them, publishes `batch` and times its delivery. `snapshot` is the state before
    /// the change (it names the Gateway's RouteConfigurations). `None` when `batch` changes no
    /// RouteConfiguration.
    ///
    /// # Panics
    /// When a client cannot connect or does not receive the change within two minutes.
    pub fn measure(
        &mut self,
        clients: usize,
        batch: &OutputBatch,
        snapshot: &Snapshot,
    ) -> Option<ServeFigure> {
        let target = changed_route_config(batch)?;
        let gateway = gateway_of_route_config(&target)?;
        let routes: Vec<String> = snapshot
            .resources
            .keys()
            .filter(|k| {
                k.ty == XdsType::Route
                    && gateway_of_route_config(&k.name).as_deref() == Some(&gateway)
            })
            .map(|k| k.name.clone())
            .collect();
        let before = rss::current();
        let started = Instant::now();
        let (done_tx, mut done_rx) = mpsc::unbounded_channel();
        let mut tasks = Vec::with_capacity(clients);
        let (synced_tx, mut synced_rx) = mpsc::unbounded_channel();
        for i in 0..clients {
            let client = Client {
                addr: self.addr,
                node: node(&format!("bench-proxy-{i}"), &gateway),
                routes: routes.clone(),
                target: target.clone(),
            };
            let (synced, done) = (synced_tx.clone(), done_tx.clone());
            tasks.push(self.runtime.spawn(client.run(synced, done)));
        }
        drop((synced_tx, done_tx));
        let mut reconnects = 0;
        self.runtime.block_on(async {
            for _ in 0..clients {
                reconnects += tokio::time::timeout(PATIENCE, synced_rx.recv())
                    .await
                    .expect("clients sync")
                    .expect("a client gave up connecting");
            }
        });
        let sync_s = started.elapsed().as_secs_f64();
        let rss_per_client_bytes = (rss::current() as i64 - before as i64) / clients as i64;

        self.epoch += 1;
        let published = Instant::now();
        self.cache.publish(&OutputBatch {
            epoch: self.epoch,
            ..batch.clone()
        });
        let mut times = Vec::with_capacity(clients);
        let mut bytes_on_wire = 0;
        self.runtime.block_on(async {
            for _ in 0..clients {
                let (at, bytes): (Instant, u64) = tokio::time::timeout(PATIENCE, done_rx.recv())
                    .await
                    .expect("every client receives the change")
                    .expect("a client stopped before receiving the change");
                times.push((at - published).as_secs_f64() * 1e3);
                bytes_on_wire += bytes;
            }
        });
        for t in tasks {
            t.abort();
        }
        let all_ms = times.iter().copied().fold(0.0, f64::max);
        Some(ServeFigure {
            clients,
            resource: target,
            all_ms,
            p50_ms: percentile(&mut times, 50.0),
            bytes_on_wire,
            rss_per_client_bytes,
            sync_s,
            reconnects,
        })
    }
}

/// The node `sluice bootstrap` writes for a proxy of `gateway` (`ns/name`).
fn node(id: &str, gateway: &str) -> Node {
    let (ns, name) = gateway.split_once('/').expect("a Gateway is ns/name");
    let bootstrap = ads_bootstrap_proto(&AdsBootstrap {
        node_id: id,
        node_cluster: "sluice-bench",
        gateway: (ns, name),
        xds_host: "127.0.0.1",
        xds_port: 0,
        delta: true,
        admin_port: 0,
        bind_address: None,
        tls: None,
    });
    bootstrap.node.expect("a bootstrap names its node")
}

/// One proxy replica.
struct Client {
    addr: SocketAddr,
    node: Node,
    routes: Vec<String>,
    target: String,
}

impl Client {
    /// Connects and subscribes (LDS wildcard, RDS by name), ACKing until both are in, then
    /// says so on `synced` with the number of failed attempts; then ACKs on until `target`
    /// arrives in an RDS response and reports when, with the bytes received since the sync,
    /// on `done`.
    async fn run(
        self,
        synced: mpsc::UnboundedSender<usize>,
        done: mpsc::UnboundedSender<(Instant, u64)>,
    ) {
        let mut failures = 0;
        let (tx, mut responses) = loop {
            match self.subscribe().await {
                Some(stream) => break stream,
                None if failures < 20 => {
                    failures += 1;
                    tokio::time::sleep(Duration::from_millis(50 * failures as u64)).await;
                }
                None => return,
            }
        };
        let _ = synced.send(failures);
        let mut bytes = 0;
        loop {
            let Ok(Some(r)) = responses.message().await else {
                return;
            };
            let at = Instant::now();
            bytes += r.encoded_len() as u64;
            let _ = tx.send(ack(&r)).await;
            if r.type_url == RDS.type_url() && r.resources.iter().any(|x| x.name == self.target) {
                let _ = done.send((at, bytes));
                // Stay connected (the stream open) until the run aborts this task.
                std::future::pending::<()>().await;
            }
        }
    }

    /// One attempt: connect, subscribe, receive and ACK the first LDS and RDS responses.
    async fn subscribe(
        &self,
    ) -> Option<(
        mpsc::Sender<DeltaDiscoveryRequest>,
        Streaming<DeltaDiscoveryResponse>,
    )> {
        let mut ads = AggregatedDiscoveryServiceClient::connect(format!("http://{}", self.addr))
            .await
            .ok()?;
        let (tx, rx) = mpsc::channel(8);
        for (type_url, names) in [(LDS, Vec::new()), (RDS, self.routes.clone())] {
            tx.send(DeltaDiscoveryRequest {
                node: Some(self.node.clone()),
                type_url: type_url.type_url().into(),
                resource_names_subscribe: names,
                ..DeltaDiscoveryRequest::default()
            })
            .await
            .ok()?;
        }
        let mut responses = ads
            .delta_aggregated_resources(ReceiverStream::new(rx))
            .await
            .ok()?
            .into_inner();
        let mut pending: BTreeSet<&str> = [LDS.type_url(), RDS.type_url()].into();
        while !pending.is_empty() {
            let r = responses.message().await.ok()??;
            pending.remove(r.type_url.as_str());
            tx.send(ack(&r)).await.ok()?;
        }
        Some((tx, responses))
    }
}

fn ack(r: &DeltaDiscoveryResponse) -> DeltaDiscoveryRequest {
    DeltaDiscoveryRequest {
        type_url: r.type_url.clone(),
        response_nonce: r.nonce.clone(),
        ..DeltaDiscoveryRequest::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_configs_name_their_gateway() {
        assert_eq!(
            gateway_of_route_config("ns-1/gw-2/443/https").as_deref(),
            Some("ns-1/gw-2")
        );
        assert_eq!(
            gateway_of_route_config("ns-1/gw-2/80").as_deref(),
            Some("ns-1/gw-2")
        );
        assert_eq!(gateway_of_route_config("ns-1/gw-2"), None);
    }
}
