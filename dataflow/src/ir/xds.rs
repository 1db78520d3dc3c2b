//! xDS IR. Naming scheme (all names unique across the whole control plane, so one proxy's view
//! is a subset of the global set):
//!
//! | resource | name |
//! |---|---|
//! | Listener | `{gw-ns}/{gw-name}/{port}` |
//! | RouteConfiguration (HTTP port) | `{gw-ns}/{gw-name}/{port}` |
//! | RouteConfiguration (HTTPS listener) | `{gw-ns}/{gw-name}/{port}/{listener-name}` |
//! | VirtualHost | `{route-config-name}/{hostname}` (`*` for any host) |
//! | Route | `{route-ns}/{route-name}/rule/{i}/match/{j}` |
//! | Cluster, ClusterLoadAssignment for a Service port | `svc/{ns}/{name}/{port}` |
//! | Cluster for a kgateway Backend | `backend/{ns}/{name}` |
//! | Secret (SDS; `emit` derives it from a listener's TLS) | `{secret-ns}/{secret-name}` |

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::model::{ObjectKey, Sym};

/// The resource types, in make-before-break push order (CDS, EDS, SDS, LDS, RDS).
///
/// The dataflow produces no `Secret` [`Resource`]: a listener's TLS certificate rides in its
/// [`TlsCertIr`], and `emit` serves it as an SDS Secret named after the Kubernetes Secret, so
/// the private key never travels inside a Listener and a rotated Secret changes no Listener
/// on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum XdsType {
    Cluster,
    Endpoint,
    Secret,
    Listener,
    Route,
}

impl XdsType {
    /// How many types there are (the length of per-type arrays).
    pub const COUNT: usize = 5;

    pub const ALL: [XdsType; XdsType::COUNT] = [
        XdsType::Cluster,
        XdsType::Endpoint,
        XdsType::Secret,
        XdsType::Listener,
        XdsType::Route,
    ];

    pub fn type_url(self) -> &'static str {
        match self {
            XdsType::Cluster => "type.googleapis.com/envoy.config.cluster.v3.Cluster",
            XdsType::Endpoint => {
                "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"
            }
            XdsType::Secret => {
                "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret"
            }
            XdsType::Listener => "type.googleapis.com/envoy.config.listener.v3.Listener",
            XdsType::Route => "type.googleapis.com/envoy.config.route.v3.RouteConfiguration",
        }
    }

    pub fn from_type_url(url: &str) -> Option<XdsType> {
        XdsType::ALL.into_iter().find(|t| t.type_url() == url)
    }
}

/// Identity of a resource: its type and name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct XdsKey {
    pub ty: XdsType,
    pub name: String,
}

/// One xDS resource. Which proxies need it follows from the references between resources
/// (listener → route configuration → cluster → endpoints), which `emit` reads off the IR.
/// Shared, not copied: the dataflow's output arrangement, the epoch's batch and every snapshot
/// of the output point at one allocation.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Resource {
    Listener(Arc<ListenerIr>),
    Route(Arc<RouteConfigIr>),
    Cluster(Arc<ClusterIr>),
    Endpoint(Arc<EndpointsIr>),
}

from_arc_variants!(Resource {
    Listener(ListenerIr),
    Route(RouteConfigIr),
    Cluster(ClusterIr),
    Endpoint(EndpointsIr),
});

