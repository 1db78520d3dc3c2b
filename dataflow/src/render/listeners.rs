//! Envoy Listeners: one per (Gateway, port) with usable listeners. An HTTP port has one filter
//! chain for all its Gateway listeners (virtual hosts tell them apart); an HTTPS port has one
//! chain per Gateway listener, selected by SNI.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{Col, GatewayView};
use crate::ir::*;
use crate::model::*;

pub fn render_listeners<'s>(views: Col<'s, (ObjectKey, GatewayView)>) -> Col<'s, Arc<ListenerIr>> {
    views.flat_map(|(gw, view)| gateway_listeners(gw, &view).into_iter().map(Arc::new))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::grants::arrange_grants;
    use crate::render::testing::*;

    type H<'w> = Harness<'w, ListenerIr, ()>;

    fn run(test: impl FnOnce(&mut H<'_>) + Send + Sync + 'static) {
        run_stage(
            |i| {
                let views = views(i.classes, i.gateways, i.secrets, &arrange_grants(i.grants));
                render_listeners(views).map(Arc::unwrap_or_clone)
            },
            test,
        );
    }

    fn setup(h: &mut H<'_>, listeners: Vec<ListenerRec>) {
        h.upsert(mk_class(CLASS));
        h.upsert(mk_gateway("infra", "gw", listeners));
    }

    fn listener(port: u16, filter_chains: Vec<FilterChainIr>) -> ListenerIr {
        ListenerIr {
            name: format!("infra/gw/{port}"),
            address: "0.0.0.0".into(),
            port,
            filter_chains,
        }
    }

    fn http_chain(port: u16) -> FilterChainIr {
        let rc = format!("infra/gw/{port}");
        FilterChainIr {
            name: rc.clone(),
            server_names: vec![],
            tls: None,
            route_config_name: rc,
        }
    }

    fn sni_chain(port: u16, listener: &str, host: Option<&str>, secret: &str) -> FilterChainIr {
        let rc = format!("infra/gw/{port}/{listener}");
        FilterChainIr {
            name: rc.clone(),
            server_names: host.iter().map(|h| h.to_string()).collect(),
            tls: Some(mk_tls("infra", secret)),
            route_config_name: rc,
        }
    }

    #[test]
    fn one_listener_per_port_and_one_chain_per_http_port() {
        run(|h| {
            let host = |name: &str, port, host: &str| ListenerRec {
                hostname: Some(host.into()),
                ..mk_listener(name, port)
            };
            setup(
                h,
                vec![
                    host("a", 80, "a.example.com"),
                    host("b", 80, "b.example.com"),
                    mk_listener("alt", 8080),
                ],
            );
            assert_eq!(
                h.step(),
                changes(vec![
                    (listener(80, vec![http_chain(80)]), 1),
                    (listener(8080, vec![http_chain(8080)]), 1),
                ])
            );

            // A hostname edit does not change an HTTP port's Listener; a port edit does.
            setup(
                h,
                vec![
                    host("a", 80, "c.example.com"),
                    host("b", 80, "b.example.com"),
                    mk_listener("alt", 8081),
                ],
            );
            assert_eq!(
                h.step(),
                changes(vec![
                    (listener(8080, vec![http_chain(8080)]), -1),
                    (listener(8081, vec![http_chain(8081)]), 1),
                ])
            );
        });
    }

    #[test]
    fn an_https_port_has_a_chain_per_sni_name() {
        run(|h| {
            setup(
                h,
                vec![
                    mk_https_listener("b", 443, Some("b.example.com"), key("infra", "b")),
                    mk_https_listener("a", 443, Some("a.example.com"), key("infra", "a")),
                    mk_https_listener("any", 443, None, key("infra", "a")),
                ],
            );
            h.upsert(mk_secret("infra", "a"));
            h.upsert(mk_secret("infra", "b"));
            let all = listener(
                443,
                vec![
                    sni_chain(443, "any", None, "a"),
                    sni_chain(443, "a", Some("a.example.com"), "a"),
                    sni_chain(443, "b", Some("b.example.com"), "b"),
                ],
            );
            assert_eq!(h.step(), vec![(all.clone(), 1)]);

            // A listener losing its certificate loses its chain; getting it back restores it.
            h.delete(mk_secret("infra", "b"));
            let without_b = listener(
                443,
                vec![
                    sni_chain(443, "any", None, "a"),
                    sni_chain(443, "a", Some("a.example.com"), "a"),
                ],
            );
            assert_eq!(
                h.step(),
                changes(vec![(all.clone(), -1), (without_b.clone(), 1)])
            );
            h.upsert(mk_secret("infra", "b"));
            assert_eq!(h.step(), changes(vec![(without_b, -1), (all.clone(), 1)]));

            // No usable listener left on the port: no Listener.
            h.delete(mk_secret("infra", "a"));
            h.delete(mk_secret("infra", "b"));
            assert_eq!(h.step(), vec![(all, -1)]);
        });
    }

    #[test]
    fn conflicted_listeners_make_no_listener() {
        run(|h| {
            setup(
                h,
                vec![
                    ListenerRec {
                        problem: Some(ListenerProblem::Conflicted("ProtocolConflict".into())),
                        ..mk_listener("a", 80)
                    },
                    ListenerRec {
                        protocol: Protocol::Tcp,
                        problem: Some(ListenerProblem::UnsupportedProtocol),
                        ..mk_listener("tcp", 9000)
                    },
                    mk_listener("ok", 8080),
                ],
            );
            assert_eq!(h.step(), vec![(listener(8080, vec![http_chain(8080)]), 1)]);
        });
    }
}
