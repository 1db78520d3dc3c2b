//! Lowering: one typed Kubernetes object (`sluice_crds::Object`) → one record, purely.
//!
//! Every per-object fact is settled here, once, so the dataflow and the naive translator agree
//! on it: defaults (namespaces of references, weights, the default match), normalisation
//! (lowercased hostnames and header names, `PathPrefix` without a trailing `/`), parsing
//! (GEP-2257 durations, mirror fractions) and the checks that need only the object itself
//! (listener conflicts within a Gateway, rules Gateway API calls invalid). Facts that need two
//! objects (attachment, references, grants) are left to the translators.
//!
//! Errors are data. A problem scoped to a route rule becomes the rule's `invalid` message (the
//! rule answers 500), a listener's becomes its `problem`. [`Lowered::Invalid`] is kept for what
//! the CRD schema would have rejected outright and no record can carry (a port that is not a
//! port, a DirectResponse status outside 200–599): the API server would never have stored such
//! an object, so neither does sluice.

mod backend;
mod duration;
mod gateway;
mod grant;
mod http_route;
mod listener_policy;
mod namespace;
mod policy;

use sluice_crds::Object;
use sluice_crds::k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::input::Record;
use crate::model::{ObjectKey, PolicyKind};

pub use backend::{
    SERVICE_NAME_LABEL, lower_backend, lower_direct_response, lower_endpoint_slice, lower_secret,
    lower_service,
};
pub use duration::{DurationError, parse_duration_ms};
pub use gateway::{lower_gateway, lower_gateway_class};
pub use grant::lower_reference_grant;
pub use http_route::{lower_http_route, lower_match, lower_rule};
pub use listener_policy::{lower_http_listener_policy, lower_listener_policy};
pub use namespace::lower_namespace;
pub use policy::{
    POLICY_WEIGHT_ANNOTATION, SECURITY_FIELDS, check_cel, lower_traffic_policy,
    lower_unsupported_policy, parse_go_duration_ms,
};

/// The namespace of a namespaced object whose `metadata.namespace` is absent.
pub const DEFAULT_NAMESPACE: &str = "default";

/// What an object lowers to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lowered {
    /// The object's record.
    Record(Record),
    /// A kind (or an object of a kind, like an EndpointSlice of no Service) the dataflow does
    /// not consume yet: GRPCRoute, TLSRoute, TCPRoute, ListenerSet, BackendTLSPolicy.
    Unsupported,
    /// The object breaks its CRD schema in a way no record can carry.
    Invalid(LowerError),
}

/// Why an object cannot be lowered: the offending field (`spec.listeners[0].port`) and what is
/// wrong with it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, thiserror::Error)]
#[error("{field}: {message}")]
pub struct LowerError {
    pub field: String,
    pub message: String,
}

impl LowerError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> LowerError {
        LowerError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Lowers any supported object.
pub fn lower(obj: &Object) -> Lowered {
    let result: Result<Option<Record>, LowerError> = match obj {
        Object::GatewayClass(o) => Ok(Some(Record::from(lower_gateway_class(o)))),
        Object::Gateway(o) => lower_gateway(o).map(|r| Some(Record::from(r))),
        Object::HTTPRoute(o) => lower_http_route(o).map(|r| Some(Record::from(r))),
        Object::Service(o) => lower_service(o).map(|r| Some(Record::from(r))),
        Object::EndpointSlice(o) => lower_endpoint_slice(o).map(|r| r.map(Record::from)),
        Object::ReferenceGrant(o) => Ok(Some(Record::from(lower_reference_grant(o)))),
        Object::Secret(o) => Ok(Some(Record::from(lower_secret(o)))),
        Object::Namespace(o) => Ok(Some(Record::from(lower_namespace(o)))),
        Object::Backend(o) => lower_backend(o).map(|r| Some(Record::from(r))),
        Object::DirectResponse(o) => lower_direct_response(o).map(|r| Some(Record::from(r))),
        Object::TrafficPolicy(o) => Ok(Some(Record::from(lower_traffic_policy(o)))),
        Object::ListenerPolicy(o) => Ok(Some(Record::from(lower_listener_policy(o)))),
        Object::HTTPListenerPolicy(o) => Ok(Some(Record::from(lower_http_listener_policy(o)))),
        Object::BackendConfigPolicy(o) => Ok(Some(Record::from(lower_unsupported_policy(
            PolicyKind::BackendConfigPolicy,
            &o.metadata,
            &o.spec,
            policy::local_targets(&o.spec.target_refs),
        )))),
        Object::GatewayExtension(o) => Ok(Some(Record::from(lower_unsupported_policy(
            PolicyKind::GatewayExtension,
            &o.metadata,
            &o.spec,
            Vec::new(),
        )))),
        Object::GatewayParameters(o) => Ok(Some(Record::from(lower_unsupported_policy(
            PolicyKind::GatewayParameters,
            &o.metadata,
            &o.spec,
            Vec::new(),
        )))),
        Object::ListenerSet(_)
        | Object::GRPCRoute(_)
        | Object::TLSRoute(_)
        | Object::TCPRoute(_)
        | Object::BackendTLSPolicy(_) => Ok(None),
    };
    match result {
        Ok(Some(record)) => Lowered::Record(record),
        Ok(None) => Lowered::Unsupported,
        Err(e) => Lowered::Invalid(e),
    }
}

/// The namespace of a namespaced object (`default` when absent).
pub(crate) fn namespace_of(meta: &ObjectMeta) -> &str {
    meta.namespace
        .as_deref()
        .filter(|ns| !ns.is_empty())
        .unwrap_or(DEFAULT_NAMESPACE)
}

/// `namespace/name` of a namespaced object.
pub(crate) fn key_of(meta: &ObjectMeta) -> ObjectKey {
    ObjectKey::new(namespace_of(meta), name_of(meta))
}

pub(crate) fn name_of(meta: &ObjectMeta) -> &str {
    meta.name.as_deref().unwrap_or_default()
}

pub(crate) fn generation_of(meta: &ObjectMeta) -> i64 {
    meta.generation.unwrap_or(0)
}

/// A port number (`1..=65535`), or the schema violation at `field`.
pub(crate) fn port(value: i32, field: impl FnOnce() -> String) -> Result<u16, LowerError> {
    u16::try_from(value)
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| LowerError::new(field(), format!("port {value} is not in 1-65535")))
}
