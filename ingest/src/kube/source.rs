//! [`run_cluster_source`]: the watchers, the translation and the batching window.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use kube::api::{Api, DynamicObject};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use sluice_crds::Kind;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::{Instant, timeout_at};
use tracing::{debug, info, warn};

use crate::translate::{Batcher, Translator, trim_dynamic};
pub use crate::watch::Batch;

use super::api_resource;
use super::sync::{SyncStatus, failure_reason};

/// The field selector Secrets are watched with by default.
pub const TLS_SECRETS: &str = "type=kubernetes.io/tls";

/// What the cluster source watches and how it batches.
#[derive(Clone, Debug)]
pub struct SourceConfig {
    /// Kinds to watch (all kinds sluice reads by default). Every one must sync before the
    /// first batch.
    pub kinds: Vec<Kind>,
    /// Events arriving within this long of the first one of a batch join it.
    pub window: Duration,
    /// Field selector for Secrets (`None`: every Secret).
    pub secret_field_selector: Option<String>,
    /// Server-side watch timeout in seconds (`None`: kube's 290 s); the client drops a watch
    /// silent for this plus 5 s.
    pub watch_timeout: Option<u32>,
}

impl SourceConfig {
    /// Every kind, TLS Secrets only, the default watch timeout.
    pub fn new(window: Duration) -> Self {
        SourceConfig {
            kinds: Kind::all().to_vec(),
            window,
            secret_field_selector: Some(TLS_SECRETS.to_owned()),
            watch_timeout: None,
        }
    }
}

/// The watcher configuration of `kind`: `watcher::Config::default()` (bookmarks, `MostRecent`,
/// `ListWatch`), plus the Secret field selector and the watch timeout of `config`.
pub fn watcher_config(kind: Kind, config: &SourceConfig) -> watcher::Config {
    let mut wc = watcher::Config::default();
    if kind == Kind::Secret
        && let Some(selector) = &config.secret_field_selector
    {
        wc = wc.fields(selector);
    }
    if let Some(timeout) = config.watch_timeout {
        wc = wc.timeout(timeout);
    }
    wc
}

/// Watches every kind sluice reads and sends input-event batches to `out` until it closes:
/// the first batch once every kind has synced (the whole initial state, one epoch), then one
/// batch per `window` in which something changed.
pub async fn run_cluster_source(
    client: kube::Client,
    window: Duration,
    out: mpsc::Sender<Batch>,
    status: Arc<SyncStatus>,
) {
    run_cluster_source_with(client, SourceConfig::new(window), out, status).await;
}

/// [`run_cluster_source`] with explicit kinds, selectors and timeouts.
pub async fn run_cluster_source_with(
    client: kube::Client,
    config: SourceConfig,
    out: mpsc::Sender<Batch>,
    status: Arc<SyncStatus>,
) {
    for &kind in &config.kinds {
        status.track(kind);
    }
    let (tx, mut rx) = mpsc::channel::<(Kind, Event<DynamicObject>)>(1024);
    let mut watchers = JoinSet::new();
    for &kind in &config.kinds {
        watchers.spawn(watch_kind(
            client.clone(),
            kind,
            watcher_config(kind, &config),
            tx.clone(),
            status.clone(),
        ));
    }
    drop(tx);

    let mut state = SourceState::new(&config.kinds);
    while !state.translator.all_synced() {
        let Some((kind, event)) = rx.recv().await else {
            return;
        };
        state.apply(kind, event, &status);
    }
    info!(kinds = config.kinds.len(), "every watched kind is synced");
    if out.send(state.take()).await.is_err() {
        return;
    }
    while let Some((kind, event)) = rx.recv().await {
        state.apply(kind, event, &status);
        let deadline = Instant::now() + config.window;
        while let Ok(Some((kind, event))) = timeout_at(deadline, rx.recv()).await {
            state.apply(kind, event, &status);
        }
        if state.has_changes() && out.send(state.take()).await.is_err() {
            return;
        }
    }
    // Every watcher ended (they do not, short of a panic): nothing more will come.
    watchers.shutdown().await;
}

/// Watches one kind forever, sending its (trimmed) events; errors are counted and reported in
/// `status`, and the stream is polled again after the default backoff.
async fn watch_kind(
    client: kube::Client,
    kind: Kind,
    config: watcher::Config,
    tx: mpsc::Sender<(Kind, Event<DynamicObject>)>,
    status: Arc<SyncStatus>,
) {
    let api = Api::<DynamicObject>::all_with(client, &api_resource(kind));
    let mut events = watcher::watcher(api, config).default_backoff().boxed();
    while let Some(item) = events.next().await {
        match item {
            Ok(event) => {
                if tx.send((kind, event.modify(trim_dynamic))).await.is_err() {
                    return;
                }
            }
            Err(err) => {
                let reason = failure_reason(kind, &err);
                warn!(%kind, error = %err, %reason, "watch error; retrying after backoff");
                status.record_error(kind, reason);
            }
        }
    }
}

/// The translation state and the batch being built.
struct SourceState {
    translator: Translator,
    batcher: Batcher,
    problems: crate::dir::Problems,
}

impl SourceState {
    fn new(kinds: &[Kind]) -> Self {
        SourceState {
            translator: Translator::new(kinds.iter().copied()),
            batcher: Batcher::default(),
            problems: Default::default(),
        }
    }

    fn apply(&mut self, kind: Kind, event: Event<DynamicObject>, status: &SyncStatus) {
        let done = matches!(event, Event::InitDone);
        let mut problems = Vec::new();
        let events = self.translator.apply(kind, event, &mut problems);
        for p in &problems {
            warn!(object = %p.object, field = %p.field, message = %p.message, "object not ingested");
        }
        self.problems.lower.extend(problems);
        if done {
            debug!(%kind, "list complete");
            status.set_synced(kind);
        }
        self.batcher.extend(events);
    }

    fn has_changes(&self) -> bool {
        !self.batcher.is_empty() || !self.problems.is_empty()
    }

    fn take(&mut self) -> Batch {
        let files = self.batcher.pushed();
        Batch {
            events: self.batcher.take(),
            files,
            problems: std::mem::take(&mut self.problems),
        }
    }
}
