//! proptest strategies over *records* (`sluice_dataflow::model`, what `lower` produces): whole
//! worlds, single objects, and change sequences against a world.
//!
//! ```text
//!  names    the fixed vocabulary: ns-a..c, gw-1..3, r-1..6, svc-1..4, hostnames, paths, ports
//!  gateway  GatewayClass, Gateway + listeners (conflicts settled as lower does), Secret
//!  route    HTTPRoute: parentRefs, hostnames, rules, matches, filters, backendRefs
//!  backend  Service, EndpointSlice, Backend, DirectResponse
//!  grant    ReferenceGrant
//!  policy   TrafficPolicy at every attachment level; the kinds not translated yet
//!  world    world(): one of everything, unique keys, linked (Targets); record_of(kind); rekey
//!  changes  script() of steps → materialize(world, script) → epochs of InputEvents
//! ```
//!
//! The vocabulary is small on purpose: references hit existing objects often and miss them
//! sometimes, listeners collide, routes tie on creation time. Per-object facts that `lower`
//! settles (listener `problem`, `supported_kinds`, `invalid_kinds`, defaulted namespaces) are
//! generated consistently with it, so every record is one `lower` could have produced. Facts
//! that need two objects (does the Secret exist, does a grant permit the reference, does the
//! Service have that port) are mostly made true by linking references to the objects present,
//! and left to chance for the rest, which is the point: most worlds forward traffic to
//! clusters with endpoints, and dangling, unpermitted and invalid references still occur.

mod backend;
mod changes;
mod gateway;
mod grant;
mod names;
mod policy;
mod route;
mod world;

pub use backend::{
    backend, direct_response, endpoint_slice, service, slice_service, slice_target_port,
};
pub use changes::{Scenario, Script, Step, changes, materialize, scenario, script};
pub use gateway::{
    expected_problem, gateway, gateway_class, gateway_classes, listener_problems, secret,
};
pub use grant::reference_grant;
pub use names::*;
pub use policy::policy;
pub use route::{CREATED, http_route, http_route_with_key};
pub use world::{
    Links, RECORD_LINK_PICKS, Targets, any_record, dedup_by_key, link, links, record_kind,
    record_of, rekey, world,
};
