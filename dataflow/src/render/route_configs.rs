//! RouteConfigurations: a reduce keyed by the route configuration over the routes attached to
//! its listeners, so a route edit re-renders only the configurations it lands in.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::attach::Attachment;
use super::policies::GatewayPolicy;
use super::routes::EntryIr;
use super::{Col, GatewayView, RenderedRoute};
use crate::ir::*;
use crate::model::*;

/// A route configuration: an HTTP port's (`section` None) or an HTTPS listener's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RouteConfigKey {
    pub gateway: ObjectKey,
    pub port: u16,
    pub section: Option<Sym>,
}

impl RouteConfigKey {
    fn of(gateway: ObjectKey, port: u16, https: bool, name: Sym) -> Self {
        RouteConfigKey {
            gateway,
            port,
            section: https.then_some(name),
        }
    }
}

/// What a route configuration needs to know of its listener's neighbours to answer
/// misdirected requests (see [`misdirect`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
struct Neighbours {
    /// The HTTPS listener's hostname (`None`: any).
    own: Option<String>,
    /// The other hostnames of the usable HTTPS listeners on the same port, sorted, without
    /// `own`; empty for an HTTP port.
    siblings: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum Part {
    Exists(Neighbours),
    /// A route serving `host` here, as rendered.
    Member(String, ObjectKey, Arc<RenderedRoute>),
    /// A route serving `host` here, its entries filled by the configuration's Gateway-level
    /// policy.
    Filled(String, ObjectKey, Arc<Vec<EntryIr>>),
}

pub fn render_route_configs<'s>(
    views: Col<'s, (ObjectKey, GatewayView)>,
    attachments: Col<'s, Attachment>,
    rendered: Col<'s, (ObjectKey, Arc<RenderedRoute>)>,
    gateway_policies: Col<'s, (ObjectKey, GatewayPolicy)>,
) -> Col<'s, Arc<RouteConfigIr>> {
    // Which configuration serves which usable listener, to land Gateway-level policies.
    let listener_configs = views.clone().flat_map(|(gw, v)| {
        (0..v.rec.listeners.len())
            .filter(|&i| v.usable(i))
            .map(|i| {
                let l = &v.rec.listeners[i];
                let rc = RouteConfigKey::of(gw, l.port, l.protocol == Protocol::Https, l.name);
                (gw, (rc, l.name))
            })
            .collect::<Vec<_>>()
    });
    // The Gateway- and listener-level policies of each configuration, merged.
    let gateway_policy = listener_configs
        .join_map(gateway_policies, |_, (rc, listener), gp| {
            let reaches = gp
                .listener
                .as_deref()
                .is_none_or(|want| want == listener.as_str());
            reaches.then(|| (*rc, gp.clone()))
        })
        .flat_map(|x| x)
        .distinct()
        .reduce_named("MergeGatewayPolicies", |_, policies, out| {
            let merged = merge_in_order(
                policies
                    .iter()
                    .map(|(gp, _)| (gp.level(), &*gp.policy))
                    .collect(),
            );
            if let Some(m) = merged {
                out.push((Arc::new(m), 1));
            }
        });
    let exists = views
        .flat_map(|(gw, v)| {
            let usable: Vec<&ListenerRec> = (0..v.rec.listeners.len())
                .filter(|&i| v.usable(i))
                .map(|i| &v.rec.listeners[i])
                .collect();
            usable
                .iter()
                .map(|l| {
                    let https = l.protocol == Protocol::Https;
                    let neighbours = if https {
                        let siblings: std::collections::BTreeSet<String> = usable
                            .iter()
                            .filter(|o| o.port == l.port && o.protocol == Protocol::Https)
                            .filter_map(|o| o.hostname.clone())
                            .filter(|h| Some(h) != l.hostname.as_ref())
                            .collect();
                        Neighbours {
                            own: l.hostname.clone(),
                            siblings: siblings.into_iter().collect(),
                        }
                    } else {
                        Neighbours::default()
                    };
                    (
                        RouteConfigKey::of(gw, l.port, https, l.name),
                        Part::Exists(neighbours),
                    )
                })
                .collect::<Vec<_>>()
        })
        .distinct();
    let members = attachments
        .flat_map(|a| {
            let gw = a.parent.gateway;
            let route = a.route.key;
            // An unprogrammed listener has no route configuration to land in.
            a.outcome
                .into_iter()
                .flatten()
                .filter(|l| l.usable)
                .flat_map(move |l| {
                    let rc = RouteConfigKey::of(gw, l.port, l.https, l.name);
                    l.hosts.into_iter().map(move |h| (route, (rc, h)))
                })
        })
        .distinct()
        .join_map(rendered, |route, (rc, host), r| {
            (*rc, (host.clone(), *route, r.clone()))
        });
    // A member of a configuration with a Gateway-level policy is filled here, keyed by
    // (configuration, route): a route edit re-fills that route only, and the configuration's
    // reduce below just gathers shared routes.
    let filled = members
        .clone()
        .join_map(gateway_policy.clone(), |rc, (host, route, r), g| {
            let entries: Vec<EntryIr> = r
                .entries
                .iter()
                .map(|e| EntryIr {
                    precedence: e.precedence.clone(),
                    route: under_gateway(e, g),
                    policy: e.policy.clone(),
                })
                .collect();
            (*rc, Part::Filled(host.clone(), *route, Arc::new(entries)))
        });
    let plain = members
        .antijoin(gateway_policy.map(|(rc, _)| rc))
        .map(|(rc, (host, route, r))| (rc, Part::Member(host, route, r)));

    exists
        .concat(filled)
        .concat(plain)
        .reduce_named("RenderRouteConfigs", |rc, parts, out| {
            let Some(neighbours) = parts.iter().find_map(|(p, _)| match p {
                Part::Exists(n) => Some(n),
                Part::Member(..) | Part::Filled(..) => None,
            }) else {
                return;
            };
            let name = route_config_name(rc.gateway, rc.port, rc.section);
            let mut hosts: BTreeMap<&str, Vec<&EntryIr>> = BTreeMap::new();
            for (p, _) in parts {
                let (host, entries) = match p {
                    Part::Member(host, _, r) => (host, &r.entries),
                    Part::Filled(host, _, entries) => (host, &**entries),
                    Part::Exists(_) => continue,
                };
                hosts
                    .entry(host.as_str())
                    .or_default()
                    .extend(entries.iter());
            }
            let mut virtual_hosts: Vec<VirtualHostIr> = hosts
                .into_iter()
                .map(|(host, mut entries)| {
                    entries.sort_by(|a, b| a.precedence.cmp(&b.precedence));
                    VirtualHostIr {
                        name: format!("{name}/{host}"),
                        domains: vec![host.to_string()],
                        routes: entries
                            .into_iter()
                            .map(|e| at_listener_port(&e.route, rc))
                            .collect(),
                    }
                })
                .collect();
            misdirect(&name, neighbours, &mut virtual_hosts);
            out.push((
                Arc::new(RouteConfigIr {
                    name,
                    virtual_hosts,
                }),
                1,
            ));
        })
        .map(|(_, rc)| rc)
}

