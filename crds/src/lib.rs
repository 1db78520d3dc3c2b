//! Kubernetes-facing types for sluice.
//!
//! This crate owns the *wire shapes* of every object sluice reads:
//!
//! ```text
//!   gateway.networking.k8s.io          gateway.kgateway.dev/v1alpha1        core / discovery
//!   ─────────────────────────          ─────────────────────────────        ────────────────
//!   GatewayClass ◀─ Gateway ◀─┐        TrafficPolicy ──targetRefs──▶ Gateway/Route
//!        ListenerSet ─────────┤        ListenerPolicy, HTTPListenerPolicy ─▶ Gateway
//!   HTTPRoute/GRPCRoute ──────┤        BackendConfigPolicy ─▶ Service/Backend
//!   TLSRoute/TCPRoute ─ parentRefs     Backend, DirectResponse, GatewayExtension,
//!        └─ backendRefs ─▶ Service      GatewayParameters
//!   ReferenceGrant, BackendTLSPolicy                                      Service, Secret,
//!                                                                          EndpointSlice, Namespace
//! ```
//!
//! * [`gateway_api`]: hand-written serde types for the Gateway API kinds (standard channel
//!   v1.6.1 CRDs, plus the experimental `retry`/`sessionPersistence` route fields).
//! * [`kgateway`]: the eight kgateway policy kinds, and [`kgateway::kgateway_crds`] /
//!   [`kgateway::kgateway_crds_yaml`] to install them.
//! * [`core`]: re-exports of the k8s-openapi core kinds sluice watches.
//! * [`object`]: [`Object`], one enum over every supported kind, with [`Kind`] and
//!   [`ObjectRef`], and [`Object::from_value`] to decode an untyped document.
//!
//! Deserialization applies the CRD defaults the API server would apply (for example
//! `parentRefs[].kind: Gateway`, `matches[].path: {type: PathPrefix, value: /}`), so objects
//! read from a YAML directory look like objects read from a cluster. Unknown fields are
//! ignored; wrong types and unknown enum values are errors.
//!
//! This crate deliberately holds no translation logic: no validation beyond what the CRD
//! schemas encode, no attachment or merging rules, no xDS. Those live in `sluice-dataflow`.

pub mod core;
pub mod gateway_api;
pub mod kgateway;
pub mod object;
mod schema;

pub use object::{Kind, Object, ObjectError, ObjectRef};

/// Re-exported so downstream crates name the same `Condition`, `ObjectMeta`, … types.
pub use k8s_openapi;
