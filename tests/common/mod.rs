//! Helpers shared by the binary's integration tests: translating files through the libraries
//! with either engine, cutting one Gateway's resources out of a snapshot, finding Envoy.

#![allow(dead_code)] // each test binary uses a subset

pub mod xds;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use sluice_dataflow::input::{InputEvent, Record};
use sluice_dataflow::ir::{ActionIr, DiscoveryIr, Resource, XdsType};
use sluice_dataflow::output::Snapshot;
use sluice_dataflow::render::RenderConfig;
use sluice_dataflow::worker::{Engine, Topology};
use sluice_proptests::oracle;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn conformance_dir() -> PathBuf {
    root().join("../shared/conformance")
}

/// Loads and lowers `paths`; panics on load errors unless `allow_errors`.
pub fn records(paths: &[PathBuf], allow_errors: bool) -> Vec<Record> {
    let loaded = sluice_ingest::load::load_paths(paths);
    assert!(
        allow_errors || loaded.errors.is_empty(),
        "load errors: {:#?}",
        loaded.errors
    );
    let (records, problems) = sluice_ingest::records::lower_objects(&loaded.objects);
    assert!(
        allow_errors || problems.is_empty(),
        "lower problems: {problems:#?}"
    );
    records
}

pub fn dataflow(records: &[Record], workers: usize) -> Snapshot {
    let mut engine =
        Engine::start(Topology::Process(workers), RenderConfig::default()).expect("engine");
    let batch = engine
        .apply(records.iter().cloned().map(InputEvent::Upsert).collect())
        .expect("apply");
    let mut s = Snapshot::default();
    s.apply(&batch);
    s
}

pub fn naive(records: &[Record]) -> Snapshot {
    oracle::translate(records, &oracle::Config::default())
}