/// An entry's route with the Gateway-level policy filling what its own route-level policies
/// and fields leave unset.
fn under_gateway(e: &EntryIr, g: &TrafficRec) -> Arc<RouteIr> {
    let fill = match &e.policy {
        Some(route_level) => g.under(route_level),
        None => g.clone(),
    };
    if fill.is_empty() {
        return e.route.clone();
    }
    let mut r = RouteIr::clone(&e.route);
    fill.apply(&mut r);
    Arc::new(r)
}

/// A route as served on `rc`'s listener: a redirect with neither scheme nor port goes to the
/// listener's port (Gateway API), which `Location` leaves out when it is the well-known port
/// of the listener's protocol. Routes render once for every listener, so only such redirects
/// on other ports are copied.
fn at_listener_port(route: &Arc<RouteIr>, rc: &RouteConfigKey) -> Arc<RouteIr> {
    let well_known = if rc.section.is_some() { 443 } else { 80 };
    match &route.action {
        ActionIr::Redirect(rd)
            if rd.scheme.is_none() && rd.port.is_none() && rc.port != well_known =>
        {
            let mut r = RouteIr::clone(route);
            r.action = ActionIr::redirect(RedirectIr {
                port: Some(rc.port),
                ..RedirectIr::clone(rd)
            });
            Arc::new(r)
        }
        _ => route.clone(),
    }
}

/// The name of the route answering misdirected requests.
pub const MISDIRECTED_ROUTE: &str = "misdirected-request";

