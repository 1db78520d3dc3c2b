//! `sluice bootstrap`: an Envoy bootstrap for one Gateway's proxy, carrying a client
//! certificate for that Gateway from sluice's CA (unless `--insecure-xds`).

use std::process::ExitCode;
use std::time::SystemTime;

use anyhow::Context;
use sluice_emit::bootstrap::{AdsBootstrap, XdsTls, ads_bootstrap_proto};
use sluice_emit::cache::GatewayId;

use crate::cli::TrustArgs;

pub fn run(
    gateway: &str,
    xds: &str,
    delta: bool,
    admin_port: u16,
    node_id: Option<String>,
    bind_address: Option<std::net::IpAddr>,
    trust: &TrustArgs,
) -> anyhow::Result<ExitCode> {
    let (ns, name) = gateway
        .split_once('/')
        .context("--gateway must be namespace/name")?;
    anyhow::ensure!(
        is_dns_label(ns) && name.split('.').all(is_subdomain_part) && name.len() <= 253,
        "--gateway must be namespace/name (a DNS label and a DNS subdomain)"
    );
    let (host, port) = xds.rsplit_once(':').context("--xds must be host:port")?;
    let port: u16 = port.parse().context("--xds port")?;
    let node_id = node_id.unwrap_or_else(|| format!("envoy~{ns}~{name}"));
    let bind_address = bind_address.map(|ip| ip.to_string());
    let tls = if trust.insecure_xds {
        None
    } else {
        let authority = super::trust::authority(trust)?;
        let client = authority
            .gateway_certificate(&GatewayId::new(ns, name), SystemTime::now())
            .context("issuing the proxy's client certificate")?;
        Some(XdsTls {
            trusted_ca_pem: authority.trust_bundle(),
            client,
        })
    };
    let doc = ads_bootstrap_proto(&AdsBootstrap {
        node_id: &node_id,
        node_cluster: &format!("{ns}/{name}"),
        gateway: (ns, name),
        xds_host: host,
        xds_port: port,
        delta,
        admin_port,
        bind_address: bind_address.as_deref(),
        tls: tls.as_ref(),
    });
    let json = sluice_emit::json::message_json(&doc).context("rendering the bootstrap")?;
    println!("{}", serde_json::to_string_pretty(&json)?);
    Ok(ExitCode::SUCCESS)
}

fn is_dns_label(s: &str) -> bool {
    s.len() <= 63 && is_subdomain_part(s)
}

/// A dot-separated part of an object name: Kubernetes checks a DNS-1123 subdomain's pattern
/// and its total length only, so a Gateway may be named with an 81-character single part.
fn is_subdomain_part(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gateway_names_are_checked_as_kubernetes_checks_them() {
        let long =
            "very-long-gateway-name-for-testing-80-char-limit-exactly-this-many-chars-aaa-one";
        assert!(long.len() > 63);
        assert!(is_subdomain_part(long));
        assert!(
            !is_dns_label(long),
            "a namespace is a DNS label: at most 63"
        );
        for bad in ["", "-a", "a-", "A", "a_b"] {
            assert!(!is_subdomain_part(bad), "{bad:?}");
        }
    }
}
