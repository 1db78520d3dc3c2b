//! State-of-the-world ADS against a real tonic server: one test per checklist item of
//! `docs/xds-server.md` §A.12 that SotW can show (`cNN_` = item NN).

mod ads_support;

use std::collections::BTreeSet;

use ads_support::*;
use envoy_types::pb::envoy::config::endpoint::v3::ClusterLoadAssignment;
use envoy_types::pb::envoy::service::discovery::v3::{DiscoveryRequest, DiscoveryResponse};
use prost::Message;
use sluice_dataflow::ir::{Resource, XdsType};
use sluice_emit::cache::XdsCache;
use sluice_emit::server::ResourceSource;
use tonic::Code;

/// Envoy's start-up sequence for `GW`: CDS (wildcard), EDS `eds`, LDS (wildcard), RDS `rds`,
/// each ACKed. Returns the four responses.
async fn sync(c: &mut SotwClient, eds: &[&str], rds: &[&str]) -> [DiscoveryResponse; 4] {
    c.request(GW, CDS, &[]).await;
    let cds = c.recv().await;
    c.ack(&cds, &[]).await;
    c.request(GW, EDS, eds).await;
    let eds_resp = c.recv().await;
    c.ack(&eds_resp, eds).await;
    c.request(GW, LDS, &[]).await;
    let lds = c.recv().await;
    c.ack(&lds, &[]).await;
    c.request(GW, RDS, rds).await;
    let rds_resp = c.recv().await;
    c.ack(&rds_resp, rds).await;
    [cds, eds_resp, lds, rds_resp]
}

/// `ns/other`: its own listener and route config, using cluster B.
fn other_gateway() -> Vec<Resource> {
    vec![
        mk_listener("ns/other", 80, &["ns/other/80"]),
        mk_route_config("ns/other/80", &[B]),
        mk_cluster(B),
        mk_cla(B, &["10.0.0.2"]),
    ]
}

fn assert_type(resp: &DiscoveryResponse, type_url: &str) {
    assert_eq!(resp.type_url, type_url, "{resp:?}");
}

// 1
#[tokio::test]
async fn c01_empty_type_url_ends_the_stream_with_invalid_argument() {
    let h = start(mk_world()).await;
    let mut c = h.sotw().await;
    c.send(DiscoveryRequest {
        node: Some(mk_node("envoy", GW)),
        ..Default::default()
    })
    .await;
    assert_eq!(c.recv_err().await.code(), Code::InvalidArgument);
    assert_eq!(h.stats.totals().invalid_requests, 1);
}

// 2
#[tokio::test]
async fn c02_the_first_node_sticks() {
    let mut world = mk_world();
    world.extend(other_gateway());
    let h = start(world).await;
    let mut c = h.sotw().await;
    c.request(GW, LDS, &[]).await;
    let lds = c.recv().await;
    assert_eq!(sotw_names(&lds), [L80]);
    c.ack(&lds, &[]).await;
    // A later request names another Gateway's node: ignored, the stream stays on GW.
    c.request("ns/other", CDS, &[]).await;
    assert_eq!(sotw_names(&c.recv().await), [A]);
    assert_eq!(h.stats.proxies()[0].gateway.as_deref(), Some(GW));
}

// 3
#[tokio::test]
async fn c03_requests_are_held_until_the_first_compile_is_published() {
    let h = start_not_ready(1).await;
    let mut c = h.sotw().await;
    c.request(GW, LDS, &[]).await;
    c.silent().await;
    // Published but not ready yet (initial sync incomplete): still nothing.
    h.publish(1, mk_world(), Vec::new());
    c.silent().await;
    h.cache.mark_ready();
    assert_eq!(sotw_names(&c.recv().await), [L80]);
}

// 4
#[tokio::test]
async fn c04_an_empty_view_still_gets_empty_lds_and_cds() {
    let h = start(mk_world()).await;
    let mut c = h.sotw().await;
    c.request("ns/empty", LDS, &[]).await;
    let lds = c.recv().await;
    assert_type(&lds, LDS);
    assert!(lds.resources.is_empty());
    c.request("ns/empty", CDS, &[]).await;
    let cds = c.recv().await;
    assert_type(&cds, CDS);
    assert!(cds.resources.is_empty());
}