/// The resources a proxy of Gateway `ns/name` needs: its listeners, their route
/// configurations, the clusters those route to, and the EDS clusters' endpoints.
pub fn gateway_view(s: &Snapshot, ns: &str, name: &str) -> Snapshot {
    let prefix = format!("{ns}/{name}/");
    let mut out = Snapshot::default();
    let mut rcs = BTreeSet::new();
    let mut clusters = BTreeSet::new();
    for (k, r) in &s.resources {
        if let Resource::Listener(l) = r
            && l.name.starts_with(&prefix)
        {
            rcs.extend(l.filter_chains.iter().map(|c| c.route_config_name.clone()));
            out.resources.insert(k.clone(), r.clone());
        }
    }
    for (k, r) in &s.resources {
        if let Resource::Route(rc) = r
            && rcs.contains(&rc.name)
        {
            for route in rc.virtual_hosts.iter().flat_map(|v| &v.routes) {
                if let ActionIr::Forward(f) = &route.action {
                    clusters.extend(f.clusters.iter().map(|c| c.cluster.clone()));
                    clusters.extend(f.mirrors.iter().map(|m| m.cluster.clone()));
                }
            }
            out.resources.insert(k.clone(), r.clone());
        }
    }
    for (k, r) in &s.resources {
        match r {
            Resource::Cluster(c) if clusters.contains(&c.name) => {
                out.resources.insert(k.clone(), r.clone());
                if c.discovery == DiscoveryIr::Eds {
                    let ek = sluice_dataflow::ir::XdsKey {
                        ty: XdsType::Endpoint,
                        name: c.name.clone(),
                    };
                    if let Some(e) = s.resources.get(&ek) {
                        out.resources.insert(ek, e.clone());
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// The Envoy binary: `$SLUICE_ENVOY`, else the one `scripts/install-envoy.sh` installs.
pub fn envoy() -> PathBuf {
    if let Ok(p) = std::env::var("SLUICE_ENVOY") {
        return PathBuf::from(p);
    }
    let lib = root().join(".venv/lib");
    if let Ok(entries) = std::fs::read_dir(&lib) {
        for e in entries.flatten() {
            let p = e.path().join("site-packages/envoy/_bin/envoy");
            if p.is_file() {
                return p;
            }
        }
    }
    panic!("no Envoy binary: run scripts/install-envoy.sh (or set SLUICE_ENVOY)");
}

/// Runs `envoy --mode validate` on a static bootstrap of `snapshot`; returns Envoy's output on
/// failure.
pub fn envoy_validate(snapshot: &Snapshot, dir: &Path, name: &str) -> Result<(), String> {
    let bootstrap = sluice_emit::bootstrap::static_bootstrap(snapshot, 0);
    let file = dir.join(format!("{name}.json"));
    std::fs::write(&file, serde_json::to_vec_pretty(&bootstrap).unwrap()).unwrap();
    let out = std::process::Command::new(envoy())
        .args(["--mode", "validate", "-l", "error", "-c"])
        .arg(&file)
        .output()
        .expect("run envoy");
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

// ---- Processes, ports and a small HTTP client, for the end-to-end tests ----

/// `n` distinct free TCP ports on 127.0.0.1 (all bound at once, then released).
pub fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<std::net::TcpListener> = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().expect("local_addr").port())
        .collect()
}

/// A child process with its stdout and stderr in a log file, killed when dropped.
pub struct Proc {
    pub name: String,
    pub log: PathBuf,
    child: std::process::Child,
}

impl Proc {
    /// Spawns `cmd` with stdout and stderr appended to `log`.
    pub fn spawn(name: &str, cmd: &mut std::process::Command, log: PathBuf) -> Proc {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap_or_else(|e| panic!("{name}: open {}: {e}", log.display()));
        let child = cmd
            .stdin(std::process::Stdio::null())
            .stdout(file.try_clone().expect("clone log file"))
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("{name}: spawn {cmd:?}: {e}"));
        Proc {
            name: name.to_string(),
            log,
            child,
        }
    }

    /// `Some(status)` if the process has exited.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Asks the process to stop (SIGTERM), as Kubernetes stops a Pod.
    pub fn terminate(&self) {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM {}", self.child.id());
    }

    /// Kills the process (SIGKILL) and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The last `lines` lines of the log, headed by the process's name.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        let tail = &all[all.len().saturating_sub(lines)..];
        format!(
            "---- {} ({}), last {} lines ----\n{}\n",
            self.name,
            self.log.display(),
            tail.len(),
            tail.join("\n")
        )
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The state directory (xDS CA) every `sluice serve` and `sluice bootstrap` of this test
/// process shares, under cargo's per-target temporary directory.
pub fn state_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("sluice-state-{}", std::process::id()))
}

/// Starts `sluice serve --from dir` (the test's own build of the binary), logging at
/// `$SLUICE_TEST_RUST_LOG` (default `info`).
pub fn sluice_serve(dir: &Path, xds_port: u16, admin_port: u16, log: PathBuf) -> Proc {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"));
    cmd.arg("serve")
        .arg("--state-dir")
        .arg(state_dir())
        .arg("--from")
        .arg(dir)
        .arg("--xds-addr")
        .arg(format!("127.0.0.1:{xds_port}"))
        .arg("--admin-addr")
        .arg(format!("127.0.0.1:{admin_port}"))
        .env("NO_COLOR", "1")
        .env(
            "RUST_LOG",
            std::env::var("SLUICE_TEST_RUST_LOG").unwrap_or_else(|_| "info".into()),
        );
    Proc::spawn("sluice serve", &mut cmd, log)
}

/// Writes the bootstrap `sluice bootstrap` prints for `gateway` to `path`.
pub fn sluice_bootstrap(path: &Path, gateway: &str, xds_port: u16, delta: bool, admin_port: u16) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"));
    cmd.args(["bootstrap", "--gateway", gateway])
        .arg("--state-dir")
        .arg(state_dir())
        .arg("--xds")
        .arg(format!("127.0.0.1:{xds_port}"))
        .arg("--admin-port")
        .arg(admin_port.to_string());
    if delta {
        cmd.arg("--delta");
    }
    let out = cmd.output().expect("run sluice bootstrap");
    assert!(
        out.status.success(),
        "sluice bootstrap failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(path, &out.stdout).expect("write bootstrap");
}

/// Starts Envoy on `bootstrap`, without hot restart and with a base id of its own, so that
/// several can run at once. `$SLUICE_TEST_ENVOY_LOG` sets component log levels
/// (`config:debug,upstream:debug`).
pub fn envoy_run(name: &str, bootstrap: &Path, log: PathBuf) -> Proc {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let base_id = (std::process::id() % 100_000) * 100
        + NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 100;
    let mut cmd = std::process::Command::new(envoy());
    cmd.arg("-c")
        .arg(bootstrap)
        .args(["--disable-hot-restart", "--concurrency", "1", "-l", "info"])
        .args(["--base-id", &base_id.to_string()])
        .args(["--drain-time-s", "1"]);
    if let Ok(levels) = std::env::var("SLUICE_TEST_ENVOY_LOG") {
        // e.g. `config:debug,upstream:debug`
        cmd.args(["--component-log-level", &levels]);
    }
    Proc::spawn(name, &mut cmd, log)
}

/// An HTTP response, as `http_get` read it.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    /// Names lowercased, in order.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpResponse {
    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A one-shot HTTP/1.1 GET (`Connection: close`) over a fresh connection, bounded by
/// `timeout` as a whole. The response ends where its framing says (Content-Length or the last
/// chunk), not at EOF: Envoy holds a closing connection open for its `delayed_close_timeout`
/// (1 s) after a local reply.
pub async fn http_get(
    port: u16,
    host: &str,
    path: &str,
    timeout: std::time::Duration,
) -> Result<HttpResponse, String> {
    http_request(port, "GET", host, path, &[], timeout).await
}

/// As [`http_get`], with another method and more request headers (no body).
pub async fn http_request(
    port: u16,
    method: &str,
    host: &str,
    path: &str,
    headers: &[(&str, &str)],
    timeout: std::time::Duration,
) -> Result<HttpResponse, String> {
    http_request_with_body(port, (method, host, path), headers, &[], timeout).await
}

/// As [`http_request`], sending `body`.
pub async fn http_request_with_body(
    port: u16,
    (method, host, path): (&str, &str, &str),
    headers: &[(&str, &str)],
    body: &[u8],
    timeout: std::time::Duration,
) -> Result<HttpResponse, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let extra: String = headers
            .iter()
            .map(|(k, v)| format!("{k}: {v}\r\n"))
            .collect();
        let length = body.len();
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {host}\r\n{extra}Content-Length: {length}\r\nConnection: close\r\n\r\n"
        )
        .into_bytes();
        request.extend_from_slice(body);
        stream
            .write_all(&request)
            .await
            .map_err(|e| format!("write: {e}"))?;
        let mut raw = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            let n = stream
                .read(&mut buf)
                .await
                .map_err(|e| format!("read: {e}"))?;
            raw.extend_from_slice(&buf[..n]);
            if let Some(response) = parse_http_response(&raw, n == 0)? {
                return Ok::<_, String>(response);
            }
        }
    };
    match tokio::time::timeout(timeout, exchange).await {
        Ok(r) => r.map_err(|e| format!("GET 127.0.0.1:{port}{path}: {e}")),
        Err(_) => Err(format!(
            "GET 127.0.0.1:{port}{path}: timed out after {timeout:?}"
        )),
    }
}

