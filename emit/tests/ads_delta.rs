//! Incremental (Delta) ADS against a real tonic server: one test per checklist item of
//! `docs/xds-server.md` §A.12 that Delta can show (`cNN_` = item NN).

mod ads_support;

use std::collections::BTreeSet;

use ads_support::*;
use envoy_types::pb::envoy::config::endpoint::v3::ClusterLoadAssignment;
use envoy_types::pb::envoy::service::discovery::v3::{
    DeltaDiscoveryRequest, DeltaDiscoveryResponse,
};
use prost::Message;
use sluice_dataflow::ir::XdsType;
use tonic::Code;

/// Envoy's start-up sequence for `GW`: CDS (wildcard), EDS `eds`, LDS (wildcard), RDS `rds`,
/// each ACKed. Returns the four responses.
async fn sync(c: &mut DeltaClient, eds: &[&str], rds: &[&str]) -> [DeltaDiscoveryResponse; 4] {
    let mut out = Vec::new();
    for (type_url, names) in [(CDS, &[][..]), (EDS, eds), (LDS, &[][..]), (RDS, rds)] {
        c.subscribe(GW, type_url, names, &[]).await;
        let r = c.recv().await;
        assert_eq!(r.type_url, type_url);
        c.ack(&r).await;
        out.push(r);
    }
    out.try_into().unwrap()
}

fn removed(r: &DeltaDiscoveryResponse) -> Vec<&str> {
    r.removed_resources.iter().map(String::as_str).collect()
}

/// A request carrying `initial_resource_versions` (a reconnect).
async fn reconnect(c: &DeltaClient, type_url: &str, subscribe: &[&str], versions: &[(&str, &str)]) {
    c.send(DeltaDiscoveryRequest {
        node: Some(mk_node("envoy", GW)),
        type_url: type_url.into(),
        resource_names_subscribe: subscribe.iter().map(|n| n.to_string()).collect(),
        initial_resource_versions: versions
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Default::default()
    })
    .await;
}

fn version_of<'a>(r: &'a DeltaDiscoveryResponse, name: &str) -> &'a str {
    &r.resources.iter().find(|x| x.name == name).unwrap().version
}

// 1
#[tokio::test]
async fn c01_empty_type_url_ends_the_stream_with_invalid_argument() {
    let h = start(mk_world()).await;
    let mut c = h.delta().await;
    c.send(DeltaDiscoveryRequest {
        node: Some(mk_node("envoy", GW)),
        ..Default::default()
    })
    .await;
    assert_eq!(c.recv_err().await.code(), Code::InvalidArgument);
}

// 2: kgateway's node convention names the Gateway too
#[tokio::test]
async fn c02_a_kgateway_role_names_the_gateway() {
    use envoy_types::pb::google::protobuf::{Struct, Value, value::Kind};
    let h = start(mk_world()).await;
    let mut c = h.delta().await;
    let role = Value {
        kind: Some(Kind::StringValue("kgateway-kube-gateway-api~ns~gw".into())),
    };
    c.send(DeltaDiscoveryRequest {
        node: Some(envoy_types::pb::envoy::config::core::v3::Node {
            id: "gateway-proxy-abc".into(),
            metadata: Some(Struct {
                fields: [("role".to_string(), role)].into_iter().collect(),
            }),
            ..Default::default()
        }),
        type_url: LDS.into(),
        ..Default::default()
    })
    .await;
    assert_eq!(delta_names(&c.recv().await), [L80]);
}

// 3
#[tokio::test]
async fn c03_requests_are_held_until_ready() {
    let h = start_not_ready(1).await;
    let mut c = h.delta().await;
    c.subscribe(GW, LDS, &[], &[]).await;
    h.publish(1, mk_world(), Vec::new());
    c.silent().await;
    h.cache.mark_ready();
    assert_eq!(delta_names(&c.recv().await), [L80]);
}

