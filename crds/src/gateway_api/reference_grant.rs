//! ReferenceGrant: permission for objects in other namespaces to reference this namespace.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Spec of a ReferenceGrant: objects matching `from` may reference objects matching `to`.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, JsonSchema, PartialEq)]
#[kube(
    group = "gateway.networking.k8s.io",
    version = "v1",
    kind = "ReferenceGrant",
    plural = "referencegrants",
    namespaced,
    derive = "PartialEq"
)]
#[serde(rename_all = "camelCase")]
pub struct ReferenceGrantSpec {
    pub from: Vec<ReferenceGrantFrom>,
    pub to: Vec<ReferenceGrantTo>,
}

/// Referencing objects: a group/kind in a namespace.
#[derive(Serialize, Deserialize, Clone, Debug, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ReferenceGrantFrom {
    pub group: String,
    pub kind: String,
    pub namespace: String,
}

/// Referenced objects in the grant's namespace: a group/kind, optionally one name.
#[derive(Serialize, Deserialize, Clone, Debug, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ReferenceGrantTo {
    pub group: String,
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// ReferenceGrant `v1beta1`, identical in content to `v1`.
pub mod v1beta1 {
    use kube::CustomResource;
    use schemars::JsonSchema;
    use serde::{Deserialize, Serialize};

    use super::{ReferenceGrantFrom, ReferenceGrantTo};

    /// Spec of a `v1beta1` ReferenceGrant; same fields as [`super::ReferenceGrantSpec`].
    #[derive(CustomResource, Serialize, Deserialize, Clone, Debug, JsonSchema, PartialEq)]
    #[kube(
        group = "gateway.networking.k8s.io",
        version = "v1beta1",
        kind = "ReferenceGrant",
        plural = "referencegrants",
        namespaced,
        derive = "PartialEq"
    )]
    #[serde(rename_all = "camelCase")]
    pub struct ReferenceGrantSpec {
        pub from: Vec<ReferenceGrantFrom>,
        pub to: Vec<ReferenceGrantTo>,
    }

    impl From<ReferenceGrant> for super::ReferenceGrant {
        fn from(grant: ReferenceGrant) -> Self {
            Self {
                metadata: grant.metadata,
                spec: super::ReferenceGrantSpec {
                    from: grant.spec.from,
                    to: grant.spec.to,
                },
            }
        }
    }

    impl From<super::ReferenceGrant> for ReferenceGrant {
        fn from(grant: super::ReferenceGrant) -> Self {
            Self {
                metadata: grant.metadata,
                spec: ReferenceGrantSpec {
                    from: grant.spec.from,
                    to: grant.spec.to,
                },
            }
        }
    }
}
