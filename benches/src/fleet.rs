//! The fleet generator: seeded, deterministic worlds of Kubernetes objects at the sizes of
//! `performance.md` (S, L, XL) and the "hot listener" shape, plus the change sequences the
//! benchmark applies to them.
//!
//! ```text
//!   GatewayClass sluice ─ Namespace ns-0000 … (labels env, team)
//!                         ├─ Gateway gw-<g>        1–3 HTTP listeners (2 on average): :80 *.gw-<g>.example.com,
//!                         │                        :8080 *.gw-<g>-8080.example.com, :80 *.gw-<g>.example.net
//!                         ├─ Service svc-<s>       :80 http (+ :9090 grpc h2c), EndpointSlice svc-<s>-<hash>, 4 endpoints in 3 zones
//!                         ├─ Backend ext-<b>       kgateway static
//!                         ├─ DirectResponse dr-<d>
//!                         ├─ ReferenceGrant        HTTPRoutes of the previous namespace → Services here
//!                         ├─ HTTPRoute route-<r>   1–4 rules, mixed matches, filters, 1–3 weighted backendRefs
//!                         │                        (~10% to the next namespace, a few dangling)
//!                         └─ TrafficPolicy tp-<p>  10% target a Gateway, the rest an HTTPRoute (or one of its rules)
//! ```
//!
//! Every random choice comes from a `ChaCha8Rng` seeded from the fleet seed and the identity
//! of what is being drawn (a namespace, a Gateway, a change sequence), never from a hash
//! container's iteration order: the same kind and seed give the same objects, in the same
//! order, byte for byte. Attributes another namespace needs to know (a Gateway's listeners
//! and `allowedRoutes`, which Services exist) are pure functions of the seed and an index, so
//! each namespace can be generated on its own ([`generate_namespace`]) — which is how tests
//! check the structure of fleet L without building all of it.
//!
//! Object counts of the table ([`Shape`]) are exact; the per-route variety (rules, matches,
//! filters, backendRefs) is random. [`Counts`] measures what was generated.

mod build;
mod changes;

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sluice_crds::{Kind, Object};

pub use changes::{Change, ChangeEpoch, ChangeKind, Objects, Sample, changes, picks};

use build::Plan;

/// Which fleet to generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum FleetKind {
    /// 10 Gateways, 1,000 HTTPRoutes.
    S,
    /// 10,000 Gateways, 100,000 HTTPRoutes.
    L,
    /// 100,000 Gateways, 1,000,000 HTTPRoutes.
    XL,
    /// One Gateway with one listener carrying 10,000 HTTPRoutes with distinct hostnames.
    Hot,
}

impl FleetKind {
    pub const ALL: [FleetKind; 4] = [FleetKind::S, FleetKind::L, FleetKind::XL, FleetKind::Hot];

    /// The name used on the command line and in reports (`S`, `L`, `XL`, `hot`).
    pub fn name(self) -> &'static str {
        match self {
            FleetKind::S => "S",
            FleetKind::L => "L",
            FleetKind::XL => "XL",
            FleetKind::Hot => "hot",
        }
    }

    /// The exact object counts this fleet is generated with.
    pub fn shape(self) -> Shape {
        Shape::of(self)
    }
}

impl std::fmt::Display for FleetKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for FleetKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "s" => Ok(FleetKind::S),
            "l" => Ok(FleetKind::L),
            "xl" => Ok(FleetKind::XL),
            "hot" => Ok(FleetKind::Hot),
            _ => Err(format!("unknown fleet `{s}` (expected S, L, XL or hot)")),
        }
    }
}

/// The planned size of a fleet: exactly what [`generate`] produces (the table of
/// `performance.md`, plus the kinds the table does not fix).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shape {
    pub namespaces: usize,
    pub gateways: usize,
    /// Total listeners: 2 per Gateway on average (1 for the hot listener).
    pub listeners: usize,
    pub http_routes: usize,
    pub services: usize,
    /// One EndpointSlice per Service.
    pub endpoint_slices: usize,
    pub endpoints_per_service: usize,
    /// TrafficPolicies.
    pub policies: usize,
    /// The TrafficPolicies targeting a Gateway (10%).
    pub gateway_policies: usize,
    /// One per namespace (granting the previous namespace's routes), none with one namespace.
    pub reference_grants: usize,
    /// kgateway static Backends.
    pub backends: usize,
    pub direct_responses: usize,
}

impl Shape {
    pub fn of(kind: FleetKind) -> Shape {
        let (namespaces, gateways, http_routes, services, policies, backends) = match kind {
            FleetKind::S => (10, 10, 1_000, 500, 100, 20),
            FleetKind::L => (100, 10_000, 100_000, 50_000, 10_000, 1_000),
            FleetKind::XL => (1_000, 100_000, 1_000_000, 500_000, 100_000, 10_000),
            FleetKind::Hot => (10, 1, 10_000, 1_000, 100, 20),
        };
        let listeners = if kind == FleetKind::Hot {
            1
        } else {
            2 * gateways
        };
        Shape {
            namespaces,
            gateways,
            listeners,
            http_routes,
            services,
            endpoint_slices: services,
            endpoints_per_service: 4,
            policies,
            // Policy `p` targets a Gateway when `p % 10 == 0` (and its namespace has one).
            gateway_policies: if kind == FleetKind::Hot {
                0
            } else {
                policies.div_ceil(10)
            },
            reference_grants: if namespaces > 1 { namespaces } else { 0 },
            backends,
            direct_responses: backends,
        }
    }