// 4
#[tokio::test]
async fn c04_an_empty_view_still_gets_empty_lds_and_cds() {
    let h = start(mk_world()).await;
    let mut c = h.delta().await;
    for type_url in [LDS, CDS] {
        c.subscribe("ns/empty", type_url, &[], &[]).await;
        let r = c.recv().await;
        assert_eq!(r.type_url, type_url);
        assert!(r.resources.is_empty() && r.removed_resources.is_empty());
        c.ack(&r).await;
    }
    c.silent().await;
}

// 5, 6
#[tokio::test]
async fn c05_c06_nonces_are_unique_and_types_match() {
    let h = start(mk_world()).await;
    let mut c = h.delta().await;
    let mut responses = sync(&mut c, &[A], &[L80]).await.to_vec();
    for epoch in 2..5 {
        let ip = format!("10.0.0.{epoch}");
        h.publish(epoch, vec![mk_cla(A, &[ip.as_str()])], Vec::new());
        let r = c.recv().await;
        c.ack(&r).await;
        responses.push(r);
    }
    let nonces: BTreeSet<&str> = responses.iter().map(|r| r.nonce.as_str()).collect();
    assert_eq!(nonces.len(), responses.len());
    assert!(!nonces.contains(""));
    for r in &responses {
        let names = delta_names(r);
        let unique: BTreeSet<&String> = names.iter().chain(&r.removed_resources).collect();
        assert_eq!(unique.len(), names.len() + r.removed_resources.len());
        for res in &r.resources {
            assert_eq!(res.resource.as_ref().unwrap().type_url, r.type_url);
        }
    }
}

// 8
#[tokio::test]
async fn c08_an_ack_without_change_gets_nothing() {
    let h = start(mk_world()).await;
    let mut c = h.delta().await;
    sync(&mut c, &[A], &[L80]).await;
    c.silent().await;
}

// 9
#[tokio::test]
async fn c09_a_nacked_version_is_not_resent() {
    let h = start(mk_world()).await;
    let mut c = h.delta().await;
    sync(&mut c, &[A], &[L80]).await;
    h.publish(2, vec![mk_cla(A, &["10.0.0.9"])], Vec::new());
    let bad = c.recv().await;
    c.nack(&bad, "bad endpoints").await;
    c.silent().await;
    let t = h.stats.totals();
    assert_eq!(t.nacks[1], 1);
    let proxies = h.stats.proxies();
    let nack = proxies[0].types["eds"].last_nack.as_ref().unwrap();
    assert_eq!(nack.message, "bad endpoints");
    h.publish(3, vec![mk_cla(A, &["10.0.0.7"])], Vec::new());
    let next = c.recv().await;
    assert_ne!(version_of(&next, A), version_of(&bad, A));
}

// 12
#[tokio::test]
async fn c12_subscription_changes_apply_despite_a_stale_nonce() {
    let mut world = mk_world();
    world.extend([
        mk_route_config(L80, &[A, B]),
        mk_cluster(B),
        mk_cla(B, &["10.0.0.2"]),
    ]);
    let h = start(world).await;
    let mut c = h.delta().await;
    c.subscribe(GW, EDS, &[A], &[]).await;
    let r = c.recv().await;
    c.ack(&r).await;
    c.send(DeltaDiscoveryRequest {
        type_url: EDS.into(),
        response_nonce: "not-a-nonce-we-sent".into(),
        resource_names_subscribe: vec![B.into()],
        ..Default::default()
    })
    .await;
    assert_eq!(delta_names(&c.recv().await), [B]);
    assert_eq!(h.stats.totals().stale_nonces, 1);
}

