//! End to end against real Envoy: `sluice serve` watching a directory, one Envoy on SotW ADS
//! and one on Delta ADS (each serving its own Gateway), echo backends behind them.
//!
//! - `envoy_follows_edits_over_sotw_and_delta`: edits, additions and deletions of routes,
//!   EndpointSlices and Services reach both proxies (the time from the file write to the first
//!   correct answer is printed); Envoy rejects nothing; a restart of sluice under traffic
//!   loses no request and changes nothing in Envoy; edits are followed after it.
//! - `bad_documents_do_not_disturb_good_ones`: a broken document next to good ones, and a
//!   half-saved file, leave the good objects serving and count as load errors.
//!
//! Needs Envoy (`scripts/install-envoy.sh`, or `$SLUICE_ENVOY`).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{HttpResponse, Proc};
use sluice_conformance::echo::{self, EchoConfig, EchoHandle};

const NS: &str = "e2e";
/// How often a change's effect is polled for (the resolution of the measured latencies).
const POLL: Duration = Duration::from_millis(10);
/// How long a change may take to reach both proxies.
const CONVERGE: Duration = Duration::from_secs(5);
/// How long a fresh Envoy may take to fetch its first configuration.
const STARTUP: Duration = Duration::from_secs(30);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
const HOST: &str = "e2e.example.com";

// ---- manifests ----

fn gateway_class() -> String {
    "apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: { name: sluice }
spec: { controllerName: sluice.dev/gateway-controller }
"
    .to_string()
}

fn gateways(gws: &[(&str, u16)]) -> String {
    gws.iter()
        .map(|(name, port)| {
            format!(
                "apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {{ name: {name}, namespace: {NS} }}
spec:
  gatewayClassName: sluice
  listeners:
    - {{ name: http, port: {port}, protocol: HTTP }}
"
            )
        })
        .collect::<Vec<_>>()
        .join("---\n")
}

fn service(name: &str) -> String {
    format!(
        "apiVersion: v1
kind: Service
metadata: {{ name: {name}, namespace: {NS} }}
spec:
  ports: [{{ name: http, port: 8080, targetPort: 3000 }}]
"
    )
}

