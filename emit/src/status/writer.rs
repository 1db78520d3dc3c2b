//! [`StatusWriter`]: the dataflow's status outputs, written to the API server.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use serde_json::Value;
use sluice_dataflow::ir::{StatusIr, StatusKey, StatusKind};
use sluice_dataflow::model::{DEFAULT_CONTROLLER_NAME, PolicyKind};
use sluice_dataflow::output::OutputBatch;
use tokio::sync::mpsc;
use tracing::{debug, warn};

use super::bucket::TokenBucket;
use super::lease::Leadership;
use super::patch::{desired_status, is_current, merge_patch};

/// How the writer writes.
#[derive(Clone, Debug)]
pub struct StatusWriterConfig {
    /// Route `status.parents` entries with this `controllerName` are ours.
    pub controller_name: String,
    /// `fieldManager` of every write.
    pub field_manager: String,
    /// Requests per second to the API server (token bucket refill).
    pub qps: u32,
    /// Requests allowed at once (token bucket size).
    pub burst: u32,
    /// Attempts per object when writes conflict (409) with other writers.
    pub max_attempts: u32,
}

impl Default for StatusWriterConfig {
    fn default() -> Self {
        StatusWriterConfig {
            controller_name: DEFAULT_CONTROLLER_NAME.to_owned(),
            field_manager: "sluice".to_owned(),
            qps: 20,
            burst: 50,
            max_attempts: 5,
        }
    }
}

/// Counters, for metrics and tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// PATCHes that succeeded.
    pub patches: u64,
    /// Objects whose status was already as desired (nothing sent).
    pub unchanged: u64,
    /// Writes that hit a conflict and were retried.
    pub conflicts: u64,
    /// Objects gone from the API server (their desired status is dropped).
    pub not_found: u64,
    /// Requests that failed otherwise (the object stays pending).
    pub errors: u64,
}

/// Why a flush stopped early.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("{key}: {source}")]
    Api {
        key: String,
        #[source]
        source: kube::Error,
    },
    #[error("{0}: still conflicting after every attempt")]
    Conflicts(String),
}

/// The status of an object as last read from or written to the API server.
#[derive(Clone, Debug)]
struct Known {
    status: Value,
    resource_version: Option<String>,
}

type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// Writes status only when it changed, only as leader, rate-limited, retrying conflicts.
///
/// [`observe`](StatusWriter::observe) records the desired status of every object from the
/// dataflow's batches; [`flush`](StatusWriter::flush) brings the API server in line for every
/// object whose desired status changed since. The first write of an object reads it first
/// (so a restart, or a new leader, rewrites nothing already right and keeps
/// `lastTransitionTime`s); later writes use what the last write returned.
pub struct StatusWriter {
    client: kube::Client,
    config: StatusWriterConfig,
    leader: Leadership,
    clock: Clock,
    desired: BTreeMap<StatusKey, Arc<StatusIr>>,
    /// Objects whose status may differ from the desired one.
    dirty: BTreeSet<StatusKey>,
    known: BTreeMap<StatusKey, Known>,
    bucket: TokenBucket,
    stats: WriterStats,
    was_leader: bool,
}

impl StatusWriter {
    pub fn new(client: kube::Client, config: StatusWriterConfig, leader: Leadership) -> Self {
        let bucket = TokenBucket::new(config.qps, config.burst);
        let was_leader = leader.is_leader();
        StatusWriter {
            client,
            config,
            leader,
            clock: Arc::new(Timestamp::now),
            desired: BTreeMap::new(),
            dirty: BTreeSet::new(),
            known: BTreeMap::new(),
            bucket,
            stats: WriterStats::default(),
            was_leader,
        }
    }

