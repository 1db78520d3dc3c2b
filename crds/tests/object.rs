//! Decoding documents into [`Object`]: dispatch, defaults, errors.

use serde_json::json;
use sluice_crds::gateway_api::{FromNamespaces, HTTPMethod, HeaderMatchType, PathMatchType};
use sluice_crds::kgateway::{BodyParseBehavior, RetryOnCondition};
use sluice_crds::{Kind, Object, ObjectError, ObjectRef};

fn decode(doc: serde_json::Value) -> Object {
    Object::from_value(doc)
        .expect("decodes")
        .expect("known kind")
}

fn decode_err(doc: serde_json::Value) -> ObjectError {
    Object::from_value(doc).expect_err("must not decode")
}

#[test]
fn http_route_gets_crd_defaults() {
    let object = decode(json!({
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "r", "namespace": "ns"},
        "spec": {
            "parentRefs": [{"name": "gw"}],
            "rules": [
                {"backendRefs": [{"name": "svc", "port": 80}]},
                {"matches": [{"headers": [{"name": "x", "value": "y"}], "method": "GET"}]},
            ],
        },
    }));
    let Object::HTTPRoute(route) = object else {
        panic!("not an HTTPRoute")
    };
    let parent = &route.spec.parent_refs[0];
    assert_eq!(
        (parent.group.as_str(), parent.kind.as_str()),
        ("gateway.networking.k8s.io", "Gateway")
    );
    let rule = &route.spec.rules[0];
    let path = rule.matches[0].path.as_ref().unwrap();
    assert_eq!(
        (path.type_, path.value.as_str()),
        (PathMatchType::PathPrefix, "/")
    );
    let backend = &rule.backend_refs[0];
    assert_eq!(
        (
            backend.group.as_str(),
            backend.kind.as_str(),
            backend.weight
        ),
        ("", "Service", 1)
    );
    let m = &route.spec.rules[1].matches[0];
    assert_eq!(m.headers[0].type_, HeaderMatchType::Exact);
    assert_eq!(m.method, Some(HTTPMethod::Get));
    assert!(
        m.path.is_some(),
        "path defaults even when other matchers are set"
    );
}

#[test]
fn omitted_rules_match_everything() {
    let Object::HTTPRoute(route) = decode(json!({
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "r", "namespace": "ns"},
        "spec": {"hostnames": null},
    })) else {
        panic!()
    };
    assert_eq!(route.spec.rules.len(), 1);
    assert_eq!(route.spec.rules[0].matches.len(), 1);
    assert!(route.spec.hostnames.is_empty(), "null is treated as absent");
}

#[test]
fn gateway_listener_defaults() {
    let Object::Gateway(gw) = decode(json!({
        "apiVersion": "gateway.networking.k8s.io/v1beta1",
        "kind": "Gateway",
        "metadata": {"name": "gw", "namespace": "ns"},
        "spec": {
            "gatewayClassName": "sluice",
            "listeners": [{"name": "https", "port": 443, "protocol": "HTTPS",
                           "tls": {"certificateRefs": [{"name": "cert"}]}}],
        },
    })) else {
        panic!()
    };
    let listener = &gw.spec.listeners[0];
    assert_eq!(
        listener.allowed_routes.namespaces.from,
        FromNamespaces::Same
    );
    let tls = listener.tls.as_ref().unwrap();
    assert_eq!(tls.mode, sluice_crds::gateway_api::TLSModeType::Terminate);
    assert_eq!(tls.certificate_refs[0].kind, "Secret");
}

#[test]
fn reference_grant_v1beta1_decodes_into_v1() {
    let object = decode(json!({
        "apiVersion": "gateway.networking.k8s.io/v1beta1",
        "kind": "ReferenceGrant",
        "metadata": {"name": "g", "namespace": "ns"},
        "spec": {"from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute",
                           "namespace": "other"}],
                 "to": [{"group": "", "kind": "Service"}]},
    }));
    assert_eq!(object.kind(), Kind::ReferenceGrant);
    let serialized = serde_json::to_value(&object).unwrap();
    assert_eq!(serialized["apiVersion"], "gateway.networking.k8s.io/v1");
}

