//! Gateway API conformance tooling for sluice.
//!
//! The upstream conformance suite routes every request to one container image,
//! `echo-basic`, which answers with a JSON description of the request it saw. A
//! conformance runner judges each case against that JSON: which backend answered
//! (`namespace`, `pod`), and what the gateway forwarded (`path`, `host`, `method`,
//! `headers`). The test data (`cases.json`, manifests) lives in
//! `../shared/conformance/`; its README describes the backend contract.
//!
//! This crate provides:
//!
//! - [`echo`]: an in-process stand-in for `echo-basic` (HTTP/1.1 + h2c on one port,
//!   an h2c-only port, `X-Echo-Set-Header`, `?delay=`, `/status/NNN`, `/retry/...`).
//!   [`echo::spawn`] starts one "pod"; run one per backend pod a test needs.
//! - [`websocket`]: a WebSocket echo stand-in (RFC 6455 handshake and frames) and a client
//!   for it, for tests of upgrades through Envoy.
//! - the `sluice-echo` binary, which runs one such backend from the command line for
//!   manual poking (configured through the same environment variables as the
//!   upstream image).
//! - the conformance runner: [`cases`] reads `cases.json` into runnable cases, [`runner`]
//!   runs them against `sluice serve` and one real Envoy per Gateway (SotW and Delta),
//!   [`judge`] decides each response, [`certs`] makes the TLS Secrets the HTTPS tests need,
//!   [`table`] renders the report; the `sluice-conformance` binary wraps it:
//!
//! ```text
//! cargo build --bin sluice --bin sluice-conformance
//! target/debug/sluice-conformance [--test HTTPRouteMatching] [--sotw|--delta]
//! ```

pub mod cases;
pub mod certs;
pub mod echo;
pub mod judge;
pub mod kgateway;
pub mod runner;
pub mod table;
pub mod websocket;
