//! kgateway policies: TrafficPolicies attached at every level (Gateway, listener, route,
//! rule, label selector; rules also name them in `ExtensionRef` filters), with weights, ages,
//! `disable`, and a deny standing for a security sub-policy sluice cannot enforce;
//! ListenerPolicies and HTTPListenerPolicies with defaults and per-port entries; and the
//! policy kinds sluice does not translate yet. One row per sub-policy, a few values each.

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::sample::select;
use sluice_dataflow::ir::{
    AccessLogIr, ApiKeySourceIr, CmpOp, Codec, FilterKind, HttpFilterIr, HttpSettingsIr,
    InternalRedirectIr, ListenerSettingsIr, LocalRepliesIr, LocalReplyMapperIr, LogFilterIr,
    LogFormatIr, ProxyProtocolIr, RetryIr, RouteTracingIr, TraceTagIr, TraceTagValue,
};
use sluice_dataflow::model::*;

use super::names::{GATEWAYS, POLICIES, POLICY_LABELS, ROUTES, SECRETS, key_in};

fn target() -> impl Strategy<Value = PolicyTarget> {
    let route = (
        select(&ROUTES[..4]),
        select(&[None, None, Some("rule-0"), Some("rule-1")][..]),
    )
        .prop_map(|(name, section)| PolicyTarget {
            kind: TargetKind::HTTPRoute,
            name: Sym::new(name),
            section: section.map(str::to_string),
        });
    let gateway = (
        select(&GATEWAYS[..]),
        select(&[None, None, Some("l-0"), Some("l-1")][..]),
    )
        .prop_map(|(name, section)| PolicyTarget {
            kind: TargetKind::Gateway,
            name: Sym::new(name),
            section: section.map(str::to_string),
        });
    let other = Just(PolicyTarget {
        kind: TargetKind::Other {
            group: "gateway.networking.k8s.io".into(),
            kind: "GRPCRoute".into(),
        },
        name: Sym::new("r-1"),
        section: None,
    });
    prop_oneof![4 => route, 3 => gateway, 1 => other]
}

fn selector() -> impl Strategy<Value = PolicySelector> {
    (
        prop::sample::subsequence(POLICY_LABELS.to_vec(), 1..=2),
        select(&[None, None, Some("rule-0")][..]),
    )
        .prop_map(|(labels, section)| PolicySelector {
            kind: TargetKind::HTTPRoute,
            labels: labels
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            section: section.map(str::to_string),
        })
}

fn toggle<T: std::fmt::Debug + Clone + 'static>(
    on: impl Strategy<Value = T> + 'static,
) -> impl Strategy<Value = Option<Toggle<T>>> {
    prop_oneof![4 => Just(None), 2 => on.prop_map(|v| Some(Toggle::On(v))), 1 => Just(Some(Toggle::Off))]
}

fn headers() -> impl Strategy<Value = Option<HeaderMods>> {
    prop::option::weighted(
        0.3,
        (
            select(&["x-policy", "x-route", "x-other"][..]),
            select(&["1", "2"][..]),
            any::<bool>(),
        )
            .prop_map(|(name, value, remove)| HeaderMods {
                set: vec![(name.to_string(), value.to_string())],
                add: Vec::new(),
                remove: if remove {
                    vec!["x-remove".into()]
                } else {
                    Vec::new()
                },
            }),
    )
}

