//! Status IR: what sluice reports on the objects it reconciles, in the Kubernetes shape
//! (without `lastTransitionTime`, which the status writer stamps).

use serde::{Deserialize, Serialize};

/// Kinds sluice writes status for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum StatusKind {
    GatewayClass,
    Gateway,
    HTTPRoute,
}

impl StatusKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StatusKind::GatewayClass => "GatewayClass",
            StatusKind::Gateway => "Gateway",
            StatusKind::HTTPRoute => "HTTPRoute",
        }
    }
}

/// The object a status belongs to (`namespace` empty for cluster-scoped kinds).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct StatusKey {
    pub kind: StatusKind,
    pub namespace: String,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Condition {
    #[serde(rename = "type")]
    pub type_: String,
    /// `"True"`, `"False"` or `"Unknown"`.
    pub status: String,
    pub reason: String,
    pub message: String,
    #[serde(rename = "observedGeneration")]
    pub observed_generation: i64,
}

impl Condition {
    pub fn new(
        type_: &str,
        ok: bool,
        reason: &str,
        message: impl Into<String>,
        generation: i64,
    ) -> Self {
        Condition {
            type_: type_.into(),
            status: if ok { "True" } else { "False" }.into(),
            reason: reason.into(),
            message: message.into(),
            observed_generation: generation,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteGroupKindIr {
    pub group: String,
    pub kind: String,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListenerStatusIr {
    pub name: String,
    pub supported_kinds: Vec<RouteGroupKindIr>,
    pub attached_routes: u32,
    pub conditions: Vec<Condition>,
}

/// A route's `parentRef` as echoed in its status.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParentRefIr {
    pub group: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub section_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteParentStatusIr {
    pub parent_ref: ParentRefIr,
    pub controller_name: String,
    pub conditions: Vec<Condition>,
}

/// The `status` stanza of one object.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StatusIr {
    GatewayClass {
        conditions: Vec<Condition>,
    },
    Gateway {
        conditions: Vec<Condition>,
        listeners: Vec<ListenerStatusIr>,
    },
    Route {
        parents: Vec<RouteParentStatusIr>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct StatusEntry {
    pub key: StatusKey,
    pub status: StatusIr,
}
