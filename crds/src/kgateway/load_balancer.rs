//! BackendConfigPolicy `loadBalancer` and `healthCheck`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Load balancing: exactly one of the policy fields is set.
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LoadBalancer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthy_panic_threshold: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_merge_window: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub least_request: Option<LeastRequest>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round_robin: Option<RoundRobin>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ring_hash: Option<RingHash>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maglev: Option<Maglev>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub random: Option<RandomLoadBalancer>,
    /// `WeightedLb`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locality_type: Option<String>,
    /// `{preferLocal{force, minEndpointsThreshold, routingEnabled}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::preserve_unknown_fields")]
    pub zone_aware: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub close_connections_on_host_set_change: Option<bool>,
}

/// Least-request balancing; `choiceCount` defaults to 2.
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LeastRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choice_count: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slow_start: Option<SlowStart>,
}

/// Round-robin balancing.
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RoundRobin {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slow_start: Option<SlowStart>,
}

/// Ramp up traffic to new hosts over `window`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SlowStart {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<String>,
    /// A decimal number as a string, > 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggression: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_weight_percent: Option<i32>,
}

/// Consistent hashing on a ring.
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RingHash {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_ring_size: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_ring_size: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_hostname_for_hashing: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hash_policies: Vec<HashPolicy>,
}

/// Maglev consistent hashing.
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Maglev {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_hostname_for_hashing: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hash_policies: Vec<HashPolicy>,
}

/// Random balancing (no settings).
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq, Eq)]
pub struct RandomLoadBalancer {}

/// One component of the hash key: a header, a cookie or the source IP.
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HashPolicy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<HashHeader>,
    /// `{name, path, ttl, secure, httpOnly, sameSite}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::preserve_unknown_fields")]
    pub cookie: Option<serde_json::Value>,
    #[serde(rename = "sourceIP", default, skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<SourceIp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminal: Option<bool>,
}

/// Hash on a request header.
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HashHeader {
    pub name: String,
}

/// Hash on the source IP (no settings).
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq, Eq)]
pub struct SourceIp {}

/// Active health checking; exactly one of `http`, `grpc` is set.
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheck {
    pub timeout: String,
    pub interval: String,
    pub unhealthy_threshold: i32,
    pub healthy_threshold: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HealthCheckHttp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grpc: Option<HealthCheckGrpc>,
}

/// HTTP health check request.
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheckHttp {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    pub path: String,
    /// Defaults to GET.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<crate::gateway_api::HTTPMethod>,
}

/// gRPC health check request.
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheckGrpc {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority: Option<String>,
}
