//! Runs the HTTPRoute conformance tests of `cases.json` against the real thing: one
//! `sluice serve` per xDS mode, one Envoy per Gateway the requests go to (each on its own
//! loopback address, through `sluice bootstrap --bind-address`), and an echo backend per
//! Deployment of the manifests.
//!
//! Per mode, per test:
//! 1. the base manifests and the test's (with `{GATEWAY_CLASS_NAME}` → `sluice`), a GatewayClass
//!    `sluice`, EndpointSlices pointing each selected Service at its Deployment's echo backend,
//!    the TLS Secrets the Gateways reference and nobody defines, and a marker GatewayClass
//!    `sluice-conformance-epoch-N` are written as one file, renamed into the directory sluice
//!    watches (one epoch);
//! 2. once the marker's status shows on `/debug/xds`, sluice has compiled and published that
//!    state; each case is then tried until it passes [`PASSES`] times in a row, retrying a
//!    failure until [`SETTLE_BUDGET`] after the change — never longer;
//! 3. status cases read the statuses of `/debug/xds`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::cases::{self, Case, CaseKind, Condition, NsName, Protocol, Request, Test};
use crate::certs::{self, Certificate};
use crate::echo::{self, EchoConfig, EchoHandle};
use crate::judge::{self, Response, Sent, split_host_port};

/// Consecutive passes a request case needs.
pub const PASSES: usize = 3;
/// How long after a configuration change failures are retried.
pub const SETTLE_BUDGET: Duration = Duration::from_secs(10);
/// How long sluice may take to show a change on `/debug/xds`.
const APPLY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a process may take to become ready.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// One request's time limit.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Between a failed attempt and the next.
const RETRY_PAUSE: Duration = Duration::from_millis(200);
/// After sluice shows a change, before the first attempt (Envoy applies it meanwhile).
const PROPAGATION: Duration = Duration::from_millis(300);

const CLASS_NAME: &str = "sluice";
pub(crate) const CONTROLLER: &str = "sluice.dev/gateway-controller";
const MARKER_PREFIX: &str = "sluice-conformance-epoch-";

/// The xDS variant the proxies use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mode {
    Sotw,
    Delta,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Sotw => "sotw",
            Mode::Delta => "delta",
        }
    }
}

/// What to run, with what.
#[derive(Clone, Debug)]
pub struct Options {
    /// `cases.json`.
    pub cases: PathBuf,
    /// The directory holding `conformance/base/` and `conformance/tests/`.
    pub manifests: PathBuf,
    /// Only these tests (all when empty).
    pub tests: Vec<String>,
    pub modes: Vec<Mode>,
    /// The `sluice` binary.
    pub sluice: PathBuf,
    /// The `envoy` binary.
    pub envoy: PathBuf,
    /// Where to put manifests, bootstraps and logs (default: a fresh temporary directory,
    /// removed afterwards unless a case failed).
    pub work_dir: Option<PathBuf>,
    /// Print each test's outcome to stderr as it finishes.
    pub progress: bool,
}

impl Options {
    /// The defaults relative to this workspace: `../shared/conformance`, the `sluice` binary
    /// next to the running executable, and the Envoy `scripts/install-envoy.sh` installs (or
    /// `$SLUICE_ENVOY`).
    pub fn defaults() -> Options {
        let shared = workspace_root().join("../shared/conformance");
        Options {
            cases: shared.join("cases.json"),
            manifests: shared,
            tests: Vec::new(),
            modes: vec![Mode::Sotw, Mode::Delta],
            sluice: std::env::current_exe()
                .ok()
                .and_then(|p| p.parent().map(|d| d.join("sluice")))
                .unwrap_or_else(|| PathBuf::from("sluice")),
            envoy: default_envoy(),
            work_dir: None,
            progress: false,
        }
    }
}

/// The workspace: the first of the one this crate was built in, an ancestor of the running
/// executable (`target/<profile>/…`), and the working directory that has
/// `../shared/conformance/cases.json` beside it (else the first).
pub fn workspace_root() -> PathBuf {
    let built = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf);
    let exe = std::env::current_exe().ok();
    let from_exe = exe
        .iter()
        .flat_map(|e| e.ancestors().skip(1))
        .find(|d| d.join("Cargo.toml").is_file() && d.join("conformance/Cargo.toml").is_file());
    let candidates: Vec<PathBuf> = built
        .clone()
        .into_iter()
        .chain(from_exe.map(Path::to_path_buf))
        .chain(std::env::current_dir().ok())
        .collect();
    candidates
        .iter()
        .find(|d| d.join("../shared/conformance/cases.json").is_file())
        .or(candidates.first())
        .cloned()
        .unwrap_or_else(|| PathBuf::from("."))
}

/// `$SLUICE_ENVOY`, else the Envoy of `scripts/install-envoy.sh` (`.venv/lib/python3*/
/// site-packages/envoy/_bin/envoy`), else `envoy` on the PATH.
pub fn default_envoy() -> PathBuf {
    if let Ok(p) = std::env::var("SLUICE_ENVOY") {
        return PathBuf::from(p);
    }
    let lib = workspace_root().join(".venv/lib");
    if let Ok(entries) = std::fs::read_dir(&lib) {
        for e in entries.flatten() {
            let p = e.path().join("site-packages/envoy/_bin/envoy");
            if p.is_file() {
                return p;
            }
        }
    }
    PathBuf::from("envoy")
}

/// How a case ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail(String),
    Skip(String),
}

#[derive(Clone, Debug)]
pub struct CaseReport {
    pub name: String,
    pub verdict: Verdict,
}

#[derive(Clone, Debug)]
pub struct TestReport {
    pub name: String,
    pub support_level: String,
    pub cases: Vec<CaseReport>,
    pub elapsed: Duration,
}

impl TestReport {
    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for case in &self.cases {
            c.add(&case.verdict);
        }
        c
    }

    /// The first failing case and its reason.
    pub fn first_failure(&self) -> Option<(&str, &str)> {
        self.cases.iter().find_map(|c| match &c.verdict {
            Verdict::Fail(why) => Some((c.name.as_str(), why.as_str())),
            _ => None,
        })
    }
}

