//! `lower`: each Kubernetes object to its record, with every per-object rule pinned down, and
//! every object of the upstream conformance manifests lowered without an `Invalid`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sluice_crds::Object;
use sluice_dataflow::input::Record;
use sluice_dataflow::lower::{LowerError, Lowered, lower, parse_duration_ms};
use sluice_dataflow::model::*;

// ---------------------------------------------------------------------------------------------
// Builders

fn mk_object(yaml: &str) -> Object {
    let value: serde_json::Value = serde_yaml_ng::from_str(yaml).expect("valid YAML");
    Object::from_value(value)
        .expect("decodes")
        .expect("a kind sluice reads")
}

fn mk_record(yaml: &str) -> Record {
    match lower(&mk_object(yaml)) {
        Lowered::Record(r) => r,
        other => panic!("expected a record, got {other:?}"),
    }
}

fn mk_invalid(yaml: &str) -> LowerError {
    match lower(&mk_object(yaml)) {
        Lowered::Invalid(e) => e,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

fn mk_gateway(listeners: &str) -> GatewayRec {
    let yaml = format!(
        "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\n\
         metadata: {{name: gw, namespace: infra, generation: 3}}\n\
         spec:\n  gatewayClassName: sluice\n  listeners:\n{}",
        indent(listeners, 2)
    );
    match mk_record(&yaml) {
        Record::Gateway(g) => std::sync::Arc::unwrap_or_clone(g),
        other => panic!("not a Gateway: {other:?}"),
    }
}

/// An HTTPRoute in namespace `apps` with `spec` (YAML, at column 0).
fn mk_http_route(spec: &str) -> HttpRouteRec {
    let yaml = format!(
        "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n\
         metadata: {{name: route, namespace: apps}}\nspec:\n{}",
        indent(spec, 2)
    );
    match mk_record(&yaml) {
        Record::HttpRoute(r) => std::sync::Arc::unwrap_or_clone(r),
        other => panic!("not an HTTPRoute: {other:?}"),
    }
}

/// The one rule of an HTTPRoute whose only rule is `rule` (YAML mapping, at column 0).
fn mk_rule(rule: &str) -> RuleRec {
    let route = mk_http_route(&format!("rules:\n- {}", indent(rule, 2).trim_start()));
    assert_eq!(route.rules.len(), 1);
    route.rules.into_iter().next().unwrap()
}

fn indent(text: &str, by: usize) -> String {
    let pad = " ".repeat(by);
    text.lines()
        .map(|l| format!("{pad}{l}\n"))
        .collect::<String>()
}

fn prefix(p: &str) -> MatchRec {
    MatchRec {
        path: PathMatch::Prefix(p.into()),
        headers: vec![],
        query: vec![],
        method: None,
    }
}

fn svc(ns: &str, name: &str, port: u16) -> BackendTarget {
    BackendTarget::Service {
        key: ObjectKey::new(ns, name),
        port: Some(port),
    }
}

fn listener(name: &str, port: u16, protocol: Protocol) -> ListenerRec {
    let http = protocol.is_http();
    ListenerRec {
        name: Sym::new(name),
        port,
        protocol,
        hostname: None,
        tls: None,
        allowed_namespaces: AllowedNamespaces::Same,
        supported_kinds: if http {
            vec![RouteGroupKind::http_route()]
        } else {
            vec![]
        },
        invalid_kinds: false,
        problem: None,
    }
}

// ---------------------------------------------------------------------------------------------
// GatewayClass, Gateway

#[test]
fn gateway_class() {
    let r = mk_record(
        "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\n\
         metadata: {name: sluice, generation: 2}\n\
         spec: {controllerName: sluice.dev/gateway-controller}",
    );
    assert_eq!(
        r,
        Record::from(GatewayClassRec {
            name: Sym::new("sluice"),
            controller: Sym::new("sluice.dev/gateway-controller"),
            generation: 2,
        })
    );
    assert_eq!(r.key().key, ObjectKey::new("", "sluice"));
}

#[test]
fn gateway_listeners() {
    let g = mk_gateway(
        "- {name: http, port: 80, protocol: HTTP, hostname: Foo.Example.COM}
- name: https
  port: 443
  protocol: HTTPS
  tls:
    certificateRefs:
    - {name: cert}
    - {name: other, namespace: certs, group: example.com, kind: Vault}
  allowedRoutes:
    namespaces: {from: All}
- name: sel
  port: 8080
  protocol: HTTP
  allowedRoutes:
    namespaces:
      from: Selector
      selector:
        matchLabels: {env: prod}
        matchExpressions:
        - {key: team, operator: NotIn, values: [a, b]}
        - {key: tier, operator: Exists}
- name: pass
  port: 8443
  protocol: TLS
  tls: {mode: Passthrough}
- {name: custom, port: 9000, protocol: example.com/foo}",
    );
    assert_eq!(g.key, ObjectKey::new("infra", "gw"));
    assert_eq!(g.class, Sym::new("sluice"));
    assert_eq!(g.generation, 3);
    let expected = vec![
        ListenerRec {
            hostname: Some("foo.example.com".into()),
            ..listener("http", 80, Protocol::Http)
        },
        ListenerRec {
            tls: Some(ListenerTls {
                mode: TlsMode::Terminate,
                certificate_refs: vec![
                    CertificateRef {
                        group: "".into(),
                        kind: "Secret".into(),
                        key: ObjectKey::new("infra", "cert"),
                    },
                    CertificateRef {
                        group: "example.com".into(),
                        kind: "Vault".into(),
                        key: ObjectKey::new("certs", "other"),
                    },
                ],
            }),
            allowed_namespaces: AllowedNamespaces::All,
            ..listener("https", 443, Protocol::Https)
        },
        ListenerRec {
            allowed_namespaces: AllowedNamespaces::Selector(LabelSelector {
                match_labels: [("env".to_string(), "prod".to_string())].into(),
                match_expressions: vec![
                    SelectorExpr {
                        key: "team".into(),
                        op: SelectorOp::NotIn,
                        values: vec!["a".into(), "b".into()],
                    },
                    SelectorExpr {
                        key: "tier".into(),
                        op: SelectorOp::Exists,
                        values: vec![],
                    },
                ],
            }),
            ..listener("sel", 8080, Protocol::Http)
        },
        ListenerRec {
            tls: Some(ListenerTls {
                mode: TlsMode::Passthrough,
                certificate_refs: vec![],
            }),
            problem: Some(ListenerProblem::UnsupportedProtocol),
            ..listener("pass", 8443, Protocol::Tls)
        },
        ListenerRec {
            problem: Some(ListenerProblem::UnsupportedProtocol),
            ..listener("custom", 9000, Protocol::Other("example.com/foo".into()))
        },
    ];
    assert_eq!(g.listeners, expected);
}

#[test]
fn invalid_selectors_select_nothing() {
    let g = mk_gateway(
        "- name: none
  port: 80
  protocol: HTTP
  allowedRoutes: {namespaces: {from: Selector}}
- name: bad-op
  port: 81
  protocol: HTTP
  allowedRoutes:
    namespaces:
      from: Selector
      selector:
        matchExpressions: [{key: env, operator: Like, values: [x]}]
- name: in-empty
  port: 82
  protocol: HTTP
  allowedRoutes:
    namespaces:
      from: Selector
      selector:
        matchExpressions: [{key: env, operator: In}]
- name: empty
  port: 83
  protocol: HTTP
  allowedRoutes: {namespaces: {from: Selector, selector: {}}}",
    );
    let labels: BTreeMap<String, String> = [("env".to_string(), "x".to_string())].into();
    for l in &g.listeners[..3] {
        let AllowedNamespaces::Selector(sel) = &l.allowed_namespaces else {
            panic!("{l:?}")
        };
        assert!(!sel.matches(&labels), "{}", l.name);
        assert!(!sel.matches(&BTreeMap::new()), "{}", l.name);
    }
    // An empty selector selects every namespace.
    assert_eq!(
        g.listeners[3].allowed_namespaces,
        AllowedNamespaces::Selector(LabelSelector::default())
    );
}

#[test]
fn listener_route_kinds() {
    let g = mk_gateway(
        "- name: explicit
  port: 80
  protocol: HTTP
  hostname: a.example.com
  allowedRoutes: {kinds: [{kind: HTTPRoute}, {group: gateway.networking.k8s.io, kind: HTTPRoute}]}
- name: mixed
  port: 80
  protocol: HTTP
  hostname: b.example.com
  allowedRoutes: {kinds: [{kind: HTTPRoute}, {kind: TCPRoute}]}
- name: grpc-only
  port: 80
  protocol: HTTP
  hostname: c.example.com
  allowedRoutes: {kinds: [{kind: GRPCRoute}]}
- name: wrong-group
  port: 80
  protocol: HTTP
  hostname: d.example.com
  allowedRoutes: {kinds: [{group: example.com, kind: HTTPRoute}]}
- name: tcp
  port: 9000
  protocol: TCP
  allowedRoutes: {kinds: [{kind: TCPRoute}]}
- {name: tcp-default, port: 9001, protocol: TCP}",
    );
    let kinds: Vec<(Vec<RouteGroupKind>, bool)> = g
        .listeners
        .iter()
        .map(|l| (l.supported_kinds.clone(), l.invalid_kinds))
        .collect();
    let http = || vec![RouteGroupKind::http_route()];
    assert_eq!(
        kinds,
        vec![
            (http(), false),
            (http(), true),
            (vec![], true),
            (vec![], true),
            (vec![], true),
            (vec![], false),
        ]
    );
}

#[test]
fn listener_conflict_precedence() {
    let g = mk_gateway(
        "- {name: a, port: 80, protocol: HTTP, hostname: a.example.com}
- {name: b, port: 80, protocol: HTTPS, hostname: a.example.com, tls: {certificateRefs: [{name: c}]}}
- {name: c, port: 8080, protocol: HTTP}
- {name: d, port: 8080, protocol: HTTP}
- {name: e, port: 8080, protocol: HTTP, hostname: e.example.com}
- {name: f, port: 9000, protocol: TCP}
- {name: g, port: 9001, protocol: TCP}
- {name: h, port: 9001, protocol: TCP}
- {name: i, port: 9002, protocol: TCP}
- {name: j, port: 9002, protocol: UDP}
- {name: k, port: 8443, protocol: HTTPS, hostname: X.example.com}
- {name: l, port: 8443, protocol: HTTPS, hostname: x.example.com}",
    );
    let conflicted = |r: &str| Some(ListenerProblem::Conflicted(r.into()));
    let problems: Vec<(&str, Option<ListenerProblem>)> = g
        .listeners
        .iter()
        .map(|l| (l.name.as_str(), l.problem.clone()))
        .collect();
    assert_eq!(
        problems,
        vec![
            ("a", conflicted("ProtocolConflict")),
            ("b", conflicted("ProtocolConflict")),
            ("c", conflicted("HostnameConflict")),
            ("d", conflicted("HostnameConflict")),
            ("e", None),
            ("f", Some(ListenerProblem::UnsupportedProtocol)),
            ("g", conflicted("HostnameConflict")),
            ("h", conflicted("HostnameConflict")),
            ("i", conflicted("ProtocolConflict")),
            ("j", conflicted("ProtocolConflict")),
            // Hostnames compare lowercased.
            ("k", conflicted("HostnameConflict")),
            ("l", conflicted("HostnameConflict")),
        ]
    );
}

#[test]
fn gateway_schema_violations_are_invalid() {
    let gateway = |listeners: &str| {
        format!(
            "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\n\
             metadata: {{name: gw}}\nspec:\n  gatewayClassName: sluice\n  listeners:\n{}",
            indent(listeners, 2)
        )
    };
    assert_eq!(
        mk_invalid(&gateway(
            "- {name: a, port: 80, protocol: HTTP}\n- {name: b, port: 70000, protocol: HTTP}"
        )),
        LowerError::new("spec.listeners[1].port", "port 70000 is not in 1-65535")
    );
    assert_eq!(
        mk_invalid(&gateway("- {name: a, port: 0, protocol: HTTP}")).field,
        "spec.listeners[0].port"
    );
    assert_eq!(
        mk_invalid(&gateway(
            "- {name: a, port: 80, protocol: HTTP}\n- {name: a, port: 81, protocol: HTTP}"
        ))
        .field,
        "spec.listeners[1].name"
    );
    // No namespace: `default`.
    let Record::Gateway(g) = mk_record(&gateway("- {name: a, port: 80, protocol: HTTP}")) else {
        panic!()
    };
    assert_eq!(g.key, ObjectKey::new("default", "gw"));
    assert_eq!(g.generation, 0);
}

// ---------------------------------------------------------------------------------------------
// HTTPRoute

#[test]
fn http_route_parents_hostnames_and_metadata() {
    let r = mk_record(
        "apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: route
  namespace: apps
  generation: 4
  creationTimestamp: '2023-11-14T22:13:20Z'
spec:
  parentRefs:
  - {name: gw}
  - {name: gw, namespace: infra, sectionName: http, port: 8080}
  - {name: ls, group: gateway.networking.k8s.io, kind: ListenerSet}
  hostnames: [Foo.Example.com, '*.bar.example.com']
  rules:
  - backendRefs: [{name: svc, port: 80}]",
    );
    let Record::HttpRoute(r) = r else { panic!() };
    assert_eq!(r.key, ObjectKey::new("apps", "route"));
    assert_eq!(r.generation, 4);
    assert_eq!(r.created, 1_700_000_000);
    assert_eq!(
        r.parent_refs,
        vec![
            ParentRef {
                group: GATEWAY_GROUP.into(),
                kind: "Gateway".into(),
                gateway: ObjectKey::new("apps", "gw"),
                section: None,
                port: None,
            },
            ParentRef {
                group: GATEWAY_GROUP.into(),
                kind: "Gateway".into(),
                gateway: ObjectKey::new("infra", "gw"),
                section: Some(Sym::new("http")),
                port: Some(8080),
            },
            ParentRef {
                group: GATEWAY_GROUP.into(),
                kind: "ListenerSet".into(),
                gateway: ObjectKey::new("apps", "ls"),
                section: None,
                port: None,
            },
        ]
    );
    assert_eq!(r.hostnames, vec!["foo.example.com", "*.bar.example.com"]);
    assert_eq!(
        r.rules,
        vec![RuleRec {
            name: None,
            matches: vec![prefix("/")],
            filters: vec![],
            backends: vec![BackendRefRec {
                target: svc("apps", "svc", 80),
                weight: 1,
                filters: vec![],
            }],
            timeout_ms: None,
            backend_timeout_ms: None,
            retry: None,
            invalid: None,
        }]
    );
}

#[test]
fn default_rule_and_default_match() {
    let no_rules = mk_http_route("parentRefs: [{name: gw}]");
    assert_eq!(no_rules.created, 0);
    assert_eq!(no_rules.rules.len(), 1);
    assert_eq!(no_rules.rules[0].matches, vec![prefix("/")]);

    let route = mk_http_route(
        "rules:
- name: empty-matches
  matches: []
- matches: [{headers: [{name: X-A, value: b}]}]",
    );
    assert_eq!(route.rules[0].name.as_deref(), Some("empty-matches"));
    assert_eq!(route.rules[0].matches, vec![prefix("/")]);
    assert_eq!(
        route.rules[1].matches[0].path,
        PathMatch::Prefix("/".into())
    );
}

#[test]
fn matches_are_normalized() {
    let rule = mk_rule(
        "matches:
- path: {type: PathPrefix, value: /foo/}
- path: {value: /}
- path: {type: Exact, value: /foo/}
- path: {type: RegularExpression, value: '/v[0-9]+/'}
- path: {value: /a/b}
  headers:
  - {name: X-Version, value: '2'}
  - {name: x-re, type: RegularExpression, value: 'a.*'}
  queryParams:
  - {name: Page, value: '1'}
  - {name: q, type: RegularExpression, value: 'x+'}
  method: PATCH",
    );
    assert_eq!(rule.invalid, None);
    assert_eq!(
        rule.matches,
        vec![
            prefix("/foo"),
            prefix("/"),
            MatchRec {
                path: PathMatch::Exact("/foo/".into()),
                ..prefix("/")
            },
            MatchRec {
                path: PathMatch::Regex("/v[0-9]+/".into()),
                ..prefix("/")
            },
            MatchRec {
                path: PathMatch::Prefix("/a/b".into()),
                headers: vec![
                    KeyValueMatch {
                        name: "x-version".into(),
                        value: StringMatch::Exact("2".into()),
                    },
                    KeyValueMatch {
                        name: "x-re".into(),
                        value: StringMatch::Regex("a.*".into()),
                    },
                ],
                query: vec![
                    KeyValueMatch {
                        name: "Page".into(),
                        value: StringMatch::Exact("1".into()),
                    },
                    KeyValueMatch {
                        name: "q".into(),
                        value: StringMatch::Regex("x+".into()),
                    },
                ],
                method: Some("PATCH".into()),
            },
        ]
    );
}

#[test]
fn invalid_paths_make_the_rule_invalid() {
    for bad in [
        "foo", "/a//b", "/a/../b", "/a/.", "/a%2fb", "/a#b", "/a b", "/a%zz",
    ] {
        let rule = mk_rule(&format!(
            "matches: [{{path: {{type: Exact, value: '{bad}'}}}}]"
        ));
        let invalid = rule.invalid.unwrap_or_else(|| panic!("{bad:?} accepted"));
        assert!(invalid.starts_with("matches[0].path: "), "{invalid}");
    }
    let ok = mk_rule("matches: [{path: {value: \"/a-b_c.d~e/%20/@:;=\"}}]");
    assert_eq!(ok.invalid, None);
    assert_eq!(
        ok.matches[0].path,
        PathMatch::Prefix("/a-b_c.d~e/%20/@:;=".into())
    );
}

#[test]
fn filters() {
    let rule = mk_rule(
        "filters:
- type: RequestHeaderModifier
  requestHeaderModifier:
    set: [{name: X-Set, value: '1'}]
    add: [{name: X-Add, value: a}]
    remove: [X-Remove]
- type: ResponseHeaderModifier
  responseHeaderModifier: {add: [{name: X-Resp, value: r}]}
- type: URLRewrite
  urlRewrite:
    hostname: rewritten.example.com
    path: {type: ReplacePrefixMatch, replacePrefixMatch: /new}
- type: RequestMirror
  requestMirror: {backendRef: {name: mirror, port: 8080}}
- type: RequestMirror
  requestMirror: {backendRef: {name: mirror2, namespace: other, port: 80}, percent: 50}
- type: ExtensionRef
  extensionRef: {group: gateway.kgateway.dev, kind: DirectResponse, name: dr}
backendRefs:
- {name: svc, port: 80}",
    );
    assert_eq!(rule.invalid, None);
    assert_eq!(
        rule.filters,
        vec![
            FilterRec::RequestHeaders(HeaderMods {
                set: vec![("X-Set".into(), "1".into())],
                add: vec![("X-Add".into(), "a".into())],
                remove: vec!["X-Remove".into()],
            }),
            FilterRec::ResponseHeaders(HeaderMods {
                add: vec![("X-Resp".into(), "r".into())],
                ..HeaderMods::default()
            }),
            FilterRec::Rewrite(RewriteRec {
                hostname: Some("rewritten.example.com".into()),
                path: Some(PathModifier::ReplacePrefixMatch("/new".into())),
            }),
            FilterRec::Mirror(MirrorRec {
                target: svc("apps", "mirror", 8080),
                fraction_ppm: 1_000_000,
            }),
            FilterRec::Mirror(MirrorRec {
                target: svc("other", "mirror2", 80),
                fraction_ppm: 500_000,
            }),
            FilterRec::Extension {
                group: KGATEWAY_GROUP.into(),
                kind: "DirectResponse".into(),
                name: Sym::new("dr"),
            },
        ]
    );
}

#[test]
fn redirects() {
    let rule = mk_rule(
        "filters:
- type: RequestRedirect
  requestRedirect: {scheme: https, hostname: secure.example.com, port: 8443}",
    );
    assert_eq!(
        rule.filters,
        vec![FilterRec::Redirect(RedirectRec {
            scheme: Some("https".into()),
            hostname: Some("secure.example.com".into()),
            path: None,
            port: Some(8443),
            status_code: 302,
        })]
    );
    let rule = mk_rule(
        "filters:
- type: RequestRedirect
  requestRedirect:
    statusCode: 308
    path: {type: ReplaceFullPath, replaceFullPath: /full}",
    );
    assert_eq!(
        rule.filters,
        vec![FilterRec::Redirect(RedirectRec {
            scheme: None,
            hostname: None,
            path: Some(PathModifier::ReplaceFullPath("/full".into())),
            port: None,
            status_code: 308,
        })]
    );
    assert_eq!(rule.invalid, None);
    let bad = mk_rule("filters: [{type: RequestRedirect, requestRedirect: {statusCode: 200}}]");
    assert!(bad.invalid.unwrap().contains("statusCode 200"));
}

#[test]
fn mirror_fractions() {
    let ppm = |mirror: &str| {
        let rule = mk_rule(&format!(
            "filters:\n- type: RequestMirror\n  requestMirror: {{backendRef: {{name: m, port: 80}}{mirror}}}"
        ));
        assert_eq!(rule.invalid, None, "{mirror}");
        match &rule.filters[0] {
            FilterRec::Mirror(m) => m.fraction_ppm,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(ppm(""), 1_000_000);
    assert_eq!(ppm(", percent: 0"), 0);
    assert_eq!(ppm(", percent: 25"), 250_000);
    assert_eq!(ppm(", percent: 100"), 1_000_000);
    assert_eq!(ppm(", fraction: {numerator: 25}"), 250_000);
    assert_eq!(ppm(", fraction: {numerator: 1, denominator: 3}"), 333_333);
    assert_eq!(ppm(", fraction: {numerator: 7, denominator: 7}"), 1_000_000);

    let invalid = |mirror: &str| {
        mk_rule(&format!(
            "filters:\n- type: RequestMirror\n  requestMirror: {{backendRef: {{name: m, port: 80}}{mirror}}}"
        ))
        .invalid
    };
    assert!(invalid(", percent: 101").is_some());
    assert!(invalid(", fraction: {numerator: 2, denominator: 1}").is_some());
    assert!(invalid(", fraction: {numerator: 1, denominator: 0}").is_some());
    assert!(invalid(", percent: 10, fraction: {numerator: 1}").is_some());
}

#[test]
fn backend_refs() {
    let rule = mk_rule(
        "backendRefs:
- {name: a, port: 80}
- {name: b, group: core, kind: Service, namespace: other, port: 8080, weight: 0}
- {name: c, group: gateway.kgateway.dev, kind: Backend, weight: 5}
- {name: d, group: example.com, kind: Bucket, namespace: x}
- {name: e, group: '', kind: Backend}
- name: f
  port: 80
  filters:
  - type: RequestHeaderModifier
    requestHeaderModifier: {set: [{name: X-B, value: '1'}]}
  - type: ResponseHeaderModifier
    responseHeaderModifier: {remove: [X-C]}",
    );
    assert_eq!(rule.invalid, None);
    assert_eq!(
        rule.backends,
        vec![
            BackendRefRec {
                target: svc("apps", "a", 80),
                weight: 1,
                filters: vec![],
            },
            BackendRefRec {
                target: svc("other", "b", 8080),
                weight: 0,
                filters: vec![],
            },
            BackendRefRec {
                target: BackendTarget::Backend {
                    key: ObjectKey::new("apps", "c"),
                },
                weight: 5,
                filters: vec![],
            },
            BackendRefRec {
                target: BackendTarget::Unsupported {
                    group: "example.com".into(),
                    kind: "Bucket".into(),
                    key: ObjectKey::new("x", "d"),
                },
                weight: 1,
                filters: vec![],
            },
            BackendRefRec {
                target: BackendTarget::Unsupported {
                    group: "".into(),
                    kind: "Backend".into(),
                    key: ObjectKey::new("apps", "e"),
                },
                weight: 1,
                filters: vec![],
            },
            BackendRefRec {
                target: svc("apps", "f", 80),
                weight: 1,
                filters: vec![
                    FilterRec::RequestHeaders(HeaderMods {
                        set: vec![("X-B".into(), "1".into())],
                        ..HeaderMods::default()
                    }),
                    FilterRec::ResponseHeaders(HeaderMods {
                        remove: vec!["X-C".into()],
                        ..HeaderMods::default()
                    }),
                ],
            },
        ]
    );
    // A Service without a port is kept: unresolvable, not invalid.
    let rule = mk_rule("backendRefs: [{name: a}]");
    assert_eq!(
        rule.backends[0].target,
        BackendTarget::Service {
            key: ObjectKey::new("apps", "a"),
            port: None
        }
    );
    assert_eq!(rule.invalid, None);
}

#[test]
fn timeouts() {
    let rule = mk_rule("timeouts: {request: 1h2m3s4ms, backendRequest: 500ms}");
    assert_eq!(rule.timeout_ms, Some(3_723_004));
    assert_eq!(rule.backend_timeout_ms, Some(500));
    assert_eq!(rule.invalid, None);

    let rule = mk_rule("timeouts: {request: 10s}");
    assert_eq!(
        (rule.timeout_ms, rule.backend_timeout_ms),
        (Some(10_000), None)
    );

    let rule = mk_rule("timeouts: {request: 1x}");
    assert_eq!(rule.timeout_ms, None);
    assert_eq!(
        rule.invalid.as_deref(),
        Some("timeouts.request: invalid duration \"1x\"")
    );
    let rule = mk_rule("timeouts: {request: 5s, backendRequest: 1.5s}");
    assert_eq!(rule.timeout_ms, Some(5_000));
    assert_eq!(
        rule.invalid.as_deref(),
        Some("timeouts.backendRequest: invalid duration \"1.5s\"")
    );

    let rule = mk_rule("timeouts: {request: 1s, backendRequest: 2s}");
    assert_eq!(
        rule.invalid.as_deref(),
        Some("timeouts.backendRequest must not be longer than timeouts.request")
    );
    // `request: 0s` disables the request timeout: any backendRequest fits.
    let rule = mk_rule("timeouts: {request: 0s, backendRequest: 2s}");
    assert_eq!(
        (rule.timeout_ms, rule.backend_timeout_ms),
        (Some(0), Some(2_000))
    );
    assert_eq!(rule.invalid, None);
}

#[test]
fn durations() {
    assert_eq!(parse_duration_ms("1h2m3s4ms"), Ok(3_723_004));
    assert_eq!(parse_duration_ms("250ms"), Ok(250));
    assert_eq!(parse_duration_ms("2m"), Ok(120_000));
    for bad in ["", "1", "1x", "1.5s", "123456s", "1s1s1s1s1s", "1 s", "-1s"] {
        assert!(parse_duration_ms(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn retry() {
    let rule = mk_rule(
        "retry: {codes: [500, 503], attempts: 3, backoff: 100ms}
backendRefs: [{name: a, port: 80}]",
    );
    assert_eq!(rule.invalid, None);
    assert_eq!(
        rule.retry,
        Some(RetryRec {
            codes: vec![500, 503],
            attempts: Some(3),
            backoff_ms: Some(100),
        })
    );
    assert_eq!(mk_rule("backendRefs: [{name: a, port: 80}]").retry, None);
    let bad = mk_rule("retry: {codes: [200], attempts: -1, backoff: soon}");
    assert_eq!(
        bad.invalid.as_deref(),
        Some("retry.codes: 200 is not in 400-599")
    );
    assert_eq!(
        bad.retry,
        Some(RetryRec {
            codes: vec![],
            attempts: None,
            backoff_ms: None,
        })
    );
}

#[test]
fn cors_filter() {
    let rule = mk_rule(
        "filters:
- type: CORS
  cors:
    allowOrigins: ['https://www.foo.com', 'https://*.bar.com']
    allowMethods: [GET, OPTIONS]
    allowHeaders: [x-a]
    exposeHeaders: [x-b]
    allowCredentials: true
    maxAge: 3600
backendRefs: [{name: a, port: 80}]",
    );
    assert_eq!(rule.invalid, None);
    assert_eq!(
        rule.filters,
        vec![FilterRec::Cors(CorsRec {
            allow_origins: vec!["https://www.foo.com".into(), "https://*.bar.com".into()],
            allow_credentials: true,
            allow_methods: vec!["GET".into(), "OPTIONS".into()],
            allow_headers: vec!["x-a".into()],
            expose_headers: vec!["x-b".into()],
            max_age_s: 3600,
        })]
    );
    // Gateway API's defaults: no credentials, a 5 s preflight cache.
    let rule = mk_rule("filters: [{type: CORS, cors: {allowOrigins: ['*']}}]");
    assert_eq!(
        rule.filters,
        vec![FilterRec::Cors(CorsRec {
            allow_origins: vec!["*".into()],
            allow_credentials: false,
            allow_methods: vec![],
            allow_headers: vec![],
            expose_headers: vec![],
            max_age_s: 5,
        })]
    );
}

#[test]
fn invalid_rules() {
    let invalid = |rule: &str| mk_rule(rule).invalid;
    assert_eq!(
        invalid("filters: [{type: CORS}]").as_deref(),
        Some("filters[0]: filter of type CORS without its configuration")
    );
    assert_eq!(
        invalid(
            "backendRefs: [{name: a, port: 80, filters: [{type: CORS, cors: {allowOrigins: ['*']}}]}]"
        )
        .as_deref(),
        Some("backendRefs[0].filters[0]: filter type CORS is not supported on a backendRef")
    );
    assert_eq!(
        invalid(
            "filters:
- {type: RequestRedirect, requestRedirect: {hostname: a.example.com}}
- {type: URLRewrite, urlRewrite: {hostname: b.example.com}}"
        )
        .as_deref(),
        Some("RequestRedirect and URLRewrite cannot both be set")
    );
    assert_eq!(
        invalid(
            "matches: [{path: {value: /a}}, {path: {type: Exact, value: /b}}]
filters:
- type: URLRewrite
  urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /x}}"
        )
        .as_deref(),
        Some("ReplacePrefixMatch requires every match to be a PathPrefix match")
    );
    assert_eq!(
        invalid(
            "matches: [{path: {type: RegularExpression, value: /a.*}}]
filters:
- type: RequestRedirect
  requestRedirect: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /x}}"
        )
        .as_deref(),
        Some("ReplacePrefixMatch requires every match to be a PathPrefix match")
    );
    // ReplaceFullPath is fine with any match.
    assert_eq!(
        invalid(
            "matches: [{path: {type: Exact, value: /b}}]
filters:
- type: URLRewrite
  urlRewrite: {path: {type: ReplaceFullPath, replaceFullPath: /x}}"
        ),
        None
    );
    assert_eq!(
        invalid(
            "filters:
- {type: RequestHeaderModifier, requestHeaderModifier: {add: [{name: a, value: b}]}}
- {type: RequestHeaderModifier, requestHeaderModifier: {add: [{name: c, value: d}]}}"
        )
        .as_deref(),
        Some("filter type RequestHeaderModifier appears more than once")
    );
    // RequestMirror and ExtensionRef may repeat.
    assert_eq!(
        invalid(
            "filters:
- {type: ExtensionRef, extensionRef: {group: gateway.kgateway.dev, kind: DirectResponse, name: a}}
- {type: ExtensionRef, extensionRef: {group: example.com, kind: Thing, name: b}}"
        ),
        None
    );
    assert_eq!(
        invalid("filters: [{type: RequestHeaderModifier}]").as_deref(),
        Some("filters[0]: filter of type RequestHeaderModifier without its configuration")
    );
    assert_eq!(
        invalid(
            "filters: [{type: RequestHeaderModifier, requestHeaderModifier: {}, urlRewrite: {}}]"
        )
        .as_deref(),
        Some(
            "filters[0]: configuration of URLRewrite set on a filter of type RequestHeaderModifier"
        )
    );
    assert_eq!(
        invalid(
            "filters: [{type: URLRewrite, urlRewrite: {path: {type: ReplaceFullPath, replacePrefixMatch: /x}}}]"
        )
        .as_deref(),
        Some("filters[0]: path type ReplaceFullPath needs replaceFullPath and only it")
    );
    assert_eq!(
        invalid(
            "backendRefs:
- name: a
  port: 80
  filters: [{type: RequestRedirect, requestRedirect: {hostname: x.example.com}}]"
        )
        .as_deref(),
        Some(
            "backendRefs[0].filters[0]: filter type RequestRedirect is not supported on a backendRef"
        )
    );
    assert_eq!(
        invalid("backendRefs: [{name: a, port: 80, weight: -1}]").as_deref(),
        Some("backendRefs[0].weight -1 is negative")
    );
    assert_eq!(
        invalid("backendRefs: [{name: a, port: 65536}]").as_deref(),
        Some("backendRefs[0]: port: port 65536 is not in 1-65535")
    );
    // The first defect wins, and the rest of the rule is still lowered.
    let rule = mk_rule(
        "filters:
- {type: CORS}
- {type: ResponseHeaderModifier, responseHeaderModifier: {add: [{name: a, value: b}]}}
timeouts: {request: nope}
backendRefs: [{name: a, port: 80}]",
    );
    assert_eq!(
        rule.invalid.as_deref(),
        Some("filters[0]: filter of type CORS without its configuration")
    );
    assert_eq!(rule.filters.len(), 1);
    assert_eq!(rule.backends.len(), 1);
}

#[test]
fn http_route_parent_port_out_of_range_is_invalid() {
    let e = mk_invalid(
        "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n\
         metadata: {name: r}\nspec: {parentRefs: [{name: gw, port: 0}]}",
    );
    assert_eq!(e.field, "spec.parentRefs[0].port");
}

// ---------------------------------------------------------------------------------------------
// Services, slices, secrets, grants, namespaces, kgateway kinds

#[test]
fn service() {
    let r = mk_record(
        "apiVersion: v1\nkind: Service\nmetadata: {name: svc, namespace: apps}
spec:
  ports:
  - {name: http, port: 80, targetPort: 8080}
  - {port: 8443, appProtocol: kubernetes.io/h2c}
  - {name: '', port: 9000}",
    );
    assert_eq!(
        r,
        Record::from(ServiceRec {
            key: ObjectKey::new("apps", "svc"),
            ports: vec![
                ServicePortRec {
                    name: Some("http".into()),
                    port: 80,
                    app_protocol: None,
                },
                ServicePortRec {
                    name: None,
                    port: 8443,
                    app_protocol: Some("kubernetes.io/h2c".into()),
                },
                ServicePortRec {
                    name: None,
                    port: 9000,
                    app_protocol: None,
                },
            ],
        })
    );
    let external = mk_record(
        "apiVersion: v1\nkind: Service\nmetadata: {name: ext}\n\
         spec: {type: ExternalName, externalName: example.com}",
    );
    assert_eq!(
        external,
        Record::from(ServiceRec {
            key: ObjectKey::new("default", "ext"),
            ports: vec![],
        })
    );
}

#[test]
fn endpoint_slices() {
    let r = mk_record(
        "apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: svc-abc
  namespace: apps
  labels: {kubernetes.io/service-name: svc}
addressType: IPv4
ports:
- {name: http, port: 9080}
- {port: 9090}
- {name: '', port: 9091}
- {name: noport}
endpoints:
- addresses: [10.0.0.1, 10.0.0.2]
  zone: z1
- addresses: [10.0.0.3]
  conditions: {ready: false}
- addresses: [10.0.0.4]
  conditions: {serving: true}",
    );
    assert_eq!(
        r,
        Record::from(EndpointSliceRec {
            key: ObjectKey::new("apps", "svc-abc"),
            service: ObjectKey::new("apps", "svc"),
            ports: vec![(Some("http".into()), 9080), (None, 9090), (None, 9091)],
            endpoints: vec![
                EndpointRec {
                    address: "10.0.0.1".into(),
                    ready: true,
                    zone: Some("z1".into()),
                },
                EndpointRec {
                    address: "10.0.0.2".into(),
                    ready: true,
                    zone: Some("z1".into()),
                },
                EndpointRec {
                    address: "10.0.0.3".into(),
                    ready: false,
                    zone: None,
                },
                EndpointRec {
                    address: "10.0.0.4".into(),
                    ready: true,
                    zone: None,
                },
            ],
        })
    );
    let unlabelled = mk_object(
        "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n\
         metadata: {name: orphan, namespace: apps}\naddressType: IPv4\nendpoints: []",
    );
    assert_eq!(lower(&unlabelled), Lowered::Unsupported);
}

#[test]
fn secrets() {
    // `data` is base64: "CERT" and "KEY".
    let r = mk_record(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: tls, namespace: infra}\n\
         type: kubernetes.io/tls\ndata: {tls.crt: Q0VSVA==, tls.key: S0VZ}",
    );
    assert_eq!(
        r,
        Record::from(SecretRec {
            key: ObjectKey::new("infra", "tls"),
            cert_chain: Some("CERT".into()),
            private_key: Some("KEY".into()),
            data: Vec::new(),
            labels: Vec::new(),
        })
    );
    let r = mk_record(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: half, namespace: infra}\n\
         data: {tls.crt: Q0VSVA==}\nstringData: {tls.crt: PLAIN}",
    );
    assert_eq!(
        r,
        Record::from(SecretRec {
            key: ObjectKey::new("infra", "half"),
            cert_chain: Some("PLAIN".into()),
            private_key: None,
            data: Vec::new(),
            labels: Vec::new(),
        })
    );
    let Record::Secret(empty) = mk_record("apiVersion: v1\nkind: Secret\nmetadata: {name: opaque}")
    else {
        panic!()
    };
    assert_eq!(empty.tls_pair(), None);
    assert_eq!(empty.key, ObjectKey::new("default", "opaque"));
}

#[test]
fn reference_grant() {
    let r = mk_record(
        "apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: rg, namespace: backends}
spec:
  from:
  - {group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: apps}
  - {group: '', kind: Pod, namespace: x}
  to:
  - {group: '', kind: Service}
  - {group: '', kind: Secret, name: cert}",
    );
    assert_eq!(
        r,
        Record::from(ReferenceGrantRec {
            key: ObjectKey::new("backends", "rg"),
            from: vec![
                GrantFrom {
                    group: GATEWAY_GROUP.into(),
                    kind: "HTTPRoute".into(),
                    ns: Sym::new("apps"),
                },
                GrantFrom {
                    group: "".into(),
                    kind: "Pod".into(),
                    ns: Sym::new("x"),
                },
            ],
            to: vec![
                GrantTo {
                    group: "".into(),
                    kind: "Service".into(),
                    name: None,
                },
                GrantTo {
                    group: "".into(),
                    kind: "Secret".into(),
                    name: Some(Sym::new("cert")),
                },
            ],
        })
    );
}

#[test]
fn namespace() {
    let r = mk_record(
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: apps, labels: {env: prod, team: a}}",
    );
    assert_eq!(
        r,
        Record::from(NamespaceRec {
            name: Sym::new("apps"),
            labels: [
                ("env".to_string(), "prod".to_string()),
                (
                    "kubernetes.io/metadata.name".to_string(),
                    "apps".to_string()
                ),
                ("team".to_string(), "a".to_string()),
            ]
            .into(),
        })
    );
    assert_eq!(r.key().key, ObjectKey::new("", "apps"));
    let Record::Namespace(bare) = mk_record("apiVersion: v1\nkind: Namespace\nmetadata: {name: b}")
    else {
        panic!()
    };
    // Only the label the API server adds to every Namespace.
    assert_eq!(
        bare.labels.clone().into_iter().collect::<Vec<_>>(),
        [("kubernetes.io/metadata.name".to_string(), "b".to_string())]
    );
}

#[test]
fn kgateway_backends() {
    let r = mk_record(
        "apiVersion: gateway.kgateway.dev/v1alpha1
kind: Backend
metadata: {name: be, namespace: apps}
spec:
  type: Static
  static:
    hosts: [{host: 10.0.0.1, port: 80}, {host: api.example.com, port: 443}]
    appProtocol: http2",
    );
    assert_eq!(
        r,
        Record::from(BackendRec {
            key: ObjectKey::new("apps", "be"),
            hosts: vec![("10.0.0.1".into(), 80), ("api.example.com".into(), 443)],
            app_protocol: Some("http2".into()),
            unsupported: None,
        })
    );
    let r = mk_record(
        "apiVersion: gateway.kgateway.dev/v1alpha1
kind: Backend
metadata: {name: lambda, namespace: apps}
spec:
  aws: {accountId: '123', lambda: {functionName: f}}",
    );
    assert_eq!(
        r,
        Record::from(BackendRec {
            key: ObjectKey::new("apps", "lambda"),
            hosts: vec![],
            app_protocol: None,
            unsupported: Some("Backend type AWS is not supported".into()),
        })
    );
    let e = mk_invalid(
        "apiVersion: gateway.kgateway.dev/v1alpha1\nkind: Backend\n\
         metadata: {name: none, namespace: apps}\nspec: {}",
    );
    assert_eq!(e.field, "spec");
    let e = mk_invalid(
        "apiVersion: gateway.kgateway.dev/v1alpha1\nkind: Backend\n\
         metadata: {name: p, namespace: apps}\nspec: {static: {hosts: [{host: a, port: 0}]}}",
    );
    assert_eq!(e.field, "spec.static.hosts[0].port");
}

#[test]
fn direct_responses() {
    let r = mk_record(
        "apiVersion: gateway.kgateway.dev/v1alpha1\nkind: DirectResponse\n\
         metadata: {name: dr, namespace: apps}\nspec: {status: 404, body: not here}",
    );
    assert_eq!(
        r,
        Record::from(DirectResponseRec {
            key: ObjectKey::new("apps", "dr"),
            status: 404,
            body: Some("not here".into()),
        })
    );
    let Record::DirectResponse(r) = mk_record(
        "apiVersion: gateway.kgateway.dev/v1alpha1\nkind: DirectResponse\n\
         metadata: {name: dr, namespace: apps}\nspec: {status: 200, bodyFormat: {text: hi}}",
    ) else {
        panic!()
    };
    assert_eq!(r.body.as_deref(), Some("hi"));
    let Record::DirectResponse(r) = mk_record(
        "apiVersion: gateway.kgateway.dev/v1alpha1\nkind: DirectResponse\n\
         metadata: {name: dr, namespace: apps}\nspec: {status: 204}",
    ) else {
        panic!()
    };
    assert_eq!(r.body, None);
    for status in [199, 600, -1] {
        let e = mk_invalid(&format!(
            "apiVersion: gateway.kgateway.dev/v1alpha1\nkind: DirectResponse\n\
             metadata: {{name: dr, namespace: apps}}\nspec: {{status: {status}}}"
        ));
        assert_eq!(e.field, "spec.status");
    }
}

#[test]
fn kinds_not_consumed_yet_are_unsupported() {
    let grpc = mk_object(
        "apiVersion: gateway.networking.k8s.io/v1\nkind: GRPCRoute\n\
         metadata: {name: g, namespace: apps}\nspec: {parentRefs: [{name: gw}]}",
    );
    assert_eq!(lower(&grpc), Lowered::Unsupported);
    let tcp = mk_object(
        "apiVersion: gateway.networking.k8s.io/v1alpha2\nkind: TCPRoute\n\
         metadata: {name: t, namespace: apps}\nspec: {rules: [{backendRefs: [{name: s, port: 1}]}]}",
    );
    assert_eq!(lower(&tcp), Lowered::Unsupported);
}

// ---------------------------------------------------------------------------------------------
// Conformance manifests

const CONFORMANCE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/conformance/conformance"
);

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
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

