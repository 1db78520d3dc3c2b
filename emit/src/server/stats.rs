//! What the ADS server exposes about its streams (checklist 9, 13, 38, 39): per (stream, type)
//! the last sent version and nonce, the last ACKed version, the last NACK, how long a response
//! has been waiting for its ACK; global counters. Read by the admin endpoint: [`ServerStats::
//! proxies`] for `/debug` (JSON via serde), [`ServerStats::render_prometheus`] for `/metrics`.
//!
//! A stream's entry lives exactly as long as the stream ([`StreamStats`] removes it on drop;
//! checklist 35, 36), so the state is bounded by the connected proxies.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use serde::Serialize;
use sluice_dataflow::ir::XdsType;

use crate::cache::{GatewayId, type_index};

/// At most this many unknown node ids are remembered for the log-once rule.
const MAX_LOGGED_UNKNOWN: usize = 10_000;
/// NACK messages are cut to this many characters in metrics labels.
const MAX_LABEL_CHARS: usize = 200;

/// The two ADS variants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StreamKind {
    Sotw,
    Delta,
}

impl StreamKind {
    fn as_str(self) -> &'static str {
        match self {
            StreamKind::Sotw => "sotw",
            StreamKind::Delta => "delta",
        }
    }
}

/// Short name of a type in metrics and debug output.
pub fn type_short_name(ty: XdsType) -> &'static str {
    match ty {
        XdsType::Cluster => "cds",
        XdsType::Endpoint => "eds",
        XdsType::Secret => "sds",
        XdsType::Listener => "lds",
        XdsType::Route => "rds",
    }
}

/// A rejected response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Nack {
    pub nonce: String,
    pub message: String,
}

/// One type of one stream.
#[derive(Clone, Debug, Default, Serialize)]
pub struct TypeStatus {
    pub last_sent_version: Option<String>,
    pub last_sent_nonce: Option<String>,
    pub last_acked_version: Option<String>,
    pub last_nack: Option<Nack>,
    /// Milliseconds the last response has been waiting for its ACK/NACK.
    pub unacked_ms: Option<u64>,
    pub responses: u64,
    pub acks: u64,
    pub nacks: u64,
    #[serde(skip)]
    in_flight_since: Option<Instant>,
}

/// One connected stream (one proxy).
#[derive(Clone, Debug, Serialize)]
pub struct ProxyStatus {
    pub stream: u64,
    pub kind: StreamKind,
    pub node_id: Option<String>,
    pub gateway: Option<String>,
    /// `cds`, `eds`, `lds`, `rds` → status.
    pub types: BTreeMap<&'static str, TypeStatus>,
}

/// Server-wide counters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub streams_opened: u64,
    /// Per type, in `XdsType` order.
    pub responses: [u64; XdsType::COUNT],
    pub resources_sent: [u64; XdsType::COUNT],
    pub removals_sent: [u64; XdsType::COUNT],
    pub acks: [u64; XdsType::COUNT],
    pub nacks: [u64; XdsType::COUNT],
    pub stale_nonces: u64,
    pub invalid_requests: u64,
    /// Streams whose node named no Gateway.
    pub unknown_node_streams: u64,
    /// Streams failed on an oversized message (`RESOURCE_EXHAUSTED`).
    pub oversized_requests: u64,
    /// Streams refused for want of credentials (`UNAUTHENTICATED`).
    pub unauthenticated: u64,
    /// Streams whose node named a Gateway its credentials are not bound to.
    pub permission_denied: u64,
}

#[derive(Debug)]
struct StreamEntry {
    kind: StreamKind,
    node_id: Option<String>,
    gateway: Option<GatewayId>,
    unknown: bool,
    types: [TypeStatus; XdsType::COUNT],
}

#[derive(Debug, Default)]
struct Inner {
    streams: BTreeMap<u64, StreamEntry>,
    totals: Totals,
    logged_unknown: BTreeSet<String>,
}

/// Shared by all streams of one server.
#[derive(Debug, Default)]
pub struct ServerStats {
    inner: Mutex<Inner>,
    next_stream: AtomicU64,
}

impl ServerStats {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere must not take the metrics down with it.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Number of open streams.
    pub fn connected(&self) -> usize {
        self.lock().streams.len()
    }

    pub fn totals(&self) -> Totals {
        self.lock().totals.clone()
    }

    /// Every open stream's state, ordered by stream id.
    pub fn proxies(&self) -> Vec<ProxyStatus> {
        let now = Instant::now();
        self.lock()
            .streams
            .iter()
            .map(|(id, s)| ProxyStatus {
                stream: *id,
                kind: s.kind,
                node_id: s.node_id.clone(),
                gateway: s.gateway.as_ref().map(|g| g.to_string()),
                types: XdsType::ALL
                    .into_iter()
                    .map(|ty| {
                        let mut t = s.types[type_index(ty)].clone();
                        t.unacked_ms = t
                            .in_flight_since
                            .map(|since| now.duration_since(since).as_millis() as u64);
                        (type_short_name(ty), t)
                    })
                    .collect(),
            })
            .collect()
    }

