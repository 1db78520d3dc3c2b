//! Policy attachment: which TrafficPolicy reaches which HTTPRoute rule (`targetRefs`,
//! `targetSelectors`, a rule's `ExtensionRef` filter) and which Gateway or listener
//! (`targetRefs`), and every policy-like object's status.
//!
//! Route-level policies are folded where the route renders (`routes`), Gateway-level ones
//! where its route configurations render (`route_configs`), so an edit to one policy
//! re-renders only what it reaches. The fold itself is the record's declared merge
//! ([`merge_in_order`]).

use std::collections::BTreeSet;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{Col, RenderConfig};
use crate::ir::*;
use crate::model::*;

/// Which rules of a route a policy reaches.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RuleSel {
    All,
    /// The rule with this `name` (`sectionName`).
    Named(String),
    /// The rule at this index (its `ExtensionRef` filter).
    Index(usize),
}

/// A TrafficPolicy reaching a route.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RoutePolicy {
    pub level: AttachLevel,
    pub rule: RuleSel,
    pub policy: Arc<PolicyRec>,
}

impl RoutePolicy {
    pub fn reaches(&self, index: usize, rule: &RuleRec) -> bool {
        match &self.rule {
            RuleSel::All => true,
            RuleSel::Named(n) => rule.name.as_deref() == Some(n.as_str()),
            RuleSel::Index(i) => *i == index,
        }
    }
}

/// A TrafficPolicy reaching a Gateway, or one listener of it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct GatewayPolicy {
    pub listener: Option<String>,
    pub policy: Arc<PolicyRec>,
}

impl GatewayPolicy {
    pub fn level(&self) -> AttachLevel {
        if self.listener.is_some() {
            AttachLevel::Listener
        } else {
            AttachLevel::Gateway
        }
    }
}

/// Every policy as it applies: one that reads Secrets ([`PolicyRec::secrets`]) filled from
/// the Secrets of its namespace it names or selects, the others as they are. A Secret edit
/// re-resolves only the policies reading it.
pub fn resolve_secrets<'s>(
    policies: Col<'s, Arc<PolicyRec>>,
    secrets: Col<'s, Arc<SecretRec>>,
) -> Col<'s, Arc<PolicyRec>> {
    type Id = (PolicyKind, ObjectKey);
    #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
    enum Part {
        Policy(Arc<PolicyRec>),
        Secret(Arc<SecretRec>),
    }
    let plain = policies.clone().filter(|p| p.secrets.is_empty());
    let readers = policies.filter(|p| !p.secrets.is_empty());
    // The Secrets a reader's uses match: by name (a lookup), or by labels (every Secret of
    // its namespace, checked against the selector).
    let named = readers
        .clone()
        .flat_map(|p| {
            let mut names: Vec<Sym> = p
                .secrets
                .iter()
                .filter_map(|u| match u.source {
                    SecretSource::Named(n) => Some(n),
                    SecretSource::Selected(_) => None,
                })
                .collect();
            names.sort();
            names.dedup();
            let id: Id = (p.kind, p.key);
            names
                .into_iter()
                .map(move |name| (ObjectKey { ns: id.1.ns, name }, id))
        })
        .join_map(secrets.clone().map(|s| (s.key, s)), |_, id, s| {
            (*id, s.clone())
        });
    let selected = readers
        .clone()
        .flat_map(|p| {
            let sources: Vec<SecretSource> = p
                .secrets
                .iter()
                .filter(|u| matches!(u.source, SecretSource::Selected(_)))
                .map(|u| u.source.clone())
                .collect();
            (!sources.is_empty()).then(|| (p.key.ns, ((p.kind, p.key), sources)))
        })
        .join_map(secrets.map(|s| (s.key.ns, s)), |_, (id, sources), s| {
            sources
                .iter()
                .any(|src| src.matches(s))
                .then(|| (*id, s.clone()))
        })
        .flat_map(|x| x);
    let resolved = readers
        .map(|p| ((p.kind, p.key), Part::Policy(p)))
        .concat(
            named
                .concat(selected)
                .distinct()
                .map(|(id, s)| (id, Part::Secret(s))),
        )
        .reduce_named("ResolvePolicySecrets", |_, parts, out| {
            let found: Vec<&SecretRec> = parts
                .iter()
                .filter_map(|(p, _)| match p {
                    Part::Secret(s) => Some(&**s),
                    Part::Policy(_) => None,
                })
                .collect();
            for (p, _) in parts {
                if let Part::Policy(p) = p {
                    out.push((Arc::new(p.with_secrets(&found)), 1));
                }
            }
        })
        .map(|(_, p)| p);
    plain.concat(resolved)
}

