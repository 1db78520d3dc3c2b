//! Kubernetes as a source: one kube-runtime watcher per kind sluice reads, translated into
//! input-event batches.
//!
//! ```text
//!  watcher(GatewayClass) ─┐                          ┌──────────────┐
//!  watcher(Gateway)      ─┤ (kind, Event) channel    │ Translator   │  Batcher (window)  ┌───────┐
//!  …  21 kinds           ─┼─────────────────────────▶│ per-kind     ├───────────────────▶│ Batch │──▶ out
//!  watcher(Namespace)    ─┘                          │ state, diffs │                    └───────┘
//!       │ errors (counted, backoff)                   └──────┬───────┘
//!       └──────────────────────────▶ SyncStatus ◀────────────┘ InitDone ⇒ Synced
//! ```
//!
//! * Every kind is watched through `Api::<DynamicObject>::all_with` and an [`ApiResource`] built
//!   from the `sluice-crds` type of the kind, so one code path serves all kinds.
//! * Watchers use `watcher::Config::default()` (bookmarks on, `MostRecent` list semantic,
//!   `ListWatch` with pages of 500) and `.default_backoff()`; their error items are counted and
//!   reported in [`SyncStatus`], never propagated (the stream recovers on the next poll).
//! * Secrets are watched with the field selector `type=kubernetes.io/tls` by default (Gateway
//!   API certificate references are TLS Secrets), so other Secrets never reach the process.
//! * Nothing is sent before every kind has completed its first list: the first batch holds
//!   the whole initial state (one epoch). Afterwards one batch per window.

mod source;
mod sync;

pub use source::{
    Batch, SourceConfig, run_cluster_source, run_cluster_source_with, watcher_config,
};
pub use sync::{KindSync, SyncStatus, failure_reason};

use kube::Resource;
use kube::api::ApiResource;
use sluice_crds::Kind;
use sluice_crds::core::{EndpointSlice, Namespace, Secret, Service};
use sluice_crds::gateway_api::{
    BackendTLSPolicy, GRPCRoute, Gateway, GatewayClass, HTTPRoute, ListenerSet, ReferenceGrant,
    TCPRoute, TLSRoute,
};
use sluice_crds::kgateway::{
    Backend, BackendConfigPolicy, DirectResponse, GatewayExtension, GatewayParameters,
    HTTPListenerPolicy, ListenerPolicy, TrafficPolicy,
};

/// The group, version, kind and plural sluice watches `kind` as (the typed representation's).
pub fn api_resource(kind: Kind) -> ApiResource {
    fn of<K: Resource<DynamicType = ()>>() -> ApiResource {
        ApiResource::erase::<K>(&())
    }
    match kind {
        Kind::GatewayClass => of::<GatewayClass>(),
        Kind::Gateway => of::<Gateway>(),
        Kind::ListenerSet => of::<ListenerSet>(),
        Kind::HTTPRoute => of::<HTTPRoute>(),
        Kind::GRPCRoute => of::<GRPCRoute>(),
        Kind::TLSRoute => of::<TLSRoute>(),
        Kind::TCPRoute => of::<TCPRoute>(),
        Kind::ReferenceGrant => of::<ReferenceGrant>(),
        Kind::BackendTLSPolicy => of::<BackendTLSPolicy>(),
        Kind::Service => of::<Service>(),
        Kind::EndpointSlice => of::<EndpointSlice>(),
        Kind::Secret => of::<Secret>(),
        Kind::Namespace => of::<Namespace>(),
        Kind::TrafficPolicy => of::<TrafficPolicy>(),
        Kind::ListenerPolicy => of::<ListenerPolicy>(),
        Kind::HTTPListenerPolicy => of::<HTTPListenerPolicy>(),
        Kind::Backend => of::<Backend>(),
        Kind::BackendConfigPolicy => of::<BackendConfigPolicy>(),
        Kind::GatewayExtension => of::<GatewayExtension>(),
        Kind::GatewayParameters => of::<GatewayParameters>(),
        Kind::DirectResponse => of::<DirectResponse>(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_resources_match_the_kinds() {
        for &kind in Kind::all() {
            let r = api_resource(kind);
            assert_eq!(r.kind, kind.as_str());
            assert_eq!(r.api_version, kind.api_version(), "{kind}");
            assert_eq!(r.group, kind.group(), "{kind}");
        }
        assert_eq!(
            api_resource(Kind::GatewayParameters).plural,
            "gatewayparameters"
        );
        assert_eq!(api_resource(Kind::EndpointSlice).plural, "endpointslices");
        assert_eq!(
            api_resource(Kind::BackendTLSPolicy).plural,
            "backendtlspolicies"
        );
    }
}
