//! Resolving backendRefs (and mirror targets) to clusters.

use sluice_dataflow::ir::*;
use sluice_dataflow::model::*;

use super::{Failure, World};

/// A resolved backend: its cluster and, for a Service port, where its endpoints come from.
#[derive(Clone, Debug)]
pub struct Target {
    pub cluster: ClusterIr,
    /// `(service, port name)` for EDS clusters.
    pub endpoints_of: Option<(ObjectKey, Option<String>)>,
}

/// `Err` carries the `ResolvedRefs=False` reason and message.
pub fn resolve(
    world: &World<'_>,
    route_ns: Sym,
    target: &BackendTarget,
) -> Result<Target, Failure> {
    if let BackendTarget::Unsupported { group, kind, .. } = target {
        return Err((
            "InvalidKind",
            format!("unsupported backend kind {group}/{kind}"),
        ));
    }
    let (group, kind) = target.group_kind();
    let key = target.key();
    if !world.granted((GATEWAY_GROUP, "HTTPRoute", route_ns), (group, kind, key)) {
        return Err(("RefNotPermitted", format!("{kind} {key} is not granted")));
    }
    match target {
        BackendTarget::Service { key, port } => {
            let Some(svc) = world.services.iter().find(|s| s.key == *key) else {
                return Err(("BackendNotFound", format!("Service {key} not found")));
            };
            let Some(port) = port else {
                return Err((
                    "BackendNotFound",
                    format!("Service {key}: port is required"),
                ));
            };
            let Some(sp) = svc.ports.iter().find(|p| p.port == *port) else {
                return Err((
                    "BackendNotFound",
                    format!("Service {key} has no port {port}"),
                ));
            };
            Ok(Target {
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
            let Some(be) = world.backends.iter().find(|b| b.key == *key) else {
                return Err(("BackendNotFound", format!("Backend {key} not found")));
            };
            if let Some(why) = &be.unsupported {
                return Err(("BackendNotFound", format!("Backend {key}: {why}")));
            }
            Ok(Target {
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
        BackendTarget::Unsupported { .. } => unreachable!("handled above"),
    }
}

/// The ClusterLoadAssignment of a Service port: every endpoint of every EndpointSlice of the
/// Service that lists a port of the same name, grouped by zone.
pub fn endpoints(
    world: &World<'_>,
    cluster: &str,
    service: ObjectKey,
    port_name: &Option<String>,
) -> EndpointsIr {
    let mut by_zone: std::collections::BTreeMap<
        String,
        std::collections::BTreeSet<(String, u16, bool)>,
    > = Default::default();
    for slice in world.slices.iter().filter(|s| s.service == service) {
        for (_, number) in slice.ports.iter().filter(|(n, _)| n == port_name) {
            for e in &slice.endpoints {
                by_zone
                    .entry(e.zone.clone().unwrap_or_default())
                    .or_default()
                    .insert((e.address.clone(), *number, e.ready));
            }
        }
    }
    EndpointsIr {
        cluster_name: cluster.to_string(),
        localities: by_zone
            .into_iter()
            .map(|(zone, eps)| LocalityIr {
                zone,
                weight: u32::try_from(eps.len()).unwrap_or(u32::MAX),
                endpoints: eps.into_iter().collect(),
            })
            .collect(),
    }
}
