//! The translators' output: an ordered, Envoy-shaped intermediate representation of xDS
//! resources (`xds`) and of the Kubernetes statuses sluice computes (`status`). `emit` turns the
//! xDS IR into protos; the IR itself holds only what the resource's content depends on, so an
//! unchanged IR value is an unchanged resource.

pub mod listener;
pub mod status;
pub mod xds;

pub use listener::*;
pub use status::*;
pub use xds::*;
