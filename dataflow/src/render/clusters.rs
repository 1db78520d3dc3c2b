//! Clusters of every target of every route a usable listener serves, and the
//! ClusterLoadAssignment of each EDS cluster (a reduce keyed by the Service over its
//! EndpointSlices, so an endpoint change re-renders only that Service's assignments).

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
) -> (Col<'s, Arc<ClusterIr>>, Col<'s, Arc<EndpointsIr>>) {
    let attached = attachments
        .filter(|a| {
            a.outcome
                .as_ref()
                .is_ok_and(|ls| ls.iter().any(|l| l.usable))
        })
        .map(|a| (a.route.key, ()))
        .distinct();
    let targets = rendered
        .join_map(attached, |_, r, _| r.clone())
        .flat_map(|r| r.targets.clone())
        .distinct();
    let clusters = targets.clone().map(|t| Arc::new(t.cluster)).distinct();
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
                    Arc::new(EndpointsIr {
                        cluster_name: cluster.clone(),
                        localities,
                    }),
                    1,
                ));
            }
        })
        .map(|(_, e)| e);
    (clusters, endpoints)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::testing::*;

    type H<'w> = Harness<'w, Resource, ()>;

    fn run(test: impl FnOnce(&mut H<'_>) + Send + Sync + 'static) {
        run_stage(
            |i| {
                let u = upstream(i);
                let (clusters, endpoints) = render_clusters(u.attachments, u.rendered, u.slices);
                clusters
                    .map(Resource::Cluster)
                    .concat(endpoints.map(Resource::Endpoint))
            },
            test,
        );
    }

    /// Our Gateway `infra/gw` (HTTP on 80) and the Service `apps/svc` (port 80 named `http`).
    fn setup(h: &mut H<'_>) {
        h.upsert(mk_class(CLASS));
        h.upsert(mk_gateway("infra", "gw", vec![mk_listener("http", 80)]));
        h.upsert(mk_service(
            "apps",
            "svc",
            &[(Some("http"), 80), (Some("admin"), 9000)],
        ));
    }

    /// `apps/{name}` on `infra/gw`, forwarding to `apps/svc:port`.
    fn route(name: &str, port: u16) -> HttpRouteRec {
        mk_route(
            "apps",
            name,
            vec![mk_parent(key("infra", "gw"))],
            vec![mk_rule("/", vec![mk_service_ref(key("apps", "svc"), port)])],
        )
    }

    fn cluster(port: u16) -> Resource {
        Resource::from(ClusterIr {
            name: format!("svc/apps/svc/{port}"),
            discovery: DiscoveryIr::Eds,
            http2: false,
            connect_timeout_ms: CONNECT_TIMEOUT_MS,
        })
    }

    fn cla(port: u16, localities: Vec<LocalityIr>) -> Resource {
        Resource::from(EndpointsIr {
            cluster_name: format!("svc/apps/svc/{port}"),
            localities,
        })
    }

    fn locality(zone: &str, endpoints: &[(&str, u16, bool)]) -> LocalityIr {
        LocalityIr {
            zone: zone.into(),
            weight: endpoints.len() as u32,
            endpoints: endpoints
                .iter()
                .map(|(a, p, r)| (a.to_string(), *p, *r))
                .collect(),
        }
    }

    #[test]
    fn an_attached_route_has_its_cluster_and_an_empty_assignment_without_slices() {
        run(|h| {
            setup(h);
            h.upsert(route("r", 80));
            assert_eq!(
                h.step(),
                changes(vec![(cluster(80), 1), (cla(80, vec![]), 1)])
            );

            let slice = mk_slice(
                "apps",
                "svc-1",
                "svc",
                &[(Some("http"), 8080)],
                vec![mk_endpoint("10.0.0.1", None)],
            );
            h.upsert(&slice);
            let one = cla(80, vec![locality("", &[("10.0.0.1", 8080, true)])]);
            assert_eq!(
                h.step(),
                changes(vec![(cla(80, vec![]), -1), (one.clone(), 1)])
            );

            h.delete(&slice);
            assert_eq!(h.step(), changes(vec![(one, -1), (cla(80, vec![]), 1)]));

            h.delete(route("r", 80));
            assert_eq!(
                h.step(),
                changes(vec![(cluster(80), -1), (cla(80, vec![]), -1)])
            );
        });
    }

    #[test]
    fn endpoints_group_by_zone_and_match_the_port_by_name() {
        run(|h| {
            setup(h);
            h.upsert(route("r", 80));
            let mut not_ready = mk_endpoint("10.0.1.2", Some("zone-b"));
            not_ready.ready = false;
            h.upsert(mk_slice(
                "apps",
                "svc-1",
                "svc",
                &[(Some("http"), 8080), (Some("admin"), 9090)],
                vec![
                    mk_endpoint("10.0.1.1", Some("zone-b")),
                    not_ready,
                    mk_endpoint("10.0.0.1", Some("zone-a")),
                ],
            ));
            h.upsert(mk_slice(
                "apps",
                "svc-2",
                "svc",
                &[(Some("http"), 8080)],
                vec![mk_endpoint("10.0.2.1", None)],
            ));
            // Another Service's slice is not ours.
            h.upsert(mk_slice(
                "apps",
                "other-1",
                "other",
                &[(Some("http"), 8080)],
                vec![mk_endpoint("10.9.9.9", None)],
            ));
            assert_eq!(
                h.step(),
                changes(vec![
                    (cluster(80), 1),
                    (
                        cla(
                            80,
                            vec![
                                locality("", &[("10.0.2.1", 8080, true)]),
                                locality("zone-a", &[("10.0.0.1", 8080, true)]),
                                locality(
                                    "zone-b",
                                    &[("10.0.1.1", 8080, true), ("10.0.1.2", 8080, false)]
                                ),
                            ]
                        ),
                        1
                    ),
                ])
            );

            // A second route to the admin port: its own cluster, endpoints on 9090 only.
            h.upsert(route("admin", 9000));
            assert_eq!(
                h.step(),
                changes(vec![
                    (cluster(9000), 1),
                    (
                        cla(
                            9000,
                            vec![
                                locality("zone-a", &[("10.0.0.1", 9090, true)]),
                                locality(
                                    "zone-b",
                                    &[("10.0.1.1", 9090, true), ("10.0.1.2", 9090, false)]
                                ),
                            ]
                        ),
                        1
                    ),
                ])
            );
        });
    }

    #[test]
    fn clusters_follow_attachment_and_are_shared_by_routes() {
        run(|h| {
            setup(h);
            // Not attached (a Gateway not ours): no cluster.
            let detached = HttpRouteRec {
                parent_refs: vec![mk_parent(key("infra", "elsewhere"))],
                ..route("a", 80)
            };
            h.upsert(&detached);
            assert_eq!(h.step(), vec![]);

            h.upsert(route("a", 80));
            assert_eq!(
                h.step(),
                changes(vec![(cluster(80), 1), (cla(80, vec![]), 1)])
            );

            // A second route to the same port shares them.
            h.upsert(route("b", 80));
            assert_eq!(h.step(), vec![]);
            h.delete(route("a", 80));
            assert_eq!(h.step(), vec![]);

            // A failed attachment counts as detached.
            h.upsert(HttpRouteRec {
                parent_refs: vec![mk_parent_section(key("infra", "gw"), "nope")],
                ..route("b", 80)
            });
            assert_eq!(
                h.step(),
                changes(vec![(cluster(80), -1), (cla(80, vec![]), -1)])
            );
        });
    }

    #[test]
    fn a_route_attached_only_to_unprogrammed_listeners_has_no_cluster() {
        run(|h| {
            setup(h);
            h.upsert(mk_gateway(
                "infra",
                "gw",
                vec![mk_https_listener("https", 443, None, key("infra", "cert"))],
            ));
            h.upsert(route("r", 80));
            assert_eq!(h.step(), vec![]);

            h.upsert(mk_secret("infra", "cert"));
            assert_eq!(
                h.step(),
                changes(vec![(cluster(80), 1), (cla(80, vec![]), 1)])
            );
        });
    }

    #[test]
    fn static_backends_have_a_cluster_and_no_assignment() {
        run(|h| {
            setup(h);
            h.upsert(mk_route(
                "apps",
                "r",
                vec![mk_parent(key("infra", "gw"))],
                vec![mk_rule(
                    "/",
                    vec![mk_backend_ref(BackendTarget::Backend {
                        key: key("apps", "be"),
                    })],
                )],
            ));
            h.upsert(mk_backend("apps", "be", &[("example.com", 443)]));
            assert_eq!(
                h.step(),
                vec![(
                    Resource::from(ClusterIr {
                        name: "backend/apps/be".into(),
                        discovery: DiscoveryIr::Static {
                            hosts: vec![("example.com".into(), 443)],
                        },
                        http2: false,
                        connect_timeout_ms: CONNECT_TIMEOUT_MS,
                    }),
                    1
                )]
            );
        });
    }
}
