//! Backend: a destination that is not a Kubernetes Service (static hosts, cloud functions, …).

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::gateway_api::ConditionsStatus;

/// Spec of a Backend: exactly one of `static`, `aws`, `dynamicForwardProxy`, `gcp`,
/// `priorityGroups` is set (`type` is deprecated: it is inferred).
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[kube(
    group = "gateway.kgateway.dev",
    version = "v1alpha1",
    kind = "Backend",
    doc = "A destination that is not a Kubernetes Service.",
    plural = "backends",
    namespaced,
    status = "ConditionsStatus",
    derive = "PartialEq",
    category = "kgateway",
    printcolumn = r#"{"name":"Accepted","type":"string","jsonPath":".status.conditions[?(@.type=='Accepted')].status"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct BackendSpec {
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_: Option<BackendType>,
    #[serde(rename = "static", default, skip_serializing_if = "Option::is_none")]
    pub static_: Option<StaticBackend>,
    /// `{lambda{…}, ec2{…}, accountId, auth, region}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::preserve_unknown_fields")]
    pub aws: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamic_forward_proxy: Option<DynamicForwardProxyBackend>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gcp: Option<GcpBackend>,
    /// Ordered failover groups `[{backendRefs[]}]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "crate::schema::preserve_unknown_fields_list")]
    pub priority_groups: Vec<serde_json::Value>,
}

/// Deprecated explicit backend type.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, JsonSchema, PartialEq, Eq)]
pub enum BackendType {
    #[serde(rename = "AWS")]
    Aws,
    Static,
    DynamicForwardProxy,
    #[serde(rename = "GCP")]
    Gcp,
    PriorityGroups,
}

/// A fixed list of hosts (IPs → STATIC cluster, names → STRICT_DNS).
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StaticBackend {
    pub hosts: Vec<Host>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_protocol: Option<AppProtocol>,
}

/// A host and port.
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Host {
    pub host: String,
    pub port: i32,
}

/// Application protocol spoken to a static backend.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, JsonSchema, PartialEq, Eq)]
pub enum AppProtocol {
    #[serde(rename = "http2")]
    Http2,
    #[serde(rename = "grpc")]
    Grpc,
    #[serde(rename = "grpc-web")]
    GrpcWeb,
    #[serde(rename = "kubernetes.io/h2c")]
    KubernetesH2c,
    #[serde(rename = "kubernetes.io/ws")]
    KubernetesWs,
}

/// Forward to the host named by the request.
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DynamicForwardProxyBackend {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_tls: Option<bool>,
}

/// A GCP service authenticated with a Google identity token.
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GcpBackend {
    pub host: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
}
