//! Statuses, a retractable output beside the xDS IR: GatewayClasses of our controller,
//! our Gateways and their listeners, and HTTPRoutes per parent of ours. A fixed input
//! retracts its failed condition like any other output.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::attach::Attachment;
use super::{Col, Failure, GatewayView, RenderConfig, RenderedRoute};
use crate::ir::*;
use crate::model::*;

pub fn render_status<'s>(
    classes: Col<'s, Arc<GatewayClassRec>>,
    views: Col<'s, (ObjectKey, GatewayView)>,
    routes: Col<'s, Arc<HttpRouteRec>>,
    attachments: Col<'s, Attachment>,
    rendered: Col<'s, (ObjectKey, Arc<RenderedRoute>)>,
    config: &RenderConfig,
) -> Col<'s, (StatusKey, Arc<StatusIr>)> {
    let controller = config.controller_name.clone();
    let class_status = classes
        .filter(move |c| c.controller.as_str() == controller)
        .map(|c| {
            (
                StatusKey {
                    kind: StatusKind::GatewayClass,
                    namespace: String::new(),
                    name: c.name.to_string(),
                },
                Arc::new(StatusIr::GatewayClass {
                    conditions: vec![Condition::new(
                        "Accepted",
                        true,
                        "Accepted",
                        "accepted",
                        c.generation,
                    )],
                }),
            )
        });
    let gateway_status = gateway_status(views, attachments.clone());
    let route_status = route_status(
        routes,
        attachments,
        rendered,
        config.controller_name.clone(),
    );
    class_status.concat(gateway_status).concat(route_status)
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum GwPart {
    View(GatewayView),
    /// Listener index, route attached to it.
    Attached(usize, ObjectKey),
}

fn gateway_status<'s>(
    views: Col<'s, (ObjectKey, GatewayView)>,
    attachments: Col<'s, Attachment>,
) -> Col<'s, (StatusKey, Arc<StatusIr>)> {
    let attached = attachments
        .flat_map(|a| {
            let (gw, route) = (a.parent.gateway, a.route.key);
            a.outcome
                .into_iter()
                .flatten()
                .map(move |l| (gw, GwPart::Attached(l.index, route)))
        })
        .distinct();
    views
        .map(|(k, v)| (k, GwPart::View(v)))
        .concat(attached)
        .reduce_named("GatewayStatus", |gw, parts, out| {
            let Some(view) = parts.iter().find_map(|(p, _)| match p {
                GwPart::View(v) => Some(v),
                GwPart::Attached(..) => None,
            }) else {
                return;
            };
            let generation = view.rec.generation;
            let listeners: Vec<ListenerStatusIr> = view
                .rec
                .listeners
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    let routes: BTreeSet<&ObjectKey> = parts
                        .iter()
                        .filter_map(|(p, _)| match p {
                            GwPart::Attached(li, r) if *li == i => Some(r),
                            _ => None,
                        })
                        .collect();
                    ListenerStatusIr {
                        name: l.name.to_string(),
                        supported_kinds: l
                            .supported_kinds
                            .iter()
                            .map(|k| RouteGroupKindIr {
                                group: k.group.clone(),
                                kind: k.kind.clone(),
                            })
                            .collect(),
                        attached_routes: u32::try_from(routes.len()).unwrap_or(u32::MAX),
                        conditions: listener_conditions(
                            l,
                            &view.tls[i],
                            view.usable(i),
                            generation,
                        ),
                    }
                })
                .collect();
            let key = StatusKey {
                kind: StatusKind::Gateway,
                namespace: gw.ns.to_string(),
                name: gw.name.to_string(),
            };
            let status = StatusIr::Gateway {
                conditions: vec![
                    Condition::new("Accepted", true, "Accepted", "accepted", generation),
                    Condition::new("Programmed", true, "Programmed", "programmed", generation),
                    gateway_resolved_refs(&listeners, generation),
                ],
                listeners,
            };
            out.push(((key, Arc::new(status)), 1));
        })
        .map(|(_, s)| s)
}

