//! kgateway policy kinds (`gateway.kgateway.dev/v1alpha1`), so that manifests written for
//! kgateway v2.x load unchanged.
//!
//! Commonly used fields are typed; deeply nested, rarely used sub-objects are kept as
//! [`serde_json::Value`] (schema: `x-kubernetes-preserve-unknown-fields`) so no content is
//! lost. Policies report [`PolicyStatus`](crate::gateway_api::PolicyStatus) (`ancestors`);
//! Backend, GatewayExtension and GatewayParameters report plain conditions.

mod backend;
mod backend_config_policy;
mod crds;
mod direct_response;
mod gateway_extension;
mod gateway_parameters;
mod http_listener_policy;
mod http_settings;
mod listener_policy;
mod load_balancer;
mod rate_limit;
mod shared;
mod traffic_policy;
mod transformation;

pub use backend::*;
pub use backend_config_policy::*;
pub use crds::{kgateway_crds, kgateway_crds_yaml};
pub use direct_response::*;
pub use gateway_extension::*;
pub use gateway_parameters::*;
pub use http_listener_policy::*;
pub use http_settings::*;
pub use listener_policy::*;
pub use load_balancer::*;
pub use rate_limit::*;
pub use shared::*;
pub use traffic_policy::*;
pub use transformation::*;

/// API group of every kgateway kind.
pub const GROUP: &str = "gateway.kgateway.dev";
/// The only served version.
pub const VERSION: &str = "v1alpha1";