/// The sub-policies served by HTTP filters: one row per filter kind.
fn filters() -> impl Strategy<Value = BTreeMap<FilterKind, Toggle<HttpFilterIr>>> {
    let rate = toggle(
        (select(&[1u32, 10][..]), select(&[100u32, 50][..])).prop_map(|(max, enforced)| {
            HttpFilterIr::LocalRateLimit {
                max_tokens: max,
                tokens_per_fill: 1,
                fill_interval_ms: 1000,
                enabled_pct: 100,
                enforced_pct: enforced,
            }
        }),
    );
    let fault = toggle(
        select(&[(Some(100u64), None), (None, Some(503u16))][..]).prop_map(
            |(delay_ms, abort_status)| HttpFilterIr::Fault {
                delay_ms,
                delay_ppm: if delay_ms.is_some() { 1_000_000 } else { 0 },
                abort_status,
                abort_ppm: if abort_status.is_some() { 500_000 } else { 0 },
                response_kbps: None,
                max_active: None,
            },
        ),
    );
    let basic =
        toggle(
            select(&["u:{SHA}x", "v:{SHA}y"][..]).prop_map(|h| HttpFilterIr::BasicAuth {
                htpasswd: h.to_string(),
            }),
        );
    let buffer = toggle(
        select(&[1024u64, 1 << 20][..]).prop_map(|max_bytes| HttpFilterIr::Buffer { max_bytes }),
    );
    let csrf = toggle(
        select(&[(100u32, 0u32), (0, 100)][..]).prop_map(|(enabled, shadow)| HttpFilterIr::Csrf {
            enabled_pct: enabled,
            shadow_pct: shadow,
            additional_origins: Vec::new(),
        }),
    );
    let rbac = toggle(
        select(&[true, false][..]).prop_map(|allow| HttpFilterIr::Rbac {
            allow,
            expressions: vec!["request.headers['x-user'] == 'admin'".to_string()],
        }),
    );
    let codecs = || {
        prop_oneof![
            Just(vec![Codec::Gzip]),
            Just(vec![Codec::Brotli, Codec::Zstd])
        ]
    };
    let compress = toggle(codecs().prop_map(|libraries| HttpFilterIr::Compress { libraries }));
    let decompress = toggle(codecs().prop_map(|libraries| HttpFilterIr::Decompress { libraries }));
    let codec_rows = (compress, decompress);
    (rate, fault, basic, buffer, csrf, rbac, codec_rows).prop_map(
        |(rate, fault, basic, buffer, csrf, rbac, (compress, decompress))| {
            [
                (FilterKind::Compress, compress),
                (FilterKind::Decompress, decompress),
                (FilterKind::LocalRateLimit, rate),
                (FilterKind::Fault, fault),
                (FilterKind::BasicAuth, basic),
                (FilterKind::Buffer, buffer),
                (FilterKind::Csrf, csrf),
                (FilterKind::Rbac, rbac),
            ]
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect()
        },
    )
}

fn redirect() -> impl Strategy<Value = Option<InternalRedirectIr>> {
    prop::option::weighted(
        0.35,
        any::<bool>().prop_map(|two| InternalRedirectIr {
            codes: if two { vec![303, 307] } else { vec![302] },
            max: Some(2),
            allow_cross_scheme: false,
            copy_headers: Vec::new(),
        }),
    )
}

/// A TrafficPolicy's sub-policies: each row mostly unset.
fn traffic() -> impl Strategy<Value = TrafficRec> {
    let ms = |v: &'static [u64]| prop::option::weighted(0.3, select(v));
    let retry = prop::option::weighted(
        0.25,
        (
            any::<bool>().prop_map(|c| if c { vec![503u16] } else { Vec::new() }),
            select(&[Some(1u32), Some(3)][..]),
            ms(&[100, 2000]),
        )
            .prop_map(|(codes, attempts, per_try)| PolicyRetry {
                retry: RetryIr {
                    codes,
                    attempts,
                    backoff_ms: Some(25),
                    on: vec!["5xx".into()],
                },
                per_try_timeout_ms: per_try,
            }),
    );
    let cors = toggle(
        select(&["https://a.example", "*"][..]).prop_map(|o| CorsRec {
            allow_origins: vec![o.to_string()],
            allow_credentials: false,
            allow_methods: vec!["GET".into()],
            allow_headers: Vec::new(),
            expose_headers: Vec::new(),
            max_age_s: 5,
        }),
    );
    let regex = prop::option::weighted(
        0.3,
        select(&[("^/a", "/z"), ("/b$", "/y")][..])
            .prop_map(|(p, s)| (p.to_string(), s.to_string())),
    );
    let deny = toggle(Just("sluice does not enforce rbac yet".to_string()));
    let stat_prefix = prop::option::weighted(
        0.2,
        select(
            &[
                "{{route_namespace}}.{{ route_name }}.{{rule_name}}",
                "static",
            ][..],
        )
        .prop_map(str::to_string),
    );
    let tracing = prop::option::weighted(
        0.2,
        (select(&[Some(0u32), Some(50), None][..]), any::<bool>()).prop_map(|(random, tag)| {
            RouteTracingIr {
                random_pct: random,
                tags: if tag {
                    vec![TraceTagIr {
                        tag: "route".into(),
                        value: TraceTagValue::Literal("r".into()),
                    }]
                } else {
                    Vec::new()
                },
                ..Default::default()
            }
        }),
    );
    (
        (ms(&[1000, 5000]), ms(&[300, 60000]), retry, cors),
        (
            headers(),
            headers(),
            prop::option::weighted(0.35, prop_oneof![3 => Just(true), 1 => Just(false)]),
        ),
        (regex, deny, filters(), redirect()),
        (
            stat_prefix,
            tracing,
            prop::option::weighted(0.15, (headers(), headers())),
        ),
    )
        .prop_map(
            |(
                (timeout_ms, stream_idle_ms, retry, cors),
                (request_headers, response_headers, auto_host_rewrite),
                (path_regex, deny, filters, internal_redirect),
                (stat_prefix, tracing, transformation),
            )| TrafficRec {
                timeout_ms,
                stream_idle_ms,
                retry,
                cors,
                request_headers,
                response_headers,
                auto_host_rewrite,
                path_regex,
                deny: deny
                    .map(|d| BTreeMap::from([("rbac".to_string(), d)]))
                    .unwrap_or_default(),
                filters,
                internal_redirect,
                stat_prefix,
                tracing,
                transformation: transformation
                    .map(|(req, resp)| (req.unwrap_or_default(), resp.unwrap_or_default())),
            },
        )
}

