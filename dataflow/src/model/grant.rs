//! ReferenceGrant: which cross-namespace references a namespace allows.

use serde::{Deserialize, Serialize};

use super::{ObjectKey, Sym};

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct GrantFrom {
    pub group: String,
    pub kind: String,
    pub ns: Sym,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct GrantTo {
    pub group: String,
    pub kind: String,
    /// `None` allows every object of the kind in the grant's namespace.
    pub name: Option<Sym>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ReferenceGrantRec {
    pub key: ObjectKey,
    pub from: Vec<GrantFrom>,
    pub to: Vec<GrantTo>,
}

impl ReferenceGrantRec {
    /// Whether this grant lets `(from_group, from_kind)` objects in `from_ns` refer to the
    /// `(to_group, to_kind)` object `to` (which must live in the grant's namespace).
    pub fn permits(
        &self,
        from_group: &str,
        from_kind: &str,
        from_ns: Sym,
        to_group: &str,
        to_kind: &str,
        to: ObjectKey,
    ) -> bool {
        to.ns == self.key.ns
            && self
                .from
                .iter()
                .any(|f| f.group == from_group && f.kind == from_kind && f.ns == from_ns)
            && self.to.iter().any(|t| {
                t.group == to_group && t.kind == to_kind && t.name.is_none_or(|n| n == to.name)
            })
    }
}
