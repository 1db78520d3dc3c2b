//! IR → Envoy protos. Pure functions, one file per resource type; nothing here does I/O or
//! keeps state, so the naive translator in `proptests` can share them with the server.
//!
//! Determinism: `encode` must give the same bytes for the same IR in every process. prost
//! writes fields in a fixed order, and the only source of randomness is map fields (`HashMap`,
//! iterated in a per-instance random order). The converters leave every map empty except
//! `Cluster.typed_extension_protocol_options`, which has at most one entry, and a route's
//! `typed_per_filter_config`, which [`route::encode_route_config`] writes in key order.

mod cel;
pub(crate) mod cluster;
mod endpoint;
mod filters;
pub(crate) mod listener;
mod listener_settings;
mod route;
mod secret;

pub use cluster::to_envoy_cluster;
pub use endpoint::to_envoy_cla;
pub use listener::to_envoy_listener;
pub use route::to_envoy_route_config;
pub use secret::{listener_secrets, to_envoy_secret};

use envoy_types::pb::envoy::config::core::v3::{
    Address, AggregatedConfigSource, ApiVersion, ConfigSource, HeaderValue, HeaderValueOption,
    SocketAddress, address, config_source, header_value_option::HeaderAppendAction, socket_address,
};
use envoy_types::pb::google::protobuf::{Any as PbAny, Duration};
use prost::{Message, Name};
use sluice_dataflow::ir::{HeaderOpsIr, Resource};

/// Well-known extension names, shared with `bootstrap` and the tests.
pub mod names {
    pub const HTTP_CONNECTION_MANAGER: &str = "envoy.filters.network.http_connection_manager";
    pub const ROUTER: &str = "envoy.filters.http.router";
    pub const CORS: &str = "envoy.filters.http.cors";
    pub const TLS_INSPECTOR: &str = "envoy.filters.listener.tls_inspector";
    pub const TLS_TRANSPORT_SOCKET: &str = "envoy.transport_sockets.tls";
    pub const HTTP_PROTOCOL_OPTIONS: &str =
        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";
}

/// The resource as the `Any` an xDS response carries.
pub fn to_any(resource: &Resource) -> prost_types::Any {
    prost_types::Any {
        type_url: resource.key().ty.type_url().to_string(),
        value: encode(resource),
    }
}

/// The resource's protobuf bytes; byte-identical for equal IR values (see the module doc).
pub fn encode(resource: &Resource) -> Vec<u8> {
    match resource {
        Resource::Listener(l) => to_envoy_listener(l).encode_to_vec(),
        Resource::Route(r) => route::encode_route_config(&to_envoy_route_config(r)),
        Resource::Cluster(c) => to_envoy_cluster(c).encode_to_vec(),
        Resource::Endpoint(e) => to_envoy_cla(e).encode_to_vec(),
    }
}

/// Packs a message into envoy-types' own `Any` (envoy-types compiles the well-known types
/// itself, so its `Any` is not `prost_types::Any`).
pub(crate) fn pack<M: Message + Name>(msg: &M) -> PbAny {
    PbAny {
        type_url: M::type_url(),
        value: msg.encode_to_vec(),
    }
}

/// `{ads: {}, resource_api_version: V3}`: every dynamic resource comes over the one ADS stream.
pub(crate) fn ads_config_source() -> ConfigSource {
    ConfigSource {
        resource_api_version: ApiVersion::V3.into(),
        config_source_specifier: Some(config_source::ConfigSourceSpecifier::Ads(
            AggregatedConfigSource {},
        )),
        ..Default::default()
    }
}

pub(crate) fn socket_address(host: &str, port: u16) -> Address {
    Address {
        address: Some(address::Address::SocketAddress(SocketAddress {
            address: host.to_string(),
            port_specifier: Some(socket_address::PortSpecifier::PortValue(port.into())),
            ..Default::default()
        })),
    }
}

pub(crate) fn duration_ms(ms: u64) -> Duration {
    // `ms / 1000` fits i64 for any u64, and the remainder is below 1e9 nanos.
    Duration {
        seconds: (ms / 1000) as i64,
        nanos: ((ms % 1000) * 1_000_000) as i32,
    }
}

/// Whether STATIC (an IP literal) rather than STRICT_DNS (a name to resolve) fits the host.
pub(crate) fn is_ip(host: &str) -> bool {
    host.parse::<std::net::IpAddr>().is_ok()
}

/// Header operations in Envoy's shape: `set` overwrites, `add` appends, in IR order.
pub(crate) fn headers_to_add(ops: &HeaderOpsIr) -> Vec<HeaderValueOption> {
    let set = ops
        .set
        .iter()
        .map(|kv| (kv, HeaderAppendAction::OverwriteIfExistsOrAdd));
    let add = ops
        .add
        .iter()
        .map(|kv| (kv, HeaderAppendAction::AppendIfExistsOrAdd));
    set.chain(add)
        .map(|((key, value), action)| HeaderValueOption {
            header: Some(HeaderValue {
                key: key.clone(),
                value: value.clone(),
                ..Default::default()
            }),
            append_action: action.into(),
            ..Default::default()
        })
        .collect()
}
