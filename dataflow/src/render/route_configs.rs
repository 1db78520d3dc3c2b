//! RouteConfigurations: a reduce keyed by the route configuration over the routes attached to
//! its listeners, so a route edit re-renders only the configurations it lands in.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::attach::Attachment;
use super::routes::EntryIr;
use super::{Col, GatewayView, RenderedRoute};
use crate::ir::*;
use crate::model::*;

/// A route configuration: an HTTP port's (`section` None) or an HTTPS listener's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RouteConfigKey {
    pub gateway: ObjectKey,
    pub port: u16,
    pub section: Option<Sym>,
}

impl RouteConfigKey {
    fn of(gateway: ObjectKey, port: u16, https: bool, name: Sym) -> Self {
        RouteConfigKey {
            gateway,
            port,
            section: https.then_some(name),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum Part {
    Exists,
    /// A route serving `host` here.
    Member(String, ObjectKey, Arc<RenderedRoute>),
}

pub fn render_route_configs<'s>(
    views: Col<'s, (ObjectKey, GatewayView)>,
    attachments: Col<'s, Attachment>,
    rendered: Col<'s, (ObjectKey, Arc<RenderedRoute>)>,
) -> Col<'s, RouteConfigIr> {
    let exists = views
        .flat_map(|(gw, v)| {
            (0..v.rec.listeners.len())
                .filter(|&i| v.usable(i))
                .map(|i| {
                    let l = &v.rec.listeners[i];
                    RouteConfigKey::of(gw, l.port, l.protocol == Protocol::Https, l.name)
                })
                .collect::<Vec<_>>()
        })
        .distinct()
        .map(|k| (k, Part::Exists));
    let members = attachments
        .flat_map(|a| {
            let gw = a.parent.gateway;
            let route = a.route.key;
            a.outcome.into_iter().flatten().flat_map(move |l| {
                let rc = RouteConfigKey::of(gw, l.port, l.https, l.name);
                l.hosts.into_iter().map(move |h| (route, (rc, h)))
            })
        })
        .distinct()
        .join_map(rendered, |route, (rc, host), r| {
            (*rc, Part::Member(host.clone(), *route, r.clone()))
        });

    exists
        .concat(members)
        .reduce_named("RenderRouteConfigs", |rc, parts, out| {
            if !parts.iter().any(|(p, _)| matches!(p, Part::Exists)) {
                return;
            }
            let name = route_config_name(rc.gateway, rc.port, rc.section);
            let mut hosts: BTreeMap<&str, Vec<&EntryIr>> = BTreeMap::new();
            for (p, _) in parts {
                if let Part::Member(host, _, r) = p {
                    hosts
                        .entry(host.as_str())
                        .or_default()
                        .extend(r.entries.iter());
                }
            }
            let virtual_hosts = hosts
                .into_iter()
                .map(|(host, mut entries)| {
                    entries.sort_by(|a, b| a.precedence.cmp(&b.precedence));
                    VirtualHostIr {
                        name: format!("{name}/{host}"),
                        domains: vec![host.to_string()],
                        routes: entries.into_iter().map(|e| e.route.clone()).collect(),
                    }
                })
                .collect();
            out.push((
                RouteConfigIr {
                    name,
                    virtual_hosts,
                },
                1,
            ));
        })
        .map(|(_, rc)| rc)
}
