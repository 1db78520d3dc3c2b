//! proptest strategies over *records* (`sluice_dataflow::model`, what `lower` produces): whole
//! worlds, single objects, and change sequences against a world.
//!
//! ```text
//!  names    the fixed vocabulary: ns-a..c, gw-1..3, r-1..6, svc-1..4, hostnames, paths, ports
//!  gateway  GatewayClass, Gateway + listeners (conflicts settled as lower does), Secret
//!  route    HTTPRoute: parentRefs, hostnames, rules, matches, filters, backendRefs
//!  backend  Service, EndpointSlice, Backend, DirectResponse
//!  grant    ReferenceGrant
//!  world    world(): one of everything, unique keys; record_of(kind); rekey
//!  changes  script() of steps → materialize(world, script) → epochs of InputEvents
//! ```
//!
//! The vocabulary is small on purpose: references hit existing objects often and miss them
//! sometimes, listeners collide, routes tie on creation time. Per-object facts that `lower`
//! settles (listener `problem`, `supported_kinds`, `invalid_kinds`, defaulted namespaces) are
//! generated consistently with it, so every record is one `lower` could have produced; facts
//! that need two objects (does the Secret exist, does a grant permit the reference) are left
//! to chance, which is the point.

mod backend;
mod changes;
mod gateway;
mod grant;
mod names;
mod route;
mod world;

pub use backend::{backend, direct_response, endpoint_slice, service, slice_service};
pub use changes::{Scenario, Script, Step, changes, materialize, scenario, script};
pub use gateway::{
    expected_problem, gateway, gateway_class, gateway_classes, listener_problems, secret,
};
pub use grant::reference_grant;
pub use names::*;
pub use route::{CREATED, http_route, http_route_with_key};
pub use world::{any_record, dedup_by_key, link, record_kind, record_of, rekey, world};
