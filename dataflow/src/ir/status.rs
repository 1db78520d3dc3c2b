//! Status IR: what sluice reports on the objects it reconciles, in the Kubernetes shape
//! (without `lastTransitionTime`, which the status writer stamps).

use serde::{Deserialize, Serialize};

/// Kinds sluice writes status for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum StatusKind {
    GatewayClass,
    Gateway,
    HTTPRoute,
    /// A kgateway policy-like kind (`gateway.kgateway.dev`).
    Kgateway(crate::model::PolicyKind),
}

impl StatusKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StatusKind::GatewayClass => "GatewayClass",
            StatusKind::Gateway => "Gateway",
            StatusKind::HTTPRoute => "HTTPRoute",
            StatusKind::Kgateway(k) => k.as_str(),
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

/// kgateway's route condition (v2.4+: `Accepted` says the route is valid, this one that its
/// rules are programmed). sluice replaces no rule, so it is True wherever the route is accepted.
pub const KGATEWAY_PROGRAMMED: &str = "kgateway.dev/Programmed";

/// The Gateway-level `ResolvedRefs` kgateway reports beside Gateway API's listener-level ones:
/// True when every listener's references resolved.
pub fn gateway_resolved_refs(listeners: &[ListenerStatusIr], generation: i64) -> Condition {
    let resolved = listeners
        .iter()
        .flat_map(|l| &l.conditions)
        .all(|c| c.type_ != "ResolvedRefs" || c.status == "True");
    if resolved {
        Condition::new("ResolvedRefs", true, "ResolvedRefs", "resolved", generation)
    } else {
        Condition::new(
            "ResolvedRefs",
            false,
            "ListenersNotResolved",
            "a listener's references did not resolve",
            generation,
        )
    }
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
///
/// Serialized by [`wire`]: absent options are omitted in JSON only.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ParentRefIr {
    pub group: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub section_name: Option<String>,
    pub port: Option<u16>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteParentStatusIr {
    pub parent_ref: ParentRefIr,
    pub controller_name: String,
    pub conditions: Vec<Condition>,
}

/// One `status.ancestors[]` entry of a policy.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyAncestorStatusIr {
    pub ancestor_ref: ParentRefIr,
    pub controller_name: String,
    pub conditions: Vec<Condition>,
}

/// The `status` stanza of one object.
///
/// Serialized by [`wire`]: untagged (the Kubernetes shape) in JSON, tagged in binary.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StatusIr {
    /// Also the shape of GatewayExtension's and GatewayParameters' status.
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
    /// A kgateway policy's `ancestors`.
    Policy {
        ancestors: Vec<PolicyAncestorStatusIr>,
    },
}

