//! A listener's TLS certificates as SDS `Secret`s: the Listener names them
//! (`tls_certificate_sds_secret_configs`), the Secret carries the key, so no private key
//! travels inside a Listener and a rotated Kubernetes Secret re-sends only the Secret.

use std::collections::BTreeMap;

use envoy_types::pb::envoy::config::core::v3::{DataSource, data_source};
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::{
    Secret, TlsCertificate, secret,
};
use sluice_dataflow::ir::{ListenerIr, TlsCertIr};

/// The certificates `listener`'s chains terminate with, by SDS name.
pub fn listener_secrets(listener: &ListenerIr) -> BTreeMap<&str, &TlsCertIr> {
    listener
        .filter_chains
        .iter()
        .filter_map(|c| c.tls.as_ref())
        .map(|t| (t.secret.as_str(), t))
        .collect()
}

/// The SDS Secret of one certificate.
pub fn to_envoy_secret(tls: &TlsCertIr) -> Secret {
    let inline = |s: &str| DataSource {
        specifier: Some(data_source::Specifier::InlineString(s.to_string())),
        ..Default::default()
    };
    Secret {
        name: tls.secret.clone(),
        r#type: Some(secret::Type::TlsCertificate(TlsCertificate {
            certificate_chain: Some(inline(&tls.cert_chain)),
            private_key: Some(inline(&tls.private_key)),
            ..Default::default()
        })),
    }
}
