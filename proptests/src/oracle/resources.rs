//! Listeners, route configurations, clusters and endpoints of our Gateways.

use std::collections::BTreeMap;

use sluice_dataflow::ir::*;
use sluice_dataflow::model::*;
use sluice_dataflow::output::Snapshot;

use super::attach::Parent;
use super::gateways::OurGateway;
use super::hostname::within;
use super::rules::{self, Entry, RenderedRoute};
use super::{World, backends, policies, precedence};

pub fn render(
    world: &World<'_>,
    gateways: &[OurGateway<'_>],
    parents: &[Parent<'_>],
    out: &mut Snapshot,
) {
    let rendered: BTreeMap<ObjectKey, RenderedRoute<'_>> = world
        .routes
        .iter()
        .map(|r| (r.key, rules::render_route(world, r)))
        .collect();

    for (gi, g) in gateways.iter().enumerate() {
        let mut ports: BTreeMap<u16, Vec<usize>> = BTreeMap::new();
        for (li, l) in g.listeners.iter().enumerate() {
            if l.usable() {
                ports.entry(l.rec.port).or_default().push(li);
            }
        }
        for (port, listeners) in ports {
            let mut chains = Vec::new();
            let https = g.listeners[listeners[0]].rec.protocol == Protocol::Https;
            let groups: Vec<(Option<Sym>, Vec<usize>)> = if https {
                listeners
                    .iter()
                    .map(|&li| (Some(g.listeners[li].rec.name), vec![li]))
                    .collect()
            } else {
                vec![(None, listeners.clone())]
            };
            for (section, members) in groups {
                let rc_name = route_config_name(g.rec.key, port, section);
                let names: Vec<Sym> = members.iter().map(|&li| g.listeners[li].rec.name).collect();
                let gateway_policies = policies::gateway_level(world, g.rec.key, &names);
                let mut vhosts = virtual_hosts(
                    &rc_name,
                    gi,
                    &members,
                    parents,
                    &rendered,
                    &gateway_policies,
                );
                listener_port_redirects(&mut vhosts, port, https);
                if https {
                    let own = g.listeners[members[0]].rec.hostname.as_deref();
                    let siblings: Vec<&str> = listeners
                        .iter()
                        .filter_map(|&li| g.listeners[li].rec.hostname.as_deref())
                        .filter(|h| Some(*h) != own)
                        .collect();
                    misdirect(&rc_name, own, &siblings, &mut vhosts);
                }
                emit(
                    out,
                    Resource::from(RouteConfigIr {
                        name: rc_name.clone(),
                        virtual_hosts: vhosts,
                    }),
                );
                let l = &g.listeners[members[0]];
                chains.push(FilterChainIr {
                    name: rc_name.clone(),
                    server_names: match (section, &l.rec.hostname) {
                        (Some(_), Some(h)) => vec![h.clone()],
                        _ => vec![],
                    },
                    tls: l.tls.clone().ok().flatten(),
                    route_config_name: rc_name,
                });
            }
            chains.sort_by(|a, b| (&a.server_names, &a.name).cmp(&(&b.server_names, &b.name)));
            let port_names: Vec<Sym> = listeners
                .iter()
                .map(|&li| g.listeners[li].rec.name)
                .collect();
            let settings = listener_settings(
                port,
                policies::listener_level(world, g.rec.key, &port_names),
            );
            emit(
                out,
                Resource::from(ListenerIr {
                    name: listener_name(g.rec.key, port),
                    address: "0.0.0.0".into(),
                    port,
                    settings: settings.map(Box::new),
                    filter_chains: chains,
                }),
            );
        }
    }

    // Clusters (and endpoints) of every route some usable listener serves.
    let served = |p: &&Parent<'_>| {
        p.outcome.as_ref().is_ok_and(|ls| {
            ls.iter()
                .any(|(li, _)| gateways[p.gateway].listeners[*li].usable())
        })
    };
    for p in parents.iter().filter(served) {
        for t in &rendered[&p.route.key].targets {
            if let Some((svc, port_name)) = &t.endpoints_of {
                emit(
                    out,
                    Resource::from(backends::endpoints(world, &t.cluster.name, *svc, port_name)),
                );
            }
            emit(out, Resource::from(t.cluster.clone()));
        }
    }
}

/// 421 for a request whose Host belongs to another HTTPS listener on the port than the one
/// its SNI chose: an own virtual host is dropped when a sibling's hostname lies strictly within
/// the listener's (or the listener has none) and covers the host; every sibling hostname, in
/// order, answers 421; and a listener with a hostname answers 421 to any other host last.
fn misdirect(rc_name: &str, own: Option<&str>, siblings: &[&str], vhosts: &mut Vec<VirtualHostIr>) {
    let mut siblings: Vec<&str> = siblings.to_vec();
    siblings.sort();
    siblings.dedup();
    if siblings.is_empty() {
        return;
    }
    let more_specific = |s: &str| match own {
        None => true,
        Some(o) => s != o && within(s, o),
    };
    vhosts.retain(|v| {
        !siblings
            .iter()
            .any(|s| within(&v.domains[0], s) && more_specific(s))
    });
    let answer_421 = |host: &str| VirtualHostIr {
        name: format!("{rc_name}/{host}"),
        domains: vec![host.to_string()],
        routes: vec![std::sync::Arc::new(RouteIr {
            name: "misdirected-request".to_string(),
            path: PathMatchIr::Prefix("/".to_string()),
            headers: vec![],
            query: vec![],
            action: ActionIr::Direct {
                status: 421,
                body: None,
            },
            request_headers: HeaderOpsIr::default(),
            response_headers: HeaderOpsIr::default(),
            cors: None,
            filters: Vec::new(),
            stat_prefix: None,
            tracing: None,
        })],
    };
    for s in &siblings {
        vhosts.push(answer_421(s));
    }
    if own.is_some() {
        vhosts.push(answer_421("*"));
    }
}

/// Gateway API: a redirect naming neither scheme nor port goes to the listener's port, left
/// out of `Location` when it is the listener protocol's well-known one (80, 443).
fn listener_port_redirects(vhosts: &mut [VirtualHostIr], port: u16, https: bool) {
    if port == if https { 443 } else { 80 } {
        return;
    }
    for vh in vhosts {
        for r in &mut vh.routes {
            if let ActionIr::Redirect(rd) = &r.action
                && rd.scheme.is_none()
                && rd.port.is_none()
            {
                let mut route = (**r).clone();
                if let ActionIr::Redirect(rd) = &mut route.action {
                    rd.port = Some(port);
                }
                *r = std::sync::Arc::new(route);
            }
        }
    }
}

fn emit(out: &mut Snapshot, r: Resource) {
    out.resources.insert(r.key(), r);
}

/// The virtual hosts of one route configuration: one per hostname any attached route serves
/// on the member listeners, holding those routes' entries in precedence order.
fn virtual_hosts(
    rc_name: &str,
    gateway: usize,
    members: &[usize],
    parents: &[Parent<'_>],
    rendered: &BTreeMap<ObjectKey, RenderedRoute<'_>>,
    gateway_policies: &[(AttachLevel, &PolicyRec)],
) -> Vec<VirtualHostIr> {
    let mut hosts: BTreeMap<String, BTreeMap<String, (&HttpRouteRec, &Entry<'_>)>> =
        BTreeMap::new();
    for p in parents.iter().filter(|p| p.gateway == gateway) {
        let Ok(attached) = &p.outcome else { continue };
        for (_, names) in attached.iter().filter(|(li, _)| members.contains(li)) {
            for h in names {
                let vh = hosts.entry(h.clone()).or_default();
                for e in &rendered[&p.route.key].entries {
                    vh.insert(e.route.name.clone(), (p.route, e));
                }
            }
        }
    }
    hosts
        .into_iter()
        .map(|(host, entries)| {
            let mut entries: Vec<_> = entries.into_values().collect();
            entries.sort_by(|a, b| {
                precedence::compare(
                    (a.0, a.1.rule, a.1.matcher, a.1.m),
                    (b.0, b.1.rule, b.1.matcher, b.1.m),
                )
            });
            VirtualHostIr {
                name: format!("{rc_name}/{host}"),
                domains: vec![host],
                routes: entries
                    .into_iter()
                    .map(|(route, e)| {
                        let mut served = policies::serve(
                            &e.route,
                            e.policies.clone(),
                            gateway_policies.to_vec(),
                        );
                        // kgateway's statPrefix is a route field: route-level policies only.
                        served.stat_prefix = merge_in_order(e.policies.clone()).and_then(|t| {
                            t.stat_prefix_for(&route.key, route.rules[e.rule].name.as_deref())
                        });
                        std::sync::Arc::new(served)
                    })
                    .collect(),
            }
        })
        .collect()
}
