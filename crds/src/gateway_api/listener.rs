//! Listeners, shared by Gateway (`spec.listeners`) and ListenerSet (`spec.listeners`).

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{RouteGroupKind, SecretObjectReference};

/// One logical endpoint of a Gateway: a port, a protocol and optionally a hostname.
#[derive(Serialize, Deserialize, Clone, Debug, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Listener {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    pub port: i32,
    /// `HTTP`, `HTTPS`, `TLS`, `TCP`, `UDP` or an implementation-specific domain-prefixed name.
    pub protocol: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<ListenerTLSConfig>,
    /// Defaults to routes from the listener's own namespace, of any kind the protocol allows.
    #[serde(default)]
    pub allowed_routes: AllowedRoutes,
}

/// A ListenerSet entry has exactly the shape of a Gateway listener.
pub type ListenerEntry = Listener;

/// TLS settings of a listener.
#[derive(Serialize, Deserialize, Clone, Debug, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ListenerTLSConfig {
    #[serde(default)]
    pub mode: TLSModeType,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub certificate_refs: Vec<SecretObjectReference>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
}

/// Whether a TLS listener terminates TLS or passes it through.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, JsonSchema, PartialEq, Eq)]
pub enum TLSModeType {
    #[default]
    Terminate,
    Passthrough,
}

/// Which routes may attach to a listener.
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AllowedRoutes {
    #[serde(default)]
    pub namespaces: RouteNamespaces,
    /// Empty means "the kinds the listener protocol supports".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kinds: Vec<RouteGroupKind>,
}

/// Namespaces routes may attach from.
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RouteNamespaces {
    #[serde(default)]
    pub from: FromNamespaces,
    /// Used when `from` is `Selector`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
}

/// Namespace scope of `allowedRoutes`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, JsonSchema, PartialEq, Eq)]
pub enum FromNamespaces {
    All,
    Selector,
    #[default]
    Same,
}
