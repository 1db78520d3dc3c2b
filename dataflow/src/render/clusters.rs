//! Clusters of every target of every attached route, and the ClusterLoadAssignment of each EDS
//! cluster (a reduce keyed by the Service over its EndpointSlices, so an endpoint change
//! re-renders only that Service's assignments).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::attach::Attachment;
use super::{Col, RenderedRoute};
use crate::ir::*;
use crate::model::*;

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum Part {
    Slice(Arc<EndpointSliceRec>),
    /// An EDS cluster for the Service port of this name.
    Want(Option<String>, String),
}

pub fn render_clusters<'s>(
    attachments: Col<'s, Attachment>,
    rendered: Col<'s, (ObjectKey, Arc<RenderedRoute>)>,
    slices: Col<'s, Arc<EndpointSliceRec>>,
) -> (Col<'s, ClusterIr>, Col<'s, EndpointsIr>) {
    let attached = attachments
        .filter(|a| a.outcome.is_ok())
        .map(|a| (a.route.key, ()))
        .distinct();
    let targets = rendered
        .join_map(attached, |_, r, _| r.clone())
        .flat_map(|r| r.targets.clone())
        .distinct();
    let clusters = targets.clone().map(|t| t.cluster).distinct();
    let endpoints = targets
        .flat_map(|t| {
            t.endpoints_of
                .map(|(svc, port)| (svc, Part::Want(port, t.cluster.name)))
        })
        .distinct()
        .concat(slices.map(|s| (s.service, Part::Slice(s))))
        .reduce_named("RenderEndpoints", |_, parts, out| {
            for (p, _) in parts {
                let Part::Want(port_name, cluster) = p else {
                    continue;
                };
                let mut zones: BTreeMap<String, BTreeSet<(String, u16, bool)>> = BTreeMap::new();
                for (q, _) in parts {
                    let Part::Slice(s) = q else { continue };
                    for (_, number) in s.ports.iter().filter(|(n, _)| n == port_name) {
                        for e in &s.endpoints {
                            zones
                                .entry(e.zone.clone().unwrap_or_default())
                                .or_default()
                                .insert((e.address.clone(), *number, e.ready));
                        }
                    }
                }
                let localities = zones
                    .into_iter()
                    .map(|(zone, eps)| LocalityIr {
                        zone,
                        weight: u32::try_from(eps.len()).unwrap_or(u32::MAX),
                        endpoints: eps.into_iter().collect(),
                    })
                    .collect();
                out.push((
                    EndpointsIr {
                        cluster_name: cluster.clone(),
                        localities,
                    },
                    1,
                ));
            }
        })
        .map(|(_, e)| e);
    (clusters, endpoints)
}