fn listener_conditions(
    l: &ListenerRec,
    tls: &Result<Option<TlsCertIr>, Failure>,
    usable: bool,
    generation: i64,
) -> Vec<Condition> {
    let c = |t: &str, ok: bool, reason: &str, message: &str| {
        Condition::new(t, ok, reason, message, generation)
    };
    vec![
        match &l.problem {
            Some(ListenerProblem::UnsupportedProtocol) => c(
                "Accepted",
                false,
                "UnsupportedProtocol",
                "unsupported protocol",
            ),
            _ => c("Accepted", true, "Accepted", "accepted"),
        },
        match &l.problem {
            Some(ListenerProblem::Conflicted(reason)) => {
                c("Conflicted", true, reason, "conflicted")
            }
            _ => c("Conflicted", false, "NoConflicts", "no conflicts"),
        },
        if usable {
            c("Programmed", true, "Programmed", "programmed")
        } else {
            c("Programmed", false, "Invalid", "not programmed")
        },
        match tls {
            Err((reason, message)) => c("ResolvedRefs", false, reason, message),
            Ok(_) if l.invalid_kinds => c(
                "ResolvedRefs",
                false,
                "InvalidRouteKinds",
                "unsupported route kinds",
            ),
            Ok(_) => c("ResolvedRefs", true, "ResolvedRefs", "resolved"),
        },
    ]
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum RoutePart {
    Route(Arc<HttpRouteRec>),
    Resolved(Result<(), Failure>),
    Parent(ParentRef, Result<(), Failure>),
}

fn route_status<'s>(
    routes: Col<'s, Arc<HttpRouteRec>>,
    attachments: Col<'s, Attachment>,
    rendered: Col<'s, (ObjectKey, Arc<RenderedRoute>)>,
    controller: String,
) -> Col<'s, (StatusKey, Arc<StatusIr>)> {
    routes
        .map(|r| (r.key, RoutePart::Route(r)))
        .concat(rendered.map(|(k, r)| (k, RoutePart::Resolved(r.resolved.clone()))))
        .concat(attachments.map(|a| {
            (
                a.route.key,
                RoutePart::Parent(a.parent, a.outcome.map(|_| ())),
            )
        }))
        .reduce_named("RouteStatus", move |key, parts, out| {
            let mut route = None;
            let mut resolved = None;
            let mut parents = Vec::new();
            for (p, _) in parts {
                match p {
                    RoutePart::Route(r) => route = Some(r),
                    RoutePart::Resolved(r) => resolved = Some(r),
                    RoutePart::Parent(p, o) => parents.push((p, o)),
                }
            }
            let (Some(route), Some(resolved)) = (route, resolved) else {
                return;
            };
            if parents.is_empty() {
                return;
            }
            let generation = route.generation;
            parents.sort_by_key(|(p, _)| route.parent_refs.iter().position(|q| q == *p));
            let resolved_cond = match resolved {
                Ok(()) => {
                    Condition::new("ResolvedRefs", true, "ResolvedRefs", "resolved", generation)
                }
                Err((reason, message)) => {
                    Condition::new("ResolvedRefs", false, reason, message.clone(), generation)
                }
            };
            let parents = parents
                .into_iter()
                .map(|(p, outcome)| RouteParentStatusIr {
                    parent_ref: ParentRefIr {
                        group: p.group.clone(),
                        kind: p.kind.clone(),
                        namespace: p.gateway.ns.to_string(),
                        name: p.gateway.name.to_string(),
                        section_name: p.section.map(|s| s.to_string()),
                        port: p.port,
                    },
                    controller_name: controller.clone(),
                    conditions: match outcome {
                        Ok(()) => vec![
                            Condition::new("Accepted", true, "Accepted", "accepted", generation),
                            resolved_cond.clone(),
                            Condition::new(
                                KGATEWAY_PROGRAMMED,
                                true,
                                "Programmed",
                                "programmed",
                                generation,
                            ),
                        ],
                        Err((reason, message)) => vec![
                            Condition::new("Accepted", false, reason, message.clone(), generation),
                            resolved_cond.clone(),
                        ],
                    },
                })
                .collect();
            let key = StatusKey {
                kind: StatusKind::HTTPRoute,
                namespace: key.ns.to_string(),
                name: key.name.to_string(),
            };
            out.push(((key, Arc::new(StatusIr::Route { parents })), 1));
        })
        .map(|(_, s)| s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::testing::*;

    type H<'w> = Harness<'w, (StatusKey, StatusIr), ()>;

    fn run(test: impl FnOnce(&mut H<'_>) + Send + Sync + 'static) {
        run_stage(
            |i| {
                let u = upstream(i);
                render_status(
                    u.classes,
                    u.views,
                    u.routes,
                    u.attachments,
                    u.rendered,
                    &RenderConfig::default(),
                )
                .map(|(k, s)| (k, Arc::unwrap_or_clone(s)))
            },
            test,
        );
    }

    fn gw() -> ObjectKey {
        key("infra", "gw")
    }

    fn class_status(generation: i64) -> (StatusKey, StatusIr) {
        (
            StatusKey {
                kind: StatusKind::GatewayClass,
                namespace: String::new(),
                name: CLASS.into(),
            },
            StatusIr::GatewayClass {
                conditions: vec![Condition::new(
                    "Accepted", true, "Accepted", "accepted", generation,
                )],
            },
        )
    }

    /// A listener's status; `problem` is `(reason, message)` of a failed `ResolvedRefs`, which
    /// leaves it unprogrammed.
    fn listener(
        name: &str,
        attached: u32,
        generation: i64,
        problem: Option<(&str, &str)>,
    ) -> ListenerStatusIr {
        let c = |t: &str, ok: bool, reason: &str, message: &str| {
            Condition::new(t, ok, reason, message, generation)
        };
        ListenerStatusIr {
            name: name.into(),
            supported_kinds: vec![RouteGroupKindIr {
                group: GATEWAY_GROUP.into(),
                kind: "HTTPRoute".into(),
            }],
            attached_routes: attached,
            conditions: vec![
                c("Accepted", true, "Accepted", "accepted"),
                c("Conflicted", false, "NoConflicts", "no conflicts"),
                match problem {
                    None => c("Programmed", true, "Programmed", "programmed"),
                    Some(_) => c("Programmed", false, "Invalid", "not programmed"),
                },
                match problem {
                    None => c("ResolvedRefs", true, "ResolvedRefs", "resolved"),
                    Some((reason, message)) => c("ResolvedRefs", false, reason, message),
                },
            ],
        }
    }

    fn gateway_status(generation: i64, listeners: Vec<ListenerStatusIr>) -> (StatusKey, StatusIr) {
        (
            StatusKey {
                kind: StatusKind::Gateway,
                namespace: "infra".into(),
                name: "gw".into(),
            },
            StatusIr::Gateway {
                conditions: vec![
                    Condition::new("Accepted", true, "Accepted", "accepted", generation),
                    Condition::new("Programmed", true, "Programmed", "programmed", generation),
                    // kgateway's Gateway-level ResolvedRefs: False once a listener's is.
                    if listeners.iter().all(|l| l.conditions[3].status == "True") {
                        Condition::new("ResolvedRefs", true, "ResolvedRefs", "resolved", generation)
                    } else {
                        Condition::new(
                            "ResolvedRefs",
                            false,
                            "ListenersNotResolved",
                            "a listener's references did not resolve",
                            generation,
                        )
                    },
                ],
                listeners,
            },
        )
    }

    fn route_status(
        name: &str,
        generation: i64,
        parents: &[(ParentRef, Result<(), Failure>)],
        resolved: Result<(), Failure>,
    ) -> (StatusKey, StatusIr) {
        let cond = |t: &str, r: &Result<(), Failure>, ok_reason: &str, ok_message: &str| match r {
            Ok(()) => Condition::new(t, true, ok_reason, ok_message, generation),
            Err((reason, message)) => Condition::new(t, false, reason, message.clone(), generation),
        };
        (
            StatusKey {
                kind: StatusKind::HTTPRoute,
                namespace: "apps".into(),
                name: name.into(),
            },
            StatusIr::Route {
                parents: parents
                    .iter()
                    .map(|(p, accepted)| RouteParentStatusIr {
                        parent_ref: ParentRefIr {
                            group: p.group.clone(),
                            kind: p.kind.clone(),
                            namespace: p.gateway.ns.to_string(),
                            name: p.gateway.name.to_string(),
                            section_name: p.section.map(|s| s.to_string()),
                            port: p.port,
                        },
                        controller_name: DEFAULT_CONTROLLER_NAME.into(),
                        conditions: {
                            let mut c = vec![
                                cond("Accepted", accepted, "Accepted", "accepted"),
                                cond("ResolvedRefs", &resolved, "ResolvedRefs", "resolved"),
                            ];
                            if accepted.is_ok() {
                                c.push(cond(
                                    KGATEWAY_PROGRAMMED,
                                    &Ok(()),
                                    "Programmed",
                                    "programmed",
                                ));
                            }
                            c
                        },
                    })
                    .collect(),
            },
        )
    }

    /// `apps/{name}` on `parents`, forwarding to `apps/svc:80`.
    fn route(name: &str, parents: Vec<ParentRef>) -> HttpRouteRec {
        mk_route(
            "apps",
            name,
            parents,
            vec![mk_rule("/", vec![mk_service_ref(key("apps", "svc"), 80)])],
        )
    }

    fn setup(h: &mut H<'_>, generation: i64) {
        h.upsert(mk_class(CLASS));
        h.upsert(GatewayRec {
            generation,
            ..mk_gateway(
                "infra",
                "gw",
                vec![
                    mk_listener("http", 80),
                    mk_https_listener("https", 443, None, key("infra", "cert")),
                ],
            )
        });
        h.upsert(mk_secret("infra", "cert"));
        h.upsert(mk_service("apps", "svc", &[(None, 80)]));
    }

    #[test]
    fn classes_of_our_controller_are_accepted_at_their_generation() {
        run(|h| {
            h.upsert(mk_class(CLASS));
            h.upsert(GatewayClassRec {
                controller: sym("example.com/other"),
                ..mk_class("theirs")
            });
            assert_eq!(h.step(), vec![(class_status(1), 1)]);

            h.upsert(GatewayClassRec {
                generation: 2,
                ..mk_class(CLASS)
            });
            assert_eq!(
                h.step(),
                changes(vec![(class_status(1), -1), (class_status(2), 1)])
            );
        });
    }

    #[test]
    fn attached_routes_are_counted_per_listener() {
        run(|h| {
            setup(h, 1);
            let both = mk_parent(gw());
            let http = mk_parent_section(gw(), "http");
            let nope = mk_parent_section(gw(), "nope");
            h.upsert(route("r1", vec![both.clone()]));
            h.upsert(route("r2", vec![http.clone(), nope.clone()]));
            h.upsert(route("r3", vec![nope.clone()]));
            let no_match = Err(failure(
                "NoMatchingParent",
                "no listener matches the parentRef",
            ));
            let r1 = route_status("r1", 1, &[(both.clone(), Ok(()))], Ok(()));
            let gw_before = gateway_status(
                1,
                vec![listener("http", 2, 1, None), listener("https", 1, 1, None)],
            );
            assert_eq!(
                h.step(),
                changes(vec![
                    (class_status(1), 1),
                    (gw_before.clone(), 1),
                    (r1.clone(), 1),
                    (
                        route_status(
                            "r2",
                            1,
                            &[(http.clone(), Ok(())), (nope.clone(), no_match.clone())],
                            Ok(())
                        ),
                        1
                    ),
                    (route_status("r3", 1, &[(nope, no_match)], Ok(())), 1),
                ])
            );

            h.delete(route("r1", vec![]));
            assert_eq!(
                h.step(),
                changes(vec![
                    (gw_before, -1),
                    (
                        gateway_status(
                            1,
                            vec![listener("http", 1, 1, None), listener("https", 0, 1, None)]
                        ),
                        1
                    ),
                    (r1, -1),
                ])
            );
        });
    }

    #[test]
    fn conditions_carry_the_observed_generation() {
        run(|h| {
            setup(h, 1);
            let parent = mk_parent_section(gw(), "http");
            h.upsert(route("r", vec![parent.clone()]));
            let gw1 = gateway_status(
                1,
                vec![listener("http", 1, 1, None), listener("https", 0, 1, None)],
            );
            let r1 = route_status("r", 1, &[(parent.clone(), Ok(()))], Ok(()));
            assert_eq!(
                h.step(),
                changes(vec![
                    (class_status(1), 1),
                    (gw1.clone(), 1),
                    (r1.clone(), 1)
                ])
            );

            setup(h, 2);
            let gw2 = gateway_status(
                2,
                vec![listener("http", 1, 2, None), listener("https", 0, 2, None)],
            );
            assert_eq!(h.step(), changes(vec![(gw1, -1), (gw2, 1)]));

            h.upsert(HttpRouteRec {
                generation: 7,
                ..route("r", vec![parent.clone()])
            });
            assert_eq!(
                h.step(),
                changes(vec![
                    (r1, -1),
                    (route_status("r", 7, &[(parent, Ok(()))], Ok(())), 1)
                ])
            );
        });
    }

    #[test]
    fn failed_conditions_retract_when_their_input_is_fixed() {
        run(|h| {
            setup(h, 1);
            h.delete(mk_secret("infra", "cert"));
            h.delete(mk_service("apps", "svc", &[]));
            let parent = mk_parent_section(gw(), "http");
            h.upsert(route("r", vec![parent.clone()]));
            let bad_cert = (
                "InvalidCertificateRef",
                "Secret infra/cert not found or not a TLS secret",
            );
            let gw_bad = gateway_status(
                1,
                vec![
                    listener("http", 1, 1, None),
                    listener("https", 0, 1, Some(bad_cert)),
                ],
            );
            let missing = Err(failure("BackendNotFound", "Service apps/svc not found"));
            let r_bad = route_status("r", 1, &[(parent.clone(), Ok(()))], missing);
            assert_eq!(
                h.step(),
                changes(vec![
                    (class_status(1), 1),
                    (gw_bad.clone(), 1),
                    (r_bad.clone(), 1)
                ])
            );

            h.upsert(mk_service("apps", "svc", &[(None, 80)]));
            let r_ok = route_status("r", 1, &[(parent.clone(), Ok(()))], Ok(()));
            assert_eq!(h.step(), changes(vec![(r_bad, -1), (r_ok.clone(), 1)]));

            h.upsert(mk_secret("infra", "cert"));
            let gw_ok = gateway_status(
                1,
                vec![listener("http", 1, 1, None), listener("https", 0, 1, None)],
            );
            assert_eq!(h.step(), changes(vec![(gw_bad, -1), (gw_ok.clone(), 1)]));

            // The Gateway gone: its status and its routes' go too.
            h.delete(mk_gateway("infra", "gw", vec![]));
            assert_eq!(h.step(), changes(vec![(gw_ok, -1), (r_ok, -1)]));
        });
    }

    #[test]
    fn listener_level_problems_show_in_listener_conditions() {
        run(|h| {
            h.upsert(mk_class(CLASS));
            let mut invalid_kinds = mk_listener("kinds", 8080);
            invalid_kinds.invalid_kinds = true;
            h.upsert(mk_gateway(
                "infra",
                "gw",
                vec![
                    ListenerRec {
                        protocol: Protocol::Tcp,
                        supported_kinds: vec![],
                        problem: Some(ListenerProblem::UnsupportedProtocol),
                        ..mk_listener("tcp", 9000)
                    },
                    ListenerRec {
                        problem: Some(ListenerProblem::Conflicted("HostnameConflict".into())),
                        ..mk_listener("dup", 80)
                    },
                    invalid_kinds,
                ],
            ));
            let c = |t: &str, ok: bool, reason: &str, message: &str| {
                Condition::new(t, ok, reason, message, 1)
            };
            let tcp = ListenerStatusIr {
                name: "tcp".into(),
                supported_kinds: vec![],
                attached_routes: 0,
                conditions: vec![
                    c(
                        "Accepted",
                        false,
                        "UnsupportedProtocol",
                        "unsupported protocol",
                    ),
                    c("Conflicted", false, "NoConflicts", "no conflicts"),
                    c("Programmed", false, "Invalid", "not programmed"),
                    c("ResolvedRefs", true, "ResolvedRefs", "resolved"),
                ],
            };
            let mut dup = listener("dup", 0, 1, None);
            dup.conditions[1] = c("Conflicted", true, "HostnameConflict", "conflicted");
            dup.conditions[2] = c("Programmed", false, "Invalid", "not programmed");
            let mut kinds = listener("kinds", 0, 1, None);
            kinds.conditions[3] = c(
                "ResolvedRefs",
                false,
                "InvalidRouteKinds",
                "unsupported route kinds",
            );
            assert_eq!(
                h.step(),
                changes(vec![
                    (class_status(1), 1),
                    (gateway_status(1, vec![tcp, dup, kinds]), 1),
                ])
            );
        });
    }

    #[test]
    fn routes_without_a_parent_of_ours_have_no_status() {
        run(|h| {
            setup(h, 1);
            h.upsert(route("r", vec![mk_parent(key("infra", "elsewhere"))]));
            h.upsert(route("orphan", vec![]));
            assert_eq!(
                h.step(),
                changes(vec![
                    (class_status(1), 1),
                    (
                        gateway_status(
                            1,
                            vec![listener("http", 0, 1, None), listener("https", 0, 1, None)]
                        ),
                        1
                    ),
                ])
            );
        });
    }

    /// Gateway API v1.6.1 conformance `GatewayWithAttachedRoutes` ("AttachedRoutes set even when
    /// Gateway has unresolved refs") and `ListenerStatus.attachedRoutes`: attachment depends only
    /// on allowedRoutes and parentRefs, so a route on a listener whose certificate is missing
    /// counts, and (counted routes being the accepted ones) the route is accepted.
    #[test]
    fn attached_routes_count_routes_on_listeners_with_unresolved_refs() {
        run(|h| {
            setup(h, 1);
            h.delete(mk_secret("infra", "cert"));
            let parent = mk_parent_section(gw(), "https");
            h.upsert(route("r", vec![parent.clone()]));
            let bad_cert = (
                "InvalidCertificateRef",
                "Secret infra/cert not found or not a TLS secret",
            );
            assert_eq!(
                h.step(),
                changes(vec![
                    (class_status(1), 1),
                    (
                        gateway_status(
                            1,
                            vec![
                                listener("http", 0, 1, None),
                                listener("https", 1, 1, Some(bad_cert))
                            ]
                        ),
                        1
                    ),
                    (route_status("r", 1, &[(parent, Ok(()))], Ok(())), 1),
                ])
            );
        });
    }
}
