//! HTTPRoute: HTTP routing rules attached to Gateway listeners.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{HTTPRouteFilter, ParentReference, RouteStatus};

fn default_rules() -> Vec<HTTPRouteRule> {
    vec![HTTPRouteRule::default()]
}

fn default_matches() -> Vec<HTTPRouteMatch> {
    vec![HTTPRouteMatch::default()]
}

fn default_path() -> Option<HTTPPathMatch> {
    Some(HTTPPathMatch::default())
}

fn default_weight() -> i32 {
    1
}

/// Spec of an HTTPRoute. An omitted `rules` list means one rule matching every path.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, JsonSchema, PartialEq)]
#[kube(
    group = "gateway.networking.k8s.io",
    version = "v1",
    kind = "HTTPRoute",
    plural = "httproutes",
    namespaced,
    status = "RouteStatus",
    derive = "PartialEq"
)]
#[serde(rename_all = "camelCase")]
pub struct HTTPRouteSpec {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parent_refs: Vec<ParentReference>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hostnames: Vec<String>,
    #[serde(default = "default_rules")]
    pub rules: Vec<HTTPRouteRule>,
}

/// One rule: requests matching any of `matches` are filtered and sent to `backendRefs`.
#[derive(Serialize, Deserialize, Clone, Debug, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HTTPRouteRule {
    /// Section name for policy attachment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Defaults to one match on path prefix `/`.
    #[serde(default = "default_matches")]
    pub matches: Vec<HTTPRouteMatch>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<HTTPRouteFilter>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub backend_refs: Vec<HTTPBackendRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeouts: Option<HTTPRouteTimeouts>,
    /// Experimental channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<HTTPRouteRetry>,
    /// Experimental channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_persistence: Option<SessionPersistence>,
}

impl Default for HTTPRouteRule {
    fn default() -> Self {
        Self {
            name: None,
            matches: default_matches(),
            filters: Vec::new(),
            backend_refs: Vec::new(),
            timeouts: None,
            retry: None,
            session_persistence: None,
        }
    }
}

/// Conditions a request must all meet. An omitted `path` means prefix `/`.
#[derive(Serialize, Deserialize, Clone, Debug, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HTTPRouteMatch {
    #[serde(default = "default_path", skip_serializing_if = "Option::is_none")]
    pub path: Option<HTTPPathMatch>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<HTTPHeaderMatch>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub query_params: Vec<HTTPQueryParamMatch>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<HTTPMethod>,
}

impl Default for HTTPRouteMatch {
    fn default() -> Self {
        Self {
            path: default_path(),
            headers: Vec::new(),
            query_params: Vec::new(),
            method: None,
        }
    }
}

/// A path match; defaults to prefix `/`.
#[derive(Serialize, Deserialize, Clone, Debug, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HTTPPathMatch {
    #[serde(rename = "type", default)]
    pub type_: PathMatchType,
    #[serde(default = "slash")]
    pub value: String,
}

fn slash() -> String {
    "/".to_owned()
}

impl Default for HTTPPathMatch {
    fn default() -> Self {
        Self {
            type_: PathMatchType::PathPrefix,
            value: slash(),
        }
    }
}

/// How a path is compared.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, JsonSchema, PartialEq, Eq)]
pub enum PathMatchType {
    Exact,
    #[default]
    PathPrefix,
    RegularExpression,
}

/// A header match; `type` defaults to `Exact`.
#[derive(Serialize, Deserialize, Clone, Debug, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HTTPHeaderMatch {
    #[serde(rename = "type", default)]
    pub type_: HeaderMatchType,
    pub name: String,
    pub value: String,
}

/// A query parameter match has the same shape as a header match.
pub type HTTPQueryParamMatch = HTTPHeaderMatch;

/// How a header, query parameter or gRPC method is compared.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, JsonSchema, PartialEq, Eq)]
pub enum HeaderMatchType {
    #[default]
    Exact,
    RegularExpression,
}

/// Request methods an HTTPRoute can match.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "UPPERCASE")]
pub enum HTTPMethod {
    Get,
    Head,
    Post,
    Put,
    Delete,
    Connect,
    Options,
    Trace,
    Patch,
}

/// A weighted backend with per-backend filters; `weight` defaults to 1.
#[derive(Serialize, Deserialize, Clone, Debug, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HTTPBackendRef {
    #[serde(default)]
    pub group: String,
    #[serde(default = "service_kind")]
    pub kind: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<i32>,
    #[serde(default = "default_weight")]
    pub weight: i32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<HTTPRouteFilter>,
}

fn service_kind() -> String {
    "Service".to_owned()
}

/// Gateway API duration strings (GEP-2257), e.g. `10s`, `500ms`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HTTPRouteTimeouts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend_request: Option<String>,
}

/// Retry policy of a rule (experimental channel).
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HTTPRouteRetry {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub codes: Vec<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff: Option<String>,
}

/// Session persistence of a rule (experimental channel).
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SessionPersistence {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub absolute_timeout: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_timeout: Option<String>,
    /// `Cookie` (default) or `Header`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookie_config: Option<CookieConfig>,
}

/// Cookie settings of [`SessionPersistence`].
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CookieConfig {
    /// `Permanent` or `Session`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifetime_type: Option<String>,
}
