//! ReferenceGrant: which cross-namespace references its namespace allows.

use sluice_crds::gateway_api::ReferenceGrant;

use super::key_of;
use crate::model::{GrantFrom, GrantTo, ReferenceGrantRec, Sym};

/// A ReferenceGrant; groups stay as written (`""` is the core group).
pub fn lower_reference_grant(grant: &ReferenceGrant) -> ReferenceGrantRec {
    ReferenceGrantRec {
        key: key_of(&grant.metadata),
        from: grant
            .spec
            .from
            .iter()
            .map(|f| GrantFrom {
                group: f.group.clone(),
                kind: f.kind.clone(),
                ns: Sym::new(&f.namespace),
            })
            .collect(),
        to: grant
            .spec
            .to
            .iter()
            .map(|t| GrantTo {
                group: t.group.clone(),
                kind: t.kind.clone(),
                name: t.name.as_deref().map(Sym::new),
            })
            .collect(),
    }
}
