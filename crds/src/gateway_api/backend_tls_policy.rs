//! BackendTLSPolicy: how the Gateway validates TLS toward a backend Service.

use std::collections::BTreeMap;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{LocalObjectReference, LocalPolicyTargetReferenceWithSectionName, PolicyStatus};

/// Spec of a BackendTLSPolicy.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, JsonSchema, PartialEq)]
#[kube(
    group = "gateway.networking.k8s.io",
    version = "v1",
    kind = "BackendTLSPolicy",
    plural = "backendtlspolicies",
    namespaced,
    status = "PolicyStatus",
    derive = "PartialEq"
)]
#[serde(rename_all = "camelCase")]
pub struct BackendTLSPolicySpec {
    pub target_refs: Vec<LocalPolicyTargetReferenceWithSectionName>,
    pub validation: BackendTLSPolicyValidation,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
}

/// Trust anchors and identity expected from the backend.
#[derive(Serialize, Deserialize, Clone, Debug, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BackendTLSPolicyValidation {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ca_certificate_refs: Vec<LocalObjectReference>,
    /// `System`, or empty.
    #[serde(
        rename = "wellKnownCACertificates",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub well_known_ca_certificates: Option<String>,
    /// SNI, and the name the certificate must match unless `subjectAltNames` is set.
    pub hostname: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subject_alt_names: Vec<SubjectAltName>,
}

/// A subject alternative name the backend certificate must carry.
#[derive(Serialize, Deserialize, Clone, Debug, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SubjectAltName {
    #[serde(rename = "type")]
    pub type_: SubjectAltNameType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
}

/// Which field of [`SubjectAltName`] applies.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, JsonSchema, PartialEq, Eq)]
pub enum SubjectAltNameType {
    Hostname,
    #[serde(rename = "URI")]
    Uri,
}