    /// Uses `clock` for `lastTransitionTime` (tests).
    pub fn with_clock(mut self, clock: impl Fn() -> Timestamp + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    pub fn stats(&self) -> &WriterStats {
        &self.stats
    }

    /// Objects whose status is yet to be checked or written.
    pub fn pending(&self) -> usize {
        self.dirty.len()
    }

    /// Records the status changes of one dataflow batch.
    pub fn observe(&mut self, batch: &OutputBatch) {
        for key in &batch.status_deletes {
            if self.desired.remove(key).is_some() {
                self.dirty.insert(key.clone());
            }
        }
        for (key, status) in &batch.status_upserts {
            if self.desired.get(key) != Some(status) {
                self.desired.insert(key.clone(), status.clone());
                self.dirty.insert(key.clone());
            }
        }
    }

    /// Writes every pending status, if leader. On becoming leader, every desired status is
    /// re-checked against the API server (another leader may have written since). Stops at
    /// the first failing request; what is left stays pending for the next flush.
    pub async fn flush(&mut self) -> Result<(), WriteError> {
        let leader = self.leader.is_leader();
        if leader && !self.was_leader {
            self.known.clear();
            self.dirty.extend(self.desired.keys().cloned());
        }
        self.was_leader = leader;
        if !leader {
            return Ok(());
        }
        while let Some(key) = self.dirty.first().cloned() {
            self.write(&key).await?;
            self.dirty.remove(&key);
        }
        Ok(())
    }

    fn now(&self) -> String {
        match serde_json::to_value(Time((self.clock)())) {
            Ok(Value::String(s)) => s,
            _ => String::new(),
        }
    }

    async fn get(
        &mut self,
        api: &Api<DynamicObject>,
        key: &StatusKey,
    ) -> Result<Option<Known>, WriteError> {
        self.bucket.acquire().await;
        match api.get_opt(&key.name).await {
            Ok(Some(object)) => Ok(Some(known_of(&object))),
            Ok(None) => Ok(None),
            Err(source) => {
                self.stats.errors += 1;
                Err(WriteError::Api {
                    key: describe(key),
                    source,
                })
            }
        }
    }

    async fn write(&mut self, key: &StatusKey) -> Result<(), WriteError> {
        let api = status_api(&self.client, key);
        let mut known = match self.known.get(key) {
            Some(k) => Some(k.clone()),
            None => self.get(&api, key).await?,
        };
        for _ in 0..self.config.max_attempts.max(1) {
            let Some(current) = known.take() else {
                debug!(object = %describe(key), "gone: dropping its status");
                self.stats.not_found += 1;
                self.known.remove(key);
                return Ok(());
            };
            let now = self.now();
            let Some(desired) = desired_status(
                key.kind,
                self.desired.get(key).map(|s| &**s),
                &current.status,
                &self.config.controller_name,
                &now,
            ) else {
                self.known.remove(key);
                return Ok(());
            };
            if is_current(&current.status, &desired) {
                self.stats.unchanged += 1;
                self.remember(key, current);
                return Ok(());
            }
            // Route parents are shared with other controllers: write only over what we read.
            let rv = match key.kind {
                StatusKind::HTTPRoute => current.resource_version.as_deref(),
                StatusKind::Kgateway(k) if k.has_ancestors() => current.resource_version.as_deref(),
                StatusKind::GatewayClass | StatusKind::Gateway | StatusKind::Kgateway(_) => None,
            };
            let patch = merge_patch(&desired, rv);
            let params = PatchParams {
                field_manager: Some(self.config.field_manager.clone()),
                ..PatchParams::default()
            };
            self.bucket.acquire().await;
            match api
                .patch_status(&key.name, &params, &Patch::Merge(&patch))
                .await
            {
                Ok(object) => {
                    self.stats.patches += 1;
                    self.remember(key, known_of(&object));
                    return Ok(());
                }
                Err(kube::Error::Api(s)) if s.code == 409 => {
                    self.stats.conflicts += 1;
                    debug!(object = %describe(key), "status write conflict; re-reading");
                    known = self.get(&api, key).await?;
                }
                Err(kube::Error::Api(s)) if s.code == 404 => {
                    known = None;
                }
                Err(source) => {
                    self.stats.errors += 1;
                    self.known.remove(key);
                    warn!(object = %describe(key), error = %source, "status write failed");
                    return Err(WriteError::Api {
                        key: describe(key),
                        source,
                    });
                }
            }
        }
        if known.is_none() {
            self.stats.not_found += 1;
            self.known.remove(key);
            return Ok(());
        }
        self.known.remove(key);
        Err(WriteError::Conflicts(describe(key)))
    }

    fn remember(&mut self, key: &StatusKey, known: Known) {
        if self.desired.contains_key(key) {
            self.known.insert(key.clone(), known);
        } else {
            self.known.remove(key);
        }
    }
}

/// Feeds every batch from `batches` to `writer` and flushes after each one and whenever this
/// process becomes the leader, until `batches` closes. Failed writes are retried at the next
/// flush (next batch, leadership change, or after `retry` with nothing else happening).
pub async fn run_status_writer(
    mut writer: StatusWriter,
    mut batches: mpsc::Receiver<OutputBatch>,
    retry: std::time::Duration,
) {
    let mut leadership = writer.leader.clone();
    let mut leadership_open = true;
    loop {
        if let Err(err) = writer.flush().await {
            warn!(error = %err, pending = writer.pending(), "status flush incomplete");
        }
        let wait_retry = writer.pending() > 0 && writer.leader.is_leader();
        tokio::select! {
            batch = batches.recv() => match batch {
                Some(batch) => writer.observe(&batch),
                None => return,
            },
            open = leadership.changed(), if leadership_open => leadership_open = open,
            _ = tokio::time::sleep(retry), if wait_retry => {}
        }
    }
}

fn known_of(object: &DynamicObject) -> Known {
    Known {
        status: object.data.get("status").cloned().unwrap_or(Value::Null),
        resource_version: object.metadata.resource_version.clone(),
    }
}

fn describe(key: &StatusKey) -> String {
    if key.namespace.is_empty() {
        format!("{} {}", key.kind.as_str(), key.name)
    } else {
        format!("{} {}/{}", key.kind.as_str(), key.namespace, key.name)
    }
}

/// The API resource of a status kind.
pub fn status_resource(kind: StatusKind) -> ApiResource {
    let (group, version, plural) = match kind {
        StatusKind::GatewayClass => ("gateway.networking.k8s.io", "v1", "gatewayclasses"),
        StatusKind::Gateway => ("gateway.networking.k8s.io", "v1", "gateways"),
        StatusKind::HTTPRoute => ("gateway.networking.k8s.io", "v1", "httproutes"),
        StatusKind::Kgateway(k) => (
            "gateway.kgateway.dev",
            "v1alpha1",
            match k {
                PolicyKind::TrafficPolicy => "trafficpolicies",
                PolicyKind::ListenerPolicy => "listenerpolicies",
                PolicyKind::HTTPListenerPolicy => "httplistenerpolicies",
                PolicyKind::BackendConfigPolicy => "backendconfigpolicies",
                PolicyKind::GatewayExtension => "gatewayextensions",
                PolicyKind::GatewayParameters => "gatewayparameters",
            },
        ),
    };
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(group, version, kind.as_str()),
        plural,
    )
}

fn status_api(client: &kube::Client, key: &StatusKey) -> Api<DynamicObject> {
    let resource = status_resource(key.kind);
    match key.kind {
        StatusKind::GatewayClass => Api::all_with(client.clone(), &resource),
        StatusKind::Gateway | StatusKind::HTTPRoute | StatusKind::Kgateway(_) => {
            Api::namespaced_with(client.clone(), &key.namespace, &resource)
        }
    }
}
