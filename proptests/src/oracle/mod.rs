//! The naive translator: all records in, the complete xDS IR and statuses out, recomputed from
//! scratch every time. Written for obviousness, not speed: it is the reference the incremental
//! dataflow is tested against, so it shares no semantic code with `sluice_dataflow::render`
//! (only the record model and its per-object helpers).
//!
//! Semantics, in the order they are applied:
//! 1. `gateways`: a Gateway is ours when its class exists and names our controller; its listeners
//!    are attachable when `lower` found no problem, and usable when also (HTTPS) their
//!    certificate resolves.
//! 2. `attach`: each parentRef of each HTTPRoute to one of our Gateways picks the listeners
//!    matching its section/port, then allowedRoutes (kinds, namespaces), then hostname
//!    intersection, then attachability; the first step that leaves nothing names the
//!    `Accepted=False` reason. A route counts in the `attachedRoutes` of every listener it
//!    attached to, but only usable listeners serve it (route configurations, clusters).
//! 3. `backends`: backendRefs resolve to clusters, or to a `ResolvedRefs=False` reason.
//! 4. `rules`: each rule's matches become routes; `precedence` orders them per virtual host.
//! 5. `resources`: listeners, route configurations, clusters, endpoints; `status`: conditions.

mod attach;
mod backends;
mod gateways;
mod hostname;
mod policies;
mod precedence;
mod resources;
mod rules;
mod status;

use sluice_dataflow::input::Record;
use sluice_dataflow::model::*;
use sluice_dataflow::output::Snapshot;

/// A condition's `(reason, message)` when something fails.
pub type Failure = (&'static str, String);

/// Everything the translation depends on besides the records.
#[derive(Clone, Debug)]
pub struct Config {
    /// GatewayClasses naming this controller are ours.
    pub controller_name: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            controller_name: DEFAULT_CONTROLLER_NAME.to_string(),
        }
    }
}

/// All records, by kind.
#[derive(Debug, Default)]
pub struct World<'a> {
    pub classes: Vec<&'a GatewayClassRec>,
    pub gateways: Vec<&'a GatewayRec>,
    pub routes: Vec<&'a HttpRouteRec>,
    pub services: Vec<&'a ServiceRec>,
    pub slices: Vec<&'a EndpointSliceRec>,
    pub grants: Vec<&'a ReferenceGrantRec>,
    pub secrets: Vec<&'a SecretRec>,
    pub namespaces: Vec<&'a NamespaceRec>,
    pub backends: Vec<&'a BackendRec>,
    pub direct_responses: Vec<&'a DirectResponseRec>,
    pub policies: Vec<&'a PolicyRec>,
    /// TrafficPolicies by namespace (policies reach only their own namespace's objects).
    pub traffic_by_ns: std::collections::BTreeMap<Sym, Vec<&'a PolicyRec>>,
}

impl<'a> World<'a> {
    pub fn new(records: impl IntoIterator<Item = &'a Record>) -> World<'a> {
        let mut w = World::default();
        for r in records {
            match r {
                Record::GatewayClass(x) => w.classes.push(x),
                Record::Gateway(x) => w.gateways.push(x),
                Record::HttpRoute(x) => w.routes.push(x),
                Record::Service(x) => w.services.push(x),
                Record::EndpointSlice(x) => w.slices.push(x),
                Record::ReferenceGrant(x) => w.grants.push(x),
                Record::Secret(x) => w.secrets.push(x),
                Record::Namespace(x) => w.namespaces.push(x),
                Record::Backend(x) => w.backends.push(x),
                Record::DirectResponse(x) => w.direct_responses.push(x),
                Record::Policy(x) => {
                    w.policies.push(x);
                    if x.kind == PolicyKind::TrafficPolicy {
                        w.traffic_by_ns.entry(x.key.ns).or_default().push(x);
                    }
                }
            }
        }
        w
    }

    /// Whether some ReferenceGrant lets `from` objects in `from_ns` refer to `to`.
    pub fn granted(&self, from: (&str, &str, Sym), to: (&str, &str, ObjectKey)) -> bool {
        from.2 == to.2.ns
            || self
                .grants
                .iter()
                .any(|g| g.permits(from.0, from.1, from.2, to.0, to.1, to.2))
    }
}

/// Translates every record from scratch.
pub fn translate<'a>(records: impl IntoIterator<Item = &'a Record>, config: &Config) -> Snapshot {
    let records: Vec<&Record> = records.into_iter().collect();
    // Policies reading Secrets first take their values: each from every Secret there is
    // (the record's own kernel keeps those of its namespace that its uses name or select).
    let secrets: Vec<&SecretRec> = records
        .iter()
        .filter_map(|r| match r {
            Record::Secret(s) => Some(&**s),
            _ => None,
        })
        .collect();
    let reads_secrets = |r: &Record| matches!(r, Record::Policy(p) if !p.secrets.is_empty());
    let resolved: Vec<Record> = records
        .iter()
        .filter_map(|r| match r {
            Record::Policy(p) if !p.secrets.is_empty() => {
                Some(Record::from(p.with_secrets(&secrets)))
            }
            _ => None,
        })
        .collect();
    let world = World::new(
        records
            .iter()
            .copied()
            .filter(|r| !reads_secrets(r))
            .chain(&resolved),
    );
    let gateways = gateways::ours(&world, config);
    let attachments = attach::attach_routes(&world, &gateways);
    let mut snapshot = Snapshot::default();
    resources::render(&world, &gateways, &attachments, &mut snapshot);
    status::render(&world, config, &gateways, &attachments, &mut snapshot);
    snapshot
}