    /// Registers a new stream; the returned handle unregisters it when dropped.
    pub(crate) fn open(self: &Arc<Self>, kind: StreamKind) -> StreamStats {
        let id = self.next_stream.fetch_add(1, Ordering::Relaxed) + 1;
        let mut inner = self.lock();
        inner.totals.streams_opened += 1;
        inner.streams.insert(
            id,
            StreamEntry {
                kind,
                node_id: None,
                gateway: None,
                unknown: false,
                types: Default::default(),
            },
        );
        StreamStats {
            stats: self.clone(),
            id,
        }
    }

    /// Counts a request that failed on its size.
    pub(crate) fn oversized(&self) {
        self.lock().totals.oversized_requests += 1;
    }

    /// Counts a stream refused for want of credentials.
    pub(crate) fn unauthenticated(&self) {
        self.lock().totals.unauthenticated += 1;
    }

    /// Prometheus text exposition of the counters and per (node, type) gauges.
    pub fn render_prometheus(&self) -> String {
        let now = Instant::now();
        let inner = self.lock();
        let t = &inner.totals;
        let mut out = String::new();
        let mut kinds: BTreeMap<StreamKind, u64> =
            [(StreamKind::Sotw, 0), (StreamKind::Delta, 0)].into();
        let mut unknown = 0;
        for s in inner.streams.values() {
            *kinds.entry(s.kind).or_default() += 1;
            unknown += u64::from(s.unknown);
        }
        metric(
            &mut out,
            "sluice_xds_connected_streams",
            "gauge",
            "Open ADS streams.",
        );
        for (kind, n) in kinds {
            let _ = writeln!(
                out,
                "sluice_xds_connected_streams{{kind=\"{}\"}} {n}",
                kind.as_str()
            );
        }
        let single = [
            (
                "sluice_xds_streams_total",
                "counter",
                "ADS streams opened.",
                t.streams_opened,
            ),
            (
                "sluice_xds_unknown_node_streams",
                "gauge",
                "Open streams held because their node names no Gateway.",
                unknown,
            ),
            (
                "sluice_xds_unknown_node_streams_total",
                "counter",
                "Streams whose node named no Gateway.",
                t.unknown_node_streams,
            ),
            (
                "sluice_xds_stale_nonces_total",
                "counter",
                "Requests with a stale response nonce.",
                t.stale_nonces,
            ),
            (
                "sluice_xds_invalid_requests_total",
                "counter",
                "Streams ended with INVALID_ARGUMENT.",
                t.invalid_requests,
            ),
            (
                "sluice_xds_oversized_requests_total",
                "counter",
                "Streams ended with RESOURCE_EXHAUSTED (decode limit).",
                t.oversized_requests,
            ),
            (
                "sluice_xds_unauthenticated_total",
                "counter",
                "Streams refused with UNAUTHENTICATED (no or bad credentials).",
                t.unauthenticated,
            ),
            (
                "sluice_xds_permission_denied_total",
                "counter",
                "Streams refused with PERMISSION_DENIED (a node naming another Gateway than its credentials).",
                t.permission_denied,
            ),
        ];
        for (name, kind, help, value) in single {
            metric(&mut out, name, kind, help);
            let _ = writeln!(out, "{name} {value}");
        }
        let per_type = [
            (
                "sluice_xds_responses_total",
                "Responses sent.",
                &t.responses,
            ),
            (
                "sluice_xds_resources_sent_total",
                "Resources sent.",
                &t.resources_sent,
            ),
            (
                "sluice_xds_removals_sent_total",
                "Delta removals sent.",
                &t.removals_sent,
            ),
            ("sluice_xds_acks_total", "ACKs received.", &t.acks),
            ("sluice_xds_nacks_total", "NACKs received.", &t.nacks),
        ];
        for (name, help, values) in per_type {
            metric(&mut out, name, "counter", help);
            for ty in XdsType::ALL {
                let _ = writeln!(
                    out,
                    "{name}{{type=\"{}\"}} {}",
                    type_short_name(ty),
                    values[type_index(ty)]
                );
            }
        }
        metric(
            &mut out,
            "sluice_xds_unacked_seconds",
            "gauge",
            "How long the response in flight has waited for its ACK, per (node, type).",
        );
        let mut nacks = String::new();
        for s in inner.streams.values() {
            let node = label(s.node_id.as_deref().unwrap_or(""));
            for ty in XdsType::ALL {
                let ts = &s.types[type_index(ty)];
                if let Some(since) = ts.in_flight_since {
                    let _ = writeln!(
                        out,
                        "sluice_xds_unacked_seconds{{node=\"{node}\",type=\"{}\"}} {:.3}",
                        type_short_name(ty),
                        now.duration_since(since).as_secs_f64()
                    );
                }
                if let Some(n) = &ts.last_nack {
                    let _ = writeln!(
                        nacks,
                        "sluice_xds_last_nack{{node=\"{node}\",type=\"{}\",nonce=\"{}\",message=\"{}\"}} 1",
                        type_short_name(ty),
                        label(&n.nonce),
                        label(&n.message)
                    );
                }
            }
        }
        metric(
            &mut out,
            "sluice_xds_last_nack",
            "gauge",
            "The last NACK per (node, type) on open streams.",
        );
        out.push_str(&nacks);
        out
    }
}

