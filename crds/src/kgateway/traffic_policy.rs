//! TrafficPolicy: HTTP behaviour attached to Gateways, listeners, routes and route rules.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{
    HeaderModifiers, LocalPolicyTargetReferenceWithSectionName,
    LocalPolicyTargetSelectorWithSectionName, NamespacedObjectReference, PolicyDisable, RateLimit,
    Timeouts, TransformationPolicy,
};
use crate::gateway_api::PolicyStatus;

/// Spec of a TrafficPolicy. Targets Gateways, HTTPRoutes, GRPCRoutes and ListenerSets
/// (`sectionName`: listener or rule name); also attachable through rule `extensionRef` filters.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[kube(
    group = "gateway.kgateway.dev",
    version = "v1alpha1",
    kind = "TrafficPolicy",
    doc = "HTTP behaviour (auth, rate limits, transformations, timeouts, …) for Gateways, listeners, routes and rules.",
    plural = "trafficpolicies",
    namespaced,
    status = "PolicyStatus",
    derive = "PartialEq",
    category = "kgateway",
    printcolumn = r#"{"name":"Accepted","type":"string","jsonPath":".status.ancestors[*].conditions[?(@.type=='Accepted')].status"}"#,
    printcolumn = r#"{"name":"Attached","type":"string","jsonPath":".status.ancestors[*].conditions[?(@.type=='Attached')].status"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct TrafficPolicySpec {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target_refs: Vec<LocalPolicyTargetReferenceWithSectionName>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target_selectors: Vec<LocalPolicyTargetSelectorWithSectionName>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transformation: Option<TransformationPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ext_proc: Option<ExtProcPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ext_auth: Option<ExtAuthPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimit>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cors: Option<CorsPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csrf: Option<CsrfPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_modifiers: Option<HeaderModifiers>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_host_rewrite: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buffer: Option<Buffer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeouts: Option<Timeouts>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<Retry>,
    /// `{redirectResponseCodes, allowCrossSchemeRedirect, responseHeadersToCopy, maxRedirects}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::preserve_unknown_fields")]
    pub internal_redirect: Option<serde_json::Value>,
    /// `{policy.matchExpressions[] (CEL), action: Allow|Deny}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::preserve_unknown_fields")]
    pub rbac: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwt_auth: Option<ExtensionRefPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_rewrite: Option<UrlRewrite>,
    /// `{responseCompression{libraries, …, disable}, requestDecompression{libraries, disable}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::preserve_unknown_fields")]
    pub compression: Option<serde_json::Value>,
    /// `{users[] | secretRef{name, namespace, key}, disable}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::preserve_unknown_fields")]
    pub basic_auth: Option<serde_json::Value>,
    /// `{keySources[], forwardCredential, clientIdHeader, secretRef|secretSelector|disable}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::preserve_unknown_fields")]
    pub api_key_auth: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth2: Option<ExtensionRefPolicy>,
    /// Per-route tracing overrides `{clientSampling, randomSampling, …, disable}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::preserve_unknown_fields")]
    pub tracing: Option<serde_json::Value>,
    /// `{delay, abort, responseRateLimit, maxActiveFaults, disable}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::preserve_unknown_fields")]
    pub fault_injection: Option<serde_json::Value>,
    /// IP access control `{defaultAction, rules[], denyResponse}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::preserve_unknown_fields")]
    pub acl: Option<serde_json::Value>,
    /// Route stat prefix template (`{{route_name}}`, `{{route_namespace}}`, `{{rule_name}}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stat_prefix: Option<String>,
}

/// External processing through a GatewayExtension.
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ExtProcPolicy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension_ref: Option<NamespacedObjectReference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::preserve_unknown_fields")]
    pub processing_mode: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable: Option<PolicyDisable>,
}

/// External authorization through a GatewayExtension.
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ExtAuthPolicy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension_ref: Option<NamespacedObjectReference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with_request_body: Option<ExtAuthBufferSettings>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub context_extensions: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable: Option<PolicyDisable>,
}

/// How much of the request body is sent to the authorization service.
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ExtAuthBufferSettings {
    pub max_request_bytes: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_partial_message: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pack_as_bytes: Option<bool>,
}

/// A filter whose provider lives in a GatewayExtension (JWT, OAuth2).
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ExtensionRefPolicy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension_ref: Option<NamespacedObjectReference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable: Option<PolicyDisable>,
}

/// Gateway API's CORS filter fields, plus `disable`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CorsPolicy {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_origins: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_credentials: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_methods: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_headers: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expose_headers: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable: Option<PolicyDisable>,
}

/// Cross-site request forgery protection.
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CsrfPolicy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percentage_enabled: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percentage_shadowed: Option<i32>,
    /// String matchers `{exact|prefix|suffix|contains|safeRegex, ignoreCase}`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "crate::schema::preserve_unknown_fields_list")]
    pub additional_origins: Vec<serde_json::Value>,
}

/// Request buffering; larger requests get 413.
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Buffer {
    /// A byte count or quantity such as `1Mi`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_request_size: Option<IntOrString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable: Option<PolicyDisable>,
}

/// Retry policy, applied when the route does not set one.
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Retry {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retry_on: Vec<RetryOnCondition>,
    /// Defaults to 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_try_timeout: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub status_codes: Vec<i32>,
    /// Defaults to `25ms`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff_base_interval: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retry_host_predicates: Vec<RetryHostPredicate>,
}

/// Envoy `retry_on` conditions.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum RetryOnCondition {
    #[serde(rename = "5xx")]
    FiveXx,
    GatewayError,
    Reset,
    ResetBeforeRequest,
    ConnectFailure,
    EnvoyRatelimited,
    #[serde(rename = "retriable-4xx")]
    Retriable4xx,
    RefusedStream,
    RetriableStatusCodes,
    Http3PostConnectFailure,
    Cancelled,
    DeadlineExceeded,
    Internal,
    ResourceExhausted,
    Unavailable,
}

/// Hosts to avoid when retrying.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, JsonSchema, PartialEq, Eq)]
pub enum RetryHostPredicate {
    PreviousHosts,
    OmitCanaryHosts,
}

/// Regex path rewrite.
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct UrlRewrite {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_regex: Option<PathRegexRewrite>,
}

/// Replace matches of `pattern` (RE2) in the path by `substitution`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PathRegexRewrite {
    pub pattern: String,
    pub substitution: String,
}
