//! GatewayClass, Gateway and its listeners, as records.

use serde::{Deserialize, Serialize};

use super::{LabelSelector, ObjectKey, Sym};

/// The controller name sluice answers to unless configured otherwise.
pub const DEFAULT_CONTROLLER_NAME: &str = "sluice.dev/gateway-controller";

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct GatewayClassRec {
    pub name: Sym,
    pub controller: Sym,
    pub generation: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct GatewayRec {
    pub key: ObjectKey,
    pub class: Sym,
    pub generation: i64,
    pub listeners: Vec<ListenerRec>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Protocol {
    Http,
    Https,
    Tls,
    Tcp,
    Udp,
    Other(String),
}

impl Protocol {
    pub fn as_str(&self) -> &str {
        match self {
            Protocol::Http => "HTTP",
            Protocol::Https => "HTTPS",
            Protocol::Tls => "TLS",
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Other(s) => s,
        }
    }
    /// Protocols whose listeners sluice programs (HTTPRoute only, for now).
    pub fn is_http(&self) -> bool {
        matches!(self, Protocol::Http | Protocol::Https)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum TlsMode {
    Terminate,
    Passthrough,
}

/// A reference from a Gateway listener to a certificate Secret (`namespace` defaulted to the
/// Gateway's).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CertificateRef {
    pub group: String,
    pub kind: String,
    pub key: ObjectKey,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ListenerTls {
    pub mode: TlsMode,
    pub certificate_refs: Vec<CertificateRef>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum AllowedNamespaces {
    Same,
    All,
    Selector(LabelSelector),
}

/// Route kinds a listener accepts, as `(group, kind)`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RouteGroupKind {
    pub group: String,
    pub kind: String,
}

impl RouteGroupKind {
    pub fn http_route() -> RouteGroupKind {
        RouteGroupKind {
            group: crate::model::GATEWAY_GROUP.into(),
            kind: "HTTPRoute".into(),
        }
    }
}

/// Why `lower` found a listener unusable on its own (before any cross-object check).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ListenerProblem {
    /// `Conflicted=True`, reason `HostnameConflict` or `ProtocolConflict`.
    Conflicted(String),
    /// `Accepted=False`, reason `UnsupportedProtocol`.
    UnsupportedProtocol,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ListenerRec {
    pub name: Sym,
    pub port: u16,
    pub protocol: Protocol,
    /// Lowercased; may start with `*.`.
    pub hostname: Option<String>,
    pub tls: Option<ListenerTls>,
    pub allowed_namespaces: AllowedNamespaces,
    /// The allowed kinds this listener supports (HTTPRoute for HTTP/HTTPS when unset).
    pub supported_kinds: Vec<RouteGroupKind>,
    /// Some requested kind is not supported: `ResolvedRefs=False/InvalidRouteKinds`.
    pub invalid_kinds: bool,
    pub problem: Option<ListenerProblem>,
}
