//! Which Gateway a proxy serves, read off its `Node` (first request of a stream; checklist 2).
//!
//! In order:
//! 1. `node.metadata.gateway = "ns/name"` — what `sluice bootstrap` writes;
//! 2. `node.metadata.role = "kgateway-kube-gateway-api~ns~name"` — kgateway's convention: the
//!    last two `~`-separated parts (at least three parts);
//! 3. `node.cluster = "ns/name"` (exactly one `/`).
//!
//! A node matching none is unknown: the stream holds its requests (answers nothing, stays
//! open), logs once per node id and counts it (`sluice_xds_unknown_node_streams`; checklist 7).
//!
//! `node.metadata.listener_address = "IP"` (what `sluice bootstrap --bind-address` writes)
//! makes every Listener sent to the node bind that address instead of its own.

use envoy_types::pb::envoy::config::core::v3::Node;
use envoy_types::pb::google::protobuf::value::Kind;

use crate::cache::GatewayId;

/// The node metadata key naming the address the node's listeners bind.
pub const LISTENER_ADDRESS_KEY: &str = "listener_address";

/// The address `node`'s listeners must bind (`metadata.listener_address`), if it names one.
pub fn listener_address_of(node: &Node) -> Option<String> {
    match node
        .metadata
        .as_ref()?
        .fields
        .get(LISTENER_ADDRESS_KEY)?
        .kind
        .as_ref()?
    {
        Kind::StringValue(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

/// The Gateway `node` serves, if it names one.
pub fn gateway_of(node: &Node) -> Option<GatewayId> {
    let field = |key: &str| -> Option<&str> {
        match node.metadata.as_ref()?.fields.get(key)?.kind.as_ref()? {
            Kind::StringValue(s) => Some(s),
            _ => None,
        }
    };
    if let Some(gw) = field("gateway").and_then(GatewayId::parse) {
        return Some(gw);
    }
    if let Some(gw) = field("role").and_then(kgateway_role) {
        return Some(gw);
    }
    GatewayId::parse(&node.cluster)
}

/// `prefix~ns~name` → `ns/name`.
fn kgateway_role(role: &str) -> Option<GatewayId> {
    let parts: Vec<&str> = role.split('~').collect();
    match parts.as_slice() {
        [_, .., ns, name] => GatewayId::parse(&format!("{ns}/{name}")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use envoy_types::pb::google::protobuf::{Struct, Value};

    fn node(metadata: &[(&str, &str)], cluster: &str) -> Node {
        let fields = metadata
            .iter()
            .map(|(k, v)| {
                let value = Value {
                    kind: Some(Kind::StringValue(v.to_string())),
                };
                (k.to_string(), value)
            })
            .collect();
        Node {
            id: "envoy-1".into(),
            cluster: cluster.into(),
            metadata: Some(Struct { fields }),
            ..Default::default()
        }
    }

    #[test]
    fn metadata_gateway_first() {
        let n = node(
            &[
                ("gateway", "ns/gw"),
                ("role", "kgateway-kube-gateway-api~o~x"),
            ],
            "c/d",
        );
        assert_eq!(gateway_of(&n), Some(GatewayId::new("ns", "gw")));
    }

    #[test]
    fn kgateway_role_then_cluster() {
        let n = node(&[("role", "kgateway-kube-gateway-api~infra~http")], "c/d");
        assert_eq!(gateway_of(&n), Some(GatewayId::new("infra", "http")));
        let n = node(&[("gateway", "not-a-gateway"), ("role", "x~y")], "c/d");
        assert_eq!(gateway_of(&n), Some(GatewayId::new("c", "d")));
    }

    #[test]
    fn listener_address() {
        let n = node(
            &[("gateway", "ns/gw"), ("listener_address", "127.0.0.7")],
            "",
        );
        assert_eq!(listener_address_of(&n).as_deref(), Some("127.0.0.7"));
        assert_eq!(
            listener_address_of(&node(&[("gateway", "ns/gw")], "")),
            None
        );
        let n = node(&[("listener_address", "")], "");
        assert_eq!(listener_address_of(&n), None);
    }

    #[test]
    fn unknown() {
        assert_eq!(gateway_of(&node(&[], "envoy")), None);
        assert_eq!(gateway_of(&node(&[], "a/b/c")), None);
        assert_eq!(gateway_of(&Node::default()), None);
    }
}