// 13
#[tokio::test]
async fn c13_one_response_in_flight_per_type_newer_state_coalesced() {
    let h = start(mk_world()).await;
    let mut c = h.delta().await;
    sync(&mut c, &[A], &[L80]).await;
    h.publish(2, vec![mk_cla(A, &["10.0.0.2"])], Vec::new());
    let in_flight = c.recv().await;
    h.publish(3, vec![mk_cla(A, &["10.0.0.3"])], Vec::new());
    h.publish(4, vec![mk_cla(A, &["10.0.0.4"])], Vec::new());
    c.silent().await;
    // Other types are not blocked.
    h.publish(5, vec![mk_listener(GW, 81, &[L80])], Vec::new());
    let lds = c.recv().await;
    assert_eq!(delta_names(&lds), ["ns/gw/81"]);
    c.ack(&lds).await;
    c.ack(&in_flight).await;
    let latest = c.recv().await;
    let cla = ClusterLoadAssignment::decode(
        latest.resources[0]
            .resource
            .as_ref()
            .unwrap()
            .value
            .as_slice(),
    )
    .unwrap();
    let ep = &cla.endpoints[0].lb_endpoints[0];
    assert!(format!("{ep:?}").contains("10.0.0.4"), "{ep:?}");
    c.ack(&latest).await;
    c.silent().await;
}

// 14
#[tokio::test]
async fn c14_legacy_and_explicit_wildcard() {
    let l81 = "ns/gw/81";
    let mut world = mk_world();
    world.push(mk_listener(GW, 81, &[L80]));
    let h = start(world).await;
    let mut c = h.delta().await;
    // 1. Nothing subscribed in the first request: wildcard.
    c.subscribe(GW, LDS, &[], &[]).await;
    let r = c.recv().await;
    assert_eq!(delta_names(&r), [L80, l81]);
    c.ack(&r).await;
    // 2. Plus an explicit name (sent again, checklist 18).
    c.subscribe(GW, LDS, &[L80], &[]).await;
    let r = c.recv().await;
    assert_eq!(delta_names(&r), [L80]);
    c.ack(&r).await;
    // 3. Unsubscribing "*" keeps the explicit name; what only the wildcard covered goes.
    c.subscribe(GW, LDS, &[], &["*"]).await;
    let r = c.recv().await;
    assert!(r.resources.is_empty());
    assert_eq!(removed(&r), [l81]);
    c.ack(&r).await;
    // 4. Unsubscribing the name leaves nothing; new listeners are not sent.
    c.subscribe(GW, LDS, &[], &[L80]).await;
    h.publish(2, vec![mk_listener(GW, 82, &[L80])], Vec::new());
    c.silent().await;
}

// 17
#[tokio::test]
async fn c17_a_missing_name_is_reported_removed_then_sent_when_it_appears() {
    let missing = "svc/ns/missing/80";
    let h = start(mk_world()).await;
    let mut c = h.delta().await;
    c.subscribe(GW, EDS, &[A, missing], &[]).await;
    let r = c.recv().await;
    assert_eq!(delta_names(&r), [A]);
    assert_eq!(removed(&r), [missing]);
    c.ack(&r).await;
    h.publish(2, vec![mk_cla(A, &["10.0.0.5"])], Vec::new());
    let r = c.recv().await;
    assert!(r.removed_resources.is_empty(), "reported once");
    c.ack(&r).await;
    h.publish(
        3,
        vec![
            mk_route_config(L80, &[A, missing]),
            mk_cluster(missing),
            mk_cla(missing, &["10.0.0.6"]),
        ],
        Vec::new(),
    );
    let r = c.recv().await;
    assert_eq!(delta_names(&r), [missing]);
}

// 18
#[tokio::test]
async fn c18_resubscribed_names_are_sent_again() {
    let h = start(mk_world()).await;
    let mut c = h.delta().await;
    c.subscribe(GW, EDS, &[A], &[]).await;
    let first = c.recv().await;
    c.ack(&first).await;
    c.subscribe(GW, EDS, &[A], &[]).await;
    let again = c.recv().await;
    assert_eq!(again.resources, first.resources);
}

