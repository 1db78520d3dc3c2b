//! What a stream puts on the wire for a cached resource: the cached `Any` itself, except for
//! a node that asked for its own listener address (`metadata.listener_address`), whose
//! Listeners are decoded, get `address.socket_address.address` replaced, and are re-encoded.
//!
//! The patched encoding is kept per stream and listener name, keyed by the cached version, so
//! a listener is re-encoded once per version it takes on the stream, not once per response.
//! Versions are not changed: the node always sees the same rewrite of a given version, so the
//! cached version still names exactly what the node holds (SotW version hashes and Delta
//! `initial_resource_versions` keep working across reconnects).

use std::collections::BTreeMap;

use envoy_types::pb::envoy::config::core::v3::address;
use envoy_types::pb::envoy::config::listener::v3::Listener;
use envoy_types::pb::google::protobuf::Any as PbAny;
use prost::Message;
use sluice_dataflow::ir::XdsType;
use tracing::warn;

use crate::cache::Encoded;

/// Per-stream encoder of resources for the wire.
#[derive(Debug, Default)]
pub(crate) struct Wire {
    bind: Option<BindRewrite>,
}

#[derive(Debug)]
struct BindRewrite {
    address: String,
    /// Listener name → (cached version, patched encoding).
    patched: BTreeMap<String, (String, PbAny)>,
}

impl Wire {
    /// Listeners go out bound to `address` when given, as cached otherwise.
    pub fn new(address: Option<String>) -> Wire {
        Wire {
            bind: address.map(|address| BindRewrite {
                address,
                patched: BTreeMap::new(),
            }),
        }
    }

    /// The `Any` to send for `e`.
    pub fn any(&mut self, e: &Encoded) -> PbAny {
        match &mut self.bind {
            Some(bind) if e.ty == XdsType::Listener => bind.listener(e),
            _ => e.any.clone(),
        }
    }

    /// Drops the patched encodings of listeners not in `keep` (the client no longer holds them).
    pub fn retain_listeners(&mut self, keep: impl Fn(&str) -> bool) {
        if let Some(bind) = &mut self.bind {
            bind.patched.retain(|name, _| keep(name));
        }
    }
}

impl BindRewrite {
    fn listener(&mut self, e: &Encoded) -> PbAny {
        if let Some((version, any)) = self.patched.get(&e.name)
            && *version == e.version
        {
            return any.clone();
        }
        let any = match patch(&e.any, &self.address) {
            Ok(any) => any,
            Err(err) => {
                // Cannot happen for what the cache encoded; send it unpatched rather than nothing.
                warn!(listener = e.name, "listener address rewrite failed: {err}");
                return e.any.clone();
            }
        };
        self.patched
            .insert(e.name.clone(), (e.version.clone(), any.clone()));
        any
    }
}

/// `any` (a Listener) with its socket address's host set to `address`.
fn patch(any: &PbAny, address: &str) -> Result<PbAny, prost::DecodeError> {
    let mut listener = Listener::decode(any.value.as_slice())?;
    if let Some(address::Address::SocketAddress(sa)) =
        listener.address.as_mut().and_then(|a| a.address.as_mut())
    {
        sa.address = address.to_string();
    }
    Ok(PbAny {
        type_url: any.type_url.clone(),
        value: listener.encode_to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_dataflow::ir::{FilterChainIr, ListenerIr, Resource};

    fn listener(name: &str, port: u16) -> Encoded {
        Encoded::new(
            &Resource::from(ListenerIr {
                name: name.into(),
                address: "0.0.0.0".into(),
                port,
                settings: None,
                filter_chains: vec![FilterChainIr {
                    name: "c".into(),
                    server_names: Vec::new(),
                    tls: None,
                    route_config_name: "rc".into(),
                }],
            }),
            "1",
        )
    }

    fn host_port(any: &PbAny) -> (String, u32) {
        let l = Listener::decode(any.value.as_slice()).unwrap();
        match l.address.unwrap().address.unwrap() {
            address::Address::SocketAddress(sa) => match sa.port_specifier.unwrap() {
                envoy_types::pb::envoy::config::core::v3::socket_address::PortSpecifier::PortValue(p) => {
                    (sa.address, p)
                }
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rewrites_listeners_only_and_caches_per_version() {
        let mut wire = Wire::new(Some("127.0.0.9".into()));
        let l = listener("ns/gw/80", 80);
        let patched = wire.any(&l);
        assert_eq!(host_port(&patched), ("127.0.0.9".into(), 80));
        assert_eq!(wire.any(&l), patched);
        assert_eq!(wire.bind.as_ref().unwrap().patched.len(), 1);
        // A new version replaces the cached encoding.
        let l2 = listener("ns/gw/80", 8080);
        assert_eq!(host_port(&wire.any(&l2)), ("127.0.0.9".into(), 8080));
        assert_eq!(
            wire.bind.as_ref().unwrap().patched["ns/gw/80"].0,
            l2.version
        );
        wire.retain_listeners(|_| false);
        assert!(wire.bind.as_ref().unwrap().patched.is_empty());
    }

    #[test]
    fn no_address_sends_the_cached_bytes() {
        let mut wire = Wire::new(None);
        let l = listener("ns/gw/80", 80);
        assert_eq!(wire.any(&l), l.any);
    }
}