#[test]
fn conformance_manifests_lower() {
    let root = Path::new(CONFORMANCE);
    let mut files = vec![root.join("base/manifests.yaml")];
    yaml_files(&root.join("tests"), &mut files);
    assert!(
        files.len() > 100,
        "conformance manifests under {CONFORMANCE}"
    );

    let mut records: BTreeMap<String, usize> = BTreeMap::new();
    let mut unsupported: BTreeMap<String, usize> = BTreeMap::new();
    let mut invalid = Vec::new();
    let mut invalid_rules = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file)
            .unwrap()
            .replace("{GATEWAY_CLASS_NAME}", "sluice");
        for (i, doc) in serde_yaml_ng::Deserializer::from_str(&text).enumerate() {
            let doc = serde_json::Value::deserialize(doc)
                .unwrap_or_else(|e| panic!("{} #{i}: {e}", file.display()));
            if doc.is_null() {
                continue;
            }
            let Some(object) =
                Object::from_value(doc).unwrap_or_else(|e| panic!("{} #{i}: {e}", file.display()))
            else {
                continue;
            };
            let name = format!("{} #{i} {}", file.display(), object.obj_ref());
            match lower(&object) {
                Lowered::Record(r) => {
                    *records.entry(format!("{:?}", r.key().kind)).or_default() += 1;
                    if let Record::HttpRoute(route) = &r {
                        for rule in &route.rules {
                            if let Some(why) = &rule.invalid {
                                invalid_rules.push(format!("{name}: {why}"));
                            }
                        }
                    }
                }
                Lowered::Unsupported => {
                    *unsupported.entry(object.kind().to_string()).or_default() += 1
                }
                Lowered::Invalid(e) => invalid.push(format!("{name}: {e}")),
            }
        }
    }
    eprintln!("records: {records:?}\nunsupported: {unsupported:?}");
    eprintln!("invalid rules:\n{}", invalid_rules.join("\n"));
    assert!(invalid.is_empty(), "Invalid:\n{}", invalid.join("\n"));
    // sluice can program every rule of the conformance suite.
    assert!(
        invalid_rules.is_empty(),
        "unexpected invalid rules:\n{}",
        invalid_rules.join("\n")
    );
    for kind in [
        "GatewayClass",
        "Gateway",
        "HttpRoute",
        "Service",
        "ReferenceGrant",
        "Secret",
        "Namespace",
    ] {
        assert!(records.contains_key(kind), "no {kind}: {records:?}");
    }
    assert!(unsupported.contains_key("GRPCRoute"), "{unsupported:?}");
}
