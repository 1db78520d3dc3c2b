//! Leader election on a `coordination.k8s.io/v1` Lease (kube-runtime 5 has none).
//!
//! The algorithm is client-go's: every `renew_period` the candidate reads the Lease; if it
//! holds it, it renews it (`renewTime`); if nobody holds it, or the record has not changed for
//! `leaseDurationSeconds` *as observed locally* (no trust in other clocks), it takes it over
//! (`leaseTransitions` + 1). Writes carry the read `resourceVersion`, so of two candidates
//! racing only one wins (the other gets 409 Conflict). A leader that cannot renew for
//! `renew_deadline` steps down. On shutdown the leader releases the Lease (client-go's
//! `ReleaseOnCancel`: empty holder, a 1 s duration), so a standby takes over at its next round
//! instead of waiting out the lease.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};
use tokio::sync::{oneshot, watch};
use tokio::time::Instant;
use tracing::{debug, info, warn};

/// Whether this process is the leader, as a cheap clonable handle.
#[derive(Clone, Debug)]
pub struct Leadership(watch::Receiver<bool>);

impl Leadership {
    /// A handle that is always leader (single replica, tests).
    pub fn always() -> Self {
        Self::fixed(true)
    }

    /// A handle that is never leader.
    pub fn never() -> Self {
        Self::fixed(false)
    }

    fn fixed(leader: bool) -> Self {
        let (tx, rx) = watch::channel(leader);
        // Keep the value forever: a receiver whose sender is gone still reads the last value.
        drop(tx);
        Leadership(rx)
    }

    /// A handle following `rx`.
    pub fn from_receiver(rx: watch::Receiver<bool>) -> Self {
        Leadership(rx)
    }

    pub fn is_leader(&self) -> bool {
        *self.0.borrow()
    }

    /// Waits until leadership changes; `false` if it never will again (the elector stopped).
    pub async fn changed(&mut self) -> bool {
        self.0.changed().await.is_ok()
    }
}

/// Where the Lease is and how it is held.
#[derive(Clone, Debug)]
pub struct LeaseConfig {
    /// Namespace of the Lease (sluice's own namespace).
    pub namespace: String,
    /// Name of the Lease.
    pub name: String,
    /// This candidate's identity (the pod name).
    pub identity: String,
    /// `leaseDurationSeconds`: how long a silent holder keeps the lease (15 s).
    pub lease_duration: Duration,
    /// How often the lease is read and renewed (5 s).
    pub renew_period: Duration,
    /// A leader that could not renew for this long steps down (10 s).
    pub renew_deadline: Duration,
}

impl LeaseConfig {
    pub fn new(namespace: &str, identity: &str) -> Self {
        LeaseConfig {
            namespace: namespace.to_owned(),
            name: "sluice-leader".to_owned(),
            identity: identity.to_owned(),
            lease_duration: Duration::from_secs(15),
            renew_period: Duration::from_secs(5),
            renew_deadline: Duration::from_secs(10),
        }
    }
}

/// The running election: [`release`](ElectorHandle::release) ends it. Dropping the handle
/// leaves the election running.
#[derive(Debug)]
pub struct ElectorHandle {
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl ElectorHandle {
    /// Stops the election, releasing the Lease if this candidate holds it; returns when done.
    pub async fn release(self) {
        if self.stop.send(()).is_ok() {
            let _ = self.task.await;
        }
    }
}

/// The part of a Lease record whose change shows its holder is alive.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Observed {
    holder: Option<String>,
    renew_time: Option<MicroTime>,
    transitions: Option<i32>,
}

/// One candidate for leadership.
pub struct LeaderElector {
    api: Api<Lease>,
    config: LeaseConfig,
    /// The last record seen and when it was first seen (local monotonic time).
    observed: Option<(Observed, Instant)>,
    leader: bool,
    last_renewed: Option<Instant>,
}

impl LeaderElector {
    pub fn new(client: kube::Client, config: LeaseConfig) -> Self {
        LeaderElector {
            api: Api::namespaced(client, &config.namespace),
            config,
            observed: None,
            leader: false,
            last_renewed: None,
        }
    }

    pub fn is_leader(&self) -> bool {
        self.leader
    }

    /// Runs the election until every [`Leadership`] handle is dropped, publishing changes;
    /// when `stop` fires, releases the Lease (if held), publishes `false` and returns.
    pub async fn run(mut self, tx: watch::Sender<bool>, stop: oneshot::Receiver<()>) {
        let mut stop = Some(stop);
        loop {
            let leader = self.try_acquire_or_renew().await;
            tx.send_if_modified(|current| {
                let changed = *current != leader;
                *current = leader;
                changed
            });
            if tx.is_closed() {
                return;
            }
            let sleep = tokio::time::sleep(self.config.renew_period);
            let Some(rx) = stop.as_mut() else {
                sleep.await;
                continue;
            };
            tokio::select! {
                () = sleep => {}
                asked = rx => {
                    if asked.is_ok() {
                        // Stop writing before the Lease goes: a standby may lead at once.
                        tx.send_replace(false);
                        self.release().await;
                        return;
                    }
                    // The handle was dropped without asking: run on, never release.
                    stop = None;
                }
            }
        }
    }

    /// Starts [`LeaderElector::run`] on a task; the handle follows it.
    pub fn spawn(self) -> (Leadership, ElectorHandle) {
        let (tx, rx) = watch::channel(false);
        let (stop, stop_rx) = oneshot::channel();
        let task = tokio::spawn(self.run(tx, stop_rx));
        (Leadership(rx), ElectorHandle { stop, task })
    }

