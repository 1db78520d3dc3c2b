//! Gateway API kinds (`gateway.networking.k8s.io`), matching the v1.6.1 standard-channel CRDs.
//!
//! Every kind is served as `v1`; [`ReferenceGrant`] also exists as `v1beta1`
//! ([`v1beta1::ReferenceGrant`]). Type names follow the Gateway API Go names so the spec can be
//! read side by side. All types are re-exported flat from this module.

mod backend_tls_policy;
mod gateway;
mod gateway_class;
mod grpc_route;
mod http_filter;
mod http_route;
mod listener;
mod listener_set;
mod reference_grant;
mod references;
mod status;
mod tcp_route;
mod tls_route;

pub use backend_tls_policy::*;
pub use gateway::*;
pub use gateway_class::*;
pub use grpc_route::*;
pub use http_filter::*;
pub use http_route::*;
pub use listener::*;
pub use listener_set::*;
pub use reference_grant::{
    ReferenceGrant, ReferenceGrantFrom, ReferenceGrantSpec, ReferenceGrantTo,
};
pub use references::*;
pub use status::*;
pub use tcp_route::*;
pub use tls_route::*;

/// The `v1beta1` versions of kinds whose `v1` is the main type.
pub mod v1beta1 {
    pub use super::reference_grant::v1beta1::{ReferenceGrant, ReferenceGrantSpec};
}

/// API group of every Gateway API kind.
pub const GROUP: &str = "gateway.networking.k8s.io";
