//! Shape of the generated bootstraps (Envoy itself checks them in `envoy_validate.rs`).

mod common;

use common::*;
use serde_json::{Value, json};
use sluice_dataflow::ir::*;
use sluice_dataflow::output::Snapshot;
use sluice_emit::bootstrap::{XDS_CLUSTER, ads_bootstrap, static_bootstrap};

fn by_name<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name)
        .unwrap_or_else(|| panic!("{name} missing"))
}

#[test]
fn static_bootstrap_inlines_routes_and_endpoints() {
    let b = static_bootstrap(&sample_snapshot("CERT", "KEY"), 19001);
    assert_eq!(
        b["admin"]["address"]["socket_address"],
        json!({"address": "127.0.0.1", "port_value": 19001})
    );
    let res = &b["static_resources"];
    assert_eq!(res["listeners"].as_array().unwrap().len(), 2);
    assert_eq!(res["clusters"].as_array().unwrap().len(), 5);

    let https = by_name(&res["listeners"], "default/gw/443");
    let hcm = &https["filter_chains"][1]["filters"][0]["typed_config"];
    assert!(hcm.get("rds").is_none());
    assert_eq!(hcm["route_config"]["name"], "default/gw/443/https-wild");
    assert_eq!(
        hcm["route_config"]["virtual_hosts"][0]["domains"],
        json!(["*.example.com"])
    );

    let eds = by_name(&res["clusters"], "svc/default/a/80");
    assert!(eds.get("eds_cluster_config").is_none());
    assert_eq!(eds["type"], "STATIC");
    assert_eq!(
        eds["load_assignment"]["endpoints"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let empty = by_name(&res["clusters"], "svc/default/empty/80");
    assert_eq!(
        empty["load_assignment"],
        json!({"cluster_name": "svc/default/empty/80"})
    );
    assert_eq!(
        by_name(&res["clusters"], "backend/default/dns")["type"],
        "STRICT_DNS"
    );
}

#[test]
fn static_bootstrap_tolerates_missing_route_config_and_endpoints() {
    let resources = [
        Resource::from(mk_listener("l", 80, vec![mk_chain("nowhere", &[], None)])),
        Resource::from(mk_cluster("lonely", DiscoveryIr::Eds, false)),
    ];
    let snapshot = Snapshot {
        resources: resources.into_iter().map(|r| (r.key(), r)).collect(),
        statuses: Default::default(),
    };
    let b = static_bootstrap(&snapshot, 19000);
    let hcm =
        &b["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"];
    assert_eq!(hcm["route_config"], json!({"name": "nowhere"}));
    let c = &b["static_resources"]["clusters"][0];
    assert_eq!(c["type"], "STATIC");
    assert_eq!(c["load_assignment"], json!({"cluster_name": "lonely"}));
}

#[test]
fn ads_bootstrap_points_at_the_xds_server() {
    let b = ads_bootstrap(
        "node-7",
        "gw-proxies",
        ("infra", "edge"),
        "10.0.0.9",
        18000,
        false,
        19000,
        None,
    );
    assert_eq!(b["node"]["id"], "node-7");
    assert_eq!(b["node"]["cluster"], "gw-proxies");
    assert_eq!(b["node"]["metadata"], json!({"gateway": "infra/edge"}));
    let ads = &b["dynamic_resources"]["ads_config"];
    assert_eq!(ads["api_type"], "GRPC");
    assert_eq!(ads["transport_api_version"], "V3");
    assert_eq!(
        ads["grpc_services"][0]["envoy_grpc"]["cluster_name"],
        XDS_CLUSTER
    );
    let ads_source = json!({"ads": {}, "resource_api_version": "V3"});
    assert_eq!(b["dynamic_resources"]["cds_config"], ads_source);
    assert_eq!(b["dynamic_resources"]["lds_config"], ads_source);
    let xds = &b["static_resources"]["clusters"][0];
    assert_eq!(xds["name"], XDS_CLUSTER);
    assert_eq!(xds["type"], "STATIC");
    assert_eq!(
        xds["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]["socket_address"],
        json!({"address": "10.0.0.9", "port_value": 18000})
    );
    assert!(
        xds["typed_extension_protocol_options"]["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]
            ["explicit_http_config"]
            .get("http2_protocol_options")
            .is_some()
    );
    assert_eq!(b["admin"]["address"]["socket_address"]["port_value"], 19000);

    let delta = ads_bootstrap(
        "n",
        "c",
        ("a", "b"),
        "sluice.svc",
        18000,
        true,
        19000,
        Some("127.0.0.3"),
    );
    assert_eq!(
        delta["node"]["metadata"],
        json!({"gateway": "a/b", "listener_address": "127.0.0.3"})
    );
    assert_eq!(
        delta["dynamic_resources"]["ads_config"]["api_type"],
        "DELTA_GRPC"
    );
    assert_eq!(
        delta["static_resources"]["clusters"][0]["type"],
        "STRICT_DNS"
    );
}
