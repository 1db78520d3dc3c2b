//! `sluice serve`: load and watch a manifest directory, compile every settled change as one
//! epoch, publish it to the ADS server, and serve the admin endpoint.
//!
//! Threads: tokio runs the directory watcher, the gRPC server and the admin endpoint; the
//! dataflow runs on its own thread (its `apply` blocks while timely steps), fed batches over a
//! channel and publishing into the shared cache, which wakes the ADS streams.

mod admin;
mod cluster;
mod metrics;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use anyhow::Context;
use sluice_dataflow::ir::XdsType;
use sluice_dataflow::output::{OutputBatch, Snapshot};
use sluice_emit::cache::{XdsCache, process_epoch};
use sluice_emit::pki::Authority;
use sluice_emit::server::{Auth, SharedCache, TokenReviewer, XdsServer};
use sluice_ingest::kube::{SyncStatus, run_cluster_source};
use sluice_ingest::watch::{Batch, WatchOptions, watch_dir};
use tokio::sync::mpsc;

use crate::cli::EngineArgs;
use crate::commands::trust::XdsTrust;
use admin::AdminState;
use metrics::ServeMetrics;

/// How long the directory must be quiet before a burst of writes becomes one epoch.
const SETTLE: Duration = Duration::from_millis(30);

/// Where objects come from.
pub enum Source {
    /// A watched directory of manifests, fully scanned every `rescan` too (zero: never).
    Dir { dir: PathBuf, rescan: Duration },
    /// A cluster: this kubeconfig, else the in-cluster configuration or the default kubeconfig.
    Cluster { kubeconfig: Option<PathBuf> },
}

impl Source {
    fn describe(&self) -> String {
        match self {
            Source::Dir { dir, .. } => dir.display().to_string(),
            Source::Cluster {
                kubeconfig: Some(k),
            } => format!("cluster of {}", k.display()),
            Source::Cluster { kubeconfig: None } => "in-cluster".to_string(),
        }
    }
}

pub struct ServeArgs {
    pub source: Source,
    pub xds_addr: SocketAddr,
    pub admin_addr: SocketAddr,
    /// Serve `/debug/xds` on the admin endpoint.
    pub debug_xds: bool,
    pub trust: XdsTrust,
    pub engine: EngineArgs,
}

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let Some(engine) = crate::commands::engine::start(&args.engine)? else {
        return Ok(());
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(args, engine))
}

async fn serve(args: ServeArgs, engine: sluice_dataflow::worker::Engine) -> anyhow::Result<()> {
    let cache = SharedCache::new(XdsCache::new(process_epoch()));
    let client = match &args.source {
        Source::Cluster { kubeconfig } => Some(cluster::client(kubeconfig.as_deref()).await?),
        Source::Dir { .. } => None,
    };
    let (mut grpc_builder, auth) = xds_transport(&args.trust, client.as_ref())?;
    let server = XdsServer::new(cache.clone()).with_auth(auth);
    let state = Arc::new(AdminState {
        snapshot: RwLock::new(Snapshot::default()),
        metrics: Mutex::new(ServeMetrics::default()),
        cache: cache.clone(),
        stats: server.stats(),
        waiting_for: RwLock::new(Some(format!("loading {}", args.source.describe()))),
        sync: RwLock::new(None),
    });

    let (batches_tx, batches_rx) = mpsc::channel::<Batch>(16);
    let (status_tx, status_task) = match &args.source {
        Source::Dir { dir, rescan } => {
            let dir = dir.clone();
            let opts = WatchOptions {
                window: SETTLE,
                rescan: *rescan,
            };
            tokio::spawn(async move {
                if let Err(e) = watch_dir(dir, opts, batches_tx).await {
                    tracing::error!("watching the directory: {e}");
                }
            });
            (None, None)
        }
        Source::Cluster { .. } => {
            let client = client.clone().expect("a cluster source has a client");
            let sync = Arc::new(SyncStatus::new([]));
            *state.sync.write().unwrap_or_else(|e| e.into_inner()) = Some(sync.clone());
            tokio::spawn(run_cluster_source(client.clone(), SETTLE, batches_tx, sync));
            let task = cluster::spawn_status_writer(client, &args.engine.controller_name);
            (Some(task.batches.clone()), Some(task))
        }
    };
    let compiler = {
        let (state, cache) = (state.clone(), cache.clone());
        std::thread::Builder::new()
            .name("sluice-dataflow".into())
            .spawn(move || compile_loop(engine, batches_rx, &state, &cache, status_tx))?
    };

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let admin = tokio::spawn(admin::serve(
        args.admin_addr,
        state.clone(),
        args.debug_xds,
        stopped(stop_rx.clone()),
    ));
    let grpc = tokio::spawn(
        grpc_builder
            .add_service(server.into_service())
            .serve_with_shutdown(args.xds_addr, stopped(stop_rx.clone())),
    );
    tracing::info!(xds = %args.xds_addr, admin = %args.admin_addr, source = %args.source.describe(), "serving");

    shutdown_signal().await?;
    tracing::info!("shutting down");
    if let Some(task) = status_task {
        task.shutdown(Duration::from_secs(3)).await;
    }
    let _ = stop_tx.send(true);
    grpc.await.context("grpc task")?.context("xDS server")?;
    admin.await.context("admin task")?.context("admin server")?;
    drop(compiler); // detached: it ends when the batch channel closes
    Ok(())
}

