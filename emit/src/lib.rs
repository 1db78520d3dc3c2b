//! sluice's way out to Envoy: it turns the dataflow's xDS IR into Envoy protos and serves them.
//!
//! Owns:
//! - `convert`: pure IR → envoy-types conversions (`to_envoy_listener`, `to_envoy_route_config`,
//!   `to_envoy_cluster`, `to_envoy_cla`), `to_any` and `encode`, with byte-deterministic output
//!   (same IR, same bytes, in any process), so versions can be content hashes;
//! - `json`: proto3 JSON of any resource or `Any` (Envoy's config-dump form, `@type` included),
//!   through prost-reflect and the descriptor set envoy-types ships;
//! - `bootstrap`: Envoy bootstrap files, static (a whole snapshot inlined, for
//!   `envoy --mode validate`) and dynamic (ADS, with the proxy's TLS credentials);
//! - `cache`: the per-resource version cache and per-Gateway views (SDS Secrets cut out of
//!   Listeners);
//! - `server`: the ADS server (SotW and Delta) and who may use it (`server::auth`);
//! - `pki`: the xDS certificate authority in the state directory;
//! - `status`: status write-back and leader election;
//! - `dump`: the JSON of `translate` and `/debug/xds`.
//!
//! Does not own: the translation (the dataflow), reading sources (`ingest`), the proxy
//! deployer (not built yet).
//!
//! Sees only the IR (`sluice-dataflow`): must not depend on `sluice-crds` or `sluice-ingest`.

pub mod bootstrap;
pub mod cache;
pub mod convert;
pub mod dump;
pub mod json;
pub mod pki;
pub mod server;
pub mod status;
