//! Which Gateways are ours, and which of their listeners can carry routes.

use sluice_dataflow::ir::TlsCertIr;
use sluice_dataflow::model::*;

use super::{Config, Failure, World};

/// A Gateway of one of our classes, with the verdict on each listener.
#[derive(Debug)]
pub struct OurGateway<'a> {
    pub rec: &'a GatewayRec,
    /// In listener order.
    pub listeners: Vec<ListenerVerdict<'a>>,
}

#[derive(Debug)]
pub struct ListenerVerdict<'a> {
    pub rec: &'a ListenerRec,
    /// `Err((reason, message))` of `ResolvedRefs=False` for an unusable certificate.
    pub tls: Result<Option<TlsCertIr>, Failure>,
}

impl ListenerVerdict<'_> {
    /// Routes attach to listeners without a problem (conflicted ones are not accepted for
    /// processing), whatever their certificate.
    pub fn attachable(&self) -> bool {
        self.rec.problem.is_none()
    }

    /// Usable listeners also have their certificate: they get resources, the rest only status.
    pub fn usable(&self) -> bool {
        self.attachable() && self.tls.is_ok()
    }
}

pub fn ours<'a>(world: &World<'a>, config: &Config) -> Vec<OurGateway<'a>> {
    world
        .gateways
        .iter()
        .filter(|g| {
            world
                .classes
                .iter()
                .any(|c| c.name == g.class && c.controller.as_str() == config.controller_name)
        })
        .map(|g| OurGateway {
            rec: g,
            listeners: g
                .listeners
                .iter()
                .map(|l| ListenerVerdict {
                    rec: l,
                    tls: certificate(world, g.key, l),
                })
                .collect(),
        })
        .collect()
}

/// The certificate an HTTPS listener terminates with: its first certificateRef, which must be a
/// core Secret holding both PEM parts, in the Gateway's namespace or granted to it.
fn certificate(
    world: &World<'_>,
    gateway: ObjectKey,
    listener: &ListenerRec,
) -> Result<Option<TlsCertIr>, Failure> {
    if listener.protocol != Protocol::Https {
        return Ok(None);
    }
    let invalid = |m: String| Err(("InvalidCertificateRef", m));
    let Some(tls) = &listener.tls else {
        return invalid("HTTPS listener without tls".into());
    };
    if tls.mode != TlsMode::Terminate {
        return invalid("HTTPS listener must terminate TLS".into());
    }
    let Some(cref) = tls.certificate_refs.first() else {
        return invalid("no certificateRefs".into());
    };
    if !(cref.group.is_empty() && cref.kind == "Secret") {
        return invalid(format!(
            "unsupported certificate kind {}/{}",
            cref.group, cref.kind
        ));
    }
    if !world.granted(
        (GATEWAY_GROUP, "Gateway", gateway.ns),
        ("", "Secret", cref.key),
    ) {
        return Err((
            "RefNotPermitted",
            format!("Secret {} is not granted", cref.key),
        ));
    }
    match world
        .secrets
        .iter()
        .find(|s| s.key == cref.key)
        .and_then(|s| s.tls_pair())
    {
        Some((cert, key)) => Ok(Some(TlsCertIr {
            secret: cref.key.to_string(),
            cert_chain: cert.to_string(),
            private_key: key.to_string(),
        })),
        None => invalid(format!("Secret {} not found or not a TLS secret", cref.key)),
    }
}