impl Resource {
    pub fn key(&self) -> XdsKey {
        let (ty, name) = match self {
            Resource::Listener(l) => (XdsType::Listener, &l.name),
            Resource::Route(r) => (XdsType::Route, &r.name),
            Resource::Cluster(c) => (XdsType::Cluster, &c.name),
            Resource::Endpoint(e) => (XdsType::Endpoint, &e.cluster_name),
        };
        XdsKey {
            ty,
            name: name.clone(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ListenerIr {
    pub name: String,
    /// Bind address, `0.0.0.0`.
    pub address: String,
    pub port: u16,
    /// Ordered by `server_names`; an HTTP port has one chain with no names.
    pub filter_chains: Vec<FilterChainIr>,
    /// What the ListenerPolicies reaching this port set (`None`: none reaches it).
    pub settings: Option<Box<super::ListenerSettingsIr>>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FilterChainIr {
    /// Chain name: the route configuration's name.
    pub name: String,
    /// SNI names (HTTPS); empty matches any.
    pub server_names: Vec<String>,
    pub tls: Option<TlsCertIr>,
    /// RDS name of the route configuration this chain's HTTP connection manager uses.
    pub route_config_name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TlsCertIr {
    /// The Kubernetes Secret it comes from, `ns/name`: the SDS Secret's name.
    pub secret: String,
    pub cert_chain: String,
    pub private_key: String,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RouteConfigIr {
    pub name: String,
    /// Ordered by name.
    pub virtual_hosts: Vec<VirtualHostIr>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct VirtualHostIr {
    pub name: String,
    /// One hostname (`*`, `*.example.com`, `foo.example.com`).
    pub domains: Vec<String>,
    /// In Gateway API precedence order: Envoy takes the first that matches. Shared with the
    /// rendered HTTPRoute they come from (one copy however many configurations carry it).
    pub routes: Vec<Arc<RouteIr>>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RouteIr {
    pub name: String,
    pub path: PathMatchIr,
    /// Header matches, `:method` included, in order.
    pub headers: Vec<HeaderMatchIr>,
    pub query: Vec<HeaderMatchIr>,
    pub action: ActionIr,
    pub request_headers: HeaderOpsIr,
    pub response_headers: HeaderOpsIr,
    /// The rule's CORS policy (Envoy's CORS filter answers preflights and decorates answers).
    /// Boxed, as the forwarding and redirect actions are: most routes have none, and a
    /// million routes are held at once.
    pub cors: Option<Box<CorsIr>>,
    /// The HTTP filters this route enables (the listener's chain holds each kind disabled),
    /// at most one per kind, in [`FilterKind`] order.
    pub filters: Vec<HttpFilterIr>,
    /// The prefix of the route's own statistics (`vhost.<vhost>.route.<prefix>.*`).
    pub stat_prefix: Option<String>,
    /// The route's tracing override (the provider is the listener's).
    pub tracing: Option<Box<RouteTracingIr>>,
}

/// A route's tracing override: sampling percentages (Envoy's own when unset) and tags.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RouteTracingIr {
    pub client_pct: Option<u32>,
    pub random_pct: Option<u32>,
    pub overall_pct: Option<u32>,
    pub tags: Vec<TraceTagIr>,
}

/// A custom tag on a route's spans.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TraceTagIr {
    pub tag: String,
    pub value: TraceTagValue,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum TraceTagValue {
    Literal(String),
    RequestHeader {
        name: String,
        default: Option<String>,
    },
    Environment {
        name: String,
        default: Option<String>,
    },
}

/// The HTTP filters routes can enable, in the order the listener's chain runs them (before
/// CORS and the router).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum FilterKind {
    /// Request bodies decompressed first, so every later filter and the backend see plain
    /// bytes.
    Decompress,
    Fault,
    Rbac,
    Csrf,
    BasicAuth,
    ApiKeyAuth,
    LocalRateLimit,
    Buffer,
    /// Last before CORS and the router, so its encoder runs first on the way out and
    /// compresses the backend's answer, not local replies of earlier filters.
    Compress,
}

impl FilterKind {
    pub const ALL: [FilterKind; 9] = [
        FilterKind::Decompress,
        FilterKind::Fault,
        FilterKind::Rbac,
        FilterKind::Csrf,
        FilterKind::BasicAuth,
        FilterKind::ApiKeyAuth,
        FilterKind::LocalRateLimit,
        FilterKind::Buffer,
        FilterKind::Compress,
    ];
}

/// One route's configuration of one HTTP filter.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum HttpFilterIr {
    /// Fault injection: delay and/or abort a share of requests, or slow the response.
    Fault {
        delay_ms: Option<u64>,
        /// Share of requests delayed, in parts per million.
        delay_ppm: u32,
        abort_status: Option<u16>,
        abort_ppm: u32,
        response_kbps: Option<u64>,
        max_active: Option<u32>,
    },
    /// Role-based access control by CEL expressions over the request (`request.headers[…]`,
    /// `source.address`, …): with `allow`, requests matching none of them are refused (403);
    /// otherwise requests matching any of them are.
    Rbac {
        allow: bool,
        expressions: Vec<String>,
    },
    /// Cross-site request forgery protection: a mutating request whose `Origin` is neither
    /// its destination nor one of `additional_origins` is refused (403) on `enabled_pct`% of
    /// requests, and only counted on `shadow_pct`%.
    Csrf {
        enabled_pct: u32,
        shadow_pct: u32,
        additional_origins: Vec<OriginMatchIr>,
    },
    /// HTTP basic authentication against htpasswd lines (`user:{SHA}base64`).
    BasicAuth { htpasswd: String },
    /// A token bucket per Envoy worker: `max_tokens`, refilled by `tokens_per_fill` every
    /// `fill_interval_ms`; applied to `enabled_pct`% of requests and enforced on
    /// `enforced_pct`% (the rest only counted).
    LocalRateLimit {
        max_tokens: u32,
        tokens_per_fill: u32,
        fill_interval_ms: u64,
        enabled_pct: u32,
        enforced_pct: u32,
    },
    /// Buffer whole requests up to `max_bytes` (413 beyond).
    Buffer { max_bytes: u64 },
    /// Compress answers with the best of `libraries` the client accepts (its
    /// `Accept-Encoding` weights, then its order).
    Compress { libraries: Vec<Codec> },
    /// Decompress request bodies sent in one of `libraries` (`Content-Encoding`).
    Decompress { libraries: Vec<Codec> },
    /// API key authentication: the first of `sources` present carries the key, which must be
    /// one of `credentials` (`(key, client)`); 401 without a key, 403 with a wrong one.
    ApiKeyAuth {
        credentials: Vec<(String, String)>,
        sources: Vec<ApiKeySourceIr>,
        /// Whether the key travels on to the backend (else it is removed).
        forward: bool,
        /// A request header set to the authenticated client's name.
        client_id_header: Option<String>,
    },
}

/// Where a request may carry its API key (each part optional; the first present wins).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ApiKeySourceIr {
    pub header: Option<String>,
    pub query: Option<String>,
    pub cookie: Option<String>,
}

/// A compression library Envoy ships.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Codec {
    Gzip,
    Brotli,
    Zstd,
}

impl Codec {
    pub const ALL: [Codec; 3] = [Codec::Gzip, Codec::Brotli, Codec::Zstd];

    /// kgateway's spelling (`libraries: [Gzip, Brotli, Zstd]`).
    pub fn parse(s: &str) -> Option<Codec> {
        Codec::ALL.into_iter().find(|c| c.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Codec::Gzip => "Gzip",
            Codec::Brotli => "Brotli",
            Codec::Zstd => "Zstd",
        }
    }
}

/// A string matcher for an origin.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct OriginMatchIr {
    pub how: OriginMatchHow,
    pub value: String,
    pub ignore_case: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum OriginMatchHow {
    Exact,
    Prefix,
    Suffix,
    Contains,
    Regex,
}

impl HttpFilterIr {
    pub fn kind(&self) -> FilterKind {
        match self {
            HttpFilterIr::Fault { .. } => FilterKind::Fault,
            HttpFilterIr::Csrf { .. } => FilterKind::Csrf,
            HttpFilterIr::Rbac { .. } => FilterKind::Rbac,
            HttpFilterIr::BasicAuth { .. } => FilterKind::BasicAuth,
            HttpFilterIr::LocalRateLimit { .. } => FilterKind::LocalRateLimit,
            HttpFilterIr::Buffer { .. } => FilterKind::Buffer,
            HttpFilterIr::Compress { .. } => FilterKind::Compress,
            HttpFilterIr::Decompress { .. } => FilterKind::Decompress,
            HttpFilterIr::ApiKeyAuth { .. } => FilterKind::ApiKeyAuth,
        }
    }
}

/// A CORS policy.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CorsIr {
    /// Exact origins, `*` for any, or patterns whose `*` stands for any characters.
    pub allow_origins: Vec<String>,
    pub allow_credentials: bool,
    /// Methods, or `*` (Envoy then echoes the requested method).
    pub allow_methods: Vec<String>,
    /// Header names, or `*` (Envoy then echoes the requested headers).
    pub allow_headers: Vec<String>,
    pub expose_headers: Vec<String>,
    pub max_age_s: i32,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PathMatchIr {
    Exact(String),
    /// Gateway API prefix semantics: whole path segments (`path_separated_prefix`), except `/`.
    Prefix(String),
    Regex(String),
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct HeaderMatchIr {
    pub name: String,
    pub exact: Option<String>,
    pub regex: Option<String>,
}

/// Header operations: `set` overwrites, `add` appends, `remove` deletes.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct HeaderOpsIr {
    pub set: Vec<(String, String)>,
    pub add: Vec<(String, String)>,
    pub remove: Vec<String>,
}

impl HeaderOpsIr {
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.add.is_empty() && self.remove.is_empty()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ActionIr {
    Forward(Box<ForwardIr>),
    Redirect(Box<RedirectIr>),
    Direct { status: u16, body: Option<String> },
}

impl ActionIr {
    pub fn forward(f: ForwardIr) -> ActionIr {
        ActionIr::Forward(Box::new(f))
    }

    pub fn redirect(r: RedirectIr) -> ActionIr {
        ActionIr::Redirect(Box::new(r))
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ForwardIr {
    /// Weighted clusters, weight > 0, in backendRef order.
    pub clusters: Vec<WeightedClusterIr>,
    pub timeout_ms: Option<u64>,
    /// The stream's idle timeout (a TrafficPolicy's `timeouts.streamIdle`).
    pub idle_timeout_ms: Option<u64>,
    pub per_try_timeout_ms: Option<u64>,
    pub host_rewrite: Option<String>,
    /// Rewrite `Host` to the upstream host's name (a TrafficPolicy's `autoHostRewrite`).
    pub auto_host_rewrite: bool,
    pub path_rewrite: Option<PathRewriteIr>,
    pub mirrors: Vec<MirrorIr>,
    pub retry: Option<RetryIr>,
    /// Follow the upstream's redirects inside Envoy (a TrafficPolicy's `internalRedirect`).
    pub internal_redirect: Option<Box<InternalRedirectIr>>,
}

/// Which upstream redirects Envoy follows itself.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct InternalRedirectIr {
    /// Empty: Envoy's default, 302 only.
    pub codes: Vec<u16>,
    pub max: Option<u32>,
    pub allow_cross_scheme: bool,
    pub copy_headers: Vec<String>,
}

/// Retry answers with one of `codes`, at most `attempts` times (`None`: Envoy's default, 1),
/// `backoff_ms` apart (`None`: Envoy's default).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RetryIr {
    pub codes: Vec<u16>,
    pub attempts: Option<u32>,
    pub backoff_ms: Option<u64>,
    /// Envoy `retry_on` conditions besides the status codes (`5xx`, `reset`, …).
    pub on: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PathRewriteIr {
    /// Replace the whole path.
    Full(String),
    /// Replace the matched prefix.
    Prefix(String),
    /// Replace what `pattern` matches by `substitution` (a TrafficPolicy's `urlRewrite`).
    Regex {
        pattern: String,
        substitution: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct WeightedClusterIr {
    pub cluster: String,
    pub weight: u32,
    pub request_headers: HeaderOpsIr,
    pub response_headers: HeaderOpsIr,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct MirrorIr {
    pub cluster: String,
    pub fraction_ppm: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RedirectIr {
    pub scheme: Option<String>,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub path: Option<PathRewriteIr>,
    pub status_code: u16,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ClusterIr {
    pub name: String,
    pub discovery: DiscoveryIr,
    /// Speak HTTP/2 to the upstream (`appProtocol` h2c / grpc / http2).
    pub http2: bool,
    pub connect_timeout_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum DiscoveryIr {
    /// Endpoints over EDS, under the cluster's own name.
    Eds,
    /// Fixed `(host, port)` list: IPs become STATIC, names STRICT_DNS.
    Static { hosts: Vec<(String, u16)> },
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EndpointsIr {
    pub cluster_name: String,
    /// Ordered by zone; empty when the Service has no endpoints.
    pub localities: Vec<LocalityIr>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LocalityIr {
    /// Zone (`""` when unknown).
    pub zone: String,
    /// Number of endpoints in the locality (Envoy needs a non-zero locality weight).
    pub weight: u32,
    /// `(address, port, healthy)`, sorted.
    pub endpoints: Vec<(String, u16, bool)>,
}

/// Names of the resources a Gateway's listeners use.
pub fn listener_name(gateway: ObjectKey, port: u16) -> String {
    format!("{}/{}/{}", gateway.ns, gateway.name, port)
}

/// RouteConfiguration of an HTTP port (`section` None) or of one HTTPS listener.
pub fn route_config_name(gateway: ObjectKey, port: u16, section: Option<Sym>) -> String {
    match section {
        None => format!("{}/{}/{}", gateway.ns, gateway.name, port),
        Some(s) => format!("{}/{}/{}/{}", gateway.ns, gateway.name, port, s),
    }
}

pub fn service_cluster_name(service: ObjectKey, port: u16) -> String {
    format!("svc/{}/{}/{}", service.ns, service.name, port)
}

pub fn backend_cluster_name(backend: ObjectKey) -> String {
    format!("backend/{}/{}", backend.ns, backend.name)
}

pub fn route_name(route: ObjectKey, rule: usize, matcher: usize) -> String {
    format!(
        "{}/{}/rule/{}/match/{}",
        route.ns, route.name, rule, matcher
    )
}
