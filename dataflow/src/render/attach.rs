//! Attaching HTTPRoutes to listeners: for each parentRef naming one of our Gateways, the
//! listeners matching its section and port, then those whose allowedRoutes admit the route,
//! then those whose hostname intersects the route's, then the attachable ones. The first step
//! that leaves none gives the `Accepted=False` reason. Attachment ignores whether a listener is
//! programmed (Gateway API `attachedRoutes`): a route on a listener whose certificate does not
//! resolve is attached and accepted, but only usable listeners serve it.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{Col, Failure, GatewayView};
use crate::model::*;

/// A listener a route attached to, with the hostnames it serves there.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AttachedListener {
    pub index: usize,
    pub name: Sym,
    pub port: u16,
    pub https: bool,
    pub hosts: Vec<String>,
    /// Programmed, so its resources serve the route; else the route only counts in its status.
    pub usable: bool,
}

/// The outcome of one (route, parentRef) to one of our Gateways.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Attachment {
    pub route: Arc<HttpRouteRec>,
    pub parent: ParentRef,
    pub outcome: Result<Vec<AttachedListener>, Failure>,
}

type Labels = Option<Arc<NamespaceRec>>;

pub fn attach_routes<'s>(
    routes: Col<'s, Arc<HttpRouteRec>>,
    namespaces: Col<'s, Arc<NamespaceRec>>,
    views: Col<'s, (ObjectKey, GatewayView)>,
) -> Col<'s, Attachment> {
    // Only routes with a Gateway parent need their namespace's labels.
    let by_ns = routes
        .filter(|r| r.parent_refs.iter().any(ParentRef::is_gateway))
        .map(|r| (r.key.ns, r));
    let ns_by_name = namespaces.map(|n| (n.name, n));
    let labelled: Col<'s, (Arc<HttpRouteRec>, Labels)> = by_ns
        .clone()
        .join_map(ns_by_name.clone(), |_, r, n| (r.clone(), Some(n.clone())))
        .concat(
            by_ns
                .antijoin(ns_by_name.map(|(k, _)| k))
                .map(|(_, r)| (r, None)),
        );

    labelled
        .flat_map(|(r, labels)| {
            let mut seen: Vec<ParentRef> = Vec::new();
            for p in r.parent_refs.iter().filter(|p| p.is_gateway()) {
                if !seen.contains(p) {
                    seen.push(p.clone());
                }
            }
            seen.into_iter()
                .map(move |p| (p.gateway, (r.clone(), p, labels.clone())))
        })
        .join_map(views, |_, (route, parent, labels), view| Attachment {
            route: route.clone(),
            parent: parent.clone(),
            outcome: attach_one(route, parent, labels.as_deref(), view),
        })
}

fn attach_one(
    route: &HttpRouteRec,
    parent: &ParentRef,
    ns: Option<&NamespaceRec>,
    view: &GatewayView,
) -> Result<Vec<AttachedListener>, Failure> {
    let fail = |reason: &str, message: &str| Err((reason.to_string(), message.to_string()));
    let listeners = &view.rec.listeners;
    let matching: Vec<usize> = (0..listeners.len())
        .filter(|&i| parent.section.is_none_or(|s| s == listeners[i].name))
        .filter(|&i| parent.port.is_none_or(|p| p == listeners[i].port))
        .collect();
    if matching.is_empty() {
        return fail("NoMatchingParent", "no listener matches the parentRef");
    }
    let empty = BTreeMap::new();
    let labels = ns.map_or(&empty, |n| &n.labels);
    let admitted: Vec<usize> = matching
        .into_iter()
        .filter(|&i| {
            let l = &listeners[i];
            let kind_ok = l
                .supported_kinds
                .iter()
                .any(|k| k.group == GATEWAY_GROUP && k.kind == "HTTPRoute");
            let ns_ok = match &l.allowed_namespaces {
                AllowedNamespaces::All => true,
                AllowedNamespaces::Same => route.key.ns == view.rec.key.ns,
                AllowedNamespaces::Selector(s) => s.matches(labels),
            };
            kind_ok && ns_ok
        })
        .collect();
    if admitted.is_empty() {
        return fail("NotAllowedByListeners", "no listener allows this route");
    }
    let attached: Vec<AttachedListener> = admitted
        .into_iter()
        .filter_map(|i| {
            let l = &listeners[i];
            let hosts = served_hostnames(l.hostname.as_deref(), &route.hostnames);
            (!hosts.is_empty()).then(|| AttachedListener {
                index: i,
                name: l.name,
                port: l.port,
                https: l.protocol == Protocol::Https,
                hosts,
                usable: view.usable(i),
            })
        })
        .collect();
    if attached.is_empty() {
        return fail("NoMatchingListenerHostname", "no listener hostname matches");
    }
    let attachable: Vec<AttachedListener> = attached
        .into_iter()
        .filter(|l| view.attachable(l.index))
        .collect();
    if attachable.is_empty() {
        return fail("NoMatchingParent", "every matching listener is invalid");
    }
    Ok(attachable)
}

