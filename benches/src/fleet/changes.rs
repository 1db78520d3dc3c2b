//! Change sequences over a generated fleet, one [`ChangeEpoch`] per dataflow epoch.
//!
//! Each sequence is drawn from its own seeded stream and keeps the latest version of every
//! object it touched, so consecutive edits of one object build on each other and every
//! measured epoch really changes its object (edits bump `metadata.generation`, as the API
//! server does on a spec change). Deletions and listener changes are followed by an
//! unmeasured epoch restoring the object, so any number of them can be measured against the
//! fleet as generated (a listener change left in place could detach most routes of a Gateway
//! and change what every later measurement sees).
//!
//! Which objects a sequence touches is drawn from a stream of its own that depends only on
//! the fleet's shape ([`picks`]), so a benchmark can keep just those objects while it streams
//! the fleet ([`Sample`]) and get exactly the changes [`changes`] gives over the whole fleet.

use std::collections::{BTreeMap, BTreeSet};

use rand::RngExt;
use rand::rngs::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use sluice_crds::gateway_api::{
    AllowedRoutes, FromNamespaces, HTTPHeaderFilter, HTTPRoute, HTTPRouteFilterType, Listener,
    LocalPolicyTargetReferenceWithSectionName, PathMatchType, RouteNamespaces,
};
use sluice_crds::k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions};
use sluice_crds::kgateway::TrafficPolicy;
use sluice_crds::{Kind, Object, ObjectRef};

use super::FleetKind;
use super::build::{GATEWAY_GROUP, Plan, created, empty_filter, header, policy_spec, rng_for, tag};

/// The change kinds of `performance.md` §2.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ChangeKind {
    /// One HTTPRoute's spec edited (header filter, weights, path or timeout).
    RouteEdit,
    /// A new HTTPRoute.
    RouteAdd,
    /// An HTTPRoute deleted (and restored in an unmeasured epoch).
    RouteDelete,
    /// One EndpointSlice changed (an address, a readiness flip, an endpoint added/removed).
    EndpointChange,
    /// One Gateway's listeners changed (a port, a listener added or removed, allowedRoutes),
    /// and restored in an unmeasured epoch, so later kinds see the fleet's attachments.
    ListenerChange,
    /// A TrafficPolicy targeting a Gateway created or edited: the fan-out case. The dataflow
    /// does not translate policies yet, so today this measures the no-op path.
    GatewayPolicy,
    /// A ReferenceGrant deleted (and restored in an unmeasured epoch).
    GrantDelete,
}

impl ChangeKind {
    pub const ALL: [ChangeKind; 7] = [
        ChangeKind::RouteEdit,
        ChangeKind::RouteAdd,
        ChangeKind::RouteDelete,
        ChangeKind::EndpointChange,
        ChangeKind::ListenerChange,
        ChangeKind::GatewayPolicy,
        ChangeKind::GrantDelete,
    ];

    /// Human name, as in reports.
    pub fn name(self) -> &'static str {
        match self {
            ChangeKind::RouteEdit => "route edit",
            ChangeKind::RouteAdd => "route add",
            ChangeKind::RouteDelete => "route delete",
            ChangeKind::EndpointChange => "endpoint change",
            ChangeKind::ListenerChange => "listener change",
            ChangeKind::GatewayPolicy => "gateway policy",
            ChangeKind::GrantDelete => "ReferenceGrant delete",
        }
    }

    /// Short name for command lines and environment variables (`route-edit`, …).
    pub fn slug(self) -> &'static str {
        match self {
            ChangeKind::RouteEdit => "route-edit",
            ChangeKind::RouteAdd => "route-add",
            ChangeKind::RouteDelete => "route-delete",
            ChangeKind::EndpointChange => "endpoint-change",
            ChangeKind::ListenerChange => "listener-change",
            ChangeKind::GatewayPolicy => "gateway-policy",
            ChangeKind::GrantDelete => "grant-delete",
        }
    }

    fn index(self) -> u64 {
        ChangeKind::ALL
            .iter()
            .position(|k| *k == self)
            .expect("listed") as u64
    }
}

