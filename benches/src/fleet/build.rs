//! Object builders of the fleet generator: a [`Plan`] (kind, shape, seed) and the functions
//! that turn indices and seeded random draws into objects.
//!
//! Global indices name objects (`gw-17`, `route-4711`, `svc-99`), so names are unique across
//! the fleet and a reference can be written without looking the target up. Namespace `i`
//! holds the contiguous index range `split(total, namespaces, i)` of every kind.

use std::collections::BTreeMap;
use std::ops::Range;

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use sluice_crds::Object;
use sluice_crds::core::{EndpointSlice, Namespace, Service};
use sluice_crds::gateway_api::{
    AllowedRoutes, FromNamespaces, GatewayClass, GatewayClassSpec, GatewaySpec, HTTPBackendRef,
    HTTPHeader, HTTPHeaderFilter, HTTPHeaderMatch, HTTPMethod, HTTPPathMatch, HTTPPathModifier,
    HTTPPathModifierType, HTTPRequestMirrorFilter, HTTPRequestRedirectFilter, HTTPRoute,
    HTTPRouteFilter, HTTPRouteFilterType, HTTPRouteMatch, HTTPRouteRule, HTTPRouteSpec,
    HTTPRouteTimeouts, HTTPURLRewriteFilter, HeaderMatchType, Listener, LocalObjectReference,
    LocalPolicyTargetReferenceWithSectionName, ParentReference, PathMatchType, RedirectScheme,
    ReferenceGrant, ReferenceGrantFrom, ReferenceGrantSpec, ReferenceGrantTo, RouteNamespaces,
};
use sluice_crds::gateway_api::{BackendObjectReference, Gateway};
use sluice_crds::k8s_openapi::api::core::v1::{ServicePort, ServiceSpec};
use sluice_crds::k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort};
use sluice_crds::k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    LabelSelector, ObjectMeta, Time,
};
use sluice_crds::k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use sluice_crds::k8s_openapi::jiff::Timestamp;
use sluice_crds::kgateway::{
    AppProtocol, Backend, BackendSpec, CorsPolicy, DirectResponse, DirectResponseSpec,
    HeaderFilter, HeaderModifiers, HeaderValue, Host, Retry, RetryOnCondition, StaticBackend,
    Timeouts, TrafficPolicy, TrafficPolicySpec,
};

use super::{FleetKind, Shape};

/// The controller name of the fleet's GatewayClass (sluice's default).
pub(crate) const CONTROLLER: &str = "sluice.dev/gateway-controller";
/// The fleet's GatewayClass.
pub(crate) const CLASS: &str = "sluice";
pub(crate) const GATEWAY_GROUP: &str = "gateway.networking.k8s.io";
pub(crate) const KGATEWAY_GROUP: &str = "gateway.kgateway.dev";
/// 2025-01-01T00:00:00Z: objects are "created" one second apart from here.
const BASE_TIME: i64 = 1_735_689_600;

/// Random-stream tags: each kind of draw has its own stream per index.
pub(crate) mod tag {
    pub const NAMESPACE: u64 = 1;
    pub const GATEWAY_PAIR: u64 = 3;
    pub const SERVICE: u64 = 4;
    pub const CHANGES: u64 = 5;
    pub const CHANGE_PICKS: u64 = 6;
}

const WORDS: [&str; 24] = [
    "api",
    "users",
    "orders",
    "cart",
    "search",
    "static",
    "auth",
    "admin",
    "health",
    "img",
    "checkout",
    "catalog",
    "login",
    "metrics",
    "billing",
    "profile",
    "feed",
    "media",
    "docs",
    "events",
    "payments",
    "inventory",
    "reviews",
    "support",
];

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The random stream for draw `tag` number `index` of the fleet seeded `seed`.
pub(crate) fn rng_for(seed: u64, tag: u64, index: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(splitmix(splitmix(splitmix(seed) ^ tag) ^ index))
}

/// The `i`-th of `parts` contiguous, near-equal ranges covering `0..total`.
pub(crate) fn split(total: usize, parts: usize, i: usize) -> Range<usize> {
    (total * i / parts)..(total * (i + 1) / parts)
}

/// The name of namespace number `i`.
pub(crate) fn ns_name(i: usize) -> String {
    format!("ns-{i:04}")
}

fn pick<'a, T>(rng: &mut ChaCha8Rng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

fn pick_in(rng: &mut ChaCha8Rng, range: &Range<usize>) -> usize {
    rng.random_range(range.clone())
}

