//! Soak: many Delta clients stay connected while random changes flow through the ADS server,
//! some clients NACKing, some reconnecting mid-stream (with `initial_resource_versions`, as
//! Envoy does). Each client behaves like Envoy: wildcard LDS and CDS, RDS/EDS/SDS by the names
//! what it holds references, ACK after applying.
//!
//! Checked: make-before-break at every response (a RouteConfiguration arrives only after the
//! clusters it routes to); no NACK loop (a NACKed resource version is never sent again on that
//! stream); at the end every client that ACKs holds exactly its Gateway's view (names and
//! versions), closed under references (listener → routes and secrets, route → clusters,
//! cluster → endpoints). Reported: responses, NACKs, reconnects, and the RSS slope over the
//! run (memory that grows with changes, not with state, is a leak).
//!
//! Scale: `SLUICE_SOAK_CLIENTS` (default 60) and `SLUICE_SOAK_CHANGES` (default 600); the
//! issue's run is `SLUICE_SOAK_CLIENTS=1000 SLUICE_SOAK_CHANGES=10000 cargo test --release
//! -p sluice-emit --test soak -- --nocapture`.

mod ads_support;

// As `sluice` allocates: glibc malloc's arenas keep what 1,000 streams churn through, which
// would read as growth.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ads_support::*;
use envoy_types::pb::envoy::config::cluster::v3::{Cluster, cluster};
use envoy_types::pb::envoy::config::listener::v3::Listener;
use envoy_types::pb::envoy::config::route::v3::{RouteConfiguration, route, route_action};
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::{
    HttpConnectionManager, http_connection_manager,
};
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::DownstreamTlsContext;
use envoy_types::pb::envoy::service::discovery::v3::{
    DeltaDiscoveryRequest, DeltaDiscoveryResponse,
};
use prost::Message;
use sluice_dataflow::ir::*;
use sluice_emit::cache::GatewayId;
use sluice_emit::server::ResourceSource;
use tokio::sync::mpsc;

const SDS: &str = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret";
const TYPES: [&str; 5] = [CDS, EDS, SDS, LDS, RDS];
const GATEWAYS: usize = 8;

