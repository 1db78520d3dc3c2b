//! HTTPListenerPolicy (deprecated in favour of `ListenerPolicy.*.httpSettings`).

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{HttpSettings, LocalPolicyTargetReference, LocalPolicyTargetSelector};
use crate::gateway_api::PolicyStatus;

/// Spec of an HTTPListenerPolicy: Gateway targets (no `sectionName`) and inline
/// [`HttpSettings`].
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[kube(
    group = "gateway.kgateway.dev",
    version = "v1alpha1",
    kind = "HTTPListenerPolicy",
    doc = "Deprecated: HTTP connection manager settings for the listeners of a Gateway.",
    plural = "httplistenerpolicies",
    namespaced,
    status = "PolicyStatus",
    derive = "PartialEq",
    category = "kgateway",
    printcolumn = r#"{"name":"Accepted","type":"string","jsonPath":".status.ancestors[*].conditions[?(@.type=='Accepted')].status"}"#,
    printcolumn = r#"{"name":"Attached","type":"string","jsonPath":".status.ancestors[*].conditions[?(@.type=='Attached')].status"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct HTTPListenerPolicySpec {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target_refs: Vec<LocalPolicyTargetReference>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target_selectors: Vec<LocalPolicyTargetSelector>,
    #[serde(flatten)]
    pub http_settings: HttpSettings,
}