fn traffic(policies: Col<'_, Arc<PolicyRec>>) -> Col<'_, Arc<PolicyRec>> {
    policies.filter(|p| p.kind == PolicyKind::TrafficPolicy)
}

/// Every (route, policy) pair: by `targetRefs`, by `targetSelectors` on the route's labels,
/// and by the route's own `ExtensionRef` filters.
pub fn route_policies<'s>(
    policies: Col<'s, Arc<PolicyRec>>,
    routes: Col<'s, Arc<HttpRouteRec>>,
) -> Col<'s, (ObjectKey, RoutePolicy)> {
    let traffic = traffic(policies);
    let by_ref = traffic.clone().flat_map(|p| {
        p.targets
            .iter()
            .filter(|t| t.kind == TargetKind::HTTPRoute)
            .map(|t| {
                let route = ObjectKey {
                    ns: p.key.ns,
                    name: t.name,
                };
                (route, section_policy(t.section.as_ref(), &p))
            })
            .collect::<Vec<_>>()
    });
    let by_selector = traffic
        .clone()
        .flat_map(|p| {
            p.selectors
                .iter()
                .filter(|s| s.kind == TargetKind::HTTPRoute)
                .map(|s| (p.key.ns, (s.clone(), p.clone())))
                .collect::<Vec<_>>()
        })
        .join_map(
            routes
                .clone()
                .map(|r| (r.key.ns, (r.key, r.labels.clone()))),
            |_, (sel, p), (route, labels)| {
                sel.matches(labels)
                    .then(|| (*route, section_policy(sel.section.as_ref(), p)))
            },
        )
        .flat_map(|x| x);
    let by_extension = routes
        .flat_map(|r| {
            let mut refs = Vec::new();
            for (i, rule) in r.rules.iter().enumerate() {
                for f in &rule.filters {
                    if let FilterRec::Extension { group, kind, name } = f
                        && group == KGATEWAY_GROUP
                        && kind == "TrafficPolicy"
                    {
                        let policy = ObjectKey {
                            ns: r.key.ns,
                            name: *name,
                        };
                        refs.push((policy, (r.key, i)));
                    }
                }
            }
            refs
        })
        .join_map(traffic.map(|p| (p.key, p)), |_, (route, i), p| {
            (
                *route,
                RoutePolicy {
                    level: AttachLevel::ExtensionRef,
                    rule: RuleSel::Index(*i),
                    policy: p.clone(),
                },
            )
        });
    by_ref.concat(by_selector).concat(by_extension).distinct()
}

fn section_policy(section: Option<&String>, p: &Arc<PolicyRec>) -> RoutePolicy {
    match section {
        Some(s) => RoutePolicy {
            level: AttachLevel::Rule,
            rule: RuleSel::Named(s.clone()),
            policy: p.clone(),
        },
        None => RoutePolicy {
            level: AttachLevel::Route,
            rule: RuleSel::All,
            policy: p.clone(),
        },
    }
}

/// Every (Gateway, TrafficPolicy) pair of `targetRefs` naming a Gateway.
pub fn gateway_policies<'s>(
    policies: Col<'s, Arc<PolicyRec>>,
) -> Col<'s, (ObjectKey, GatewayPolicy)> {
    gateway_targets(traffic(policies))
}

/// Every (Gateway, ListenerPolicy or HTTPListenerPolicy) pair of `targetRefs` naming a
/// Gateway.
pub fn listener_policies<'s>(
    policies: Col<'s, Arc<PolicyRec>>,
) -> Col<'s, (ObjectKey, GatewayPolicy)> {
    gateway_targets(policies.filter(|p| p.listener.is_some()))
}

fn gateway_targets(policies: Col<'_, Arc<PolicyRec>>) -> Col<'_, (ObjectKey, GatewayPolicy)> {
    policies
        .flat_map(|p| {
            p.targets
                .iter()
                .filter(|t| t.kind == TargetKind::Gateway)
                .map(|t| {
                    (
                        ObjectKey {
                            ns: p.key.ns,
                            name: t.name,
                        },
                        GatewayPolicy {
                            listener: t.section.clone(),
                            policy: p.clone(),
                        },
                    )
                })
                .collect::<Vec<_>>()
        })
        .distinct()
}

/// The merged route-level policy of rule `index` among a route's policies.
pub fn rule_policy<'a>(
    policies: impl Iterator<Item = &'a RoutePolicy>,
    index: usize,
    rule: &RuleRec,
) -> Option<TrafficRec> {
    merge_in_order(
        policies
            .filter(|p| p.reaches(index, rule))
            .map(|p| (p.level, &*p.policy))
            .collect(),
    )
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum Part {
    Rec(Arc<PolicyRec>),
    /// One of our Gateways the policy reaches.
    Reached(ObjectKey),
}

/// Statuses of every policy-like object: a translated policy gets one `ancestors[]` entry per
/// Gateway of ours it reaches (a TrafficPolicy directly, or through a route that names it as
/// a parent); the kinds sluice does not translate yet report `Accepted=False` on each of their
/// targets (GatewayExtension and GatewayParameters in `conditions`). `gateway_policies` holds
/// every policy attached to a Gateway by `targetRefs`, whatever its kind.
pub fn policy_status<'s>(
    policies: Col<'s, Arc<PolicyRec>>,
    routes: Col<'s, Arc<HttpRouteRec>>,
    ours: Col<'s, ObjectKey>,
    route_policies: Col<'s, (ObjectKey, RoutePolicy)>,
    gateway_policies: Col<'s, (ObjectKey, GatewayPolicy)>,
    config: &RenderConfig,
) -> Col<'s, (StatusKey, Arc<StatusIr>)> {
    let via_routes = route_policies
        .map(|(route, rp)| (route, rp.policy.key))
        .distinct()
        .join_map(
            routes.flat_map(|r| {
                let gws: BTreeSet<ObjectKey> = r
                    .parent_refs
                    .iter()
                    .filter(|p| p.is_gateway())
                    .map(|p| p.gateway)
                    .collect();
                gws.into_iter().map(move |g| (r.key, g))
            }),
            |_, policy, gw| (*gw, (PolicyKind::TrafficPolicy, *policy)),
        );
    let direct = gateway_policies.map(|(gw, gp)| (gw, (gp.policy.kind, gp.policy.key)));
    let reached = via_routes
        .concat(direct)
        .distinct()
        .join_map(ours.map(|k| (k, ())), |gw, policy, _| {
            (*policy, Part::Reached(*gw))
        });
    let controller = config.controller_name.clone();
    policies
        .map(|p| ((p.kind, p.key), Part::Rec(p)))
        .concat(reached)
        .reduce_named("PolicyStatus", move |_, parts, out| {
            let Some(p) = parts.iter().find_map(|(p, _)| match p {
                Part::Rec(r) => Some(r),
                Part::Reached(_) => None,
            }) else {
                return;
            };
            let gateways = parts.iter().filter_map(|(p, _)| match p {
                Part::Reached(g) => Some(*g),
                Part::Rec(_) => None,
            });
            out.push((Arc::new(status_of(p, gateways, &controller)), 1));
        })
        .map(|((kind, key), status)| {
            (
                StatusKey {
                    kind: StatusKind::Kgateway(kind),
                    namespace: key.ns.to_string(),
                    name: key.name.to_string(),
                },
                status,
            )
        })
}

