//! HTTPRoute as records: parent references, rules, matches, filters, backend references.

use serde::{Deserialize, Serialize};

use super::{ObjectKey, Sym};

pub const GATEWAY_GROUP: &str = "gateway.networking.k8s.io";
pub const KGATEWAY_GROUP: &str = "gateway.kgateway.dev";

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct HttpRouteRec {
    pub key: ObjectKey,
    pub generation: i64,
    /// `creationTimestamp` in seconds since the epoch (0 when absent): the precedence tie-break.
    pub created: i64,
    pub parent_refs: Vec<ParentRef>,
    /// Lowercased.
    pub hostnames: Vec<String>,
    pub rules: Vec<RuleRec>,
    /// `metadata.labels`, sorted: what policies' `targetSelectors` match.
    pub labels: Vec<(String, String)>,
}

/// A `parentRef`, namespace defaulted to the route's.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ParentRef {
    pub group: String,
    pub kind: String,
    pub gateway: ObjectKey,
    pub section: Option<Sym>,
    pub port: Option<u16>,
}

impl ParentRef {
    pub fn is_gateway(&self) -> bool {
        self.group == GATEWAY_GROUP && self.kind == "Gateway"
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RuleRec {
    pub name: Option<String>,
    /// Never empty: `lower` supplies the default `PathPrefix /` match.
    pub matches: Vec<MatchRec>,
    pub filters: Vec<FilterRec>,
    pub backends: Vec<BackendRefRec>,
    pub timeout_ms: Option<u64>,
    pub backend_timeout_ms: Option<u64>,
    /// `retry` (experimental channel).
    pub retry: Option<RetryRec>,
    /// A per-object defect (unparsable duration, incompatible filters…): the rule answers 500.
    pub invalid: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PathMatch {
    Exact(String),
    Prefix(String),
    Regex(String),
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum StringMatch {
    Exact(String),
    Regex(String),
}

/// A header (name lowercased) or query parameter match.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct KeyValueMatch {
    pub name: String,
    pub value: StringMatch,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct MatchRec {
    pub path: PathMatch,
    pub headers: Vec<KeyValueMatch>,
    pub query: Vec<KeyValueMatch>,
    pub method: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct HeaderMods {
    pub set: Vec<(String, String)>,
    pub add: Vec<(String, String)>,
    pub remove: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PathModifier {
    ReplaceFullPath(String),
    ReplacePrefixMatch(String),
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RedirectRec {
    pub scheme: Option<String>,
    pub hostname: Option<String>,
    pub path: Option<PathModifier>,
    pub port: Option<u16>,
    /// 302 unless set.
    pub status_code: u16,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RewriteRec {
    pub hostname: Option<String>,
    pub path: Option<PathModifier>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct MirrorRec {
    pub target: BackendTarget,
    /// Fraction of requests mirrored, in millionths (1_000_000 = all).
    pub fraction_ppm: u32,
}

/// A rule's retry policy: retry answers with these status codes, at most `attempts` times
/// (`None`: the data plane's default), waiting `backoff_ms` between tries.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RetryRec {
    pub codes: Vec<u16>,
    pub attempts: Option<u32>,
    pub backoff_ms: Option<u64>,
}

/// Gateway API's CORS filter.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CorsRec {
    /// Exact origins, `*` for any, or patterns whose `*` stands for any characters.
    pub allow_origins: Vec<String>,
    pub allow_credentials: bool,
    /// Methods, or `*`.
    pub allow_methods: Vec<String>,
    /// Header names, or `*`.
    pub allow_headers: Vec<String>,
    pub expose_headers: Vec<String>,
    /// Seconds a preflight answer may be cached (Gateway API's default: 5).
    pub max_age_s: i32,
}

impl From<&CorsRec> for crate::ir::CorsIr {
    fn from(c: &CorsRec) -> Self {
        crate::ir::CorsIr {
            allow_origins: c.allow_origins.clone(),
            allow_credentials: c.allow_credentials,
            allow_methods: c.allow_methods.clone(),
            allow_headers: c.allow_headers.clone(),
            expose_headers: c.expose_headers.clone(),
            max_age_s: c.max_age_s,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum FilterRec {
    RequestHeaders(HeaderMods),
    ResponseHeaders(HeaderMods),
    Redirect(RedirectRec),
    Rewrite(RewriteRec),
    Mirror(MirrorRec),
    Cors(CorsRec),
    /// `extensionRef` in the route's namespace.
    Extension {
        group: String,
        kind: String,
        name: Sym,
    },
}

/// What a backendRef (or mirror) points at, namespace defaulted to the route's.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum BackendTarget {
    /// A core Service; `port` is required by Gateway API (`None` is unresolvable).
    Service { key: ObjectKey, port: Option<u16> },
    /// A kgateway `Backend`.
    Backend { key: ObjectKey },
    /// Any other group/kind: `ResolvedRefs=False/InvalidKind`.
    Unsupported {
        group: String,
        kind: String,
        key: ObjectKey,
    },
}

impl BackendTarget {
    pub fn key(&self) -> ObjectKey {
        match self {
            BackendTarget::Service { key, .. }
            | BackendTarget::Backend { key }
            | BackendTarget::Unsupported { key, .. } => *key,
        }
    }
    /// `(group, kind)` as a ReferenceGrant's `to` names it.
    pub fn group_kind(&self) -> (&str, &str) {
        match self {
            BackendTarget::Service { .. } => ("", "Service"),
            BackendTarget::Backend { .. } => (KGATEWAY_GROUP, "Backend"),
            BackendTarget::Unsupported { group, kind, .. } => (group, kind),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct BackendRefRec {
    pub target: BackendTarget,
    pub weight: u32,
    /// Only header modifiers are honoured per backend.
    pub filters: Vec<FilterRec>,
}