    /// Objects in the fleet: the GatewayClass, Namespaces and everything in them.
    pub fn objects(&self) -> usize {
        1 + self.namespaces
            + self.gateways
            + self.http_routes
            + self.services
            + self.endpoint_slices
            + self.policies
            + self.reference_grants
            + self.backends
            + self.direct_responses
    }
}

/// What a fleet contains, counted from its objects.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub objects: usize,
    pub gateway_classes: usize,
    pub namespaces: usize,
    pub gateways: usize,
    pub listeners: usize,
    pub http_routes: usize,
    pub rules: usize,
    pub matches: usize,
    pub filters: usize,
    pub backend_refs: usize,
    /// backendRefs to another namespace (covered by a ReferenceGrant or not).
    pub cross_namespace_refs: usize,
    /// backendRefs to a Service that does not exist.
    pub dangling_refs: usize,
    pub services: usize,
    pub endpoint_slices: usize,
    pub endpoints: usize,
    pub policies: usize,
    pub gateway_policies: usize,
    pub reference_grants: usize,
    pub backends: usize,
    pub direct_responses: usize,
}

impl Counts {
    /// Counts `objects`.
    pub fn of(objects: &[Object]) -> Counts {
        let mut c = Counter::default();
        for o in objects {
            c.add(o);
        }
        c.finish()
    }
}

/// Counts objects one at a time, for fleets that are never held whole. A backendRef can
/// name a Service generated later (the next namespace's), so dangling references are only
/// settled by [`Counter::finish`].
#[derive(Debug, Default)]
pub struct Counter {
    counts: Counts,
    services: BTreeSet<(String, String)>,
    /// Service backendRefs by `(namespace, name)`: how many name each.
    service_refs: BTreeMap<(String, String), usize>,
}

impl Counter {
    pub fn add(&mut self, o: &Object) {
        let c = &mut self.counts;
        c.objects += 1;
        match o {
            Object::GatewayClass(_) => c.gateway_classes += 1,
            Object::Namespace(_) => c.namespaces += 1,
            Object::Gateway(g) => {
                c.gateways += 1;
                c.listeners += g.spec.listeners.len();
            }
            Object::HTTPRoute(r) => {
                c.http_routes += 1;
                let ns = r.metadata.namespace.as_deref().unwrap_or("");
                for rule in &r.spec.rules {
                    c.rules += 1;
                    c.matches += rule.matches.len();
                    c.filters += rule.filters.len();
                    for b in &rule.backend_refs {
                        c.backend_refs += 1;
                        let to_ns = b.namespace.as_deref().unwrap_or(ns);
                        if to_ns != ns {
                            c.cross_namespace_refs += 1;
                        }
                        if b.group.is_empty() && b.kind == "Service" {
                            *self
                                .service_refs
                                .entry((to_ns.to_owned(), b.name.clone()))
                                .or_default() += 1;
                        }
                    }
                }
            }
            Object::Service(s) => {
                c.services += 1;
                self.services.insert((
                    s.metadata.namespace.clone().unwrap_or_default(),
                    s.metadata.name.clone().unwrap_or_default(),
                ));
            }
            Object::EndpointSlice(s) => {
                c.endpoint_slices += 1;
                c.endpoints += s.endpoints.len();
            }
            Object::TrafficPolicy(p) => {
                c.policies += 1;
                if p.spec.target_refs.iter().any(|t| t.kind == "Gateway") {
                    c.gateway_policies += 1;
                }
            }
            Object::ReferenceGrant(_) => c.reference_grants += 1,
            Object::Backend(_) => c.backends += 1,
            Object::DirectResponse(_) => c.direct_responses += 1,
            _ => {}
        }
    }

    pub fn finish(mut self) -> Counts {
        self.counts.dangling_refs = self
            .service_refs
            .iter()
            .filter(|(k, _)| !self.services.contains(*k))
            .map(|(_, n)| n)
            .sum();
        self.counts
    }
}

/// A generated fleet: its objects (cluster-scoped first, then namespace by namespace) and
/// their counts.
#[derive(Clone, Debug)]
pub struct Fleet {
    pub kind: FleetKind,
    pub seed: u64,
    pub objects: Vec<Object>,
    pub counts: Counts,
    /// Positions in `objects` of each kind's objects, in order.
    by_kind: BTreeMap<Kind, Vec<usize>>,
}