/// Sub-policies reading Secrets: an htpasswd file, API keys (by name or label), a header
/// value; names from the Secret pool, so some resolve and some do not.
fn secret_uses() -> impl Strategy<Value = Vec<SecretUse>> {
    let named = select(&SECRETS[..]).prop_map(|n| SecretSource::Named(Sym::new(n)));
    let source = prop_oneof![
        1 => named.clone(),
        1 => Just(SecretSource::Selected(vec![("keys".into(), "api".into())])),
    ];
    let one = prop_oneof![
        1 => (named.clone()).prop_map(|source| SecretUse {
            field: "basicAuth.secretRef".into(),
            source,
            want: SecretWant::Htpasswd {
                key: ".htpasswd".into(),
            },
        }),
        4 => (source, any::<bool>()).prop_map(|(source, forward)| SecretUse {
            field: "apiKeyAuth".into(),
            source,
            want: SecretWant::ApiKeys {
                sources: vec![ApiKeySourceIr {
                    header: Some("api-key".into()),
                    ..Default::default()
                }],
                forward,
                client_id_header: None,
            },
        }),
        1 => (named, any::<bool>(), select(&[None, Some("client1")][..])).prop_map(
            |(source, response, key)| SecretUse {
                field: "headerModifiers.request.set[0].secretRef".into(),
                source,
                want: SecretWant::Header {
                    response,
                    add: false,
                    name: "x-secret".into(),
                    key: key.map(str::to_string),
                },
            }
        ),
    ];
    prop_oneof![1 => Just(Vec::new()), 1 => prop::collection::vec(one, 1..=1)]
}

