//! Every Gateway API / core object in the upstream conformance manifests decodes.
//!
//! Reads the manifests in place from the shared checkout (never copied into the tree).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sluice_crds::{Kind, Object};

const CONFORMANCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/conformance");

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
}

fn documents(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path)
        .unwrap()
        .replace("{GATEWAY_CLASS_NAME}", "sluice")
        .replace("{GATEWAY_CONTROLLER_NAME}", "sluice.dev/gateway-controller");
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|doc| {
            serde_json::Value::deserialize(doc)
                .unwrap_or_else(|e| panic!("{}: invalid YAML: {e}", path.display()))
        })
        .filter(|doc| !doc.is_null())
        .collect()
}

#[test]
fn conformance_manifests_decode() {
    let root = Path::new(CONFORMANCE).join("conformance");
    let mut files = Vec::new();
    for dir in ["base", "tests", "mesh"] {
        yaml_files(&root.join(dir), &mut files);
    }
    assert!(
        files.len() > 100,
        "expected the conformance manifests under {}",
        root.display()
    );

    let mut parsed: BTreeMap<Kind, usize> = BTreeMap::new();
    let mut skipped: BTreeMap<String, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for file in &files {
        for (index, doc) in documents(file).into_iter().enumerate() {
            let type_meta = format!("{} {}", doc["apiVersion"], doc["kind"]);
            match Object::from_value(doc) {
                Ok(Some(object)) => {
                    assert_eq!(object.obj_ref().kind, object.kind());
                    *parsed.entry(object.kind()).or_default() += 1;
                }
                Ok(None) => *skipped.entry(type_meta).or_default() += 1,
                Err(e) => failures.push(format!(
                    "{} #{}: {type_meta}: {e}",
                    file.display(),
                    index + 1
                )),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "documents failed to decode:\n{}",
        failures.join("\n")
    );

    eprintln!("decoded: {parsed:?}\nskipped: {skipped:?}");
    let total: usize = parsed.values().sum();
    assert!(total > 300, "only {total} objects decoded: {parsed:?}");
    for kind in [
        Kind::GatewayClass,
        Kind::Gateway,
        Kind::ListenerSet,
        Kind::HTTPRoute,
        Kind::GRPCRoute,
        Kind::TLSRoute,
        Kind::TCPRoute,
        Kind::ReferenceGrant,
        Kind::BackendTLSPolicy,
        Kind::Service,
        Kind::Namespace,
        Kind::Secret,
        Kind::EndpointSlice,
    ] {
        assert!(
            parsed.contains_key(&kind),
            "no {kind} in the conformance manifests: {parsed:?}"
        );
    }
    // Kinds sluice does not read are skipped, not errors.
    assert!(
        skipped.keys().any(|k| k.contains("Deployment")),
        "{skipped:?}"
    );
    assert!(
        skipped.keys().any(|k| k.contains("UDPRoute")),
        "{skipped:?}"
    );
}