impl std::fmt::Display for ChangeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for ChangeKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ChangeKind::ALL
            .into_iter()
            .find(|k| k.slug() == s)
            .ok_or_else(|| {
                let known: Vec<&str> = ChangeKind::ALL.iter().map(|k| k.slug()).collect();
                format!("unknown change kind `{s}` (one of {})", known.join(", "))
            })
    }
}

/// One object change, as a source reports it.
// Epochs hold one change each: boxing the object would save nothing worth an indirection.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// Create or replace.
    Upsert(Object),
    Delete(ObjectRef),
}

/// The changes of one epoch. `measured` is false for the epochs that undo a measured change
/// (restoring a deleted object): they are applied and checked, but not timed.
#[derive(Clone, Debug, PartialEq)]
pub struct ChangeEpoch {
    pub changes: Vec<Change>,
    pub measured: bool,
}

impl ChangeEpoch {
    fn measured(change: Change) -> ChangeEpoch {
        ChangeEpoch {
            changes: vec![change],
            measured: true,
        }
    }

    fn restore(object: Object) -> ChangeEpoch {
        ChangeEpoch {
            changes: vec![Change::Upsert(object)],
            measured: false,
        }
    }
}

/// Where change sequences take the objects they change from: a whole [`super::Fleet`], or a
/// [`Sample`] of it.
pub trait Objects {
    /// The fleet's kind and seed.
    fn fleet(&self) -> (FleetKind, u64);
    /// How many objects of `kind` the fleet has.
    fn count(&self, kind: Kind) -> usize;
    /// The `i`-th object of `kind`, in generation order.
    fn get(&self, kind: Kind, i: usize) -> &Object;
}

/// The kind of object a change kind picks from the fleet (`None`: it makes new objects).
fn picked_kind(kind: ChangeKind) -> Option<Kind> {
    match kind {
        ChangeKind::RouteEdit | ChangeKind::RouteDelete => Some(Kind::HTTPRoute),
        ChangeKind::RouteAdd => None,
        ChangeKind::EndpointChange => Some(Kind::EndpointSlice),
        ChangeKind::ListenerChange | ChangeKind::GatewayPolicy => Some(Kind::Gateway),
        ChangeKind::GrantDelete => Some(Kind::ReferenceGrant),
    }
}

/// How many objects of `kind` fleet `fleet` has: the exact counts of its [`super::Shape`].
fn shape_count(fleet: FleetKind, kind: Kind) -> usize {
    let shape = fleet.shape();
    match kind {
        Kind::HTTPRoute => shape.http_routes,
        Kind::EndpointSlice => shape.endpoint_slices,
        Kind::Gateway => shape.gateways,
        Kind::ReferenceGrant => shape.reference_grants,
        _ => 0,
    }
}

fn draw_indices(kind: ChangeKind, count: usize, n: usize, seed: u64) -> Vec<usize> {
    if count == 0 {
        return Vec::new();
    }
    let mut rng = rng_for(seed, tag::CHANGE_PICKS, kind.index());
    (0..n).map(|_| rng.random_range(0..count)).collect()
}

/// The objects `changes(fleet, kind, n, seed)` changes, as `(kind, index within the kind)`,
/// known from the fleet's shape alone.
pub fn picks(
    fleet: FleetKind,
    fleet_seed: u64,
    kind: ChangeKind,
    n: usize,
    seed: u64,
) -> Vec<(Kind, usize)> {
    let Some(k) = picked_kind(kind) else {
        return Vec::new();
    };
    draw_indices(kind, shape_count(fleet, k), n, seed ^ fleet_seed)
        .into_iter()
        .map(|i| (k, i))
        .collect()
}