/// `1..=weights.len()`, drawn with the given percentages.
fn weighted_count(rng: &mut ChaCha8Rng, weights: &[u32]) -> usize {
    let total: u32 = weights.iter().sum();
    let mut x = rng.random_range(0..total);
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i + 1;
        }
        x -= w;
    }
    weights.len()
}

pub(crate) fn meta(ns: Option<&str>, name: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_owned()),
        namespace: ns.map(str::to_owned),
        ..ObjectMeta::default()
    }
}

/// `creationTimestamp` of the object created `offset` seconds after the fleet's base time.
pub(crate) fn created(offset: usize) -> Time {
    let secs = BASE_TIME + i64::try_from(offset).expect("offset fits i64");
    Time(Timestamp::from_second(secs).expect("timestamp in range"))
}

fn labels<const N: usize>(pairs: [(&str, &str); N]) -> BTreeMap<String, String> {
    pairs
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

pub(crate) fn empty_filter(type_: HTTPRouteFilterType) -> HTTPRouteFilter {
    HTTPRouteFilter {
        type_,
        request_header_modifier: None,
        response_header_modifier: None,
        request_mirror: None,
        request_redirect: None,
        url_rewrite: None,
        cors: None,
        extension_ref: None,
    }
}

pub(crate) fn header(name: &str, value: &str) -> HTTPHeader {
    HTTPHeader {
        name: name.to_owned(),
        value: value.to_owned(),
    }
}

/// Which namespaces a Gateway's listeners admit routes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Allowed {
    Same,
    All,
    /// Namespaces labelled `env: prod`.
    Prod,
}

#[derive(Clone, Debug)]
pub(crate) struct ListenerPlan {
    pub name: &'static str,
    pub port: i32,
    /// With a leading `*.`.
    pub hostname: String,
}

impl ListenerPlan {
    /// The hostname of a route called `label` under this listener.
    pub fn route_hostname(&self, label: &str) -> String {
        format!("{label}.{}", self.hostname.trim_start_matches("*."))
    }
}

/// What other namespaces need to know of a Gateway.
#[derive(Clone, Debug)]
pub(crate) struct GatewayPlan {
    pub index: usize,
    pub ns: usize,
    pub listeners: Vec<ListenerPlan>,
    pub allowed: Allowed,
}

impl GatewayPlan {
    pub fn name(&self) -> String {
        format!("gw-{}", self.index)
    }

    /// Whether a route in namespace `ns` may attach.
    pub fn admits(&self, plan: &Plan, ns: usize) -> bool {
        match self.allowed {
            Allowed::Same => ns == self.ns,
            Allowed::All => true,
            Allowed::Prod => ns == self.ns || plan.env(ns) == "prod",
        }
    }
}

/// Where a route attaches and under which hostname: the memory of the previous route, so
/// some routes share a hostname (and compete on paths).
#[derive(Clone, Debug)]
pub(crate) struct Attachment {
    pub parent: ParentReference,
    pub hostnames: Vec<String>,
}

/// A fleet's kind, shape and seed: everything generation depends on.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    pub kind: FleetKind,
    pub shape: Shape,
    pub seed: u64,
}

impl Plan {
    pub fn new(kind: FleetKind, seed: u64) -> Plan {
        Plan {
            kind,
            shape: Shape::of(kind),
            seed,
        }
    }

    fn hot(&self) -> bool {
        self.kind == FleetKind::Hot
    }

    pub fn ns_name(&self, i: usize) -> String {
        ns_name(i)
    }

