//! `sluice bootstrap`: an Envoy bootstrap for one Gateway's proxy.

use std::process::ExitCode;

use anyhow::Context;

pub fn run(
    gateway: &str,
    xds: &str,
    delta: bool,
    admin_port: u16,
    node_id: Option<String>,
    bind_address: Option<std::net::IpAddr>,
) -> anyhow::Result<ExitCode> {
    let (ns, name) = gateway
        .split_once('/')
        .context("--gateway must be namespace/name")?;
    anyhow::ensure!(
        !ns.is_empty() && !name.is_empty() && !name.contains('/'),
        "--gateway must be namespace/name"
    );
    let (host, port) = xds.rsplit_once(':').context("--xds must be host:port")?;
    let port: u16 = port.parse().context("--xds port")?;
    let node_id = node_id.unwrap_or_else(|| format!("envoy~{ns}~{name}"));
    let bind_address = bind_address.map(|ip| ip.to_string());
    let doc = sluice_emit::bootstrap::ads_bootstrap(
        &node_id,
        &format!("{ns}/{name}"),
        (ns, name),
        host,
        port,
        delta,
        admin_port,
        bind_address.as_deref(),
    );
    println!("{}", serde_json::to_string_pretty(&doc)?);
    Ok(ExitCode::SUCCESS)
}