fn metric(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// A Prometheus label value: escaped, cut to `MAX_LABEL_CHARS` characters.
fn label(value: &str) -> String {
    let mut out = String::new();
    for c in value.chars().take(MAX_LABEL_CHARS) {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// One stream's handle on the stats; removes the stream's entry when dropped.
#[derive(Debug)]
pub(crate) struct StreamStats {
    stats: Arc<ServerStats>,
    id: u64,
}

impl StreamStats {
    pub fn id(&self) -> u64 {
        self.id
    }

    fn with<R>(&self, f: impl FnOnce(&mut Totals, &mut StreamEntry) -> R) -> Option<R> {
        let mut inner = self.stats.lock();
        let Inner {
            streams, totals, ..
        } = &mut *inner;
        streams.get_mut(&self.id).map(|s| f(totals, s))
    }

    /// Records the stream's node; returns whether an unknown node id is new to the log.
    pub fn set_node(&self, node_id: &str, gateway: Option<&GatewayId>) -> bool {
        let mut inner = self.stats.lock();
        if let Some(s) = inner.streams.get_mut(&self.id) {
            s.node_id = Some(node_id.to_string());
            s.gateway = gateway.cloned();
            s.unknown = gateway.is_none();
        }
        if gateway.is_some() {
            return false;
        }
        inner.totals.unknown_node_streams += 1;
        if inner.logged_unknown.len() >= MAX_LOGGED_UNKNOWN {
            return false;
        }
        inner.logged_unknown.insert(node_id.to_string())
    }

    pub fn sent(&self, ty: XdsType, version: &str, nonce: &str, resources: usize, removals: usize) {
        self.with(|t, s| {
            let i = type_index(ty);
            t.responses[i] += 1;
            t.resources_sent[i] += resources as u64;
            t.removals_sent[i] += removals as u64;
            let ts = &mut s.types[i];
            ts.responses += 1;
            ts.last_sent_version = Some(version.to_string());
            ts.last_sent_nonce = Some(nonce.to_string());
            ts.in_flight_since = Some(Instant::now());
        });
    }

    pub fn ack(&self, ty: XdsType, version: &str) {
        self.with(|t, s| {
            let i = type_index(ty);
            t.acks[i] += 1;
            let ts = &mut s.types[i];
            ts.acks += 1;
            ts.last_acked_version = Some(version.to_string());
            ts.in_flight_since = None;
        });
    }

    pub fn nack(&self, ty: XdsType, nonce: &str, message: &str) {
        self.with(|t, s| {
            let i = type_index(ty);
            t.nacks[i] += 1;
            let ts = &mut s.types[i];
            ts.nacks += 1;
            ts.last_nack = Some(Nack {
                nonce: nonce.to_string(),
                message: message.to_string(),
            });
            ts.in_flight_since = None;
        });
    }

    pub fn stale_nonce(&self) {
        self.with(|t, _| t.stale_nonces += 1);
    }

    pub fn invalid_request(&self) {
        self.with(|t, _| t.invalid_requests += 1);
    }

    pub fn permission_denied(&self) {
        self.with(|t, _| t.permission_denied += 1);
    }
}

impl Drop for StreamStats {
    fn drop(&mut self) {
        self.stats.lock().streams.remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_lifecycle_and_rendering() {
        let stats = Arc::new(ServerStats::default());
        let s = stats.open(StreamKind::Delta);
        assert!(!s.set_node("envoy-\"1\"", Some(&GatewayId::new("ns", "gw"))));
        s.sent(XdsType::Cluster, "v1", "1", 3, 0);
        s.nack(XdsType::Cluster, "1", "bad\ncluster");
        s.sent(XdsType::Listener, "v2", "2", 1, 0);
        let proxies = stats.proxies();
        assert_eq!(proxies.len(), 1);
        assert_eq!(proxies[0].types["cds"].nacks, 1);
        assert!(proxies[0].types["lds"].unacked_ms.is_some());
        let text = stats.render_prometheus();
        assert!(
            text.contains("sluice_xds_connected_streams{kind=\"delta\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("sluice_xds_nacks_total{type=\"cds\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("message=\"bad\\ncluster\""),
            "escaped NACK message: {text}"
        );
        assert!(
            text.contains("node=\"envoy-\\\"1\\\"\",type=\"lds\""),
            "{text}"
        );
        drop(s);
        assert_eq!(stats.connected(), 0);
        assert_eq!(stats.totals().resources_sent[0], 3);
    }

    #[test]
    fn unknown_nodes_are_logged_once() {
        let stats = Arc::new(ServerStats::default());
        let a = stats.open(StreamKind::Sotw);
        let b = stats.open(StreamKind::Sotw);
        assert!(a.set_node("x", None));
        assert!(!b.set_node("x", None));
        assert_eq!(stats.totals().unknown_node_streams, 2);
        assert!(
            stats
                .render_prometheus()
                .contains("sluice_xds_unknown_node_streams 2")
        );
    }
}