/// The response in `raw` if it is complete (`None`: read on); `eof`: nothing more will come.
fn parse_http_response(raw: &[u8], eof: bool) -> Result<Option<HttpResponse>, String> {
    let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return if eof {
            Err(format!(
                "connection closed after {} bytes, before the end of the headers",
                raw.len()
            ))
        } else {
            Ok(None)
        };
    };
    let head = String::from_utf8_lossy(&raw[..split]);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let mut chunked = false;
    let mut length = None;
    let mut headers = Vec::new();
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
        headers.push((name.clone(), value.to_string()));
        if name == "transfer-encoding" && value.to_ascii_lowercase().contains("chunked") {
            chunked = true;
        } else if name == "content-length" {
            length = Some(
                value
                    .parse::<usize>()
                    .map_err(|e| format!("bad content-length {value:?}: {e}"))?,
            );
        }
    }
    let data = &raw[split + 4..];
    let body = if chunked {
        dechunk(data)?
    } else if let Some(n) = length {
        (data.len() >= n).then(|| data[..n].to_vec())
    } else {
        eof.then(|| data.to_vec())
    };
    match body {
        Some(body) => Ok(Some(HttpResponse {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        })),
        None if eof => Err(format!(
            "connection closed in the body of a {status} response"
        )),
        None => Ok(None),
    }
}

/// The decoded body, or `None` if the last chunk has not arrived yet.
fn dechunk(mut data: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = data.windows(2).position(|w| w == b"\r\n") else {
            return Ok(None);
        };
        let size_text = String::from_utf8_lossy(&data[..eol]);
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|e| format!("bad chunk size {size_text:?}: {e}"))?;
        data = &data[eol + 2..];
        if size == 0 {
            return Ok(Some(out));
        }
        if data.len() < size + 2 {
            return Ok(None);
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// Envoy's admin `/stats?filter=RE` as name → value (counters and gauges; histograms are
/// left out).
pub async fn envoy_stats(
    admin_port: u16,
    filter: &str,
) -> Result<std::collections::BTreeMap<String, u64>, String> {
    let r = http_get(
        admin_port,
        "localhost",
        &format!("/stats?filter={filter}"),
        std::time::Duration::from_secs(5),
    )
    .await?;
    if r.status != 200 {
        return Err(format!("/stats: status {}: {}", r.status, r.body));
    }
    Ok(r.body
        .lines()
        .filter_map(|l| {
            let (name, value) = l.split_once(": ")?;
            Some((name.to_string(), value.trim().parse::<u64>().ok()?))
        })
        .collect())
}

/// The value of the Prometheus sample `name` (labels included, as rendered) in `text`.
pub fn prometheus_value(text: &str, name: &str) -> Option<f64> {
    text.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
        let (n, v) = l.split_once(' ')?;
        (n == name).then(|| v.trim().parse().ok())?
    })
}

/// Polls sluice's `/readyz` until it answers 200 (panics with sluice's log if it exits or
/// `timeout` passes).
pub async fn wait_sluice_ready(sluice: &mut Proc, admin_port: u16, timeout: std::time::Duration) {
    let started = std::time::Instant::now();
    loop {
        if let Some(status) = sluice.exited() {
            panic!(
                "sluice exited ({status}) before ready\n{}",
                sluice.log_tail(60)
            );
        }
        let r = http_get(
            admin_port,
            "localhost",
            "/readyz",
            std::time::Duration::from_secs(2),
        )
        .await;
        if matches!(&r, Ok(r) if r.status == 200) {
            return;
        }
        assert!(
            started.elapsed() < timeout,
            "sluice not ready after {timeout:?} (last /readyz: {r:?})\n{}",
            sluice.log_tail(60)
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
