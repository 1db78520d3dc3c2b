//! Runs kgateway's own end-to-end suite (`../shared/kgateway/e2e-cases.json`, upstream's
//! `test/e2e/features/*` as data) against `sluice serve` and real Envoy proxies.
//!
//! Per xDS mode (SotW, Delta), per case, in a directory of its own:
//! 1. the base manifests (`kgateway-base.yaml`, the shared Gateway without ListenerSets,
//!    `nginx_pod.yaml`), the case's `setup_manifests` and `manifests` (`$INSTALL_NAMESPACE` →
//!    [`Options::install_namespace`], objects without a namespace in `default`), a GatewayClass
//!    `kgateway` naming sluice's controller, and EndpointSlices pointing each Service that has
//!    workloads at its stand-in (`standin`) are written for a fresh `sluice serve --from`;
//! 2. one Envoy per Gateway the case's runnable requests name (`sluice bootstrap --gateway
//!    NS/NAME --bind-address 127.0.x.y [--delta]`), started before the manifests are applied;
//! 3. the steps run in order (`plan::plan` decides what runs): `http` steps are sent and
//!    judged (`http`), `action` apply/delete steps rewrite the directory, everything else
//!    (status, Envoy admin, log and metric checks, patches) is skipped with its type as the
//!    reason. The first failing step ends the case.
//!
//! A case passes when every step that ran passed and at least one request step ran; it is
//! skipped when no request step could run (nothing is started then), and fails otherwise.
//!
//! The processes, addresses and the HTTP client are the Gateway API conformance runner's
//! ([`crate::runner`]'s `Mesh`, `Proc`, `Outgoing`); the report reuses its table
//! ([`crate::table`]), one row per feature.
//!
//! `min_gateway_api` is not enforced: the directory source has no CRDs, so experimental-channel
//! fields reach sluice whatever channel a cluster would have installed.

mod data;
mod http;
mod plan;
mod report;
mod standin;
pub mod translator;

pub use report::{CaseRun, ModeRun, Report, StepRun, render};

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::cases::NsName;
use crate::runner::{
    self, CONTROLLER, Mesh, Mode, Proc, Rng, Verdict, World, default_envoy, free_ports,
    workspace_root,
};
use data::{Case, CaseFile};
use plan::{Action, Plan, PlannedStep};
use standin::StandIns;

/// The features run by default: those that need no service outside this host.
pub const DEFAULT_FEATURES: &[&str] = &[
    "cors",
    "csrf",
    "header_modifiers",
    "auto_host_rewrite",
    "timeoutretry",
    "internalredirect",
    "rate_limit/local",
    "faultinjection",
    "rbac",
    "basicauth",
    "apikeyauth",
    "directresponse",
    "listener_policy",
    "accesslog",
    "websocket",
    "policyselector",
    "trafficpolicystatus",
    "path_matching",
    "basicrouting",
    "services/httproute",
];

/// What to run, with what.
#[derive(Clone, Debug)]
pub struct Options {
    /// `e2e-cases.json`; the manifests' paths are relative to its directory.
    pub cases: PathBuf,
    /// Features to run (`rate_limit` selects `rate_limit/*`; `all`: every feature); empty:
    /// [`DEFAULT_FEATURES`].
    pub features: Vec<String>,
    /// Only these cases (ids like `cors/TestX`, or test names), among the selected features.
    pub case_ids: Vec<String>,
    pub modes: Vec<Mode>,
    /// The `sluice` binary.
    pub sluice: PathBuf,
    /// The `envoy` binary.
    pub envoy: PathBuf,
    /// Where to put manifests, bootstraps and logs (default: a fresh temporary directory, in
    /// which only the failed cases' files are kept).
    pub work_dir: Option<PathBuf>,
    /// Print each case's outcome to stderr as it finishes.
    pub progress: bool,
    /// Cases run at once (each with its own sluice, proxies and stand-ins). Most of a case's
    /// time is spent waiting (a failing `eventually` step retries for 10 s), so 2 roughly
    /// halves a run even on 2 cores.
    pub jobs: usize,
    /// What `$INSTALL_NAMESPACE` stands for (upstream's install namespace).
    pub install_namespace: String,
}

impl Options {
    /// `../shared/kgateway/e2e-cases.json` of the workspace, the default features, both modes,
    /// the `sluice` binary next to the running executable and the Envoy the conformance runner
    /// would use.
    pub fn defaults() -> Options {
        Options {
            cases: workspace_root().join("../shared/kgateway/e2e-cases.json"),
            features: Vec::new(),
            case_ids: Vec::new(),
            modes: vec![Mode::Sotw, Mode::Delta],
            sluice: std::env::current_exe()
                .ok()
                .and_then(|p| p.parent().map(|d| d.join("sluice")))
                .unwrap_or_else(|| PathBuf::from("sluice")),
            envoy: default_envoy(),
            work_dir: None,
            progress: false,
            jobs: 2,
            install_namespace: "kgateway-test".into(),
        }
    }
}