// 5, 6
#[tokio::test]
async fn c05_c06_nonces_are_unique_and_types_match() {
    let mut world = mk_world();
    world.extend([mk_cluster(B), mk_cla(B, &["10.0.0.2"])]);
    world.push(mk_route_config(L80, &[A, B]));
    let h = start(world).await;
    let mut c = h.sotw().await;
    let mut responses = sync(&mut c, &[A, B], &[L80]).await.to_vec();
    h.publish(2, vec![mk_cla(A, &["10.0.0.9"])], Vec::new());
    let eds = c.recv().await;
    c.ack(&eds, &[A, B]).await;
    responses.push(eds);
    h.publish(3, vec![mk_cla(A, &["10.0.0.8"])], Vec::new());
    responses.push(c.recv().await);
    let nonces: BTreeSet<&str> = responses.iter().map(|r| r.nonce.as_str()).collect();
    assert_eq!(nonces.len(), responses.len());
    assert!(!nonces.contains(""));
    for r in &responses {
        assert!(
            r.resources.iter().all(|a| a.type_url == r.type_url),
            "{r:?}"
        );
        let names = sotw_names(r);
        let unique: BTreeSet<&String> = names.iter().collect();
        assert_eq!(unique.len(), names.len(), "duplicate names in {names:?}");
    }
}

// 7
#[tokio::test]
async fn c07_an_unknown_node_is_held_and_counted() {
    let h = start(mk_world()).await;
    let mut c = h.sotw().await;
    let stray = envoy_types::pb::envoy::config::core::v3::Node {
        id: "stray".into(),
        cluster: "no-gateway".into(),
        ..Default::default()
    };
    for type_url in [LDS, CDS] {
        c.send(DiscoveryRequest {
            node: Some(stray.clone()),
            type_url: type_url.into(),
            ..Default::default()
        })
        .await;
    }
    c.silent().await;
    assert_eq!(h.stats.connected(), 1, "the stream stays open");
    assert_eq!(h.stats.totals().unknown_node_streams, 1);
    assert!(
        h.stats
            .render_prometheus()
            .contains("sluice_xds_unknown_node_streams 1")
    );
}

// 8
#[tokio::test]
async fn c08_an_ack_without_change_gets_nothing() {
    let h = start(mk_world()).await;
    let mut c = h.sotw().await;
    sync(&mut c, &[A], &[L80]).await;
    c.silent().await;
    assert_eq!(h.stats.totals().acks, [1, 1, 0, 1, 1]);
}

// 9
#[tokio::test]
async fn c09_a_nacked_version_is_not_resent() {
    let h = start(mk_world()).await;
    let mut c = h.sotw().await;
    let [_, eds, _, _] = sync(&mut c, &[A], &[L80]).await;
    h.publish(2, vec![mk_cla(A, &["10.0.0.9"])], Vec::new());
    let bad = c.recv().await;
    c.send(DiscoveryRequest {
        version_info: eds.version_info.clone(),
        type_url: EDS.into(),
        response_nonce: bad.nonce.clone(),
        resource_names: vec![A.into()],
        error_detail: nack_detail("endpoint rejected"),
        ..Default::default()
    })
    .await;
    c.silent().await;
    let stats = h.stats.proxies();
    let eds_stats = &stats[0].types["eds"];
    assert_eq!(eds_stats.nacks, 1);
    let nack = eds_stats.last_nack.as_ref().unwrap();
    assert_eq!(
        (nack.nonce.as_str(), nack.message.as_str()),
        (bad.nonce.as_str(), "endpoint rejected")
    );
    assert!(h.stats.render_prometheus().contains("endpoint rejected"));
    // A content change makes the next response.
    h.publish(3, vec![mk_cla(A, &["10.0.0.7"])], Vec::new());
    let next = c.recv().await;
    assert_ne!(next.version_info, bad.version_info);
}

// 10
#[tokio::test]
async fn c10_a_version_mismatch_without_error_detail_is_an_ack() {
    let h = start(mk_world()).await;
    let mut c = h.sotw().await;
    c.request(GW, CDS, &[]).await;
    let cds = c.recv().await;
    c.send(DiscoveryRequest {
        version_info: "something-else".into(),
        type_url: CDS.into(),
        response_nonce: cds.nonce.clone(),
        ..Default::default()
    })
    .await;
    c.silent().await;
    let t = h.stats.totals();
    assert_eq!((t.acks[0], t.nacks[0]), (1, 0));
}