/// The objects a benchmark's change sequences need, kept while the fleet streams past.
#[derive(Debug)]
pub struct Sample {
    fleet: (FleetKind, u64),
    wanted: BTreeSet<(Kind, usize)>,
    seen: BTreeMap<Kind, usize>,
    kept: BTreeMap<(Kind, usize), Object>,
}

impl Sample {
    /// A sample of fleet `kind` (seed `seed`) keeping the objects in `wanted` (see [`picks`]).
    pub fn new(
        kind: FleetKind,
        seed: u64,
        wanted: impl IntoIterator<Item = (Kind, usize)>,
    ) -> Self {
        Sample {
            fleet: (kind, seed),
            wanted: wanted.into_iter().collect(),
            seen: BTreeMap::new(),
            kept: BTreeMap::new(),
        }
    }

    /// The fleet's next object, in generation order.
    pub fn offer(&mut self, o: &Object) {
        let seen = self.seen.entry(o.kind()).or_default();
        let at = (o.kind(), *seen);
        *seen += 1;
        if self.wanted.contains(&at) {
            self.kept.insert(at, o.clone());
        }
    }
}

impl Objects for Sample {
    fn fleet(&self) -> (FleetKind, u64) {
        self.fleet
    }

    fn count(&self, kind: Kind) -> usize {
        self.seen.get(&kind).copied().unwrap_or(0)
    }

    /// # Panics
    /// When the object was not asked for (not in the `picks` the sample was made with).
    fn get(&self, kind: Kind, i: usize) -> &Object {
        self.kept
            .get(&(kind, i))
            .unwrap_or_else(|| panic!("{kind:?} #{i} was not sampled"))
    }
}

/// `n` measured changes of `kind` to the fleet `objects` come from (plus the unmeasured
/// restores deletions need), drawn from `seed`. Empty when the fleet has nothing of the kind
/// to change.
pub fn changes(objects: &impl Objects, kind: ChangeKind, n: usize, seed: u64) -> Vec<ChangeEpoch> {
    let (fleet, fleet_seed) = objects.fleet();
    let picked: Vec<Picked> = match picked_kind(kind) {
        Some(k) => draw_indices(kind, objects.count(k), n, seed ^ fleet_seed)
            .into_iter()
            .map(|i| (i, objects.get(k, i)))
            .collect(),
        None => Vec::new(),
    };
    let mut rng = rng_for(seed ^ fleet_seed, tag::CHANGES, kind.index());
    let rng = &mut rng;
    match kind {
        ChangeKind::RouteEdit => route_edits(&picked),
        ChangeKind::RouteAdd => route_adds(fleet, fleet_seed, n, rng),
        ChangeKind::RouteDelete | ChangeKind::GrantDelete => deletions(&picked),
        ChangeKind::EndpointChange => endpoint_changes(&picked, rng),
        ChangeKind::ListenerChange => listener_changes(&picked),
        ChangeKind::GatewayPolicy => gateway_policies(&picked),
    }
}

fn bump(meta: &mut sluice_crds::k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) {
    meta.generation = Some(meta.generation.unwrap_or(0) + 1);
}

/// A picked object: its index among the fleet's objects of its kind, and the object.
type Picked<'a> = (usize, &'a Object);

fn route_edits(picked: &[Picked]) -> Vec<ChangeEpoch> {
    let mut current: BTreeMap<usize, HTTPRoute> = BTreeMap::new();
    picked
        .iter()
        .enumerate()
        .map(|(i, &(idx, o))| {
            let Object::HTTPRoute(original) = o else {
                unreachable!("picked by kind")
            };
            let route = current.entry(idx).or_insert_with(|| original.clone());
            edit_route(route, i);
            ChangeEpoch::measured(Change::Upsert(Object::HTTPRoute(route.clone())))
        })
        .collect()
}

