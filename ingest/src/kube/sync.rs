//! [`SyncStatus`]: whether every watched kind has been listed, and why not.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Mutex;

use kube::runtime::watcher;
use sluice_crds::Kind;

/// Where the watch of one kind stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KindSync {
    /// No complete list yet, and no error so far.
    Pending,
    /// Listed completely at least once (later errors do not unsync it: its state is kept and
    /// the watcher recovers by relisting).
    Synced,
    /// Not listed yet because of this error (retried with backoff): `CRD absent: …` for 404,
    /// `RBAC: forbidden: …` for 403, else the error.
    Failed(String),
}

impl fmt::Display for KindSync {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KindSync::Pending => f.write_str("pending: not listed yet"),
            KindSync::Synced => f.write_str("synced"),
            KindSync::Failed(reason) => write!(f, "failed: {reason}"),
        }
    }
}

#[derive(Clone, Debug)]
struct KindEntry {
    sync: KindSync,
    errors: u64,
}

/// Per-kind sync state of the cluster source, shared with the readiness endpoint.
///
/// Nothing is served before [`SyncStatus::is_ready`]: the cluster source sends its first batch
/// only once every kind is synced.
#[derive(Debug)]
pub struct SyncStatus {
    kinds: Mutex<BTreeMap<Kind, KindEntry>>,
}

impl SyncStatus {
    /// Every kind `Pending`.
    pub fn new(kinds: impl IntoIterator<Item = Kind>) -> Self {
        let kinds = kinds
            .into_iter()
            .map(|k| {
                (
                    k,
                    KindEntry {
                        sync: KindSync::Pending,
                        errors: 0,
                    },
                )
            })
            .collect();
        SyncStatus {
            kinds: Mutex::new(kinds),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<Kind, KindEntry>> {
        // A panic while holding this lock cannot leave the map inconsistent.
        self.kinds
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The state of `kind` (`None`: not watched).
    pub fn get(&self, kind: Kind) -> Option<KindSync> {
        self.lock().get(&kind).map(|e| e.sync.clone())
    }

    /// Every watched kind and its state, in kind order.
    pub fn kinds(&self) -> Vec<(Kind, KindSync)> {
        self.lock()
            .iter()
            .map(|(k, e)| (*k, e.sync.clone()))
            .collect()
    }

    /// Whether every kind is synced.
    pub fn is_ready(&self) -> bool {
        self.lock().values().all(|e| e.sync == KindSync::Synced)
    }

    /// Kinds not synced yet, and why.
    pub fn missing(&self) -> Vec<(Kind, KindSync)> {
        self.kinds()
            .into_iter()
            .filter(|(_, s)| *s != KindSync::Synced)
            .collect()
    }

    /// Watch errors seen for `kind` (all errors, including after sync).
    pub fn errors(&self, kind: Kind) -> u64 {
        self.lock().get(&kind).map_or(0, |e| e.errors)
    }

    /// Watch errors seen over all kinds.
    pub fn total_errors(&self) -> u64 {
        self.lock().values().map(|e| e.errors).sum()
    }

    /// The readiness report: `(ready, text)`; the text names every kind still missing and why,
    /// one per line, e.g. `ListenerSet: failed: CRD absent: …`.
    pub fn readyz(&self) -> (bool, String) {
        let missing = self.missing();
        if missing.is_empty() {
            return (true, "ok: every watched kind is synced\n".to_owned());
        }
        let mut text = format!(
            "not ready: {} of {} watched kinds not synced\n",
            missing.len(),
            self.lock().len()
        );
        for (kind, sync) in missing {
            text.push_str(&format!("{kind}: {sync}\n"));
        }
        (false, text)
    }

    /// Starts tracking `kind` (as `Pending`) if it is not yet.
    pub fn track(&self, kind: Kind) {
        self.lock().entry(kind).or_insert(KindEntry {
            sync: KindSync::Pending,
            errors: 0,
        });
    }

    /// Marks `kind` synced.
    pub fn set_synced(&self, kind: Kind) {
        if let Some(e) = self.lock().get_mut(&kind) {
            e.sync = KindSync::Synced;
        }
    }

    /// Counts a watch error of `kind`; a kind not synced yet becomes `Failed(reason)`.
    pub fn record_error(&self, kind: Kind, reason: String) {
        let mut kinds = self.lock();
        let entry = kinds.entry(kind).or_insert(KindEntry {
            sync: KindSync::Pending,
            errors: 0,
        });
        entry.errors += 1;
        if entry.sync != KindSync::Synced {
            entry.sync = KindSync::Failed(reason);
        }
    }
}

/// Why a watch of `kind` failed, for readiness: 404 ⇒ `CRD absent`, 403 ⇒ `RBAC: forbidden`.
pub fn failure_reason(kind: Kind, err: &watcher::Error) -> String {
    let status = match err {
        watcher::Error::InitialListFailed(kube::Error::Api(s))
        | watcher::Error::WatchStartFailed(kube::Error::Api(s))
        | watcher::Error::WatchFailed(kube::Error::Api(s)) => Some(&**s),
        watcher::Error::WatchError(s) => Some(&**s),
        _ => None,
    };
    let resource = super::api_resource(kind);
    let what = format!("{} ({})", resource.plural, resource.api_version);
    match status {
        Some(s) if s.code == 404 => match kind.group() {
            "" | "discovery.k8s.io" => format!("API absent: {what} is not served (404)"),
            "gateway.networking.k8s.io" => format!(
                "CRD absent: {what} is not served (404); install the Gateway API standard \
                 CRDs >= v1.5 (earlier bundles do not serve ReferenceGrant, TLSRoute and \
                 ListenerSet as v1)"
            ),
            _ => format!(
                "CRD absent: {what} is not served (404); install deploy/crds/kgateway.yaml \
                 (`sluice crds`)"
            ),
        },
        Some(s) if s.code == 403 => {
            format!("RBAC: forbidden: cannot list/watch {what}: {}", s.message)
        }
        _ => err.to_string(),
    }
}
