//! A node whose metadata carries `listener_address` gets every Listener bound to that address,
//! on the wire, over SotW and Delta; other nodes get the listeners as cached.

mod ads_support;

use ads_support::*;
use envoy_types::pb::envoy::config::core::v3::{Node, address, socket_address};
use envoy_types::pb::envoy::config::listener::v3::Listener;
use envoy_types::pb::envoy::service::discovery::v3::{DeltaDiscoveryRequest, DiscoveryRequest};
use envoy_types::pb::google::protobuf::{Any, Value, value::Kind};
use prost::Message;

fn node_bound_to(id: &str, gw: &str, address: &str) -> Node {
    let mut node = mk_node(id, gw);
    let value = Value {
        kind: Some(Kind::StringValue(address.into())),
    };
    node.metadata
        .as_mut()
        .unwrap()
        .fields
        .insert(sluice_emit::server::LISTENER_ADDRESS_KEY.into(), value);
    node
}

/// `(name, host, port)` of an encoded Listener.
fn bound(any: &Any) -> (String, String, u32) {
    assert_eq!(any.type_url, LDS);
    let l = Listener::decode(any.value.as_slice()).unwrap();
    let Some(address::Address::SocketAddress(sa)) = l.address.and_then(|a| a.address) else {
        panic!("listener {} has no socket address", l.name);
    };
    let Some(socket_address::PortSpecifier::PortValue(port)) = sa.port_specifier else {
        panic!("listener {} has no port", l.name);
    };
    (l.name, sa.address, port)
}

fn world() -> Vec<sluice_dataflow::ir::Resource> {
    let mut w = mk_world();
    w.push(mk_listener(GW, 8080, &[L80]));
    w
}

#[tokio::test]
async fn sotw_listeners_carry_the_nodes_address() {
    let h = start(world()).await;
    let mut bound_client = h.sotw().await;
    bound_client
        .send(DiscoveryRequest {
            node: Some(node_bound_to("envoy-a", GW, "127.0.0.42")),
            type_url: LDS.into(),
            ..Default::default()
        })
        .await;
    let lds = bound_client.recv().await;
    let got: Vec<_> = lds.resources.iter().map(bound).collect();
    assert_eq!(
        got,
        vec![
            ("ns/gw/80".into(), "127.0.0.42".into(), 80),
            ("ns/gw/8080".into(), "127.0.0.42".into(), 8080),
        ]
    );

    // A node without the key gets the cached bytes.
    let mut plain = h.sotw().await;
    plain.request(GW, LDS, &[]).await;
    let plain_lds = plain.recv().await;
    let got: Vec<_> = plain_lds.resources.iter().map(bound).collect();
    assert_eq!(got[0].1, "0.0.0.0");
    // Same content versions for both: the rewrite is per node, not a new resource version.
    assert_eq!(plain_lds.version_info, lds.version_info);

    // A changed listener is rewritten again; the removed one is gone.
    bound_client.ack(&lds, &[]).await;
    h.publish(
        2,
        vec![mk_sni_listener(GW, 80, &[L80, "ns/gw/80/extra"])],
        vec![key(sluice_dataflow::ir::XdsType::Listener, "ns/gw/8080")],
    );
    let lds2 = bound_client.recv().await;
    let got: Vec<_> = lds2.resources.iter().map(bound).collect();
    assert_eq!(got, vec![("ns/gw/80".into(), "127.0.0.42".into(), 80)]);
    assert_ne!(lds2.version_info, lds.version_info);
}

#[tokio::test]
async fn delta_listeners_carry_the_nodes_address() {
    let h = start(world()).await;
    let mut c = h.delta().await;
    c.send(DeltaDiscoveryRequest {
        node: Some(node_bound_to("envoy-b", GW, "127.0.0.43")),
        type_url: LDS.into(),
        ..Default::default()
    })
    .await;
    let lds = c.recv().await;
    let got: Vec<_> = lds
        .resources
        .iter()
        .map(|r| {
            let (name, host, port) = bound(r.resource.as_ref().unwrap());
            assert_eq!(name, r.name);
            (name, host, port)
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("ns/gw/80".into(), "127.0.0.43".into(), 80),
            ("ns/gw/8080".into(), "127.0.0.43".into(), 8080),
        ]
    );
    c.ack(&lds).await;

    // An update is rewritten too; a reconnect holding these versions gets nothing new.
    // (Two SNI chains: a second catch-all chain would be dropped as a duplicate, no change.)
    h.publish(
        2,
        vec![mk_sni_listener(GW, 8080, &[L80, "ns/gw/8080/x"])],
        vec![],
    );
    let update = c.recv().await;
    assert_eq!(update.resources.len(), 1);
    let (name, host, port) = bound(update.resources[0].resource.as_ref().unwrap());
    assert_eq!(
        (name.as_str(), host.as_str(), port),
        ("ns/gw/8080", "127.0.0.43", 8080)
    );
    c.ack(&update).await;
    let held = [
        (
            lds.resources[0].name.clone(),
            lds.resources[0].version.clone(),
        ),
        (
            update.resources[0].name.clone(),
            update.resources[0].version.clone(),
        ),
    ];

    let mut again = h.delta().await;
    again
        .send(DeltaDiscoveryRequest {
            node: Some(node_bound_to("envoy-b", GW, "127.0.0.43")),
            type_url: LDS.into(),
            initial_resource_versions: held.into_iter().collect(),
            ..Default::default()
        })
        .await;
    again.silent().await;
}
