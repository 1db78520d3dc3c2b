//! Core Kubernetes kinds sluice watches, re-exported from k8s-openapi.

pub use k8s_openapi::api::core::v1::{Namespace, Secret, Service};
pub use k8s_openapi::api::discovery::v1::EndpointSlice;
