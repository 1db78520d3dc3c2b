//! GatewayExtension: an external service (ext_authz, ext_proc, rate limit, JWT, OAuth2)
//! that policies refer to by `extensionRef`.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ExtAuthBufferSettings;
use crate::gateway_api::{BackendRef, ConditionsStatus};

/// Spec of a GatewayExtension: one provider field is set (`type` is deprecated).
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[kube(
    group = "gateway.kgateway.dev",
    version = "v1alpha1",
    kind = "GatewayExtension",
    doc = "An external service (ext_authz, ext_proc, rate limit, JWT, OAuth2) used by policies.",
    plural = "gatewayextensions",
    namespaced,
    status = "ConditionsStatus",
    derive = "PartialEq",
    category = "kgateway"
)]
#[serde(rename_all = "camelCase")]
pub struct GatewayExtensionSpec {
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_: Option<GatewayExtensionType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ext_auth: Option<ExtAuthProvider>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ext_proc: Option<ExtProcProvider>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimitProvider>,
    /// `{validationMode, providers[]{name, issuer, audiences, tokenSource, jwks, …}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::preserve_unknown_fields")]
    pub jwt: Option<serde_json::Value>,
    /// `{backendRef, authorizationEndpoint, tokenEndpoint, credentials, …}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::preserve_unknown_fields")]
    pub oauth2: Option<serde_json::Value>,
}

/// Deprecated provider type; has no effect.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, JsonSchema, PartialEq, Eq)]
pub enum GatewayExtensionType {
    ExtAuth,
    ExtProc,
    RateLimit,
    #[serde(rename = "JWT")]
    Jwt,
    OAuth2,
}

/// An Envoy gRPC service: the backend plus call settings.
#[derive(Serialize, Deserialize, Clone, Debug, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ExtGrpcService {
    pub backend_ref: BackendRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_timeout: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::preserve_unknown_fields")]
    pub retry: Option<serde_json::Value>,
}

/// An external authorization provider: a gRPC or HTTP service.
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ExtAuthProvider {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grpc_service: Option<ExtGrpcService>,
    /// `{backendRef, pathPrefix, requestTimeout, authorizationRequest, authorizationResponse,
    /// retry}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::preserve_unknown_fields")]
    pub http_service: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers_to_forward: Vec<String>,
    /// Defaults to false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_open: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clear_route_cache: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with_request_body: Option<ExtAuthBufferSettings>,
    /// Defaults to 403.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_on_error: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stat_prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percentage_enabled: Option<i32>,
}

/// An external processing provider.
#[derive(Serialize, Deserialize, Clone, Debug, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ExtProcProvider {
    pub grpc_service: ExtGrpcService,
    /// Defaults to true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_open: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::preserve_unknown_fields")]
    pub processing_mode: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_processing_mode_override: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "crate::schema::preserve_unknown_fields_list")]
    pub allowed_processing_mode_overrides: Vec<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_timeout: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_message_timeout: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stat_prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route_cache_action: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::preserve_unknown_fields")]
    pub metadata_options: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub request_attributes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::preserve_unknown_fields")]
    pub filter_stage: Option<serde_json::Value>,
}

/// A global rate limit service.
#[derive(Serialize, Deserialize, Clone, Debug, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RateLimitProvider {
    pub grpc_service: ExtGrpcService,
    pub domain: String,
    /// Defaults to true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_open: Option<bool>,
    /// Defaults to `100ms`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// `Off` or `DraftVersion03`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x_rate_limit_headers: Option<String>,
}
