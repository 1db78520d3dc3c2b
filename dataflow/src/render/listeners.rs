//! Envoy Listeners: one per (Gateway, port) with usable listeners. An HTTP port has one filter
//! chain for all its Gateway listeners (virtual hosts tell them apart); an HTTPS port has one
//! chain per Gateway listener, selected by SNI.

use std::collections::BTreeMap;

use super::{Col, GatewayView};
use crate::ir::*;
use crate::model::*;

pub fn render_listeners<'s>(views: Col<'s, (ObjectKey, GatewayView)>) -> Col<'s, ListenerIr> {
    views.flat_map(|(gw, view)| gateway_listeners(gw, &view))
}

fn gateway_listeners(gw: ObjectKey, view: &GatewayView) -> Vec<ListenerIr> {
    let mut ports: BTreeMap<u16, Vec<usize>> = BTreeMap::new();
    for i in (0..view.rec.listeners.len()).filter(|&i| view.usable(i)) {
        ports.entry(view.rec.listeners[i].port).or_default().push(i);
    }
    ports
        .into_iter()
        .map(|(port, members)| {
            let first = &view.rec.listeners[members[0]];
            let mut filter_chains: Vec<FilterChainIr> = if first.protocol == Protocol::Https {
                members
                    .iter()
                    .map(|&i| {
                        let l = &view.rec.listeners[i];
                        let rc = route_config_name(gw, port, Some(l.name));
                        FilterChainIr {
                            name: rc.clone(),
                            server_names: l.hostname.iter().cloned().collect(),
                            tls: view.tls[i].clone().ok().flatten(),
                            route_config_name: rc,
                        }
                    })
                    .collect()
            } else {
                let rc = route_config_name(gw, port, None);
                vec![FilterChainIr {
                    name: rc.clone(),
                    server_names: vec![],
                    tls: None,
                    route_config_name: rc,
                }]
            };
            filter_chains
                .sort_by(|a, b| (&a.server_names, &a.name).cmp(&(&b.server_names, &b.name)));
            ListenerIr {
                name: listener_name(gw, port),
                address: "0.0.0.0".into(),
                port,
                filter_chains,
            }
        })
        .collect()
}
