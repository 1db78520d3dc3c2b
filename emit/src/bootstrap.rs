//! Envoy bootstrap files: a static one holding a whole snapshot (what `envoy --mode validate`
//! checks, there being no xDS server to ask), and a dynamic one pointing Envoy at sluice's ADS.

use envoy_types::pb::envoy::config::bootstrap::v3::{Admin, Bootstrap, bootstrap};
use envoy_types::pb::envoy::config::cluster::v3::{Cluster, cluster};
use envoy_types::pb::envoy::config::core::v3::{
    ApiConfigSource, ApiVersion, DataSource, GrpcService, Node, TransportSocket,
    api_config_source, data_source, grpc_service, transport_socket,
};
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::{
    CertificateValidationContext, CommonTlsContext, SubjectAltNameMatcher, TlsCertificate,
    UpstreamTlsContext, common_tls_context, subject_alt_name_matcher,
};
use envoy_types::pb::envoy::r#type::matcher::v3::{StringMatcher, string_matcher};
use envoy_types::pb::envoy::config::endpoint::v3::ClusterLoadAssignment;
use envoy_types::pb::envoy::config::route::v3::RouteConfiguration;
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::http_connection_manager::RouteSpecifier;
use envoy_types::pb::google::protobuf::{Struct, Value as PbValue, value};
use serde_json::Value;
use sluice_dataflow::ir::{ClusterIr, DiscoveryIr, EndpointsIr, Resource, XdsKey, XdsType};
use sluice_dataflow::output::Snapshot;

use crate::convert::cluster::discovery_type;
use crate::convert::listener::listener_with_routes;
use crate::convert::{
    ads_config_source, is_ip, socket_address, to_envoy_cla, to_envoy_cluster, to_envoy_route_config,
};
use crate::json::message_json;

/// Name of the static cluster that reaches the xDS server.
pub const XDS_CLUSTER: &str = "xds_cluster";

/// Every listener and cluster of the snapshot, inlined: each connection manager carries its
/// route configuration instead of an RDS reference, and each EDS cluster its assignment (an
/// EDS cluster without one gets an empty assignment; a missing route configuration an empty
/// table, which answers 404, as Envoy does while it waits for RDS).
pub fn static_bootstrap(snapshot: &Snapshot, admin_port: u16) -> Value {
    let get = |ty, name: &str| {
        snapshot.resources.get(&XdsKey {
            ty,
            name: name.to_string(),
        })
    };
    let route_config = |name: &str| match get(XdsType::Route, name) {
        Some(Resource::Route(r)) => to_envoy_route_config(r),
        _ => RouteConfiguration {
            name: name.to_string(),
            ..Default::default()
        },
    };
    let mut listeners = Vec::new();
    let mut clusters = Vec::new();
    let mut secrets = std::collections::BTreeMap::new();
    for resource in snapshot.resources.values() {
        match resource {
            Resource::Listener(l) => {
                for tls in crate::convert::listener_secrets(l).into_values() {
                    secrets.insert(tls.secret.clone(), crate::convert::to_envoy_secret(tls));
                }
                listeners.push(listener_with_routes(
                    l,
                    |chain| RouteSpecifier::RouteConfig(route_config(&chain.route_config_name)),
                    None,
                ))
            }
            Resource::Cluster(c) => {
                let endpoints = match get(XdsType::Endpoint, &c.name) {
                    Some(Resource::Endpoint(e)) => Some(e),
                    _ => None,
                };
                clusters.push(inline_endpoints(c, endpoints.map(|e| &**e)));
            }
            Resource::Route(_) | Resource::Endpoint(_) => {}
        }
    }
    let bootstrap = Bootstrap {
        static_resources: Some(bootstrap::StaticResources {
            listeners,
            clusters,
            secrets: secrets.into_values().collect(),
        }),
        admin: Some(admin(admin_port)),
        ..Default::default()
    };
    message_json(&bootstrap).expect("a bootstrap built from envoy-types messages renders")
}

