//! Records and change epochs as YAML a person can read when a property test fails.
//!
//! Records' own `Serialize` writes interned names as `u32` ids, so this module maps each record
//! by hand to a YAML mapping with names spelled out (`ns-a/gw-1`), references compacted into one
//! line each (`Service ns-b/svc-1:80`), defaults and empty lists left out.

use serde_yaml_ng::{Mapping, Value};
use sluice_dataflow::input::{InputEvent, Record, RecordKey, RecordKind};
use sluice_dataflow::model::{
    AllowedNamespaces, BackendRefRec, BackendTarget, FilterRec, GATEWAY_GROUP, GatewayRec,
    HeaderMods, HttpRouteRec, KGATEWAY_GROUP, KeyValueMatch, ListenerProblem, ListenerRec,
    MatchRec, ParentRef, PathMatch, PathModifier, RuleRec, StringMatch,
};

/// The records as a YAML sequence, one mapping per record, in the given order.
pub fn world_to_yaml(records: &[Record]) -> String {
    to_string(records.iter().map(record_to_yaml).collect())
}

/// Epochs of events as YAML: `- epoch: 1` with its `events`, each an `upsert`, `delete` or
/// `relist`.
pub fn epochs_to_yaml(epochs: &[Vec<InputEvent>]) -> String {
    to_string(
        epochs
            .iter()
            .enumerate()
            .map(|(i, events)| {
                obj([
                    ("epoch", Value::from(i as u64 + 1)),
                    ("events", events.iter().map(event_to_yaml).collect()),
                ])
            })
            .collect(),
    )
}

/// One event as a YAML mapping.
pub fn event_to_yaml(event: &InputEvent) -> Value {
    match event {
        InputEvent::Upsert(r) => obj([("upsert", record_to_yaml(r))]),
        InputEvent::Delete(k) => obj([("delete", record_key(k).into())]),
        InputEvent::Relist(kind, records) => obj([
            ("relist", format!("{kind:?}").into()),
            ("records", records.iter().map(record_to_yaml).collect()),
        ]),
    }
}

/// One record as a YAML mapping whose first entry is its `kind`.
pub fn record_to_yaml(record: &Record) -> Value {
    let kind = format!("{:?}", record.key().kind);
    let head = |key: String| [("kind", Value::from(kind.clone())), ("key", key.into())];
    match record {
        Record::Namespace(r) => {
            let labels: Mapping = r
                .labels
                .iter()
                .map(|(k, v)| (Value::from(k.as_str()), Value::from(v.as_str())))
                .collect();
            let labels = if labels.is_empty() {
                Value::Null
            } else {
                labels.into()
            };
            obj(head(r.name.to_string())
                .into_iter()
                .chain([("labels", labels)]))
        }
        Record::GatewayClass(r) => obj(head(r.name.to_string()).into_iter().chain([
            ("controller", r.controller.to_string().into()),
            ("generation", r.generation.into()),
        ])),
        Record::Gateway(r) => obj(head(r.key.to_string()).into_iter().chain(gateway(r))),
        Record::HttpRoute(r) => obj(head(r.key.to_string()).into_iter().chain(http_route(r))),
        Record::Service(r) => obj(head(r.key.to_string()).into_iter().chain([(
            "ports",
            r.ports
                .iter()
                .map(|p| {
                    let mut s = named_port(p.name.as_deref(), p.port);
                    if let Some(ap) = &p.app_protocol {
                        s.push_str(&format!(" ({ap})"));
                    }
                    Value::from(s)
                })
                .collect(),
        )])),
        Record::EndpointSlice(r) => obj(head(r.key.to_string()).into_iter().chain([
            ("service", r.service.to_string().into()),
            (
                "ports",
                r.ports
                    .iter()
                    .map(|(n, p)| Value::from(named_port(n.as_deref(), *p)))
                    .collect(),
            ),
            (
                "endpoints",
                r.endpoints
                    .iter()
                    .map(|e| {
                        let mut s = e.address.clone();
                        s.push_str(if e.ready { " ready" } else { " not-ready" });
                        if let Some(z) = &e.zone {
                            s.push_str(&format!(" zone={z}"));
                        }
                        Value::from(s)
                    })
                    .collect(),
            ),
        ])),
        Record::ReferenceGrant(r) => obj(head(r.key.to_string()).into_iter().chain([
            (
                "from",
                r.from
                    .iter()
                    .map(|f| Value::from(format!("{} in {}", group_kind(&f.group, &f.kind), f.ns)))
                    .collect(),
            ),
            (
                "to",
                r.to.iter()
                    .map(|t| {
                        let name = t.name.map_or_else(|| "*".to_string(), |n| n.to_string());
                        Value::from(format!("{} {name}", group_kind(&t.group, &t.kind)))
                    })
                    .collect(),
            ),
        ])),
        Record::Secret(r) => obj(head(r.key.to_string()).into_iter().chain([
            (
                "certChain",
                opt_str(r.cert_chain.as_deref().or(Some("(missing)"))),
            ),
            (
                "privateKey",
                opt_str(r.private_key.as_deref().or(Some("(missing)"))),
            ),
        ])),
        Record::Backend(r) => obj(head(r.key.to_string()).into_iter().chain([
            (
                "hosts",
                r.hosts
                    .iter()
                    .map(|(h, p)| Value::from(format!("{h}:{p}")))
                    .collect(),
            ),
            ("appProtocol", opt_str(r.app_protocol.as_deref())),
            ("unsupported", opt_str(r.unsupported.as_deref())),
        ])),
        Record::DirectResponse(r) => obj(head(r.key.to_string()).into_iter().chain([
            ("status", r.status.into()),
            ("body", opt_str(r.body.as_deref())),
        ])),
        Record::Policy(r) => obj(head(r.key.to_string()).into_iter().chain([
            ("weight", r.weight.into()),
            ("created", r.created.into()),
            (
                "targets",
                r.targets
                    .iter()
                    .map(|t| {
                        let (_, kind) = t.kind.group_kind();
                        let section = t
                            .section
                            .as_deref()
                            .map(|s| format!("/{s}"))
                            .unwrap_or_default();
                        Value::from(format!("{kind} {}{section}", t.name))
                    })
                    .collect(),
            ),
            ("selectors", format!("{:?}", r.selectors).into()),
            ("traffic", format!("{:?}", r.traffic).into()),
            ("problems", r.problems.len().into()),
        ])),
    }
}

