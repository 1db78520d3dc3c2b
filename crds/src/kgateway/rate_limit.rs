//! TrafficPolicy `rateLimit`: local token buckets and global (external service) limits.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::NamespacedObjectReference;

/// Local and/or global rate limiting.
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RateLimit {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local: Option<LocalRateLimitPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global: Option<GlobalRateLimitPolicy>,
}

/// In-proxy token bucket.
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LocalRateLimitPolicy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_bucket: Option<TokenBucket>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent_enabled: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent_enforced: Option<i32>,
}

/// `maxTokens` burst, refilled by `tokensPerFill` (default 1) every `fillInterval` (≥ 50ms).
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TokenBucket {
    pub max_tokens: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_per_fill: Option<i32>,
    pub fill_interval: String,
}

/// Descriptors sent to the rate limit service named by `extensionRef`.
#[derive(Serialize, Deserialize, Clone, Debug, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GlobalRateLimitPolicy {
    pub descriptors: Vec<RateLimitDescriptor>,
    pub extension_ref: NamespacedObjectReference,
}

/// One rate limit descriptor.
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RateLimitDescriptor {
    pub entries: Vec<RateLimitDescriptorEntry>,
}

/// One entry of a descriptor; `generic` or `header` is set according to `type`.
#[derive(Serialize, Deserialize, Clone, Debug, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RateLimitDescriptorEntry {
    #[serde(rename = "type")]
    pub type_: RateLimitDescriptorEntryType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generic: Option<RateLimitDescriptorEntryGeneric>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
}

/// Source of a descriptor entry's value.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, JsonSchema, PartialEq, Eq)]
pub enum RateLimitDescriptorEntryType {
    Generic,
    Header,
    RemoteAddress,
    Path,
}

/// A static key/value descriptor entry.
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RateLimitDescriptorEntryGeneric {
    pub key: String,
    pub value: String,
}
