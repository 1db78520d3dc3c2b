//! Attaching HTTPRoutes to listeners: for each parentRef naming one of our Gateways, the
//! listeners matching its section and port, then those whose allowedRoutes admit the route,
//! then those whose hostname intersects the route's, then the usable ones. The first step that
//! leaves none gives the `Accepted=False` reason.

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
            })
        })
        .collect();
    if attached.is_empty() {
        return fail("NoMatchingListenerHostname", "no listener hostname matches");
    }
    let usable: Vec<AttachedListener> = attached
        .into_iter()
        .filter(|l| view.usable(l.index))
        .collect();
    if usable.is_empty() {
        return fail("NoMatchingParent", "every matching listener is invalid");
    }
    Ok(usable)
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