/// The status of one policy, given the Gateways of ours a TrafficPolicy reaches.
pub fn status_of(
    p: &PolicyRec,
    reached: impl Iterator<Item = ObjectKey>,
    controller: &str,
) -> StatusIr {
    let conditions = policy_conditions(p);
    if !p.kind.has_ancestors() {
        return StatusIr::GatewayClass { conditions };
    }
    let ancestor = |r: ParentRefIr| PolicyAncestorStatusIr {
        ancestor_ref: r,
        controller_name: controller.to_string(),
        conditions: conditions.clone(),
    };
    let mut ancestors: Vec<PolicyAncestorStatusIr> = if p.kind.translated() {
        reached.map(|g| ancestor(gateway_ref(g))).collect()
    } else {
        // Not translated: reported on each target as named.
        p.targets
            .iter()
            .map(|t| {
                let (group, kind) = t.kind.group_kind();
                ancestor(ParentRefIr {
                    group: group.to_string(),
                    kind: kind.to_string(),
                    namespace: p.key.ns.to_string(),
                    name: t.name.to_string(),
                    section_name: t.section.clone(),
                    port: None,
                })
            })
            .collect()
    };
    ancestors.sort();
    ancestors.dedup();
    StatusIr::Policy { ancestors }
}

fn gateway_ref(g: ObjectKey) -> ParentRefIr {
    ParentRefIr {
        group: GATEWAY_GROUP.to_string(),
        kind: "Gateway".to_string(),
        namespace: g.ns.to_string(),
        name: g.name.to_string(),
        section_name: None,
        port: None,
    }
}

/// `Accepted` (and for a translated policy `Attached`): Valid when every field applies;
/// PartiallyValid when some do not; Invalid when a security sub-policy cannot be enforced
/// (its routes answer 500) or nothing applies; Unsupported for a kind not translated yet.
pub fn policy_conditions(p: &PolicyRec) -> Vec<Condition> {
    let message = p
        .problems
        .iter()
        .map(|pr| format!("{}: {}", pr.field, pr.message))
        .collect::<Vec<_>>()
        .join("; ");
    if !p.kind.translated() {
        return vec![Condition::new(
            "Accepted",
            false,
            "Unsupported",
            message,
            p.generation,
        )];
    }
    let denied = p.traffic.as_ref().and_then(|t| t.denied()).is_some();
    let applies = p.traffic.is_some() || p.listener.as_ref().is_some_and(|l| !l.is_empty());
    let accepted = if p.problems.is_empty() {
        let message = if p.kind == PolicyKind::HTTPListenerPolicy {
            "Policy accepted; HTTPListenerPolicy is deprecated (kgateway v2.5 removed it): \
             write these settings as a ListenerPolicy's spec.default.httpSettings"
        } else {
            "Policy accepted"
        };
        Condition::new("Accepted", true, "Valid", message, p.generation)
    } else if denied || !applies {
        Condition::new("Accepted", false, "Invalid", message, p.generation)
    } else {
        Condition::new("Accepted", false, "PartiallyValid", message, p.generation)
    };
    vec![
        accepted,
        Condition::new(
            "Attached",
            true,
            "Attached",
            "Attached to all targets",
            p.generation,
        ),
    ]
}