    pub fn env(&self, ns: usize) -> &'static str {
        if ns % 4 == 3 { "staging" } else { "prod" }
    }

    pub fn gateways_in(&self, ns: usize) -> Range<usize> {
        if self.hot() {
            return if ns == 0 { 0..1 } else { 0..0 };
        }
        split(self.shape.gateways, self.shape.namespaces, ns)
    }

    pub fn routes_in(&self, ns: usize) -> Range<usize> {
        split(self.shape.http_routes, self.shape.namespaces, ns)
    }

    pub fn services_in(&self, ns: usize) -> Range<usize> {
        split(self.shape.services, self.shape.namespaces, ns)
    }

    pub fn policies_in(&self, ns: usize) -> Range<usize> {
        split(self.shape.policies, self.shape.namespaces, ns)
    }

    pub fn backends_in(&self, ns: usize) -> Range<usize> {
        split(self.shape.backends, self.shape.namespaces, ns)
    }

    pub fn direct_responses_in(&self, ns: usize) -> Range<usize> {
        split(self.shape.direct_responses, self.shape.namespaces, ns)
    }

    /// The namespace holding Gateway `g`.
    pub fn ns_of_gateway(&self, g: usize) -> usize {
        if self.hot() {
            return 0;
        }
        let (n, total) = (self.shape.namespaces, self.shape.gateways);
        ((g + 1) * n - 1) / total
    }

    /// Listeners of Gateway `g`: 2, or 1 and 3 for a pair of Gateways, so the total is
    /// exactly twice the number of Gateways.
    fn listener_count(&self, g: usize) -> usize {
        let total = self.shape.gateways;
        if self.hot() {
            return 1;
        }
        if total % 2 == 1 && g == total - 1 {
            return 2;
        }
        let mut rng = rng_for(self.seed, tag::GATEWAY_PAIR, (g / 2) as u64);
        match rng.random_range(0..4u32) {
            0 => [1, 3][g % 2],
            1 => [3, 1][g % 2],
            _ => 2,
        }
    }

    pub fn gateway_plan(&self, g: usize) -> GatewayPlan {
        let ns = self.ns_of_gateway(g);
        if self.hot() {
            return GatewayPlan {
                index: g,
                ns,
                listeners: vec![ListenerPlan {
                    name: "http",
                    port: 80,
                    hostname: "*.hot.example.com".to_owned(),
                }],
                allowed: Allowed::All,
            };
        }
        // Exactly 10% of Gateways admit routes from all namespaces, 10% from `env: prod`.
        let allowed = match g % 10 {
            3 => Allowed::All,
            7 => Allowed::Prod,
            _ => Allowed::Same,
        };
        let all = [
            ListenerPlan {
                name: "http",
                port: 80,
                hostname: format!("*.gw-{g}.example.com"),
            },
            ListenerPlan {
                name: "http-8080",
                port: 8080,
                hostname: format!("*.gw-{g}-8080.example.com"),
            },
            ListenerPlan {
                name: "http-net",
                port: 80,
                hostname: format!("*.gw-{g}.example.net"),
            },
        ];
        let listeners = all.into_iter().take(self.listener_count(g)).collect();
        GatewayPlan {
            index: g,
            ns,
            listeners,
            allowed,
        }
    }

    /// The GatewayClass and every Namespace.
    pub fn cluster_objects(&self) -> Vec<Object> {
        let mut class = GatewayClass::new(
            CLASS,
            GatewayClassSpec {
                controller_name: CONTROLLER.to_owned(),
                parameters_ref: None,
                description: Some("sluice benchmark fleet".to_owned()),
            },
        );
        class.metadata.generation = Some(1);
        let mut out = vec![Object::GatewayClass(class)];
        for i in 0..self.shape.namespaces {
            let name = self.ns_name(i);
            let team = format!("team-{}", i % 7);
            let mut m = meta(None, &name);
            m.labels = Some(labels([
                ("kubernetes.io/metadata.name", name.as_str()),
                ("env", self.env(i)),
                ("team", team.as_str()),
            ]));
            out.push(Object::Namespace(Namespace {
                metadata: m,
                ..Namespace::default()
            }));
        }
        out
    }

    /// Everything in namespace `ns`, in a fixed order: Gateways, Services and their
    /// EndpointSlices, Backends, DirectResponses, the ReferenceGrant, HTTPRoutes,
    /// TrafficPolicies.
    pub fn namespace_objects(&self, ns: usize) -> Vec<Object> {
        let mut out = Vec::new();
        for g in self.gateways_in(ns) {
            out.push(Object::Gateway(self.gateway(&self.gateway_plan(g))));
        }
        for s in self.services_in(ns) {
            let (svc, slice) = self.service(ns, s);
            out.push(Object::Service(svc));
            out.push(Object::EndpointSlice(slice));
        }
        for b in self.backends_in(ns) {
            out.push(Object::Backend(self.backend(ns, b)));
        }
        for d in self.direct_responses_in(ns) {
            out.push(Object::DirectResponse(self.direct_response(ns, d)));
        }
        if let Some(grant) = self.grant(ns) {
            out.push(Object::ReferenceGrant(grant));
        }
        let mut rng = rng_for(self.seed, tag::NAMESPACE, ns as u64);
        let mut last = None;
        let mut routes = Vec::new();
        for r in self.routes_in(ns) {
            let route = self.route(
                &mut rng,
                ns,
                &format!("route-{r}"),
                r,
                &format!("r{r}"),
                &mut last,
            );
            routes.push(route);
        }
        let policies: Vec<TrafficPolicy> = self
            .policies_in(ns)
            .map(|p| self.policy(&mut rng, ns, p, &routes))
            .collect();
        out.extend(routes.into_iter().map(Object::HTTPRoute));
        out.extend(policies.into_iter().map(Object::TrafficPolicy));
        out
    }

    pub fn gateway(&self, plan: &GatewayPlan) -> Gateway {
        let allowed_routes = match plan.allowed {
            Allowed::Same => AllowedRoutes::default(),
            Allowed::All => AllowedRoutes {
                namespaces: RouteNamespaces {
                    from: FromNamespaces::All,
                    selector: None,
                },
                kinds: Vec::new(),
            },
            Allowed::Prod => AllowedRoutes {
                namespaces: RouteNamespaces {
                    from: FromNamespaces::Selector,
                    selector: Some(LabelSelector {
                        match_labels: Some(labels([("env", "prod")])),
                        match_expressions: None,
                    }),
                },
                kinds: Vec::new(),
            },
        };
        let listeners = plan
            .listeners
            .iter()
            .map(|l| Listener {
                name: l.name.to_owned(),
                hostname: Some(l.hostname.clone()),
                port: l.port,
                protocol: "HTTP".to_owned(),
                tls: None,
                allowed_routes: allowed_routes.clone(),
            })
            .collect();
        let mut gw = Gateway::new(
            &plan.name(),
            GatewaySpec {
                gateway_class_name: CLASS.to_owned(),
                listeners,
                addresses: Vec::new(),
                infrastructure: None,
                allowed_listeners: None,
                tls: None,
            },
        );
        gw.metadata.namespace = Some(self.ns_name(plan.ns));
        gw.metadata.generation = Some(1);
        gw.metadata.creation_timestamp = Some(created(plan.index));
        gw
    }

    /// Service `svc-<s>` (`:80` http, sometimes `:9090` grpc) and its EndpointSlice with
    /// four endpoints spread over three zones.
    pub fn service(&self, ns: usize, s: usize) -> (Service, EndpointSlice) {
        let mut rng = rng_for(self.seed, tag::SERVICE, s as u64);
        let ns_name = self.ns_name(ns);
        let name = format!("svc-{s}");
        let grpc = rng.random_ratio(1, 5);
        let mut ports = vec![ServicePort {
            name: Some("http".to_owned()),
            port: 80,
            target_port: Some(IntOrString::Int(8080)),
            protocol: Some("TCP".to_owned()),
            ..ServicePort::default()
        }];
        let mut slice_ports = vec![EndpointPort {
            name: Some("http".to_owned()),
            port: Some(8080),
            protocol: Some("TCP".to_owned()),
            app_protocol: None,
        }];
        if grpc {
            ports.push(ServicePort {
                name: Some("grpc".to_owned()),
                port: 9090,
                target_port: Some(IntOrString::Int(9090)),
                protocol: Some("TCP".to_owned()),
                app_protocol: Some("kubernetes.io/h2c".to_owned()),
                ..ServicePort::default()
            });
            slice_ports.push(EndpointPort {
                name: Some("grpc".to_owned()),
                port: Some(9090),
                protocol: Some("TCP".to_owned()),
                app_protocol: Some("kubernetes.io/h2c".to_owned()),
            });
        }
        let mut svc_meta = meta(Some(&ns_name), &name);
        svc_meta.labels = Some(labels([("app", name.as_str())]));
        let svc = Service {
            metadata: svc_meta,
            spec: Some(ServiceSpec {
                ports: Some(ports),
                selector: Some(labels([("app", name.as_str())])),
                type_: Some("ClusterIP".to_owned()),
                ..ServiceSpec::default()
            }),
            status: None,
        };
        const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        let suffix: String = (0..5)
            .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
            .collect();
        let endpoints = (0..self.shape.endpoints_per_service)
            .map(|k| {
                let idx = s * self.shape.endpoints_per_service + k + 1;
                Endpoint {
                    addresses: vec![pod_ip(idx)],
                    conditions: Some(EndpointConditions {
                        ready: Some(!rng.random_ratio(1, 20)),
                        serving: None,
                        terminating: None,
                    }),
                    zone: Some(format!("zone-{}", ["a", "b", "c"][k % 3])),
                    node_name: Some(format!("node-{}", idx % 97)),
                    ..Endpoint::default()
                }
            })
            .collect();
        let mut slice_meta = meta(Some(&ns_name), &format!("{name}-{suffix}"));
        slice_meta.labels = Some(labels([
            ("kubernetes.io/service-name", name.as_str()),
            (
                "endpointslice.kubernetes.io/managed-by",
                "endpointslice-controller.k8s.io",
            ),
        ]));
        let slice = EndpointSlice {
            metadata: slice_meta,
            address_type: "IPv4".to_owned(),
            endpoints,
            ports: Some(slice_ports),
        };
        (svc, slice)
    }

    pub fn backend(&self, ns: usize, b: usize) -> Backend {
        let host = if b.is_multiple_of(2) {
            Host {
                host: format!("ext-{b}.example.org"),
                port: 443,
            }
        } else {
            Host {
                host: format!("192.0.2.{}", b % 254 + 1),
                port: 8080,
            }
        };
        let mut backend = Backend::new(
            &format!("ext-{b}"),
            BackendSpec {
                static_: Some(StaticBackend {
                    hosts: vec![host],
                    app_protocol: b.is_multiple_of(5).then_some(AppProtocol::Http2),
                }),
                ..BackendSpec::default()
            },
        );
        backend.metadata.namespace = Some(self.ns_name(ns));
        backend.metadata.generation = Some(1);
        backend
    }

    pub fn direct_response(&self, ns: usize, d: usize) -> DirectResponse {
        let status = [200, 404, 503, 418][d % 4];
        let mut dr = DirectResponse::new(
            &format!("dr-{d}"),
            DirectResponseSpec {
                status_code: status,
                body: Some(format!("direct response dr-{d}: {status}\n")),
                body_format: None,
            },
        );
        dr.metadata.namespace = Some(self.ns_name(ns));
        dr.metadata.generation = Some(1);
        dr
    }

    /// The grant letting the previous namespace's HTTPRoutes reach Services in `ns`.
    pub fn grant(&self, ns: usize) -> Option<ReferenceGrant> {
        let n = self.shape.namespaces;
        if n < 2 {
            return None;
        }
        let from = self.ns_name((ns + n - 1) % n);
        let mut grant = ReferenceGrant::new(
            &format!("allow-routes-from-{from}"),
            ReferenceGrantSpec {
                from: vec![ReferenceGrantFrom {
                    group: GATEWAY_GROUP.to_owned(),
                    kind: "HTTPRoute".to_owned(),
                    namespace: from,
                }],
                to: vec![ReferenceGrantTo {
                    group: String::new(),
                    kind: "Service".to_owned(),
                    name: None,
                }],
            },
        );
        grant.metadata.namespace = Some(self.ns_name(ns));
        Some(grant)
    }

    /// Picks the Gateway and listener a route in `ns` attaches to, and its hostname.
    fn attachment(&self, rng: &mut ChaCha8Rng, ns: usize, label: &str) -> Attachment {
        let n = self.shape.namespaces;
        let local = self.gateways_in(ns);
        let gw = if self.hot() {
            self.gateway_plan(0)
        } else if local.is_empty() {
            let r = pick_in(rng, &self.routes_in(ns));
            self.gateway_plan(r * self.shape.gateways / self.shape.http_routes)
        } else if n > 1 && rng.random_ratio(3, 100) {
            // Attach to a Gateway of the next namespace that admits us, if there is one.
            let foreign: Vec<GatewayPlan> = self
                .gateways_in((ns + 1) % n)
                .map(|g| self.gateway_plan(g))
                .filter(|p| p.admits(self, ns))
                .collect();
            if foreign.is_empty() {
                self.gateway_plan(pick_in(rng, &local))
            } else {
                pick(rng, &foreign).clone()
            }
        } else {
            self.gateway_plan(pick_in(rng, &local))
        };
        let namespace = (gw.ns != ns).then(|| self.ns_name(gw.ns));
        let parent = |section: Option<&str>| ParentReference {
            group: GATEWAY_GROUP.to_owned(),
            kind: "Gateway".to_owned(),
            namespace: namespace.clone(),
            name: gw.name(),
            section_name: section.map(str::to_owned),
            port: None,
        };
        let x = rng.random_range(0..100u32);
        if self.hot() || x < 85 || (x >= 95 && gw.ns != ns) {
            Attachment {
                parent: parent(None),
                hostnames: vec![gw.listeners[0].route_hostname(label)],
            }
        } else if x < 95 {
            // A named listener other than the first, when the Gateway has one.
            let l = if gw.listeners.len() > 1 {
                &gw.listeners[1 + rng.random_range(0..gw.listeners.len() - 1)]
            } else {
                &gw.listeners[0]
            };
            Attachment {
                parent: parent(Some(l.name)),
                hostnames: vec![l.route_hostname(label)],
            }
        } else {
            // No hostnames: attaches to every listener of the Gateway.
            Attachment {
                parent: parent(None),
                hostnames: Vec::new(),
            }
        }
    }

    /// HTTPRoute `name` in `ns`; `created_offset` orders it by age, `label` is its hostname's
    /// first label. One route in ten shares the previous route's parent and hostname.
    pub fn route(
        &self,
        rng: &mut ChaCha8Rng,
        ns: usize,
        name: &str,
        created_offset: usize,
        label: &str,
        last: &mut Option<Attachment>,
    ) -> HTTPRoute {
        let attachment = match last.as_ref() {
            Some(prev) if !self.hot() && rng.random_ratio(1, 10) => prev.clone(),
            _ => self.attachment(rng, ns, label),
        };
        *last = Some(attachment.clone());
        let n_rules = weighted_count(rng, &[40, 30, 20, 10]);
        let rules = (0..n_rules).map(|k| self.rule(rng, ns, k)).collect();
        let mut route = HTTPRoute::new(
            name,
            HTTPRouteSpec {
                parent_refs: vec![attachment.parent],
                hostnames: attachment.hostnames,
                rules,
            },
        );
        route.metadata.namespace = Some(self.ns_name(ns));
        route.metadata.generation = Some(1);
        route.metadata.creation_timestamp = Some(created(created_offset));
        route
    }

    fn path_match(&self, rng: &mut ChaCha8Rng) -> HTTPPathMatch {
        let w = pick(rng, &WORDS);
        let x = rng.random_range(0..100u32);
        let (type_, value) = if x < 60 {
            let value = if rng.random_ratio(3, 10) {
                format!("/{w}/{}", pick(rng, &WORDS))
            } else {
                format!("/{w}")
            };
            (PathMatchType::PathPrefix, value)
        } else if x < 85 {
            (
                PathMatchType::Exact,
                format!("/{w}/{}", rng.random_range(1..1000u32)),
            )
        } else if rng.random_bool(0.5) {
            (PathMatchType::RegularExpression, format!("/{w}/[0-9]+"))
        } else {
            (PathMatchType::RegularExpression, format!("/{w}/v[0-9]+/.*"))
        };
        HTTPPathMatch { type_, value }
    }

    fn route_match(&self, rng: &mut ChaCha8Rng) -> HTTPRouteMatch {
        let path = self.path_match(rng);
        let mut headers = Vec::new();
        if rng.random_ratio(1, 5) {
            headers.push(if rng.random_ratio(1, 4) {
                HTTPHeaderMatch {
                    type_: HeaderMatchType::RegularExpression,
                    name: "x-version".to_owned(),
                    value: "v[12]".to_owned(),
                }
            } else {
                HTTPHeaderMatch {
                    type_: HeaderMatchType::Exact,
                    name: "x-tenant".to_owned(),
                    value: format!("t-{}", rng.random_range(0..20u32)),
                }
            });
        }
        let mut query_params = Vec::new();
        if rng.random_ratio(1, 10) {
            query_params.push(HTTPHeaderMatch {
                type_: HeaderMatchType::Exact,
                name: "lang".to_owned(),
                value: pick(rng, &["en", "de", "fr", "ja"]).to_string(),
            });
        }
        let method = rng.random_ratio(3, 20).then(|| {
            *pick(
                rng,
                &[
                    HTTPMethod::Get,
                    HTTPMethod::Post,
                    HTTPMethod::Put,
                    HTTPMethod::Delete,
                ],
            )
        });
        HTTPRouteMatch {
            path: Some(path),
            headers,
            query_params,
            method,
        }
    }

    fn service_ref(&self, ns: Option<String>, name: String) -> BackendObjectReference {
        BackendObjectReference {
            group: String::new(),
            kind: "Service".to_owned(),
            name,
            namespace: ns,
            port: Some(80),
        }
    }

    /// One backendRef target: mostly a Service of the namespace, ~10% a Service of the next
    /// namespace (granted), a few kgateway Backends, a few dangling or ungranted.
    fn backend_target(&self, rng: &mut ChaCha8Rng, ns: usize) -> BackendObjectReference {
        let n = self.shape.namespaces;
        let u = rng.random_range(0..1000u32);
        let backends = self.backends_in(ns);
        if u < 5 {
            self.service_ref(
                None,
                format!("svc-missing-{}", rng.random_range(0..1000u32)),
            )
        } else if u < 8 && n > 2 {
            let other = (ns + 2) % n;
            let s = pick_in(rng, &self.services_in(other));
            self.service_ref(Some(self.ns_name(other)), format!("svc-{s}"))
        } else if u < 30 && !backends.is_empty() {
            BackendObjectReference {
                group: KGATEWAY_GROUP.to_owned(),
                kind: "Backend".to_owned(),
                name: format!("ext-{}", pick_in(rng, &backends)),
                namespace: None,
                port: None,
            }
        } else if (30..130).contains(&u) && n > 1 {
            let other = (ns + 1) % n;
            let s = pick_in(rng, &self.services_in(other));
            self.service_ref(Some(self.ns_name(other)), format!("svc-{s}"))
        } else {
            let s = pick_in(rng, &self.services_in(ns));
            self.service_ref(None, format!("svc-{s}"))
        }
    }

    fn rule(&self, rng: &mut ChaCha8Rng, ns: usize, k: usize) -> HTTPRouteRule {
        let name = rng.random_bool(0.5).then(|| format!("rule-{k}"));
        let n_matches = weighted_count(rng, &[60, 30, 10]);
        let matches: Vec<HTTPRouteMatch> = (0..n_matches).map(|_| self.route_match(rng)).collect();
        let mut rule = HTTPRouteRule {
            name,
            matches,
            ..HTTPRouteRule::default()
        };
        let action = rng.random_range(0..100u32);
        let drs = self.direct_responses_in(ns);
        if action < 3 {
            let mut f = empty_filter(HTTPRouteFilterType::RequestRedirect);
            f.request_redirect = Some(HTTPRequestRedirectFilter {
                scheme: Some(RedirectScheme::Https),
                hostname: None,
                path: None,
                port: Some(443),
                status_code: 301,
            });
            rule.filters.push(f);
            return rule;
        }
        if action < 5 && !drs.is_empty() {
            let mut f = empty_filter(HTTPRouteFilterType::ExtensionRef);
            f.extension_ref = Some(LocalObjectReference {
                group: KGATEWAY_GROUP.to_owned(),
                kind: "DirectResponse".to_owned(),
                name: format!("dr-{}", pick_in(rng, &drs)),
            });
            rule.filters.push(f);
            return rule;
        }
        if rng.random_ratio(3, 20) {
            let mut f = empty_filter(HTTPRouteFilterType::RequestHeaderModifier);
            f.request_header_modifier = Some(HTTPHeaderFilter {
                set: vec![header("x-route-rule", &format!("rule-{k}"))],
                add: vec![header("x-env", self.env(ns))],
                remove: if rng.random_bool(0.5) {
                    vec!["x-debug".to_owned()]
                } else {
                    Vec::new()
                },
            });
            rule.filters.push(f);
        }
        if rng.random_ratio(1, 10) {
            let mut f = empty_filter(HTTPRouteFilterType::ResponseHeaderModifier);
            f.response_header_modifier = Some(HTTPHeaderFilter {
                set: Vec::new(),
                add: vec![header("x-served-by", "sluice")],
                remove: vec!["server".to_owned()],
            });
            rule.filters.push(f);
        }
        if rng.random_ratio(2, 25) {
            let all_prefix = rule.matches.iter().all(|m| {
                m.path
                    .as_ref()
                    .is_some_and(|p| p.type_ == PathMatchType::PathPrefix)
            });
            let mut f = empty_filter(HTTPRouteFilterType::UrlRewrite);
            f.url_rewrite = Some(if all_prefix {
                HTTPURLRewriteFilter {
                    hostname: rng.random_bool(0.5).then(|| "backend.internal".to_owned()),
                    path: Some(HTTPPathModifier {
                        type_: HTTPPathModifierType::ReplacePrefixMatch,
                        replace_full_path: None,
                        replace_prefix_match: Some("/".to_owned()),
                    }),
                }
            } else {
                HTTPURLRewriteFilter {
                    hostname: Some("backend.internal".to_owned()),
                    path: None,
                }
            });
            rule.filters.push(f);
        }
        if rng.random_ratio(3, 100) {
            let s = pick_in(rng, &self.services_in(ns));
            let mut f = empty_filter(HTTPRouteFilterType::RequestMirror);
            f.request_mirror = Some(HTTPRequestMirrorFilter {
                backend_ref: self.service_ref(None, format!("svc-{s}")),
                percent: Some(10),
                fraction: None,
            });
            rule.filters.push(f);
        }
        let n_backends = weighted_count(rng, &[70, 20, 10]);
        rule.backend_refs = (0..n_backends)
            .map(|_| {
                let target = self.backend_target(rng, ns);
                let weight = if n_backends == 1 {
                    1
                } else {
                    rng.random_range(1..=100)
                };
                let mut filters = Vec::new();
                if rng.random_ratio(3, 100) {
                    let mut f = empty_filter(HTTPRouteFilterType::RequestHeaderModifier);
                    f.request_header_modifier = Some(HTTPHeaderFilter {
                        set: vec![header("x-backend", &target.name)],
                        ..HTTPHeaderFilter::default()
                    });
                    filters.push(f);
                }
                HTTPBackendRef {
                    group: target.group,
                    kind: target.kind,
                    name: target.name,
                    namespace: target.namespace,
                    port: target.port,
                    weight,
                    filters,
                }
            })
            .collect();
        if rng.random_ratio(1, 5) {
            let request = *pick(rng, &[5, 10, 15, 30, 60]);
            rule.timeouts = Some(HTTPRouteTimeouts {
                request: Some(format!("{request}s")),
                backend_request: rng.random_bool(0.5).then(|| "2s".to_owned()),
            });
        }
        rule
    }

    /// TrafficPolicy `tp-<p>`: policies with `p % 10 == 0` target a Gateway of the namespace
    /// (when it has one), the others one of `routes` (sometimes one named rule of it).
    pub fn policy(
        &self,
        rng: &mut ChaCha8Rng,
        ns: usize,
        p: usize,
        routes: &[HTTPRoute],
    ) -> TrafficPolicy {
        let gateways = self.gateways_in(ns);
        let target =
            if (p.is_multiple_of(10) && !gateways.is_empty() && !self.hot()) || routes.is_empty() {
                let g = if gateways.is_empty() {
                    0
                } else {
                    pick_in(rng, &gateways)
                };
                LocalPolicyTargetReferenceWithSectionName {
                    group: GATEWAY_GROUP.to_owned(),
                    kind: "Gateway".to_owned(),
                    name: format!("gw-{g}"),
                    section_name: None,
                }
            } else {
                let route = pick(rng, routes);
                let named: Vec<&String> = route
                    .spec
                    .rules
                    .iter()
                    .filter_map(|r| r.name.as_ref())
                    .collect();
                let section_name = if !named.is_empty() && rng.random_ratio(3, 10) {
                    Some(pick(rng, &named).to_string())
                } else {
                    None
                };
                LocalPolicyTargetReferenceWithSectionName {
                    group: GATEWAY_GROUP.to_owned(),
                    kind: "HTTPRoute".to_owned(),
                    name: route.metadata.name.clone().unwrap_or_default(),
                    section_name,
                }
            };
        let spec = policy_spec(target, p % 4, p);
        let mut policy = TrafficPolicy::new(&format!("tp-{p}"), spec);
        policy.metadata.namespace = Some(self.ns_name(ns));
        policy.metadata.generation = Some(1);
        policy.metadata.creation_timestamp = Some(created(p));
        policy
    }
}

