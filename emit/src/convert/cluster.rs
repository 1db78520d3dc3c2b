//! `ClusterIr` → `Cluster`: EDS clusters for Services, fixed host lists for Backends.

use envoy_types::pb::envoy::config::cluster::v3::{Cluster, cluster};
use envoy_types::pb::envoy::config::core::v3::Http2ProtocolOptions;
use envoy_types::pb::envoy::config::endpoint::v3::{
    ClusterLoadAssignment, LbEndpoint, LocalityLbEndpoints, lb_endpoint,
};
use envoy_types::pb::envoy::extensions::upstreams::http::v3::{
    HttpProtocolOptions, http_protocol_options,
};
use sluice_dataflow::ir::{ClusterIr, DiscoveryIr};

use super::{ads_config_source, duration_ms, is_ip, names, pack, socket_address};

pub fn to_envoy_cluster(c: &ClusterIr) -> Cluster {
    let mut out = Cluster {
        name: c.name.clone(),
        connect_timeout: Some(duration_ms(c.connect_timeout_ms)),
        ..Default::default()
    };
    match &c.discovery {
        DiscoveryIr::Eds => {
            out.cluster_discovery_type = Some(discovery_type(cluster::DiscoveryType::Eds));
            // `service_name` left empty: the ClusterLoadAssignment has the cluster's name.
            out.eds_cluster_config = Some(cluster::EdsClusterConfig {
                eds_config: Some(ads_config_source()),
                ..Default::default()
            });
        }
        DiscoveryIr::Static { hosts } => {
            let all_ips = hosts.iter().all(|(h, _)| is_ip(h));
            out.cluster_discovery_type = Some(discovery_type(if all_ips {
                cluster::DiscoveryType::Static
            } else {
                cluster::DiscoveryType::StrictDns
            }));
            out.load_assignment = Some(ClusterLoadAssignment {
                cluster_name: c.name.clone(),
                endpoints: vec![LocalityLbEndpoints {
                    lb_endpoints: hosts.iter().map(|(h, p)| lb_endpoint(h, *p)).collect(),
                    ..Default::default()
                }],
                ..Default::default()
            });
        }
    }
    if c.http2 {
        set_http2(&mut out);
    }
    out
}

pub(crate) fn discovery_type(t: cluster::DiscoveryType) -> cluster::ClusterDiscoveryType {
    cluster::ClusterDiscoveryType::Type(t.into())
}

fn lb_endpoint(host: &str, port: u16) -> LbEndpoint {
    LbEndpoint {
        host_identifier: Some(lb_endpoint::HostIdentifier::Endpoint(
            envoy_types::pb::envoy::config::endpoint::v3::Endpoint {
                address: Some(socket_address(host, port)),
                ..Default::default()
            },
        )),
        ..Default::default()
    }
}

/// Speak HTTP/2 (prior knowledge, h2c) to the upstream. This is the only map entry any
/// converter writes: a one-entry map encodes in one order only, so the bytes stay deterministic.
pub(crate) fn set_http2(cluster: &mut Cluster) {
    let options = HttpProtocolOptions {
        upstream_protocol_options: Some(
            http_protocol_options::UpstreamProtocolOptions::ExplicitHttpConfig(
                http_protocol_options::ExplicitHttpConfig {
                    protocol_config: Some(
                        http_protocol_options::explicit_http_config::ProtocolConfig::Http2ProtocolOptions(
                            Http2ProtocolOptions::default(),
                        ),
                    ),
                },
            ),
        ),
        ..Default::default()
    };
    cluster.typed_extension_protocol_options =
        [(names::HTTP_PROTOCOL_OPTIONS.to_string(), pack(&options))]
            .into_iter()
            .collect();
}
