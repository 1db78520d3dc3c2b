//! Resolving backendRefs and mirror targets to clusters.
//!
//! Each distinct target is looked up once (keyed by the Service or Backend it names), so a
//! Service change touches its targets and, through them, only the routes that use it. Grants
//! are checked per (route, target); `render_routes` combines the two.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::grants::{GrantQuery, GrantsByNamespaces, check_grants};
use super::{Col, Failure};
use crate::ir::*;
use crate::model::*;

/// A resolved backend: its cluster and, for a Service port, where its endpoints come from.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TargetIr {
    pub cluster: ClusterIr,
    /// `(service, port name)` for EDS clusters.
    pub endpoints_of: Option<(ObjectKey, Option<String>)>,
}

/// What `render_routes` learns about one of a route's targets.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum TargetFact {
    /// The target looked up, ignoring grants.
    Lookup(BackendTarget, Result<TargetIr, Failure>),
    /// A ReferenceGrant permits this route's cross-namespace reference to the target.
    Granted(BackendTarget),
}

/// The backend targets a route names (backendRefs and mirrors), each once.
pub fn route_targets(r: &HttpRouteRec) -> Vec<BackendTarget> {
    let mut out: Vec<BackendTarget> =
        r.rules
            .iter()
            .flat_map(|rule| {
                rule.backends.iter().map(|b| b.target.clone()).chain(
                    rule.filters.iter().filter_map(|f| match f {
                        FilterRec::Mirror(m) => Some(m.target.clone()),
                        _ => None,
                    }),
                )
            })
            .filter(|t| !matches!(t, BackendTarget::Unsupported { .. }))
            .collect();
    out.sort();
    out.dedup();
    out
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum Part {
    Service(Arc<ServiceRec>),
    Backend(Arc<BackendRec>),
    Want(BackendTarget),
}

pub fn resolve_backends<'s>(
    routes: Col<'s, Arc<HttpRouteRec>>,
    services: Col<'s, Arc<ServiceRec>>,
    backends: Col<'s, Arc<BackendRec>>,
    grants: &GrantsByNamespaces<'s>,
) -> Col<'s, (ObjectKey, TargetFact)> {
    let wanted = routes.flat_map(|r| route_targets(&r).into_iter().map(move |t| (t, r.key)));

    let lookups = services
        .map(|s| (s.key, Part::Service(s)))
        .concat(backends.map(|b| (b.key, Part::Backend(b))))
        .concat(
            wanted
                .clone()
                .map(|(t, _)| (t.key(), Part::Want(t)))
                .distinct(),
        )
        .reduce_named("ResolveBackends", |_, parts, out| {
            for (p, _) in parts {
                if let Part::Want(t) = p {
                    out.push(((t.clone(), lookup(t, parts)), 1));
                }
            }
        })
        .map(|(_, v)| v);

    let facts = wanted.clone().join_map(lookups, |t, route, res| {
        (*route, TargetFact::Lookup(t.clone(), res.clone()))
    });

    let cross = wanted
        .filter(|(t, route)| t.key().ns != route.ns)
        .map(|(t, route)| {
            let (to_group, to_kind) = t.group_kind();
            let q = GrantQuery {
                from_group: GATEWAY_GROUP.into(),
                from_kind: "HTTPRoute".into(),
                from_ns: route.ns,
                to_group: to_group.into(),
                to_kind: to_kind.into(),
                to: t.key(),
            };
            (q, (route, t))
        });
    let granted =
        check_grants(cross, grants).map(|((route, t), _)| (route, TargetFact::Granted(t)));
    facts.concat(granted)
}

fn lookup(t: &BackendTarget, parts: &[(&Part, isize)]) -> Result<TargetIr, Failure> {
    let not_found = |m: String| Err(("BackendNotFound".to_string(), m));
    match t {
        BackendTarget::Service { key, port } => {
            let Some(svc) = parts.iter().find_map(|(p, _)| match p {
                Part::Service(s) => Some(s),
                _ => None,
            }) else {
                return not_found(format!("Service {key} not found"));
            };
            let Some(port) = port else {
                return not_found(format!("Service {key}: port is required"));
            };
            let Some(sp) = svc.ports.iter().find(|p| p.port == *port) else {
                return not_found(format!("Service {key} has no port {port}"));
            };
            Ok(TargetIr {
                cluster: ClusterIr {
                    name: service_cluster_name(*key, *port),
                    discovery: DiscoveryIr::Eds,
                    http2: speaks_http2(sp.app_protocol.as_deref()),
                    connect_timeout_ms: CONNECT_TIMEOUT_MS,
                },
                endpoints_of: Some((*key, sp.name.clone())),
            })
        }
        BackendTarget::Backend { key } => {
            let Some(be) = parts.iter().find_map(|(p, _)| match p {
                Part::Backend(b) => Some(b),
                _ => None,
            }) else {
                return not_found(format!("Backend {key} not found"));
            };
            if let Some(why) = &be.unsupported {
                return not_found(format!("Backend {key}: {why}"));
            }
            Ok(TargetIr {
                cluster: ClusterIr {
                    name: backend_cluster_name(*key),
                    discovery: DiscoveryIr::Static {
                        hosts: be.hosts.clone(),
                    },
                    http2: speaks_http2(be.app_protocol.as_deref()),
                    connect_timeout_ms: CONNECT_TIMEOUT_MS,
                },
                endpoints_of: None,
            })
        }
        BackendTarget::Unsupported { group, kind, .. } => Err((
            "InvalidKind".to_string(),
            format!("unsupported backend kind {group}/{kind}"),
        )),
    }
}
