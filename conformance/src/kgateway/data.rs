//! `e2e-cases.json` as typed data, and the manifests of a case as documents that steps
//! apply and delete like `kubectl` would.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;
use serde_json::Value;

use crate::cases::NsName;

/// The whole of `e2e-cases.json` the runner reads.
#[derive(Clone, Debug, Deserialize)]
pub struct CaseFile {
    pub base_manifests: Vec<String>,
    #[serde(default)]
    pub base_manifests_alt: BTreeMap<String, String>,
    #[serde(default)]
    pub constants: BTreeMap<String, Value>,
    pub cases: Vec<Case>,
}

impl CaseFile {
    pub fn load(path: &Path) -> anyhow::Result<CaseFile> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }

    /// The base manifests, in order, with the ListenerSet variant of the shared Gateway replaced
    /// by the plain one (`base_manifests_alt.without_listenersets`): sluice serves Gateway API
    /// v1.6.1 standard without ListenerSets.
    pub fn base(&self) -> Vec<String> {
        self.base_manifests
            .iter()
            .map(
                |f| match self.base_manifests_alt.get("without_listenersets") {
                    Some(alt) if f.contains("listenerset") => alt.clone(),
                    _ => f.clone(),
                },
            )
            .collect()
    }

    /// nginx's welcome page (`constants.NGINX_RESPONSE`), which the nginx stand-in serves.
    pub fn nginx_page(&self) -> String {
        self.constants
            .get("NGINX_RESPONSE")
            .and_then(Value::as_str)
            .unwrap_or("<html><body><h1>Welcome to nginx!</h1></body></html>")
            .to_string()
    }
}

/// One upstream test.
#[derive(Clone, Debug, Deserialize)]
pub struct Case {
    pub id: String,
    pub feature: String,
    /// The upstream suite (`Cors`, `CSRF`, …).
    #[serde(default)]
    pub suite: String,
    #[serde(default)]
    pub setup_manifests: Vec<String>,
    #[serde(default)]
    pub manifests: Vec<String>,
    #[serde(default)]
    pub steps: Vec<Value>,
    #[serde(default)]
    pub needs: Needs,
    #[serde(default)]
    pub skipped_upstream: Option<String>,
}

impl Case {
    /// The test's name without its feature (`cors/TestX` → `TestX`).
    pub fn name(&self) -> &str {
        self.id
            .strip_prefix(self.feature.as_str())
            .and_then(|s| s.strip_prefix('/'))
            .unwrap_or(&self.id)
    }
}

/// What a case needs besides the manifests.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Needs {
    #[serde(default)]
    pub apps: Vec<String>,
    #[serde(default)]
    pub external: Vec<String>,
    #[serde(default)]
    pub fixtures: Vec<String>,
    #[serde(default)]
    pub install: Vec<String>,
    #[serde(default)]
    pub client: Option<Value>,
    #[serde(default)]
    pub cluster: Option<Value>,
}

// ---- Manifests ----

/// Kinds without a namespace: no default namespace is filled in for them.
const CLUSTER_SCOPED: &[&str] = &[
    "Namespace",
    "GatewayClass",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleBinding",
    "PriorityClass",
    "StorageClass",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
];

/// Reads `files` (relative to `root`) as documents: `$INSTALL_NAMESPACE` replaced by
/// `install_ns`, and every namespaced object without a namespace put in `namespace` (upstream
/// applies them there, `default` unless the step names one), so that an object's identity is
/// explicit when a later step replaces or deletes it.
pub fn load_docs(
    root: &Path,
    files: &[String],
    namespace: Option<&str>,
    install_ns: &str,
) -> anyhow::Result<Vec<Value>> {
    let mut docs = Vec::new();
    for f in files {
        let path = root.join(f);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?
            .replace("$INSTALL_NAMESPACE", install_ns);
        for doc in serde_yaml_ng::Deserializer::from_str(&text) {
            let v =
                Value::deserialize(doc).with_context(|| format!("parsing {}", path.display()))?;
            if v.is_object() {
                docs.push(with_namespace(v, namespace.unwrap_or("default")));
            }
        }
    }
    Ok(docs)
}

