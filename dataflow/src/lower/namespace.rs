//! Namespace: its labels, for `allowedRoutes.namespaces.from: Selector`.

use sluice_crds::core::Namespace;

use super::name_of;
use crate::model::{NamespaceRec, Sym};

pub fn lower_namespace(namespace: &Namespace) -> NamespaceRec {
    NamespaceRec {
        name: Sym::new(name_of(&namespace.metadata)),
        labels: namespace.metadata.labels.clone().unwrap_or_default(),
    }
}