/// The cluster with an EDS cluster's endpoints inlined (STATIC, or STRICT_DNS if an address is
/// a name); other clusters already carry theirs.
fn inline_endpoints(c: &ClusterIr, endpoints: Option<&EndpointsIr>) -> Cluster {
    let mut cluster = to_envoy_cluster(c);
    if c.discovery == DiscoveryIr::Eds {
        let all_ips = endpoints
            .iter()
            .flat_map(|e| &e.localities)
            .flat_map(|l| &l.endpoints)
            .all(|(address, _, _)| is_ip(address));
        cluster.eds_cluster_config = None;
        cluster.cluster_discovery_type = Some(discovery_type(if all_ips {
            cluster::DiscoveryType::Static
        } else {
            cluster::DiscoveryType::StrictDns
        }));
        cluster.load_assignment = Some(match endpoints {
            Some(e) => to_envoy_cla(e),
            None => ClusterLoadAssignment {
                cluster_name: c.name.clone(),
                ..Default::default()
            },
        });
    }
    cluster
}

fn admin(port: u16) -> Admin {
    Admin {
        address: Some(socket_address("127.0.0.1", port)),
        ..Default::default()
    }
}

/// Where an Envoy finds sluice, and who it is.
#[derive(Clone, Debug)]
pub struct AdsBootstrap<'a> {
    pub node_id: &'a str,
    pub node_cluster: &'a str,
    /// The Gateway this proxy serves, `(namespace, name)`: sluice reads it from the node
    /// metadata (`gateway: "ns/name"`) to pick the proxy's resources.
    pub gateway: (&'a str, &'a str),
    pub xds_host: &'a str,
    pub xds_port: u16,
    /// Incremental (Delta) xDS rather than state-of-the-world.
    pub delta: bool,
    pub admin_port: u16,
    /// The address this proxy's listeners bind (node metadata `listener_address`): sluice
    /// rewrites every Listener it sends to the proxy to it, so several proxies on one host can
    /// serve Gateways listening on the same port. `None`: the listeners' own address.
    pub bind_address: Option<&'a str>,
    /// TLS to sluice (`None`: plaintext, for `--insecure-xds`).
    pub tls: Option<&'a XdsTls>,
}

/// What a proxy needs to reach sluice over mutual TLS: the CAs it trusts for sluice's
/// certificate ([`crate::pki::SERVER_NAME`]) and its own client certificate.
#[derive(Clone, Debug)]
pub struct XdsTls {
    pub trusted_ca_pem: String,
    pub client: crate::pki::CertKey,
}

/// The `xds_cluster`'s TLS: verify sluice by its CA and name, present the client certificate.
fn xds_transport_socket(tls: &XdsTls) -> TransportSocket {
    let inline = |s: &str| DataSource {
        specifier: Some(data_source::Specifier::InlineString(s.to_string())),
        ..Default::default()
    };
    let validation = CertificateValidationContext {
        trusted_ca: Some(inline(&tls.trusted_ca_pem)),
        match_typed_subject_alt_names: vec![SubjectAltNameMatcher {
            san_type: subject_alt_name_matcher::SanType::Dns.into(),
            matcher: Some(StringMatcher {
                match_pattern: Some(string_matcher::MatchPattern::Exact(
                    crate::pki::SERVER_NAME.to_string(),
                )),
                ..Default::default()
            }),
            ..Default::default()
        }],
        ..Default::default()
    };
    let context = UpstreamTlsContext {
        common_tls_context: Some(CommonTlsContext {
            tls_certificates: vec![TlsCertificate {
                certificate_chain: Some(inline(&tls.client.cert_pem)),
                private_key: Some(inline(&tls.client.key_pem)),
                ..Default::default()
            }],
            validation_context_type: Some(
                common_tls_context::ValidationContextType::ValidationContext(validation),
            ),
            alpn_protocols: vec!["h2".to_string()],
            ..Default::default()
        }),
        sni: crate::pki::SERVER_NAME.to_string(),
        ..Default::default()
    };
    TransportSocket {
        name: "envoy.transport_sockets.tls".to_string(),
        config_type: Some(transport_socket::ConfigType::TypedConfig(
            crate::convert::pack(&context),
        )),
    }
}