/// `doc` with `metadata.namespace` set to `ns` if it is namespaced and has none.
pub fn with_namespace(mut doc: Value, ns: &str) -> Value {
    let kind = doc["kind"].as_str().unwrap_or("").to_string();
    if CLUSTER_SCOPED.contains(&kind.as_str()) {
        return doc;
    }
    if let Some(meta) = doc.get_mut("metadata").and_then(Value::as_object_mut)
        && meta.get("namespace").and_then(Value::as_str).is_none()
    {
        meta.insert("namespace".into(), Value::String(ns.to_string()));
    }
    doc
}

/// `(kind, namespace/name)`; cluster-scoped objects have an empty namespace.
pub fn identity(doc: &Value) -> (String, NsName) {
    (
        doc["kind"].as_str().unwrap_or("").to_string(),
        NsName::new(
            doc["metadata"]["namespace"].as_str().unwrap_or(""),
            doc["metadata"]["name"].as_str().unwrap_or(""),
        ),
    )
}

/// `kubectl apply` of one object: replaces the object of the same identity, or adds it.
///
/// A Secret's `stringData` is write-only in Kubernetes: applying a Secret merges its
/// `stringData` into the stored `data`, so keys an earlier apply set survive a later apply
/// that does not name them (upstream's apikeyauth secret-update test relies on it). The
/// merged Secret keeps both maps, the newer value winning for a key.
pub fn apply_doc(docs: &mut Vec<Value>, new: Value) {
    let id = identity(&new);
    let Some(i) = docs.iter().position(|d| identity(d) == id) else {
        docs.push(new);
        return;
    };
    let mut merged = new;
    if id.0 == "Secret" {
        let old = &docs[i];
        for (field, other) in [("data", "stringData"), ("stringData", "data")] {
            let mut map = old[field].as_object().cloned().unwrap_or_default();
            // A key the new object sets in the other map replaces this one.
            if let Some(o) = merged[other].as_object() {
                for k in o.keys() {
                    map.remove(k);
                }
            }
            if let Some(n) = merged[field].as_object() {
                map.extend(n.clone());
            }
            if !map.is_empty() {
                merged[field] = Value::Object(map);
            }
        }
    }
    docs[i] = merged;
}

/// Removes the objects of identity `(kind, id)`; returns how many there were.
pub fn delete_doc(docs: &mut Vec<Value>, kind: &str, id: &NsName) -> usize {
    let before = docs.len();
    docs.retain(|d| {
        let (k, i) = identity(d);
        !(k == kind && (i == *id || (i.namespace.is_empty() && i.name == id.name)))
    });
    before - docs.len()
}

// ---- Small helpers ----

pub fn short(s: &str, max: usize) -> String {
    let s = s.replace('\n', " ");
    if s.chars().count() <= max {
        s
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

pub fn case_dir_name(id: &str) -> PathBuf {
    PathBuf::from(id.replace('/', "__"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_merge_string_data() {
        let mut docs = vec![
            json!({"kind": "Secret", "metadata": {"name": "s", "namespace": "n"},
            "stringData": {"client3": "k-789", "client4": "k-999"}}),
        ];
        apply_doc(
            &mut docs,
            json!({"kind": "Secret", "metadata": {"name": "s", "namespace": "n"},
            "stringData": {"client1": "k-123", "client5": "k-111"}}),
        );
        assert_eq!(docs.len(), 1);
        let sd = docs[0]["stringData"].as_object().unwrap();
        assert_eq!(sd.len(), 4);
        assert_eq!(sd["client3"], "k-789");
        assert_eq!(sd["client1"], "k-123");
        assert_eq!(delete_doc(&mut docs, "Secret", &NsName::new("n", "s")), 1);
        assert!(docs.is_empty());
    }

    #[test]
    fn namespaces_are_filled_in() {
        let d = with_namespace(json!({"kind": "HTTPRoute", "metadata": {"name": "r"}}), "x");
        assert_eq!(d["metadata"]["namespace"], "x");
        let d = with_namespace(json!({"kind": "Namespace", "metadata": {"name": "r"}}), "x");
        assert!(d["metadata"]["namespace"].is_null());
    }
}