/// Gateway API's answer to connection coalescing across HTTPS listeners sharing a port: a
/// request whose Host belongs to another listener than the one its SNI chose is answered
/// `421 Misdirected Request`. So, when the listener has siblings on its port:
/// 1. its virtual hosts whose hostname a sibling covers more specifically than the listener
///    itself are dropped (the request belongs to that sibling);
/// 2. each sibling hostname gets a virtual host `{rc}/{hostname}` answering 421, sorted;
/// 3. a listener with a hostname gets a last virtual host `{rc}/*` answering 421 for any other
///    host (a listener without one keeps answering 404 for unknown hosts).
fn misdirect(rc_name: &str, n: &Neighbours, virtual_hosts: &mut Vec<VirtualHostIr>) {
    if n.siblings.is_empty() {
        return;
    }
    virtual_hosts.retain(|v| {
        let host = v.domains.first().map_or("", String::as_str);
        let mine = specificity(n.own.as_deref(), host).unwrap_or((0, 0));
        !n.siblings
            .iter()
            .any(|s| specificity(Some(s), host).is_some_and(|theirs| theirs > mine))
    });
    let answer_421 = |host: &str| VirtualHostIr {
        name: format!("{rc_name}/{host}"),
        domains: vec![host.to_string()],
        routes: vec![Arc::new(RouteIr {
            name: MISDIRECTED_ROUTE.to_string(),
            path: PathMatchIr::Prefix("/".to_string()),
            headers: Vec::new(),
            query: Vec::new(),
            action: ActionIr::Direct {
                status: 421,
                body: None,
            },
            request_headers: HeaderOpsIr::default(),
            response_headers: HeaderOpsIr::default(),
            cors: None,
            filters: Vec::new(),
            stat_prefix: None,
            tracing: None,
        })],
    };
    virtual_hosts.extend(n.siblings.iter().map(|s| answer_421(s)));
    if n.own.is_some() {
        virtual_hosts.push(answer_421("*"));
    }
}