/// For a kgateway policy-like object that is not fully in effect: a one-line warning naming
/// the object and why (the fields without effect, or that it reaches no Gateway).
pub fn policy_warning(key: &StatusKey, status: &StatusIr) -> Option<String> {
    let StatusKind::Kgateway(kind) = key.kind else {
        return None;
    };
    let who = format!("{} {}/{}", kind.as_str(), key.namespace, key.name);
    let not_accepted = |conditions: &[Condition]| {
        conditions
            .iter()
            .find(|c| c.type_ == "Accepted" && c.status != "True")
            .map(|c| format!("{who}: {}: {}", c.reason, c.message))
    };
    match status {
        StatusIr::Policy { ancestors } if ancestors.is_empty() => (kind
            == crate::model::PolicyKind::TrafficPolicy)
            .then(|| format!("{who}: reaches no Gateway of this controller; it has no effect")),
        StatusIr::Policy { ancestors } => not_accepted(&ancestors[0].conditions),
        StatusIr::GatewayClass { conditions } => not_accepted(conditions),
        _ => None,
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct StatusEntry {
    pub key: StatusKey,
    pub status: StatusIr,
}

/// Serde for the status types, in two shapes. Human-readable formats (JSON: `sluice
/// translate`, `/debug/xds`, the status writer) get the Kubernetes shape: `StatusIr`
/// untagged, absent optional fields omitted. Binary formats get a self-describing-free shape
/// they can read back: timely's bincode, which carries statuses between the processes of a
/// cluster, can neither guess an untagged variant nor notice a skipped field.
mod wire {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::{
        Condition, ListenerStatusIr, ParentRefIr, PolicyAncestorStatusIr, RouteParentStatusIr,
        StatusIr,
    };

    #[derive(Serialize, Deserialize)]
    #[serde(remote = "StatusIr", untagged)]
    enum StatusJson {
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
        Policy {
            ancestors: Vec<PolicyAncestorStatusIr>,
        },
    }

    #[derive(Serialize, Deserialize)]
    #[serde(remote = "StatusIr")]
    enum StatusBinary {
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
        Policy {
            ancestors: Vec<PolicyAncestorStatusIr>,
        },
    }

    #[derive(Serialize, Deserialize)]
    #[serde(remote = "ParentRefIr", rename_all = "camelCase")]
    struct ParentRefJson {
        group: String,
        kind: String,
        namespace: String,
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        section_name: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        port: Option<u16>,
    }

    #[derive(Serialize, Deserialize)]
    #[serde(remote = "ParentRefIr")]
    struct ParentRefBinary {
        group: String,
        kind: String,
        namespace: String,
        name: String,
        section_name: Option<String>,
        port: Option<u16>,
    }

    impl Serialize for StatusIr {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            if s.is_human_readable() {
                StatusJson::serialize(self, s)
            } else {
                StatusBinary::serialize(self, s)
            }
        }
    }

    impl<'de> Deserialize<'de> for StatusIr {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            if d.is_human_readable() {
                StatusJson::deserialize(d)
            } else {
                StatusBinary::deserialize(d)
            }
        }
    }

    impl Serialize for ParentRefIr {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            if s.is_human_readable() {
                ParentRefJson::serialize(self, s)
            } else {
                ParentRefBinary::serialize(self, s)
            }
        }
    }

    impl<'de> Deserialize<'de> for ParentRefIr {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            if d.is_human_readable() {
                ParentRefJson::deserialize(d)
            } else {
                ParentRefBinary::deserialize(d)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route_status() -> StatusIr {
        let parent = |port| RouteParentStatusIr {
            parent_ref: ParentRefIr {
                group: "gateway.networking.k8s.io".into(),
                kind: "Gateway".into(),
                namespace: "infra".into(),
                name: "gw".into(),
                section_name: None,
                port,
            },
            controller_name: "sluice.dev/gateway-controller".into(),
            conditions: vec![Condition::new("Accepted", true, "Accepted", "", 3)],
        };
        StatusIr::Route {
            parents: vec![parent(None), parent(Some(80))],
        }
    }

    #[test]
    fn json_has_the_kubernetes_shape_and_reads_back() {
        let status = route_status();
        let json = serde_json::to_value(&status).unwrap();
        let parents = json["parents"]
            .as_array()
            .expect("untagged: no variant name");
        assert!(parents[0]["parentRef"].get("sectionName").is_none());
        assert!(parents[0]["parentRef"].get("port").is_none());
        assert_eq!(parents[1]["parentRef"]["port"], 80);
        assert_eq!(serde_json::from_value::<StatusIr>(json).unwrap(), status);
    }

    #[test]
    fn binary_round_trips_as_between_timely_processes() {
        let gateway = StatusIr::Gateway {
            conditions: vec![Condition::new("Programmed", false, "Invalid", "no", 1)],
            listeners: vec![ListenerStatusIr {
                name: "http".into(),
                supported_kinds: vec![RouteGroupKindIr {
                    group: "gateway.networking.k8s.io".into(),
                    kind: "HTTPRoute".into(),
                }],
                attached_routes: 2,
                conditions: Vec::new(),
            }],
        };
        for status in [route_status(), gateway] {
            let bytes = bincode::serialize(&status).unwrap();
            assert_eq!(bincode::deserialize::<StatusIr>(&bytes).unwrap(), status);
        }
    }
}