fn gateway(r: &GatewayRec) -> Vec<(&'static str, Value)> {
    vec![
        ("class", r.class.to_string().into()),
        ("generation", r.generation.into()),
        ("listeners", r.listeners.iter().map(listener).collect()),
    ]
}

fn listener(l: &ListenerRec) -> Value {
    let tls = l.tls.as_ref().map(|t| {
        obj([
            ("mode", format!("{:?}", t.mode).into()),
            (
                "certificateRefs",
                t.certificate_refs
                    .iter()
                    .map(|c| {
                        if c.group.is_empty() && c.kind == "Secret" {
                            Value::from(c.key.to_string())
                        } else {
                            format!("{} {}", group_kind(&c.group, &c.kind), c.key).into()
                        }
                    })
                    .collect(),
            ),
        ])
    });
    let allowed = match &l.allowed_namespaces {
        AllowedNamespaces::Same => "Same".to_string(),
        AllowedNamespaces::All => "All".to_string(),
        AllowedNamespaces::Selector(s) => {
            let mut terms: Vec<String> = s
                .match_labels
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            terms.extend(
                s.match_expressions
                    .iter()
                    .map(|e| format!("{} {:?} {:?}", e.key, e.op, e.values)),
            );
            format!("Selector({})", terms.join(", "))
        }
    };
    let problem = l.problem.as_ref().map(|p| match p {
        ListenerProblem::Conflicted(reason) => format!("Conflicted({reason})"),
        ListenerProblem::UnsupportedProtocol => "UnsupportedProtocol".to_string(),
    });
    obj([
        ("name", l.name.to_string().into()),
        ("port", l.port.into()),
        ("protocol", l.protocol.as_str().into()),
        ("hostname", opt_str(l.hostname.as_deref())),
        ("tls", tls.unwrap_or(Value::Null)),
        ("allowedNamespaces", allowed.into()),
        (
            "supportedKinds",
            l.supported_kinds
                .iter()
                .map(|k| Value::from(group_kind(&k.group, &k.kind)))
                .collect(),
        ),
        (
            "invalidKinds",
            if l.invalid_kinds {
                true.into()
            } else {
                Value::Null
            },
        ),
        ("problem", opt_str(problem.as_deref())),
    ])
}