#[test]
fn kgateway_traffic_policy_decodes() {
    let Object::TrafficPolicy(policy) = decode(json!({
        "apiVersion": "gateway.kgateway.dev/v1alpha1",
        "kind": "TrafficPolicy",
        "metadata": {"name": "p", "namespace": "ns"},
        "spec": {
            "targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute",
                            "name": "r", "sectionName": "rule-a"}],
            "rateLimit": {"local": {"tokenBucket": {"maxTokens": 10, "fillInterval": "1s"}}},
            "retry": {"retryOn": ["5xx", "gateway-error"], "attempts": 3},
            "transformation": {"request": {"body": {}}},
            "rbac": {"policy": {"matchExpressions": ["true"]}, "action": "Allow"},
            "cors": {"allowOrigins": ["https://a"], "disable": {}},
        },
    })) else {
        panic!()
    };
    let spec = &policy.spec;
    assert_eq!(spec.target_refs[0].section_name.as_deref(), Some("rule-a"));
    let bucket = spec
        .rate_limit
        .as_ref()
        .unwrap()
        .local
        .as_ref()
        .unwrap()
        .token_bucket
        .as_ref();
    assert_eq!(bucket.unwrap().max_tokens, 10);
    let retry = spec.retry.as_ref().unwrap();
    assert_eq!(
        retry.retry_on,
        [RetryOnCondition::FiveXx, RetryOnCondition::GatewayError]
    );
    let body = spec
        .transformation
        .as_ref()
        .unwrap()
        .request
        .as_ref()
        .unwrap()
        .body
        .as_ref();
    assert_eq!(body.unwrap().parse_as, BodyParseBehavior::AsString);
    assert_eq!(spec.rbac.as_ref().unwrap()["action"], "Allow");
    assert!(spec.cors.as_ref().unwrap().disable.is_some());
}

#[test]
fn unknown_kinds_and_versions_are_skipped() {
    for (api_version, kind) in [
        ("apps/v1", "Deployment"),
        ("v1", "ConfigMap"),
        ("gateway.networking.k8s.io/v1", "UDPRoute"),
        ("gateway.networking.k8s.io/v2", "HTTPRoute"),
        ("example.com/v1", "Gateway"),
    ] {
        let doc = json!({"apiVersion": api_version, "kind": kind, "metadata": {"name": "x"}});
        assert_eq!(Object::from_value(doc), Ok(None), "{api_version} {kind}");
    }
}

#[test]
fn errors_name_the_field() {
    let err = decode_err(json!({
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": "gw", "namespace": "ns"},
        "spec": {"gatewayClassName": "c",
                 "listeners": [{"name": "l", "port": "eighty", "protocol": "HTTP"}]},
    }));
    assert_eq!(
        err.field.as_deref(),
        Some("spec.listeners[0].port"),
        "{err}"
    );

    let err = decode_err(json!({
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "r"},
        "spec": {"rules": [{"matches": [{"path": {"type": "Foo", "value": "/"}}]}]},
    }));
    assert_eq!(
        err.field.as_deref(),
        Some("spec.rules[0].matches[0].path.type")
    );
    assert!(err.to_string().contains("unknown variant `Foo`"), "{err}");

    let err = decode_err(json!({
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": "gw"},
        "spec": {"listeners": []},
    }));
    assert_eq!(err.field.as_deref(), Some("spec.gatewayClassName"), "{err}");
}

#[test]
fn name_and_type_meta_are_required() {
    let err = decode_err(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {}}));
    assert_eq!(err.field.as_deref(), Some("metadata.name"));
    let err = decode_err(json!({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway"}));
    assert_eq!(err.to_string(), "metadata.name: missing field `name`");
    let err = decode_err(json!({"kind": "Namespace", "metadata": {"name": "x"}}));
    assert_eq!(err.field.as_deref(), Some("apiVersion"));
    let err = decode_err(json!({"apiVersion": 1, "kind": "Namespace"}));
    assert_eq!(err.to_string(), "apiVersion: expected a string");
    assert!(Object::from_value(json!("text")).is_err());
}

#[test]
fn obj_ref_and_display() {
    let ns = decode(json!({"apiVersion": "v1", "kind": "Namespace",
                           "metadata": {"name": "infra", "namespace": "ignored"}}));
    assert_eq!(ns.obj_ref(), ObjectRef::new(Kind::Namespace, None, "infra"));
    assert_eq!(ns.obj_ref().to_string(), "Namespace infra");
    let r = ObjectRef::new(Kind::HTTPRoute, Some("gateway-conformance-infra"), "foo");
    assert_eq!(r.to_string(), "HTTPRoute gateway-conformance-infra/foo");
    assert!(
        ObjectRef::new(Kind::Gateway, Some("z"), "a") < r,
        "ordered by kind first"
    );
}

#[test]
fn kind_tables_are_consistent() {
    for &kind in Kind::all() {
        assert_eq!(
            Kind::from_group_kind(kind.group(), kind.as_str()),
            Some(kind)
        );
        assert_eq!(
            Kind::from_type_meta(kind.api_version(), kind.as_str()),
            Some(kind)
        );
    }
    assert!(Kind::all().windows(2).all(|w| w[0] < w[1]));
    assert_eq!(
        Kind::from_group_kind("core", "Service"),
        Some(Kind::Service)
    );
    assert!(!Kind::GatewayClass.is_namespaced() && Kind::Gateway.is_namespaced());
}
