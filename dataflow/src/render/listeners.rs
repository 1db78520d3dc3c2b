//! Envoy Listeners: one per (Gateway, port) with usable listeners. An HTTP port has one filter
//! chain for all its Gateway listeners (virtual hosts tell them apart); an HTTPS port has one
//! chain per Gateway listener, selected by SNI. The ListenerPolicies reaching a port set its
//! listener settings ([`listener_settings`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::policies::GatewayPolicy;
use super::{Col, GatewayView};
use crate::ir::*;
use crate::model::*;

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum Part {
    View(GatewayView),
    Policy(GatewayPolicy),
}

/// Keyed by Gateway: a view or policy edit re-renders that Gateway's listeners only.
pub fn render_listeners<'s>(
    views: Col<'s, (ObjectKey, GatewayView)>,
    policies: Col<'s, (ObjectKey, GatewayPolicy)>,
) -> Col<'s, Arc<ListenerIr>> {
    views
        .map(|(gw, v)| (gw, Part::View(v)))
        .concat(policies.map(|(gw, p)| (gw, Part::Policy(p))))
        .reduce_named("Listeners", |gw, parts, out| {
            let Some(view) = parts.iter().find_map(|(p, _)| match p {
                Part::View(v) => Some(v),
                Part::Policy(_) => None,
            }) else {
                return;
            };
            let policies: Vec<&GatewayPolicy> = parts
                .iter()
                .filter_map(|(p, _)| match p {
                    Part::Policy(p) => Some(p),
                    Part::View(_) => None,
                })
                .collect();
            for l in gateway_listeners(*gw, view, &policies) {
                out.push((Arc::new(l), 1));
            }
        })
        .map(|(_, l)| l)
}

fn gateway_listeners(
    gw: ObjectKey,
    view: &GatewayView,
    policies: &[&GatewayPolicy],
) -> Vec<ListenerIr> {
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
            // A policy naming a listener reaches the whole port it is on.
            let reaching = policies
                .iter()
                .filter(|p| match &p.listener {
                    None => true,
                    Some(name) => members
                        .iter()
                        .any(|&i| view.rec.listeners[i].name.as_str() == name.as_str()),
                })
                .map(|p| (p.level(), &*p.policy))
                .collect();
            ListenerIr {
                name: listener_name(gw, port),
                address: "0.0.0.0".into(),
                port,
                settings: listener_settings(port, reaching).map(Box::new),
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
                let policies = crate::render::policies::listener_policies(i.policies);
                render_listeners(views, policies).map(Arc::unwrap_or_clone)
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
            settings: None,
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

    fn policy(yaml: &str) -> PolicyRec {
        let value: serde_json::Value = serde_yaml_ng::from_str(yaml).expect("valid YAML");
        let object = sluice_crds::Object::from_value(value).unwrap().unwrap();
        match crate::lower::lower(&object) {
            crate::lower::Lowered::Record(crate::input::Record::Policy(p)) => {
                Arc::unwrap_or_clone(p)
            }
            other => panic!("not a policy: {other:?}"),
        }
    }

    fn with(l: ListenerIr, f: impl FnOnce(&mut ListenerSettingsIr)) -> ListenerIr {
        let mut s = ListenerSettingsIr::default();
        f(&mut s);
        ListenerIr {
            settings: Some(Box::new(s)),
            ..l
        }
    }

    #[test]
    fn listener_policies_merge_field_wise_and_per_port_entries_replace_the_default() {
        run(|h| {
            setup(h, vec![mk_listener("http", 80), mk_listener("alt", 8080)]);
            let older = policy(
                "apiVersion: gateway.kgateway.dev/v1alpha1\nkind: ListenerPolicy\n\
                 metadata: {name: a, namespace: infra, creationTimestamp: '2025-01-01T00:00:00Z'}\n\
                 spec:\n  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gw}]\n\
                 \x20 default: {proxyProtocol: {}, httpSettings: {serverName: a}}\n\
                 \x20 perPort: [{port: 8080, listener: {perConnectionBufferLimitBytes: 65536}}]\n",
            );
            let newer = policy(
                "apiVersion: gateway.kgateway.dev/v1alpha1\nkind: ListenerPolicy\n\
                 metadata: {name: b, namespace: infra, creationTimestamp: '2025-06-01T00:00:00Z'}\n\
                 spec:\n  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gw}]\n\
                 \x20 default: {perConnectionBufferLimitBytes: 8192, httpSettings: {serverName: b}}\n\
                 \x20 perPort: [{port: 8080, listener: {proxyProtocol: {}}}]\n",
            );
            let old_http = policy(
                "apiVersion: gateway.kgateway.dev/v1alpha1\nkind: HTTPListenerPolicy\n\
                 metadata: {name: c, namespace: infra}\n\
                 spec:\n  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gw}]\n\
                 \x20 serverName: c\n  healthCheck: {path: /healthz}\n",
            );
            h.upsert(older.clone());
            h.upsert(newer);
            h.upsert(old_http.clone());
            let l80 = with(listener(80, vec![http_chain(80)]), |s| {
                s.proxy_protocol = Some(ProxyProtocolIr::default());
                s.buffer_limit_bytes = Some(8192);
                s.http.server_name = Some("a".into());
                s.http.health_check_path = Some("/healthz".into());
            });
            // Port 8080: the two per-port entries merged; nothing from any default.
            let l8080 = with(listener(8080, vec![http_chain(8080)]), |s| {
                s.proxy_protocol = Some(ProxyProtocolIr::default());
                s.buffer_limit_bytes = Some(65536);
            });
            assert_eq!(
                h.step(),
                changes(vec![(l80.clone(), 1), (l8080.clone(), 1)])
            );

            // A policy naming a listener outranks the Gateway-wide ones on its port only.
            let section = policy(
                "apiVersion: gateway.kgateway.dev/v1alpha1\nkind: ListenerPolicy\n\
                 metadata: {name: d, namespace: infra, creationTimestamp: '2026-01-01T00:00:00Z'}\n\
                 spec:\n  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gw, sectionName: http}]\n\
                 \x20 default: {httpSettings: {serverName: d}}\n",
            );
            h.upsert(section.clone());
            let l80d = with(listener(80, vec![http_chain(80)]), |s| {
                *s = *l80.settings.clone().unwrap();
                s.http.server_name = Some("d".into());
            });
            assert_eq!(
                h.step(),
                changes(vec![(l80.clone(), -1), (l80d.clone(), 1)])
            );

            // Deleting the older policy: its fields fall to the next writer.
            h.delete(older);
            h.delete(section);
            h.delete(old_http);
            let l80b = with(listener(80, vec![http_chain(80)]), |s| {
                s.buffer_limit_bytes = Some(8192);
                s.http.server_name = Some("b".into());
            });
            let l8080b = with(listener(8080, vec![http_chain(8080)]), |s| {
                s.proxy_protocol = Some(ProxyProtocolIr::default());
            });
            assert_eq!(
                h.step(),
                changes(vec![(l80d, -1), (l8080, -1), (l80b, 1), (l8080b, 1)])
            );
        });
    }
}
