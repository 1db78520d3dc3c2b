//! The xDS resource cache: the dataflow's output, encoded once, versioned by content, and cut
//! into per-Gateway views. Pure (no tokio, no I/O): `server::source` wraps it for the ADS
//! servers.
//!
//! # Resources and versions
//! Every resource of an [`OutputBatch`] is encoded once (`convert::encode`) into an
//! [`Encoded`]: its envoy-types `Any`, the names it references, and a version
//! `{prefix}.{hash}`. `hash` is the first 128 bits (hex) of the SHA-256 of the type URL and
//! the deterministic encoded bytes, so the same content has the same hash in every run and
//! process (checklist 25). `prefix` is a process epoch given at construction
//! ([`process_epoch`] in production, a constant in tests): a SotW client that reconnects to a
//! restarted server never sees a version it already holds (checklist 27).
//!
//! Delta `initial_resource_versions` are compared on the hash part only
//! ([`version_hash`]): the hash names the exact bytes the client holds, so a resource that did
//! not change across a control-plane restart is not resent, and one that did is. (Comparing the
//! whole string would also be correct, at the price of resending everything once per restart.)
//!
//! # Per-Gateway views
//! A proxy serves one Gateway (`ns/name`). Its view is closed under references:
//! - the Listeners named `{ns}/{name}/{port}` (the roots),
//! - the RouteConfigurations their filter chains name (`FilterChainIr.route_config_name`),
//! - the Clusters those route configurations forward or mirror to,
//! - the ClusterLoadAssignments of the EDS clusters among them (same name as the cluster),
//! - the SDS Secrets their filter chains terminate TLS with.
//!
//! Secrets are not in the dataflow's output: they are cut out of the Listeners here
//! (`convert::listener_secrets`), stored like any resource while at least one stored Listener
//! names them, and removed with the last. A rotated certificate changes the Secret's version;
//! the Listener's bytes (which only name the Secret) and so its version stay the same.
//!
//! The reference graph is maintained incrementally: each Gateway keeps a reference count per
//! resource name (names may be referenced before the resource exists); a resource's own
//! references count for a Gateway only while the resource exists and the Gateway counts it. A
//! batch therefore costs work proportional to the references it changes, not to the cache
//! size, and a resource that no longer is referenced leaves the view (the deletion cascades).
//!
//! Each (Gateway, type) carries a generation: the cache's apply counter at the last batch that
//! changed that part of the view (membership or content). Streams compare generations to know
//! whether there is anything to look at.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use envoy_types::pb::google::protobuf::Any as PbAny;
use prost::Message;
use sha2::{Digest, Sha256};
use sluice_dataflow::ir::{ActionIr, DiscoveryIr, Resource, TlsCertIr, XdsKey, XdsType};
use sluice_dataflow::output::OutputBatch;

use crate::convert;

/// Hex digits of the content hash kept in a version (128 bits).
const HASH_HEX_DIGITS: usize = 32;

/// A Gateway a proxy serves, `ns/name`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GatewayId(String);

impl GatewayId {
    pub fn new(namespace: &str, name: &str) -> GatewayId {
        GatewayId(format!("{namespace}/{name}"))
    }

    /// `ns/name` with both parts non-empty and exactly one `/`.
    pub fn parse(s: &str) -> Option<GatewayId> {
        let (ns, name) = s.split_once('/')?;
        let ok = !ns.is_empty() && !name.is_empty() && !name.contains('/');
        ok.then(|| GatewayId(s.to_string()))
    }

