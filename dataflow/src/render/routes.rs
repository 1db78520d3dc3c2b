//! Rendering each HTTPRoute's rules into Envoy routes, once per route (the result does not
//! depend on the listener): a reduce keyed by the route over its record, the facts about its
//! backend targets, and the DirectResponses it names.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::backends::{TargetFact, TargetIr};
use super::policies::{RoutePolicy, RuleSel, rule_policy};
use super::{Col, Failure};
use crate::ir::*;
use crate::model::*;

/// Where an entry sorts among all routes of a virtual host (Gateway API precedence, most
/// specific first): Exact, then RegularExpression, then PathPrefix paths, longer first; a
/// method match; more header matches; more query matches; older route; `namespace/name`;
/// rule then match order.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Precedence {
    path_rank: u8,
    neg_path_len: i64,
    no_method: bool,
    neg_headers: i64,
    neg_query: i64,
    created: i64,
    /// `namespace/name`, compared as text (so `a-b/r` sorts before `a/r`).
    route: String,
    rule: usize,
    matcher: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EntryIr {
    pub precedence: Precedence,
    /// The route with its route-level policies applied.
    pub route: Arc<RouteIr>,
    /// Those policies merged (for a Gateway-level policy to fill what they leave unset).
    pub policy: Option<Arc<TrafficRec>>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RenderedRoute {
    pub entries: Vec<EntryIr>,
    /// Clusters the entries forward or mirror to.
    pub targets: Vec<TargetIr>,
    /// `ResolvedRefs`: the first failing reference in rule order (filters, then backendRefs).
    pub resolved: Result<(), Failure>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum Part {
    Route(Arc<HttpRouteRec>),
    Target(TargetFact),
    /// A DirectResponse the route names, if it exists: `(name, (status, body))`.
    Direct(Sym, Option<(u16, Option<String>)>),
    /// A TrafficPolicy reaching the route.
    Policy(RoutePolicy),
}

pub fn render_routes<'s>(
    routes: Col<'s, Arc<HttpRouteRec>>,
    facts: Col<'s, (ObjectKey, TargetFact)>,
    direct_responses: Col<'s, Arc<DirectResponseRec>>,
    policies: Col<'s, (ObjectKey, RoutePolicy)>,
) -> Col<'s, (ObjectKey, Arc<RenderedRoute>)> {
    #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
    enum DrPart {
        Rec(Arc<DirectResponseRec>),
        Want(ObjectKey),
    }
    let directs = routes
        .clone()
        .flat_map(|r| {
            let mut names: Vec<Sym> = r
                .rules
                .iter()
                .flat_map(|rule| rule.filters.iter())
                .filter_map(|f| match f {
                    FilterRec::Extension { group, kind, name }
                        if group == KGATEWAY_GROUP && kind == "DirectResponse" =>
                    {
                        Some(*name)
                    }
                    _ => None,
                })
                .collect();
            names.sort();
            names.dedup();
            names.into_iter().map(move |n| {
                (
                    ObjectKey {
                        ns: r.key.ns,
                        name: n,
                    },
                    DrPart::Want(r.key),
                )
            })
        })
        .concat(direct_responses.map(|d| (d.key, DrPart::Rec(d))))
        .reduce_named("LookupDirectResponses", |key, parts, out| {
            let found = parts.iter().find_map(|(p, _)| match p {
                DrPart::Rec(d) => Some((d.status, d.body.clone())),
                DrPart::Want(_) => None,
            });
            for (p, _) in parts {
                if let DrPart::Want(route) = p {
                    out.push(((*route, found.clone()), 1));
                }
            }
            let _ = key;
        })
        .map(|(dr, (route, found))| (route, Part::Direct(dr.name, found)));

    routes
        .map(|r| (r.key, Part::Route(r)))
        .concat(facts.map(|(k, f)| (k, Part::Target(f))))
        .concat(directs)
        .concat(policies.map(|(k, p)| (k, Part::Policy(p))))
        .reduce_named("RenderRoutes", |_, parts, out| {
            let Some(route) = parts.iter().find_map(|(p, _)| match p {
                Part::Route(r) => Some(r),
                _ => None,
            }) else {
                return;
            };
            let ctx = Context { route, parts };
            out.push((Arc::new(ctx.render()), 1));
        })
}

