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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::grants::arrange_grants;
    use crate::render::testing::*;

    type H<'w> = Harness<'w, (ObjectKey, TargetFact), ()>;

    fn run(test: impl FnOnce(&mut H<'_>) + Send + Sync + 'static) {
        run_stage(
            |i| resolve_backends(i.routes, i.services, i.backends, &arrange_grants(i.grants)),
            test,
        );
    }

    /// Route `apps/{name}` forwarding `/` to these targets.
    fn route(name: &str, targets: &[BackendTarget]) -> HttpRouteRec {
        mk_route(
            "apps",
            name,
            vec![],
            vec![mk_rule(
                "/",
                targets.iter().cloned().map(mk_backend_ref).collect(),
            )],
        )
    }

    fn svc(ns: &str, name: &str, port: Option<u16>) -> BackendTarget {
        BackendTarget::Service {
            key: key(ns, name),
            port,
        }
    }

    fn eds(ns: &str, name: &str, port: u16, port_name: Option<&str>, http2: bool) -> TargetIr {
        TargetIr {
            cluster: ClusterIr {
                name: format!("svc/{ns}/{name}/{port}"),
                discovery: DiscoveryIr::Eds,
                http2,
                connect_timeout_ms: CONNECT_TIMEOUT_MS,
            },
            endpoints_of: Some((key(ns, name), port_name.map(str::to_string))),
        }
    }

    fn fact(
        route: &str,
        t: &BackendTarget,
        res: Result<TargetIr, Failure>,
    ) -> (ObjectKey, TargetFact) {
        (key("apps", route), TargetFact::Lookup(t.clone(), res))
    }

    #[test]
    fn a_service_port_resolves_to_its_eds_cluster() {
        run(|h| {
            let t = svc("apps", "svc", Some(80));
            h.upsert(route("r", std::slice::from_ref(&t)));
            h.upsert(mk_service("apps", "svc", &[(Some("http"), 80)]));
            assert_eq!(
                h.step(),
                vec![(
                    fact("r", &t, Ok(eds("apps", "svc", 80, Some("http"), false))),
                    1
                )]
            );

            // An appProtocol asking for HTTP/2 changes the cluster.
            let mut h2c = mk_service("apps", "svc", &[(Some("http"), 80)]);
            h2c.ports[0].app_protocol = Some("kubernetes.io/h2c".into());
            h.upsert(h2c);
            assert_eq!(
                h.step(),
                changes(vec![
                    (
                        fact("r", &t, Ok(eds("apps", "svc", 80, Some("http"), false))),
                        -1
                    ),
                    (
                        fact("r", &t, Ok(eds("apps", "svc", 80, Some("http"), true))),
                        1
                    ),
                ])
            );
        });
    }

    #[test]
    fn a_missing_service_or_port_is_backend_not_found_until_fixed() {
        run(|h| {
            let t = svc("apps", "svc", Some(80));
            h.upsert(route("r", std::slice::from_ref(&t)));
            let not_found = fact(
                "r",
                &t,
                Err(failure("BackendNotFound", "Service apps/svc not found")),
            );
            assert_eq!(h.step(), vec![(not_found.clone(), 1)]);

            h.upsert(mk_service("apps", "svc", &[(Some("http"), 8080)]));
            let no_port = fact(
                "r",
                &t,
                Err(failure(
                    "BackendNotFound",
                    "Service apps/svc has no port 80",
                )),
            );
            assert_eq!(
                h.step(),
                changes(vec![(not_found, -1), (no_port.clone(), 1)])
            );

            h.upsert(mk_service(
                "apps",
                "svc",
                &[(Some("http"), 8080), (None, 80)],
            ));
            let ok = fact("r", &t, Ok(eds("apps", "svc", 80, None, false)));
            assert_eq!(
                h.step(),
                changes(vec![(no_port.clone(), -1), (ok.clone(), 1)])
            );

            h.upsert(mk_service("apps", "svc", &[(Some("http"), 8080)]));
            assert_eq!(h.step(), changes(vec![(ok, -1), (no_port, 1)]));
        });
    }

    #[test]
    fn a_service_ref_without_a_port_never_resolves() {
        run(|h| {
            let t = svc("apps", "svc", None);
            h.upsert(route("r", std::slice::from_ref(&t)));
            h.upsert(mk_service("apps", "svc", &[(None, 80)]));
            assert_eq!(
                h.step(),
                vec![(
                    fact(
                        "r",
                        &t,
                        Err(failure(
                            "BackendNotFound",
                            "Service apps/svc: port is required"
                        ))
                    ),
                    1
                )]
            );
        });
    }

    #[test]
    fn unsupported_kinds_are_left_to_render_routes_and_backends_resolve_statically() {
        run(|h| {
            let unsupported = BackendTarget::Unsupported {
                group: "example.com".into(),
                kind: "Bucket".into(),
                key: key("apps", "b"),
            };
            let be = BackendTarget::Backend {
                key: key("apps", "be"),
            };
            h.upsert(route("r", &[unsupported, be.clone()]));
            h.upsert(mk_backend("apps", "be", &[("10.0.0.1", 8080)]));
            let ok = fact(
                "r",
                &be,
                Ok(TargetIr {
                    cluster: ClusterIr {
                        name: "backend/apps/be".into(),
                        discovery: DiscoveryIr::Static {
                            hosts: vec![("10.0.0.1".into(), 8080)],
                        },
                        http2: false,
                        connect_timeout_ms: CONNECT_TIMEOUT_MS,
                    },
                    endpoints_of: None,
                }),
            );
            assert_eq!(h.step(), vec![(ok.clone(), 1)]);

            h.upsert(BackendRec {
                hosts: vec![],
                unsupported: Some("type AWS is not supported".into()),
                ..mk_backend("apps", "be", &[])
            });
            let unsupported = fact(
                "r",
                &be,
                Err(failure(
                    "BackendNotFound",
                    "Backend apps/be: type AWS is not supported",
                )),
            );
            assert_eq!(h.step(), changes(vec![(ok, -1), (unsupported, 1)]));
        });
    }

    #[test]
    fn a_service_and_a_backend_of_one_name_are_told_apart() {
        run(|h| {
            let s = svc("apps", "x", Some(80));
            let b = BackendTarget::Backend {
                key: key("apps", "x"),
            };
            h.upsert(route("r", &[s.clone(), b.clone()]));
            h.upsert(mk_service("apps", "x", &[(None, 80)]));
            assert_eq!(
                h.step(),
                changes(vec![
                    (fact("r", &s, Ok(eds("apps", "x", 80, None, false))), 1),
                    (
                        fact(
                            "r",
                            &b,
                            Err(failure("BackendNotFound", "Backend apps/x not found"))
                        ),
                        1
                    ),
                ])
            );
        });
    }

    #[test]
    fn cross_namespace_targets_get_a_granted_fact_per_route() {
        run(|h| {
            let t = svc("backends", "svc", Some(80));
            h.upsert(route("r", std::slice::from_ref(&t)));
            h.upsert(mk_service("backends", "svc", &[(None, 80)]));
            let lookup = fact("r", &t, Ok(eds("backends", "svc", 80, None, false)));
            // Looked up whatever the grants say: `render_routes` decides.
            assert_eq!(h.step(), vec![(lookup.clone(), 1)]);

            let grant = mk_service_grant("backends", "apps", Some("svc"));
            h.upsert(&grant);
            let granted = (key("apps", "r"), TargetFact::Granted(t.clone()));
            assert_eq!(h.step(), vec![(granted.clone(), 1)]);

            // A second route in another namespace is not covered by the grant.
            let web = HttpRouteRec {
                key: key("web", "r"),
                ..route("r", std::slice::from_ref(&t))
            };
            h.upsert(&web);
            assert_eq!(h.step(), vec![((key("web", "r"), lookup.1.clone()), 1)]);

            h.delete(&grant);
            assert_eq!(h.step(), vec![(granted, -1)]);
        });
    }

    #[test]
    fn one_lookup_serves_every_route_naming_the_target() {
        run(|h| {
            let t = svc("apps", "svc", Some(80));
            // Named twice by one route (backendRef and mirror), once by another.
            let mut a = route("a", std::slice::from_ref(&t));
            a.rules[0].filters.push(FilterRec::Mirror(MirrorRec {
                target: t.clone(),
                fraction_ppm: 1_000_000,
            }));
            h.upsert(&a);
            h.upsert(route("b", std::slice::from_ref(&t)));
            let missing = Err(failure("BackendNotFound", "Service apps/svc not found"));
            assert_eq!(
                h.step(),
                changes(vec![
                    (fact("a", &t, missing.clone()), 1),
                    (fact("b", &t, missing.clone()), 1),
                ])
            );

            h.upsert(mk_service("apps", "svc", &[(None, 80)]));
            let ok = Ok(eds("apps", "svc", 80, None, false));
            assert_eq!(
                h.step(),
                changes(vec![
                    (fact("a", &t, missing.clone()), -1),
                    (fact("b", &t, missing), -1),
                    (fact("a", &t, ok.clone()), 1),
                    (fact("b", &t, ok.clone()), 1),
                ])
            );

            // A Service nobody names changes nothing.
            h.upsert(mk_service("apps", "unused", &[(None, 80)]));
            assert_eq!(h.step(), vec![]);

            h.delete(&a);
            assert_eq!(h.step(), vec![(fact("a", &t, ok), -1)]);
        });
    }
}