/// The cases of `file` that `opts` selects, in file order.
pub fn select<'a>(file: &'a [Case], opts: &Options) -> anyhow::Result<Vec<&'a Case>> {
    let features: Vec<String> = if opts.features.is_empty() {
        DEFAULT_FEATURES.iter().map(|f| f.to_string()).collect()
    } else {
        opts.features.clone()
    };
    let wanted = |f: &str| {
        features.iter().any(|w| {
            w == "all"
                || w == f
                || f.strip_prefix(w.as_str())
                    .is_some_and(|r| r.starts_with('/'))
        })
    };
    for w in &features {
        if w != "all"
            && !file
                .iter()
                .any(|c| c.feature == *w || c.feature.starts_with(&format!("{w}/")))
        {
            let known: BTreeSet<&str> = file.iter().map(|c| c.feature.as_str()).collect();
            bail!(
                "no feature {w:?}; known: {}",
                known.into_iter().collect::<Vec<_>>().join(", ")
            );
        }
    }
    let cases: Vec<&Case> = file
        .iter()
        .filter(|c| wanted(&c.feature))
        .filter(|c| {
            opts.case_ids.is_empty() || opts.case_ids.iter().any(|id| *id == c.id || id == c.name())
        })
        .collect();
    if cases.is_empty() {
        bail!("no case selected");
    }
    Ok(cases)
}

/// Runs the selected cases in every selected mode.
pub fn run(opts: &Options) -> anyhow::Result<Report> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(run_async(opts))
}

async fn run_async(opts: &Options) -> anyhow::Result<Report> {
    let file = Arc::new(CaseFile::load(&opts.cases)?);
    let cases: Vec<Case> = select(&file.cases, opts)?.into_iter().cloned().collect();
    for bin in [&opts.sluice, &opts.envoy] {
        if bin.components().count() > 1 && !bin.is_file() {
            bail!("{} does not exist", bin.display());
        }
    }
    let (work_dir, temporary) = match &opts.work_dir {
        Some(d) => (d.clone(), false),
        None => {
            let d = std::env::temp_dir().join(format!(
                "sluice-kgateway-e2e-{}-{:x}",
                std::process::id(),
                Rng::seeded().next() & 0xffff_ffff
            ));
            (d, true)
        }
    };
    std::fs::create_dir_all(&work_dir)
        .with_context(|| format!("creating {}", work_dir.display()))?;
    let root = opts
        .cases
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));

    // The conformance runner's options, for its Mesh: only the binaries matter.
    let mut conf = runner::Options::defaults();
    conf.sluice = opts.sluice.clone();
    conf.envoy = opts.envoy.clone();

    let jobs = opts.jobs.clamp(1, 8);
    let mut modes = Vec::new();
    let mut octet = 16 + (Rng::seeded().next() % 200) as u8;
    for &mode in &opts.modes {
        let dir = work_dir.join(mode.name());
        std::fs::create_dir_all(&dir)?;
        // `jobs` lanes, the cases dealt out in turn; each lane runs its cases one after the
        // other, on its own `127.0.{octet}.0/24`.
        let mut lanes: Vec<Vec<(usize, Case)>> = vec![Vec::new(); jobs];
        for (i, c) in cases.iter().enumerate() {
            lanes[i % jobs].push((i, c.clone()));
        }
        let mut tasks = tokio::task::JoinSet::new();
        for (lane, lane_cases) in lanes.into_iter().enumerate() {
            let lane_octet = octet.wrapping_add(lane as u8).max(16);
            let (opts, conf, file, root, dir) = (
                opts.clone(),
                conf.clone(),
                file.clone(),
                root.clone(),
                dir.clone(),
            );
            tasks.spawn(async move {
                let mut ctx = ModeCtx {
                    opts: &opts,
                    conf: &conf,
                    file: &file,
                    root: &root,
                    mode,
                    dir: &dir,
                    temporary,
                    world: World {
                        backends: runner::Backends::start(std::iter::empty()).await?,
                        certificates: BTreeMap::new(),
                        rng: Rng::seeded(),
                    },
                    octet: lane_octet,
                    octet_step: jobs as u8,
                    next_host: 0,
                };
                let mut runs = Vec::new();
                for (i, case) in lane_cases {
                    let run = ctx.run_case(&case).await;
                    if opts.progress {
                        progress(mode, &run);
                    }
                    runs.push((i, run));
                }
                anyhow::Ok(runs)
            });
        }
        let mut runs = Vec::with_capacity(cases.len());
        while let Some(r) = tasks.join_next().await {
            runs.extend(r.context("a lane of cases panicked")??);
        }
        runs.sort_by_key(|(i, _)| *i);
        octet = octet.wrapping_add(jobs as u8).max(16);
        modes.push(ModeRun {
            mode,
            cases: runs.into_iter().map(|(_, r)| r).collect(),
        });
    }
    let kept = std::fs::read_dir(&work_dir)
        .map(|mut d| {
            d.any(|m| {
                m.ok()
                    .and_then(|m| std::fs::read_dir(m.path()).ok())
                    .is_some_and(|mut d| d.next().is_some())
            })
        })
        .unwrap_or(false);
    if temporary && !kept {
        let _ = std::fs::remove_dir_all(&work_dir);
    }
    Ok(Report {
        modes,
        work_dir,
        kept,
    })
}