// 11
#[tokio::test]
async fn c11_a_stale_nonce_triggers_no_response() {
    let mut world = mk_world();
    world.extend([
        mk_route_config(L80, &[A, B]),
        mk_cluster(B),
        mk_cla(B, &["10.0.0.2"]),
    ]);
    let h = start(world).await;
    let mut c = h.sotw().await;
    c.request(GW, EDS, &[A]).await;
    let first = c.recv().await;
    c.ack(&first, &[A]).await;
    h.publish(2, vec![mk_cla(A, &["10.0.0.9"])], Vec::new());
    let second = c.recv().await;
    c.ack(&second, &[A]).await;
    // Adds B, but answers the first response: stale.
    c.ack(&first, &[A, B]).await;
    c.silent().await;
    assert_eq!(h.stats.totals().stale_nonces, 1);
    c.ack(&second, &[A, B]).await;
    assert_eq!(sotw_names(&c.recv().await), [B]);
}

// 13
#[tokio::test]
async fn c13_one_response_in_flight_per_type_newer_state_coalesced() {
    let h = start(mk_world()).await;
    let mut c = h.sotw().await;
    sync(&mut c, &[A], &[L80]).await;
    h.publish(2, vec![mk_cla(A, &["10.0.0.2"])], Vec::new());
    let in_flight = c.recv().await;
    assert_type(&in_flight, EDS);
    h.publish(3, vec![mk_cla(A, &["10.0.0.3"])], Vec::new());
    h.publish(4, vec![mk_cla(A, &["10.0.0.4"])], Vec::new());
    c.silent().await;
    assert!(h.stats.proxies()[0].types["eds"].unacked_ms.is_some());
    assert!(
        h.stats
            .render_prometheus()
            .contains("sluice_xds_unacked_seconds")
    );
    // Other types are not blocked.
    h.publish(5, vec![mk_listener(GW, 81, &[L80])], Vec::new());
    let lds = c.recv().await;
    assert_type(&lds, LDS);
    c.ack(&lds, &[]).await;
    // The ACK releases the latest state only.
    c.ack(&in_flight, &[A]).await;
    let latest = c.recv().await;
    assert_type(&latest, EDS);
    let expected = h
        .cache
        .read(|cache| cache.get(XdsType::Endpoint, A).unwrap().any.clone());
    assert_eq!(latest.resources, [expected]);
    c.ack(&latest, &[A]).await;
    c.silent().await;
}

// 14
#[tokio::test]
async fn c14_legacy_and_explicit_wildcard() {
    let mut world = mk_world();
    world.push(mk_listener(GW, 81, &[L80]));
    let h = start(world).await;
    let mut c = h.sotw().await;
    let l81 = "ns/gw/81";
    // 1. No names: wildcard.
    c.request(GW, LDS, &[]).await;
    let r = c.recv().await;
    assert_eq!(sotw_names(&r), [L80, l81]);
    c.ack(&r, &[]).await;
    c.silent().await;
    // 2. "*" and a name: still everything.
    c.ack(&r, &["*", L80]).await;
    let r = c.recv().await;
    assert_eq!(sotw_names(&r), [L80, l81]);
    c.ack(&r, &["*", L80]).await;
    // 3. Just the name: the wildcard ends.
    c.ack(&r, &[L80]).await;
    let r = c.recv().await;
    assert_eq!(sotw_names(&r), [L80]);
    c.ack(&r, &[L80]).await;
    // 4. Empty after explicit names: nothing at all, not the wildcard.
    c.ack(&r, &[]).await;
    h.publish(2, vec![mk_listener(GW, 82, &[L80])], Vec::new());
    c.silent().await;
}

// 15
#[tokio::test]
async fn c15_an_added_name_is_sent_at_an_unchanged_version() {
    let mut world = mk_world();
    world.extend([
        mk_route_config(L80, &[A, B]),
        mk_cluster(B),
        mk_cla(B, &["10.0.0.2"]),
    ]);
    let h = start(world).await;
    let mut c = h.sotw().await;
    c.request(GW, EDS, &[A]).await;
    let r = c.recv().await;
    c.ack(&r, &[A]).await;
    c.ack(&r, &[A, B]).await;
    let r = c.recv().await;
    assert_eq!(sotw_names(&r), [B]);
    c.ack(&r, &[A, B]).await;
    // Dropping A and adding it back resends it.
    c.ack(&r, &[B]).await;
    c.silent().await;
    c.ack(&r, &[A, B]).await;
    assert_eq!(sotw_names(&c.recv().await), [A]);
}