/// A TrafficPolicy spec of one of four flavours (timeouts, retry, header edits, CORS);
/// `revision` makes each version distinct.
pub(crate) fn policy_spec(
    target: LocalPolicyTargetReferenceWithSectionName,
    flavour: usize,
    revision: usize,
) -> TrafficPolicySpec {
    let mut spec = TrafficPolicySpec {
        target_refs: vec![target],
        ..TrafficPolicySpec::default()
    };
    match flavour {
        0 => {
            spec.timeouts = Some(Timeouts {
                request: Some(format!("{}s", 5 + revision % 60)),
                stream_idle: None,
            });
        }
        1 => {
            spec.retry = Some(Retry {
                retry_on: vec![RetryOnCondition::FiveXx, RetryOnCondition::ConnectFailure],
                attempts: Some(1 + (revision % 5) as i32),
                per_try_timeout: Some("2s".to_owned()),
                ..Retry::default()
            });
        }
        2 => {
            spec.header_modifiers = Some(HeaderModifiers {
                request: Some(HeaderFilter {
                    set: vec![HeaderValue {
                        name: Some("x-policy-rev".to_owned()),
                        value: Some(revision.to_string()),
                        secret_ref: None,
                    }],
                    ..HeaderFilter::default()
                }),
                ..HeaderModifiers::default()
            });
        }
        _ => {
            spec.cors = Some(CorsPolicy {
                allow_origins: vec![format!("https://app-{}.example.com", revision % 100)],
                allow_methods: vec!["GET".to_owned(), "POST".to_owned()],
                max_age: Some(600),
                ..CorsPolicy::default()
            });
        }
    }
    spec
}

/// The address of pod number `idx` (from 1): `10.x.y.z`.
pub(crate) fn pod_ip(idx: usize) -> String {
    format!(
        "10.{}.{}.{}",
        (idx >> 16) & 255,
        (idx >> 8) & 255,
        idx & 255
    )
}
