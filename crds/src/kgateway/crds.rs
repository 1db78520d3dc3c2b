//! CustomResourceDefinitions of the kgateway kinds, for `sluice crds` and tests.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::core::CustomResourceExt;

use super::{
    Backend, BackendConfigPolicy, DirectResponse, GatewayExtension, GatewayParameters,
    HTTPListenerPolicy, ListenerPolicy, TrafficPolicy,
};

/// The CRDs of the eight kgateway kinds, sorted by CRD name.
pub fn kgateway_crds() -> Vec<CustomResourceDefinition> {
    let mut crds = vec![
        Backend::crd(),
        BackendConfigPolicy::crd(),
        DirectResponse::crd(),
        GatewayExtension::crd(),
        GatewayParameters::crd(),
        HTTPListenerPolicy::crd(),
        ListenerPolicy::crd(),
        TrafficPolicy::crd(),
    ];
    crds.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    crds
}

/// [`kgateway_crds`] as one multi-document YAML stream (`---` separated); same bytes on every
/// call.
pub fn kgateway_crds_yaml() -> String {
    kgateway_crds()
        .iter()
        .map(|crd| {
            // A CRD is plain data (strings, maps, lists): serializing it cannot fail.
            let doc = serde_yaml_ng::to_string(crd).expect("a CRD serializes to YAML");
            format!("---\n{doc}")
        })
        .collect()
}