/// Cases passed, failed and skipped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
}

impl Counts {
    fn add(&mut self, v: &Verdict) {
        match v {
            Verdict::Pass => self.passed += 1,
            Verdict::Fail(_) => self.failed += 1,
            Verdict::Skip(_) => self.skipped += 1,
        }
    }

    pub fn plus(self, o: Counts) -> Counts {
        Counts {
            passed: self.passed + o.passed,
            failed: self.failed + o.failed,
            skipped: self.skipped + o.skipped,
        }
    }
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} passed, {} failed, {} skipped",
            self.passed, self.failed, self.skipped
        )
    }
}

#[derive(Clone, Debug)]
pub struct ModeReport {
    pub mode: Mode,
    pub tests: Vec<TestReport>,
}

impl ModeReport {
    pub fn counts(&self) -> Counts {
        self.tests
            .iter()
            .fold(Counts::default(), |a, t| a.plus(t.counts()))
    }

    /// `(test, case, reason)` of every failed case.
    pub fn failures(&self) -> Vec<(String, String, String)> {
        self.tests
            .iter()
            .flat_map(|t| {
                t.cases.iter().filter_map(|c| match &c.verdict {
                    Verdict::Fail(why) => Some((t.name.clone(), c.name.clone(), why.clone())),
                    _ => None,
                })
            })
            .collect()
    }
}

#[derive(Clone, Debug)]
pub struct Report {
    pub modes: Vec<ModeReport>,
    /// Where the manifests and logs are (kept when a case failed).
    pub work_dir: PathBuf,
    pub kept: bool,
}

impl Report {
    pub fn counts(&self) -> Counts {
        self.modes
            .iter()
            .fold(Counts::default(), |a, m| a.plus(m.counts()))
    }
}

/// Runs the selected tests in every selected mode.
pub fn run(opts: &Options) -> anyhow::Result<Report> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(run_async(opts))
}

async fn run_async(opts: &Options) -> anyhow::Result<Report> {
    let mut tests = cases::load(&opts.cases)?;
    if !opts.tests.is_empty() {
        for name in &opts.tests {
            if !tests.iter().any(|t| &t.name == name) {
                bail!("no test named {name} in {}", opts.cases.display());
            }
        }
        tests.retain(|t| opts.tests.contains(&t.name));
    }
    for bin in [&opts.sluice, &opts.envoy] {
        if bin.components().count() > 1 && !bin.is_file() {
            bail!("{} does not exist", bin.display());
        }
    }
    let (work_dir, temporary) = match &opts.work_dir {
        Some(d) => (d.clone(), false),
        None => {
            let d = std::env::temp_dir().join(format!(
                "sluice-conformance-{}-{:x}",
                std::process::id(),
                Rng::seeded().next() & 0xffff_ffff
            ));
            (d, true)
        }
    };
    std::fs::create_dir_all(&work_dir)
        .with_context(|| format!("creating {}", work_dir.display()))?;

    let mut manifests = Manifests::default();
    for test in &tests {
        let docs = load_docs(&opts.manifests, &test.yaml_files)
            .with_context(|| format!("manifests of {}", test.name))?;
        manifests.per_test.insert(test.name.clone(), docs);
    }
    let backends = Backends::start(manifests.per_test.values().flatten()).await?;
    let mut world = World {
        backends,
        certificates: BTreeMap::new(),
        rng: Rng::seeded(),
    };

    let mut modes = Vec::new();
    let mut octet = 16 + (world.rng.next() % 200) as u8;
    for &mode in &opts.modes {
        let dir = work_dir.join(mode.name());
        std::fs::create_dir_all(&dir)?;
        let report = run_mode(opts, mode, &dir, octet, &tests, &manifests, &mut world).await?;
        modes.push(report);
        octet = octet.wrapping_add(1).max(16);
    }
    world.backends.stop().await;
    let failed = modes.iter().any(|m| m.counts().failed > 0);
    let kept = !temporary || failed;
    if !kept {
        let _ = std::fs::remove_dir_all(&work_dir);
    }
    Ok(Report {
        modes,
        work_dir,
        kept,
    })
}

/// Parsed manifests of each test (base included), `{GATEWAY_CLASS_NAME}` substituted.
#[derive(Default)]
struct Manifests {
    per_test: BTreeMap<String, Vec<Value>>,
}

fn load_docs(root: &Path, files: &[String]) -> anyhow::Result<Vec<Value>> {
    let mut docs = Vec::new();
    for f in files {
        let path = root.join(f);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?
            .replace("{GATEWAY_CLASS_NAME}", CLASS_NAME);
        for doc in serde_yaml_ng::Deserializer::from_str(&text) {
            let v =
                Value::deserialize(doc).with_context(|| format!("parsing {}", path.display()))?;
            if v.is_object() {
                docs.push(v);
            }
        }
    }
    Ok(docs)
}

pub(crate) fn kind(doc: &Value) -> &str {
    doc["kind"].as_str().unwrap_or("")
}

pub(crate) fn meta(doc: &Value) -> NsName {
    NsName::new(
        doc["metadata"]["namespace"].as_str().unwrap_or("default"),
        doc["metadata"]["name"].as_str().unwrap_or(""),
    )
}

/// Everything that lives for the whole run.
pub(crate) struct World {
    pub(crate) backends: Backends,
    /// Generated TLS Secrets.
    pub(crate) certificates: BTreeMap<NsName, Certificate>,
    pub(crate) rng: Rng,
}

/// One echo backend per Deployment ("pod" `{deployment}-{random}`).
pub(crate) struct Backends {
    /// Deployment → (pod labels, backend).
    pods: BTreeMap<NsName, (BTreeMap<String, String>, EchoHandle)>,
}