fn env(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// xorshift64*: deterministic randomness without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

// ---- the world: always consistent (every reference resolves) ----

struct World {
    /// Gateway → its port-80 route configurations.
    chains: Vec<Vec<String>>,
    /// Route configuration → clusters.
    routes: BTreeMap<String, Vec<String>>,
    /// Live clusters → (connect timeout, endpoint generation).
    clusters: BTreeMap<String, (u64, u64)>,
    certs: Vec<u64>,
    next: u64,
}

fn gw(g: usize) -> String {
    format!("ns/g{g}")
}

impl World {
    fn new(rng: &mut Rng) -> World {
        let mut w = World {
            chains: Vec::new(),
            routes: BTreeMap::new(),
            clusters: (0..24)
                .map(|i| (format!("svc/ns/c{i}/80"), (1000, 0)))
                .collect(),
            certs: vec![0; GATEWAYS],
            next: 0,
        };
        for g in 0..GATEWAYS {
            let names: Vec<String> = (0..2).map(|k| format!("{}/80/rc{k}", gw(g))).collect();
            for n in &names {
                let cs = w.some_clusters(rng);
                w.routes.insert(n.clone(), cs);
            }
            let tls_rc = format!("{}/443/s", gw(g));
            let cs = w.some_clusters(rng);
            w.routes.insert(tls_rc, cs);
            w.chains.push(names);
        }
        w
    }

    fn some_clusters(&self, rng: &mut Rng) -> Vec<String> {
        let live: Vec<&String> = self.clusters.keys().collect();
        let n = 1 + rng.below(3);
        let set: BTreeSet<String> = (0..n)
            .map(|_| live[rng.below(live.len())].clone())
            .collect();
        set.into_iter().collect()
    }

    fn listener80(&self, g: usize) -> Resource {
        let names: Vec<&str> = self.chains[g].iter().map(String::as_str).collect();
        mk_sni_listener(&gw(g), 80, &names)
    }

    fn listener443(&self, g: usize) -> Resource {
        let rc = format!("{}/443/s", gw(g));
        Resource::from(ListenerIr {
            name: format!("{}/443", gw(g)),
            address: "0.0.0.0".into(),
            port: 443,
            settings: None,
            filter_chains: vec![FilterChainIr {
                name: rc.clone(),
                server_names: vec![format!("g{g}.example.com")],
                tls: Some(TlsCertIr {
                    secret: format!("certs/g{g}"),
                    cert_chain: format!("cert g{g} #{}", self.certs[g]),
                    private_key: format!("key g{g} #{}", self.certs[g]),
                }),
                route_config_name: rc,
            }],
        })
    }

    fn route(&self, name: &str) -> Resource {
        let cs: Vec<&str> = self.routes[name].iter().map(String::as_str).collect();
        mk_route_config(name, &cs)
    }

    fn cluster(&self, name: &str) -> Vec<Resource> {
        let (timeout, endpoints) = self.clusters[name];
        let ip = format!("10.{}.{}.1", endpoints % 200, name.len());
        vec![
            mk_cluster_timeout(name, timeout),
            mk_cla(name, &[ip.as_str()]),
        ]
    }

    fn everything(&self) -> Vec<Resource> {
        let mut out = Vec::new();
        for g in 0..GATEWAYS {
            out.push(self.listener80(g));
            out.push(self.listener443(g));
        }
        out.extend(self.routes.keys().map(|n| self.route(n)));
        for c in self.clusters.keys() {
            out.extend(self.cluster(c));
        }
        out
    }

    /// One random change: (upserts, deletes).
    fn change(&mut self, rng: &mut Rng) -> (Vec<Resource>, Vec<XdsKey>) {
        self.next += 1;
        let g = rng.below(GATEWAYS);
        let key = |ty, name: &str| XdsKey {
            ty,
            name: name.to_string(),
        };
        match rng.below(8) {
            0 | 1 => {
                let names: Vec<String> = self.routes.keys().cloned().collect();
                let rc = names[rng.below(names.len())].clone();
                let cs = self.some_clusters(rng);
                self.routes.insert(rc.clone(), cs);
                (vec![self.route(&rc)], Vec::new())
            }
            2 => {
                let names: Vec<String> = self.clusters.keys().cloned().collect();
                let c = names[rng.below(names.len())].clone();
                self.clusters.get_mut(&c).unwrap().1 += 1;
                (vec![self.cluster(&c).remove(1)], Vec::new())
            }
            // The world stays bounded (at most 4 chains a Gateway, 32 clusters), so memory that
            // grows over the run is not state.
            3 if self.chains[g].len() < 4 => {
                let rc = format!("{}/80/rc{}", gw(g), 100 + self.next);
                let cs = self.some_clusters(rng);
                self.routes.insert(rc.clone(), cs);
                self.chains[g].push(rc.clone());
                (vec![self.route(&rc), self.listener80(g)], Vec::new())
            }
            4 if self.chains[g].len() > 1 => {
                let i = rng.below(self.chains[g].len());
                let rc = self.chains[g].remove(i);
                self.routes.remove(&rc);
                (vec![self.listener80(g)], vec![key(XdsType::Route, &rc)])
            }
            5 if self.clusters.len() < 32 => {
                let c = format!("svc/ns/new{}/80", self.next);
                self.clusters.insert(c.clone(), (1000, 0));
                let names: Vec<String> = self.routes.keys().cloned().collect();
                let rc = names[rng.below(names.len())].clone();
                self.routes.get_mut(&rc).unwrap().push(c.clone());
                let mut up = self.cluster(&c);
                up.push(self.route(&rc));
                (up, Vec::new())
            }
            6 if self.clusters.len() > 8 => {
                let names: Vec<String> = self.clusters.keys().cloned().collect();
                let c = names[rng.below(names.len())].clone();
                self.clusters.remove(&c);
                let mut up = Vec::new();
                let users: Vec<String> = self
                    .routes
                    .iter()
                    .filter(|(_, cs)| cs.contains(&c))
                    .map(|(n, _)| n.clone())
                    .collect();
                for rc in users {
                    let mut cs = self.routes[&rc].clone();
                    cs.retain(|x| x != &c);
                    if cs.is_empty() {
                        cs = self.some_clusters(rng);
                    }
                    self.routes.insert(rc.clone(), cs);
                    up.push(self.route(&rc));
                }
                (
                    up,
                    vec![key(XdsType::Cluster, &c), key(XdsType::Endpoint, &c)],
                )
            }
            7 => {
                self.certs[g] += 1;
                (vec![self.listener443(g)], Vec::new())
            }
            _ => {
                let names: Vec<String> = self.clusters.keys().cloned().collect();
                let c = names[rng.below(names.len())].clone();
                self.clusters.get_mut(&c).unwrap().0 += 1;
                (vec![self.cluster(&c).remove(0)], Vec::new())
            }
        }
    }
}

// ---- a client that behaves like Envoy ----

#[derive(Clone, Default)]
struct Held {
    version: String,
    /// (type URL, name) this resource references.
    refs: Vec<(&'static str, String)>,
}

fn refs_of(type_url: &str, bytes: &[u8]) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    match type_url {
        LDS => {
            let l = Listener::decode(bytes).unwrap();
            for chain in &l.filter_chains {
                for f in &chain.filters {
                    if let Some(envoy_types::pb::envoy::config::listener::v3::filter::ConfigType::TypedConfig(any)) = &f.config_type {
                        let hcm = HttpConnectionManager::decode(any.value.as_slice()).unwrap();
                        if let Some(http_connection_manager::RouteSpecifier::Rds(rds)) = hcm.route_specifier {
                            out.push((RDS, rds.route_config_name));
                        }
                    }
                }
                if let Some(ts) = &chain.transport_socket
                    && let Some(envoy_types::pb::envoy::config::core::v3::transport_socket::ConfigType::TypedConfig(any)) = &ts.config_type
                {
                    let tls = DownstreamTlsContext::decode(any.value.as_slice()).unwrap();
                    for s in tls.common_tls_context.unwrap_or_default().tls_certificate_sds_secret_configs {
                        out.push((SDS, s.name));
                    }
                }
            }
        }
        RDS => {
            let rc = RouteConfiguration::decode(bytes).unwrap();
            for vh in &rc.virtual_hosts {
                for r in &vh.routes {
                    if let Some(route::Action::Route(a)) = &r.action {
                        match &a.cluster_specifier {
                            Some(route_action::ClusterSpecifier::Cluster(c)) => {
                                out.push((CDS, c.clone()))
                            }
                            Some(route_action::ClusterSpecifier::WeightedClusters(w)) => {
                                out.extend(w.clusters.iter().map(|c| (CDS, c.name.clone())));
                            }
                            _ => {}
                        }
                    }
                }
            }
        }
        CDS => {
            let c = Cluster::decode(bytes).unwrap();
            if c.cluster_discovery_type
                == Some(cluster::ClusterDiscoveryType::Type(
                    cluster::DiscoveryType::Eds.into(),
                ))
            {
                out.push((EDS, c.name.clone()));
            }
        }
        _ => {}
    }
    out
}

#[derive(Default)]
struct ClientReport {
    violations: Vec<String>,
    responses: u64,
    nacks: u64,
    reconnects: u64,
    /// Connections or streams that failed and were retried.
    retries: u64,
    held: BTreeMap<&'static str, BTreeMap<String, Held>>,
    nacking: bool,
}

struct Shared {
    stop: AtomicBool,
    /// Milliseconds since `start` of the last response any client received.
    last_response_ms: AtomicU64,
    start: Instant,
}

fn type_static(t: &str) -> &'static str {
    TYPES.into_iter().find(|x| *x == t).expect("a known type")
}

