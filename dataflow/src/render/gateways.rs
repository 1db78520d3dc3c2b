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
    /// Usable listeners carry routes and produce resources; the others only status.
    pub fn usable(&self, i: usize) -> bool {
        self.rec.listeners[i].problem.is_none() && self.tls[i].is_ok()
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