/// Edit number `i`: a header filter value, backend weights, a path, or a timeout.
fn edit_route(route: &mut HTTPRoute, i: usize) {
    bump(&mut route.metadata);
    let Some(rule) = route.spec.rules.first_mut() else {
        return;
    };
    match i % 4 {
        1 if rule.backend_refs.len() > 1 => {
            rule.backend_refs[0].weight = 1 + (i % 100) as i32;
            rule.backend_refs[1].weight = 100 - (i % 100) as i32;
        }
        2 => {
            if let Some(path) = rule.matches.first_mut().and_then(|m| m.path.as_mut()) {
                let head = path
                    .value
                    .split('/')
                    .find(|s| !s.is_empty())
                    .unwrap_or("edit")
                    .to_owned();
                path.value = match path.type_ {
                    PathMatchType::RegularExpression => format!("/{head}/v{i}/[0-9]+"),
                    _ => format!("/{head}-v{i}"),
                };
            }
        }
        3 if !rule.backend_refs.is_empty() => {
            let t = rule.timeouts.get_or_insert_with(Default::default);
            t.request = Some(format!("{}s", 61 + i % 50));
            t.backend_request = None;
        }
        _ => {
            let edit = header("x-edit", &i.to_string());
            match rule
                .filters
                .iter_mut()
                .find(|f| f.type_ == HTTPRouteFilterType::RequestHeaderModifier)
                .and_then(|f| f.request_header_modifier.as_mut())
            {
                Some(m) => {
                    m.set.retain(|h| h.name != "x-edit");
                    m.set.push(edit);
                }
                None => {
                    let mut f = empty_filter(HTTPRouteFilterType::RequestHeaderModifier);
                    f.request_header_modifier = Some(HTTPHeaderFilter {
                        set: vec![edit],
                        ..HTTPHeaderFilter::default()
                    });
                    rule.filters.insert(0, f);
                }
            }
        }
    }
}

fn route_adds(fleet: FleetKind, seed: u64, n: usize, rng: &mut ChaCha8Rng) -> Vec<ChangeEpoch> {
    let plan = Plan::new(fleet, seed);
    let namespaces: Vec<usize> = (0..plan.shape.namespaces)
        .filter(|ns| !plan.services_in(*ns).is_empty())
        .collect();
    if namespaces.is_empty() {
        return Vec::new();
    }
    (0..n)
        .map(|i| {
            let ns = namespaces[rng.random_range(0..namespaces.len())];
            let route = plan.route(
                rng,
                ns,
                &format!("route-add-{i}"),
                plan.shape.http_routes + i,
                &format!("add{i}"),
                &mut None,
            );
            ChangeEpoch::measured(Change::Upsert(Object::HTTPRoute(route)))
        })
        .collect()
}

/// Deletes each picked object, then restores it unmeasured.
fn deletions(picked: &[Picked]) -> Vec<ChangeEpoch> {
    let mut out = Vec::with_capacity(2 * picked.len());
    for (_, o) in picked {
        out.push(ChangeEpoch::measured(Change::Delete(o.obj_ref())));
        out.push(ChangeEpoch::restore((*o).clone()));
    }
    out
}

fn endpoint_changes(picked: &[Picked], rng: &mut ChaCha8Rng) -> Vec<ChangeEpoch> {
    let mut current: BTreeMap<usize, Object> = BTreeMap::new();
    picked
        .iter()
        .enumerate()
        .map(|(i, &(idx, original))| {
            let o = current.entry(idx).or_insert_with(|| original.clone());
            let Object::EndpointSlice(slice) = o else {
                unreachable!("picked by kind")
            };
            let eps = &mut slice.endpoints;
            match i % 3 {
                0 if !eps.is_empty() => {
                    let k = rng.random_range(0..eps.len());
                    eps[k].addresses = vec![format!(
                        "172.{}.{}.{}",
                        16 + ((i >> 16) & 15),
                        (i >> 8) & 255,
                        i & 255
                    )];
                }
                1 if !eps.is_empty() => {
                    let k = rng.random_range(0..eps.len());
                    let c = eps[k]
                        .conditions
                        .get_or_insert_with(EndpointConditions::default);
                    c.ready = Some(!c.ready.unwrap_or(true));
                }
                _ => {
                    if eps.len() > 4 {
                        eps.pop();
                    } else {
                        eps.push(Endpoint {
                            addresses: vec![format!("172.31.{}.{}", (i >> 8) & 255, i & 255)],
                            conditions: Some(EndpointConditions {
                                ready: Some(true),
                                serving: None,
                                terminating: None,
                            }),
                            zone: Some("zone-a".to_owned()),
                            ..Endpoint::default()
                        });
                    }
                }
            }
            ChangeEpoch::measured(Change::Upsert(o.clone()))
        })
        .collect()
}

