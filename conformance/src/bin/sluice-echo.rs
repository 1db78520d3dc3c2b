//! Runs one echo backend (see `sluice_conformance::echo`) until interrupted.
//!
//! Configured like the upstream `echo-basic` image, through environment variables:
//! `NAMESPACE`, `POD_NAME`, `SERVICE_NAME`, `HTTP_PORT` (default 3000), `H2C_PORT`
//! (default 3001; `none` for no h2c listener), plus `BIND_ADDR` (default 127.0.0.1).
//! Port `0` picks an ephemeral port.
//!
//! ```text
//! HTTP_PORT=3000 cargo run -p sluice-conformance --bin sluice-echo
//! curl -s 'localhost:3000/foo?delay=200ms' -H 'X-Echo-Set-Header: X-Foo:bar'
//! curl -s --http2-prior-knowledge localhost:3001/
//! ```

use std::net::IpAddr;
use std::process::ExitCode;

use sluice_conformance::echo::{self, EchoConfig};
use tokio::net::TcpListener;

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

fn port(name: &str, value: &str) -> Result<u16, String> {
    value
        .parse()
        .map_err(|_| format!("{name}={value:?} is not a port number"))
}

async fn run() -> Result<(), String> {
    let bind: IpAddr = env_or("BIND_ADDR", "127.0.0.1")
        .parse()
        .map_err(|e| format!("BIND_ADDR: {e}"))?;
    let http_port = port("HTTP_PORT", &env_or("HTTP_PORT", "3000"))?;
    let h2c_port = match env_or("H2C_PORT", "3001").as_str() {
        "none" | "" => None,
        value => Some(port("H2C_PORT", value)?),
    };
    let cfg = EchoConfig {
        namespace: env_or("NAMESPACE", ""),
        pod: env_or("POD_NAME", ""),
        service: env_or("SERVICE_NAME", ""),
        http_port,
        h2c_port,
    };
    let bind_err = |e: std::io::Error| format!("cannot listen on {bind}: {e}");
    let http = TcpListener::bind((bind, http_port))
        .await
        .map_err(bind_err)?;
    let h2c = match h2c_port {
        Some(port) => Some(TcpListener::bind((bind, port)).await.map_err(bind_err)?),
        None => None,
    };
    let handle = echo::spawn_with_listeners(cfg, http, h2c).map_err(|e| e.to_string())?;
    println!("listening on {} (http)", handle.http_addr);
    if let Some(addr) = handle.h2c_addr {
        println!("listening on {addr} (h2c)");
    }
    tokio::signal::ctrl_c().await.map_err(|e| e.to_string())?;
    handle.shutdown().await;
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("sluice-echo: {err}");
            ExitCode::FAILURE
        }
    }
}