    /// Gives the Lease up if we hold it: empty holder, `leaseDurationSeconds` 1, renewed now
    /// (what client-go writes on `ReleaseOnCancel`). Written against the read
    /// `resourceVersion`, so a Lease someone else took meanwhile is left alone.
    pub async fn release(&mut self) {
        if !self.leader {
            return;
        }
        self.leader = false;
        let lease = match self.api.get_opt(&self.config.name).await {
            Ok(Some(lease)) => lease,
            Ok(None) => return,
            Err(err) => {
                warn!(error = %err, "cannot read the leader lease to release it");
                return;
            }
        };
        let spec = lease.spec.clone().unwrap_or_default();
        if spec.holder_identity.as_deref() != Some(self.config.identity.as_str()) {
            return;
        }
        let now = MicroTime(Timestamp::now());
        let mut released = lease;
        released.spec = Some(LeaseSpec {
            holder_identity: None,
            lease_duration_seconds: Some(1),
            acquire_time: Some(now.clone()),
            renew_time: Some(now),
            lease_transitions: spec.lease_transitions,
            ..LeaseSpec::default()
        });
        match self
            .api
            .replace(&self.config.name, &PostParams::default(), &released)
            .await
        {
            Ok(_) => info!(identity = %self.config.identity, "released the leader lease"),
            Err(err) => warn!(error = %err, "cannot release the leader lease"),
        }
    }

    /// One round: read the Lease, then create, renew or take it over if we may. Returns
    /// whether we are the leader afterwards.
    pub async fn try_acquire_or_renew(&mut self) -> bool {
        let now = Instant::now();
        let lease = match self.api.get_opt(&self.config.name).await {
            Ok(lease) => lease,
            Err(err) => {
                warn!(error = %err, lease = %self.config.name, "cannot read the leader lease");
                return self.failed_round(now);
            }
        };
        let Some(lease) = lease else {
            let fresh = Lease {
                metadata: ObjectMeta {
                    name: Some(self.config.name.clone()),
                    namespace: Some(self.config.namespace.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(self.spec(None)),
            };
            return match self.api.create(&PostParams::default(), &fresh).await {
                Ok(_) => self.won(now),
                Err(kube::Error::Api(s)) if s.code == 409 => self.lost(),
                Err(err) => {
                    warn!(error = %err, "cannot create the leader lease");
                    self.failed_round(now)
                }
            };
        };
        let spec = lease.spec.clone().unwrap_or_default();
        let observed = Observed {
            holder: spec.holder_identity.clone().filter(|h| !h.is_empty()),
            renew_time: spec.renew_time.clone(),
            transitions: spec.lease_transitions,
        };
        let since = match &self.observed {
            Some((seen, at)) if *seen == observed => *at,
            _ => now,
        };
        self.observed = Some((observed.clone(), since));
        let ours = observed.holder.as_deref() == Some(self.config.identity.as_str());
        let duration = spec
            .lease_duration_seconds
            .and_then(|s| u64::try_from(s).ok())
            .map_or(self.config.lease_duration, Duration::from_secs);
        let expired = observed.holder.is_none() || now.duration_since(since) >= duration;
        if !ours && !expired {
            debug!(holder = ?observed.holder, "another candidate holds the lease");
            return self.lost();
        }
        let mut updated = lease;
        updated.spec = Some(self.spec(Some(&spec)));
        match self
            .api
            .replace(&self.config.name, &PostParams::default(), &updated)
            .await
        {
            Ok(_) => self.won(now),
            Err(kube::Error::Api(s)) if s.code == 409 => self.lost(),
            Err(err) => {
                warn!(error = %err, "cannot renew the leader lease");
                self.failed_round(now)
            }
        }
    }

    /// The spec we write: ours, renewed now; a takeover counts a transition.
    fn spec(&self, previous: Option<&LeaseSpec>) -> LeaseSpec {
        let now = MicroTime(Timestamp::now());
        let ours = previous.and_then(|p| p.holder_identity.as_deref())
            == Some(self.config.identity.as_str());
        let transitions = previous.and_then(|p| p.lease_transitions).unwrap_or(0);
        LeaseSpec {
            holder_identity: Some(self.config.identity.clone()),
            lease_duration_seconds: Some(
                i32::try_from(self.config.lease_duration.as_secs()).unwrap_or(i32::MAX),
            ),
            acquire_time: if ours {
                previous.and_then(|p| p.acquire_time.clone())
            } else {
                Some(now.clone())
            },
            renew_time: Some(now),
            lease_transitions: Some(if ours || previous.is_none() {
                transitions
            } else {
                transitions + 1
            }),
            ..LeaseSpec::default()
        }
    }

    fn won(&mut self, now: Instant) -> bool {
        if !self.leader {
            info!(identity = %self.config.identity, "became the leader");
        }
        self.leader = true;
        self.last_renewed = Some(now);
        self.observed = None;
        true
    }

    fn lost(&mut self) -> bool {
        if self.leader {
            info!(identity = %self.config.identity, "lost the leadership");
        }
        self.leader = false;
        false
    }

    /// A round that could not talk to the API server: a leader keeps leading until its
    /// renew deadline passes.
    fn failed_round(&mut self, now: Instant) -> bool {
        if self.leader
            && self
                .last_renewed
                .is_some_and(|at| now.duration_since(at) < self.config.renew_deadline)
        {
            return true;
        }
        self.lost()
    }
}