// 16
#[tokio::test]
async fn c16_subsets_and_supersets_are_answered_at_once() {
    let h = start(mk_world()).await;
    let mut c = h.sotw().await;
    c.request(GW, EDS, &[A, "svc/ns/missing/80"]).await;
    assert_eq!(sotw_names(&c.recv().await), [A]);
}

// 17
#[tokio::test]
async fn c17_a_missing_name_is_sent_when_it_appears() {
    let mut world = mk_world();
    world.extend([mk_route_config(L80, &[A, B]), mk_cluster(B)]);
    let h = start(world).await;
    let mut c = h.sotw().await;
    c.request(GW, EDS, &[A, B]).await;
    let r = c.recv().await;
    assert_eq!(sotw_names(&r), [A]);
    c.ack(&r, &[A, B]).await;
    c.silent().await;
    h.publish(2, vec![mk_cla(B, &["10.0.0.2"])], Vec::new());
    assert_eq!(sotw_names(&c.recv().await), [B]);
}

// 22
#[tokio::test]
async fn c22_lds_and_cds_carry_the_full_set() {
    let l81 = "ns/gw/81";
    let mut world = mk_world();
    world.extend([
        mk_listener(GW, 81, &[l81]),
        mk_route_config(l81, &[B]),
        mk_cluster(B),
        mk_cla(B, &["10.0.0.2"]),
    ]);
    let h = start(world).await;
    let mut c = h.sotw().await;
    c.request(GW, CDS, &[]).await;
    let cds = c.recv().await;
    assert_eq!(sotw_names(&cds), [A, B]);
    c.ack(&cds, &[]).await;
    c.request(GW, LDS, &[]).await;
    let lds = c.recv().await;
    assert_eq!(sotw_names(&lds), [L80, l81]);
    c.ack(&lds, &[]).await;
    // Listener 81 goes: LDS without it, then CDS without B (its only user).
    h.publish(2, Vec::new(), vec![key(XdsType::Listener, l81)]);
    let lds = c.recv().await;
    assert_type(&lds, LDS);
    assert_eq!(sotw_names(&lds), [L80]);
    c.ack(&lds, &[]).await;
    let cds = c.recv().await;
    assert_eq!(sotw_names(&cds), [A]);
    c.ack(&cds, &[]).await;
    // Everything goes: empty responses delete all.
    h.publish(3, Vec::new(), vec![key(XdsType::Listener, L80)]);
    let lds = c.recv().await;
    assert_type(&lds, LDS);
    assert!(lds.resources.is_empty());
    c.ack(&lds, &[]).await;
    let cds = c.recv().await;
    assert_type(&cds, CDS);
    assert!(cds.resources.is_empty());
}

// 23
#[tokio::test]
async fn c23_rds_sends_only_the_changed_route_config() {
    let l81 = "ns/gw/81";
    let mut world = mk_world();
    world.extend([mk_listener(GW, 81, &[l81]), mk_route_config(l81, &[A])]);
    let h = start(world).await;
    let mut c = h.sotw().await;
    sync(&mut c, &[A], &[L80, l81]).await;
    let changed = mk_route_config(l81, &[A, A]);
    h.publish(2, vec![changed], Vec::new());
    let rds = c.recv().await;
    assert_eq!(sotw_names(&rds), [l81]);
    let expected = h
        .cache
        .read(|cache| cache.get(XdsType::Route, l81).unwrap().any.clone());
    assert_eq!(rds.resources, [expected], "the resource is complete");
}

/// Versions of a fixed world, as `name version` lines.
fn world_versions() -> Vec<String> {
    let mut world = mk_world();
    world.extend([
        mk_listener(GW, 443, &["ns/gw/443/https"]),
        mk_route_config("ns/gw/443/https", &[A, B]),
        Resource::from(sluice_dataflow::ir::ClusterIr {
            name: B.into(),
            discovery: sluice_dataflow::ir::DiscoveryIr::Eds,
            http2: true,
            connect_timeout_ms: 2500,
        }),
        mk_cla(B, &["10.0.0.2", "10.0.0.3"]),
    ]);
    let mut cache = XdsCache::new(1);
    cache.apply(&mk_batch(1, world, Vec::new()));
    XdsType::ALL
        .into_iter()
        .flat_map(|ty| {
            cache
                .all(ty)
                .map(|e| format!("{} {}", e.name, e.version))
                .collect::<Vec<_>>()
        })
        .collect()
}