fn progress(mode: Mode, run: &CaseRun) {
    let mut err = std::io::stderr().lock();
    let v = match &run.verdict {
        Verdict::Pass => "PASS".to_string(),
        Verdict::Fail(why) => format!("FAIL {}", data::short(why, 160)),
        Verdict::Skip(why) => format!("SKIP {}", data::short(why, 120)),
    };
    let _ = writeln!(
        err,
        "[{}] {:<64} {v} ({:.1}s)",
        mode.name(),
        run.id,
        run.elapsed.as_secs_f64()
    );
}

/// What one mode's cases share.
struct ModeCtx<'a> {
    opts: &'a Options,
    conf: &'a runner::Options,
    file: &'a CaseFile,
    /// The directory the manifests' paths are relative to.
    root: &'a Path,
    mode: Mode,
    dir: &'a Path,
    /// Remove a case's directory unless it failed.
    temporary: bool,
    world: World,
    /// Proxies listen on `127.0.{octet}.N`, N counting up across cases; past 200, the next
    /// octet not another lane's (`octet + octet_step`).
    octet: u8,
    octet_step: u8,
    next_host: u8,
}

impl ModeCtx<'_> {
    async fn run_case(&mut self, case: &Case) -> CaseRun {
        let started = Instant::now();
        let mut planned = plan::plan(case);
        let mut files = self.file.base();
        files.extend(case.setup_manifests.iter().cloned());
        files.extend(case.manifests.iter().cloned());
        let docs = data::load_docs(self.root, &files, None, &self.opts.install_namespace);
        if let Ok(docs) = &docs
            && let Some(why) = plan::docs_blocker(docs)
        {
            for p in &mut planned {
                if matches!(p.plan, Plan::Http(_) | Plan::Logs(_) | Plan::WebSocket(_)) {
                    p.plan = Plan::Skip(why.clone());
                }
            }
        }
        let gateways: BTreeSet<NsName> = planned
            .iter()
            .filter_map(|p| match &p.plan {
                Plan::Http(h) => Some(h.request.gateway.clone()),
                Plan::Logs(l) => Some(l.gateway.clone()),
                Plan::WebSocket(w) => Some(w.gateway.clone()),
                _ => None,
            })
            .collect();
        let mut steps = Vec::new();
        let verdict = if gateways.is_empty() {
            // Nothing to send: skip without starting anything.
            for (i, p) in planned.into_iter().enumerate() {
                let why = match p.plan {
                    Plan::Skip(why) => why,
                    _ => "not run: no request step can run".into(),
                };
                steps.push(StepRun {
                    index: i + 1,
                    what: p.what,
                    verdict: Verdict::Skip(why),
                });
            }
            Verdict::Skip(no_run_reason(&steps))
        } else {
            let dir = self.dir.join(data::case_dir_name(&case.id));
            let run = match docs {
                Ok(docs) => {
                    self.execute(docs, planned, &gateways, &dir, &mut steps)
                        .await
                }
                Err(e) => Err(e),
            };
            match run {
                Err(e) => Verdict::Fail(format!("setup: {e:#}")),
                Ok(()) => {
                    let failed = steps.iter().find_map(|s| match &s.verdict {
                        Verdict::Fail(why) => Some(format!("step {} ({}): {why}", s.index, s.what)),
                        _ => None,
                    });
                    let ran = steps.iter().any(|s| {
                        s.verdict == Verdict::Pass
                            && (s.what.starts_with("http") || s.what.starts_with("websocket"))
                    });
                    match failed {
                        Some(f) => Verdict::Fail(f),
                        None if ran => Verdict::Pass,
                        None => Verdict::Skip(no_run_reason(&steps)),
                    }
                }
            }
        };
        if self.temporary && !matches!(verdict, Verdict::Fail(_)) {
            let _ = std::fs::remove_dir_all(self.dir.join(data::case_dir_name(&case.id)));
        }
        CaseRun {
            id: case.id.clone(),
            feature: case.feature.clone(),
            suite: case.suite.clone(),
            name: case.name().to_string(),
            verdict,
            steps,
            elapsed: started.elapsed(),
        }
    }

    /// Starts sluice, the proxies and the stand-ins, applies the manifests (`docs`) and runs the
    /// steps (into `steps`); an error is a setup failure. Everything started is stopped on return.
    async fn execute(
        &mut self,
        mut docs: Vec<Value>,
        planned: Vec<PlannedStep>,
        gateways: &BTreeSet<NsName>,
        dir: &Path,
        steps: &mut Vec<StepRun>,
    ) -> anyhow::Result<()> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;

        if self.next_host > 200 {
            self.octet = self.octet.wrapping_add(self.octet_step).max(16);
            self.next_host = 0;
        }
        let mut stand_ins = StandIns::new(self.file.nginx_page());
        // Once in a long run `sluice serve` never answered `/readyz`: it binds its ports in
        // tasks whose failure it reports only at shutdown, and a port picked free can be taken
        // before it binds it. Its ports are picked below the ephemeral range (`quiet_ports`),
        // and a failed start is tried once more, on fresh ports, before the case fails.
        let mut mesh = match setup(
            self.conf,
            self.mode,
            dir,
            self.octet,
            self.next_host,
            gateways,
        )
        .await
        {
            Ok(m) => m,
            Err(first) => {
                let _ = std::fs::rename(dir.join("sluice.log"), dir.join("sluice-first-try.log"));
                setup(
                    self.conf,
                    self.mode,
                    dir,
                    self.octet,
                    self.next_host,
                    gateways,
                )
                .await
                .with_context(|| format!("a second time (the first: {first:#})"))?
            }
        };
        let result = async {
            stand_ins.ensure(&docs).await?;
            mesh.apply(&full_docs(&docs, &stand_ins), &mut self.world)
                .await?;
            for (i, p) in planned.into_iter().enumerate() {
                let verdict = match p.plan {
                    Plan::Skip(why) => Verdict::Skip(why),
                    Plan::Http(h) => match mesh.envoys.get(&h.request.gateway).map(|e| e.ip) {
                        None => Verdict::Fail(format!("no proxy for {}", h.request.gateway)),
                        Some(ip) => match http::run(&h, ip).await {
                            Ok(()) => Verdict::Pass,
                            Err(e) => Verdict::Fail(e),
                        },
                    },
                    Plan::WebSocket(w) => match mesh.envoys.get(&w.gateway).map(|e| e.ip) {
                        None => Verdict::Fail(format!("no proxy for {}", w.gateway)),
                        Some(ip) => match w.run(ip).await {
                            Ok(()) => Verdict::Pass,
                            Err(e) => Verdict::Fail(e),
                        },
                    },
                    Plan::Logs(l) => match mesh.envoys.get(&l.gateway) {
                        None => Verdict::Fail(format!("no proxy for {}", l.gateway)),
                        Some(e) => {
                            let path = e.log.clone();
                            let read = || std::fs::read_to_string(&path).unwrap_or_default();
                            match l.run(read).await {
                                Ok(()) => Verdict::Pass,
                                Err(e) => Verdict::Fail(e),
                            }
                        }
                    },
                    Plan::Action(a) => {
                        let applied = async {
                            self.change(&mut docs, a)?;
                            stand_ins.ensure(&docs).await?;
                            mesh.apply(&full_docs(&docs, &stand_ins), &mut self.world)
                                .await
                        }
                        .await;
                        match applied {
                            Ok(()) => Verdict::Pass,
                            Err(e) => Verdict::Fail(format!("{e:#}")),
                        }
                    }
                };
                let failed = matches!(verdict, Verdict::Fail(_));
                steps.push(StepRun {
                    index: i + 1,
                    what: p.what,
                    verdict,
                });
                if failed {
                    break;
                }
            }
            anyhow::Ok(())
        }
        .await;
        self.next_host = mesh.next_host;
        drop(mesh);
        stand_ins.stop().await;
        result
    }

    /// Applies one action to the documents.
    fn change(&self, docs: &mut Vec<Value>, action: Action) -> anyhow::Result<()> {
        let ns = &self.opts.install_namespace;
        match action {
            Action::Apply {
                files,
                inline,
                namespace,
            } => {
                let mut new = data::load_docs(self.root, &files, namespace.as_deref(), ns)?;
                new.extend(
                    inline.into_iter().map(|d| {
                        data::with_namespace(d, namespace.as_deref().unwrap_or("default"))
                    }),
                );
                for d in new {
                    data::apply_doc(docs, d);
                }
            }
            Action::Delete {
                files,
                object,
                namespace,
            } => {
                for d in data::load_docs(self.root, &files, namespace.as_deref(), ns)? {
                    let (kind, id) = data::identity(&d);
                    data::delete_doc(docs, &kind, &id);
                }
                // Deleting what the directory does not hold changes nothing, as in a cluster
                // where it is already gone.
                if let Some((kind, id)) = object {
                    data::delete_doc(docs, &kind, &id);
                }
            }
        }
        Ok(())
    }
}

