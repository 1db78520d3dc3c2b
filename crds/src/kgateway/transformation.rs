//! TrafficPolicy `transformation`: template-driven header and body rewriting.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Request and response transformations.
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TransformationPolicy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<Transform>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<Transform>,
}

/// Operations on one direction of the exchange.
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Transform {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub set: Vec<HeaderTransformation>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add: Vec<HeaderTransformation>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<BodyTransformation>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dynamic_metadata: Vec<DynamicMetadataTransformation>,
}

/// A header whose value is a template.
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HeaderTransformation {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// How the body is parsed, and optionally a template producing the new body.
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BodyTransformation {
    #[serde(default)]
    pub parse_as: BodyParseBehavior,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// Body parsing mode; `None` skips buffering.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, JsonSchema, PartialEq, Eq)]
pub enum BodyParseBehavior {
    #[default]
    AsString,
    AsJson,
    None,
}

/// One dynamic metadata entry to set.
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DynamicMetadataTransformation {
    pub namespace: String,
    pub key: String,
    pub value: DynamicMetadataValue,
}

/// The value of a dynamic metadata entry.
#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DynamicMetadataValue {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub string_value: Option<String>,
}