const PRINT_VERSIONS: &str = "SLUICE_ADS_PRINT_VERSIONS";

/// Helper of `c25`: prints the versions when run as its child process.
#[test]
fn c25_child_prints_versions() {
    if std::env::var_os(PRINT_VERSIONS).is_some() {
        for line in world_versions() {
            println!("VERSION {line}");
        }
    }
}

// 25
#[test]
fn c25_versions_are_identical_across_processes() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "c25_child_prints_versions",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(PRINT_VERSIONS, "1")
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let theirs: Vec<&str> = stdout
        .lines()
        // libtest may print its "test … " prefix on the first line.
        .filter_map(|l| l.split_once("VERSION ").map(|(_, v)| v))
        .collect();
    let ours = world_versions();
    assert_eq!(theirs.len(), 8);
    assert_eq!(theirs, ours);
}

// 26
#[tokio::test]
async fn c26_a_change_outside_the_view_sends_nothing() {
    let h = start(mk_world()).await;
    let mut c = h.sotw().await;
    sync(&mut c, &[A], &[L80]).await;
    h.publish(2, other_gateway(), Vec::new());
    h.publish(3, vec![mk_cla(B, &["10.0.0.9"])], Vec::new());
    // A status-only epoch.
    h.publish(4, Vec::new(), Vec::new());
    // Re-publishing identical content.
    h.publish(5, mk_world(), Vec::new());
    c.silent().await;
}

// 27
#[tokio::test]
async fn c27_a_restarted_server_sends_the_full_state() {
    let old = start(mk_world()).await;
    let mut c = old.sotw().await;
    let [cds, _, lds, _] = sync(&mut c, &[A], &[L80]).await;
    drop(c);
    // Same content, new process epoch.
    let new = start_not_ready(2).await;
    new.publish(1, mk_world(), Vec::new());
    new.cache.mark_ready();
    let mut c = new.sotw().await;
    for (type_url, previous) in [(CDS, &cds), (LDS, &lds)] {
        c.send(DiscoveryRequest {
            version_info: previous.version_info.clone(),
            node: Some(mk_node("envoy", GW)),
            type_url: type_url.into(),
            ..Default::default()
        })
        .await;
        let r = c.recv().await;
        assert_eq!(r.resources, previous.resources, "same content");
        assert_ne!(r.version_info, previous.version_info);
        c.ack(&r, &[]).await;
    }
}

// 29
#[tokio::test]
async fn c29_a_new_cluster_and_its_cla_precede_the_route_using_it() {
    let h = start(mk_world()).await;
    let mut c = h.sotw().await;
    let [_, eds, _, _] = sync(&mut c, &[A], &[L80]).await;
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
    assert_type(&cds, CDS);
    assert_eq!(sotw_names(&cds), [A, B]);
    // The route config waits for B's endpoints, which the client has not asked for yet.
    c.silent().await;
    c.ack(&cds, &[]).await;
    c.ack(&eds, &[A, B]).await;
    let eds = c.recv().await;
    assert_type(&eds, EDS);
    assert_eq!(sotw_names(&eds), [B]);
    let rds = c.recv().await;
    assert_type(&rds, RDS);
    assert_eq!(sotw_names(&rds), [L80]);
}

// 29, when the client never asks for the new cluster's endpoints
#[tokio::test]
async fn c29_the_route_hold_times_out() {
    let h = start(mk_world()).await;
    let mut c = h.sotw().await;
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
    c.ack(&cds, &[]).await;
    let held_since = std::time::Instant::now();
    let rds = c.recv().await;
    assert_type(&rds, RDS);
    assert!(held_since.elapsed() >= std::time::Duration::from_secs(4));
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
    let mut c = h.sotw().await;
    sync(&mut c, &[A, B], &[L80]).await;
    h.publish(
        2,
        vec![mk_route_config(L80, &[A])],
        vec![key(XdsType::Cluster, B), key(XdsType::Endpoint, B)],
    );
    let rds = c.recv().await;
    assert_type(&rds, RDS);
    // The cluster removal waits for the route's ACK.
    c.silent().await;
    c.ack(&rds, &[L80]).await;
    let cds = c.recv().await;
    assert_type(&cds, CDS);
    assert_eq!(sotw_names(&cds), [A]);
}

