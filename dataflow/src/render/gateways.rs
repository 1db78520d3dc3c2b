//! Our Gateways (class names our controller) and their listener verdicts.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{Col, Failure, RenderConfig};
use crate::ir::TlsCertIr;
use crate::model::*;

/// A Gateway of ours with, per listener (same order), the certificate it terminates TLS with
/// (`Ok(None)` for plain HTTP) or why it cannot.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct GatewayView {
    pub rec: Arc<GatewayRec>,
    pub tls: Vec<Result<Option<TlsCertIr>, Failure>>,
}

impl GatewayView {
    /// Routes attach to a listener `lower` found no problem with (a conflicted one is not
    /// accepted for processing), whatever its certificate.
    pub fn attachable(&self, i: usize) -> bool {
        self.rec.listeners[i].problem.is_none()
    }

    /// Usable (Programmed) listeners also resolve their certificate: only they produce
    /// resources.
    pub fn usable(&self, i: usize) -> bool {
        self.attachable(i) && self.tls[i].is_ok()
    }
}

pub fn our_gateways<'s>(
    classes: Col<'s, Arc<GatewayClassRec>>,
    gateways: Col<'s, Arc<GatewayRec>>,
    config: &RenderConfig,
) -> Col<'s, (ObjectKey, Arc<GatewayRec>)> {
    let controller = config.controller_name.clone();
    let ours = classes
        .filter(move |c| c.controller.as_str() == controller)
        .map(|c| (c.name, ()));
    gateways
        .map(|g| (g.class, g))
        .join_map(ours, |_, g, _| (g.key, g.clone()))
}

/// Joins each Gateway with its listeners' certificate verdicts (`certs`: gateway → listener
/// index → verdict, present for every HTTPS listener).
pub fn gateway_views<'s>(
    ours: Col<'s, (ObjectKey, Arc<GatewayRec>)>,
    certs: Col<'s, (ObjectKey, super::certificates::CertVerdict)>,
) -> Col<'s, (ObjectKey, GatewayView)> {
    #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
    enum Part {
        Gateway(Arc<GatewayRec>),
        Cert(usize, Result<TlsCertIr, Failure>),
    }
    ours.map(|(k, g)| (k, Part::Gateway(g)))
        .concat(certs.map(|(k, (i, c))| (k, Part::Cert(i, c))))
        .reduce_named("GatewayViews", |_, parts, out| {
            let mut rec = None;
            let mut certs = BTreeMap::new();
            for (p, _) in parts {
                match p {
                    Part::Gateway(g) => rec = Some(g.clone()),
                    Part::Cert(i, c) => {
                        certs.insert(*i, c.clone());
                    }
                }
            }
            let Some(rec) = rec else { return };
            let tls = (0..rec.listeners.len())
                .map(|i| match certs.remove(&i) {
                    Some(c) => c.map(Some),
                    None => Ok(None),
                })
                .collect();
            out.push((GatewayView { rec, tls }, 1));
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::grants::arrange_grants;
    use crate::render::testing::*;

    fn run_ours(
        test: impl FnOnce(&mut Harness<'_, (ObjectKey, Arc<GatewayRec>), ()>) + Send + Sync + 'static,
    ) {
        run_stage(
            |i| our_gateways(i.classes, i.gateways, &RenderConfig::default()),
            test,
        );
    }

    fn run_views(
        test: impl FnOnce(&mut Harness<'_, (ObjectKey, GatewayView), ()>) + Send + Sync + 'static,
    ) {
        run_stage(
            |i| views(i.classes, i.gateways, i.secrets, &arrange_grants(i.grants)),
            test,
        );
    }

    fn ours(g: &GatewayRec) -> (ObjectKey, Arc<GatewayRec>) {
        (g.key, Arc::new(g.clone()))
    }

    #[test]
    fn a_gateway_of_our_class_is_ours() {
        run_ours(|h| {
            let gw = mk_gateway("infra", "gw", vec![mk_listener("http", 80)]);
            h.upsert(mk_class(CLASS));
            h.upsert(&gw);
            assert_eq!(h.step(), vec![(ours(&gw), 1)]);

            // An edit replaces the record; deletion retracts it.
            let edited = GatewayRec {
                generation: 2,
                ..gw.clone()
            };
            h.upsert(&edited);
            assert_eq!(h.step(), changes(vec![(ours(&gw), -1), (ours(&edited), 1)]));
            h.delete(&edited);
            assert_eq!(h.step(), vec![(ours(&edited), -1)]);
        });
    }

    #[test]
    fn the_class_decides_and_may_arrive_or_change_controller_later() {
        run_ours(|h| {
            let gw = mk_gateway("infra", "gw", vec![mk_listener("http", 80)]);
            let theirs = GatewayClassRec {
                controller: sym("example.com/other"),
                ..mk_class(CLASS)
            };
            h.upsert(&gw);
            assert_eq!(h.step(), vec![]);

            h.upsert(&theirs);
            assert_eq!(h.step(), vec![]);

            h.upsert(mk_class(CLASS));
            assert_eq!(h.step(), vec![(ours(&gw), 1)]);

            // A Gateway of another class is not ours.
            h.upsert(GatewayRec {
                key: key("infra", "other"),
                class: sym("not-ours"),
                ..gw.clone()
            });
            assert_eq!(h.step(), vec![]);

            h.delete(mk_class(CLASS));
            assert_eq!(h.step(), vec![(ours(&gw), -1)]);
        });
    }

    #[test]
    fn views_pair_each_listener_with_its_certificate_verdict() {
        run_views(|h| {
            let gw = mk_gateway(
                "infra",
                "gw",
                vec![
                    mk_listener("http", 80),
                    mk_https_listener("https", 443, None, key("infra", "cert")),
                ],
            );
            h.upsert(mk_class(CLASS));
            h.upsert(&gw);
            h.upsert(mk_secret("infra", "cert"));
            let view = |tls| {
                (
                    gw.key,
                    GatewayView {
                        rec: Arc::new(gw.clone()),
                        tls: vec![Ok(None), tls],
                    },
                )
            };
            let ok = view(Ok(Some(mk_tls("infra", "cert"))));
            assert_eq!(h.step(), vec![(ok.clone(), 1)]);
            assert!(ok.1.usable(0) && ok.1.usable(1));

            h.delete(mk_secret("infra", "cert"));
            let missing = view(Err(failure(
                "InvalidCertificateRef",
                "Secret infra/cert not found or not a TLS secret",
            )));
            assert_eq!(h.step(), changes(vec![(ok, -1), (missing.clone(), 1)]));
            assert!(missing.1.usable(0) && !missing.1.usable(1));
            // Routes still attach to it.
            assert!(missing.1.attachable(1));
        });
    }

    #[test]
    fn a_listener_problem_makes_it_unusable_whatever_its_certificate() {
        run_views(|h| {
            let gw = mk_gateway(
                "infra",
                "gw",
                vec![ListenerRec {
                    problem: Some(ListenerProblem::Conflicted("HostnameConflict".into())),
                    ..mk_listener("http", 80)
                }],
            );
            h.upsert(mk_class(CLASS));
            h.upsert(&gw);
            let view = GatewayView {
                rec: Arc::new(gw.clone()),
                tls: vec![Ok(None)],
            };
            assert!(!view.usable(0) && !view.attachable(0));
            assert_eq!(h.step(), vec![((gw.key, view), 1)]);
        });
    }
}
