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
        "  timeouts: { request: soon }\n  \
         transformation:\n    request: { set: [{ name: x-t, value: \"{{ header(\\\"y\\\") }}\" }, { name: x-l, value: lit }], body: { parseAs: AsString } }\n  \
         urlRewrite: { pathRegex: { pattern: \"(\", substitution: x } }\n  \
         headerModifiers:\n    request: { set: [{ name: x-s, secretRef: { name: s, namespace: other } }] }\n  \
         compression: { responseCompression: { libraries: [Gzip, Lz4] } }\n  \
         tracing: { randomSampling: 150, attributes: [{ name: t, metadata: {} }] }\n",
    );
    let fields: Vec<&str> = p.problems.iter().map(|pr| pr.field.as_str()).collect();
    for want in [
        "spec.timeouts.request",
        "spec.transformation.request.set[0].value",
        "spec.transformation.request.body",
        "spec.urlRewrite.pathRegex.pattern",
        "spec.headerModifiers.request.set[0].secretRef",
        "spec.compression.responseCompression.libraries[1]",
        "spec.tracing.randomSampling",
        "spec.tracing.attributes[0]",
    ] {
        assert!(fields.contains(&want), "{want} not in {fields:?}");
    }
    let t = p.traffic.expect("the header edit (empty) is still a field");
    // The literal header of the transformation is kept; the template is not.
    let (req, _) = t.transformation.clone().expect("a literal transformation");
    assert_eq!(req.set, [("x-l".to_string(), "lit".to_string())]);
    assert_eq!(t.timeout_ms, None);
    assert_eq!(t.path_regex, None);
}

#[test]
fn kinds_not_translated_yet_name_their_fields() {
    let p = policy(
        "apiVersion: gateway.kgateway.dev/v1alpha1\nkind: BackendConfigPolicy\n\
         metadata: { name: bcp, namespace: infra }\n\
         spec:\n  targetRefs: [{ group: '', kind: Service, name: svc }]\n  \
         connectTimeout: 5s\n",
    );
    assert_eq!(p.kind, PolicyKind::BackendConfigPolicy);
    assert!(p.traffic.is_none() && p.listener.is_none());
    assert!(
        p.problems[0].message.contains("BackendConfigPolicy")
            && p.problems[0].message.contains("spec.connectTimeout"),
        "{:?}",
        p.problems
    );
}

#[test]
fn listener_policies_lower_to_settings_and_name_what_they_cannot_apply() {
    let p = policy(
        "apiVersion: gateway.kgateway.dev/v1alpha1\nkind: ListenerPolicy\n\
         metadata: { name: lp, namespace: infra }\n\
         spec:\n  targetRefs: [{ group: gateway.networking.k8s.io, kind: Gateway, name: gw, sectionName: http },\n    \
         { group: gateway.networking.k8s.io, kind: HTTPRoute, name: r }]\n  \
         default:\n    tcpKeepalive: { keepAliveProbes: 3, keepAliveTime: 20m, keepAliveInterval: 60s }\n    \
         httpSettings:\n      http2ProtocolOptions: { initialStreamWindowSize: 128Ki, maxConcurrentStreams: 123 }\n      \
         xffTrustedCIDRs: [10.0.0.0/8, not-a-cidr]\n      streamIdleTimeout: 30s\n      \
         tracing: { provider: { openTelemetry: {} } }\n      \
         accessLog: [{ grpcService: { logName: x } }, { fileSink: { path: /dev/stdout, stringFormat: '%RESPONSE_CODE%' } }]\n      \
         stripHostPortMode: MatchingPort\n      \
         localReplies: { defaultBodyFormat: { text: '<p>%LOCAL_REPLY_BODY%</p>', contentType: text/html },\n        \
         mappers: [{ filter: { statusCodeFilter: { op: EQ, value: 404 } }, statusCode: 200, bodyFormatOverride: { json: { b: '%LOCAL_REPLY_BODY%' } } }] }\n  \
         perPort:\n    - { port: 8080, listener: { perConnectionBufferLimitBytes: 65536 } }\n    \
         - { port: 8080, listener: { perConnectionBufferLimitBytes: 1 } }\n",
    );
    assert_eq!(p.kind, PolicyKind::ListenerPolicy);
    let l = p.listener.as_ref().expect("listener settings");
    let d = &l.default;
    assert_eq!(
        d.tcp_keepalive,
        Some(sluice_dataflow::ir::TcpKeepaliveIr {
            probes: Some(3),
            time_s: Some(1200),
            interval_s: Some(60),
        })
    );
    let h2 = d.http.http2.as_ref().unwrap();
    assert_eq!(
        (h2.initial_stream_window_size, h2.max_concurrent_streams),
        (Some(131_072), Some(123))
    );
    assert_eq!(d.http.xff_trusted_cidrs, Some(vec![("10.0.0.0".into(), 8)]));
    assert_eq!(d.http.stream_idle_timeout_ms, Some(30_000));
    assert_eq!(d.http.access_log.as_ref().map(Vec::len), Some(1));
    assert_eq!(
        d.http.strip_host_port,
        Some(sluice_dataflow::ir::StripPortIr::Matching)
    );
    let replies = d.http.local_replies.as_ref().expect("local replies");
    assert_eq!(
        (replies.mappers.len(), replies.mappers[0].status),
        (1, Some(200))
    );
    assert_eq!(l.per_port.len(), 1);
    assert_eq!(l.per_port[0].1.buffer_limit_bytes, Some(65_536));
    let fields: Vec<&str> = p.problems.iter().map(|x| x.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "spec.default.httpSettings.accessLog[0].grpcService",
            "spec.default.httpSettings.tracing",
            "spec.default.httpSettings.xffTrustedCIDRs",
            "spec.perPort[1]",
            "spec.targetRefs",
        ],
        "{:?}",
        p.problems
    );
    let conditions = sluice_dataflow::render::policies::policy_conditions(&p);
    assert_eq!(
        (conditions[0].status.as_str(), conditions[0].reason.as_str()),
        ("False", "PartiallyValid")
    );
}