// 31
#[tokio::test]
async fn c31_a_changed_eds_cluster_is_followed_by_its_cla() {
    let h = start(mk_world()).await;
    let mut c = h.sotw().await;
    let [_, eds, _, _] = sync(&mut c, &[A], &[L80]).await;
    h.publish(2, vec![mk_cluster_timeout(A, 1000)], Vec::new());
    let cds = c.recv().await;
    assert_type(&cds, CDS);
    let again = c.recv().await;
    assert_type(&again, EDS);
    assert_eq!(again.resources, eds.resources, "same endpoints, sent again");
}

// 32
#[tokio::test]
async fn c32_no_endpoints_is_an_empty_cla() {
    let h = start(mk_world()).await;
    let mut c = h.sotw().await;
    sync(&mut c, &[A], &[L80]).await;
    h.publish(2, vec![mk_cla(A, &[])], Vec::new());
    let eds = c.recv().await;
    assert_eq!(sotw_names(&eds), [A]);
    let cla = ClusterLoadAssignment::decode(eds.resources[0].value.as_slice()).unwrap();
    assert_eq!(cla.cluster_name, A);
    assert!(cla.endpoints.is_empty());
}

// 33
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c33_a_client_that_stops_reading_delays_no_one() {
    let h = start(mk_world()).await;
    // Subscribes to everything, then neither reads nor ACKs.
    let slow = h.sotw().await;
    for (type_url, names) in [
        (CDS, &[][..]),
        (EDS, &[A][..]),
        (LDS, &[][..]),
        (RDS, &[L80][..]),
    ] {
        slow.request(GW, type_url, names).await;
    }
    let mut fast = h.sotw().await;
    sync(&mut fast, &[A], &[L80]).await;
    for epoch in 2..50u64 {
        let ip = format!("10.0.1.{epoch}");
        let started = std::time::Instant::now();
        h.publish(epoch, vec![mk_cla(A, &[ip.as_str()])], Vec::new());
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        let eds = fast.recv().await;
        let cla = ClusterLoadAssignment::decode(eds.resources[0].value.as_slice()).unwrap();
        assert_eq!(cla.endpoints[0].lb_endpoints.len(), 1);
        fast.ack(&eds, &[A]).await;
    }
    assert_eq!(h.stats.connected(), 2);
    // Bounded per client: 48 changes later, the slow stream holds at most one un-ACKed
    // response per type (newer state is recomputed on its ACK, never queued).
    let proxies = h.stats.proxies();
    let slow_stream = proxies.iter().min_by_key(|p| p.stream).unwrap();
    let sent: u64 = slow_stream.types.values().map(|t| t.responses).sum();
    assert!(sent <= 4, "the slow client was sent {sent} responses");
    drop(slow);
}

// 35 (beyond the socket-level part: stream state goes with the stream)
#[tokio::test]
async fn c35_closed_streams_free_their_state() {
    let h = start(mk_world()).await;
    let mut clients = Vec::new();
    for _ in 0..20 {
        let mut c = h.sotw().await;
        c.request(GW, LDS, &[]).await;
        c.recv().await;
        clients.push(c);
    }
    assert_eq!(h.stats.connected(), 20);
    drop(clients);
    let deadline = std::time::Instant::now() + PATIENCE;
    while h.stats.connected() > 0 {
        assert!(std::time::Instant::now() < deadline, "streams not freed");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

// 39
#[tokio::test]
async fn c39_per_type_state_is_exposed() {
    let h = start(mk_world()).await;
    let mut c = h.sotw().await;
    let [cds, ..] = sync(&mut c, &[A], &[L80]).await;
    let proxies = h.stats.proxies();
    let cds_stats = &proxies[0].types["cds"];
    assert_eq!(proxies[0].node_id.as_deref(), Some("envoy"));
    assert_eq!(
        cds_stats.last_sent_version.as_deref(),
        Some(cds.version_info.as_str())
    );
    assert_eq!(
        cds_stats.last_sent_nonce.as_deref(),
        Some(cds.nonce.as_str())
    );
    assert_eq!(
        cds_stats.last_acked_version.as_deref(),
        Some(cds.version_info.as_str())
    );
    assert_eq!(cds_stats.unacked_ms, None);
    let text = h.stats.render_prometheus();
    assert!(
        text.contains("sluice_xds_acks_total{type=\"cds\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("sluice_xds_connected_streams{kind=\"sotw\"} 1"),
        "{text}"
    );
}