/// Whether hostname `h` lies inside `pattern` (`*.x` covers every name ending in `.x`).
fn covered_by(h: &str, pattern: &str) -> bool {
    h == pattern
        || pattern
            .strip_prefix("*.")
            .is_some_and(|base| h.ends_with(&format!(".{base}")))
}

/// Listener hostname (`None`: any) ∩ route hostnames (empty: any), sorted; `*` means any host.
fn served_hostnames(listener: Option<&str>, route: &[String]) -> Vec<String> {
    let mut hosts: Vec<String> = if route.is_empty() {
        vec![listener.unwrap_or("*").to_string()]
    } else if let Some(l) = listener {
        route
            .iter()
            .filter_map(|h| {
                if covered_by(l, h) {
                    Some(l.to_string())
                } else if covered_by(h, l) {
                    Some(h.clone())
                } else {
                    None
                }
            })
            .collect()
    } else {
        route.to_vec()
    };
    hosts.sort();
    hosts.dedup();
    hosts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostname_intersection() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(served_hostnames(None, &[]), v(&["*"]));
        assert_eq!(
            served_hostnames(Some("*.example.com"), &v(&["a.b.example.com"])),
            v(&["a.b.example.com"])
        );
        assert_eq!(
            served_hostnames(Some("a.example.com"), &v(&["*.example.com"])),
            v(&["a.example.com"])
        );
        assert!(served_hostnames(Some("example.com"), &v(&["*.example.com"])).is_empty());
        assert_eq!(
            served_hostnames(Some("*.example.com"), &v(&["*.b.example.com"])),
            v(&["*.b.example.com"])
        );
    }
}

#[cfg(test)]
mod dataflow_tests {
    use super::*;
    use crate::render::grants::arrange_grants;
    use crate::render::testing::*;

    type H<'w> = Harness<'w, Attachment, ()>;

