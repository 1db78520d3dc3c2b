//! Attaching HTTPRoutes to listeners through their parentRefs.

use std::collections::BTreeMap;

use sluice_dataflow::model::*;

use super::gateways::OurGateway;
use super::hostname;
use super::{Failure, World};

/// One (route, parentRef) to one of our Gateways.
#[derive(Debug)]
pub struct Parent<'a> {
    pub route: &'a HttpRouteRec,
    pub parent_ref: &'a ParentRef,
    /// Index into the `ours` Gateway list.
    pub gateway: usize,
    /// `Ok`: the listeners (by index) the route attached to, each with the hostnames it serves
    /// there, usable or not; `Err`: the `Accepted=False` reason and message.
    pub outcome: Result<Vec<(usize, Vec<String>)>, Failure>,
}

pub fn attach_routes<'a>(world: &World<'a>, gateways: &[OurGateway<'a>]) -> Vec<Parent<'a>> {
    let labels: BTreeMap<Sym, &BTreeMap<String, String>> = world
        .namespaces
        .iter()
        .map(|n| (n.name, &n.labels))
        .collect();
    let empty = BTreeMap::new();
    let mut out = Vec::new();
    for route in &world.routes {
        let mut seen: Vec<&ParentRef> = Vec::new();
        for pref in &route.parent_refs {
            if !pref.is_gateway() || seen.contains(&pref) {
                continue;
            }
            seen.push(pref);
            let Some(gi) = gateways.iter().position(|g| g.rec.key == pref.gateway) else {
                continue;
            };
            let route_labels = labels.get(&route.key.ns).copied().unwrap_or(&empty);
            out.push(Parent {
                route,
                parent_ref: pref,
                gateway: gi,
                outcome: attach_one(route, pref, &gateways[gi], route_labels),
            });
        }
    }
    out
}

fn attach_one(
    route: &HttpRouteRec,
    pref: &ParentRef,
    gateway: &OurGateway<'_>,
    route_ns_labels: &BTreeMap<String, String>,
) -> Result<Vec<(usize, Vec<String>)>, Failure> {
    let candidates: Vec<usize> = gateway
        .listeners
        .iter()
        .enumerate()
        .filter(|(_, l)| pref.section.is_none_or(|s| s == l.rec.name))
        .filter(|(_, l)| pref.port.is_none_or(|p| p == l.rec.port))
        .map(|(i, _)| i)
        .collect();
    if candidates.is_empty() {
        return Err((
            "NoMatchingParent",
            "no listener matches the parentRef".into(),
        ));
    }
    let allowed: Vec<usize> = candidates
        .into_iter()
        .filter(|&i| {
            let l = gateway.listeners[i].rec;
            l.supported_kinds.contains(&RouteGroupKind::http_route())
                && match &l.allowed_namespaces {
                    AllowedNamespaces::Same => route.key.ns == gateway.rec.key.ns,
                    AllowedNamespaces::All => true,
                    AllowedNamespaces::Selector(sel) => sel.matches(route_ns_labels),
                }
        })
        .collect();
    if allowed.is_empty() {
        return Err((
            "NotAllowedByListeners",
            "no listener allows this route".into(),
        ));
    }
    let attached: Vec<(usize, Vec<String>)> = allowed
        .into_iter()
        .map(|i| {
            let l = gateway.listeners[i].rec;
            (
                i,
                hostname::intersect(l.hostname.as_deref(), &route.hostnames),
            )
        })
        .filter(|(_, hosts)| !hosts.is_empty())
        .collect();
    if attached.is_empty() {
        return Err((
            "NoMatchingListenerHostname",
            "no listener hostname matches".into(),
        ));
    }
    // Whether the listener is programmed does not matter (Gateway API `attachedRoutes`).
    let attachable: Vec<(usize, Vec<String>)> = attached
        .into_iter()
        .filter(|(i, _)| gateway.listeners[*i].attachable())
        .collect();
    if attachable.is_empty() {
        return Err((
            "NoMatchingParent",
            "every matching listener is invalid".into(),
        ));
    }
    Ok(attachable)
}
