//! Rendering each HTTPRoute's rules into Envoy routes, once per route (the result does not
//! depend on the listener): a reduce keyed by the route over its record, the facts about its
//! backend targets, and the DirectResponses it names.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::backends::{TargetFact, TargetIr};
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
    route: (String, String),
    rule: usize,
    matcher: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EntryIr {
    pub precedence: Precedence,
    pub route: RouteIr,
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
}

pub fn render_routes<'s>(
    routes: Col<'s, Arc<HttpRouteRec>>,
    facts: Col<'s, (ObjectKey, TargetFact)>,
    direct_responses: Col<'s, Arc<DirectResponseRec>>,
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
            let action = self.rule_action(rule, &mut out);
            let (req, resp) = header_ops(&rule.filters);
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
                        route: (r.key.ns.to_string(), r.key.name.to_string()),
                        rule: ri,
                        matcher: mi,
                    },
                    route: RouteIr {
                        name: route_name(r.key, ri, mi),
                        path,
                        headers,
                        query: m.query.iter().map(to_header_match).collect(),
                        action: action.clone(),
                        request_headers: req.clone(),
                        response_headers: resp.clone(),
                    },
                });
            }
        }
        out
    }

    /// 500 for an invalid rule; else the first redirect or DirectResponse filter; else
    /// forwarding — 500 if a weighted backend fails to resolve or none carries weight.
    fn rule_action(&self, rule: &RuleRec, out: &mut RenderedRoute) -> ActionIr {
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
                        ActionIr::Redirect(RedirectIr {
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
        ActionIr::Forward(fwd)
    }
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