fn listener_changes(picked: &[Picked]) -> Vec<ChangeEpoch> {
    let mut out = Vec::with_capacity(2 * picked.len());
    for (i, &(_, o)) in picked.iter().enumerate() {
        let Object::Gateway(original) = o else {
            unreachable!("picked by kind")
        };
        let mut gw = original.clone();
        bump(&mut gw.metadata);
        let name = gw.metadata.name.clone().unwrap_or_default();
        let listeners = &mut gw.spec.listeners;
        match i % 3 {
            0 => match listeners.iter_mut().find(|l| l.name == "http-8080") {
                Some(l) => l.port = if l.port == 8080 { 8081 } else { 8080 },
                None => listeners.push(Listener {
                    name: "http-8080".to_owned(),
                    hostname: Some(format!("*.{name}-8080.example.com")),
                    port: 8080,
                    protocol: "HTTP".to_owned(),
                    tls: None,
                    allowed_routes: AllowedRoutes::default(),
                }),
            },
            1 => {
                if listeners.iter().any(|l| l.name == "extra") {
                    listeners.retain(|l| l.name != "extra");
                } else {
                    listeners.push(Listener {
                        name: "extra".to_owned(),
                        hostname: Some(format!("*.extra.{name}.example.org")),
                        port: 80,
                        protocol: "HTTP".to_owned(),
                        tls: None,
                        allowed_routes: AllowedRoutes::default(),
                    });
                }
            }
            _ => {
                if let Some(l) = listeners.first_mut() {
                    let from = if l.allowed_routes.namespaces.from == FromNamespaces::All {
                        FromNamespaces::Same
                    } else {
                        FromNamespaces::All
                    };
                    l.allowed_routes.namespaces = RouteNamespaces {
                        from,
                        selector: None,
                    };
                }
            }
        }
        out.push(ChangeEpoch::measured(Change::Upsert(Object::Gateway(gw))));
        out.push(ChangeEpoch::restore(Object::Gateway(original.clone())));
    }
    out
}

fn gateway_policies(picked: &[Picked]) -> Vec<ChangeEpoch> {
    let mut generations: BTreeMap<usize, i64> = BTreeMap::new();
    picked
        .iter()
        .enumerate()
        .map(|(i, &(idx, o))| {
            let meta = o.meta();
            let gw_name = meta.name.clone().unwrap_or_default();
            let target = LocalPolicyTargetReferenceWithSectionName {
                group: GATEWAY_GROUP.to_owned(),
                kind: "Gateway".to_owned(),
                name: gw_name.clone(),
                section_name: None,
            };
            let mut policy = TrafficPolicy::new(
                &format!("gw-policy-{gw_name}"),
                policy_spec(target, i % 4, i),
            );
            let generation = generations.entry(idx).or_insert(0);
            *generation += 1;
            policy.metadata.namespace = meta.namespace.clone();
            policy.metadata.generation = Some(*generation);
            policy.metadata.creation_timestamp = Some(created(idx));
            ChangeEpoch::measured(Change::Upsert(Object::TrafficPolicy(policy)))
        })
        .collect()
}
