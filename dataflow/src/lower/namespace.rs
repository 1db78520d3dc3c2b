//! Namespace: its labels, for `allowedRoutes.namespaces.from: Selector`.

use sluice_crds::core::Namespace;

use super::name_of;
use crate::model::{NamespaceRec, Sym};

/// The label the API server sets on every Namespace (immutable, = its name). Manifests read
/// from files rarely carry it; adding it makes a file source select exactly what the cluster
/// source selects (listeners commonly select namespaces by it).
pub const NAME_LABEL: &str = "kubernetes.io/metadata.name";

pub fn lower_namespace(namespace: &Namespace) -> NamespaceRec {
    let name = name_of(&namespace.metadata);
    let mut labels = namespace.metadata.labels.clone().unwrap_or_default();
    labels.insert(NAME_LABEL.to_owned(), name.to_owned());
    NamespaceRec {
        name: Sym::new(name),
        labels,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_crds::k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    #[test]
    fn the_api_servers_name_label_is_always_there() {
        let ns = |labels: Option<&[(&str, &str)]>| Namespace {
            metadata: ObjectMeta {
                name: Some("team-a".into()),
                labels: labels.map(|l| {
                    l.iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect()
                }),
                ..ObjectMeta::default()
            },
            ..Namespace::default()
        };
        let bare = lower_namespace(&ns(None));
        assert_eq!(
            bare.labels.get(NAME_LABEL).map(String::as_str),
            Some("team-a")
        );
        // A manifest that sets it wrongly gets what the API server would enforce.
        let labelled = lower_namespace(&ns(Some(&[("env", "prod"), (NAME_LABEL, "other")])));
        assert_eq!(
            labelled.labels.get(NAME_LABEL).map(String::as_str),
            Some("team-a")
        );
        assert_eq!(labelled.labels.get("env").map(String::as_str), Some("prod"));
    }
}
