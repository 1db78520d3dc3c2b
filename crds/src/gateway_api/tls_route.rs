//! TLSRoute: routing of TLS connections by SNI.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{BackendRef, ParentReference, RouteStatus};

/// Spec of a TLSRoute (`v1`; `v1alpha2`/`v1alpha3` documents parse into it too).
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, JsonSchema, PartialEq)]
#[kube(
    group = "gateway.networking.k8s.io",
    version = "v1",
    kind = "TLSRoute",
    plural = "tlsroutes",
    namespaced,
    status = "RouteStatus",
    derive = "PartialEq"
)]
#[serde(rename_all = "camelCase")]
pub struct TLSRouteSpec {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parent_refs: Vec<ParentReference>,
    /// SNI hostnames; required in `v1`, optional in the alpha versions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hostnames: Vec<String>,
    pub rules: Vec<TLSRouteRule>,
}

/// One rule of a TLSRoute.
#[derive(Serialize, Deserialize, Clone, Debug, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TLSRouteRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub backend_refs: Vec<BackendRef>,
}