struct Context<'a> {
    route: &'a HttpRouteRec,
    parts: &'a [(&'a Part, isize)],
}

impl Context<'_> {
    /// A target as this route sees it: kind, then grant, then existence.
    fn resolve(&self, t: &BackendTarget) -> Result<TargetIr, Failure> {
        if let BackendTarget::Unsupported { group, kind, .. } = t {
            return Err((
                "InvalidKind".into(),
                format!("unsupported backend kind {group}/{kind}"),
            ));
        }
        let key = t.key();
        if key.ns != self.route.key.ns
            && !self
                .parts
                .iter()
                .any(|(p, _)| matches!(p, Part::Target(TargetFact::Granted(g)) if g == t))
        {
            return Err((
                "RefNotPermitted".into(),
                format!("{} {key} is not granted", t.group_kind().1),
            ));
        }
        self.parts
            .iter()
            .find_map(|(p, _)| match p {
                Part::Target(TargetFact::Lookup(l, res)) if l == t => Some(res.clone()),
                _ => None,
            })
            .unwrap_or_else(|| Err(("BackendNotFound".into(), format!("{key} not resolved"))))
    }

    fn policies(&self) -> impl Iterator<Item = &RoutePolicy> {
        self.parts.iter().filter_map(|(p, _)| match p {
            Part::Policy(rp) => Some(rp),
            _ => None,
        })
    }

    fn direct(&self, name: Sym) -> Option<(u16, Option<String>)> {
        self.parts.iter().find_map(|(p, _)| match p {
            Part::Direct(n, found) if *n == name => found.clone(),
            _ => None,
        })
    }

    fn render(&self) -> RenderedRoute {
        let mut out = RenderedRoute {
            entries: Vec::new(),
            targets: Vec::new(),
            resolved: Ok(()),
        };
        let r = self.route;
        for (ri, rule) in r.rules.iter().enumerate() {
            let action = self.rule_action(ri, rule, &mut out);
            let (req, resp) = header_ops(&rule.filters);
            let cors = cors_of(rule).map(Box::new);
            let policy = rule_policy(self.policies(), ri, rule).map(Arc::new);
            for (mi, m) in rule.matches.iter().enumerate() {
                let (path_rank, path, len) = match &m.path {
                    PathMatch::Exact(p) => (0, PathMatchIr::Exact(p.clone()), p.len()),
                    PathMatch::Regex(p) => (1, PathMatchIr::Regex(p.clone()), p.len()),
                    PathMatch::Prefix(p) => (2, PathMatchIr::Prefix(p.clone()), p.len()),
                };
                let mut headers: Vec<HeaderMatchIr> =
                    m.headers.iter().map(to_header_match).collect();
                if let Some(method) = &m.method {
                    headers.push(HeaderMatchIr {
                        name: ":method".into(),
                        exact: Some(method.clone()),
                        regex: None,
                    });
                }
                out.entries.push(EntryIr {
                    precedence: Precedence {
                        path_rank,
                        neg_path_len: -(len as i64),
                        no_method: m.method.is_none(),
                        neg_headers: -(m.headers.len() as i64),
                        neg_query: -(m.query.len() as i64),
                        created: r.created,
                        route: format!("{}/{}", r.key.ns, r.key.name),
                        rule: ri,
                        matcher: mi,
                    },
                    route: Arc::new(with_policy(
                        RouteIr {
                            name: route_name(r.key, ri, mi),
                            path,
                            headers,
                            query: m.query.iter().map(to_header_match).collect(),
                            action: action.clone(),
                            request_headers: req.clone(),
                            response_headers: resp.clone(),
                            cors: cors.clone(),
                            filters: Vec::new(),
                            stat_prefix: None,
                            tracing: None,
                        },
                        policy.as_deref(),
                        (r.key, rule.name.as_deref()),
                    )),
                    policy: policy.clone(),
                });
            }
        }
        // Held for as long as the route exists, once per route: no growth slack.
        out.entries.shrink_to_fit();
        out.targets.shrink_to_fit();
        out
    }

    /// 500 for an invalid rule; else the first redirect or DirectResponse filter; else
    /// forwarding — 500 if a weighted backend fails to resolve or none carries weight.
    fn rule_action(&self, index: usize, rule: &RuleRec, out: &mut RenderedRoute) -> ActionIr {
        let error = ActionIr::Direct {
            status: 500,
            body: None,
        };
        let fail = |out: &mut RenderedRoute, f: Failure| {
            if out.resolved.is_ok() {
                out.resolved = Err(f);
            }
        };
        let mut decided = None;
        for f in &rule.filters {
            match f {
                FilterRec::Redirect(rd) => {
                    decided.get_or_insert_with(|| {
                        ActionIr::redirect(RedirectIr {
                            scheme: rd.scheme.clone(),
                            host: rd.hostname.clone(),
                            port: rd.port,
                            path: rd.path.as_ref().map(to_path_rewrite),
                            status_code: rd.status_code,
                        })
                    });
                }
                FilterRec::Extension { group, kind, name } => {
                    let action = if group == KGATEWAY_GROUP && kind == "DirectResponse" {
                        match self.direct(*name) {
                            Some((status, body)) => ActionIr::Direct { status, body },
                            None => {
                                let key = ObjectKey {
                                    ns: self.route.key.ns,
                                    name: *name,
                                };
                                fail(
                                    out,
                                    (
                                        "BackendNotFound".into(),
                                        format!("DirectResponse {key} not found"),
                                    ),
                                );
                                error.clone()
                            }
                        }
                    } else if group == KGATEWAY_GROUP && kind == "TrafficPolicy" {
                        // Applied as the rule's most specific policy; one that does not exist
                        // may have been a security policy: the rule fails closed.
                        let found = self.policies().any(|p| {
                            p.level == AttachLevel::ExtensionRef
                                && p.rule == RuleSel::Index(index)
                                && p.policy.key.name == *name
                        });
                        if found {
                            continue;
                        }
                        let key = ObjectKey {
                            ns: self.route.key.ns,
                            name: *name,
                        };
                        fail(
                            out,
                            (
                                "BackendNotFound".into(),
                                format!("TrafficPolicy {key} not found"),
                            ),
                        );
                        error.clone()
                    } else {
                        fail(
                            out,
                            (
                                "InvalidKind".into(),
                                format!("unsupported extensionRef {group}/{kind}"),
                            ),
                        );
                        error.clone()
                    };
                    decided.get_or_insert(action);
                }
                _ => {}
            }
        }
        let mut clusters = Vec::new();
        let mut targets = Vec::new();
        let mut broken = false;
        for b in &rule.backends {
            match self.resolve(&b.target) {
                Ok(t) => {
                    if b.weight > 0 {
                        let (request_headers, response_headers) = header_ops(&b.filters);
                        clusters.push(WeightedClusterIr {
                            cluster: t.cluster.name.clone(),
                            weight: b.weight,
                            request_headers,
                            response_headers,
                        });
                        targets.push(t);
                    }
                }
                Err(f) => {
                    fail(out, f);
                    broken |= b.weight > 0;
                }
            }
        }
        if rule.invalid.is_some() {
            return error;
        }
        if let Some(action) = decided {
            return action;
        }
        if broken || clusters.is_empty() {
            return error;
        }
        let mut fwd = ForwardIr {
            clusters,
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
        for f in &rule.filters {
            match f {
                FilterRec::Rewrite(rw) => {
                    if rw.hostname.is_some() {
                        fwd.host_rewrite = rw.hostname.clone();
                    }
                    if let Some(p) = &rw.path {
                        fwd.path_rewrite = Some(to_path_rewrite(p));
                    }
                }
                FilterRec::Mirror(m) => {
                    if let Ok(t) = self.resolve(&m.target) {
                        fwd.mirrors.push(MirrorIr {
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
        ActionIr::forward(fwd)
    }
}

/// `route` with its rule's merged route-level policy applied. `statPrefix` is an HTTPRoute
/// field of kgateway's, so it applies here only, expanded for the rule.
fn with_policy(
    mut route: RouteIr,
    policy: Option<&TrafficRec>,
    (key, rule): (ObjectKey, Option<&str>),
) -> RouteIr {
    if let Some(p) = policy {
        p.apply(&mut route);
        route.stat_prefix = p.stat_prefix_for(&key, rule);
    }
    route
}

fn to_header_match(kv: &KeyValueMatch) -> HeaderMatchIr {
    match &kv.value {
        StringMatch::Exact(v) => HeaderMatchIr {
            name: kv.name.clone(),
            exact: Some(v.clone()),
            regex: None,
        },
        StringMatch::Regex(v) => HeaderMatchIr {
            name: kv.name.clone(),
            exact: None,
            regex: Some(v.clone()),
        },
    }
}

fn to_path_rewrite(p: &PathModifier) -> PathRewriteIr {
    match p {
        PathModifier::ReplaceFullPath(s) => PathRewriteIr::Full(s.clone()),
        PathModifier::ReplacePrefixMatch(s) => PathRewriteIr::Prefix(s.clone()),
    }
}

/// The CORS policy of a valid rule: its (only) CORS filter. An invalid rule answers 500 before
/// any filter.
fn cors_of(rule: &RuleRec) -> Option<CorsIr> {
    if rule.invalid.is_some() {
        return None;
    }
    rule.filters.iter().find_map(|f| match f {
        FilterRec::Cors(c) => Some(CorsIr::from(c)),
        _ => None,
    })
}

/// Request and response header operations of a filter list, in filter order.
fn header_ops(filters: &[FilterRec]) -> (HeaderOpsIr, HeaderOpsIr) {
    let (mut req, mut resp) = (HeaderOpsIr::default(), HeaderOpsIr::default());
    for f in filters {
        let (ops, mods) = match f {
            FilterRec::RequestHeaders(m) => (&mut req, m),
            FilterRec::ResponseHeaders(m) => (&mut resp, m),
            _ => continue,
        };
        ops.set.extend_from_slice(&mods.set);
        ops.add.extend_from_slice(&mods.add);
        ops.remove.extend_from_slice(&mods.remove);
    }
    (req, resp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::backends::resolve_backends;
    use crate::render::grants::arrange_grants;
    use crate::render::testing::*;

    /// A rendered route seen as its entries' `(name, action)`, its target clusters and its
    /// `ResolvedRefs`.
    type Summary = (Vec<(String, ActionIr)>, Vec<String>, Result<(), Failure>);

    fn summary(r: &RenderedRoute) -> Summary {
        (
            r.entries
                .iter()
                .map(|e| (e.route.name.clone(), e.route.action.clone()))
                .collect(),
            r.targets.iter().map(|t| t.cluster.name.clone()).collect(),
            r.resolved.clone(),
        )
    }

    fn build(i: crate::render::Inputs<'_>) -> Col<'_, (ObjectKey, Arc<RenderedRoute>)> {
        let targets = resolve_backends(
            i.routes.clone(),
            i.services,
            i.backends,
            &arrange_grants(i.grants),
        );
        let policies = crate::render::policies::route_policies(i.policies, i.routes.clone());
        render_routes(i.routes, targets, i.direct_responses, policies)
    }

    fn run(test: impl FnOnce(&mut Harness<'_, (ObjectKey, Summary), ()>) + Send + Sync + 'static) {
        run_stage(|i| build(i).map(|(k, r)| (k, summary(&r))), test);
    }

    fn forward(clusters: &[&str]) -> ActionIr {
        ActionIr::forward(ForwardIr {
            clusters: clusters
                .iter()
                .map(|c| WeightedClusterIr {
                    cluster: c.to_string(),
                    weight: 1,
                    request_headers: HeaderOpsIr::default(),
                    response_headers: HeaderOpsIr::default(),
                })
                .collect(),
            timeout_ms: None,
            per_try_timeout_ms: None,
            host_rewrite: None,
            path_rewrite: None,
            mirrors: vec![],
            retry: None,
            idle_timeout_ms: None,
            auto_host_rewrite: false,
            internal_redirect: None,
        })
    }

    fn direct(status: u16, body: Option<&str>) -> ActionIr {
        ActionIr::Direct {
            status,
            body: body.map(str::to_string),
        }
    }

    /// `apps/r`'s summary: one entry per rule (one match each).
    fn rendered(
        actions: &[ActionIr],
        targets: &[&str],
        resolved: Result<(), Failure>,
    ) -> (ObjectKey, Summary) {
        (
            key("apps", "r"),
            (
                actions
                    .iter()
                    .enumerate()
                    .map(|(i, a)| (format!("apps/r/rule/{i}/match/0"), a.clone()))
                    .collect(),
                targets.iter().map(|t| t.to_string()).collect(),
                resolved,
            ),
        )
    }

    fn route(rules: Vec<RuleRec>) -> HttpRouteRec {
        mk_route("apps", "r", vec![], rules)
    }

    fn to_svc() -> RuleRec {
        mk_rule("/", vec![mk_service_ref(key("apps", "svc"), 80)])
    }

    fn with_filter(rule: RuleRec, f: FilterRec) -> RuleRec {
        let mut rule = rule;
        rule.filters.push(f);
        rule
    }

    const SVC: &str = "svc/apps/svc/80";

    #[test]
    fn rules_render_into_entries_with_precedence_in_rule_and_match_order() {
        run_stage(build, |h| {
            let mut rule = to_svc();
            rule.matches.push(MatchRec {
                path: PathMatch::Exact("/b".into()),
                headers: vec![KeyValueMatch {
                    name: "x".into(),
                    value: StringMatch::Exact("1".into()),
                }],
                query: vec![KeyValueMatch {
                    name: "q".into(),
                    value: StringMatch::Regex("[0-9]+".into()),
                }],
                method: Some("GET".into()),
            });
            rule.matches[0].path = PathMatch::Prefix("/a".into());
            rule.filters.push(FilterRec::RequestHeaders(HeaderMods {
                set: vec![("x-a".into(), "1".into())],
                ..HeaderMods::default()
            }));
            rule.backends[0]
                .filters
                .push(FilterRec::ResponseHeaders(HeaderMods {
                    add: vec![("x-b".into(), "2".into())],
                    ..HeaderMods::default()
                }));
            rule.timeout_ms = Some(1000);
            let r = HttpRouteRec {
                created: 5,
                ..route(vec![rule])
            };
            h.upsert(&r);
            h.upsert(mk_service("apps", "svc", &[(Some("http"), 80)]));

            let action = ActionIr::forward(ForwardIr {
                clusters: vec![WeightedClusterIr {
                    cluster: SVC.into(),
                    weight: 1,
                    request_headers: HeaderOpsIr::default(),
                    response_headers: HeaderOpsIr {
                        add: vec![("x-b".into(), "2".into())],
                        ..HeaderOpsIr::default()
                    },
                }],
                idle_timeout_ms: None,
                auto_host_rewrite: false,
                internal_redirect: None,
                timeout_ms: Some(1000),
                per_try_timeout_ms: None,
                host_rewrite: None,
                path_rewrite: None,
                mirrors: vec![],
                retry: None,
            });
            let request_headers = HeaderOpsIr {
                set: vec![("x-a".into(), "1".into())],
                ..HeaderOpsIr::default()
            };
            let precedence = |path_rank, len: i64, no_method, n: i64, matcher| Precedence {
                path_rank,
                neg_path_len: -len,
                no_method,
                neg_headers: -n,
                neg_query: -n,
                created: 5,
                route: "apps/r".into(),
                rule: 0,
                matcher,
            };
            let expected = RenderedRoute {
                entries: vec![
                    EntryIr {
                        precedence: precedence(2, 2, true, 0, 0),
                        route: Arc::new(RouteIr {
                            name: "apps/r/rule/0/match/0".into(),
                            path: PathMatchIr::Prefix("/a".into()),
                            headers: vec![],
                            query: vec![],
                            action: action.clone(),
                            request_headers: request_headers.clone(),
                            response_headers: HeaderOpsIr::default(),
                            cors: None,
                            filters: Vec::new(),
                            stat_prefix: None,
                            tracing: None,
                        }),
                        policy: None,
                    },
                    EntryIr {
                        precedence: precedence(0, 2, false, 1, 1),
                        route: Arc::new(RouteIr {
                            name: "apps/r/rule/0/match/1".into(),
                            path: PathMatchIr::Exact("/b".into()),
                            headers: vec![
                                HeaderMatchIr {
                                    name: "x".into(),
                                    exact: Some("1".into()),
                                    regex: None,
                                },
                                HeaderMatchIr {
                                    name: ":method".into(),
                                    exact: Some("GET".into()),
                                    regex: None,
                                },
                            ],
                            query: vec![HeaderMatchIr {
                                name: "q".into(),
                                exact: None,
                                regex: Some("[0-9]+".into()),
                            }],
                            action,
                            request_headers,
                            response_headers: HeaderOpsIr::default(),
                            cors: None,
                            filters: Vec::new(),
                            stat_prefix: None,
                            tracing: None,
                        }),
                        policy: None,
                    },
                ],
                targets: vec![TargetIr {
                    cluster: ClusterIr {
                        name: SVC.into(),
                        discovery: DiscoveryIr::Eds,
                        http2: false,
                        connect_timeout_ms: CONNECT_TIMEOUT_MS,
                    },
                    endpoints_of: Some((key("apps", "svc"), Some("http".into()))),
                }],
                resolved: Ok(()),
            };
            assert_eq!(h.step(), vec![((r.key, Arc::new(expected)), 1)]);
        });
    }

    #[test]
    fn a_direct_response_appearing_later_replaces_the_500() {
        run(|h| {
            let ext = FilterRec::Extension {
                group: KGATEWAY_GROUP.into(),
                kind: "DirectResponse".into(),
                name: sym("dr"),
            };
            h.upsert(route(vec![with_filter(mk_rule("/", vec![]), ext)]));
            let missing = rendered(
                &[direct(500, None)],
                &[],
                Err(failure(
                    "BackendNotFound",
                    "DirectResponse apps/dr not found",
                )),
            );
            assert_eq!(h.step(), vec![(missing.clone(), 1)]);

            h.upsert(mk_direct_response("apps", "dr", 418, Some("teapot")));
            let teapot = rendered(&[direct(418, Some("teapot"))], &[], Ok(()));
            assert_eq!(
                h.step(),
                changes(vec![(missing.clone(), -1), (teapot.clone(), 1)])
            );

            h.upsert(mk_direct_response("apps", "dr", 418, None));
            let bare = rendered(&[direct(418, None)], &[], Ok(()));
            assert_eq!(h.step(), changes(vec![(teapot, -1), (bare.clone(), 1)]));

            // One of another namespace does not count.
            h.upsert(mk_direct_response("web", "dr", 200, None));
            assert_eq!(h.step(), vec![]);

            h.delete(mk_direct_response("apps", "dr", 418, None));
            assert_eq!(h.step(), changes(vec![(bare, -1), (missing, 1)]));
        });
    }

    #[test]
    fn an_invalid_rule_answers_500_until_fixed() {
        run(|h| {
            h.upsert(mk_service("apps", "svc", &[(None, 80)]));
            let broken = RuleRec {
                invalid: Some("bad timeout".into()),
                ..to_svc()
            };
            h.upsert(route(vec![broken, mk_rule("/ok", vec![])]));
            // The valid rule without backends answers 500 too, and nothing is forwarded to.
            let invalid = rendered(&[direct(500, None), direct(500, None)], &[], Ok(()));
            assert_eq!(h.step(), vec![(invalid.clone(), 1)]);

            h.upsert(route(vec![to_svc(), mk_rule("/ok", vec![])]));
            let fixed = rendered(&[forward(&[SVC]), direct(500, None)], &[SVC], Ok(()));
            assert_eq!(h.step(), changes(vec![(invalid, -1), (fixed, 1)]));
        });
    }

    #[test]
    fn a_reference_grant_added_later_resolves_a_cross_namespace_backend() {
        run(|h| {
            let cross = mk_rule("/", vec![mk_service_ref(key("backends", "svc"), 80)]);
            h.upsert(route(vec![cross]));
            h.upsert(mk_service("backends", "svc", &[(None, 80)]));
            let denied = rendered(
                &[direct(500, None)],
                &[],
                Err(failure(
                    "RefNotPermitted",
                    "Service backends/svc is not granted",
                )),
            );
            assert_eq!(h.step(), vec![(denied.clone(), 1)]);

            let grant = mk_service_grant("backends", "apps", Some("svc"));
            h.upsert(&grant);
            let to = "svc/backends/svc/80";
            let granted = rendered(&[forward(&[to])], &[to], Ok(()));
            assert_eq!(
                h.step(),
                changes(vec![(denied.clone(), -1), (granted.clone(), 1)])
            );

            h.delete(&grant);
            assert_eq!(h.step(), changes(vec![(granted, -1), (denied, 1)]));
        });
    }

    #[test]
    fn unsupported_kinds_and_zero_weight_failures() {
        run(|h| {
            h.upsert(mk_service("apps", "svc", &[(None, 80)]));
            let bucket = mk_backend_ref(BackendTarget::Unsupported {
                group: "example.com".into(),
                kind: "Bucket".into(),
                key: key("apps", "b"),
            });
            let missing = BackendRefRec {
                weight: 0,
                ..mk_service_ref(key("apps", "missing"), 80)
            };
            let unsupported = mk_rule("/", vec![bucket]);
            let spare = mk_rule(
                "/spare",
                vec![mk_service_ref(key("apps", "svc"), 80), missing],
            );
            h.upsert(route(vec![unsupported, spare]));
            // The first failure in rule order names `ResolvedRefs`; a failed zero-weight
            // backend does not stop the rule forwarding.
            let r = rendered(
                &[direct(500, None), forward(&[SVC])],
                &[SVC],
                Err(failure(
                    "InvalidKind",
                    "unsupported backend kind example.com/Bucket",
                )),
            );
            assert_eq!(h.step(), vec![(r.clone(), 1)]);

            let ext = FilterRec::Extension {
                group: "example.com".into(),
                kind: "Thing".into(),
                name: sym("t"),
            };
            h.upsert(route(vec![with_filter(to_svc(), ext)]));
            let r2 = rendered(
                &[direct(500, None)],
                &[],
                Err(failure(
                    "InvalidKind",
                    "unsupported extensionRef example.com/Thing",
                )),
            );
            assert_eq!(h.step(), changes(vec![(r, -1), (r2, 1)]));
        });
    }

    #[test]
    fn a_redirect_wins_over_backends_and_mirrors_follow_their_target() {
        run(|h| {
            let redirect = FilterRec::Redirect(RedirectRec {
                scheme: Some("https".into()),
                hostname: None,
                path: None,
                port: None,
                status_code: 301,
            });
            let mirror = FilterRec::Mirror(MirrorRec {
                target: BackendTarget::Service {
                    key: key("apps", "shadow"),
                    port: Some(80),
                },
                fraction_ppm: 500_000,
            });
            h.upsert(mk_service("apps", "svc", &[(None, 80)]));
            h.upsert(route(vec![
                with_filter(to_svc(), redirect),
                with_filter(to_svc(), mirror),
            ]));
            let redirected = ActionIr::redirect(RedirectIr {
                scheme: Some("https".into()),
                host: None,
                port: None,
                path: None,
                status_code: 301,
            });
            // The mirror's Service is missing: it is left out, silently.
            let before = rendered(&[redirected.clone(), forward(&[SVC])], &[SVC], Ok(()));
            assert_eq!(h.step(), vec![(before.clone(), 1)]);

            h.upsert(mk_service("apps", "shadow", &[(None, 80)]));
            let ActionIr::Forward(mut mirrored) = forward(&[SVC]) else {
                unreachable!()
            };
            mirrored.mirrors.push(MirrorIr {
                cluster: "svc/apps/shadow/80".into(),
                fraction_ppm: 500_000,
            });
            let after = rendered(
                &[redirected, ActionIr::Forward(mirrored)],
                &[SVC, "svc/apps/shadow/80"],
                Ok(()),
            );
            assert_eq!(h.step(), changes(vec![(before, -1), (after, 1)]));
        });
    }
}
