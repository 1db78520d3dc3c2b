//! DirectResponse: a fixed response, attached to route rules by `extensionRef`.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::BodyFormat;
use crate::gateway_api::PolicyStatus;

/// Spec of a DirectResponse: a status code and at most one of `body`, `bodyFormat`.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[kube(
    group = "gateway.kgateway.dev",
    version = "v1alpha1",
    kind = "DirectResponse",
    doc = "A fixed HTTP response for route rules that reference it.",
    plural = "directresponses",
    namespaced,
    status = "PolicyStatus",
    derive = "PartialEq",
    category = "kgateway",
    printcolumn = r#"{"name":"Accepted","type":"string","jsonPath":".status.ancestors[*].conditions[?(@.type=='Accepted')].status"}"#,
    printcolumn = r#"{"name":"Attached","type":"string","jsonPath":".status.ancestors[*].conditions[?(@.type=='Attached')].status"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct DirectResponseSpec {
    /// The HTTP status code (200–599), serialized as `status`.
    #[serde(rename = "status")]
    pub status_code: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_format: Option<BodyFormat>,
}