fn http_route(r: &HttpRouteRec) -> Vec<(&'static str, Value)> {
    vec![
        ("generation", r.generation.into()),
        ("created", r.created.into()),
        ("parentRefs", r.parent_refs.iter().map(parent_ref).collect()),
        (
            "hostnames",
            r.hostnames
                .iter()
                .map(|h| Value::from(h.as_str()))
                .collect(),
        ),
        ("rules", r.rules.iter().map(rule).collect()),
    ]
}

fn parent_ref(p: &ParentRef) -> Value {
    let mut s = if p.is_gateway() {
        p.gateway.to_string()
    } else {
        format!("{} {}", group_kind(&p.group, &p.kind), p.gateway)
    };
    if let Some(section) = p.section {
        s.push_str(&format!(" section={section}"));
    }
    if let Some(port) = p.port {
        s.push_str(&format!(" port={port}"));
    }
    s.into()
}

fn rule(r: &RuleRec) -> Value {
    obj([
        ("name", opt_str(r.name.as_deref())),
        ("matches", r.matches.iter().map(match_rec).collect()),
        ("filters", r.filters.iter().map(filter).collect()),
        ("backends", r.backends.iter().map(backend_ref).collect()),
        ("timeoutMs", r.timeout_ms.map_or(Value::Null, Value::from)),
        (
            "backendTimeoutMs",
            r.backend_timeout_ms.map_or(Value::Null, Value::from),
        ),
        (
            "retry",
            r.retry.as_ref().map_or(Value::Null, |rt| {
                obj([
                    ("codes", rt.codes.iter().map(|&c| Value::from(c)).collect()),
                    ("attempts", rt.attempts.map_or(Value::Null, Value::from)),
                    ("backoffMs", rt.backoff_ms.map_or(Value::Null, Value::from)),
                ])
            }),
        ),
        ("invalid", opt_str(r.invalid.as_deref())),
    ])
}

fn match_rec(m: &MatchRec) -> Value {
    let path = match &m.path {
        PathMatch::Exact(p) => format!("Exact {p}"),
        PathMatch::Prefix(p) => format!("Prefix {p}"),
        PathMatch::Regex(p) => format!("Regex {p}"),
    };
    let kv = |m: &KeyValueMatch| -> Value {
        match &m.value {
            StringMatch::Exact(v) => format!("{} = {v}", m.name).into(),
            StringMatch::Regex(v) => format!("{} ~ {v}", m.name).into(),
        }
    };
    obj([
        ("path", path.into()),
        ("headers", m.headers.iter().map(kv).collect()),
        ("query", m.query.iter().map(kv).collect()),
        ("method", opt_str(m.method.as_deref())),
    ])
}

fn header_mods(h: &HeaderMods) -> Value {
    let pairs = |v: &[(String, String)]| -> Value {
        v.iter()
            .map(|(k, v)| Value::from(format!("{k}: {v}")))
            .collect()
    };
    obj([
        ("set", pairs(&h.set)),
        ("add", pairs(&h.add)),
        (
            "remove",
            h.remove.iter().map(|k| Value::from(k.as_str())).collect(),
        ),
    ])
}

fn path_modifier(p: &Option<PathModifier>) -> Value {
    match p {
        None => Value::Null,
        Some(PathModifier::ReplaceFullPath(to)) => format!("ReplaceFullPath {to}").into(),
        Some(PathModifier::ReplacePrefixMatch(to)) => format!("ReplacePrefixMatch {to}").into(),
    }
}

