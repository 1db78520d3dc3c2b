//! Rendering an HTTPRoute's rules into Envoy routes (independent of the listener).

use sluice_dataflow::ir::*;
use sluice_dataflow::model::*;

use super::backends::{self, Target};
use super::{Failure, World};

/// One match of one rule, rendered.
#[derive(Clone, Debug)]
pub struct Entry<'a> {
    pub rule: usize,
    pub matcher: usize,
    pub m: &'a MatchRec,
    /// Before any policy.
    pub route: RouteIr,
    /// The TrafficPolicies reaching the rule from the route's side.
    pub policies: Vec<(AttachLevel, &'a PolicyRec)>,
}

#[derive(Debug)]
pub struct RenderedRoute<'a> {
    pub entries: Vec<Entry<'a>>,
    /// Clusters the entries forward or mirror to.
    pub targets: Vec<Target>,
    /// `ResolvedRefs`: the first failing reference, in rule order (filters, then backendRefs).
    pub resolved: Result<(), Failure>,
}

pub fn render_route<'a>(world: &World<'a>, route: &'a HttpRouteRec) -> RenderedRoute<'a> {
    let mut out = RenderedRoute {
        entries: Vec::new(),
        targets: Vec::new(),
        resolved: Ok(()),
    };
    for (ri, rule) in route.rules.iter().enumerate() {
        let action = rule_action(world, route, rule, &mut out);
        let policies = super::policies::route_level(world, route, ri);
        let (request_headers, response_headers) = header_ops(&rule.filters);
        // A valid rule's CORS filter (an invalid rule answers 500 before any filter).
        let cors = rule
            .filters
            .iter()
            .filter(|_| rule.invalid.is_none())
            .find_map(|f| match f {
                FilterRec::Cors(c) => Some(CorsIr::from(c)),
                _ => None,
            });
        for (mi, m) in rule.matches.iter().enumerate() {
            out.entries.push(Entry {
                rule: ri,
                matcher: mi,
                m,
                policies: policies.clone(),
                route: RouteIr {
                    name: route_name(route.key, ri, mi),
                    path: match &m.path {
                        PathMatch::Exact(p) => PathMatchIr::Exact(p.clone()),
                        PathMatch::Prefix(p) => PathMatchIr::Prefix(p.clone()),
                        PathMatch::Regex(p) => PathMatchIr::Regex(p.clone()),
                    },
                    headers: m
                        .headers
                        .iter()
                        .map(kv_match)
                        .chain(m.method.iter().map(|method| HeaderMatchIr {
                            name: ":method".into(),
                            exact: Some(method.clone()),
                            regex: None,
                        }))
                        .collect(),
                    query: m.query.iter().map(kv_match).collect(),
                    action: action.clone(),
                    request_headers: request_headers.clone(),
                    response_headers: response_headers.clone(),
                    cors: cors.clone().map(Box::new),
                    filters: Vec::new(),
                    stat_prefix: None,
                    tracing: None,
                },
            });
        }
    }
    out
}

fn kv_match(kv: &KeyValueMatch) -> HeaderMatchIr {
    let (exact, regex) = match &kv.value {
        StringMatch::Exact(v) => (Some(v.clone()), None),
        StringMatch::Regex(v) => (None, Some(v.clone())),
    };
    HeaderMatchIr {
        name: kv.name.clone(),
        exact,
        regex,
    }
}

fn fail(out: &mut RenderedRoute<'_>, reason: &'static str, message: String) {
    if out.resolved.is_ok() {
        out.resolved = Err((reason, message));
    }
}

const INTERNAL_ERROR: ActionIr = ActionIr::Direct {
    status: 500,
    body: None,
};

