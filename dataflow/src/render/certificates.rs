//! The certificate each HTTPS listener terminates TLS with: its first certificateRef, a core
//! Secret with both PEM parts, in the Gateway's namespace or granted to it.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::grants::{GrantQuery, GrantsByNamespaces, check_grants};
use super::{Col, Failure};
use crate::ir::TlsCertIr;
use crate::model::*;

/// A listener (by index) and the certificate it terminates with, or why it cannot.
pub type CertVerdict = (usize, Result<TlsCertIr, Failure>);

/// `(gateway, verdict)` for every HTTPS listener of our Gateways.
pub fn resolve_certificates<'s>(
    ours: Col<'s, (ObjectKey, Arc<GatewayRec>)>,
    secrets: Col<'s, Arc<SecretRec>>,
    grants: &GrantsByNamespaces<'s>,
) -> Col<'s, (ObjectKey, CertVerdict)> {
    #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
    enum Step {
        Verdict(usize, Result<TlsCertIr, Failure>),
        /// Look the Secret up for listener `usize`.
        Lookup(ObjectKey, usize),
    }
    let steps = ours.flat_map(|(gw, g)| {
        g.listeners
            .iter()
            .enumerate()
            .filter(|(_, l)| l.protocol == Protocol::Https)
            .map(|(i, l)| {
                (
                    gw,
                    precheck(l).map_or_else(|f| Step::Verdict(i, Err(f)), |k| Step::Lookup(k, i)),
                )
            })
            .collect::<Vec<_>>()
    });
    let immediate = steps.clone().flat_map(|(gw, s)| match s {
        Step::Verdict(i, v) => Some((gw, (i, v))),
        Step::Lookup(..) => None,
    });
    let lookups = steps.flat_map(|(gw, s)| match s {
        Step::Lookup(secret, i) => Some((secret, (gw, i))),
        Step::Verdict(..) => None,
    });
    let granted = check_grants(
        lookups
            .clone()
            .filter(|(secret, (gw, _))| secret.ns != gw.ns)
            .map(|(secret, (gw, i))| {
                let q = GrantQuery {
                    from_group: GATEWAY_GROUP.into(),
                    from_kind: "Gateway".into(),
                    from_ns: gw.ns,
                    to_group: String::new(),
                    to_kind: "Secret".into(),
                    to: secret,
                };
                (q, (secret, gw, i))
            }),
        grants,
    );

    #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
    enum Part {
        Secret(Arc<SecretRec>),
        Granted(ObjectKey, usize),
        Want(ObjectKey, usize),
    }
    let looked_up = secrets
        .map(|s| (s.key, Part::Secret(s)))
        .concat(granted.map(|((secret, gw, i), _)| (secret, Part::Granted(gw, i))))
        .concat(lookups.map(|(secret, (gw, i))| (secret, Part::Want(gw, i))))
        .reduce_named("ResolveCertificates", |secret, parts, out| {
            let rec = parts.iter().find_map(|(p, _)| match p {
                Part::Secret(s) => Some(s),
                _ => None,
            });
            let pair = rec.and_then(|s| s.tls_pair());
            for (p, _) in parts {
                let Part::Want(gw, i) = p else { continue };
                let granted =
                    gw.ns == secret.ns || parts.iter().any(|(q, _)| *q == &Part::Granted(*gw, *i));
                let verdict = if !granted {
                    Err((
                        "RefNotPermitted".to_string(),
                        format!("Secret {secret} is not granted"),
                    ))
                } else if let Some((cert, key)) = pair {
                    Ok(TlsCertIr {
                        cert_chain: cert.to_string(),
                        private_key: key.to_string(),
                    })
                } else {
                    Err((
                        "InvalidCertificateRef".to_string(),
                        format!("Secret {secret} not found or not a TLS secret"),
                    ))
                };
                out.push(((*gw, *i, verdict), 1));
            }
        })
        .map(|(_, (gw, i, v))| (gw, (i, v)));
    immediate.concat(looked_up)
}

/// Checks that need only the listener; `Ok` is the Secret to look up.
fn precheck(l: &ListenerRec) -> Result<ObjectKey, Failure> {
    let invalid = |m: &str| Err(("InvalidCertificateRef".to_string(), m.to_string()));
    let Some(tls) = &l.tls else {
        return invalid("HTTPS listener without tls");
    };
    if tls.mode != TlsMode::Terminate {
        return invalid("HTTPS listener must terminate TLS");
    }
    let Some(cref) = tls.certificate_refs.first() else {
        return invalid("no certificateRefs");
    };
    if !(cref.group.is_empty() && cref.kind == "Secret") {
        return Err((
            "InvalidCertificateRef".to_string(),
            format!("unsupported certificate kind {}/{}", cref.group, cref.kind),
        ));
    }
    Ok(cref.key)
}
