//! [`ObjectRef`]: the identity of an object (kind, namespace, name).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::Kind;

/// Kind, namespace (`None` for cluster-scoped kinds) and name of an object.
///
/// Displays as `HTTPRoute gateway-conformance-infra/foo`, or `GatewayClass sluice`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ObjectRef {
    pub kind: Kind,
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjectRef {
    /// A reference to `kind` `namespace/name`.
    pub fn new(kind: Kind, namespace: Option<&str>, name: &str) -> Self {
        Self {
            kind,
            namespace: namespace.map(str::to_owned),
            name: name.to_owned(),
        }
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {}/{}", self.kind, ns, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}