// 19
#[tokio::test]
async fn c19_wildcard_plus_explicit_then_unsubscribe_is_answered() {
    let h = start(mk_world()).await;
    let mut c = h.delta().await;
    c.subscribe(GW, LDS, &[], &[]).await;
    let r = c.recv().await;
    c.ack(&r).await;
    // X covered by the wildcard: answered in `resources`.
    c.subscribe(GW, LDS, &[L80], &[]).await;
    let r = c.recv().await;
    c.ack(&r).await;
    c.subscribe(GW, LDS, &[], &[L80]).await;
    let r = c.recv().await;
    assert_eq!(delta_names(&r), [L80]);
    c.ack(&r).await;
    // X not covered: answered in `removed_resources`.
    let x = "ns/gw/99";
    c.subscribe(GW, LDS, &[x], &[]).await;
    let r = c.recv().await;
    assert_eq!(removed(&r), [x]);
    c.ack(&r).await;
    c.subscribe(GW, LDS, &[], &[x]).await;
    let r = c.recv().await;
    assert!(r.resources.is_empty());
    assert_eq!(removed(&r), [x]);
}

// 20
#[tokio::test]
async fn c20_unsubscribing_unknown_names_is_ignored() {
    let h = start(mk_world()).await;
    let mut c = h.delta().await;
    sync(&mut c, &[A], &[L80]).await;
    c.subscribe(GW, EDS, &[], &["svc/ns/never/80"]).await;
    c.subscribe(GW, LDS, &[], &["ns/gw/never"]).await;
    c.silent().await;
    // The stream still works.
    h.publish(2, vec![mk_cla(A, &["10.0.0.5"])], Vec::new());
    assert_eq!(delta_names(&c.recv().await), [A]);
}

// 21
#[tokio::test]
async fn c21_initial_resource_versions_are_honoured() {
    let (la, lb, lc) = ("ns/gw/80", "ns/gw/81", "ns/gw/82");
    let mut world = mk_world();
    world.push(mk_listener(GW, 81, &[L80]));
    let h = start(world).await;
    let mut first = h.delta().await;
    first.subscribe(GW, LDS, &[], &[]).await;
    let r = first.recv().await;
    let (va, vb) = (
        version_of(&r, la).to_string(),
        version_of(&r, lb).to_string(),
    );
    drop(first);
    // Meanwhile b is deleted and c created.
    h.publish(
        2,
        vec![mk_listener(GW, 82, &[L80])],
        vec![key(XdsType::Listener, lb)],
    );
    let mut c = h.delta().await;
    reconnect(&c, LDS, &[], &[(la, &va), (lb, &vb)]).await;
    let r = c.recv().await;
    assert_eq!(delta_names(&r), [lc]);
    assert_eq!(removed(&r), [lb]);
    c.ack(&r).await;
    c.silent().await;
}

// 24
#[tokio::test]
async fn c24_only_the_changed_resource_and_deletions_by_name() {
    let mut world = mk_world();
    world.extend([
        mk_route_config(L80, &[A, B]),
        mk_cluster(B),
        mk_cla(B, &["10.0.0.2"]),
    ]);
    let h = start(world).await;
    let mut c = h.delta().await;
    let [cds, ..] = sync(&mut c, &[A, B], &[L80]).await;
    h.publish(2, vec![mk_cla(B, &["10.0.0.3"])], Vec::new());
    let r = c.recv().await;
    assert_eq!(r.type_url, EDS);
    assert_eq!(delta_names(&r), [B]);
    assert!(r.removed_resources.is_empty());
    c.ack(&r).await;
    // A wildcard-type deletion: the listener, then its route config (still subscribed).
    h.publish(3, Vec::new(), vec![key(XdsType::Listener, L80)]);
    let lds = c.recv().await;
    assert_eq!(lds.type_url, LDS);
    assert_eq!(removed(&lds), [L80]);
    assert!(lds.resources.is_empty());
    let rds = c.recv().await;
    assert_eq!((rds.type_url.as_str(), removed(&rds)), (RDS, vec![L80]));
    c.silent().await;
    c.ack(&lds).await;
    c.ack(&rds).await;
    // With the listener gone, so are its clusters and their endpoints, after routing.
    let r = c.recv().await;
    assert_eq!((r.type_url.as_str(), removed(&r)), (CDS, vec![A, B]));
    let r = c.recv().await;
    assert_eq!((r.type_url.as_str(), removed(&r)), (EDS, vec![A, B]));
    assert_eq!(delta_names(&cds), [A, B]);
}

