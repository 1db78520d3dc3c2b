//! `ListenerIr` → `Listener`: one filter chain per SNI group, each terminating HTTP in an
//! HTTP connection manager that fetches its routes over RDS.

use std::collections::BTreeSet;

use envoy_types::pb::envoy::config::core::v3::transport_socket;
use envoy_types::pb::envoy::config::core::v3::{ConfigSource, TransportSocket};
use envoy_types::pb::envoy::config::listener::v3::{
    Filter, FilterChain, FilterChainMatch, Listener, ListenerFilter, filter, listener_filter,
};
use envoy_types::pb::envoy::extensions::filters::http::cors::v3::Cors;
use envoy_types::pb::envoy::extensions::filters::http::router::v3::Router;
use envoy_types::pb::envoy::extensions::filters::listener::tls_inspector::v3::TlsInspector;
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::{
    HttpConnectionManager, HttpFilter, Rds, http_connection_manager, http_filter,
};
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::{
    CommonTlsContext, DownstreamTlsContext, SdsSecretConfig,
};
use envoy_types::pb::google::protobuf::BoolValue;
use sluice_dataflow::ir::{FilterChainIr, FilterKind, ListenerIr, ListenerSettingsIr, TlsCertIr};

use super::{ads_config_source, listener_settings, names, pack, socket_address};

use http_connection_manager::RouteSpecifier;

/// The listener as served over LDS: each chain's routes come from RDS, its certificate from
/// SDS (see `secret`).
pub fn to_envoy_listener(listener: &ListenerIr) -> Listener {
    listener_with_routes(
        listener,
        |chain| {
            RouteSpecifier::Rds(Rds {
                config_source: Some(ads_config_source()),
                route_config_name: chain.route_config_name.clone(),
            })
        },
        Some(ads_config_source()),
    )
}

/// The listener with each chain's route table chosen by `routes`, and its certificates
/// fetched from `secrets` (`None`: static secrets of the bootstrap); `bootstrap` uses this to
/// inline the route configurations where there is no RDS.
pub(crate) fn listener_with_routes(
    listener: &ListenerIr,
    routes: impl Fn(&FilterChainIr) -> RouteSpecifier,
    secrets: Option<ConfigSource>,
) -> Listener {
    let chains = distinct_chains(&listener.filter_chains);
    // SNI matching needs the ClientHello parsed before a chain is chosen.
    let listener_filters = if chains.iter().any(|(c, _)| c.tls.is_some()) {
        vec![ListenerFilter {
            name: names::TLS_INSPECTOR.to_string(),
            config_type: Some(listener_filter::ConfigType::TypedConfig(pack(
                &TlsInspector::default(),
            ))),
            ..Default::default()
        }]
    } else {
        Vec::new()
    };
    let settings = listener.settings.as_deref();
    let mut out = Listener {
        name: listener.name.clone(),
        address: Some(socket_address(&listener.address, listener.port)),
        filter_chains: chains
            .into_iter()
            .map(|(chain, server_names)| {
                filter_chain(
                    chain,
                    server_names,
                    routes(chain),
                    secrets.as_ref(),
                    settings,
                )
            })
            .collect(),
        listener_filters,
        ..Default::default()
    };
    if let Some(s) = settings {
        listener_settings::apply_listener(&mut out, s);
    }
    out
}

/// Envoy rejects a listener where two chains have the same match. The IR should never produce
/// one, but a bad resource would take the whole listener down, so: the first chain without
/// server names wins, and a server name belongs to the first chain that lists it (a chain left
/// with no names of its own is dropped).
fn distinct_chains(chains: &[FilterChainIr]) -> Vec<(&FilterChainIr, Vec<String>)> {
    let mut claimed = BTreeSet::new();
    let mut catch_all = false;
    let mut out = Vec::with_capacity(chains.len());
    for chain in chains {
        if chain.server_names.is_empty() {
            if !catch_all {
                catch_all = true;
                out.push((chain, Vec::new()));
            }
            continue;
        }
        let names: Vec<String> = chain
            .server_names
            .iter()
            .filter(|n| claimed.insert(n.as_str()))
            .cloned()
            .collect();
        if !names.is_empty() {
            out.push((chain, names));
        }
    }
    out
}

fn filter_chain(
    chain: &FilterChainIr,
    server_names: Vec<String>,
    routes: RouteSpecifier,
    secrets: Option<&ConfigSource>,
    settings: Option<&ListenerSettingsIr>,
) -> FilterChain {
    let mut hcm = http_connection_manager(chain, routes);
    if let Some(s) = settings {
        listener_settings::apply_hcm(&mut hcm, &s.http);
    }
    FilterChain {
        name: chain.name.clone(),
        filter_chain_match: (!server_names.is_empty()).then(|| FilterChainMatch {
            server_names,
            ..Default::default()
        }),
        filters: vec![Filter {
            name: names::HTTP_CONNECTION_MANAGER.to_string(),
            config_type: Some(filter::ConfigType::TypedConfig(
                listener_settings::pack_hcm(&hcm, settings.map(|s| &s.http)),
            )),
        }],
        transport_socket: chain
            .tls
            .as_ref()
            .map(|tls| tls_transport_socket(tls, secrets)),
        ..Default::default()
    }
}

fn http_connection_manager(chain: &FilterChainIr, routes: RouteSpecifier) -> HttpConnectionManager {
    HttpConnectionManager {
        stat_prefix: chain.name.clone(),
        codec_type: http_connection_manager::CodecType::Auto.into(),
        route_specifier: Some(routes),
        // The policy filters, disabled until a route enables one; CORS does nothing on routes
        // without a policy (`typed_per_filter_config`).
        http_filters: FilterKind::ALL
            .into_iter()
            .flat_map(super::filters::chain_entries)
            .chain([
                HttpFilter {
                    name: names::CORS.to_string(),
                    config_type: Some(http_filter::ConfigType::TypedConfig(pack(&Cors::default()))),
                    ..Default::default()
                },
                HttpFilter {
                    name: names::ROUTER.to_string(),
                    config_type: Some(http_filter::ConfigType::TypedConfig(pack(
                        &Router::default(),
                    ))),
                    ..Default::default()
                },
            ])
            .collect(),
        // No `strip_port_mode`: the backend must see `Host` as the client sent it (Gateway API
        // conformance checks `Host: foo.example.com:8080` arrives intact). Virtual host matching
        // ignores the port through the route configuration's `ignore_port_in_host_matching`.
        // Behind a cloud load balancer the peer is not the client; trust nothing by default.
        use_remote_address: Some(BoolValue { value: false }),
        // RFC 3986 normalization before matching, so `/a/../b` cannot dodge a path match; `//`
        // is left alone because Gateway API treats it as a distinct path.
        normalize_path: Some(BoolValue { value: true }),
        merge_slashes: false,
        ..Default::default()
    }
}

fn tls_transport_socket(tls: &TlsCertIr, secrets: Option<&ConfigSource>) -> TransportSocket {
    let context = DownstreamTlsContext {
        common_tls_context: Some(CommonTlsContext {
            tls_certificate_sds_secret_configs: vec![SdsSecretConfig {
                name: tls.secret.clone(),
                sds_config: secrets.cloned(),
            }],
            alpn_protocols: vec!["h2".to_string(), "http/1.1".to_string()],
            ..Default::default()
        }),
        ..Default::default()
    };
    TransportSocket {
        name: names::TLS_TRANSPORT_SOCKET.to_string(),
        config_type: Some(transport_socket::ConfigType::TypedConfig(pack(&context))),
    }
}
