//! sluice's translation core: the records objects are lowered to, the incremental dataflow
//! that maintains Envoy resources from them, and the IR it emits.
//!
//! ```text
//!                    GatewayClass
//!                         ▲ spec.gatewayClassName
//!   Namespace ──labels──▶ Gateway / Listener ◀── parentRefs ── HTTPRoute ── backendRefs ──▶ Service ◀── EndpointSlice
//!   Secret ◀─certificateRefs─┘                               │   │                 └────▶ Backend (kgateway)
//!                                                            │   └── extensionRef ──▶ DirectResponse
//!                        ReferenceGrant (permits cross-namespace refs) ┘
//! ```
//!
//! Owns: `model` (ordered records, interned keys), `lower` (object → records, pure),
//! `input` (events → exact changes), `render` (the dataflow's named operators), `ir` and
//! `output` (xDS IR + statuses, per-epoch batches), `sessions` (one input session per record
//! kind), `worker` (the synchronous timely driver).
//! Does not own: I/O of any kind, Envoy protos (`sluice-emit`), Kubernetes clients
//! (`sluice-ingest`), or the from-scratch reference translator (`sluice-proptests`).

/// `From<Inner>` for every `Enum::Variant(Arc<Inner>)` listed: wraps the value in its `Arc`.
macro_rules! from_arc_variants {
    ($enum:ident { $($variant:ident($inner:ty)),* $(,)? }) => {$(
        impl From<$inner> for $enum {
            fn from(v: $inner) -> $enum {
                $enum::$variant(std::sync::Arc::new(v))
            }
        }
    )*};
}

pub mod input;
pub mod ir;
pub mod lower;
pub mod model;
pub mod output;
pub mod render;
pub(crate) mod sessions;
pub mod worker;
