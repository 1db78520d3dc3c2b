//! The admin endpoint: `/healthz`, `/readyz`, `/metrics` (Prometheus text), `/debug/xds`
//! (every current resource, in exactly the JSON shape of `sluice translate -o json`) and
//! `/debug/xds?node=ns/name` (one proxy's view), private keys redacted; `/debug/xds` is left
//! out with `--no-debug-xds`. The admin endpoint never shares the xDS port.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};

use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use sluice_dataflow::output::Snapshot;
use sluice_emit::cache::GatewayId;
use sluice_emit::server::{ResourceSource, ServerStats, SharedCache};
use sluice_ingest::kube::SyncStatus;

use super::metrics::ServeMetrics;

/// What the admin endpoint reads; written by the compile loop.
pub struct AdminState {
    pub snapshot: RwLock<Snapshot>,
    pub metrics: Mutex<ServeMetrics>,
    pub cache: SharedCache,
    pub stats: Arc<ServerStats>,
    /// Why the server is not ready yet (`None` once the first compile is published).
    pub waiting_for: RwLock<Option<String>>,
    /// The cluster source's per-kind sync state (cluster mode only).
    pub sync: RwLock<Option<Arc<SyncStatus>>>,
}

#[derive(Deserialize)]
struct XdsQuery {
    node: Option<String>,
}

pub async fn serve(
    addr: SocketAddr,
    state: Arc<AdminState>,
    debug_xds: bool,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut app = axum::Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics));
    if debug_xds {
        app = app.route("/debug/xds", get(self::debug_xds));
    }
    let app = app.with_state(state);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

async fn readyz(State(s): State<Arc<AdminState>>) -> Response {
    match s
        .waiting_for
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
    {
        None => (StatusCode::OK, "ready\n").into_response(),
        Some(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {why}\n"),
        )
            .into_response(),
    }
}

async fn metrics(State(s): State<Arc<AdminState>>) -> Response {
    let mut text = s.metrics.lock().unwrap_or_else(|e| e.into_inner()).render();
    text.push_str(&s.stats.render_prometheus());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

async fn debug_xds(State(s): State<Arc<AdminState>>, Query(q): Query<XdsQuery>) -> Response {
    let snapshot = s.snapshot.read().unwrap_or_else(|e| e.into_inner());
    let doc = match q.node {
        None => sluice_emit::dump::xds_json(
            snapshot.resources.values(),
            snapshot.statuses.iter().map(|(k, s)| (k, &**s)),
            sluice_emit::dump::Keys::Redact,
        ),
        Some(node) => {
            let Some(gw) = GatewayId::parse(&node) else {
                return (StatusCode::BAD_REQUEST, "node must be namespace/name\n").into_response();
            };
            let view = s.cache.read(|c| c.view(&gw));
            let resources = view
                .values()
                .flat_map(|by_name| by_name.values())
                .filter_map(|e| {
                    snapshot.resources.get(&sluice_dataflow::ir::XdsKey {
                        ty: e.ty,
                        name: e.name.clone(),
                    })
                });
            sluice_emit::dump::xds_json(
                resources,
                std::iter::empty(),
                sluice_emit::dump::Keys::Redact,
            )
        }
    };
    (
        [(header::CONTENT_TYPE, "application/json")],
        doc.to_string(),
    )
        .into_response()
}