/// A dynamic bootstrap over plaintext: listeners and clusters over ADS (routes and endpoints
/// follow, since the connection managers and EDS clusters name ADS as their source).
/// `bind_address`: see [`AdsBootstrap::bind_address`]. With TLS: [`ads_bootstrap_proto`].
#[allow(clippy::too_many_arguments)]
pub fn ads_bootstrap(
    node_id: &str,
    node_cluster: &str,
    gateway: (&str, &str),
    xds_host: &str,
    xds_port: u16,
    delta: bool,
    admin_port: u16,
    bind_address: Option<&str>,
) -> Value {
    let cfg = AdsBootstrap {
        tls: None,
        node_id,
        node_cluster,
        gateway,
        xds_host,
        xds_port,
        delta,
        admin_port,
        bind_address,
    };
    message_json(&ads_bootstrap_proto(&cfg))
        .expect("a bootstrap built from envoy-types messages renders")
}

/// `ads_bootstrap` as a proto, for callers that embed or post-process it.
pub fn ads_bootstrap_proto(cfg: &AdsBootstrap<'_>) -> Bootstrap {
    let (ns, name) = cfg.gateway;
    let gateway = PbValue {
        kind: Some(value::Kind::StringValue(format!("{ns}/{name}"))),
    };
    // A listener address, if any, rides beside the Gateway (sluice rewrites the proxy's
    // listeners to it; see `server::LISTENER_ADDRESS_KEY`).
    let mut fields: std::collections::BTreeMap<String, PbValue> =
        [("gateway".to_string(), gateway)].into_iter().collect();
    if let Some(address) = cfg.bind_address {
        let address = PbValue {
            kind: Some(value::Kind::StringValue(address.to_string())),
        };
        fields.insert(crate::server::LISTENER_ADDRESS_KEY.to_string(), address);
    }
    let metadata = Struct {
        fields: fields.into_iter().collect(),
    };
    let api_type = if cfg.delta {
        api_config_source::ApiType::DeltaGrpc
    } else {
        api_config_source::ApiType::Grpc
    };
    let mut xds_cluster = to_envoy_cluster(&ClusterIr {
        name: XDS_CLUSTER.to_string(),
        discovery: DiscoveryIr::Static {
            hosts: vec![(cfg.xds_host.to_string(), cfg.xds_port)],
        },
        // gRPC needs HTTP/2.
        http2: true,
        connect_timeout_ms: 5_000,
    });
    xds_cluster.transport_socket = cfg.tls.map(xds_transport_socket);
    Bootstrap {
        node: Some(Node {
            id: cfg.node_id.to_string(),
            cluster: cfg.node_cluster.to_string(),
            metadata: Some(metadata),
            ..Default::default()
        }),
        dynamic_resources: Some(bootstrap::DynamicResources {
            ads_config: Some(ApiConfigSource {
                api_type: api_type.into(),
                transport_api_version: ApiVersion::V3.into(),
                grpc_services: vec![GrpcService {
                    target_specifier: Some(grpc_service::TargetSpecifier::EnvoyGrpc(
                        grpc_service::EnvoyGrpc {
                            cluster_name: XDS_CLUSTER.to_string(),
                            ..Default::default()
                        },
                    )),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            cds_config: Some(ads_config_source()),
            lds_config: Some(ads_config_source()),
            ..Default::default()
        }),
        static_resources: Some(bootstrap::StaticResources {
            clusters: vec![xds_cluster],
            ..Default::default()
        }),
        admin: Some(admin(cfg.admin_port)),
        ..Default::default()
    }
}