/// The case's documents plus what the runner adds: the GatewayClass `kgateway` (the class
/// kgateway's manifests use) naming sluice's controller, and the stand-ins' EndpointSlices.
fn full_docs(docs: &[Value], stand_ins: &StandIns) -> Vec<Value> {
    let mut all = Vec::with_capacity(docs.len() + 8);
    all.push(json!({
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "GatewayClass",
        "metadata": {"name": "kgateway"},
        "spec": {"controllerName": CONTROLLER},
    }));
    all.extend(docs.iter().cloned());
    all.extend(stand_ins.endpoint_slices(docs));
    all
}

/// A fresh `sluice serve --from DIR/manifests`, ready, as the conformance runner starts it,
/// and a ready proxy for each of `gateways`. The proxies start before the manifests are
/// applied, as the conformance runner does: their start does not eat into the steps' retry
/// budgets.
async fn setup<'a>(
    conf: &'a runner::Options,
    mode: Mode,
    dir: &'a Path,
    octet: u8,
    next_host: u8,
    gateways: &BTreeSet<NsName>,
) -> anyhow::Result<Mesh<'a>> {
    let watched = dir.join("manifests");
    let staging = dir.join("staging");
    std::fs::create_dir_all(&watched)?;
    std::fs::create_dir_all(&staging)?;
    let ports = quiet_ports(2)?;
    let (xds_port, admin_port) = (ports[0], ports[1]);
    let sluice = Proc::spawn(
        "sluice serve",
        Command::new(&conf.sluice)
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
                std::env::var("SLUICE_KGATEWAY_LOG").unwrap_or_else(|_| "info".into()),
            ),
        &dir.join("sluice.log"),
    )?;
    let mut mesh = Mesh {
        opts: conf,
        mode,
        dir,
        watched,
        staging,
        sluice,
        xds_port,
        admin_port,
        octet,
        next_host,
        envoys: BTreeMap::new(),
        epoch: 0,
    };
    mesh.wait_ready().await?;
    for gw in gateways {
        mesh.ensure_envoy(gw)
            .await
            .with_context(|| format!("starting the proxy of {gw}"))?;
    }
    Ok(mesh)
}

