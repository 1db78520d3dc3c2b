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
                        secret: secret.to_string(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::RenderConfig;
    use crate::render::gateways::our_gateways;
    use crate::render::grants::arrange_grants;
    use crate::render::testing::*;

    fn run(
        test: impl FnOnce(&mut Harness<'_, (ObjectKey, CertVerdict), ()>) + Send + Sync + 'static,
    ) {
        run_stage(
            |i| {
                let ours = our_gateways(i.classes, i.gateways, &RenderConfig::default());
                resolve_certificates(ours, i.secrets, &arrange_grants(i.grants))
            },
            test,
        );
    }

    fn gw() -> ObjectKey {
        key("infra", "gw")
    }

    /// Our Gateway `infra/gw`: an HTTP listener, then `listener` at index 1.
    fn with_listener(h: &mut Harness<'_, (ObjectKey, CertVerdict), ()>, listener: ListenerRec) {
        h.upsert(mk_class(CLASS));
        h.upsert(mk_gateway(
            "infra",
            "gw",
            vec![mk_listener("http", 80), listener],
        ));
    }

    fn ok(ns: &str, name: &str) -> (ObjectKey, CertVerdict) {
        (gw(), (1, Ok(mk_tls(ns, name))))
    }

    fn err(reason: &str, message: &str) -> (ObjectKey, CertVerdict) {
        (gw(), (1, Err(failure(reason, message))))
    }

    #[test]
    fn an_https_listener_terminates_with_its_secret() {
        run(|h| {
            with_listener(
                h,
                mk_https_listener("https", 443, None, key("infra", "cert")),
            );
            h.upsert(mk_secret("infra", "cert"));
            // The HTTP listener has no verdict.
            assert_eq!(h.step(), vec![(ok("infra", "cert"), 1)]);

            // Rotating the certificate replaces the verdict.
            let rotated = SecretRec {
                cert_chain: Some("rotated".into()),
                ..mk_secret("infra", "cert")
            };
            h.upsert(&rotated);
            let new = (
                gw(),
                (
                    1,
                    Ok(TlsCertIr {
                        secret: "infra/cert".into(),
                        cert_chain: "rotated".into(),
                        private_key: "key infra/cert".into(),
                    }),
                ),
            );
            assert_eq!(h.step(), changes(vec![(ok("infra", "cert"), -1), (new, 1)]));
        });
    }

    #[test]
    fn a_missing_or_incomplete_secret_is_an_invalid_certificate_ref() {
        run(|h| {
            with_listener(
                h,
                mk_https_listener("https", 443, None, key("infra", "cert")),
            );
            let missing = err(
                "InvalidCertificateRef",
                "Secret infra/cert not found or not a TLS secret",
            );
            assert_eq!(h.step(), vec![(missing.clone(), 1)]);

            h.upsert(mk_secret("infra", "cert"));
            assert_eq!(
                h.step(),
                changes(vec![(missing.clone(), -1), (ok("infra", "cert"), 1)])
            );

            h.upsert(SecretRec {
                private_key: None,
                data: Vec::new(),
                labels: Vec::new(),
                ..mk_secret("infra", "cert")
            });
            assert_eq!(
                h.step(),
                changes(vec![(ok("infra", "cert"), -1), (missing, 1)])
            );
        });
    }

    #[test]
    fn a_cross_namespace_secret_needs_a_grant() {
        run(|h| {
            with_listener(
                h,
                mk_https_listener("https", 443, None, key("certs", "cert")),
            );
            h.upsert(mk_secret("certs", "cert"));
            let denied = err("RefNotPermitted", "Secret certs/cert is not granted");
            assert_eq!(h.step(), vec![(denied.clone(), 1)]);

            let grant = mk_grant(
                "certs",
                "grant",
                (GATEWAY_GROUP, "Gateway", "infra"),
                ("", "Secret", Some("cert")),
            );
            h.upsert(&grant);
            assert_eq!(
                h.step(),
                changes(vec![(denied.clone(), -1), (ok("certs", "cert"), 1)])
            );

            h.delete(&grant);
            assert_eq!(
                h.step(),
                changes(vec![(ok("certs", "cert"), -1), (denied.clone(), 1)])
            );

            // A grant for HTTPRoutes does not cover Gateways.
            h.upsert(mk_grant(
                "certs",
                "grant",
                (GATEWAY_GROUP, "HTTPRoute", "infra"),
                ("", "Secret", None),
            ));
            assert_eq!(h.step(), vec![]);
        });
    }

    #[test]
    fn listener_level_defects_need_no_lookup() {
        run(|h| {
            let https = mk_https_listener("https", 443, None, key("infra", "cert"));
            let tls = https.tls.clone().unwrap();
            let cases = [
                (
                    ListenerRec {
                        tls: None,
                        ..https.clone()
                    },
                    "HTTPS listener without tls",
                ),
                (
                    ListenerRec {
                        tls: Some(ListenerTls {
                            mode: TlsMode::Passthrough,
                            ..tls.clone()
                        }),
                        ..https.clone()
                    },
                    "HTTPS listener must terminate TLS",
                ),
                (
                    ListenerRec {
                        tls: Some(ListenerTls {
                            certificate_refs: vec![],
                            ..tls.clone()
                        }),
                        ..https.clone()
                    },
                    "no certificateRefs",
                ),
                (
                    ListenerRec {
                        tls: Some(ListenerTls {
                            certificate_refs: vec![CertificateRef {
                                group: String::new(),
                                kind: "ConfigMap".into(),
                                key: key("infra", "cert"),
                            }],
                            ..tls
                        }),
                        ..https
                    },
                    "unsupported certificate kind /ConfigMap",
                ),
            ];
            // The Secret exists: these verdicts never look at it.
            h.upsert(mk_secret("infra", "cert"));
            let mut previous = None;
            for (listener, message) in cases {
                with_listener(h, listener);
                let now = err("InvalidCertificateRef", message);
                let mut expected = vec![(now.clone(), 1)];
                if let Some(p) = previous.replace(now) {
                    expected.push((p, -1));
                }
                assert_eq!(h.step(), changes(expected), "{message}");
            }
        });
    }

    #[test]
    fn each_https_listener_has_its_own_verdict() {
        run(|h| {
            h.upsert(mk_class(CLASS));
            h.upsert(mk_gateway(
                "infra",
                "gw",
                vec![
                    mk_https_listener("a", 443, Some("a.example.com"), key("infra", "a")),
                    mk_https_listener("b", 443, Some("b.example.com"), key("infra", "b")),
                ],
            ));
            h.upsert(mk_secret("infra", "a"));
            assert_eq!(
                h.step(),
                changes(vec![
                    ((gw(), (0, Ok(mk_tls("infra", "a")))), 1),
                    (
                        (
                            gw(),
                            (
                                1,
                                Err(failure(
                                    "InvalidCertificateRef",
                                    "Secret infra/b not found or not a TLS secret"
                                ))
                            )
                        ),
                        1
                    ),
                ])
            );
        });
    }
}