impl Backends {
    pub(crate) async fn start<'a>(
        docs: impl Iterator<Item = &'a Value>,
    ) -> anyhow::Result<Backends> {
        let mut rng = Rng::seeded();
        let mut pods = BTreeMap::new();
        for d in docs.filter(|d| kind(d) == "Deployment") {
            let id = meta(d);
            if pods.contains_key(&id) {
                continue;
            }
            let labels = labels(&d["spec"]["template"]["metadata"]["labels"]);
            let pod = format!(
                "{}-{:08x}-{:05x}",
                id.name,
                rng.next() & 0xffff_ffff,
                rng.next() & 0xfffff
            );
            let handle = echo::spawn(EchoConfig {
                namespace: id.namespace.clone(),
                pod,
                service: id.name.clone(),
                http_port: 0,
                h2c_port: Some(0),
            })
            .await
            .with_context(|| format!("starting the echo backend of {id}"))?;
            pods.insert(id, (labels, handle));
        }
        Ok(Backends { pods })
    }

    /// The backend of the Deployment whose pods `selector` selects, in `namespace`.
    fn selected(
        &self,
        namespace: &str,
        selector: &BTreeMap<String, String>,
    ) -> Option<&EchoHandle> {
        if selector.is_empty() {
            return None;
        }
        self.pods.iter().find_map(|(id, (labels, handle))| {
            (id.namespace == namespace && selector.iter().all(|(k, v)| labels.get(k) == Some(v)))
                .then_some(handle)
        })
    }

    pub(crate) async fn stop(self) {
        for (_, (_, handle)) in self.pods {
            handle.shutdown().await;
        }
    }
}

