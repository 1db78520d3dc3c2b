//! Types shared by several kgateway kinds: policy targets, references, header edits.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A same-namespace policy target, optionally narrowed to a listener or rule name.
pub use crate::gateway_api::LocalPolicyTargetReferenceWithSectionName;

/// A same-namespace policy target.
#[derive(Serialize, Deserialize, Clone, Debug, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LocalPolicyTargetReference {
    pub group: String,
    pub kind: String,
    pub name: String,
}

/// Targets every object of `group`/`kind` in the policy's namespace carrying `matchLabels`.
#[derive(Serialize, Deserialize, Clone, Debug, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LocalPolicyTargetSelector {
    pub group: String,
    pub kind: String,
    pub match_labels: BTreeMap<String, String>,
}

/// As [`LocalPolicyTargetSelector`], optionally narrowed to a listener or rule name.
#[derive(Serialize, Deserialize, Clone, Debug, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LocalPolicyTargetSelectorWithSectionName {
    pub group: String,
    pub kind: String,
    pub match_labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section_name: Option<String>,
}

/// A reference by name; `namespace` defaults to the referencing object's namespace.
#[derive(Serialize, Deserialize, Clone, Debug, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NamespacedObjectReference {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// A reference to a Secret in the same namespace.
#[derive(Serialize, Deserialize, Clone, Debug, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LocalSecretReference {
    pub name: String,
}

/// `disable: {}`: switch off a filter inherited from a less specific attachment.
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq, Eq)]
pub struct PolicyDisable {}

/// Request and response header edits.
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HeaderModifiers {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<HeaderFilter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<HeaderFilter>,
    /// Where in the filter chain the edits happen (`{stage, predicate, weight}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::preserve_unknown_fields")]
    pub filter_stage: Option<serde_json::Value>,
}

/// Header edits whose values may come from a Secret.
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HeaderFilter {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub set: Vec<HeaderValue>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add: Vec<HeaderValue>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove: Vec<String>,
}

/// A header with an inline `value` or a `secretRef`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HeaderValue {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<SecretRefWithKey>,
}

/// A Secret, optionally one key of it.
#[derive(Serialize, Deserialize, Clone, Debug, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SecretRefWithKey {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// Route timeouts set by policy (duration strings such as `15s`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Timeouts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_idle: Option<String>,
}

/// A response body built from an Envoy format string (`text`) or object (`json`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BodyFormat {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::preserve_unknown_fields")]
    pub json: Option<serde_json::Value>,
}

/// TCP keepalive settings (listeners and upstream connections).
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TcpKeepalive {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_alive_probes: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_alive_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_alive_interval: Option<String>,
}