/// An EndpointSlice of Service `service` with one endpoint, 127.0.0.1:`port`.
fn endpoint_slice(service: &str, port: u16) -> String {
    format!(
        "apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {{ name: {service}-1, namespace: {NS}, labels: {{ kubernetes.io/service-name: {service} }} }}
addressType: IPv4
ports: [{{ name: http, port: {port} }}]
endpoints:
  - {{ addresses: [\"127.0.0.1\"], conditions: {{ ready: true }} }}
"
    )
}

/// An HTTPRoute attached to every Gateway of `parents`: `PathPrefix prefix` → `backend:8080`.
fn route(name: &str, parents: &[&str], prefix: &str, backend: &str) -> String {
    let parents = parents
        .iter()
        .map(|p| format!("{{ name: {p} }}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{ name: {name}, namespace: {NS} }}
spec:
  parentRefs: [{parents}]
  rules:
    - matches: [{{ path: {{ type: PathPrefix, value: {prefix} }} }}]
      backendRefs: [{{ name: {backend}, port: 8080 }}]
"
    )
}

// ---- expectations ----

/// What a request through a proxy should get.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// 200 from the echo backend of this `service`, which saw the request's path.
    Backend(&'static str),
    /// This status, from Envoy itself (404: no route; 500: unresolved backend).
    Status(u16),
}

fn short(body: &str) -> &str {
    let end = body.char_indices().nth(200).map_or(body.len(), |(i, _)| i);
    body[..end].trim_end()
}

/// A one-line summary of an answer, to tell intermediate states apart.
fn outcome(r: &Result<HttpResponse, String>) -> String {
    match r {
        Err(e) => format!("error: {e}"),
        Ok(r) => match serde_json::from_str::<serde_json::Value>(&r.body) {
            Ok(v) if v.get("service").is_some() => {
                format!("{} from {}", r.status, v["service"].as_str().unwrap_or("?"))
            }
            _ => format!("{} {:?}", r.status, short(&r.body)),
        },
    }
}

fn check(path: &str, expect: Expect, r: &Result<HttpResponse, String>) -> Result<(), String> {
    let resp = r.as_ref().map_err(Clone::clone)?;
    match expect {
        Expect::Status(want) if resp.status == want => Ok(()),
        Expect::Status(want) => Err(format!("{path}: got {}, want status {want}", outcome(r))),
        Expect::Backend(svc) => {
            let v: serde_json::Value = serde_json::from_str(&resp.body)
                .map_err(|_| format!("{path}: got {}, want 200 from {svc}", outcome(r)))?;
            if resp.status != 200 || v["service"] != svc || v["namespace"] != NS {
                return Err(format!("{path}: got {}, want 200 from {svc}", outcome(r)));
            }
            if v["path"] != path {
                return Err(format!("{path}: {svc} saw path {}", v["path"]));
            }
            Ok(())
        }
    }
}

// ---- the world ----

async fn echo_backend(service: &str) -> EchoHandle {
    echo::spawn(EchoConfig {
        namespace: NS.into(),
        pod: format!("{service}-0"),
        service: service.into(),
        http_port: 0,
        h2c_port: None,
    })
    .await
    .expect("spawn echo backend")
}

/// One Envoy serving one Gateway.
struct Proxy {
    name: &'static str,
    /// The Gateway's listener port.
    port: u16,
    admin_port: u16,
    proc: Proc,
}

impl Proxy {
    async fn get(&self, path: &str) -> Result<HttpResponse, String> {
        common::http_get(self.port, HOST, path, REQUEST_TIMEOUT).await
    }

    async fn stats(&self, filter: &str) -> BTreeMap<String, u64> {
        common::envoy_stats(self.admin_port, filter)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}\n{}", self.name, self.proc.log_tail(40)))
    }

    async fn stat(&self, name: &str) -> u64 {
        let filter = format!("^{}$", name.replace('.', "\\."));
        self.stats(&filter).await.get(name).copied().unwrap_or(0)
    }
}

struct World {
    work: tempfile::TempDir,
    /// The watched directory.
    dir: PathBuf,
    xds_port: u16,
    admin_port: u16,
    sluice: Proc,
    sluice_starts: usize,
    proxies: Vec<Proxy>,
    /// `(change, per-proxy latency)`, for the report.
    latencies: Vec<(String, Vec<Duration>)>,
}

impl World {
    /// Writes `files` into a fresh directory and starts `sluice serve` on it.
    async fn start(files: &[(&str, String)]) -> World {
        let mut work = tempfile::tempdir().expect("tempdir");
        if std::env::var_os("SLUICE_E2E_KEEP").is_some() {
            // Keep the manifests, bootstraps and logs for a look afterwards.
            work.disable_cleanup(true);
            println!("e2e: work directory {}", work.path().display());
        }
        let dir = work.path().join("manifests");
        std::fs::create_dir(&dir).expect("mkdir manifests");
        for (name, text) in files {
            std::fs::write(dir.join(name), text).expect("write manifest");
        }
        let [xds_port, admin_port] = common::free_ports(2)[..] else {
            unreachable!()
        };
        let mut sluice =
            common::sluice_serve(&dir, xds_port, admin_port, work.path().join("sluice-1.log"));
        common::wait_sluice_ready(&mut sluice, admin_port, Duration::from_secs(30)).await;
        World {
            work,
            dir,
            xds_port,
            admin_port,
            sluice,
            sluice_starts: 1,
            proxies: Vec::new(),
            latencies: Vec::new(),
        }
    }

    /// Starts an Envoy for Gateway `e2e/{gateway}` listening on `port`.
    fn add_proxy(&mut self, name: &'static str, gateway: &str, port: u16, delta: bool) {
        let admin_port = common::free_ports(1)[0];
        let bootstrap = self.work.path().join(format!("{name}.json"));
        common::sluice_bootstrap(
            &bootstrap,
            &format!("{NS}/{gateway}"),
            self.xds_port,
            delta,
            admin_port,
        );
        let proc = common::envoy_run(
            name,
            &bootstrap,
            self.work.path().join(format!("{name}.log")),
        );
        self.proxies.push(Proxy {
            name,
            port,
            admin_port,
            proc,
        });
    }

    /// Log tails of sluice and every Envoy, for failure messages.
    fn diagnostics(&self) -> String {
        let mut out = self.sluice.log_tail(40);
        for p in &self.proxies {
            out.push_str(&p.proc.log_tail(40));
        }
        out
    }

    /// Replaces `name` the way an editor saves (write a hidden file, rename it over);
    /// returns when the rename is done.
    fn write(&self, name: &str, text: &str) -> Instant {
        let tmp = self.dir.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, text).expect("write manifest");
        std::fs::rename(&tmp, self.dir.join(name)).expect("rename manifest");
        Instant::now()
    }

    fn remove(&self, name: &str) -> Instant {
        std::fs::remove_file(self.dir.join(name)).expect("remove manifest");
        Instant::now()
    }

    /// Polls every proxy until each answers every `(path, expect)` correctly; returns (and
    /// records under `what`) the time from `since` to each proxy's first correct answer.
    async fn converge(
        &mut self,
        what: &str,
        since: Instant,
        timeout: Duration,
        expects: &[(&str, Expect)],
    ) -> Vec<Duration> {
        let mut done: Vec<Option<Duration>> = vec![None; self.proxies.len()];
        // Answers seen on the way that are neither the old nor the new state's, per proxy.
        let mut seen: Vec<BTreeSet<String>> = vec![BTreeSet::new(); self.proxies.len()];
        let mut last_error = vec![String::new(); self.proxies.len()];
        loop {
            for (i, p) in self.proxies.iter().enumerate() {
                if done[i].is_some() {
                    continue;
                }
                let mut ok = true;
                for (path, expect) in expects {
                    let r = p.get(path).await;
                    if matches!(&r, Ok(resp) if resp.status == 503)
                        && !matches!(expect, Expect::Status(503))
                    {
                        // No healthy upstream / unknown cluster: a route went out before its
                        // cluster and endpoints (or a cluster was removed before the routes
                        // stopped using it). Never part of the old or the new state here.
                        panic!(
                            "{what}: {} answered {path} with {} before converging \
                             (make-before-break violated)\n{}",
                            p.name,
                            outcome(&r),
                            self.diagnostics()
                        );
                    }
                    if let Err(e) = check(path, *expect, &r) {
                        ok = false;
                        seen[i].insert(format!("{path}: {}", outcome(&r)));
                        last_error[i] = e;
                    }
                }
                if ok {
                    done[i] = Some(since.elapsed());
                }
            }
            if done.iter().all(Option::is_some) {
                break;
            }
            if since.elapsed() > timeout {
                let mut msg = format!("{what}: not followed within {timeout:?}:\n");
                for (i, p) in self.proxies.iter().enumerate() {
                    if done[i].is_none() {
                        msg.push_str(&format!(
                            "  {}: {} (answers seen: {:?})\n",
                            p.name, last_error[i], seen[i]
                        ));
                    }
                }
                for p in &mut self.proxies {
                    if let Some(status) = p.proc.exited() {
                        msg.push_str(&format!("  {} exited: {status}\n", p.name));
                    }
                }
                panic!("{msg}{}", self.diagnostics());
            }
            tokio::time::sleep(POLL).await;
        }
        let latencies: Vec<Duration> = done.into_iter().flatten().collect();
        let shown: Vec<String> = self
            .proxies
            .iter()
            .zip(&latencies)
            .zip(&seen)
            .map(|((p, d), s)| {
                if s.is_empty() {
                    format!("{} {} ms", p.name, d.as_millis())
                } else {
                    format!("{} {} ms (before: {s:?})", p.name, d.as_millis())
                }
            })
            .collect();
        println!("e2e: {what}: {}", shown.join(", "));
        self.latencies.push((what.to_string(), latencies.clone()));
        latencies
    }

    async fn sluice_metrics(&self) -> String {
        let r = common::http_get(self.admin_port, "localhost", "/metrics", REQUEST_TIMEOUT)
            .await
            .unwrap_or_else(|e| panic!("sluice /metrics: {e}\n{}", self.sluice.log_tail(40)));
        assert_eq!(r.status, 200, "sluice /metrics: {}", r.body);
        r.body
    }

    async fn sluice_metric(&self, name: &str) -> f64 {
        common::prometheus_value(&self.sluice_metrics().await, name).unwrap_or(0.0)
    }

    /// Asserts that no Envoy has rejected an update and that sluice has received no NACK.
    async fn assert_nothing_rejected(&self, when: &str) {
        for p in &self.proxies {
            let rejected = p.stats("update_rejected").await;
            let bad: BTreeMap<_, _> = rejected.iter().filter(|(_, v)| **v > 0).collect();
            assert!(
                bad.is_empty(),
                "{when}: {} rejected updates: {bad:?}\n{}",
                p.name,
                self.diagnostics()
            );
            assert!(
                rejected.contains_key("cluster_manager.cds.update_rejected")
                    && rejected.contains_key("listener_manager.lds.update_rejected"),
                "{when}: {}: no CDS/LDS update_rejected stats in {rejected:?}",
                p.name
            );
        }
        let metrics = self.sluice_metrics().await;
        let nacks: Vec<&str> = metrics
            .lines()
            .filter(|l| l.starts_with("sluice_xds_nacks_total") && !l.ends_with(" 0"))
            .collect();
        assert!(
            nacks.is_empty(),
            "{when}: sluice counted NACKs: {nacks:?}\n{}",
            self.diagnostics()
        );
    }

    /// Asserts that sluice compiles nothing while the directory does not change.
    async fn assert_idle(&self) {
        let before = self.sluice_metric("sluice_epochs_total").await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let after = self.sluice_metric("sluice_epochs_total").await;
        assert_eq!(
            before,
            after,
            "sluice compiled epochs while nothing changed\n{}",
            self.diagnostics()
        );
    }

    /// Sum of each proxy's `update_failure` counters.
    async fn update_failures(&self) -> Vec<u64> {
        let mut out = Vec::new();
        for p in &self.proxies {
            out.push(p.stats("update_failure").await.values().sum());
        }
        out
    }

    /// Starts a new sluice (after `self.sluice.kill()`) on the same directory and ports.
    async fn start_sluice_again(&mut self) {
        self.sluice_starts += 1;
        let log = self
            .work
            .path()
            .join(format!("sluice-{}.log", self.sluice_starts));
        self.sluice = common::sluice_serve(&self.dir, self.xds_port, self.admin_port, log);
        common::wait_sluice_ready(&mut self.sluice, self.admin_port, Duration::from_secs(30)).await;
    }

    /// Waits until every proxy's `control_plane.connected_state` is `want`.
    async fn wait_connected(&self, want: u64, timeout: Duration) -> Duration {
        let started = Instant::now();
        loop {
            let mut all = true;
            for p in &self.proxies {
                all &= p.stat("control_plane.connected_state").await == want;
            }
            if all {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < timeout,
                "proxies' control_plane.connected_state not {want} after {timeout:?}\n{}",
                self.diagnostics()
            );
            tokio::time::sleep(POLL).await;
        }
    }
}

/// Envoy counters whose change means a proxy rebuilt listeners or clusters.
const CHURN: &[&str] = &[
    "listener_manager.listener_added",
    "listener_manager.listener_modified",
    "listener_manager.listener_removed",
    "listener_manager.total_listeners_draining",
    "cluster_manager.cluster_added",
    "cluster_manager.cluster_modified",
    "cluster_manager.cluster_removed",
];

async fn churn(p: &Proxy) -> BTreeMap<&'static str, u64> {
    let mut out = BTreeMap::new();
    for name in CHURN {
        out.insert(*name, p.stat(name).await);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn envoy_follows_edits_over_sotw_and_delta() {
    let echo_a = echo_backend("echo-a").await;
    let echo_b = echo_backend("echo-b").await;
    let echo_c = echo_backend("echo-c").await;
    let [port_sotw, port_delta] = common::free_ports(2)[..] else {
        unreachable!()
    };
    let parents = ["gw-sotw", "gw-delta"];
    let mut w = World::start(&[
        ("00-class.yaml", gateway_class()),
        (
            "10-gateways.yaml",
            gateways(&[("gw-sotw", port_sotw), ("gw-delta", port_delta)]),
        ),
        ("20-svc-a.yaml", service("svc-a")),
        ("21-svc-b.yaml", service("svc-b")),
        (
            "30-eps-a.yaml",
            endpoint_slice("svc-a", echo_a.http_addr.port()),
        ),
        (
            "31-eps-b.yaml",
            endpoint_slice("svc-b", echo_b.http_addr.port()),
        ),
        ("40-route-a.yaml", route("route-a", &parents, "/a", "svc-a")),
        ("41-route-b.yaml", route("route-b", &parents, "/b", "svc-b")),
    ])
    .await;
    let started = Instant::now();
    w.add_proxy("envoy-sotw", "gw-sotw", port_sotw, false);
    w.add_proxy("envoy-delta", "gw-delta", port_delta, true);
    w.converge(
        "initial configuration",
        started,
        STARTUP,
        &[
            ("/a", Expect::Backend("echo-a")),
            ("/b", Expect::Backend("echo-b")),
            ("/new", Expect::Status(404)),
        ],
    )
    .await;
    w.assert_nothing_rejected("initially").await;
    w.assert_idle().await;
    let failures_before = w.update_failures().await;

    // Edit a route's path match.
    let t = w.write(
        "40-route-a.yaml",
        &route("route-a", &parents, "/alpha", "svc-a"),
    );
    w.converge(
        "edit route path /a -> /alpha",
        t,
        CONVERGE,
        &[
            ("/alpha", Expect::Backend("echo-a")),
            ("/a", Expect::Status(404)),
            ("/b", Expect::Backend("echo-b")),
        ],
    )
    .await;

    // Edit a route's backend.
    let t = w.write(
        "40-route-a.yaml",
        &route("route-a", &parents, "/alpha", "svc-b"),
    );
    w.converge(
        "edit route backend svc-a -> svc-b",
        t,
        CONVERGE,
        &[("/alpha", Expect::Backend("echo-b"))],
    )
    .await;

    // Add a route (to the Service no route uses any more).
    let t = w.write(
        "42-route-new.yaml",
        &route("route-new", &parents, "/new", "svc-a"),
    );
    w.converge(
        "add route /new -> svc-a",
        t,
        CONVERGE,
        &[
            ("/new", Expect::Backend("echo-a")),
            ("/alpha", Expect::Backend("echo-b")),
        ],
    )
    .await;

    // Delete a route.
    let t = w.remove("41-route-b.yaml");
    w.converge(
        "delete route /b",
        t,
        CONVERGE,
        &[
            ("/b", Expect::Status(404)),
            ("/alpha", Expect::Backend("echo-b")),
        ],
    )
    .await;

    // Point a Service's EndpointSlice at another backend.
    let t = w.write(
        "31-eps-b.yaml",
        &endpoint_slice("svc-b", echo_c.http_addr.port()),
    );
    w.converge(
        "EndpointSlice of svc-b -> echo-c",
        t,
        CONVERGE,
        &[("/alpha", Expect::Backend("echo-c"))],
    )
    .await;

    // Delete a Service: its route answers 500 (BackendNotFound).
    let t = w.remove("20-svc-a.yaml");
    w.converge(
        "delete Service svc-a",
        t,
        CONVERGE,
        &[
            ("/new", Expect::Status(500)),
            ("/alpha", Expect::Backend("echo-c")),
        ],
    )
    .await;

    w.assert_nothing_rejected("after the edits").await;
    assert_eq!(
        w.update_failures().await,
        failures_before,
        "update_failure grew while sluice was up\n{}",
        w.diagnostics()
    );

    // Restart sluice while traffic flows through both proxies.
    let mut churn_before = Vec::new();
    for p in &w.proxies {
        churn_before.push(churn(p).await);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let targets: Vec<(&'static str, u16)> = w.proxies.iter().map(|p| (p.name, p.port)).collect();
    let traffic = tokio::spawn({
        let stop = stop.clone();
        async move {
            let mut sent = 0u64;
            let mut failed = Vec::new();
            let started = Instant::now();
            let mut tick = tokio::time::interval(Duration::from_millis(20));
            while !stop.load(Ordering::Relaxed) {
                tick.tick().await;
                for (name, port) in &targets {
                    let r = common::http_get(*port, HOST, "/alpha", REQUEST_TIMEOUT).await;
                    sent += 1;
                    if let Err(e) = check("/alpha", Expect::Backend("echo-c"), &r) {
                        failed.push(format!("{name} at {:.0?}: {e}", started.elapsed()));
                    }
                }
            }
            (sent, failed)
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let killed = Instant::now();
    w.sluice.kill();
    let noticed = w.wait_connected(0, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    w.start_sluice_again().await;
    let restarted = killed.elapsed();
    let reconnected = w.wait_connected(1, Duration::from_secs(60)).await;
    // Let both streams be answered and ACKed before the traffic stops.
    let settle = Instant::now();
    loop {
        let m = w.sluice_metrics().await;
        let streams = |kind: &str| {
            common::prometheus_value(
                &m,
                &format!("sluice_xds_connected_streams{{kind=\"{kind}\"}}"),
            )
        };
        if streams("sotw") == Some(1.0) && streams("delta") == Some(1.0) {
            break;
        }
        assert!(
            settle.elapsed() < Duration::from_secs(10),
            "after the restart sluice does not see one SotW and one Delta stream:\n{m}\n{}",
            w.diagnostics()
        );
        tokio::time::sleep(POLL).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::Relaxed);
    let (sent, failed) = traffic.await.expect("traffic task");
    println!(
        "e2e: restart: proxies saw the disconnect after {noticed:.0?}, sluice ready again \
         {restarted:.0?} after the kill, proxies reconnected {reconnected:.0?} later; \
         {sent} requests, {} failed",
        failed.len()
    );
    assert!(sent > 50, "only {sent} requests during the restart");
    assert!(
        failed.is_empty(),
        "{} of {sent} requests failed during the restart: {:#?}\n{}",
        failed.len(),
        &failed[..failed.len().min(20)],
        w.diagnostics()
    );
    for (p, before) in w.proxies.iter().zip(&churn_before) {
        let after = churn(p).await;
        assert_eq!(
            &after,
            before,
            "{}: the reconnect changed listeners or clusters\n{}",
            p.name,
            w.diagnostics()
        );
    }
    w.assert_nothing_rejected("after the restart").await;

    // An edit after the restart is still followed.
    let t = w.write("20-svc-a.yaml", &service("svc-a"));
    w.converge(
        "re-add Service svc-a (after the restart)",
        t,
        CONVERGE,
        &[
            ("/new", Expect::Backend("echo-a")),
            ("/alpha", Expect::Backend("echo-c")),
        ],
    )
    .await;
    let t = w.write(
        "40-route-a.yaml",
        &route("route-a", &parents, "/alpha", "svc-a"),
    );
    w.converge(
        "edit route backend svc-b -> svc-a (after the restart)",
        t,
        CONVERGE,
        &[("/alpha", Expect::Backend("echo-a"))],
    )
    .await;
    w.assert_nothing_rejected("at the end").await;

    println!("e2e: edit -> Envoy latencies (envoy-sotw, envoy-delta):");
    for (what, l) in &w.latencies {
        let ms: Vec<String> = l
            .iter()
            .map(|d| format!("{:>5} ms", d.as_millis()))
            .collect();
        println!("e2e:   {what:<55} {}", ms.join("  "));
    }
    drop((echo_a, echo_b, echo_c));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_documents_do_not_disturb_good_ones() {
    let echo_a = echo_backend("echo-a").await;
    let port = common::free_ports(1)[0];
    let parents = ["gw-bad"];
    let mut w = World::start(&[
        ("00-class.yaml", gateway_class()),
        ("10-gateways.yaml", gateways(&[("gw-bad", port)])),
        ("20-svc-a.yaml", service("svc-a")),
        (
            "30-eps-a.yaml",
            endpoint_slice("svc-a", echo_a.http_addr.port()),
        ),
        ("40-route-a.yaml", route("route-a", &parents, "/a", "svc-a")),
    ])
    .await;
    let started = Instant::now();
    w.add_proxy("envoy-bad-docs", "gw-bad", port, false);
    w.converge(
        "initial configuration",
        started,
        STARTUP,
        &[("/a", Expect::Backend("echo-a"))],
    )
    .await;
    assert_eq!(w.sluice_metric("sluice_load_errors_total").await, 0.0);

    // One broken document between two good ones.
    let broken = "apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: route-broken, namespace: e2e }
spec:
  parentRefs: [{ name: gw-bad }]
  rules: 42
";
    let mixed = [
        route("route-x", &parents, "/x", "svc-a"),
        broken.to_string(),
        route("route-y", &parents, "/y", "svc-a"),
    ]
    .join("---\n");
    let t = w.write("50-mixed.yaml", &mixed);
    w.converge(
        "good documents beside a broken one",
        t,
        CONVERGE,
        &[
            ("/x", Expect::Backend("echo-a")),
            ("/y", Expect::Backend("echo-a")),
            ("/a", Expect::Backend("echo-a")),
        ],
    )
    .await;
    let errors = w.sluice_metric("sluice_load_errors_total").await;
    assert!(
        errors > 0.0,
        "sluice_load_errors_total is {errors} after a broken document\n{}",
        w.diagnostics()
    );

    // A half-saved file (a YAML syntax error) keeps what the file defined before.
    w.write("40-route-a.yaml", "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: { name: route-a, namespace: e2e\n");
    let waited = Instant::now();
    while w.sluice_metric("sluice_load_errors_total").await <= errors {
        assert!(
            waited.elapsed() < CONVERGE,
            "a YAML syntax error was not counted\n{}",
            w.diagnostics()
        );
        tokio::time::sleep(POLL).await;
    }
    for path in ["/a", "/x", "/y"] {
        let r = w.proxies[0].get(path).await;
        check(path, Expect::Backend("echo-a"), &r)
            .unwrap_or_else(|e| panic!("after a half-saved file: {e}\n{}", w.diagnostics()));
    }
    assert_eq!(
        common::http_get(w.admin_port, "localhost", "/readyz", REQUEST_TIMEOUT)
            .await
            .map(|r| r.status),
        Ok(200)
    );

    // Fix both files.
    let fixed = [
        route("route-x", &parents, "/x", "svc-a"),
        route("route-broken", &parents, "/z", "svc-a"),
        route("route-y", &parents, "/y", "svc-a"),
    ]
    .join("---\n");
    w.write(
        "40-route-a.yaml",
        &route("route-a", &parents, "/a2", "svc-a"),
    );
    let t = w.write("50-mixed.yaml", &fixed);
    w.converge(
        "fixed documents",
        t,
        CONVERGE,
        &[
            ("/z", Expect::Backend("echo-a")),
            ("/a2", Expect::Backend("echo-a")),
            ("/a", Expect::Status(404)),
            ("/x", Expect::Backend("echo-a")),
        ],
    )
    .await;
    w.assert_nothing_rejected("at the end").await;
    drop(echo_a);
}

// ---- no request fails while configuration changes (make-before-break on every path) ----

/// Sends `path` to `port` back to back (a 1 ms pause) until stopped; returns every distinct
/// answer with its count.
struct Poller {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<BTreeMap<String, u64>>,
}

impl Poller {
    fn start(port: u16, path: &'static str) -> Poller {
        let stop = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn({
            let stop = stop.clone();
            async move {
                let mut seen = BTreeMap::new();
                while !stop.load(Ordering::Relaxed) {
                    let r = common::http_get(port, HOST, path, REQUEST_TIMEOUT).await;
                    *seen.entry(outcome(&r)).or_insert(0) += 1;
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                seen
            }
        });
        Poller { stop, task }
    }

    /// Stops polling; fails unless every answer was one of `allowed` (prefixes of
    /// [`outcome`]'s summaries).
    async fn finish(self, what: &str, proxy: &str, allowed: &[&str]) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        let seen = self.task.await.expect("poller");
        let bad: Vec<_> = seen
            .iter()
            .filter(|(o, _)| !allowed.iter().any(|a| o.starts_with(a)))
            .collect();
        assert!(
            bad.is_empty(),
            "{what}: {proxy} answered {bad:?} (allowed: {allowed:?}; all answers: {seen:?})"
        );
        seen.values().sum()
    }
}

fn gateway_file(name: &str, port: u16) -> String {
    gateways(&[(name, port)])
}

/// A change under traffic: what it is, the files it writes, the answers it ends with and
/// every answer allowed on the way.
type Scenario<'a> = (
    &'a str,
    Vec<(&'a str, String)>,
    Vec<(&'a str, Expect)>,
    Vec<&'a str>,
);

/// Issue 21: a new Gateway's first route (its stream's first cluster), a route to a Service
/// that has no endpoints yet, a backend flip and the deletion of a route, each while both
/// proxies (SotW and Delta) are polled every millisecond: every answer must be the old state's
/// or the new state's, never a 503 from a cluster still warming (`NC`), a reset or a timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_request_fails_while_configuration_changes() {
    const RUNS: usize = 20;
    let echo_a = echo_backend("echo-a").await;
    let echo_b = echo_backend("echo-b").await;
    let mut w = World::start(&[
        ("00-class.yaml", gateway_class()),
        ("20-svc-a.yaml", service("svc-a")),
        ("21-svc-b.yaml", service("svc-b")),
        (
            "30-eps-a.yaml",
            endpoint_slice("svc-a", echo_a.http_addr.port()),
        ),
        (
            "31-eps-b.yaml",
            endpoint_slice("svc-b", echo_b.http_addr.port()),
        ),
    ])
    .await;
    let mut polled = 0;
    for run in 0..RUNS {
        // Two new Gateways without routes, a fresh proxy (and stream) for each.
        let [port_sotw, port_delta] = common::free_ports(2)[..] else {
            unreachable!()
        };
        let (gw_s, gw_d) = (format!("gw-{run}-sotw"), format!("gw-{run}-delta"));
        w.write("10-gw-sotw.yaml", &gateway_file(&gw_s, port_sotw));
        w.write("11-gw-delta.yaml", &gateway_file(&gw_d, port_delta));
        let started = Instant::now();
        w.add_proxy("envoy-sotw", &gw_s, port_sotw, false);
        w.add_proxy("envoy-delta", &gw_d, port_delta, true);
        w.converge(
            &format!("run {run}: new Gateways, no route"),
            started,
            STARTUP,
            &[("/first", Expect::Status(404))],
        )
        .await;
        let pollers: Vec<Poller> = w
            .proxies
            .iter()
            .map(|p| Poller::start(p.port, "/first"))
            .collect();
        let parents = [gw_s.as_str(), gw_d.as_str()];
        let t = w.write(
            "40-first.yaml",
            &route("first", &parents, "/first", "svc-a"),
        );
        w.converge(
            &format!("run {run}: first route"),
            t,
            CONVERGE,
            &[("/first", Expect::Backend("echo-a"))],
        )
        .await;
        tokio::time::sleep(Duration::from_millis(20)).await;
        for (poller, p) in pollers.into_iter().zip(&w.proxies) {
            polled += poller
                .finish("first route", p.name, &["404 ", "200 from echo-a"])
                .await;
        }
        if run + 1 < RUNS {
            w.remove("40-first.yaml");
            for mut p in std::mem::take(&mut w.proxies) {
                p.proc.kill();
            }
        }
    }
    w.assert_nothing_rejected("after the first routes").await;

    // The proxies of the last run stay. A route to a Service without endpoints answers 503
    // "no healthy upstream" (an empty CLA: the cluster warmed), never NC; the endpoints
    // arriving make it 200.
    let parents: Vec<String> = w
        .proxies
        .iter()
        .map(|p| format!("gw-{}-{}", RUNS - 1, &p.name[6..]))
        .collect();
    let parents: Vec<&str> = parents.iter().map(String::as_str).collect();
    let scenarios: Vec<Scenario> = vec![
        (
            "a route to a Service without endpoints",
            vec![
                ("22-svc-c.yaml", service("svc-c")),
                ("40-first.yaml", route("first", &parents, "/first", "svc-c")),
            ],
            vec![("/first", Expect::Status(503))],
            vec!["200 from echo-a", "503 \"no healthy upstream\""],
        ),
        (
            "its endpoints arrive",
            vec![(
                "32-eps-c.yaml",
                endpoint_slice("svc-c", echo_b.http_addr.port()),
            )],
            vec![("/first", Expect::Backend("echo-b"))],
            vec!["503 \"no healthy upstream\"", "200 from echo-b"],
        ),
        (
            "backend flip to svc-a",
            vec![("40-first.yaml", route("first", &parents, "/first", "svc-a"))],
            vec![("/first", Expect::Backend("echo-a"))],
            vec!["200 from echo-b", "200 from echo-a"],
        ),
    ];
    for (what, files, expects, allowed) in scenarios {
        let pollers: Vec<Poller> = w
            .proxies
            .iter()
            .map(|p| Poller::start(p.port, "/first"))
            .collect();
        for (name, text) in &files {
            w.write(name, text);
        }
        // Not `converge`: the old or new state here may be a 503 without healthy upstream.
        for (path, expect) in &expects {
            until(&w, what, path, |r| {
                check(path, *expect, &Ok(r.clone())).is_ok()
            })
            .await;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        for (poller, p) in pollers.into_iter().zip(&w.proxies) {
            polled += poller.finish(what, p.name, &allowed).await;
        }
    }
    // Deleting the routes: 200 until 404, and the clusters go after the routes.
    let pollers: Vec<Poller> = w
        .proxies
        .iter()
        .map(|p| Poller::start(p.port, "/first"))
        .collect();
    let t = w.remove("40-first.yaml");
    w.converge(
        "routes deleted",
        t,
        CONVERGE,
        &[("/first", Expect::Status(404))],
    )
    .await;
    for (poller, p) in pollers.into_iter().zip(&w.proxies) {
        polled += poller
            .finish("routes deleted", p.name, &["200 from echo-a", "404 "])
            .await;
    }
    w.assert_nothing_rejected("at the end").await;
    println!(
        "e2e: {RUNS} first routes and 4 changes in SotW and Delta: {polled} requests, none failed"
    );
    drop((echo_a, echo_b));
}

// ---- TrafficPolicies change what Envoy does: the tests in `e2e_envoy/policies.rs` ----

#[path = "e2e_envoy/listeners.rs"]
mod listeners;
#[path = "e2e_envoy/policies.rs"]
mod policies;

fn traffic_policy(name: &str, targets: &str, body: &str) -> String {
    format!(
        "apiVersion: gateway.kgateway.dev/v1alpha1
kind: TrafficPolicy
metadata: {{ name: {name}, namespace: {NS} }}
spec:
  targetRefs: {targets}
{body}"
    )
}

fn route_target(route: &str) -> String {
    format!("[{{ group: gateway.networking.k8s.io, kind: HTTPRoute, name: {route} }}]")
}

/// Polls every proxy until `ok` holds for its answer to `path`; fails with the last answer.
async fn until(w: &World, what: &str, path: &str, ok: impl Fn(&HttpResponse) -> bool) {
    let started = Instant::now();
    for p in &w.proxies {
        loop {
            let r = p.get(path).await;
            if matches!(&r, Ok(resp) if ok(resp)) {
                break;
            }
            assert!(
                started.elapsed() < CONVERGE,
                "{what}: {} answered {path} with {}\n{}",
                p.name,
                r.as_ref()
                    .map(|r| format!("{} {}", r.status, short(&r.body)))
                    .unwrap_or_else(|e| e.clone()),
                w.diagnostics()
            );
            tokio::time::sleep(POLL).await;
        }
    }
    println!("e2e: {what}: {} ms", started.elapsed().as_millis());
}

/// What the echo backend saw: `(path, header value)`.
fn saw(r: &HttpResponse, header: &str) -> (String, Option<String>) {
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap_or_default();
    let path = v["path"].as_str().unwrap_or_default().to_string();
    let value = v["headers"][header][0].as_str().map(str::to_string);
    (path, value)
}