/// The xDS server's transport and what it asks of peers: TLS with a certificate from the
/// state directory's CA, client certificates from the same CA (and, with a cluster,
/// ServiceAccount tokens instead); or plaintext for anyone with `--insecure-xds`.
fn xds_transport(
    trust: &XdsTrust,
    client: Option<&kube::Client>,
) -> anyhow::Result<(tonic::transport::Server, Auth)> {
    use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};
    let builder = Server::builder();
    let XdsTrust::Verified {
        state_dir,
        token_audience,
    } = trust
    else {
        tracing::warn!(
            "xDS is plaintext and unauthenticated (--insecure-xds): anyone who reaches the port gets every Gateway's configuration and private keys"
        );
        return Ok((builder, Auth::Insecure));
    };
    let now = std::time::SystemTime::now();
    let authority = Authority::open(state_dir, now)
        .with_context(|| format!("opening the xDS CA in {}", state_dir.display()))?;
    let server = authority.server_certificate(&[], now)?;
    let tokens = client.map(|c| Arc::new(TokenReviewer::new(c.clone(), token_audience)));
    let tls = ServerTlsConfig::new()
        .identity(Identity::from_pem(&server.cert_pem, &server.key_pem))
        .client_ca_root(Certificate::from_pem(authority.trust_bundle()))
        // Token-bearing proxies present no certificate; the service then demands a token.
        .client_auth_optional(tokens.is_some());
    tracing::info!(
        state_dir = %state_dir.display(),
        generations = ?authority.generations(),
        tokens = tokens.is_some(),
        "xDS over TLS: proxies need a client certificate from `sluice bootstrap`{}",
        if tokens.is_some() { " or a ServiceAccount token" } else { "" }
    );
    let builder = builder.tls_config(tls).context("configuring xDS TLS")?;
    Ok((builder, Auth::Verified { tokens }))
}

/// SIGINT (ctrl-c) or SIGTERM (what Kubernetes sends a Pod it stops).
async fn shutdown_signal() -> anyhow::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.context("waiting for ctrl-c"),
        _ = term.recv() => Ok(()),
    }
}

/// Owns the dataflow: one epoch per batch, published as soon as it is complete.
fn compile_loop(
    mut engine: sluice_dataflow::worker::Engine,
    mut batches: mpsc::Receiver<Batch>,
    state: &AdminState,
    cache: &SharedCache,
    status: Option<mpsc::UnboundedSender<OutputBatch>>,
) {
    while let Some(batch) = batches.blocking_recv() {
        for e in &batch.problems.load {
            tracing::error!("{e}");
        }
        for e in &batch.problems.lower {
            tracing::error!("{e}");
        }
        for w in &batch.problems.warnings {
            tracing::warn!("{w}");
        }
        let changed = batch.events.len();
        let started = Instant::now();
        let out = match engine.apply(batch.events) {
            Ok(out) => out,
            Err(e) => {
                tracing::error!("dataflow stopped: {e}");
                return;
            }
        };
        let compiled = started.elapsed();
        for (key, status) in &out.status_upserts {
            if let Some(w) = sluice_dataflow::ir::policy_warning(key, status) {
                tracing::warn!("{w}");
            }
        }
        cache.publish(&out);
        let pushed = started.elapsed() - compiled;
        if let Some(tx) = &status
            && (!out.status_upserts.is_empty() || !out.status_deletes.is_empty())
        {
            let _ = tx.send(out.clone());
        }
        {
            let mut snapshot = state.snapshot.write().unwrap_or_else(|e| e.into_inner());
            snapshot.apply(&out);
            let mut m = state.metrics.lock().unwrap_or_else(|e| e.into_inner());
            m.load_errors += (batch.problems.load.len() + batch.problems.lower.len()) as u64;
            m.observe_epoch(compiled, &snapshot, engine.state().len());
        }
        if !cache.is_ready() {
            cache.mark_ready();
            *state.waiting_for.write().unwrap_or_else(|e| e.into_inner()) = None;
        }
        log_epoch(&out, changed, batch.files, compiled, pushed);
    }
}

fn log_epoch(
    out: &OutputBatch,
    changed: usize,
    files: usize,
    compiled: Duration,
    pushed: Duration,
) {
    let mut per_type = [0usize; XdsType::COUNT];
    for r in &out.upserts {
        per_type[r.key().ty as usize] += 1;
    }
    for k in &out.deletes {
        per_type[k.ty as usize] += 1;
    }
    let [cds, eds, lds, rds] = [
        XdsType::Cluster,
        XdsType::Endpoint,
        XdsType::Listener,
        XdsType::Route,
    ]
    .map(|t| per_type[t as usize]);
    tracing::info!(
        epoch = out.epoch,
        files,
        objects_changed = changed,
        cds,
        eds,
        lds,
        rds,
        statuses = out.status_upserts.len() + out.status_deletes.len(),
        compile_ms = format!("{:.2}", compiled.as_secs_f64() * 1e3),
        push_ms = format!("{:.2}", pushed.as_secs_f64() * 1e3),
        "epoch"
    );
}