    fn run(test: impl FnOnce(&mut H<'_>) + Send + Sync + 'static) {
        run_stage(
            |i| {
                let views = views(i.classes, i.gateways, i.secrets, &arrange_grants(i.grants));
                attach_routes(i.routes, i.namespaces, views)
            },
            test,
        );
    }

    fn gw() -> ObjectKey {
        key("infra", "gw")
    }

    /// Our Gateway `infra/gw` with these listeners.
    fn gateway(h: &mut H<'_>, listeners: Vec<ListenerRec>) {
        h.upsert(mk_class(CLASS));
        h.upsert(mk_gateway("infra", "gw", listeners));
    }

    /// Route `apps/r` with these parentRefs and hostnames, one rule.
    fn route(parents: Vec<ParentRef>, hostnames: &[&str]) -> HttpRouteRec {
        HttpRouteRec {
            hostnames: hostnames.iter().map(|h| h.to_string()).collect(),
            ..mk_route("apps", "r", parents, vec![mk_rule("/", vec![])])
        }
    }

    fn attached(l: &ListenerRec, index: usize, hosts: &[&str]) -> AttachedListener {
        AttachedListener {
            index,
            name: l.name,
            port: l.port,
            https: l.protocol == Protocol::Https,
            hosts: hosts.iter().map(|h| h.to_string()).collect(),
            usable: true,
        }
    }

    fn outcome(
        r: &HttpRouteRec,
        parent: &ParentRef,
        outcome: Result<Vec<AttachedListener>, Failure>,
    ) -> Attachment {
        Attachment {
            route: Arc::new(r.clone()),
            parent: parent.clone(),
            outcome,
        }
    }

    fn fails(r: &HttpRouteRec, parent: &ParentRef, reason: &str, message: &str) -> Attachment {
        outcome(r, parent, Err(failure(reason, message)))
    }

    #[test]
    fn a_route_attaches_to_the_listeners_it_names() {
        run(|h| {
            let http = mk_listener("http", 80);
            let other = mk_listener("other", 8080);
            gateway(h, vec![http.clone(), other.clone()]);
            let parent = mk_parent(gw());
            let r = route(vec![parent.clone()], &["a.example.com"]);
            h.upsert(&r);
            assert_eq!(
                h.step(),
                vec![(
                    outcome(
                        &r,
                        &parent,
                        Ok(vec![
                            attached(&http, 0, &["a.example.com"]),
                            attached(&other, 1, &["a.example.com"]),
                        ])
                    ),
                    1
                )]
            );

            // By section, by port, and the route gone.
            let by_section = mk_parent_section(gw(), "other");
            let by_port = ParentRef {
                port: Some(80),
                ..mk_parent(gw())
            };
            let r2 = route(vec![by_section.clone(), by_port.clone()], &[]);
            h.upsert(&r2);
            assert_eq!(
                h.step(),
                changes(vec![
                    (
                        outcome(
                            &r,
                            &parent,
                            Ok(vec![
                                attached(&http, 0, &["a.example.com"]),
                                attached(&other, 1, &["a.example.com"]),
                            ])
                        ),
                        -1
                    ),
                    (
                        outcome(&r2, &by_section, Ok(vec![attached(&other, 1, &["*"])])),
                        1
                    ),
                    (
                        outcome(&r2, &by_port, Ok(vec![attached(&http, 0, &["*"])])),
                        1
                    ),
                ])
            );
            h.delete(&r2);
            assert_eq!(
                h.step(),
                changes(vec![
                    (
                        outcome(&r2, &by_section, Ok(vec![attached(&other, 1, &["*"])])),
                        -1
                    ),
                    (
                        outcome(&r2, &by_port, Ok(vec![attached(&http, 0, &["*"])])),
                        -1
                    ),
                ])
            );
        });
    }

    #[test]
    fn no_matching_parent_until_the_route_names_an_existing_listener() {
        run(|h| {
            let http = mk_listener("http", 80);
            gateway(h, vec![http.clone()]);
            let wrong = mk_parent_section(gw(), "nope");
            let r = route(vec![wrong.clone()], &[]);
            h.upsert(&r);
            let failed = fails(
                &r,
                &wrong,
                "NoMatchingParent",
                "no listener matches the parentRef",
            );
            assert_eq!(h.step(), vec![(failed.clone(), 1)]);

            let right = mk_parent_section(gw(), "http");
            let fixed = route(vec![right.clone()], &[]);
            h.upsert(&fixed);
            assert_eq!(
                h.step(),
                changes(vec![
                    (failed, -1),
                    (
                        outcome(&fixed, &right, Ok(vec![attached(&http, 0, &["*"])])),
                        1
                    ),
                ])
            );

            // A port no listener has.
            let port = ParentRef {
                port: Some(81),
                ..right.clone()
            };
            let by_port = route(vec![port.clone()], &[]);
            h.upsert(&by_port);
            assert_eq!(
                h.step(),
                changes(vec![
                    (
                        outcome(&fixed, &right, Ok(vec![attached(&http, 0, &["*"])])),
                        -1
                    ),
                    (
                        fails(
                            &by_port,
                            &port,
                            "NoMatchingParent",
                            "no listener matches the parentRef"
                        ),
                        1
                    ),
                ])
            );
        });
    }

    #[test]
    fn a_selector_follows_the_namespace_labels() {
        run(|h| {
            let selective = ListenerRec {
                allowed_namespaces: AllowedNamespaces::Selector(LabelSelector {
                    match_labels: [("env".to_string(), "prod".to_string())].into(),
                    match_expressions: vec![],
                }),
                ..mk_listener("http", 80)
            };
            gateway(h, vec![selective.clone()]);
            let parent = mk_parent(gw());
            let r = route(vec![parent.clone()], &[]);
            h.upsert(&r);
            // No Namespace record: no labels.
            let denied = fails(
                &r,
                &parent,
                "NotAllowedByListeners",
                "no listener allows this route",
            );
            let allowed = outcome(&r, &parent, Ok(vec![attached(&selective, 0, &["*"])]));
            assert_eq!(h.step(), vec![(denied.clone(), 1)]);

            h.upsert(mk_namespace("apps", &[("env", "prod")]));
            assert_eq!(
                h.step(),
                changes(vec![(denied.clone(), -1), (allowed.clone(), 1)])
            );

            h.upsert(mk_namespace("apps", &[("env", "dev")]));
            assert_eq!(
                h.step(),
                changes(vec![(allowed.clone(), -1), (denied.clone(), 1)])
            );

            // Gone or mislabelled: denied either way, so nothing changes.
            h.delete(mk_namespace("apps", &[]));
            assert_eq!(h.step(), vec![]);

            // Labels of another namespace do not matter.
            h.upsert(mk_namespace("web", &[("env", "prod")]));
            assert_eq!(h.step(), vec![]);

            h.upsert(mk_namespace("apps", &[("env", "prod"), ("team", "a")]));
            assert_eq!(h.step(), changes(vec![(denied, -1), (allowed, 1)]));
        });
    }

    #[test]
    fn same_namespace_listeners_refuse_other_namespaces() {
        run(|h| {
            let same = ListenerRec {
                allowed_namespaces: AllowedNamespaces::Same,
                ..mk_listener("http", 80)
            };
            gateway(h, vec![same.clone()]);
            let parent = mk_parent(gw());
            let r = route(vec![parent.clone()], &[]);
            let local = HttpRouteRec {
                key: key("infra", "r"),
                ..r.clone()
            };
            h.upsert(&r);
            h.upsert(&local);
            assert_eq!(
                h.step(),
                changes(vec![
                    (
                        fails(
                            &r,
                            &parent,
                            "NotAllowedByListeners",
                            "no listener allows this route"
                        ),
                        1
                    ),
                    (
                        outcome(&local, &parent, Ok(vec![attached(&same, 0, &["*"])])),
                        1
                    ),
                ])
            );
        });
    }

    #[test]
    fn hostnames_must_intersect() {
        run(|h| {
            let wild = ListenerRec {
                hostname: Some("*.example.com".into()),
                ..mk_listener("http", 80)
            };
            gateway(h, vec![wild.clone()]);
            let parent = mk_parent(gw());
            let r = route(vec![parent.clone()], &["foo.other.com"]);
            h.upsert(&r);
            let failed = fails(
                &r,
                &parent,
                "NoMatchingListenerHostname",
                "no listener hostname matches",
            );
            assert_eq!(h.step(), vec![(failed.clone(), 1)]);

            // Only the intersecting names are served.
            let fixed = route(vec![parent.clone()], &["foo.other.com", "a.example.com"]);
            h.upsert(&fixed);
            assert_eq!(
                h.step(),
                changes(vec![
                    (failed, -1),
                    (
                        outcome(
                            &fixed,
                            &parent,
                            Ok(vec![attached(&wild, 0, &["a.example.com"])])
                        ),
                        1
                    ),
                ])
            );
        });
    }

    #[test]
    fn a_listener_without_its_certificate_takes_the_route_unprogrammed() {
        run(|h| {
            let https = mk_https_listener("https", 443, None, key("infra", "cert"));
            gateway(h, vec![https.clone()]);
            let parent = mk_parent_section(gw(), "https");
            let r = route(vec![parent.clone()], &[]);
            h.upsert(&r);
            let unprogrammed = outcome(
                &r,
                &parent,
                Ok(vec![AttachedListener {
                    usable: false,
                    ..attached(&https, 0, &["*"])
                }]),
            );
            assert_eq!(h.step(), vec![(unprogrammed.clone(), 1)]);

            h.upsert(mk_secret("infra", "cert"));
            let ok = outcome(&r, &parent, Ok(vec![attached(&https, 0, &["*"])]));
            assert_eq!(
                h.step(),
                changes(vec![(unprogrammed.clone(), -1), (ok.clone(), 1)])
            );

            h.delete(mk_secret("infra", "cert"));
            assert_eq!(h.step(), changes(vec![(ok, -1), (unprogrammed, 1)]));
        });
    }

    #[test]
    fn a_conflicted_listener_takes_no_route() {
        run(|h| {
            let conflicted = ListenerRec {
                problem: Some(ListenerProblem::Conflicted("HostnameConflict".into())),
                ..mk_listener("http", 80)
            };
            gateway(h, vec![conflicted]);
            let parent = mk_parent(gw());
            let r = route(vec![parent.clone()], &[]);
            h.upsert(&r);
            assert_eq!(
                h.step(),
                vec![(
                    fails(
                        &r,
                        &parent,
                        "NoMatchingParent",
                        "every matching listener is invalid"
                    ),
                    1
                )]
            );
        });
    }

    #[test]
    fn only_our_gateways_and_each_distinct_parent_once() {
        run(|h| {
            let http = mk_listener("http", 80);
            gateway(h, vec![http.clone()]);
            h.upsert(GatewayRec {
                class: sym("not-ours"),
                ..mk_gateway("infra", "theirs", vec![http.clone()])
            });
            let parent = mk_parent(gw());
            let service_parent = ParentRef {
                group: String::new(),
                kind: "Service".into(),
                ..mk_parent(key("apps", "svc"))
            };
            let r = route(
                vec![
                    parent.clone(),
                    parent.clone(),
                    mk_parent(key("infra", "theirs")),
                    mk_parent(key("infra", "missing")),
                    service_parent,
                ],
                &[],
            );
            h.upsert(&r);
            assert_eq!(
                h.step(),
                vec![(
                    outcome(&r, &parent, Ok(vec![attached(&http, 0, &["*"])])),
                    1
                )]
            );

            // The Gateway becomes ours.
            h.upsert(GatewayRec {
                class: sym(CLASS),
                ..mk_gateway("infra", "theirs", vec![http.clone()])
            });
            let theirs = mk_parent(key("infra", "theirs"));
            assert_eq!(
                h.step(),
                vec![(
                    outcome(&r, &theirs, Ok(vec![attached(&http, 0, &["*"])])),
                    1
                )]
            );
        });
    }
}
