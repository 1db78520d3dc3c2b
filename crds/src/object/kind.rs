//! [`Kind`]: the closed set of object kinds sluice reads.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Every kind sluice reads. Ordered by declaration, so sorted collections group Gateway API
/// kinds, then core kinds, then kgateway kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Kind {
    GatewayClass,
    Gateway,
    ListenerSet,
    HTTPRoute,
    GRPCRoute,
    TLSRoute,
    TCPRoute,
    ReferenceGrant,
    BackendTLSPolicy,
    Service,
    EndpointSlice,
    Secret,
    Namespace,
    TrafficPolicy,
    ListenerPolicy,
    HTTPListenerPolicy,
    Backend,
    BackendConfigPolicy,
    GatewayExtension,
    GatewayParameters,
    DirectResponse,
}

const GATEWAY_API: &str = crate::gateway_api::GROUP;
const KGATEWAY: &str = crate::kgateway::GROUP;
const DISCOVERY: &str = "discovery.k8s.io";

impl Kind {
    const ALL: [Kind; 21] = [
        Kind::GatewayClass,
        Kind::Gateway,
        Kind::ListenerSet,
        Kind::HTTPRoute,
        Kind::GRPCRoute,
        Kind::TLSRoute,
        Kind::TCPRoute,
        Kind::ReferenceGrant,
        Kind::BackendTLSPolicy,
        Kind::Service,
        Kind::EndpointSlice,
        Kind::Secret,
        Kind::Namespace,
        Kind::TrafficPolicy,
        Kind::ListenerPolicy,
        Kind::HTTPListenerPolicy,
        Kind::Backend,
        Kind::BackendConfigPolicy,
        Kind::GatewayExtension,
        Kind::GatewayParameters,
        Kind::DirectResponse,
    ];

    /// All kinds, in [`Ord`] order.
    pub fn all() -> &'static [Kind] {
        &Self::ALL
    }

    /// The Kubernetes `kind` string.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::GatewayClass => "GatewayClass",
            Kind::Gateway => "Gateway",
            Kind::ListenerSet => "ListenerSet",
            Kind::HTTPRoute => "HTTPRoute",
            Kind::GRPCRoute => "GRPCRoute",
            Kind::TLSRoute => "TLSRoute",
            Kind::TCPRoute => "TCPRoute",
            Kind::ReferenceGrant => "ReferenceGrant",
            Kind::BackendTLSPolicy => "BackendTLSPolicy",
            Kind::Service => "Service",
            Kind::EndpointSlice => "EndpointSlice",
            Kind::Secret => "Secret",
            Kind::Namespace => "Namespace",
            Kind::TrafficPolicy => "TrafficPolicy",
            Kind::ListenerPolicy => "ListenerPolicy",
            Kind::HTTPListenerPolicy => "HTTPListenerPolicy",
            Kind::Backend => "Backend",
            Kind::BackendConfigPolicy => "BackendConfigPolicy",
            Kind::GatewayExtension => "GatewayExtension",
            Kind::GatewayParameters => "GatewayParameters",
            Kind::DirectResponse => "DirectResponse",
        }
    }

    /// The API group (`""` for core kinds).
    pub fn group(self) -> &'static str {
        match self {
            Kind::Service | Kind::Secret | Kind::Namespace => "",
            Kind::EndpointSlice => DISCOVERY,
            Kind::TrafficPolicy
            | Kind::ListenerPolicy
            | Kind::HTTPListenerPolicy
            | Kind::Backend
            | Kind::BackendConfigPolicy
            | Kind::GatewayExtension
            | Kind::GatewayParameters
            | Kind::DirectResponse => KGATEWAY,
            _ => GATEWAY_API,
        }
    }

    /// The `apiVersion` of the typed representation (the version sluice watches).
    pub fn api_version(self) -> &'static str {
        match self.group() {
            "" => "v1",
            DISCOVERY => "discovery.k8s.io/v1",
            KGATEWAY => "gateway.kgateway.dev/v1alpha1",
            _ => "gateway.networking.k8s.io/v1",
        }
    }

    /// Versions whose documents decode into the typed representation: the versions the
    /// v1.6.1 Gateway API CRDs define for the kind, or the single version of other kinds.
    pub fn versions(self) -> &'static [&'static str] {
        match self {
            Kind::GatewayClass | Kind::Gateway | Kind::HTTPRoute => &["v1", "v1beta1"],
            Kind::ReferenceGrant => &["v1", "v1beta1", "v1alpha2"],
            Kind::GRPCRoute | Kind::TCPRoute => &["v1", "v1alpha2"],
            Kind::TLSRoute => &["v1", "v1alpha3", "v1alpha2"],
            Kind::BackendTLSPolicy => &["v1", "v1alpha3"],
            Kind::ListenerSet | Kind::Service | Kind::Secret | Kind::Namespace => &["v1"],
            Kind::EndpointSlice => &["v1"],
            _ => &["v1alpha1"],
        }
    }

    /// Whether objects of this kind live in a namespace (all but GatewayClass and Namespace).
    pub fn is_namespaced(self) -> bool {
        !matches!(self, Kind::GatewayClass | Kind::Namespace)
    }

    /// The kind named by a reference's `group` and `kind` (`""` or `"core"` for core).
    pub fn from_group_kind(group: &str, kind: &str) -> Option<Kind> {
        let group = if group == "core" { "" } else { group };
        Self::ALL
            .into_iter()
            .find(|k| k.group() == group && k.as_str() == kind)
    }

    /// The kind of a document with this `apiVersion` and `kind`, if sluice reads it.
    pub fn from_type_meta(api_version: &str, kind: &str) -> Option<Kind> {
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        Kind::from_group_kind(group, kind).filter(|k| k.versions().contains(&version))
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
