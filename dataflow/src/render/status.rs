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
) -> Col<'s, (StatusKey, StatusIr)> {
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
                StatusIr::GatewayClass {
                    conditions: vec![Condition::new(
                        "Accepted",
                        true,
                        "Accepted",
                        "accepted",
                        c.generation,
                    )],
                },
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
) -> Col<'s, (StatusKey, StatusIr)> {
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
            let listeners = view
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
                ],
                listeners,
            };
            out.push(((key, status), 1));
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
) -> Col<'s, (StatusKey, StatusIr)> {
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
                    conditions: vec![
                        match outcome {
                            Ok(()) => {
                                Condition::new("Accepted", true, "Accepted", "accepted", generation)
                            }
                            Err((reason, message)) => Condition::new(
                                "Accepted",
                                false,
                                reason,
                                message.clone(),
                                generation,
                            ),
                        },
                        resolved_cond.clone(),
                    ],
                })
                .collect();
            let key = StatusKey {
                kind: StatusKind::HTTPRoute,
                namespace: key.ns.to_string(),
                name: key.name.to_string(),
            };
            out.push(((key, StatusIr::Route { parents }), 1));
        })
        .map(|(_, s)| s)
}
