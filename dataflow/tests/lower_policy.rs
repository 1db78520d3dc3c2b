//! `lower` for the kgateway policy kinds: a TrafficPolicy's sub-policies lowered, refused with
//! a problem naming the field, or — security sub-policies sluice cannot enforce — a deny; the
//! kinds not translated yet name every field they set.

use sluice_crds::Object;
use sluice_dataflow::input::Record;
use sluice_dataflow::lower::{Lowered, lower, parse_go_duration_ms};
use sluice_dataflow::model::*;

fn policy(yaml: &str) -> PolicyRec {
    let value: serde_json::Value = serde_yaml_ng::from_str(yaml).expect("valid YAML");
    let object = Object::from_value(value)
        .expect("decodes")
        .expect("a kind sluice reads");
    match lower(&object) {
        Lowered::Record(Record::Policy(p)) => std::sync::Arc::unwrap_or_clone(p),
        other => panic!("expected a policy record, got {other:?}"),
    }
}

fn traffic_policy(spec: &str) -> PolicyRec {
    policy(&format!(
        "apiVersion: gateway.kgateway.dev/v1alpha1\nkind: TrafficPolicy\n\
         metadata:\n  name: tp\n  namespace: apps\n  generation: 2\n  \
         annotations: {{ kgateway.dev/policy-weight: \"7\" }}\n\
         spec:\n  targetRefs: [{{ group: gateway.networking.k8s.io, kind: HTTPRoute, name: r, sectionName: rule-1 }}]\n{spec}"
    ))
}

#[test]
fn sub_policies_lower_to_the_merge_units() {
    let p = traffic_policy(
        "  timeouts: { request: 1.5s, streamIdle: 1m }\n  \
         retry: { attempts: 3, retryOn: [5xx, reset], statusCodes: [503], perTryTimeout: 500ms }\n  \
         headerModifiers:\n    request: { set: [{ name: x-a, value: \"1\" }], remove: [x-b] }\n  \
         autoHostRewrite: true\n  \
         urlRewrite: { pathRegex: { pattern: \"^/v1\", substitution: /v2 } }\n  \
         cors: { allowOrigins: [\"https://a.example\"], allowMethods: [GET] }\n",
    );
    assert_eq!(p.kind, PolicyKind::TrafficPolicy);
    assert_eq!((p.weight, p.generation), (7, 2));
    assert_eq!(
        p.targets,
        vec![PolicyTarget {
            kind: TargetKind::HTTPRoute,
            name: Sym::new("r"),
            section: Some("rule-1".into()),
        }]
    );
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    let t = p.traffic.expect("sub-policies");
    assert_eq!((t.timeout_ms, t.stream_idle_ms), (Some(1500), Some(60_000)));
    let retry = t.retry.clone().expect("retry");
    assert_eq!(retry.retry.on, ["5xx", "reset"]);
    assert_eq!(retry.retry.codes, [503]);
    assert_eq!(retry.retry.attempts, Some(3));
    assert_eq!(retry.per_try_timeout_ms, Some(500));
    let req = t.request_headers.clone().expect("request headers");
    assert_eq!(req.set, [("x-a".to_string(), "1".to_string())]);
    assert_eq!(req.remove, ["x-b"]);
    assert_eq!(t.auto_host_rewrite, Some(true));
    assert_eq!(t.path_regex, Some(("^/v1".into(), "/v2".into())));
    assert!(matches!(t.cors, Some(Toggle::On(ref c)) if c.allow_methods == ["GET"]));
    assert!(t.deny.is_empty());
}

#[test]
fn security_sub_policies_fail_closed_and_disable_switches_them_off() {
    let p = traffic_policy(
        "  jwtAuth: { extensionRef: { name: jwt } }\n  extAuth: { disable: {} }\n  \
         rbac: { action: Deny, policy: { matchExpressions: [\"request.headers['x' ==\"] } }\n",
    );
    let t = p.traffic.as_ref().expect("a deny");
    assert!(matches!(t.deny.get("jwtAuth"), Some(Toggle::On(m)) if m.contains("jwtAuth")));
    assert_eq!(t.deny.get("extAuth"), Some(&Toggle::Off));
    // CEL that does not parse: the rbac policy fails closed too, naming the expression.
    assert!(matches!(t.deny.get("rbac"), Some(Toggle::On(_))));
    assert!(t.denied().is_some());
    assert!(p.problems.iter().any(|pr| pr.field == "spec.jwtAuth"));
    assert!(
        p.problems
            .iter()
            .any(|pr| pr.field == "spec.rbac.policy.matchExpressions[0]")
    );
    assert!(!p.problems.iter().any(|pr| pr.field == "spec.extAuth"));

    let p = traffic_policy(
        "  rbac: { action: Deny, policy: { matchExpressions: [\"request.headers['x-deny'] == 'yes'\"] } }\n",
    );
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    let t = p.traffic.expect("a filter");
    assert_eq!(
        t.filters.get(&sluice_dataflow::ir::FilterKind::Rbac),
        Some(&Toggle::On(sluice_dataflow::ir::HttpFilterIr::Rbac {
            allow: false,
            expressions: vec!["request.headers['x-deny'] == 'yes'".into()],
        }))
    );
}

