//! Status of our GatewayClasses, Gateways (with listeners) and the HTTPRoutes attached to them.

use std::collections::BTreeSet;

use sluice_dataflow::ir::*;
use sluice_dataflow::model::*;
use sluice_dataflow::output::Snapshot;

use super::attach::Parent;
use super::gateways::OurGateway;
use super::{Config, Failure, World, rules};

pub fn render(
    world: &World<'_>,
    config: &Config,
    gateways: &[OurGateway<'_>],
    parents: &[Parent<'_>],
    out: &mut Snapshot,
) {
    let ours: Vec<ObjectKey> = gateways.iter().map(|g| g.rec.key).collect();
    let reached_by = super::policies::reached_gateways(world, &ours);
    for p in &world.policies {
        let reached = match p.kind {
            PolicyKind::TrafficPolicy => reached_by.get(&p.key).cloned().unwrap_or_default(),
            PolicyKind::ListenerPolicy | PolicyKind::HTTPListenerPolicy => p
                .targets
                .iter()
                .filter(|t| t.kind == TargetKind::Gateway)
                .map(|t| ObjectKey {
                    ns: p.key.ns,
                    name: t.name,
                })
                .filter(|g| ours.contains(g))
                .collect(),
            _ => Vec::new(),
        };
        out.statuses.insert(
            StatusKey {
                kind: StatusKind::Kgateway(p.kind),
                namespace: p.key.ns.to_string(),
                name: p.key.name.to_string(),
            },
            std::sync::Arc::new(sluice_dataflow::render::policies::status_of(
                p,
                reached.into_iter(),
                &config.controller_name,
            )),
        );
    }
    for c in world
        .classes
        .iter()
        .filter(|c| c.controller.as_str() == config.controller_name)
    {
        out.statuses.insert(
            StatusKey {
                kind: StatusKind::GatewayClass,
                namespace: String::new(),
                name: c.name.to_string(),
            },
            std::sync::Arc::new(StatusIr::GatewayClass {
                conditions: vec![Condition::new(
                    "Accepted",
                    true,
                    "Accepted",
                    "accepted",
                    c.generation,
                )],
            }),
        );
    }
    for (gi, g) in gateways.iter().enumerate() {
        let listeners: Vec<ListenerStatusIr> = g
            .listeners
            .iter()
            .enumerate()
            .map(|(li, l)| {
                let attached: BTreeSet<ObjectKey> = parents
                    .iter()
                    .filter(|p| p.gateway == gi)
                    .filter(|p| {
                        p.outcome
                            .as_ref()
                            .is_ok_and(|ls| ls.iter().any(|(i, _)| *i == li))
                    })
                    .map(|p| p.route.key)
                    .collect();
                ListenerStatusIr {
                    name: l.rec.name.to_string(),
                    supported_kinds: l
                        .rec
                        .supported_kinds
                        .iter()
                        .map(|k| RouteGroupKindIr {
                            group: k.group.clone(),
                            kind: k.kind.clone(),
                        })
                        .collect(),
                    attached_routes: u32::try_from(attached.len()).unwrap_or(u32::MAX),
                    conditions: listener_conditions(l.rec, &l.tls, l.usable(), g.rec.generation),
                }
            })
            .collect();
        out.statuses.insert(
            StatusKey {
                kind: StatusKind::Gateway,
                namespace: g.rec.key.ns.to_string(),
                name: g.rec.key.name.to_string(),
            },
            std::sync::Arc::new(StatusIr::Gateway {
                conditions: vec![
                    Condition::new("Accepted", true, "Accepted", "accepted", g.rec.generation),
                    Condition::new(
                        "Programmed",
                        true,
                        "Programmed",
                        "programmed",
                        g.rec.generation,
                    ),
                    // kgateway's Gateway-level ResolvedRefs: every listener resolved.
                    if listeners.iter().all(|l| {
                        l.conditions
                            .iter()
                            .any(|c| c.type_ == "ResolvedRefs" && c.status == "True")
                    }) {
                        Condition::new(
                            "ResolvedRefs",
                            true,
                            "ResolvedRefs",
                            "resolved",
                            g.rec.generation,
                        )
                    } else {
                        Condition::new(
                            "ResolvedRefs",
                            false,
                            "ListenersNotResolved",
                            "a listener's references did not resolve",
                            g.rec.generation,
                        )
                    },
                ],
                listeners,
            }),
        );
    }
    for route in &world.routes {
        let mine: Vec<&Parent<'_>> = parents
            .iter()
            .filter(|p| p.route.key == route.key)
            .collect();
        if mine.is_empty() {
            continue;
        }
        let resolved = rules::render_route(world, route).resolved;
        let resolved_cond = match &resolved {
            Ok(()) => Condition::new(
                "ResolvedRefs",
                true,
                "ResolvedRefs",
                "resolved",
                route.generation,
            ),
            Err((reason, message)) => Condition::new(
                "ResolvedRefs",
                false,
                reason,
                message.clone(),
                route.generation,
            ),
        };
        let entries = mine
            .iter()
            .map(|p| RouteParentStatusIr {
                parent_ref: ParentRefIr {
                    group: p.parent_ref.group.clone(),
                    kind: p.parent_ref.kind.clone(),
                    namespace: p.parent_ref.gateway.ns.to_string(),
                    name: p.parent_ref.gateway.name.to_string(),
                    section_name: p.parent_ref.section.map(|s| s.to_string()),
                    port: p.parent_ref.port,
                },
                controller_name: config.controller_name.clone(),
                conditions: match &p.outcome {
                    // kgateway's route condition: programmed wherever accepted.
                    Ok(_) => vec![
                        Condition::new("Accepted", true, "Accepted", "accepted", route.generation),
                        resolved_cond.clone(),
                        Condition::new(
                            "kgateway.dev/Programmed",
                            true,
                            "Programmed",
                            "programmed",
                            route.generation,
                        ),
                    ],
                    Err((reason, message)) => vec![
                        Condition::new(
                            "Accepted",
                            false,
                            reason,
                            message.clone(),
                            route.generation,
                        ),
                        resolved_cond.clone(),
                    ],
                },
            })
            .collect();
        out.statuses.insert(
            StatusKey {
                kind: StatusKind::HTTPRoute,
                namespace: route.key.ns.to_string(),
                name: route.key.name.to_string(),
            },
            std::sync::Arc::new(StatusIr::Route { parents: entries }),
        );
    }
}

fn listener_conditions(
    l: &ListenerRec,
    tls: &Result<Option<TlsCertIr>, Failure>,
    usable: bool,
    generation: i64,
) -> Vec<Condition> {
    let accepted = match &l.problem {
        Some(ListenerProblem::UnsupportedProtocol) => Condition::new(
            "Accepted",
            false,
            "UnsupportedProtocol",
            "unsupported protocol",
            generation,
        ),
        _ => Condition::new("Accepted", true, "Accepted", "accepted", generation),
    };
    let conflicted = match &l.problem {
        Some(ListenerProblem::Conflicted(reason)) => {
            Condition::new("Conflicted", true, reason, "conflicted", generation)
        }
        _ => Condition::new(
            "Conflicted",
            false,
            "NoConflicts",
            "no conflicts",
            generation,
        ),
    };
    let programmed = if usable {
        Condition::new("Programmed", true, "Programmed", "programmed", generation)
    } else {
        Condition::new("Programmed", false, "Invalid", "not programmed", generation)
    };
    let resolved = match tls {
        Err((reason, message)) => {
            Condition::new("ResolvedRefs", false, reason, message.clone(), generation)
        }
        Ok(_) if l.invalid_kinds => Condition::new(
            "ResolvedRefs",
            false,
            "InvalidRouteKinds",
            "unsupported route kinds",
            generation,
        ),
        Ok(_) => Condition::new("ResolvedRefs", true, "ResolvedRefs", "resolved", generation),
    };
    vec![accepted, conflicted, programmed, resolved]
}