// 24, at scale: one route config edited among 1000
#[tokio::test]
async fn c24_one_route_config_among_a_thousand() {
    let names: Vec<String> = (0..1000).map(|i| format!("{L80}/rc{i:04}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut world = vec![
        mk_sni_listener(GW, 80, &refs),
        mk_cluster(A),
        mk_cla(A, &["10.0.0.1"]),
    ];
    world.extend(refs.iter().map(|n| mk_route_config(n, &[A])));
    let h = start(world).await;
    let mut c = h.delta().await;
    let [.., rds] = sync(&mut c, &[A], &refs).await;
    assert_eq!(rds.resources.len(), 1000);
    let edited = refs[500];
    h.publish(2, vec![mk_route_config(edited, &[A, A])], Vec::new());
    let r = c.recv().await;
    assert_eq!(r.type_url, RDS);
    assert_eq!(delta_names(&r), [edited]);
    assert!(r.removed_resources.is_empty());
    assert_ne!(version_of(&r, edited), version_of(&rds, edited));
    c.ack(&r).await;
    c.silent().await;
    let t = h.stats.totals();
    assert_eq!(t.resources_sent[XdsType::Route as usize], 1001);
}

// 7
#[tokio::test]
async fn c07_an_unknown_node_is_held() {
    let h = start(mk_world()).await;
    let mut c = h.delta().await;
    c.send(DeltaDiscoveryRequest {
        node: Some(envoy_types::pb::envoy::config::core::v3::Node {
            id: "stray".into(),
            ..Default::default()
        }),
        type_url: LDS.into(),
        ..Default::default()
    })
    .await;
    c.silent().await;
    assert_eq!(h.stats.connected(), 1);
    assert_eq!(h.stats.totals().unknown_node_streams, 1);
}

// 26
#[tokio::test]
async fn c26_a_change_outside_the_view_sends_nothing() {
    let h = start(mk_world()).await;
    let mut c = h.delta().await;
    sync(&mut c, &[A], &[L80]).await;
    h.publish(
        2,
        vec![
            mk_listener("ns/other", 80, &["ns/other/80"]),
            mk_route_config("ns/other/80", &[B]),
            mk_cluster(B),
            mk_cla(B, &["10.0.0.2"]),
        ],
        Vec::new(),
    );
    h.publish(3, mk_world(), Vec::new());
    h.publish(4, Vec::new(), Vec::new());
    c.silent().await;
}

// 27
#[tokio::test]
async fn c27_a_restarted_server_resends_only_what_changed() {
    let old = start(mk_world()).await;
    let mut c = old.delta().await;
    let [cds, eds, lds, _] = sync(&mut c, &[A], &[L80]).await;
    drop(c);
    // New process: the listener changed meanwhile, the rest did not.
    let new = start_not_ready(2).await;
    let mut world = mk_world();
    world[0] = mk_sni_listener(GW, 80, &[L80]);
    new.publish(1, world, Vec::new());
    new.cache.mark_ready();
    let mut c = new.delta().await;
    // The cluster is current: nothing to send.
    reconnect(&c, CDS, &[], &[(A, version_of(&cds, A))]).await;
    c.silent().await;
    // Envoy resubscribes EDS names on reconnect: sent again.
    reconnect(&c, EDS, &[A], &[(A, version_of(&eds, A))]).await;
    let r = c.recv().await;
    assert_eq!(delta_names(&r), [A]);
    c.ack(&r).await;
    // The listener changed: sent, under the new process epoch.
    reconnect(&c, LDS, &[], &[(L80, version_of(&lds, L80))]).await;
    let r = c.recv().await;
    assert_eq!(delta_names(&r), [L80]);
    assert!(version_of(&r, L80).starts_with("2."));
}

// 29
#[tokio::test]
async fn c29_a_new_cluster_and_its_cla_precede_the_route_using_it() {
    let h = start(mk_world()).await;
    let mut c = h.delta().await;
    sync(&mut c, &[A], &[L80]).await;
    h.publish(
        2,
        vec![
            mk_route_config(L80, &[A, B]),
            mk_cluster(B),
            mk_cla(B, &["10.0.0.2"]),
        ],
        Vec::new(),
    );
    let cds = c.recv().await;
    assert_eq!(cds.type_url, CDS);
    assert_eq!(delta_names(&cds), [B]);
    c.silent().await;
    c.ack(&cds).await;
    c.subscribe(GW, EDS, &[B], &[]).await;
    let eds = c.recv().await;
    assert_eq!(
        (eds.type_url.as_str(), delta_names(&eds)),
        (EDS, vec![B.to_string()])
    );
    let rds = c.recv().await;
    assert_eq!(
        (rds.type_url.as_str(), delta_names(&rds)),
        (RDS, vec![L80.to_string()])
    );
}

// 30
#[tokio::test]
async fn c30_the_route_leaves_a_cluster_before_the_cluster_goes() {
    let mut world = mk_world();
    world.extend([
        mk_route_config(L80, &[A, B]),
        mk_cluster(B),
        mk_cla(B, &["10.0.0.2"]),
    ]);
    let h = start(world).await;
    let mut c = h.delta().await;
    sync(&mut c, &[A, B], &[L80]).await;
    h.publish(
        2,
        vec![mk_route_config(L80, &[A])],
        vec![key(XdsType::Cluster, B), key(XdsType::Endpoint, B)],
    );
    let rds = c.recv().await;
    assert_eq!(rds.type_url, RDS);
    c.silent().await;
    c.ack(&rds).await;
    let cds = c.recv().await;
    assert_eq!((cds.type_url.as_str(), removed(&cds)), (CDS, vec![B]));
    let eds = c.recv().await;
    assert_eq!((eds.type_url.as_str(), removed(&eds)), (EDS, vec![B]));
}

// 31
#[tokio::test]
async fn c31_a_changed_eds_cluster_is_followed_by_its_cla() {
    let h = start(mk_world()).await;
    let mut c = h.delta().await;
    let [_, eds, _, _] = sync(&mut c, &[A], &[L80]).await;
    h.publish(2, vec![mk_cluster_timeout(A, 1000)], Vec::new());
    let cds = c.recv().await;
    assert_eq!(
        (cds.type_url.as_str(), delta_names(&cds)),
        (CDS, vec![A.to_string()])
    );
    let again = c.recv().await;
    assert_eq!(again.type_url, EDS);
    assert_eq!(again.resources, eds.resources, "same endpoints, sent again");
}

// 32
#[tokio::test]
async fn c32_no_endpoints_is_an_empty_cla_not_a_removal() {
    let h = start(mk_world()).await;
    let mut c = h.delta().await;
    sync(&mut c, &[A], &[L80]).await;
    h.publish(2, vec![mk_cla(A, &[])], Vec::new());
    let r = c.recv().await;
    assert!(r.removed_resources.is_empty());
    assert_eq!(delta_names(&r), [A]);
    let any = r.resources[0].resource.as_ref().unwrap();
    let cla = ClusterLoadAssignment::decode(any.value.as_slice()).unwrap();
    assert!(cla.endpoints.is_empty());
}

// 38
#[tokio::test]
async fn c38_an_oversized_request_is_resource_exhausted() {
    let h = start(mk_world()).await;
    let mut c = h.delta().await;
    let big = "v".repeat(1024);
    let versions: Vec<(String, &str)> = (0..17 * 1024)
        .map(|i| (format!("svc/ns/s{i}/80"), big.as_str()))
        .collect();
    let versions: Vec<(&str, &str)> = versions.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    reconnect(&c, CDS, &[], &versions).await;
    assert_eq!(c.recv_err().await.code(), Code::ResourceExhausted);
    assert_eq!(h.stats.totals().oversized_requests, 1);
}