#[test]
fn unsupported_fields_and_bad_values_are_problems_naming_the_field() {
    let p = traffic_policy(
        "  timeouts: { request: soon }\n  transformation: { request: { set: [] } }\n  \
         urlRewrite: { pathRegex: { pattern: \"(\", substitution: x } }\n  \
         headerModifiers:\n    request: { set: [{ name: x-s, secretRef: { name: s } }] }\n",
    );
    let fields: Vec<&str> = p.problems.iter().map(|pr| pr.field.as_str()).collect();
    for want in [
        "spec.timeouts.request",
        "spec.transformation",
        "spec.urlRewrite.pathRegex.pattern",
        "spec.headerModifiers.request.set[0].secretRef",
    ] {
        assert!(fields.contains(&want), "{want} not in {fields:?}");
    }
    let t = p.traffic.expect("the header edit (empty) is still a field");
    assert_eq!(t.timeout_ms, None);
    assert_eq!(t.path_regex, None);
}

#[test]
fn kinds_not_translated_yet_name_their_fields() {
    let p = policy(
        "apiVersion: gateway.kgateway.dev/v1alpha1\nkind: HTTPListenerPolicy\n\
         metadata: { name: hlp, namespace: infra }\n\
         spec:\n  targetRefs: [{ group: gateway.networking.k8s.io, kind: Gateway, name: gw }]\n  \
         healthCheck: { path: /healthz }\n",
    );
    assert_eq!(p.kind, PolicyKind::HTTPListenerPolicy);
    assert!(p.traffic.is_none());
    assert_eq!(p.targets[0].kind, TargetKind::Gateway);
    assert!(
        p.problems[0].message.contains("HTTPListenerPolicy")
            && p.problems[0].message.contains("spec.healthCheck"),
        "{:?}",
        p.problems
    );
}

#[test]
fn kubernetes_durations() {
    assert_eq!(parse_go_duration_ms("1h2m3.5s"), Ok(3_723_500));
    assert_eq!(parse_go_duration_ms("250us"), Ok(0));
    assert!(parse_go_duration_ms("").is_err());
    assert!(parse_go_duration_ms("-1s").is_err());
}

#[test]
fn filter_sub_policies_lower_to_their_filter_configs() {
    let p = traffic_policy(
        "  rateLimit: { local: { tokenBucket: { maxTokens: 2, tokensPerFill: 1, fillInterval: 1s }, percentEnforced: 50 } }\n  \
         faultInjection: { abort: { httpStatus: 418, percentage: 12.5 } }\n  \
         buffer: { maxRequestSize: 1Ki }\n  \
         basicAuth: { users: [\"alice:{SHA}fEqNCco3Yq9h5ZUglD3CZJT4lBs=\"] }\n",
    );
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    let t = p.traffic.expect("filters");
    assert!(
        t.deny.is_empty(),
        "inline basicAuth users are enforced, not denied"
    );
    assert_eq!(
        t.filters
            .get(&sluice_dataflow::ir::FilterKind::LocalRateLimit),
        Some(&Toggle::On(
            sluice_dataflow::ir::HttpFilterIr::LocalRateLimit {
                max_tokens: 2,
                tokens_per_fill: 1,
                fill_interval_ms: 1000,
                enabled_pct: 100,
                enforced_pct: 50,
            }
        ))
    );
    assert!(matches!(
        t.filters.get(&sluice_dataflow::ir::FilterKind::Fault),
        Some(Toggle::On(sluice_dataflow::ir::HttpFilterIr::Fault {
            abort_status: Some(418),
            abort_ppm: 125_000,
            ..
        }))
    ));
    assert_eq!(
        t.filters.get(&sluice_dataflow::ir::FilterKind::Buffer),
        Some(&Toggle::On(sluice_dataflow::ir::HttpFilterIr::Buffer {
            max_bytes: 1024
        }))
    );
    assert!(
        t.filters
            .contains_key(&sluice_dataflow::ir::FilterKind::BasicAuth)
    );

    // An empty local rate limit switches an inherited one off.
    let p = traffic_policy("  rateLimit: { local: {} }\n");
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    assert_eq!(
        p.traffic
            .expect("a disable")
            .filters
            .get(&sluice_dataflow::ir::FilterKind::LocalRateLimit),
        Some(&Toggle::Off)
    );

    // basicAuth from a Secret is not resolved yet: it fails closed.
    let p = traffic_policy("  basicAuth: { secretRef: { name: users } }\n");
    let t = p.traffic.expect("a deny");
    assert!(matches!(t.deny.get("basicAuth"), Some(Toggle::On(_))));
}