async fn run_client(
    h_addr: std::net::SocketAddr,
    id: usize,
    gateway: String,
    nacking: bool,
    reconnect_every: Option<u64>,
    shared: Arc<Shared>,
) -> ClientReport {
    let mut report = ClientReport {
        nacking,
        ..Default::default()
    };
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (id as u64 + 1));
    let mut subscribed: BTreeMap<&'static str, BTreeSet<String>> = BTreeMap::new();
    // NACKed (type, name, version): never to be sent again, unless something changed in
    // between (another version of it was sent; it was removed or resubscribed; for a CLA, its
    // cluster was updated, which the protocol answers with the CLA).
    let mut nacked: BTreeSet<(&'static str, String, String)> = BTreeSet::new();
    'connection: loop {
        // A new stream starts from what the client declares it holds.
        nacked.clear();
        // A burst of connections overflows the listen backlog: retry, as Envoy does.
        let channel = match tonic::transport::Endpoint::from_shared(format!("http://{h_addr}"))
            .unwrap()
            .connect()
            .await
        {
            Ok(c) => c,
            Err(_) => {
                report.retries += 1;
                tokio::time::sleep(Duration::from_millis(50 + rng.below(200) as u64)).await;
                continue 'connection;
            }
        };
        let mut client = envoy_types::pb::envoy::service::discovery::v3::aggregated_discovery_service_client::AggregatedDiscoveryServiceClient::new(channel);
        let (tx, rx) = mpsc::unbounded_channel::<DeltaDiscoveryRequest>();
        // First request of each type: what we hold, as Envoy resumes.
        let initial = |t: &'static str,
                       held: &BTreeMap<&'static str, BTreeMap<String, Held>>,
                       subscribe: Vec<String>| DeltaDiscoveryRequest {
            node: Some(mk_node(&format!("soak-{id}"), &gateway)),
            type_url: t.into(),
            resource_names_subscribe: subscribe,
            initial_resource_versions: held
                .get(t)
                .map(|m| {
                    m.iter()
                        .map(|(n, h)| (n.clone(), h.version.clone()))
                        .collect()
                })
                .unwrap_or_default(),
            ..Default::default()
        };
        for t in [CDS, LDS] {
            tx.send(initial(t, &report.held, Vec::new())).unwrap();
        }
        for t in [EDS, SDS, RDS] {
            if let Some(names) = subscribed.get(t).filter(|n| !n.is_empty()) {
                tx.send(initial(t, &report.held, names.iter().cloned().collect()))
                    .unwrap();
            }
        }
        let mut stream = match client
            .delta_aggregated_resources(tokio_stream::wrappers::UnboundedReceiverStream::new(rx))
            .await
        {
            Ok(s) => s.into_inner(),
            Err(_) => {
                report.retries += 1;
                tokio::time::sleep(Duration::from_millis(50 + rng.below(200) as u64)).await;
                continue 'connection;
            }
        };
        let mut since_connect = 0u64;
        loop {
            let msg = tokio::time::timeout(Duration::from_millis(200), stream.message()).await;
            let resp: DeltaDiscoveryResponse = match msg {
                Err(_) if shared.stop.load(Ordering::Relaxed) => return report,
                Err(_) => continue,
                Ok(Ok(Some(r))) => r,
                // A reset stream: connect again and resume.
                Ok(_) => {
                    report.retries += 1;
                    continue 'connection;
                }
            };
            report.responses += 1;
            since_connect += 1;
            shared
                .last_response_ms
                .store(shared.start.elapsed().as_millis() as u64, Ordering::Relaxed);
            let t = type_static(&resp.type_url);
            for r in &resp.resources {
                if nacked.contains(&(t, r.name.clone(), r.version.clone())) {
                    report.violations.push(format!(
                        "client {id}: NACKed {t} {} {} sent again",
                        r.name, r.version
                    ));
                }
                // Another version in between: a later return to the NACKed content is new state.
                nacked.retain(|(nt, n, v)| !(*nt == t && n == &r.name && v != &r.version));
                if t == CDS {
                    nacked.retain(|(nt, n, _)| !(*nt == EDS && n == &r.name));
                }
            }
            for name in &resp.removed_resources {
                nacked.retain(|(nt, n, _)| !(*nt == t && n == name));
            }
            if nacking && rng.below(20) == 0 {
                for r in &resp.resources {
                    nacked.insert((t, r.name.clone(), r.version.clone()));
                }
                report.nacks += 1;
                tx.send(DeltaDiscoveryRequest {
                    type_url: resp.type_url.clone(),
                    response_nonce: resp.nonce.clone(),
                    error_detail: nack_detail("soak: rejected"),
                    ..Default::default()
                })
                .unwrap();
                continue;
            }
            let held = report.held.entry(t).or_default();
            for r in &resp.resources {
                let bytes = &r.resource.as_ref().unwrap().value;
                held.insert(
                    r.name.clone(),
                    Held {
                        version: r.version.clone(),
                        refs: refs_of(t, bytes),
                    },
                );
            }
            for name in &resp.removed_resources {
                held.remove(name);
            }
            // Make-before-break: a route arrives after the clusters it routes to.
            // (A client that NACKed the cluster has only itself to blame.)
            if t == RDS && !nacking {
                for r in &resp.resources {
                    for (rt, rn) in &report.held[RDS][&r.name].refs {
                        if !report.held.get(rt).is_some_and(|m| m.contains_key(rn)) {
                            report.violations.push(format!(
                                "client {id}: route {} arrived before cluster {rn}",
                                r.name
                            ));
                        }
                    }
                }
            }
            tx.send(DeltaDiscoveryRequest {
                type_url: resp.type_url.clone(),
                response_nonce: resp.nonce.clone(),
                ..Default::default()
            })
            .unwrap();
            // Follow references, as Envoy subscribes to what its listeners and clusters name.
            let (from, to) = match t {
                LDS => (LDS, vec![RDS, SDS]),
                CDS => (CDS, vec![EDS]),
                _ => (t, Vec::new()),
            };
            for target in to {
                let want: BTreeSet<String> = report.held[from]
                    .values()
                    .flat_map(|h| &h.refs)
                    .filter(|(rt, _)| *rt == target)
                    .map(|(_, n)| n.clone())
                    .collect();
                let have = subscribed.entry(target).or_default();
                let add: Vec<String> = want.difference(have).cloned().collect();
                let drop: Vec<String> = have.difference(&want).cloned().collect();
                if add.is_empty() && drop.is_empty() {
                    continue;
                }
                for n in drop.iter().chain(&add) {
                    report.held.entry(target).or_default().remove(n);
                    nacked.retain(|(nt, nn, _)| !(*nt == target && nn == n));
                }
                *have = want;
                tx.send(DeltaDiscoveryRequest {
                    node: Some(mk_node(&format!("soak-{id}"), &gateway)),
                    type_url: target.into(),
                    resource_names_subscribe: add,
                    resource_names_unsubscribe: drop,
                    ..Default::default()
                })
                .unwrap();
            }
            if let Some(every) = reconnect_every
                && since_connect >= every
                && !shared.stop.load(Ordering::Relaxed)
            {
                report.reconnects += 1;
                continue 'connection;
            }
        }
    }
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_many_delta_clients_under_random_changes() {
    let clients = env("SLUICE_SOAK_CLIENTS", 60);
    let changes = env("SLUICE_SOAK_CHANGES", 600);
    let mut rng = Rng(42);
    let mut world = World::new(&mut rng);
    let h = start(world.everything()).await;
    let resources_at_start = h.cache.read(|c| c.len());
    let shared = Arc::new(Shared {
        stop: AtomicBool::new(false),
        last_response_ms: AtomicU64::new(0),
        start: Instant::now(),
    });
    let mut tasks = Vec::new();
    for id in 0..clients {
        let gateway = gw(id % GATEWAYS);
        let nacking = id % 10 == 3;
        let reconnect = (id % 10 == 7).then_some(25 + (id as u64 % 17));
        tasks.push(tokio::spawn(run_client(
            h.addr,
            id,
            gateway,
            nacking,
            reconnect,
            shared.clone(),
        )));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = Instant::now();
    let mut samples = Vec::new();
    for epoch in 0..changes {
        let (up, del) = world.change(&mut rng);
        h.publish(epoch as u64 + 2, up, del);
        if epoch % (changes / 10).max(1) == 0 {
            samples.push((epoch as f64, rss_bytes() as f64));
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let published = started.elapsed();
    // Quiet for a second: everyone has what there is.
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let last = shared.last_response_ms.load(Ordering::Relaxed);
        if shared.start.elapsed().as_millis() as u64 > last + 1000 {
            break;
        }
    }
    shared.stop.store(true, Ordering::Relaxed);
    let mut violations = Vec::new();
    let (mut responses, mut nacks, mut reconnects, mut retries) = (0, 0, 0, 0);
    for (id, task) in tasks.into_iter().enumerate() {
        let r = task.await.unwrap();
        responses += r.responses;
        nacks += r.nacks;
        reconnects += r.reconnects;
        retries += r.retries;
        violations.extend(r.violations.iter().cloned());
        if r.nacking {
            continue;
        }
        // Exactly the Gateway's view, at the current versions, closed under references.
        let gateway = GatewayId::parse(&gw(id % GATEWAYS)).unwrap();
        let view = h.cache.read(|c| c.view(&gateway));
        for t in TYPES {
            let ty = match t {
                CDS => XdsType::Cluster,
                EDS => XdsType::Endpoint,
                SDS => XdsType::Secret,
                LDS => XdsType::Listener,
                _ => XdsType::Route,
            };
            let want: BTreeMap<&str, &str> = view
                .get(&ty)
                .into_iter()
                .flatten()
                .map(|(n, e)| (n.as_str(), e.version.as_str()))
                .collect();
            let have: BTreeMap<&str, &str> = r
                .held
                .get(t)
                .into_iter()
                .flatten()
                .map(|(n, h)| (n.as_str(), h.version.as_str()))
                .collect();
            if want != have {
                violations.push(format!(
                    "client {id} {t}: holds {have:?}, the view is {want:?}"
                ));
            }
        }
        for (t, held) in &r.held {
            for (name, h) in held {
                for (rt, rn) in &h.refs {
                    if !r.held.get(rt).is_some_and(|m| m.contains_key(rn)) {
                        violations.push(format!("client {id}: {t} {name} references missing {rn}"));
                    }
                }
            }
        }
    }
    // RSS slope after the first tenth (warm-up), bytes per 1,000 changes.
    let tail = &samples[samples.len().min(1)..];
    let n = tail.len() as f64;
    let (mx, my) = (
        tail.iter().map(|s| s.0).sum::<f64>() / n,
        tail.iter().map(|s| s.1).sum::<f64>() / n,
    );
    let cov: f64 = tail.iter().map(|s| (s.0 - mx) * (s.1 - my)).sum();
    let var: f64 = tail.iter().map(|s| (s.0 - mx).powi(2)).sum();
    let slope = if var > 0.0 { cov / var * 1000.0 } else { 0.0 };
    println!(
        "soak: {clients} Delta clients, {changes} changes in {published:.1?}: {responses} responses, \
         {nacks} NACKs, {reconnects} reconnects ({retries} retried connections); RSS {:.1} MiB at the end, slope {:.1} KiB per 1,000 changes; \
         resources in the cache {resources_at_start} at the start, {} at the end",
        rss_bytes() as f64 / (1 << 20) as f64,
        slope / 1024.0,
        h.cache.read(|c| c.len())
    );
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for v in &violations {
        let kind = [
            "arrived before",
            "sent again",
            "holds",
            "references missing",
        ]
        .into_iter()
        .find(|k| v.contains(k))
        .unwrap_or("other");
        *kinds.entry(kind).or_default() += 1;
    }
    assert!(
        violations.is_empty(),
        "{} violations ({kinds:?}):\n{}",
        violations.len(),
        violations[..violations.len().min(30)].join("\n")
    );
    assert!(
        nacks > 0 && reconnects > 0,
        "the soak exercised no NACK ({nacks}) or reconnect ({reconnects})"
    );
}
