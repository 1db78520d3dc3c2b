//! TCPRoute: forwarding of TCP connections.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{BackendRef, ParentReference, RouteStatus};

/// Spec of a TCPRoute (`v1`; `v1alpha2` documents parse into it too).
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, JsonSchema, PartialEq)]
#[kube(
    group = "gateway.networking.k8s.io",
    version = "v1",
    kind = "TCPRoute",
    plural = "tcproutes",
    namespaced,
    status = "RouteStatus",
    derive = "PartialEq"
)]
#[serde(rename_all = "camelCase")]
pub struct TCPRouteSpec {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parent_refs: Vec<ParentReference>,
    pub rules: Vec<TCPRouteRule>,
}

/// One rule of a TCPRoute.
#[derive(Serialize, Deserialize, Clone, Debug, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TCPRouteRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub backend_refs: Vec<BackendRef>,
}