#[test]
fn http_listener_policies_are_listener_policy_defaults_and_say_they_are_deprecated() {
    let p = policy(
        "apiVersion: gateway.kgateway.dev/v1alpha1\nkind: HTTPListenerPolicy\n\
         metadata: { name: hlp, namespace: infra }\n\
         spec:\n  targetRefs: [{ group: gateway.networking.k8s.io, kind: Gateway, name: gw }]\n  \
         healthCheck: { path: /healthz }\n  serverHeaderTransformation: PassThrough\n",
    );
    assert_eq!(p.kind, PolicyKind::HTTPListenerPolicy);
    let l = p.listener.as_ref().expect("listener settings");
    assert_eq!(
        l.default.http.health_check_path.as_deref(),
        Some("/healthz")
    );
    assert_eq!(
        l.default.http.server_header,
        Some(sluice_dataflow::ir::ServerHeaderIr::PassThrough)
    );
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    let conditions = sluice_dataflow::render::policies::policy_conditions(&p);
    assert_eq!(conditions[0].reason, "Valid");
    assert!(
        conditions[0].message.contains("deprecated")
            && conditions[0].message.contains("spec.default.httpSettings"),
        "{}",
        conditions[0].message
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

    // basicAuth from a Secret of another namespace: sluice does not read it, so it fails
    // closed (one of its own namespace resolves in the dataflow: below).
    let p = traffic_policy("  basicAuth: { secretRef: { name: users, namespace: other } }\n");
    let t = p.traffic.expect("a deny");
    assert!(matches!(t.deny.get("basicAuth"), Some(Toggle::On(_))));
}

#[test]
fn compression_stat_prefix_and_tracing_lower_to_their_fields() {
    use sluice_dataflow::ir::{
        Codec, FilterKind, HttpFilterIr, RouteTracingIr, TraceTagIr, TraceTagValue,
    };
    let p = traffic_policy(
        "  compression:\n    responseCompression: { libraries: [Brotli, Gzip] }\n    \
         requestDecompression: {}\n  \
         statPrefix: \"{{ route_namespace }}.{{route_name}}.{{ rule_name }}\"\n  \
         tracing:\n    randomSampling: 50\n    attributes:\n    \
         - { name: route.id, literal: { value: mine } }\n    \
         - { name: req, requestHeader: { name: x-request-id, defaultValue: none } }\n",
    );
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    let t = p.traffic.expect("sub-policies");
    assert_eq!(
        t.filters.get(&FilterKind::Compress),
        Some(&Toggle::On(HttpFilterIr::Compress {
            libraries: vec![Codec::Brotli, Codec::Gzip]
        }))
    );
    assert_eq!(
        t.filters.get(&FilterKind::Decompress),
        Some(&Toggle::On(HttpFilterIr::Decompress {
            libraries: vec![Codec::Gzip]
        }))
    );
    assert_eq!(
        t.tracing,
        Some(RouteTracingIr {
            random_pct: Some(50),
            tags: vec![
                TraceTagIr {
                    tag: "route.id".into(),
                    value: TraceTagValue::Literal("mine".into()),
                },
                TraceTagIr {
                    tag: "req".into(),
                    value: TraceTagValue::RequestHeader {
                        name: "x-request-id".into(),
                        default: Some("none".into()),
                    },
                },
            ],
            ..Default::default()
        })
    );
    let route = ObjectKey::new("apps", "r");
    assert_eq!(
        t.stat_prefix_for(&route, Some("rule-1")).as_deref(),
        Some("apps.r.rule-1")
    );
    assert_eq!(t.stat_prefix_for(&route, None).as_deref(), Some("apps.r."));

    // `disable: {}` switches an inherited one off; tracing off is every sampling 0.
    let p = traffic_policy(
        "  compression: { responseCompression: { disable: {} } }\n  tracing: { disable: {} }\n",
    );
    let t = p.traffic.expect("sub-policies");
    assert_eq!(t.filters.get(&FilterKind::Compress), Some(&Toggle::Off));
    assert_eq!(t.tracing.expect("tracing").random_pct, Some(0));

    // A statPrefix reaching a Gateway has no effect there, and says so.
    let p = policy(
        "apiVersion: gateway.kgateway.dev/v1alpha1\nkind: TrafficPolicy\n\
         metadata: { name: tp, namespace: apps }\nspec:\n  \
         targetRefs: [{ group: gateway.networking.k8s.io, kind: Gateway, name: gw }]\n  \
         statPrefix: x\n",
    );
    assert!(p.problems.iter().any(|pr| pr.field == "spec.statPrefix"));
}

fn secret(name: &str, data: &[(&str, &str)], labels: &[(&str, &str)]) -> SecretRec {
    let pairs = |x: &[(&str, &str)]| {
        let mut v: Vec<(String, String)> = x
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        v.sort();
        v
    };
    SecretRec {
        key: ObjectKey::new("apps", name),
        cert_chain: None,
        private_key: None,
        data: pairs(data),
        labels: pairs(labels),
    }
}

#[test]
fn secret_backed_sub_policies_take_their_values_or_fail_closed() {
    use sluice_dataflow::ir::{ApiKeySourceIr, FilterKind, HttpFilterIr};
    let p = traffic_policy(
        "  basicAuth: { secretRef: { name: users } }\n  \
         apiKeyAuth:\n    keySources: [{ header: api-key }, { query: key }]\n    \
         forwardCredential: true\n    clientIdHeader: x-client\n    \
         secretSelector: { matchLabels: { team: a } }\n  \
         headerModifiers:\n    response: { add: [{ name: x-token, secretRef: { name: tokens, key: t } }] }\n",
    );
    assert_eq!(p.secrets.len(), 3, "{:?}", p.secrets);
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    // Not resolved yet: nothing denies, nothing is enforced.
    assert!(p.traffic.as_ref().is_none_or(|t| t.denied().is_none()));

    // No Secret: both security sub-policies fail closed; the header is left out.
    let none = p.with_secrets(&[]);
    let t = none.traffic.as_ref().expect("denies");
    assert!(matches!(t.deny.get("basicAuth"), Some(Toggle::On(m)) if m.contains("apps/users")));
    assert!(matches!(t.deny.get("apiKeyAuth"), Some(Toggle::On(m)) if m.contains("selector")));
    let fields: Vec<&str> = none.problems.iter().map(|pr| pr.field.as_str()).collect();
    for want in [
        "spec.basicAuth.secretRef",
        "spec.apiKeyAuth",
        "spec.headerModifiers.response.add[0].secretRef",
    ] {
        assert!(fields.contains(&want), "{want} not in {fields:?}");
    }

    // Found: an htpasswd file, keys from every selected Secret, the header's value. Secrets
    // of other namespaces, or not named or selected, are ignored.
    let users = secret("users", &[(".htpasswd", "alice:{SHA}x")], &[]);
    let keys_a = secret("keys-a", &[("client1", "k-1")], &[("team", "a")]);
    let keys_b = secret("keys-b", &[("client2", "k-2")], &[("team", "a")]);
    let other = secret("keys-c", &[("client3", "k-3")], &[("team", "b")]);
    let tokens = secret("tokens", &[("t", "s3cret")], &[]);
    let mut elsewhere = secret("users", &[(".htpasswd", "eve:{SHA}y")], &[]);
    elsewhere.key = ObjectKey::new("other", "users");
    let all = [&elsewhere, &tokens, &other, &keys_b, &keys_a, &users];
    let ok = p.with_secrets(&all);
    assert!(ok.problems.is_empty(), "{:?}", ok.problems);
    let t = ok.traffic.expect("resolved");
    assert!(t.denied().is_none(), "{:?}", t.deny);
    assert_eq!(
        t.filters.get(&FilterKind::BasicAuth),
        Some(&Toggle::On(HttpFilterIr::BasicAuth {
            htpasswd: "alice:{SHA}x".into()
        }))
    );
    assert_eq!(
        t.filters.get(&FilterKind::ApiKeyAuth),
        Some(&Toggle::On(HttpFilterIr::ApiKeyAuth {
            credentials: vec![
                ("k-1".into(), "client1".into()),
                ("k-2".into(), "client2".into())
            ],
            sources: vec![
                ApiKeySourceIr {
                    header: Some("api-key".into()),
                    ..Default::default()
                },
                ApiKeySourceIr {
                    query: Some("key".into()),
                    ..Default::default()
                },
            ],
            forward: true,
            client_id_header: Some("x-client".into()),
        }))
    );
    assert_eq!(
        t.response_headers.expect("headers").add,
        [("x-token".to_string(), "s3cret".to_string())]
    );

    // `disable: {}` switches inherited API key auth off, with no Secret to read.
    let p = traffic_policy("  apiKeyAuth: { disable: {} }\n");
    assert!(p.secrets.is_empty());
    let t = p.traffic.expect("a toggle");
    assert_eq!(t.filters.get(&FilterKind::ApiKeyAuth), Some(&Toggle::Off));
    assert_eq!(t.deny.get("apiKeyAuth"), Some(&Toggle::Off));
}