/// How specifically listener hostname `listener` (`None`: any host) covers `host` (a hostname
/// or a wildcard): `None` if it does not; else higher is more specific — any host `(0, 0)`, a
/// wildcard `(1, length of its suffix)`, the very name `(2, 0)`.
fn specificity(listener: Option<&str>, host: &str) -> Option<(u8, usize)> {
    let Some(l) = listener else {
        return Some((0, 0));
    };
    if host == l {
        return Some((2, 0));
    }
    let suffix = l.strip_prefix('*')?;
    (host.len() > suffix.len() && host.ends_with(suffix)).then_some((1, suffix.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::testing::*;

    /// A route configuration seen as its name and, per virtual host, its name, domains and
    /// route names in order.
    type Shape = (String, Vec<(String, Vec<String>, Vec<String>)>);

    fn shape(rc: &RouteConfigIr) -> Shape {
        (
            rc.name.clone(),
            rc.virtual_hosts
                .iter()
                .map(|v| {
                    (
                        v.name.clone(),
                        v.domains.clone(),
                        v.routes.iter().map(|r| r.name.clone()).collect(),
                    )
                })
                .collect(),
        )
    }

    fn build(i: crate::render::Inputs<'_>) -> Col<'_, Arc<RouteConfigIr>> {
        let u = upstream(i);
        render_route_configs(u.views, u.attachments, u.rendered, u.gateway_policies)
    }

    fn run(test: impl FnOnce(&mut Harness<'_, Shape, ()>) + Send + Sync + 'static) {
        run_stage(|i| build(i).map(|rc| shape(&rc)), test);
    }

    fn rc(name: &str, vhosts: &[(&str, &[&str])]) -> Shape {
        (
            name.to_string(),
            vhosts
                .iter()
                .map(|(host, routes)| {
                    (
                        format!("{name}/{host}"),
                        vec![host.to_string()],
                        routes.iter().map(|r| r.to_string()).collect(),
                    )
                })
                .collect(),
        )
    }

    fn gw() -> ObjectKey {
        key("infra", "gw")
    }

    fn setup<D: differential_dataflow::Data>(
        h: &mut Harness<'_, D, ()>,
        listeners: Vec<ListenerRec>,
    ) {
        h.upsert(mk_class(CLASS));
        h.upsert(mk_gateway("infra", "gw", listeners));
        h.upsert(mk_secret("infra", "cert"));
        h.upsert(mk_service("apps", "svc", &[(None, 80)]));
    }

    /// `apps/{name}` on `parent`, one rule matching `path`.
    fn route(name: &str, parent: ParentRef, path: PathMatch) -> HttpRouteRec {
        let mut rule = mk_rule("/", vec![mk_service_ref(key("apps", "svc"), 80)]);
        rule.matches = vec![mk_match(path)];
        mk_route("apps", name, vec![parent], vec![rule])
    }

    fn prefix(p: &str) -> PathMatch {
        PathMatch::Prefix(p.into())
    }

    fn name(route: &str, rule: usize) -> String {
        format!("apps/{route}/rule/{rule}/match/0")
    }

    #[test]
    fn every_usable_listener_has_a_route_configuration_even_without_routes() {
        run(|h| {
            setup(
                h,
                vec![
                    mk_listener("http", 80),
                    mk_https_listener("https", 443, None, key("infra", "cert")),
                    mk_https_listener("broken", 8443, None, key("infra", "missing")),
                ],
            );
            assert_eq!(
                h.step(),
                changes(vec![
                    (rc("infra/gw/80", &[]), 1),
                    (rc("infra/gw/443/https", &[]), 1),
                ])
            );

            // The missing Secret appears: its listener gets one too.
            h.upsert(mk_secret("infra", "missing"));
            assert_eq!(h.step(), vec![(rc("infra/gw/8443/broken", &[]), 1)]);

            h.delete(mk_gateway("infra", "gw", vec![]));
            assert_eq!(
                h.step(),
                changes(vec![
                    (rc("infra/gw/80", &[]), -1),
                    (rc("infra/gw/443/https", &[]), -1),
                    (rc("infra/gw/8443/broken", &[]), -1),
                ])
            );
        });
    }

    #[test]
    fn one_virtual_host_per_hostname_with_the_rendered_routes() {
        run_stage(build, |h| {
            setup(h, vec![mk_listener("http", 80)]);
            let r = HttpRouteRec {
                hostnames: vec!["b.example.com".into(), "a.example.com".into()],
                ..route("r", mk_parent(gw()), prefix("/"))
            };
            h.upsert(&r);
            let entry = RouteIr {
                name: name("r", 0),
                path: PathMatchIr::Prefix("/".into()),
                headers: vec![],
                query: vec![],
                action: ActionIr::forward(ForwardIr {
                    clusters: vec![WeightedClusterIr {
                        cluster: "svc/apps/svc/80".into(),
                        weight: 1,
                        request_headers: HeaderOpsIr::default(),
                        response_headers: HeaderOpsIr::default(),
                    }],
                    timeout_ms: None,
                    per_try_timeout_ms: None,
                    host_rewrite: None,
                    path_rewrite: None,
                    mirrors: vec![],
                    retry: None,
                    idle_timeout_ms: None,
                    auto_host_rewrite: false,
                    internal_redirect: None,
                }),
                request_headers: HeaderOpsIr::default(),
                response_headers: HeaderOpsIr::default(),
                cors: None,
                filters: Vec::new(),
                stat_prefix: None,
                tracing: None,
            };
            let vhost = |host: &str| VirtualHostIr {
                name: format!("infra/gw/80/{host}"),
                domains: vec![host.into()],
                routes: vec![Arc::new(entry.clone())],
            };
            assert_eq!(
                h.step(),
                vec![(
                    Arc::new(RouteConfigIr {
                        name: "infra/gw/80".into(),
                        virtual_hosts: vec![vhost("a.example.com"), vhost("b.example.com")],
                    }),
                    1
                )]
            );
        });
    }

    #[test]
    fn routes_sort_in_gateway_api_precedence_order() {
        run(|h| {
            setup(h, vec![mk_listener("http", 80)]);
            let p = || mk_parent(gw());
            let at = |r: HttpRouteRec, created| HttpRouteRec { created, ..r };
            let mut get = route("r-get", p(), prefix("/api"));
            get.rules[0].matches[0].method = Some("GET".into());
            let mut hdr = route("r-hdr", p(), prefix("/api"));
            hdr.rules[0].matches[0].headers.push(KeyValueMatch {
                name: "x".into(),
                value: StringMatch::Exact("1".into()),
            });
            let mut multi = route("r-multi", p(), prefix("/api/long"));
            let mut second = multi.rules[0].clone();
            second.matches = vec![mk_match(prefix("/b"))];
            multi.rules.push(second);
            let routes = vec![
                route("r-root", p(), prefix("/")),
                at(route("r-api", p(), prefix("/api")), 100),
                at(route("a-api", p(), prefix("/api")), 100),
                at(route("z-old", p(), prefix("/api")), 50),
                route("r-exact", p(), PathMatch::Exact("/api/v1".into())),
                route("r-regex", p(), PathMatch::Regex("/api/.*".into())),
                get.clone(),
                hdr,
                multi,
            ];
            for r in &routes {
                h.upsert(r);
            }
            let order = [
                name("r-exact", 0),
                name("r-regex", 0),
                name("r-multi", 0),
                name("r-get", 0),
                name("r-hdr", 0),
                name("z-old", 0),
                name("a-api", 0),
                name("r-api", 0),
                name("r-multi", 1),
                name("r-root", 0),
            ];
            let all: Vec<&str> = order.iter().map(String::as_str).collect();
            let full = rc("infra/gw/80", &[("*", &all)]);
            assert_eq!(h.step(), vec![(full.clone(), 1)]);

            // Removing one re-renders the configuration without it.
            h.delete(&get);
            let without: Vec<&str> = all
                .iter()
                .copied()
                .filter(|n| !n.starts_with("apps/r-get/"))
                .collect();
            let smaller = rc("infra/gw/80", &[("*", &without)]);
            assert_eq!(h.step(), changes(vec![(full, -1), (smaller.clone(), 1)]));

            // A route for one hostname adds its own virtual host.
            h.upsert(HttpRouteRec {
                hostnames: vec!["foo.example.com".into()],
                ..route("foo", p(), prefix("/"))
            });
            let foo = name("foo", 0);
            assert_eq!(
                h.step(),
                changes(vec![
                    (smaller, -1),
                    (
                        rc(
                            "infra/gw/80",
                            &[("*", &without), ("foo.example.com", &[foo.as_str()])]
                        ),
                        1
                    ),
                ])
            );
        });
    }

    #[test]
    fn a_route_moving_between_listeners_re_renders_both_configurations() {
        run(|h| {
            setup(
                h,
                vec![
                    mk_listener("http", 80),
                    mk_https_listener("https", 443, None, key("infra", "cert")),
                ],
            );
            let r = route("r", mk_parent_section(gw(), "http"), prefix("/"));
            h.upsert(&r);
            let n = name("r", 0);
            let with = |rc_name: &str| rc(rc_name, &[("*", &[n.as_str()])]);
            assert_eq!(
                h.step(),
                changes(vec![
                    (with("infra/gw/80"), 1),
                    (rc("infra/gw/443/https", &[]), 1),
                ])
            );

            h.upsert(route("r", mk_parent_section(gw(), "https"), prefix("/")));
            assert_eq!(
                h.step(),
                changes(vec![
                    (with("infra/gw/80"), -1),
                    (rc("infra/gw/80", &[]), 1),
                    (rc("infra/gw/443/https", &[]), -1),
                    (with("infra/gw/443/https"), 1),
                ])
            );

            // Editing its rules touches only the configuration it is in.
            let mut two = route("r", mk_parent_section(gw(), "https"), prefix("/"));
            let mut longer = two.rules[0].clone();
            longer.matches = vec![mk_match(prefix("/v2"))];
            two.rules.push(longer);
            h.upsert(&two);
            let n1 = name("r", 1);
            let both = rc("infra/gw/443/https", &[("*", &[n1.as_str(), n.as_str()])]);
            assert_eq!(
                h.step(),
                changes(vec![(with("infra/gw/443/https"), -1), (both.clone(), 1)])
            );

            h.delete(&r);
            assert_eq!(
                h.step(),
                changes(vec![(both, -1), (rc("infra/gw/443/https", &[]), 1)])
            );
        });
    }

    #[test]
    fn a_route_attached_to_an_unprogrammed_listener_lands_once_it_is_programmed() {
        run(|h| {
            setup(
                h,
                vec![
                    mk_listener("http", 80),
                    mk_https_listener("broken", 8443, None, key("infra", "missing")),
                ],
            );
            h.upsert(route("r", mk_parent(gw()), prefix("/")));
            let n = name("r", 0);
            let with = |rc_name: &str| rc(rc_name, &[("*", &[n.as_str()])]);
            assert_eq!(h.step(), vec![(with("infra/gw/80"), 1)]);

            h.upsert(mk_secret("infra", "missing"));
            assert_eq!(h.step(), vec![(with("infra/gw/8443/broken"), 1)]);

            h.delete(mk_secret("infra", "missing"));
            assert_eq!(h.step(), vec![(with("infra/gw/8443/broken"), -1)]);
        });
    }

    #[test]
    fn http_listeners_sharing_a_port_share_one_configuration() {
        run(|h| {
            let host = |name: &str, host: &str| ListenerRec {
                hostname: Some(host.into()),
                ..mk_listener(name, 80)
            };
            setup(
                h,
                vec![host("a", "a.example.com"), host("b", "b.example.com")],
            );
            h.upsert(route("r", mk_parent(gw()), prefix("/")));
            let n = name("r", 0);
            assert_eq!(
                h.step(),
                vec![(
                    rc(
                        "infra/gw/80",
                        &[
                            ("a.example.com", &[n.as_str()]),
                            ("b.example.com", &[n.as_str()])
                        ]
                    ),
                    1
                )]
            );
        });
    }

    /// Gateway API's last cross-route tie-break is "alphabetical order by `{namespace}/{name}`":
    /// `a-b/r` sorts before `a/r` (`-` < `/`), while comparing namespace then name puts `a/r`
    /// first.
    #[test]
    fn the_last_tie_break_is_the_namespace_slash_name_text() {
        run(|h| {
            setup(h, vec![mk_listener("http", 80)]);
            let r = route("r", mk_parent(gw()), prefix("/"));
            let other = HttpRouteRec {
                key: key("a-b", "r"),
                ..r.clone()
            };
            let r = HttpRouteRec {
                key: key("a", "r"),
                ..r
            };
            h.upsert(&r);
            h.upsert(&other);
            assert_eq!(
                h.step(),
                vec![(
                    rc(
                        "infra/gw/80",
                        &[("*", &["a-b/r/rule/0/match/0", "a/r/rule/0/match/0"])]
                    ),
                    1
                )]
            );
        });
    }
}

#[cfg(test)]
mod misdirect_tests {
    use super::*;

    fn vhost(host: &str) -> VirtualHostIr {
        VirtualHostIr {
            name: format!("rc/{host}"),
            domains: vec![host.to_string()],
            routes: Vec::new(),
        }
    }

    /// `(domain, answers 421)` of each virtual host, in order.
    fn shape(vhosts: &[VirtualHostIr]) -> Vec<(String, bool)> {
        vhosts
            .iter()
            .map(|v| {
                let direct = v
                    .routes
                    .iter()
                    .any(|r| matches!(r.action, ActionIr::Direct { status: 421, .. }));
                (v.domains[0].clone(), direct)
            })
            .collect()
    }

    fn neighbours(own: Option<&str>, siblings: &[&str]) -> Neighbours {
        Neighbours {
            own: own.map(str::to_string),
            siblings: siblings.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// The listeners of the upstream `HTTPRouteHTTPSListenerDetectMisdirectedRequests` test.
    #[test]
    fn coalesced_requests_for_another_listener_get_421() {
        let s = |v: &[(&str, bool)]| {
            v.iter()
                .map(|(h, d)| (h.to_string(), *d))
                .collect::<Vec<_>>()
        };
        // The catch-all listener: other listeners' hosts are misdirected, unknown ones 404.
        let mut vh = vec![vhost("*"), vhost("example.org"), vhost("x.wildcard.org")];
        let all = [
            "*.wildcard.org",
            "fourth-example.wildcard.org",
            "second-example.org",
        ];
        misdirect("rc", &neighbours(None, &all), &mut vh);
        assert_eq!(
            shape(&vh),
            s(&[
                ("*", false),
                ("example.org", false),
                ("*.wildcard.org", true),
                ("fourth-example.wildcard.org", true),
                ("second-example.org", true),
            ])
        );
        // The wildcard listener keeps its hosts except the more specific sibling's, and
        // answers 421 to anything else.
        let mut vh = vec![
            vhost("*.wildcard.org"),
            vhost("fourth-example.wildcard.org"),
        ];
        misdirect(
            "rc",
            &neighbours(
                Some("*.wildcard.org"),
                &["fourth-example.wildcard.org", "second-example.org"],
            ),
            &mut vh,
        );
        assert_eq!(
            shape(&vh),
            s(&[
                ("*.wildcard.org", false),
                ("fourth-example.wildcard.org", true),
                ("second-example.org", true),
                ("*", true),
            ])
        );
        // The more specific listener keeps its own host.
        let mut vh = vec![vhost("fourth-example.wildcard.org")];
        misdirect(
            "rc",
            &neighbours(Some("fourth-example.wildcard.org"), &["*.wildcard.org"]),
            &mut vh,
        );
        assert_eq!(
            shape(&vh),
            s(&[
                ("fourth-example.wildcard.org", false),
                ("*.wildcard.org", true),
                ("*", true),
            ])
        );
        // Alone on its port: nothing changes.
        let mut vh = vec![vhost("a.example.com")];
        misdirect("rc", &neighbours(Some("a.example.com"), &[]), &mut vh);
        assert_eq!(shape(&vh), s(&[("a.example.com", false)]));
    }
}
