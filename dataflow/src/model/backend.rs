//! Where traffic goes: Services, their EndpointSlices, kgateway Backends and DirectResponses,
//! and the Secrets listeners terminate TLS with.

use serde::{Deserialize, Serialize};

use super::ObjectKey;

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ServicePortRec {
    pub name: Option<String>,
    pub port: u16,
    /// `appProtocol`, e.g. `kubernetes.io/h2c`.
    pub app_protocol: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ServiceRec {
    pub key: ObjectKey,
    pub ports: Vec<ServicePortRec>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EndpointRec {
    pub address: String,
    /// `conditions.ready`, absent meaning ready.
    pub ready: bool,
    pub zone: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EndpointSliceRec {
    pub key: ObjectKey,
    /// From the `kubernetes.io/service-name` label.
    pub service: ObjectKey,
    /// `(port name, port number)`; the name joins to `ServicePortRec::name`.
    pub ports: Vec<(Option<String>, u16)>,
    pub endpoints: Vec<EndpointRec>,
}

/// A kgateway `Backend` of type static (other types are recorded as unsupported).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct BackendRec {
    pub key: ObjectKey,
    /// `(host, port)`; empty when the Backend is not a static one.
    pub hosts: Vec<(String, u16)>,
    pub app_protocol: Option<String>,
    /// Why this Backend cannot be programmed (`None` when it can).
    pub unsupported: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DirectResponseRec {
    pub key: ObjectKey,
    pub status: u16,
    pub body: Option<String>,
}

/// A Secret: a listener certificate when both PEM parts are present; its other keys (text
/// only) for the policies that read them (htpasswd files, API keys, header values).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SecretRec {
    pub key: ObjectKey,
    pub cert_chain: Option<String>,
    pub private_key: Option<String>,
    /// Every other key with a UTF-8 value, sorted by key.
    pub data: Vec<(String, String)>,
    /// `metadata.labels`, sorted (`secretSelector`s match them).
    pub labels: Vec<(String, String)>,
}

impl SecretRec {
    pub fn tls_pair(&self) -> Option<(&str, &str)> {
        Some((self.cert_chain.as_deref()?, self.private_key.as_deref()?))
    }

    /// The value of one key (the PEM parts included).
    pub fn get(&self, key: &str) -> Option<&str> {
        match key {
            "tls.crt" => self.cert_chain.as_deref(),
            "tls.key" => self.private_key.as_deref(),
            _ => self
                .data
                .binary_search_by(|(k, _)| k.as_str().cmp(key))
                .ok()
                .map(|i| self.data[i].1.as_str()),
        }
    }
}

/// Whether an `appProtocol` asks for HTTP/2 to the upstream.
pub fn speaks_http2(app_protocol: Option<&str>) -> bool {
    matches!(
        app_protocol,
        Some("kubernetes.io/h2c" | "http2" | "grpc" | "h2c")
    )
}

/// Envoy's connect timeout for every cluster sluice makes.
pub const CONNECT_TIMEOUT_MS: u64 = 5_000;
