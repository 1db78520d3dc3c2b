//! TrafficPolicy attachment, read from kgateway's rules rather than from the operators: a
//! policy reaches a rule through a rule's `ExtensionRef` filter, a `targetRef` or
//! `targetSelector` naming the route (with the rule's name as `sectionName`, or the whole
//! route), or a `targetRef` naming the Gateway (or one of its listeners) the route is served
//! on; all in the policy's namespace. The policies reaching a rule on a listener are folded
//! at once, most specific level first (the record's declared merge is shared), and the result
//! fills the rule's raw route.

use sluice_dataflow::ir::*;
use sluice_dataflow::model::*;

use super::World;

/// The TrafficPolicies of namespace `ns`.
fn traffic<'a, 'w>(world: &'w World<'a>, ns: Sym) -> impl Iterator<Item = &'a PolicyRec> + 'w {
    world.traffic_by_ns.get(&ns).into_iter().flatten().copied()
}

/// The policies that reach rule `ri` of `route` from the route's side.
pub fn route_level<'a>(
    world: &World<'a>,
    route: &HttpRouteRec,
    ri: usize,
) -> Vec<(AttachLevel, &'a PolicyRec)> {
    let rule = &route.rules[ri];
    let mut out = Vec::new();
    for p in traffic(world, route.key.ns) {
        let section_level = |section: &Option<String>| match section {
            None => Some(AttachLevel::Route),
            Some(s) if rule.name.as_deref() == Some(s.as_str()) => Some(AttachLevel::Rule),
            Some(_) => None,
        };
        for t in &p.targets {
            if t.kind == TargetKind::HTTPRoute
                && t.name == route.key.name
                && let Some(level) = section_level(&t.section)
            {
                out.push((level, p));
            }
        }
        for s in &p.selectors {
            if s.kind == TargetKind::HTTPRoute
                && s.labels.iter().all(|l| route.labels.contains(l))
                && let Some(level) = section_level(&s.section)
            {
                out.push((level, p));
            }
        }
        let named_here = rule.filters.iter().any(|f| {
            matches!(f, FilterRec::Extension { group, kind, name }
                if group == KGATEWAY_GROUP && kind == "TrafficPolicy" && *name == p.key.name)
        });
        if named_here {
            out.push((AttachLevel::ExtensionRef, p));
        }
    }
    out
}

/// The policies that reach what a route configuration of `gateway` serves, whose listeners
/// are `listeners`.
pub fn gateway_level<'a>(
    world: &World<'a>,
    gateway: ObjectKey,
    listeners: &[Sym],
) -> Vec<(AttachLevel, &'a PolicyRec)> {
    let mut out = Vec::new();
    for p in traffic(world, gateway.ns) {
        for t in &p.targets {
            if t.kind != TargetKind::Gateway || t.name != gateway.name {
                continue;
            }
            match &t.section {
                None => out.push((AttachLevel::Gateway, p)),
                Some(s) if listeners.iter().any(|l| l.as_str() == s) => {
                    out.push((AttachLevel::Listener, p))
                }
                Some(_) => {}
            }
        }
    }
    out
}

/// The ListenerPolicies and HTTPListenerPolicies that reach a port of `gateway` whose
/// listeners are `listeners`: named Gateway-wide, or naming one of those listeners.
pub fn listener_level<'a>(
    world: &World<'a>,
    gateway: ObjectKey,
    listeners: &[Sym],
) -> Vec<(AttachLevel, &'a PolicyRec)> {
    let mut out = Vec::new();
    for p in world
        .policies
        .iter()
        .filter(|p| p.key.ns == gateway.ns && p.listener.is_some())
    {
        let mut levels: Vec<AttachLevel> = p
            .targets
            .iter()
            .filter(|t| t.kind == TargetKind::Gateway && t.name == gateway.name)
            .filter_map(|t| match &t.section {
                None => Some(AttachLevel::Gateway),
                Some(s) => listeners
                    .iter()
                    .any(|l| l.as_str() == s)
                    .then_some(AttachLevel::Listener),
            })
            .collect();
        levels.sort();
        levels.dedup();
        out.extend(levels.into_iter().map(|l| (l, *p)));
    }
    out
}

/// `route` as served: the route-level policies folded in priority order and applied, then
/// the Gateway- and listener-level ones folded, filling only what the route level left unset
/// (kgateway: the more specific level wins each field whole, its header edits first).
pub fn serve(
    route: &RouteIr,
    route_level: Vec<(AttachLevel, &PolicyRec)>,
    gateway_level: Vec<(AttachLevel, &PolicyRec)>,
) -> RouteIr {
    let mut r = route.clone();
    let high = merge_in_order(route_level);
    if let Some(h) = &high {
        h.apply(&mut r);
    }
    if let Some(g) = merge_in_order(gateway_level) {
        match &high {
            Some(h) => g.under(h).apply(&mut r),
            None => g.apply(&mut r),
        }
    }
    r
}

/// Whether `route` can see the TrafficPolicy its rule's `ExtensionRef` names.
pub fn extension_exists(world: &World<'_>, route: &HttpRouteRec, name: Sym) -> bool {
    traffic(world, route.key.ns).any(|p| p.key.name == name)
}

/// The Gateways of ours each TrafficPolicy reaches: named by a `targetRef`, or a parent of a
/// route it reaches (a `targetRef` or selector naming a rule the route lacks still reaches the
/// route), by policy key.
pub fn reached_gateways(
    world: &World<'_>,
    ours: &[ObjectKey],
) -> std::collections::BTreeMap<ObjectKey, Vec<ObjectKey>> {
    let mut out: std::collections::BTreeMap<ObjectKey, Vec<ObjectKey>> = Default::default();
    for p in world.traffic_by_ns.values().flatten() {
        let e = out.entry(p.key).or_default();
        for t in p.targets.iter().filter(|t| t.kind == TargetKind::Gateway) {
            e.push(ObjectKey {
                ns: p.key.ns,
                name: t.name,
            });
        }
    }
    for route in &world.routes {
        let parents: Vec<ObjectKey> = route
            .parent_refs
            .iter()
            .filter(|r| r.is_gateway())
            .map(|r| r.gateway)
            .collect();
        for p in traffic(world, route.key.ns) {
            let named = p
                .targets
                .iter()
                .any(|t| t.kind == TargetKind::HTTPRoute && t.name == route.key.name);
            let selected = p.selectors.iter().any(|s| {
                s.kind == TargetKind::HTTPRoute && s.labels.iter().all(|l| route.labels.contains(l))
            });
            let by_extension = route.rules.iter().flat_map(|r| &r.filters).any(|f| {
                matches!(f, FilterRec::Extension { group, kind, name }
                    if group == KGATEWAY_GROUP && kind == "TrafficPolicy" && *name == p.key.name)
            });
            if named || selected || by_extension {
                out.entry(p.key)
                    .or_default()
                    .extend(parents.iter().copied());
            }
        }
    }
    for gws in out.values_mut() {
        gws.retain(|g| ours.contains(g));
        gws.sort();
        gws.dedup();
    }
    out
}
