//! The incremental translator: named differential-dataflow operators, one file per stage.
//!
//! ```text
//! classes ─▶ our_gateways ─▶ certificates ─▶ gateway_views ──┬─▶ listeners ◀─ listener policies
//!                                   ▲ grants, secrets        ├─▶ attach_routes ─┬─▶ route_configs
//! routes ─▶ resolve_backends ─▶ render_routes ───────────────┼──────────────────┼─▶ clusters ─▶ endpoints
//!           ▲ services, backends, grants  ▲ direct responses └─▶ status ◀───────┘
//! ```
//!
//! Every reduce that renders an output is keyed by the output's identity (a route
//! configuration, a cluster's Service, a Gateway, a route), so a change re-renders only what it
//! touches. Outer joins are written as reduces over tagged values keyed by the looked-up object.

mod attach;
mod backends;
mod certificates;
mod clusters;
mod gateways;
mod grants;
mod listeners;
pub mod policies;
mod route_configs;
mod routes;
mod status;
#[cfg(test)]
pub(crate) mod testing;

use std::sync::Arc;

use differential_dataflow::VecCollection;
use timely::dataflow::Scope;

use crate::ir::{Resource, StatusIr, StatusKey};
use crate::model::*;

pub use gateways::GatewayView;
pub use routes::RenderedRoute;

/// A collection in the translation's scope: `u64` epochs, `isize` multiplicities.
pub type Col<'s, D> = VecCollection<'s, u64, D, isize>;

/// A failed check's `(reason, message)`, as written into a condition.
pub type Failure = (String, String);

/// Settings the translation depends on besides its inputs.
#[derive(Clone, Debug)]
pub struct RenderConfig {
    /// GatewayClasses naming this controller are ours.
    pub controller_name: String,
}

impl Default for RenderConfig {
    fn default() -> Self {
        RenderConfig {
            controller_name: DEFAULT_CONTROLLER_NAME.to_string(),
        }
    }
}

/// The input collections, one per record kind.
pub struct Inputs<'s> {
    pub classes: Col<'s, Arc<GatewayClassRec>>,
    pub gateways: Col<'s, Arc<GatewayRec>>,
    pub routes: Col<'s, Arc<HttpRouteRec>>,
    pub services: Col<'s, Arc<ServiceRec>>,
    pub slices: Col<'s, Arc<EndpointSliceRec>>,
    pub grants: Col<'s, Arc<ReferenceGrantRec>>,
    pub secrets: Col<'s, Arc<SecretRec>>,
    pub namespaces: Col<'s, Arc<NamespaceRec>>,
    pub backends: Col<'s, Arc<BackendRec>>,
    pub direct_responses: Col<'s, Arc<DirectResponseRec>>,
    pub policies: Col<'s, Arc<PolicyRec>>,
}

/// The outputs: xDS resources and statuses, each key present at most once.
pub struct Outputs<'s> {
    pub resources: Col<'s, Resource>,
    pub statuses: Col<'s, (StatusKey, Arc<StatusIr>)>,
}

/// Builds the whole translation in `scope`.
pub fn render<'s>(scope: Scope<'s, u64>, inputs: Inputs<'s>, config: &RenderConfig) -> Outputs<'s> {
    let _ = scope;
    let grants = grants::arrange_grants(inputs.grants);
    let ours = gateways::our_gateways(inputs.classes.clone(), inputs.gateways, config);
    let certs = certificates::resolve_certificates(ours.clone(), inputs.secrets.clone(), &grants);
    let policies = policies::resolve_secrets(inputs.policies, inputs.secrets);
    let views = gateways::gateway_views(ours, certs);

    let attachments =
        attach::attach_routes(inputs.routes.clone(), inputs.namespaces, views.clone());
    let targets = backends::resolve_backends(
        inputs.routes.clone(),
        inputs.services,
        inputs.backends,
        &grants,
    );
    let route_policies = policies::route_policies(policies.clone(), inputs.routes.clone());
    let gateway_policies = policies::gateway_policies(policies.clone());
    let listener_policies = policies::listener_policies(policies.clone());
    let rendered = routes::render_routes(
        inputs.routes.clone(),
        targets,
        inputs.direct_responses,
        route_policies.clone(),
    );

    let listeners = listeners::render_listeners(views.clone(), listener_policies.clone());
    let route_configs = route_configs::render_route_configs(
        views.clone(),
        attachments.clone(),
        rendered.clone(),
        gateway_policies.clone(),
    );
    let (clusters, endpoints) =
        clusters::render_clusters(attachments.clone(), rendered.clone(), inputs.slices);

    let policy_status = policies::policy_status(
        policies,
        inputs.routes.clone(),
        views.clone().map(|(k, _)| k),
        route_policies,
        gateway_policies.concat(listener_policies),
        config,
    );
    let statuses = status::render_status(
        inputs.classes,
        views,
        inputs.routes,
        attachments,
        rendered,
        config,
    )
    .concat(policy_status);

    Outputs {
        resources: listeners
            .map(Resource::Listener)
            .concat(route_configs.map(Resource::Route))
            .concat(clusters.map(Resource::Cluster))
            .concat(endpoints.map(Resource::Endpoint)),
        statuses,
    }
}

/// What a key in this dataflow must be.
pub trait Key: differential_dataflow::ExchangeData + std::hash::Hash {}
impl<T: differential_dataflow::ExchangeData + std::hash::Hash> Key for T {}