pub(crate) fn labels(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .map(|o| {
            o.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// A small non-cryptographic generator (splitmix64) for pod names, uuids and addresses.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn seeded() -> Rng {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        Rng(nanos ^ (u64::from(std::process::id()) << 32))
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// A child process, killed when dropped.
pub(crate) struct Proc {
    name: String,
    child: Child,
}

impl Proc {
    pub(crate) fn spawn(name: &str, cmd: &mut Command, log: &Path) -> anyhow::Result<Proc> {
        let file =
            std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file)
            .spawn()
            .with_context(|| format!("starting {name}"))?;
        Ok(Proc {
            name: name.to_string(),
            child,
        })
    }

    pub(crate) fn check_alive(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!("{} exited: {status}", self.name);
        }
        Ok(())
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `n` free TCP ports on 127.0.0.1.
pub(crate) fn free_ports(n: usize) -> anyhow::Result<Vec<u16>> {
    let listeners = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(listeners
        .iter()
        .filter_map(|l| l.local_addr().ok().map(|a| a.port()))
        .collect())
}

/// One `sluice serve` and the proxies of one mode.
pub(crate) struct Mesh<'a> {
    pub(crate) opts: &'a Options,
    pub(crate) mode: Mode,
    pub(crate) dir: &'a Path,
    pub(crate) watched: PathBuf,
    pub(crate) staging: PathBuf,
    pub(crate) sluice: Proc,
    pub(crate) xds_port: u16,
    pub(crate) admin_port: u16,
    pub(crate) octet: u8,
    /// The last host number of `127.0.{octet}.N` handed out.
    pub(crate) next_host: u8,
    pub(crate) envoys: BTreeMap<NsName, Envoy>,
    pub(crate) epoch: u64,
}

pub(crate) struct Envoy {
    pub(crate) proc: Proc,
    pub(crate) ip: Ipv4Addr,
    /// Its stdout and stderr.
    pub(crate) log: PathBuf,
}

async fn run_mode(
    opts: &Options,
    mode: Mode,
    dir: &Path,
    octet: u8,
    tests: &[Test],
    manifests: &Manifests,
    world: &mut World,
) -> anyhow::Result<ModeReport> {
    let watched = dir.join("manifests");
    let staging = dir.join("staging");
    std::fs::create_dir_all(&watched)?;
    std::fs::create_dir_all(&staging)?;
    let ports = free_ports(2)?;
    let (xds_port, admin_port) = (ports[0], ports[1]);
    let sluice = Proc::spawn(
        "sluice serve",
        Command::new(&opts.sluice)
            .arg("serve")
            .arg("--state-dir")
            .arg(dir.join("state"))
            .arg("--from")
            .arg(&watched)
            .arg("--xds-addr")
            .arg(format!("127.0.0.1:{xds_port}"))
            .arg("--admin-addr")
            .arg(format!("127.0.0.1:{admin_port}"))
            .env(
                "RUST_LOG",
                std::env::var("SLUICE_CONFORMANCE_LOG").unwrap_or_else(|_| "info".into()),
            ),
        &dir.join("sluice.log"),
    )?;
    let mut mesh = Mesh {
        opts,
        mode,
        dir,
        watched,
        staging,
        sluice,
        xds_port,
        admin_port,
        octet,
        next_host: 0,
        envoys: BTreeMap::new(),
        epoch: 0,
    };
    mesh.wait_ready().await?;
    let mut reports = Vec::new();
    for test in tests {
        let started = Instant::now();
        let docs = &manifests.per_test[&test.name];
        let cases = mesh.run_test(test, docs, world).await;
        let report = TestReport {
            name: test.name.clone(),
            support_level: test.support_level.clone(),
            cases,
            elapsed: started.elapsed(),
        };
        if opts.progress {
            let c = report.counts();
            let mut err = std::io::stderr().lock();
            let _ = writeln!(
                err,
                "[{}] {:<48} {c} ({:.1}s)",
                mode.name(),
                test.name,
                report.elapsed.as_secs_f64()
            );
            for case in &report.cases {
                if let Verdict::Fail(why) = &case.verdict {
                    let _ = writeln!(err, "    FAIL {}: {why}", case.name);
                }
            }
        }
        reports.push(report);
    }
    Ok(ModeReport {
        mode,
        tests: reports,
    })
}

impl Mesh<'_> {
    pub(crate) async fn wait_ready(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            self.sluice.check_alive()?;
            if let Ok(r) = get(self.admin_port, "/readyz").await
                && r.status == 200
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("sluice serve not ready within {START_TIMEOUT:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Runs one test; any setup error fails its runnable cases.
    async fn run_test(
        &mut self,
        test: &Test,
        docs: &[Value],
        world: &mut World,
    ) -> Vec<CaseReport> {
        let mut docs = docs.to_vec();
        let mut out = Vec::new();
        // Proxies first, so that starting them does not eat into the settle budget.
        let mut setup: Result<(), String> = Ok(());
        for gw in needed_gateways(test) {
            if let Err(e) = self.ensure_envoy(&gw).await {
                setup = Err(format!("starting the proxy of {gw}: {e:#}"));
                break;
            }
        }
        let mut settled = Instant::now();
        if setup.is_ok() {
            setup = self.apply(&docs, world).await.map_err(|e| format!("{e:#}"));
            settled = Instant::now();
        }
        let mut statuses: Option<Vec<Value>> = None;
        for case in &test.cases {
            let verdict = if let Err(e) = &setup {
                Verdict::Fail(e.clone())
            } else if let Some(expr) = &case.unresolved {
                Verdict::Skip(format!("unresolved expression {expr}"))
            } else {
                if !case.delete_before.is_empty() {
                    docs.retain(|d| {
                        !case
                            .delete_before
                            .iter()
                            .any(|del| kind(d) == del.kind && meta(d) == del.object)
                    });
                    if let Err(e) = self.apply(&docs, world).await {
                        setup = Err(format!("{e:#}"));
                        out.push(CaseReport {
                            name: case.name.clone(),
                            verdict: Verdict::Fail(format!("{e:#}")),
                        });
                        continue;
                    }
                    settled = Instant::now();
                    statuses = None;
                }
                let deadline = settled + SETTLE_BUDGET;
                self.run_case(test, case, &docs, world, deadline, &mut statuses)
                    .await
            };
            out.push(CaseReport {
                name: case.name.clone(),
                verdict,
            });
        }
        out
    }

    async fn run_case(
        &mut self,
        test: &Test,
        case: &Case,
        docs: &[Value],
        world: &World,
        deadline: Instant,
        statuses: &mut Option<Vec<Value>>,
    ) -> Verdict {
        if let CaseKind::Status { condition, count } = &case.kind {
            loop {
                if statuses.is_none() {
                    match get(self.admin_port, "/debug/xds").await {
                        Ok(r) if r.status == 200 => {
                            let doc: Value = serde_json::from_slice(&r.body).unwrap_or_default();
                            *statuses = doc["statuses"].as_array().cloned();
                        }
                        Ok(r) => return Verdict::Fail(format!("/debug/xds answered {}", r.status)),
                        Err(e) => return Verdict::Fail(format!("/debug/xds: {e}")),
                    }
                }
                let found = check_condition(
                    statuses.as_deref().unwrap_or_default(),
                    test,
                    condition,
                    *count,
                );
                match found {
                    Ok(()) => return Verdict::Pass,
                    Err(e) if Instant::now() >= deadline => return Verdict::Fail(e),
                    Err(_) => {
                        *statuses = None;
                        tokio::time::sleep(RETRY_PAUSE).await;
                    }
                }
            }
        }
        let Some(gateway) = case.gateway.as_ref().or(test.gateway.as_ref()) else {
            return Verdict::Skip("unresolved expression: no Gateway to send to".into());
        };
        let Some(envoy) = self.envoys.get(gateway) else {
            return Verdict::Fail(format!("no proxy for {gateway}"));
        };
        let ctx = Ctx {
            ip: envoy.ip,
            listeners: gateway_listeners(docs, gateway),
            tls: world.certificates.values().map(|c| c.der.clone()).collect(),
        };
        let passes_needed = match case.kind {
            CaseKind::Distribution { .. } => 1,
            _ => PASSES,
        };
        let mut passes = 0;
        let mut rng = Rng::seeded();
        loop {
            let result = match &case.kind {
                CaseKind::Http { request, expect } => {
                    match ctx.send(request, &request.path).await {
                        Ok((resp, host, scheme)) => {
                            let sent = Sent {
                                request,
                                host: &host,
                                scheme,
                            };
                            judge::judge(&sent, expect, &resp)
                        }
                        Err(e) => Err(e),
                    }
                }
                CaseKind::Retry {
                    path,
                    succeed_after,
                    response_code,
                    want,
                } => {
                    let uuid = format!("{:016x}{:016x}", rng.next(), rng.next());
                    let path = format!(
                        "{path}?uuid={uuid}&succeedAfter={succeed_after}&responseCode={response_code}"
                    );
                    let request = Request {
                        path: path.clone(),
                        method: "GET".into(),
                        ..Default::default()
                    };
                    match ctx.send(&request, &path).await {
                        Ok((resp, _, _)) if resp.status == *want => Ok(()),
                        Ok((resp, _, _)) => Err(format!("status {} (want {want})", resp.status)),
                        Err(e) => Err(e),
                    }
                }
                CaseKind::Distribution {
                    path,
                    requests,
                    expected,
                    tolerance,
                } => {
                    ctx.distribution(path, *requests, expected, *tolerance)
                        .await
                }
                CaseKind::Status { .. } => unreachable!("handled above"),
            };
            match result {
                Ok(()) => {
                    passes += 1;
                    if passes >= passes_needed {
                        return Verdict::Pass;
                    }
                }
                Err(e) => {
                    passes = 0;
                    if Instant::now() >= deadline {
                        return Verdict::Fail(e);
                    }
                    tokio::time::sleep(RETRY_PAUSE).await;
                }
            }
        }
    }

    /// Writes `docs` (plus what the runner adds) as the watched directory's only file and
    /// waits until sluice shows it.
    pub(crate) async fn apply(&mut self, docs: &[Value], world: &mut World) -> anyhow::Result<()> {
        self.epoch += 1;
        let marker = format!("{MARKER_PREFIX}{}", self.epoch);
        let mut all: Vec<Value> = Vec::with_capacity(docs.len() + 16);
        all.push(gateway_class(CLASS_NAME));
        all.extend(docs.iter().cloned());
        all.extend(endpoint_slices(docs, &world.backends));
        all.extend(secrets(docs, &mut world.certificates)?);
        all.push(gateway_class(&marker));
        let mut text = String::new();
        for d in &all {
            text.push_str("---\n");
            text.push_str(&serde_yaml_ng::to_string(d)?);
        }
        let staged = self.staging.join("conformance.yaml");
        std::fs::write(&staged, &text)?;
        std::fs::rename(&staged, self.watched.join("conformance.yaml"))?;
        let deadline = Instant::now() + APPLY_TIMEOUT;
        loop {
            self.sluice.check_alive()?;
            if let Ok(r) = get(self.admin_port, "/debug/xds").await
                && r.status == 200
                && let Ok(doc) = serde_json::from_slice::<Value>(&r.body)
                && doc["statuses"].as_array().is_some_and(|s| {
                    s.iter()
                        .any(|s| s["kind"] == "GatewayClass" && s["name"] == marker.as_str())
                })
            {
                break;
            }
            if Instant::now() > deadline {
                bail!("sluice did not apply the manifests within {APPLY_TIMEOUT:?}");
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        for envoy in self.envoys.values_mut() {
            envoy.proc.check_alive()?;
        }
        tokio::time::sleep(PROPAGATION).await;
        Ok(())
    }

    /// The next `127.0.{octet}.N` on which nobody listens on 80 or 443 (another run, say).
    fn free_address(&mut self) -> anyhow::Result<Ipv4Addr> {
        loop {
            self.next_host = self.next_host.saturating_add(1);
            if self.next_host == u8::MAX {
                bail!("no free address left in 127.0.{}.0/24", self.octet);
            }
            let ip = Ipv4Addr::new(127, 0, self.octet, self.next_host);
            let probe = [80, 443].map(|port| std::net::TcpListener::bind((ip, port)));
            match probe.iter().find_map(|p| p.as_ref().err()) {
                None => return Ok(ip),
                Some(e) if e.kind() == std::io::ErrorKind::PermissionDenied => bail!(
                    "cannot listen on {ip}:80 ({e}): the proxies need ports 80 and 443 \
                     (run as root, or lower net.ipv4.ip_unprivileged_port_start)"
                ),
                Some(_) => continue,
            }
        }
    }

    /// Starts the proxy of `gw` unless it runs.
    pub(crate) async fn ensure_envoy(&mut self, gw: &NsName) -> anyhow::Result<()> {
        if let Some(e) = self.envoys.get_mut(gw) {
            return e.proc.check_alive();
        }
        let ip = self.free_address()?;
        let admin = free_ports(1)?[0];
        let tag = format!("{}-{}-{}", self.mode.name(), gw.namespace, gw.name);
        let mut cmd = Command::new(&self.opts.sluice);
        cmd.arg("bootstrap")
            .arg("--state-dir")
            .arg(self.dir.join("state"))
            .arg("--gateway")
            .arg(gw.to_string())
            .arg("--xds")
            .arg(format!("127.0.0.1:{}", self.xds_port))
            .arg("--admin-port")
            .arg(admin.to_string())
            .arg("--node-id")
            .arg(format!("conformance-{tag}"))
            .arg("--bind-address")
            .arg(ip.to_string());
        if self.mode == Mode::Delta {
            cmd.arg("--delta");
        }
        let out = cmd.output().context("running sluice bootstrap")?;
        if !out.status.success() {
            bail!(
                "sluice bootstrap failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let bootstrap = self.dir.join(format!("envoy-{tag}.json"));
        std::fs::write(&bootstrap, &out.stdout)?;
        let log = self.dir.join(format!("envoy-{tag}.log"));
        let proc = Proc::spawn(
            &format!("envoy for {gw}"),
            Command::new(&self.opts.envoy)
                .arg("-c")
                .arg(&bootstrap)
                .args(["--concurrency", "1", "--disable-hot-restart"])
                .args(["--log-level", "warning", "--drain-time-s", "1"]),
            &log,
        )?;
        let mut envoy = Envoy { proc, ip, log };
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            envoy.proc.check_alive()?;
            if let Ok(r) = get(admin, "/ready").await
                && r.status == 200
            {
                break;
            }
            if Instant::now() > deadline {
                bail!("envoy for {gw} not ready within {START_TIMEOUT:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.envoys.insert(gw.clone(), envoy);
        Ok(())
    }
}

/// The Gateways a test's requests go to.
fn needed_gateways(test: &Test) -> BTreeSet<NsName> {
    test.cases
        .iter()
        .filter(|c| c.unresolved.is_none() && !matches!(c.kind, CaseKind::Status { .. }))
        .filter_map(|c| c.gateway.clone().or_else(|| test.gateway.clone()))
        .collect()
}

pub(crate) fn gateway_class(name: &str) -> Value {
    json!({
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "GatewayClass",
        "metadata": {"name": name},
        "spec": {"controllerName": CONTROLLER},
    })
}

/// For each Service whose selector picks a Deployment's pods: an EndpointSlice pointing at
/// that Deployment's echo backend (its h2c port for `kubernetes.io/h2c` ports).
fn endpoint_slices(docs: &[Value], backends: &Backends) -> Vec<Value> {
    let mut out = Vec::new();
    for svc in docs.iter().filter(|d| kind(d) == "Service") {
        let id = meta(svc);
        let selector = labels(&svc["spec"]["selector"]);
        let Some(backend) = backends.selected(&id.namespace, &selector) else {
            continue;
        };
        let ports: Vec<Value> = svc["spec"]["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["protocol"].as_str().is_none_or(|p| p == "TCP"))
            .map(|p| {
                let h2c = p["appProtocol"] == "kubernetes.io/h2c";
                let port = match (h2c, backend.h2c_addr) {
                    (true, Some(a)) => a.port(),
                    _ => backend.http_addr.port(),
                };
                let mut port = json!({
                    "name": p["name"].as_str().unwrap_or(""),
                    "port": port,
                    "protocol": "TCP",
                });
                if let Some(ap) = p["appProtocol"].as_str() {
                    port["appProtocol"] = json!(ap);
                }
                port
            })
            .collect();
        if ports.is_empty() {
            continue;
        }
        out.push(json!({
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "name": format!("{}-conformance", id.name),
                "namespace": id.namespace,
                "labels": {"kubernetes.io/service-name": id.name},
            },
            "addressType": "IPv4",
            "endpoints": [{"addresses": ["127.0.0.1"], "conditions": {"ready": true}}],
            "ports": ports,
        }));
    }
    out
}

/// `kubernetes.io/tls` Secrets for the certificate references of the Gateways in `docs` that
/// no document defines, generated once per run.
fn secrets(docs: &[Value], made: &mut BTreeMap<NsName, Certificate>) -> anyhow::Result<Vec<Value>> {
    let defined: BTreeSet<NsName> = docs
        .iter()
        .filter(|d| kind(d) == "Secret")
        .map(meta)
        .collect();
    let mut wanted: BTreeMap<NsName, BTreeSet<String>> = BTreeMap::new();
    for gw in docs.iter().filter(|d| kind(d) == "Gateway") {
        let gw_ns = meta(gw).namespace;
        for l in gw["spec"]["listeners"].as_array().into_iter().flatten() {
            for r in l["tls"]["certificateRefs"].as_array().into_iter().flatten() {
                let is_secret = r["kind"].as_str().is_none_or(|k| k == "Secret")
                    && r["group"].as_str().is_none_or(str::is_empty);
                let Some(name) = r["name"].as_str().filter(|_| is_secret) else {
                    continue;
                };
                let ns = r["namespace"].as_str().unwrap_or(&gw_ns);
                let hosts = wanted.entry(NsName::new(ns, name)).or_default();
                if let Some(h) = l["hostname"].as_str() {
                    hosts.insert(h.to_string());
                }
            }
        }
    }
    let mut out = Vec::new();
    for (id, hosts) in wanted {
        if defined.contains(&id) {
            continue;
        }
        if !made.contains_key(&id) {
            let mut hosts: Vec<String> = hosts.into_iter().collect();
            hosts.insert(0, "example.org".to_string());
            made.insert(id.clone(), certs::self_signed(&hosts)?);
        }
        out.push(certs::tls_secret(&id.namespace, &id.name, &made[&id]));
    }
    Ok(out)
}

/// A listener of a Gateway: port, protocol, hostname.
#[derive(Clone, Debug)]
struct ListenerInfo {
    port: u16,
    protocol: String,
}

fn gateway_listeners(docs: &[Value], gw: &NsName) -> Vec<ListenerInfo> {
    docs.iter()
        .filter(|d| kind(d) == "Gateway" && meta(d) == *gw)
        .flat_map(|d| {
            d["spec"]["listeners"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|l| {
            Some(ListenerInfo {
                port: u16::try_from(l["port"].as_u64()?).ok()?,
                protocol: l["protocol"].as_str().unwrap_or("HTTP").to_string(),
            })
        })
        .collect()
}

/// Where and how requests of one case go.
struct Ctx {
    ip: Ipv4Addr,
    listeners: Vec<ListenerInfo>,
    tls: Vec<Vec<u8>>,
}

impl Ctx {
    /// The port and whether it is TLS: the port the Host names if the Gateway listens there;
    /// else an HTTPS listener for an `https`, SNI or HTTP/2-over-TLS request, or a Gateway with no HTTP
    /// listener; else the first HTTP listener.
    fn target(&self, request: &Request) -> (u16, bool) {
        let is_tls = |l: &ListenerInfo| l.protocol.eq_ignore_ascii_case("HTTPS");
        if let (_, Some(port)) = split_host_port(&request.host)
            && let Ok(port) = port.parse::<u16>()
            && let Some(l) = self.listeners.iter().find(|l| l.port == port)
        {
            return (port, is_tls(l));
        }
        let https = self.listeners.iter().find(|l| is_tls(l));
        let http = self
            .listeners
            .iter()
            .find(|l| l.protocol.eq_ignore_ascii_case("HTTP"));
        let wants_tls = request.tls || request.sni.is_some() || request.protocol == Protocol::H2;
        match (http, https) {
            (_, Some(l)) if wants_tls => (l.port, true),
            (Some(l), _) => (l.port, false),
            (None, Some(l)) => (l.port, true),
            (None, None) => (80, false),
        }
    }

    /// Sends `request` (to `path`); returns the response, the Host sent and the scheme.
    async fn send(
        &self,
        request: &Request,
        path: &str,
    ) -> Result<(Response, String, &'static str), String> {
        let (port, tls) = self.target(request);
        let host = if request.host.is_empty() {
            self.ip.to_string()
        } else {
            request.host.clone()
        };
        let sni = request
            .sni
            .clone()
            .unwrap_or_else(|| split_host_port(&host).0.to_string());
        let mut headers = request.headers.clone();
        if !request.echo_set_headers.is_empty() {
            let value: Vec<String> = request
                .echo_set_headers
                .iter()
                .map(|(k, v)| format!("{k}:{v}"))
                .collect();
            headers.push(("X-Echo-Set-Header".into(), value.join(",")));
        }
        let out = Outgoing {
            addr: SocketAddr::new(IpAddr::V4(self.ip), port),
            tls: tls.then(|| (sni, self.tls.clone())),
            protocol: request.protocol,
            method: request.method.clone(),
            host: host.clone(),
            path: path.to_string(),
            headers,
        };
        let resp = tokio::time::timeout(REQUEST_TIMEOUT, out.send())
            .await
            .map_err(|_| format!("no response within {REQUEST_TIMEOUT:?}"))??;
        Ok((resp, host, if tls { "https" } else { "http" }))
    }

    /// `requests` requests, 10 at a time; each backend's share must be its expected one.
    async fn distribution(
        &self,
        path: &str,
        requests: usize,
        expected: &[(String, f64)],
        tolerance: f64,
    ) -> Result<(), String> {
        let request = Request {
            path: path.to_string(),
            method: "GET".into(),
            ..Default::default()
        };
        let (port, tls) = self.target(&request);
        if tls {
            return Err("a distribution over TLS is not supported".into());
        }
        let template = Arc::new(Outgoing {
            addr: SocketAddr::new(IpAddr::V4(self.ip), port),
            tls: None,
            protocol: Protocol::Http1,
            method: "GET".into(),
            host: self.ip.to_string(),
            path: path.to_string(),
            headers: Vec::new(),
        });
        let mut tasks = tokio::task::JoinSet::new();
        let workers = 10;
        for w in 0..workers {
            let template = template.clone();
            let n = requests / workers + usize::from(w < requests % workers);
            tasks.spawn(async move {
                let mut pods = Vec::with_capacity(n);
                for _ in 0..n {
                    let r = tokio::time::timeout(REQUEST_TIMEOUT, template.send())
                        .await
                        .map_err(|_| "a request timed out".to_string())??;
                    if r.status != 200 {
                        return Err(format!("status {}", r.status));
                    }
                    let echo = judge::Echo::parse(&r.body)
                        .ok_or_else(|| "a 200 not from an echo backend".to_string())?;
                    pods.push(echo.pod);
                }
                Ok::<_, String>(pods)
            });
        }
        let mut pods = Vec::with_capacity(requests);
        while let Some(r) = tasks.join_next().await {
            pods.extend(r.map_err(|e| e.to_string())??);
        }
        let total = pods.len() as f64;
        let mut problems = Vec::new();
        let mut shares = Vec::new();
        for (svc, want) in expected {
            let got = pods.iter().filter(|p| p.starts_with(svc.as_str())).count() as f64 / total;
            shares.push(format!("{svc} {got:.3} (want {want:.2})"));
            if (got - want).abs() > tolerance {
                problems.push(svc.clone());
            }
        }
        let stray = pods
            .iter()
            .filter(|p| !expected.iter().any(|(s, _)| p.starts_with(s.as_str())))
            .count();
        if problems.is_empty() && stray == 0 {
            Ok(())
        } else {
            Err(format!(
                "shares out of ±{tolerance}: {}{}",
                shares.join(", "),
                if stray > 0 {
                    format!("; {stray} answered by other backends")
                } else {
                    String::new()
                }
            ))
        }
    }
}

/// A request on a fresh connection.
pub(crate) struct Outgoing {
    pub(crate) addr: SocketAddr,
    /// Server name and the certificates to trust, for TLS.
    pub(crate) tls: Option<(String, Vec<Vec<u8>>)>,
    pub(crate) protocol: Protocol,
    pub(crate) method: String,
    pub(crate) host: String,
    pub(crate) path: String,
    pub(crate) headers: Vec<(String, String)>,
}

impl Outgoing {
    pub(crate) async fn send(&self) -> Result<Response, String> {
        let tcp = TcpStream::connect(self.addr)
            .await
            .map_err(|e| format!("connecting to {}: {e}", self.addr))?;
        let _ = tcp.set_nodelay(true);
        match &self.tls {
            None => {
                let h2 = self.protocol != Protocol::Http1;
                self.exchange(tcp, h2, "http").await
            }
            Some((sni, trusted)) => {
                let h2 = self.protocol == Protocol::H2;
                let alpn: &[&[u8]] = if h2 { &[b"h2"] } else { &[b"http/1.1"] };
                let config = Arc::new(certs::client_config(trusted.clone(), alpn));
                let name = rustls::pki_types::ServerName::try_from(sni.clone())
                    .map_err(|e| format!("server name {sni:?}: {e}"))?;
                let stream = tokio_rustls::TlsConnector::from(config)
                    .connect(name, tcp)
                    .await
                    .map_err(|e| format!("TLS handshake (SNI {sni}): {e}"))?;
                if h2 && stream.get_ref().1.alpn_protocol() != Some(b"h2") {
                    return Err(format!("the listener did not negotiate h2 (SNI {sni})"));
                }
                self.exchange(stream, h2, "https").await
            }
        }
    }

    async fn exchange<S>(&self, io: S, h2: bool, scheme: &str) -> Result<Response, String>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let uri = if h2 {
            format!("{scheme}://{}{}", self.host, self.path)
        } else {
            self.path.clone()
        };
        let mut builder = hyper::Request::builder()
            .method(self.method.as_str())
            .uri(uri.as_str());
        if !h2 {
            builder = builder.header(hyper::header::HOST, self.host.as_str());
        }
        for (k, v) in &self.headers {
            builder = builder.header(k.as_str(), v.as_str());
        }
        let req = builder
            .body(Full::new(Bytes::new()))
            .map_err(|e| format!("building the request: {e}"))?;
        let io = TokioIo::new(io);
        let resp = if h2 {
            let (mut sender, conn) =
                hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
                    .await
                    .map_err(|e| format!("HTTP/2 handshake: {e}"))?;
            tokio::spawn(conn);
            sender
                .send_request(req)
                .await
                .map_err(|e| format!("HTTP/2 request: {e}"))?
        } else {
            let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
                .await
                .map_err(|e| format!("HTTP/1.1 handshake: {e}"))?;
            tokio::spawn(conn);
            sender
                .send_request(req)
                .await
                .map_err(|e| format!("HTTP/1.1 request: {e}"))?
        };
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("reading the body: {e}"))?
            .to_bytes()
            .to_vec();
        Ok(Response {
            status,
            headers,
            body,
        })
    }
}

/// `GET http://127.0.0.1:{port}{path}`.
pub(crate) async fn get(port: u16, path: &str) -> Result<Response, String> {
    let out = Outgoing {
        addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port),
        tls: None,
        protocol: Protocol::Http1,
        method: "GET".into(),
        host: format!("127.0.0.1:{port}"),
        path: path.to_string(),
        headers: Vec::new(),
    };
    tokio::time::timeout(REQUEST_TIMEOUT, out.send())
        .await
        .map_err(|_| "timed out".to_string())?
}

/// The conditions of each parent of an HTTPRoute's status.
fn route_parents<'a>(statuses: &'a [Value], route: &NsName) -> Vec<(NsName, &'a [Value])> {
    statuses
        .iter()
        .filter(|s| {
            s["kind"] == "HTTPRoute"
                && s["namespace"] == route.namespace.as_str()
                && s["name"] == route.name.as_str()
        })
        .flat_map(|s| s["status"]["parents"].as_array().into_iter().flatten())
        .map(|p| {
            let r = &p["parentRef"];
            (
                NsName::new(
                    r["namespace"].as_str().unwrap_or(""),
                    r["name"].as_str().unwrap_or(""),
                ),
                p["conditions"].as_array().map(Vec::as_slice).unwrap_or(&[]),
            )
        })
        .collect()
}

fn has_condition(conditions: &[Value], c: &Condition) -> bool {
    conditions.iter().any(|x| {
        x["type"] == c.type_.as_str()
            && x["status"] == c.status.as_str()
            && (c.reason.is_empty() || x["reason"] == c.reason.as_str())
    })
}

/// `cases.json` lists asserted conditions without their routes: a `True` one asserted `count`
/// times must hold on at least `count` of the test's routes (on any parent); another on the
/// test's route (`routeNN`) for the test's Gateway.
fn check_condition(
    statuses: &[Value],
    test: &Test,
    condition: &Condition,
    count: usize,
) -> Result<(), String> {
    if condition.status == "True" {
        let holding = test
            .routes
            .iter()
            .filter(|r| {
                route_parents(statuses, r)
                    .iter()
                    .any(|(_, cs)| has_condition(cs, condition))
            })
            .count();
        if holding >= count {
            return Ok(());
        }
        return Err(format!(
            "{condition} holds on {holding} of the test's routes, want {count}"
        ));
    }
    let Some(route) = test.route.as_ref() else {
        return Err("the test names no route".into());
    };
    let parents = route_parents(statuses, route);
    let relevant: Vec<&(NsName, &[Value])> = parents
        .iter()
        .filter(|(gw, _)| test.gateway.as_ref().is_none_or(|g| g == gw))
        .collect();
    if relevant.iter().any(|(_, cs)| has_condition(cs, condition)) {
        return Ok(());
    }
    let seen: Vec<String> = relevant
        .iter()
        .flat_map(|(_, cs)| cs.iter())
        .map(|c| {
            format!(
                "{}={}/{}",
                c["type"].as_str().unwrap_or(""),
                c["status"].as_str().unwrap_or(""),
                c["reason"].as_str().unwrap_or("")
            )
        })
        .collect();
    Err(format!(
        "{route} has no {condition} for {}: has [{}]",
        test.gateway
            .as_ref()
            .map_or_else(|| "any Gateway".to_string(), ToString::to_string),
        seen.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        let ctx = Ctx {
            ip: Ipv4Addr::new(127, 0, 0, 2),
            listeners: vec![
                ListenerInfo {
                    port: 80,
                    protocol: "HTTP".into(),
                },
                ListenerInfo {
                    port: 8080,
                    protocol: "HTTP".into(),
                },
                ListenerInfo {
                    port: 443,
                    protocol: "HTTPS".into(),
                },
            ],
            tls: Vec::new(),
        };
        let req = |host: &str, sni: Option<&str>| Request {
            host: host.into(),
            sni: sni.map(str::to_string),
            ..Default::default()
        };
        assert_eq!(ctx.target(&req("foo.com", None)), (80, false));
        assert_eq!(ctx.target(&req("foo.com:8080", None)), (8080, false));
        assert_eq!(ctx.target(&req("foo.com:1234", None)), (80, false));
        assert_eq!(ctx.target(&req("foo.com", Some("foo.com"))), (443, true));
    }

    #[test]
    fn slices_follow_selectors() {
        let docs = vec![
            json!({"kind": "Service", "metadata": {"name": "a", "namespace": "ns"},
                   "spec": {"selector": {"app": "a"}, "ports": [
                       {"name": "http", "port": 8080, "targetPort": 3000},
                       {"name": "h2c", "port": 8081, "appProtocol": "kubernetes.io/h2c"},
                       {"name": "dns", "port": 53, "protocol": "UDP"}]}}),
            json!({"kind": "Service", "metadata": {"name": "manual", "namespace": "ns"},
                   "spec": {"ports": [{"port": 8080}]}}),
        ];
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let deployment = json!({"kind": "Deployment", "metadata": {"name": "a", "namespace": "ns"},
                "spec": {"template": {"metadata": {"labels": {"app": "a"}}}}});
            let backends = Backends::start([deployment].iter()).await.unwrap();
            let slices = endpoint_slices(&docs, &backends);
            assert_eq!(slices.len(), 1);
            let (_, handle) = &backends.pods[&NsName::new("ns", "a")];
            let ports = slices[0]["ports"].as_array().unwrap();
            assert_eq!(ports.len(), 2);
            assert_eq!(ports[0]["port"], handle.http_addr.port());
            assert_eq!(ports[1]["port"], handle.h2c_addr.unwrap().port());
            assert_eq!(
                slices[0]["metadata"]["labels"]["kubernetes.io/service-name"],
                "a"
            );
            backends.stop().await;
        });
    }

    #[test]
    fn conditions() {
        let statuses = vec![json!({
            "kind": "HTTPRoute", "namespace": "ns", "name": "r",
            "status": {"parents": [{"parentRef": {"namespace": "ns", "name": "gw"},
                "conditions": [{"type": "Accepted", "status": "False", "reason": "NotAllowedByListeners"}]}]}
        })];
        let test = Test {
            name: "t".into(),
            support_level: "core".into(),
            yaml_files: Vec::new(),
            gateway: Some(NsName::new("ns", "gw")),
            route: Some(NsName::new("ns", "r")),
            routes: vec![NsName::new("ns", "r")],
            cases: Vec::new(),
        };
        let c = Condition {
            type_: "Accepted".into(),
            status: "False".into(),
            reason: "NotAllowedByListeners".into(),
        };
        assert_eq!(check_condition(&statuses, &test, &c, 1), Ok(()));
        let t = Condition {
            status: "True".into(),
            reason: String::new(),
            ..c.clone()
        };
        assert!(check_condition(&statuses, &test, &t, 1).is_err());
    }
}