/// One port's listener settings: a few values per merge unit, so policies conflict.
fn listener_settings() -> impl Strategy<Value = ListenerSettingsIr> {
    let log = (
        select(&["/dev/stdout", "/tmp/access.log"][..]),
        prop::option::of(select(&[400u32, 500][..])),
    )
        .prop_map(|(path, status)| AccessLogIr {
            path: path.into(),
            format: LogFormatIr::Json(r#"{"code":"%RESPONSE_CODE%"}"#.into()),
            filter: status.map(|s| {
                LogFilterIr::And(vec![
                    LogFilterIr::NotHealthCheck,
                    LogFilterIr::StatusCode(CmpOp::Ge, s),
                ])
            }),
        });
    (
        (
            prop::option::weighted(0.3, any::<bool>()),
            prop::option::weighted(0.3, select(&[8192u32, 65536][..])),
            prop::option::weighted(0.2, 1..=3u64),
        ),
        (
            prop::option::weighted(0.4, select(&["a", "b"][..])),
            prop::option::weighted(0.3, Just("/healthz")),
            prop::option::weighted(0.2, Just(vec!["websocket".to_string()])),
            prop::option::weighted(0.3, prop::collection::vec(log, 1..=1)),
            prop::option::weighted(0.3, any::<bool>()),
            prop::option::weighted(0.3, 1..=2u32),
            prop::option::weighted(0.2, select(&[404u32, 503][..])),
        ),
    )
        .prop_map(
            |((proxy, buffer, connect_s), (name, health, upgrades, logs, remote, hops, reply))| {
                ListenerSettingsIr {
                    proxy_protocol: proxy.map(|allow_without| ProxyProtocolIr { allow_without }),
                    buffer_limit_bytes: buffer,
                    transport_socket_connect_timeout_ms: connect_s.map(|s| s * 1000),
                    http: HttpSettingsIr {
                        server_name: name.map(str::to_string),
                        health_check_path: health.map(str::to_string),
                        upgrades,
                        access_log: logs,
                        use_remote_address: remote,
                        xff_num_trusted_hops: hops,
                        local_replies: reply.map(|code| LocalRepliesIr {
                            body_format: None,
                            mappers: vec![LocalReplyMapperIr {
                                filter: LogFilterIr::StatusCode(CmpOp::Eq, code),
                                status: Some(200),
                                body: Some(format!("was {code}")),
                                body_format: None,
                                headers: Default::default(),
                            }],
                        }),
                        ..Default::default()
                    },
                    ..Default::default()
                }
            },
        )
}

/// A ListenerPolicy's settings: a default and per-port entries on the ports gateways use.
fn listener_policy() -> impl Strategy<Value = ListenerPolicyRec> {
    (
        listener_settings(),
        prop::collection::btree_map(select(&[80u16, 8080, 443][..]), listener_settings(), 0..=2),
    )
        .prop_map(|(default, per_port)| ListenerPolicyRec {
            default,
            per_port: per_port.into_iter().collect(),
        })
}

/// A policy-like object: mostly TrafficPolicies.
pub fn policy() -> impl Strategy<Value = PolicyRec> {
    policy_of(prop_oneof![
        8 => Just(PolicyKind::TrafficPolicy),
        1 => select(&PolicyKind::ALL[1..]),
    ])
}

/// A policy of a kind `kind` picks.
pub fn policy_of(kind: impl Strategy<Value = PolicyKind>) -> impl Strategy<Value = PolicyRec> {
    (
        kind,
        key_in(&POLICIES),
        (
            1..=3i64,
            select(&[0i64, 10, 20][..]),
            select(&[0i32, 0, 1, 5][..]),
        ),
        prop::collection::vec(target(), 0..=2),
        prop::collection::vec(selector(), 0..=1),
        (traffic(), secret_uses(), listener_policy()),
        prop::option::weighted(
            0.3,
            Just(PolicyProblem {
                field: "spec.tracing".into(),
                message: "not supported by sluice yet; it has no effect".into(),
            }),
        ),
    )
        .prop_map(
            |(
                kind,
                key,
                (generation, created, weight),
                targets,
                selectors,
                (traffic, secrets, listener),
                problem,
            )| {
                let is_traffic = kind == PolicyKind::TrafficPolicy;
                let mut problems: Vec<PolicyProblem> = problem.into_iter().collect();
                if !kind.translated() {
                    problems = vec![PolicyProblem {
                        field: "spec".into(),
                        message: format!("sluice does not translate {} yet", kind.as_str()),
                    }];
                }
                PolicyRec {
                    kind,
                    key,
                    generation,
                    created,
                    weight,
                    targets: if kind.has_ancestors() {
                        targets
                    } else {
                        Vec::new()
                    },
                    selectors: if is_traffic { selectors } else { Vec::new() },
                    traffic: (is_traffic && !traffic.is_empty()).then(|| Box::new(traffic)),
                    listener: (kind.translated() && !is_traffic).then(|| Box::new(listener)),
                    problems,
                    secrets: if is_traffic { secrets } else { Vec::new() },
                }
            },
        )
}