fn filter(f: &FilterRec) -> Value {
    match f {
        FilterRec::RequestHeaders(h) => obj([("requestHeaders", header_mods(h))]),
        FilterRec::ResponseHeaders(h) => obj([("responseHeaders", header_mods(h))]),
        FilterRec::Redirect(r) => obj([(
            "redirect",
            obj([
                ("scheme", opt_str(r.scheme.as_deref())),
                ("hostname", opt_str(r.hostname.as_deref())),
                ("path", path_modifier(&r.path)),
                ("port", r.port.map_or(Value::Null, Value::from)),
                ("statusCode", r.status_code.into()),
            ]),
        )]),
        FilterRec::Rewrite(r) => obj([(
            "rewrite",
            obj([
                ("hostname", opt_str(r.hostname.as_deref())),
                ("path", path_modifier(&r.path)),
            ]),
        )]),
        FilterRec::Mirror(m) => obj([(
            "mirror",
            format!("{} ({} ppm)", backend_target(&m.target), m.fraction_ppm).into(),
        )]),
        FilterRec::Cors(c) => obj([(
            "cors",
            obj([
                ("allowOrigins", c.allow_origins.join(", ").into()),
                ("allowCredentials", c.allow_credentials.into()),
                ("allowMethods", c.allow_methods.join(", ").into()),
                ("allowHeaders", c.allow_headers.join(", ").into()),
                ("exposeHeaders", c.expose_headers.join(", ").into()),
                ("maxAge", c.max_age_s.into()),
            ]),
        )]),
        FilterRec::Extension { group, kind, name } => {
            let gk = if group == KGATEWAY_GROUP {
                kind.clone()
            } else {
                group_kind(group, kind)
            };
            obj([("extension", format!("{gk} {name}").into())])
        }
    }
}

fn backend_target(t: &BackendTarget) -> String {
    match t {
        BackendTarget::Service {
            key,
            port: Some(port),
        } => format!("Service {key}:{port}"),
        BackendTarget::Service { key, port: None } => format!("Service {key} (no port)"),
        BackendTarget::Backend { key } => format!("Backend {key}"),
        BackendTarget::Unsupported { group, kind, key } => {
            format!("{} {key}", group_kind(group, kind))
        }
    }
}

fn backend_ref(b: &BackendRefRec) -> Value {
    let target = format!("{} weight={}", backend_target(&b.target), b.weight);
    if b.filters.is_empty() {
        target.into()
    } else {
        obj([
            ("to", target.into()),
            ("filters", b.filters.iter().map(filter).collect()),
        ])
    }
}

/// `kind` alone for the core and Gateway API groups, `group/kind` otherwise.
fn group_kind(group: &str, kind: &str) -> String {
    if group.is_empty() || group == GATEWAY_GROUP {
        kind.to_string()
    } else {
        format!("{group}/{kind}")
    }
}

fn named_port(name: Option<&str>, port: u16) -> String {
    match name {
        Some(name) => format!("{name} {port}"),
        None => port.to_string(),
    }
}

fn record_key(k: &RecordKey) -> String {
    match k.kind {
        RecordKind::Namespace | RecordKind::GatewayClass => format!("{:?} {}", k.kind, k.key.name),
        _ => format!("{:?} {}", k.kind, k.key),
    }
}

fn opt_str(s: Option<&str>) -> Value {
    s.map_or(Value::Null, Value::from)
}

/// A mapping of the entries that say something: nulls and empty lists are left out (empty
/// mappings are kept: `rewrite: {}` is a filter).
fn obj<'a>(entries: impl IntoIterator<Item = (&'a str, Value)>) -> Value {
    let mut m = Mapping::new();
    for (k, v) in entries {
        let empty = match &v {
            Value::Null => true,
            Value::Sequence(s) => s.is_empty(),
            _ => false,
        };
        if !empty {
            m.insert(k.into(), v);
        }
    }
    Value::Mapping(m)
}

fn to_string(v: Value) -> String {
    serde_yaml_ng::to_string(&v).unwrap_or_else(|e| format!("# unprintable: {e}\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_dataflow::model::{NamespaceRec, ObjectKey, ServicePortRec, ServiceRec};

    #[test]
    fn names_are_spelled_out() {
        let records = vec![
            Record::from(NamespaceRec {
                name: "ns-a".into(),
                labels: [("env".to_string(), "prod".to_string())].into(),
            }),
            Record::from(ServiceRec {
                key: ObjectKey::new("ns-a", "svc-1"),
                ports: vec![ServicePortRec {
                    name: Some("http".into()),
                    port: 80,
                    app_protocol: None,
                }],
            }),
        ];
        let yaml = world_to_yaml(&records);
        assert_eq!(
            yaml,
            "- kind: Namespace\n  key: ns-a\n  labels:\n    env: prod\n\
             - kind: Service\n  key: ns-a/svc-1\n  ports:\n  - http 80\n"
        );
        let events = vec![vec![InputEvent::Delete(records[1].key())]];
        assert_eq!(
            epochs_to_yaml(&events),
            "- epoch: 1\n  events:\n  - delete: Service ns-a/svc-1\n"
        );
    }
}
