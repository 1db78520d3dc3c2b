//! ListenerPolicy: Envoy listener settings for the listeners of targeted Gateways.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{
    HttpSettings, LocalPolicyTargetReferenceWithSectionName,
    LocalPolicyTargetSelectorWithSectionName, TcpKeepalive,
};
use crate::gateway_api::PolicyStatus;

/// Spec of a ListenerPolicy. Targets Gateways only (`sectionName`: listener name).
///
/// A `perPort` entry completely replaces `default` for listeners on that port: its unset
/// fields do not inherit from `default`.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[kube(
    group = "gateway.kgateway.dev",
    version = "v1alpha1",
    kind = "ListenerPolicy",
    doc = "Envoy listener settings for the listeners of a Gateway.",
    plural = "listenerpolicies",
    namespaced,
    status = "PolicyStatus",
    derive = "PartialEq",
    category = "kgateway",
    printcolumn = r#"{"name":"Accepted","type":"string","jsonPath":".status.ancestors[*].conditions[?(@.type=='Accepted')].status"}"#,
    printcolumn = r#"{"name":"Attached","type":"string","jsonPath":".status.ancestors[*].conditions[?(@.type=='Attached')].status"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct ListenerPolicySpec {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target_refs: Vec<LocalPolicyTargetReferenceWithSectionName>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target_selectors: Vec<LocalPolicyTargetSelectorWithSectionName>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<ListenerDefaultConfig>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub per_port: Vec<ListenerPortConfig>,
}

/// Listener settings for one port.
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ListenerPortConfig {
    pub port: i32,
    pub listener: ListenerConfig,
}

/// Listener settings.
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ListenerConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_protocol: Option<ProxyProtocolConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_keepalive: Option<TcpKeepalive>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_connection_buffer_limit_bytes: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport_socket_connect_timeout: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_settings: Option<HttpSettings>,
}

/// The default listener settings: [`ListenerConfig`] plus client certificate validation.
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ListenerDefaultConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_protocol: Option<ProxyProtocolConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp_keepalive: Option<TcpKeepalive>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_connection_buffer_limit_bytes: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport_socket_connect_timeout: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_settings: Option<HttpSettings>,
    /// `{mode, caCertificateRefs}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::preserve_unknown_fields")]
    pub client_certificate_validation: Option<serde_json::Value>,
}

impl ListenerDefaultConfig {
    /// The settings shared with per-port configuration.
    pub fn listener_config(&self) -> ListenerConfig {
        ListenerConfig {
            proxy_protocol: self.proxy_protocol.clone(),
            tcp_keepalive: self.tcp_keepalive.clone(),
            per_connection_buffer_limit_bytes: self.per_connection_buffer_limit_bytes,
            transport_socket_connect_timeout: self.transport_socket_connect_timeout.clone(),
            http_settings: self.http_settings.clone(),
        }
    }
}

/// Presence enables the PROXY protocol listener filter.
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ProxyProtocolConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_requests_without_proxy_protocol: Option<bool>,
}