/// Generates the fleet `kind` from `seed`.
pub fn generate(kind: FleetKind, seed: u64) -> Fleet {
    let mut objects = Vec::with_capacity(kind.shape().objects());
    let mut by_kind: BTreeMap<Kind, Vec<usize>> = BTreeMap::new();
    let counts = stream(kind, seed, |o| {
        by_kind.entry(o.kind()).or_default().push(objects.len());
        objects.push(o);
    });
    Fleet {
        kind,
        seed,
        objects,
        counts,
        by_kind,
    }
}

/// Makes the fleet `kind` object by object, in [`generate`]'s order, handing each to `each`
/// and keeping none: the benchmark lowers a fleet of millions of objects without ever holding
/// it. Returns the counts.
pub fn stream(kind: FleetKind, seed: u64, mut each: impl FnMut(Object)) -> Counts {
    let plan = Plan::new(kind, seed);
    let mut counter = Counter::default();
    let mut give = |o: Object| {
        counter.add(&o);
        each(o);
    };
    plan.cluster_objects().into_iter().for_each(&mut give);
    for ns in 0..plan.shape.namespaces {
        plan.namespace_objects(ns).into_iter().for_each(&mut give);
    }
    counter.finish()
}

impl Objects for Fleet {
    fn fleet(&self) -> (FleetKind, u64) {
        (self.kind, self.seed)
    }

    fn count(&self, kind: Kind) -> usize {
        self.by_kind.get(&kind).map_or(0, Vec::len)
    }

    fn get(&self, kind: Kind, i: usize) -> &Object {
        &self.objects[self.by_kind[&kind][i]]
    }
}

/// The objects of namespace number `ns` of fleet `kind` (the Namespace itself first), exactly
/// as [`generate`] makes them: lets a test inspect a slice of a large fleet.
pub fn generate_namespace(kind: FleetKind, seed: u64, ns: usize) -> Vec<Object> {
    let plan = Plan::new(kind, seed);
    let mut objects: Vec<Object> = plan
        .cluster_objects()
        .into_iter()
        .filter(|o| matches!(o, Object::Namespace(n) if n.metadata.name.as_deref() == Some(plan.ns_name(ns).as_str())))
        .collect();
    objects.extend(plan.namespace_objects(ns));
    objects
}

/// The name of namespace number `i` (`ns-0007`).
pub fn namespace_name(i: usize) -> String {
    build::ns_name(i)
}

/// Generates fleet `kind` and writes it as multi-document YAML: `cluster.yaml` (GatewayClass,
/// Namespaces) and one `<namespace>.yaml` per namespace, each in generation order; creates
/// `dir` if needed. One object at a time: neither the fleet nor its text is ever held whole
/// (fleet XL is millions of objects). Returns the counts.
pub fn write_yaml(kind: FleetKind, seed: u64, dir: &Path) -> io::Result<Counts> {
    use std::io::Write;
    std::fs::create_dir_all(dir)?;
    // Objects come grouped by file (cluster-scoped first, then namespace by namespace), so one
    // file is open at a time; a file seen again would be appended to, never truncated.
    let mut opened: BTreeSet<String> = BTreeSet::new();
    let mut current: Option<(String, io::BufWriter<std::fs::File>)> = None;
    let mut failed: Option<io::Error> = None;
    let counts = stream(kind, seed, |o| {
        if failed.is_some() {
            return;
        }
        let mut write = || -> io::Result<()> {
            let file = yaml_file_of(&o);
            if current.as_ref().is_none_or(|(name, _)| *name != file) {
                if let Some((_, mut w)) = current.take() {
                    w.flush()?;
                }
                let fresh = opened.insert(file.clone());
                let f = std::fs::OpenOptions::new()
                    .create(true)
                    .write(true)
                    .append(!fresh)
                    .truncate(fresh)
                    .open(dir.join(&file))?;
                current = Some((file, io::BufWriter::new(f)));
            }
            let (_, w) = current.as_mut().expect("opened above");
            w.write_all(b"---\n")?;
            serde_yaml_ng::to_writer(&mut *w, &o).map_err(io::Error::other)
        };
        if let Err(e) = write() {
            failed = Some(e);
        }
    });
    if let Some(e) = failed {
        return Err(e);
    }
    if let Some((_, mut w)) = current.take() {
        w.flush()?;
    }
    Ok(counts)
}

/// The file an object is written to: its namespace's, or `cluster.yaml`.
fn yaml_file_of(o: &Object) -> String {
    match (o.kind().is_namespaced(), o.meta().namespace.as_deref()) {
        (true, Some(ns)) => format!("{ns}.yaml"),
        _ => "cluster.yaml".to_owned(),
    }
}

/// The files [`write_yaml`] writes for `fleet`, by file name, made in memory.
pub fn yaml_files(fleet: &Fleet) -> io::Result<BTreeMap<String, String>> {
    let mut files: BTreeMap<String, String> = BTreeMap::new();
    for o in &fleet.objects {
        let file = yaml_file_of(o);
        let doc = serde_yaml_ng::to_string(o).map_err(io::Error::other)?;
        let text = files.entry(file).or_default();
        text.push_str("---\n");
        text.push_str(&doc);
    }
    Ok(files)
}
