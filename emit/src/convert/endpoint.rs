//! `EndpointsIr` → `ClusterLoadAssignment`, one locality per zone.

use envoy_types::pb::envoy::config::core::v3::{HealthStatus, Locality};
use envoy_types::pb::envoy::config::endpoint::v3::{
    ClusterLoadAssignment, Endpoint, LbEndpoint, LocalityLbEndpoints, lb_endpoint,
};
use envoy_types::pb::google::protobuf::UInt32Value;
use sluice_dataflow::ir::{EndpointsIr, LocalityIr};

use super::socket_address;

/// Always a resource, even with no endpoints: an EDS cluster waits (warms) for its assignment,
/// and an empty one is what tells Envoy the Service has no backends right now.
pub fn to_envoy_cla(e: &EndpointsIr) -> ClusterLoadAssignment {
    ClusterLoadAssignment {
        cluster_name: e.cluster_name.clone(),
        endpoints: e.localities.iter().map(locality).collect(),
        ..Default::default()
    }
}

fn locality(l: &LocalityIr) -> LocalityLbEndpoints {
    LocalityLbEndpoints {
        locality: Some(Locality {
            zone: l.zone.clone(),
            ..Default::default()
        }),
        // Envoy rejects a zero weight; the IR promises none, but one bad locality must not
        // make the whole assignment invalid.
        load_balancing_weight: Some(UInt32Value {
            value: l.weight.max(1),
        }),
        lb_endpoints: l
            .endpoints
            .iter()
            .map(|(address, port, healthy)| LbEndpoint {
                host_identifier: Some(lb_endpoint::HostIdentifier::Endpoint(Endpoint {
                    address: Some(socket_address(address, *port)),
                    ..Default::default()
                })),
                health_status: if *healthy {
                    HealthStatus::Healthy
                } else {
                    HealthStatus::Unhealthy
                }
                .into(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}