/// The action of a rule: 500 when invalid; else the first redirect or DirectResponse filter;
/// else forwarding to its weighted backends — 500 if any of them (weight > 0) fails to resolve
/// or none has weight.
fn rule_action(
    world: &World<'_>,
    route: &HttpRouteRec,
    rule: &RuleRec,
    out: &mut RenderedRoute<'_>,
) -> ActionIr {
    let mut decided: Option<ActionIr> = None;
    for f in &rule.filters {
        match f {
            FilterRec::Redirect(r) if decided.is_none() => {
                decided = Some(ActionIr::redirect(RedirectIr {
                    scheme: r.scheme.clone(),
                    host: r.hostname.clone(),
                    port: r.port,
                    path: r.path.as_ref().map(path_rewrite),
                    status_code: r.status_code,
                }));
            }
            FilterRec::Extension { group, kind, name } => {
                let action = if group == KGATEWAY_GROUP && kind == "DirectResponse" {
                    let key = ObjectKey {
                        ns: route.key.ns,
                        name: *name,
                    };
                    match world.direct_responses.iter().find(|d| d.key == key) {
                        Some(d) => ActionIr::Direct {
                            status: d.status,
                            body: d.body.clone(),
                        },
                        None => {
                            fail(
                                out,
                                "BackendNotFound",
                                format!("DirectResponse {key} not found"),
                            );
                            INTERNAL_ERROR
                        }
                    }
                } else if group == KGATEWAY_GROUP && kind == "TrafficPolicy" {
                    if super::policies::extension_exists(world, route, *name) {
                        continue;
                    }
                    let key = ObjectKey {
                        ns: route.key.ns,
                        name: *name,
                    };
                    fail(
                        out,
                        "BackendNotFound",
                        format!("TrafficPolicy {key} not found"),
                    );
                    INTERNAL_ERROR
                } else {
                    fail(
                        out,
                        "InvalidKind",
                        format!("unsupported extensionRef {group}/{kind}"),
                    );
                    INTERNAL_ERROR
                };
                decided.get_or_insert(action);
            }
            _ => {}
        }
    }
    let mut forward = ForwardIr {
        clusters: Vec::new(),
        timeout_ms: rule.timeout_ms,
        per_try_timeout_ms: rule.backend_timeout_ms,
        host_rewrite: None,
        path_rewrite: None,
        mirrors: Vec::new(),
        retry: rule.retry.as_ref().map(|r| RetryIr {
            codes: r.codes.clone(),
            attempts: r.attempts,
            backoff_ms: r.backoff_ms,
            on: Vec::new(),
        }),
        idle_timeout_ms: None,
        auto_host_rewrite: false,
        internal_redirect: None,
    };
    let mut targets = Vec::new();
    let mut broken = false;
    for b in &rule.backends {
        match backends::resolve(world, route.key.ns, &b.target) {
            Ok(t) if b.weight > 0 => {
                let (request_headers, response_headers) = header_ops(&b.filters);
                forward.clusters.push(WeightedClusterIr {
                    cluster: t.cluster.name.clone(),
                    weight: b.weight,
                    request_headers,
                    response_headers,
                });
                targets.push(t);
            }
            Ok(_) => {}
            Err((reason, message)) => {
                fail(out, reason, message);
                broken |= b.weight > 0;
            }
        }
    }
    if rule.invalid.is_some() {
        return INTERNAL_ERROR;
    }
    if let Some(action) = decided {
        return action;
    }
    if broken || forward.clusters.is_empty() {
        return INTERNAL_ERROR;
    }
    for f in &rule.filters {
        match f {
            FilterRec::Rewrite(r) => {
                forward.host_rewrite = r.hostname.clone().or(forward.host_rewrite);
                forward.path_rewrite = r.path.as_ref().map(path_rewrite).or(forward.path_rewrite);
            }
            FilterRec::Mirror(m) => {
                if let Ok(t) = backends::resolve(world, route.key.ns, &m.target) {
                    forward.mirrors.push(MirrorIr {
                        cluster: t.cluster.name.clone(),
                        fraction_ppm: m.fraction_ppm,
                    });
                    targets.push(t);
                }
            }
            _ => {}
        }
    }
    out.targets.extend(targets);
    ActionIr::forward(forward)
}

fn path_rewrite(p: &PathModifier) -> PathRewriteIr {
    match p {
        PathModifier::ReplaceFullPath(s) => PathRewriteIr::Full(s.clone()),
        PathModifier::ReplacePrefixMatch(s) => PathRewriteIr::Prefix(s.clone()),
    }
}

/// Request and response header operations of a filter list, concatenated in filter order.
fn header_ops(filters: &[FilterRec]) -> (HeaderOpsIr, HeaderOpsIr) {
    let mut req = HeaderOpsIr::default();
    let mut resp = HeaderOpsIr::default();
    for f in filters {
        let (ops, mods) = match f {
            FilterRec::RequestHeaders(m) => (&mut req, m),
            FilterRec::ResponseHeaders(m) => (&mut resp, m),
            _ => continue,
        };
        ops.set.extend(mods.set.iter().cloned());
        ops.add.extend(mods.add.iter().cloned());
        ops.remove.extend(mods.remove.iter().cloned());
    }
    (req, resp)
}
