//! The generated kgateway CRDs are installable: right group and version, a structural
//! schema, the status subresource, and stable YAML.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde::Deserialize;
use sluice_crds::kgateway::{kgateway_crds, kgateway_crds_yaml};

/// Every schema node must say what it is: a `type`, int-or-string, or preserve-unknown-fields
/// (Kubernetes rejects non-structural schemas).
fn assert_structural(schema: &serde_json::Value, path: &str) {
    let obj = schema
        .as_object()
        .unwrap_or_else(|| panic!("{path}: schema is not an object"));
    for forbidden in ["$ref", "anyOf", "oneOf", "allOf", "definitions", "$defs"] {
        assert!(
            !obj.contains_key(forbidden),
            "{path}: has {forbidden}: {schema}"
        );
    }
    let typed = obj.contains_key("type")
        || obj.contains_key("x-kubernetes-int-or-string")
        || obj.contains_key("x-kubernetes-preserve-unknown-fields");
    assert!(typed, "{path}: no type: {schema}");
    if let Some(props) = obj.get("properties").and_then(|p| p.as_object()) {
        for (name, prop) in props {
            assert_structural(prop, &format!("{path}.{name}"));
        }
    }
    if let Some(items) = obj.get("items") {
        assert_structural(items, &format!("{path}[]"));
    }
    if let Some(extra) = obj.get("additionalProperties").filter(|a| a.is_object()) {
        assert_structural(extra, &format!("{path}.*"));
    }
}

#[test]
fn every_kgateway_crd_is_installable() {
    let crds = kgateway_crds();
    let kinds: Vec<&str> = crds.iter().map(|c| c.spec.names.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "BackendConfigPolicy",
            "Backend",
            "DirectResponse",
            "GatewayExtension",
            "GatewayParameters",
            "HTTPListenerPolicy",
            "ListenerPolicy",
            "TrafficPolicy",
        ]
    );
    for crd in &crds {
        let name = crd.metadata.name.as_deref().unwrap();
        assert_eq!(crd.spec.group, "gateway.kgateway.dev", "{name}");
        assert_eq!(
            name,
            format!("{}.gateway.kgateway.dev", crd.spec.names.plural)
        );
        assert_eq!(crd.spec.scope, "Namespaced", "{name}");
        let version = crd
            .spec
            .versions
            .iter()
            .find(|v| v.name == "v1alpha1")
            .expect(name);
        assert!(version.served && version.storage, "{name}");
        let schema = version
            .schema
            .as_ref()
            .and_then(|s| s.open_api_v3_schema.as_ref());
        let schema = serde_json::to_value(schema.expect(name)).unwrap();
        assert!(
            schema["properties"]["spec"].is_object(),
            "{name}: no spec schema"
        );
        assert_structural(&schema["properties"]["spec"], &format!("{name}.spec"));
        assert_structural(&schema["properties"]["status"], &format!("{name}.status"));
        let status = version
            .subresources
            .as_ref()
            .and_then(|s| s.status.as_ref());
        assert!(status.is_some(), "{name}: status subresource disabled");
    }
    assert_eq!(
        crds.iter()
            .find(|c| c.spec.names.kind == "GatewayParameters")
            .unwrap()
            .spec
            .names
            .plural,
        "gatewayparameters"
    );
}

#[test]
fn raw_json_fields_preserve_unknown_fields() {
    let crd = kgateway_crds()
        .into_iter()
        .find(|c| c.spec.names.kind == "TrafficPolicy")
        .unwrap();
    let schema = serde_json::to_value(&crd.spec.versions[0].schema).unwrap();
    let rbac = &schema["openAPIV3Schema"]["properties"]["spec"]["properties"]["rbac"];
    assert_eq!(rbac["x-kubernetes-preserve-unknown-fields"], true, "{rbac}");
}

#[test]
fn crds_yaml_round_trips_and_is_deterministic() {
    let yaml = kgateway_crds_yaml();
    assert_eq!(yaml, kgateway_crds_yaml());
    let parsed: Vec<CustomResourceDefinition> = serde_yaml_ng::Deserializer::from_str(&yaml)
        .map(|doc| CustomResourceDefinition::deserialize(doc).unwrap())
        .collect();
    assert_eq!(parsed, kgateway_crds());
}