/// `n` distinct free ports on 127.0.0.1 below the kernel's ephemeral range, which neither
/// outgoing connections nor `bind(0)` (the stand-ins, the proxies' admin ports) ever take;
/// [`free_ports`] if that range is unknown or too small.
fn quiet_ports(n: usize) -> anyhow::Result<Vec<u16>> {
    const FLOOR: u16 = 10_000;
    let low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(0);
    if low < FLOOR + 1_000 {
        return free_ports(n);
    }
    let mut rng = Rng::seeded();
    // Held until all are found, so that they are distinct.
    let mut held = Vec::with_capacity(n);
    for _ in 0..1_000 {
        if held.len() == n {
            break;
        }
        let port = FLOOR + (rng.next() % u64::from(low - FLOOR)) as u16;
        if let Ok(l) = std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, port)) {
            held.push((port, l));
        }
    }
    if held.len() < n {
        return free_ports(n);
    }
    Ok(held.into_iter().map(|(p, _)| p).collect())
}

/// Why no request step of a case ran: its distinct skip reasons, most frequent first.
fn no_run_reason(steps: &[StepRun]) -> String {
    let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
    for s in steps {
        if let Verdict::Skip(why) = &s.verdict {
            *reasons.entry(why.as_str()).or_default() += 1;
        }
    }
    if reasons.is_empty() {
        return "no request step".into();
    }
    let mut v: Vec<(&str, usize)> = reasons.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    v.iter()
        .map(|(r, n)| {
            if *n > 1 {
                format!("{r} ×{n}")
            } else {
                r.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}