    /// The Gateway a listener belongs to: its name minus the trailing `/{port}`.
    pub fn of_listener(listener_name: &str) -> Option<GatewayId> {
        let (gateway, _port) = listener_name.rsplit_once('/')?;
        GatewayId::parse(gateway)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for GatewayId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One resource, encoded once and shared by every stream that sends it (checklist 34).
#[derive(Clone, Debug, PartialEq)]
pub struct Encoded {
    pub ty: XdsType,
    pub name: String,
    /// `{prefix}.{content hash}`.
    pub version: String,
    /// What goes on the wire.
    pub any: PbAny,
    /// The resources this one references (route configurations of a listener, clusters of a
    /// route configuration, the CLA of an EDS cluster), sorted and deduplicated.
    pub refs: Vec<XdsKey>,
}

impl Encoded {
    /// Encodes `resource` under the version prefix `prefix`.
    pub fn new(resource: &Resource, prefix: &str) -> Encoded {
        let key = resource.key();
        Encoded::of(key, convert::encode(resource), references(resource), prefix)
    }

    /// The SDS Secret of a listener's certificate.
    pub fn secret(tls: &TlsCertIr, prefix: &str) -> Encoded {
        let key = XdsKey {
            ty: XdsType::Secret,
            name: tls.secret.clone(),
        };
        let value = convert::to_envoy_secret(tls).encode_to_vec();
        Encoded::of(key, value, Vec::new(), prefix)
    }

    fn of(key: XdsKey, value: Vec<u8>, refs: Vec<XdsKey>, prefix: &str) -> Encoded {
        let type_url = key.ty.type_url();
        let mut hasher = Sha256::new();
        hasher.update(type_url.as_bytes());
        hasher.update([0u8]);
        hasher.update(&value);
        let digest = hasher.finalize();
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        Encoded {
            ty: key.ty,
            name: key.name,
            version: format!("{prefix}.{}", &hex[..HASH_HEX_DIGITS]),
            any: PbAny {
                type_url: type_url.to_string(),
                value,
            },
            refs,
        }
    }

    /// The content hash part of the version.
    pub fn hash(&self) -> &str {
        version_hash(&self.version)
    }

    /// Whether this is a cluster whose endpoints come over EDS.
    pub fn is_eds_cluster(&self) -> bool {
        self.ty == XdsType::Cluster && self.refs.iter().any(|r| r.ty == XdsType::Endpoint)
    }
}

/// The content-hash part of a version string (`{prefix}.{hash}`); a foreign version without a
/// `.` is returned whole (and so never matches one of ours).
pub fn version_hash(version: &str) -> &str {
    version.rsplit_once('.').map_or(version, |(_, h)| h)
}

/// A process epoch for version prefixes: the current time in milliseconds, so a restarted
/// server uses a prefix its predecessor never used.
pub fn process_epoch() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The resources `resource` references, sorted and deduplicated.
fn references(resource: &Resource) -> Vec<XdsKey> {
    let key = |ty, name: &str| XdsKey {
        ty,
        name: name.to_string(),
    };
    let refs: BTreeSet<XdsKey> = match resource {
        Resource::Listener(l) => l
            .filter_chains
            .iter()
            .map(|c| key(XdsType::Route, &c.route_config_name))
            .chain(
                l.filter_chains
                    .iter()
                    .filter_map(|c| c.tls.as_ref())
                    .map(|t| key(XdsType::Secret, &t.secret)),
            )
            .collect(),
        Resource::Route(rc) => rc
            .virtual_hosts
            .iter()
            .flat_map(|vh| &vh.routes)
            .flat_map(|r| match &r.action {
                ActionIr::Forward(f) => f
                    .clusters
                    .iter()
                    .map(|c| c.cluster.as_str())
                    .chain(f.mirrors.iter().map(|m| m.cluster.as_str()))
                    .collect::<Vec<_>>(),
                ActionIr::Redirect(_) | ActionIr::Direct { .. } => Vec::new(),
            })
            .map(|c| key(XdsType::Cluster, c))
            .collect(),
        Resource::Cluster(c) => match c.discovery {
            DiscoveryIr::Eds => [key(XdsType::Endpoint, &c.name)].into(),
            DiscoveryIr::Static { .. } => BTreeSet::new(),
        },
        Resource::Endpoint(_) => BTreeSet::new(),
    };
    refs.into_iter().collect()
}

/// Index of a type in the per-type arrays (the make-before-break order).
pub(crate) fn type_index(ty: XdsType) -> usize {
    ty as usize
}

type Store = [BTreeMap<String, Arc<Encoded>>; XdsType::COUNT];

/// What a (Gateway, type) pair's view changed by, for generation bumps.
type Touched = BTreeSet<(GatewayId, XdsType)>;

#[derive(Debug, Default)]
struct GatewayView {
    /// Per type: name → number of references from this Gateway's view (roots count one).
    counts: [BTreeMap<String, u32>; XdsType::COUNT],
    generation: [u64; XdsType::COUNT],
}

impl GatewayView {
    fn is_empty(&self) -> bool {
        self.counts.iter().all(BTreeMap::is_empty)
    }
}

/// The reference graph, per Gateway.
#[derive(Debug, Default)]
struct Graph {
    views: BTreeMap<GatewayId, GatewayView>,
    /// Resource → the Gateways whose view counts it, sorted. Usually one or a few: a sorted
    /// vector, not a set per resource (a million resources at fleet XL).
    members: BTreeMap<XdsKey, Vec<GatewayId>>,
}

impl Graph {
    fn inc(&mut self, store: &Store, gw: &GatewayId, key: &XdsKey, touched: &mut Touched) {
        let view = self.views.entry(gw.clone()).or_default();
        let count = view.counts[type_index(key.ty)]
            .entry(key.name.clone())
            .or_insert(0);
        *count += 1;
        if *count > 1 {
            return;
        }
        let members = self.members.entry(key.clone()).or_default();
        if let Err(at) = members.binary_search(gw) {
            members.insert(at, gw.clone());
        }
        if let Some(res) = store[type_index(key.ty)].get(&key.name) {
            touched.insert((gw.clone(), key.ty));
            for r in &res.refs {
                self.inc(store, gw, r, touched);
            }
        }
    }

    fn dec(&mut self, store: &Store, gw: &GatewayId, key: &XdsKey, touched: &mut Touched) {
        let Some(view) = self.views.get_mut(gw) else {
            return;
        };
        let counts = &mut view.counts[type_index(key.ty)];
        let Some(count) = counts.get_mut(&key.name) else {
            return;
        };
        *count -= 1;
        if *count > 0 {
            return;
        }
        counts.remove(&key.name);
        if let Some(m) = self.members.get_mut(key) {
            if let Ok(at) = m.binary_search(gw) {
                m.remove(at);
            }
            if m.is_empty() {
                self.members.remove(key);
            }
        }
        if let Some(res) = store[type_index(key.ty)].get(&key.name) {
            touched.insert((gw.clone(), key.ty));
            for r in &res.refs {
                self.dec(store, gw, r, touched);
            }
        }
    }
}

/// The encoded resources of the current epoch, and their per-Gateway views.
#[derive(Debug)]
pub struct XdsCache {
    prefix: String,
    /// Epoch of the last applied batch.
    epoch: u64,
    /// Number of applied batches: the generation of whatever the last batch touched.
    applied: u64,
    store: Store,
    graph: Graph,
    /// Secret name → how many stored Listeners name it.
    secret_holders: BTreeMap<String, u32>,
}

impl XdsCache {
    /// An empty cache whose versions start with `process_epoch` (hex).
    pub fn new(process_epoch: u64) -> XdsCache {
        XdsCache {
            prefix: format!("{process_epoch:x}"),
            epoch: 0,
            applied: 0,
            store: Default::default(),
            graph: Graph::default(),
            secret_holders: BTreeMap::new(),
        }
    }

    /// The version prefix (the process epoch, hex).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Epoch of the last applied batch.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Applies one epoch's changes; returns the Gateways whose view changed.
    pub fn apply(&mut self, batch: &OutputBatch) -> BTreeSet<GatewayId> {
        self.applied += 1;
        self.epoch = batch.epoch;
        let mut touched = Touched::new();
        for key in &batch.deletes {
            if let Some(old) = self.store[type_index(key.ty)].remove(&key.name) {
                self.relink(key, Some(&old.refs), None, &mut touched);
                self.release_secrets(&old.refs, &mut touched);
            }
        }
        for resource in &batch.upserts {
            // A listener's secrets go in first, so that linking the listener finds them.
            if let Resource::Listener(l) = resource {
                for tls in convert::listener_secrets(l).into_values() {
                    self.hold_secret(tls, &mut touched);
                }
            }
            let enc = Arc::new(Encoded::new(resource, &self.prefix));
            let key = XdsKey {
                ty: enc.ty,
                name: enc.name.clone(),
            };
            let old = self.store[type_index(key.ty)].insert(key.name.clone(), enc.clone());
            if let Some(old) = &old {
                self.release_secrets(&old.refs, &mut touched);
            }
            if old.as_ref().is_some_and(|o| o.version == enc.version) {
                continue;
            }
            self.relink(
                &key,
                old.as_ref().map(|o| o.refs.as_slice()),
                Some(&enc.refs),
                &mut touched,
            );
        }
        let mut gateways = BTreeSet::new();
        for (gw, ty) in touched {
            if let Some(view) = self.graph.views.get_mut(&gw) {
                view.generation[type_index(ty)] = self.applied;
                if view.is_empty() {
                    self.graph.views.remove(&gw);
                }
            }
            gateways.insert(gw);
        }
        gateways
    }

    /// Stores (or updates) a Secret one more Listener names.
    fn hold_secret(&mut self, tls: &TlsCertIr, touched: &mut Touched) {
        *self.secret_holders.entry(tls.secret.clone()).or_insert(0) += 1;
        let enc = Arc::new(Encoded::secret(tls, &self.prefix));
        let key = XdsKey {
            ty: XdsType::Secret,
            name: enc.name.clone(),
        };
        let old = self.store[type_index(key.ty)].insert(key.name.clone(), enc.clone());
        match old {
            Some(o) if o.version == enc.version => {}
            Some(_) => self.relink(&key, Some(&[]), Some(&[]), touched),
            None => self.relink(&key, None, Some(&[]), touched),
        }
    }

    /// A Listener that named the Secrets among `refs` is gone or replaced: drop the Secrets
    /// no stored Listener names any more.
    fn release_secrets(&mut self, refs: &[XdsKey], touched: &mut Touched) {
        for key in refs.iter().filter(|r| r.ty == XdsType::Secret) {
            let Some(holders) = self.secret_holders.get_mut(&key.name) else {
                continue;
            };
            *holders -= 1;
            if *holders == 0 {
                self.secret_holders.remove(&key.name);
                if self.store[type_index(key.ty)].remove(&key.name).is_some() {
                    self.relink(key, Some(&[]), None, touched);
                }
            }
        }
    }

    /// Updates the graph after `key` changed from `old` references (None: did not exist) to
    /// `new` (None: deleted). The store already holds the new state.
    fn relink(
        &mut self,
        key: &XdsKey,
        old: Option<&[XdsKey]>,
        new: Option<&[XdsKey]>,
        touched: &mut Touched,
    ) {
        let old_refs: BTreeSet<&XdsKey> = old.into_iter().flatten().collect();
        let new_refs: BTreeSet<&XdsKey> = new.into_iter().flatten().collect();
        let viewers: Vec<GatewayId> = self.graph.members.get(key).cloned().unwrap_or_default();
        for gw in &viewers {
            touched.insert((gw.clone(), key.ty));
            for r in old_refs.difference(&new_refs) {
                self.graph.dec(&self.store, gw, r, touched);
            }
            for r in new_refs.difference(&old_refs) {
                self.graph.inc(&self.store, gw, r, touched);
            }
        }
        if key.ty == XdsType::Listener
            && let Some(gw) = GatewayId::of_listener(&key.name)
        {
            match (old.is_some(), new.is_some()) {
                (false, true) => self.graph.inc(&self.store, &gw, key, touched),
                (true, false) => self.graph.dec(&self.store, &gw, key, touched),
                _ => {}
            }
        }
    }

    /// A resource of the global set.
    pub fn get(&self, ty: XdsType, name: &str) -> Option<&Arc<Encoded>> {
        self.store[type_index(ty)].get(name)
    }

    /// All resources of one type, by name (the global view, for `/debug/xds`).
    pub fn all(&self, ty: XdsType) -> impl Iterator<Item = &Arc<Encoded>> {
        self.store[type_index(ty)].values()
    }

    /// Number of resources in the cache.
    pub fn len(&self) -> usize {
        self.store.iter().map(BTreeMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The Gateways that have a non-empty view.
    pub fn gateways(&self) -> impl Iterator<Item = &GatewayId> {
        self.graph.views.keys()
    }

    /// The resources of type `ty` in `gw`'s view, by name.
    pub fn resources_for<'a>(
        &'a self,
        gw: &GatewayId,
        ty: XdsType,
    ) -> impl Iterator<Item = &'a Arc<Encoded>> + 'a {
        let store = &self.store[type_index(ty)];
        self.graph
            .views
            .get(gw)
            .into_iter()
            .flat_map(move |v| v.counts[type_index(ty)].keys())
            .filter_map(move |name| store.get(name))
    }

    /// Resource `name` of type `ty` if it exists and is in `gw`'s view.
    pub fn get_for(&self, gw: &GatewayId, ty: XdsType, name: &str) -> Option<&Arc<Encoded>> {
        let view = self.graph.views.get(gw)?;
        view.counts[type_index(ty)].get(name)?;
        self.store[type_index(ty)].get(name)
    }

    /// `gw`'s whole view, per type.
    pub fn view(&self, gw: &GatewayId) -> BTreeMap<XdsType, BTreeMap<String, Arc<Encoded>>> {
        XdsType::ALL
            .into_iter()
            .map(|ty| {
                let by_name = self
                    .resources_for(gw, ty)
                    .map(|e| (e.name.clone(), e.clone()))
                    .collect();
                (ty, by_name)
            })
            .collect()
    }

    /// Changes whenever `gw`'s view of `ty` changes (0 for an empty view).
    pub fn generation(&self, gw: &GatewayId, ty: XdsType) -> u64 {
        self.graph
            .views
            .get(gw)
            .map_or(0, |v| v.generation[type_index(ty)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_dataflow::ir::*;

    fn listener(gw: &str, port: u16, rcs: &[&str]) -> Resource {
        Resource::from(ListenerIr {
            name: format!("{gw}/{port}"),
            address: "0.0.0.0".into(),
            port,
            settings: None,
            filter_chains: rcs
                .iter()
                .map(|rc| FilterChainIr {
                    name: rc.to_string(),
                    server_names: Vec::new(),
                    tls: None,
                    route_config_name: rc.to_string(),
                })
                .collect(),
        })
    }

    fn route_config(name: &str, clusters: &[&str], mirror: Option<&str>) -> Resource {
        let forward = ForwardIr {
            clusters: clusters
                .iter()
                .map(|c| WeightedClusterIr {
                    cluster: c.to_string(),
                    weight: 1,
                    request_headers: HeaderOpsIr::default(),
                    response_headers: HeaderOpsIr::default(),
                })
                .collect(),
            timeout_ms: None,
            per_try_timeout_ms: None,
            host_rewrite: None,
            path_rewrite: None,
            mirrors: mirror
                .iter()
                .map(|m| MirrorIr {
                    cluster: m.to_string(),
                    fraction_ppm: 1_000_000,
                })
                .collect(),
            retry: None,
            idle_timeout_ms: None,
            auto_host_rewrite: false,
            internal_redirect: None,
        };
        Resource::from(RouteConfigIr {
            name: name.into(),
            virtual_hosts: vec![VirtualHostIr {
                name: format!("{name}/*"),
                domains: vec!["*".into()],
                routes: vec![Arc::new(RouteIr {
                    name: "r".into(),
                    path: PathMatchIr::Prefix("/".into()),
                    headers: Vec::new(),
                    query: Vec::new(),
                    action: ActionIr::forward(forward),
                    request_headers: HeaderOpsIr::default(),
                    response_headers: HeaderOpsIr::default(),
                    cors: None,
                    filters: Vec::new(),
                    stat_prefix: None,
                    tracing: None,
                })],
            }],
        })
    }

    fn cluster(name: &str, eds: bool) -> Resource {
        Resource::from(ClusterIr {
            name: name.into(),
            discovery: if eds {
                DiscoveryIr::Eds
            } else {
                DiscoveryIr::Static {
                    hosts: vec![("10.0.0.1".into(), 80)],
                }
            },
            http2: false,
            connect_timeout_ms: 5000,
        })
    }

    fn cla(name: &str, ips: &[&str]) -> Resource {
        Resource::from(EndpointsIr {
            cluster_name: name.into(),
            localities: vec![LocalityIr {
                zone: String::new(),
                weight: ips.len() as u32,
                endpoints: ips.iter().map(|ip| (ip.to_string(), 8080, true)).collect(),
            }],
        })
    }

    fn batch(epoch: u64, upserts: Vec<Resource>, deletes: &[(XdsType, &str)]) -> OutputBatch {
        OutputBatch {
            epoch,
            upserts,
            deletes: deletes
                .iter()
                .map(|(ty, n)| XdsKey {
                    ty: *ty,
                    name: n.to_string(),
                })
                .collect(),
            ..Default::default()
        }
    }

    fn names(cache: &XdsCache, gw: &GatewayId, ty: XdsType) -> Vec<String> {
        cache
            .resources_for(gw, ty)
            .map(|e| e.name.clone())
            .collect()
    }

    fn world() -> Vec<Resource> {
        vec![
            listener("ns/a", 80, &["ns/a/80"]),
            route_config("ns/a/80", &["svc/ns/x/80", "svc/ns/shared/80"], None),
            listener("ns/b", 8080, &["ns/b/8080"]),
            route_config("ns/b/8080", &["svc/ns/shared/80"], Some("backend/ns/m")),
            cluster("svc/ns/x/80", true),
            cluster("svc/ns/shared/80", true),
            cluster("backend/ns/m", false),
            cla("svc/ns/x/80", &["10.1.0.1"]),
            cla("svc/ns/shared/80", &["10.1.0.2"]),
            cla("svc/ns/orphan/80", &["10.1.0.3"]),
        ]
    }

    #[test]
    fn views_follow_references() {
        let mut cache = XdsCache::new(1);
        let touched = cache.apply(&batch(1, world(), &[]));
        let a = GatewayId::new("ns", "a");
        let b = GatewayId::new("ns", "b");
        assert_eq!(touched, [a.clone(), b.clone()].into());
        assert_eq!(names(&cache, &a, XdsType::Listener), ["ns/a/80"]);
        assert_eq!(names(&cache, &a, XdsType::Route), ["ns/a/80"]);
        assert_eq!(
            names(&cache, &a, XdsType::Cluster),
            ["svc/ns/shared/80", "svc/ns/x/80"]
        );
        assert_eq!(
            names(&cache, &a, XdsType::Endpoint),
            ["svc/ns/shared/80", "svc/ns/x/80"]
        );
        // Mirrors count; static clusters have no CLA.
        assert_eq!(
            names(&cache, &b, XdsType::Cluster),
            ["backend/ns/m", "svc/ns/shared/80"]
        );
        assert_eq!(names(&cache, &b, XdsType::Endpoint), ["svc/ns/shared/80"]);
        assert!(cache.get_for(&b, XdsType::Route, "ns/a/80").is_none());
        assert!(cache.get(XdsType::Endpoint, "svc/ns/orphan/80").is_some());
        assert_eq!(cache.len(), 10);
    }

    #[test]
    fn references_may_precede_resources() {
        let mut cache = XdsCache::new(1);
        let a = GatewayId::new("ns", "a");
        cache.apply(&batch(1, vec![listener("ns/a", 80, &["ns/a/80"])], &[]));
        assert!(names(&cache, &a, XdsType::Route).is_empty());
        cache.apply(&batch(
            2,
            vec![route_config("ns/a/80", &["c"], None), cluster("c", true)],
            &[],
        ));
        assert_eq!(names(&cache, &a, XdsType::Cluster), ["c"]);
        // The CLA arrives last and joins the view.
        let g = cache.generation(&a, XdsType::Endpoint);
        cache.apply(&batch(3, vec![cla("c", &["10.0.0.1"])], &[]));
        assert_eq!(names(&cache, &a, XdsType::Endpoint), ["c"]);
        assert_ne!(cache.generation(&a, XdsType::Endpoint), g);
    }

    #[test]
    fn shared_cluster_stays_while_any_gateway_references_it() {
        let mut cache = XdsCache::new(1);
        cache.apply(&batch(1, world(), &[]));
        let a = GatewayId::new("ns", "a");
        let b = GatewayId::new("ns", "b");
        let gen_b = cache.generation(&b, XdsType::Cluster);
        // Gateway a's route config stops using the shared cluster.
        let touched = cache.apply(&batch(
            2,
            vec![route_config("ns/a/80", &["svc/ns/x/80"], None)],
            &[],
        ));
        assert_eq!(touched, [a.clone()].into());
        assert_eq!(names(&cache, &a, XdsType::Cluster), ["svc/ns/x/80"]);
        assert_eq!(names(&cache, &a, XdsType::Endpoint), ["svc/ns/x/80"]);
        assert_eq!(
            names(&cache, &b, XdsType::Cluster),
            ["backend/ns/m", "svc/ns/shared/80"]
        );
        assert_eq!(cache.generation(&b, XdsType::Cluster), gen_b);
        // A change of the shared CLA touches only b now.
        let touched = cache.apply(&batch(3, vec![cla("svc/ns/shared/80", &["10.9.9.9"])], &[]));
        assert_eq!(touched, [b].into());
    }

    #[test]
    fn deletion_cascades() {
        let mut cache = XdsCache::new(1);
        cache.apply(&batch(1, world(), &[]));
        let a = GatewayId::new("ns", "a");
        // Deleting the listener empties the whole view, although the resources still exist.
        cache.apply(&batch(2, Vec::new(), &[(XdsType::Listener, "ns/a/80")]));
        for ty in XdsType::ALL {
            assert!(names(&cache, &a, ty).is_empty(), "{ty:?}");
        }
        assert_eq!(cache.generation(&a, XdsType::Cluster), 0);
        assert!(cache.gateways().all(|g| g != &a));
        // Recreating it brings everything back.
        cache.apply(&batch(3, vec![listener("ns/a", 80, &["ns/a/80"])], &[]));
        assert_eq!(names(&cache, &a, XdsType::Endpoint).len(), 2);
        // A cluster switched to static discovery drops its CLA from the view.
        cache.apply(&batch(4, vec![cluster("svc/ns/x/80", false)], &[]));
        assert_eq!(names(&cache, &a, XdsType::Endpoint), ["svc/ns/shared/80"]);
    }

    #[test]
    fn versions_are_content_hashes_under_the_prefix() {
        let mut one = XdsCache::new(0xabc);
        let mut two = XdsCache::new(0xdef);
        one.apply(&batch(1, world(), &[]));
        two.apply(&batch(7, world().into_iter().rev().collect(), &[]));
        for ty in XdsType::ALL {
            for (x, y) in one.all(ty).zip(two.all(ty)) {
                assert_eq!(x.name, y.name);
                assert_eq!(x.hash(), y.hash());
                assert_eq!(x.any, y.any);
                assert!(x.version.starts_with("abc."), "{}", x.version);
                assert!(y.version.starts_with("def."), "{}", y.version);
            }
        }
        let before = one.get(XdsType::Endpoint, "svc/ns/x/80").unwrap().clone();
        one.apply(&batch(2, vec![cla("svc/ns/x/80", &["10.1.0.9"])], &[]));
        let after = one.get(XdsType::Endpoint, "svc/ns/x/80").unwrap();
        assert_ne!(before.version, after.version);
        assert_eq!(version_hash("foreign"), "foreign");
    }

    #[test]
    fn identical_upsert_touches_nothing() {
        let mut cache = XdsCache::new(1);
        cache.apply(&batch(1, world(), &[]));
        let touched = cache.apply(&batch(2, vec![cla("svc/ns/x/80", &["10.1.0.1"])], &[]));
        assert!(touched.is_empty());
    }

    fn https_listener(gw: &str, cert: &str) -> Resource {
        Resource::from(ListenerIr {
            name: format!("{gw}/443"),
            address: "0.0.0.0".into(),
            port: 443,
            settings: None,
            filter_chains: vec![FilterChainIr {
                name: "rc".into(),
                server_names: vec!["x.example".into()],
                tls: Some(TlsCertIr {
                    secret: "certs/c".into(),
                    cert_chain: cert.into(),
                    private_key: format!("key of {cert}"),
                }),
                route_config_name: "rc".into(),
            }],
        })
    }

    #[test]
    fn secrets_follow_their_listeners_and_rotate_alone() {
        let mut cache = XdsCache::new(1);
        let (a, b) = (GatewayId::new("ns", "a"), GatewayId::new("ns", "b"));
        let both = |cert| vec![https_listener("ns/a", cert), https_listener("ns/b", cert)];
        cache.apply(&batch(1, both("v1"), &[]));
        assert_eq!(names(&cache, &a, XdsType::Secret), ["certs/c"]);
        assert_eq!(names(&cache, &b, XdsType::Secret), ["certs/c"]);
        let lds = cache.get(XdsType::Listener, "ns/a/443").unwrap().clone();
        let secret = cache.get(XdsType::Secret, "certs/c").unwrap().clone();
        assert!(!String::from_utf8_lossy(&lds.any.value).contains("key of"));
        let (gl, gs) = (
            cache.generation(&a, XdsType::Listener),
            cache.generation(&a, XdsType::Secret),
        );
        // Rotation: the Secret changes, the Listener's bytes and version do not.
        let touched = cache.apply(&batch(2, both("v2"), &[]));
        assert_eq!(touched, [a.clone(), b.clone()].into());
        assert_eq!(
            cache.get(XdsType::Listener, "ns/a/443").unwrap().version,
            lds.version
        );
        assert_ne!(
            cache.get(XdsType::Secret, "certs/c").unwrap().version,
            secret.version
        );
        assert_eq!(cache.generation(&a, XdsType::Listener), gl);
        assert_ne!(cache.generation(&a, XdsType::Secret), gs);
        // The Secret stays while any Listener names it.
        cache.apply(&batch(3, Vec::new(), &[(XdsType::Listener, "ns/a/443")]));
        assert!(names(&cache, &a, XdsType::Secret).is_empty());
        assert_eq!(names(&cache, &b, XdsType::Secret), ["certs/c"]);
        cache.apply(&batch(4, vec![listener("ns/b", 443, &["rc"])], &[]));
        assert!(cache.get(XdsType::Secret, "certs/c").is_none());
        assert!(cache.is_empty() || cache.all(XdsType::Secret).next().is_none());
    }

    #[test]
    fn gateway_ids() {
        assert_eq!(
            GatewayId::of_listener("ns/gw/443"),
            Some(GatewayId::new("ns", "gw"))
        );
        assert_eq!(GatewayId::parse("ns/gw").unwrap().as_str(), "ns/gw");
        assert_eq!(GatewayId::parse("ns/gw/x"), None);
        assert_eq!(GatewayId::parse("/gw"), None);
        assert_eq!(GatewayId::parse("gw"), None);
    }
}
