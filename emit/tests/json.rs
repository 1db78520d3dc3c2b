//! JSON rendering through prost-reflect and envoy-types' descriptor set.

mod common;

use common::*;
use envoy_types::pb::envoy::config::listener::v3::Listener;
use prost::Message;
use prost_reflect::{DynamicMessage, ReflectMessage, Value as RValue};
use serde_json::json;
use sluice_dataflow::ir::*;
use sluice_emit::convert::{names, to_any};
use sluice_emit::json::{
    JsonError, any_from_json, any_json, descriptor_pool, resource_json, try_any_json,
};

#[test]
fn descriptor_set_has_the_messages_we_emit() {
    for name in [
        "google.protobuf.Any",
        "envoy.config.listener.v3.Listener",
        "envoy.config.route.v3.RouteConfiguration",
        "envoy.config.cluster.v3.Cluster",
        "envoy.config.endpoint.v3.ClusterLoadAssignment",
        "envoy.config.bootstrap.v3.Bootstrap",
        "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "envoy.extensions.filters.http.router.v3.Router",
        "envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector",
        "envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
    ] {
        assert!(
            descriptor_pool().get_message_by_name(name).is_some(),
            "{name} missing"
        );
    }
}

#[test]
fn listener_renders_with_nested_types() {
    let (cert, key) = ("CERT", "KEY");
    let l = Resource::from(mk_listener(
        "ns/gw/443",
        443,
        vec![mk_chain(
            "ns/gw/443/a",
            &["a.example.com"],
            Some(mk_tls(cert, key)),
        )],
    ));
    let v = resource_json(&l);
    assert_eq!(
        v["@type"],
        "type.googleapis.com/envoy.config.listener.v3.Listener"
    );
    assert_eq!(v["name"], "ns/gw/443");
    assert_eq!(
        v["address"]["socket_address"]["port_value"], 443,
        "proto field names"
    );
    let chain = &v["filter_chains"][0];
    assert_eq!(
        chain["filter_chain_match"]["server_names"],
        json!(["a.example.com"])
    );
    let hcm = &chain["filters"][0];
    assert_eq!(hcm["name"], names::HTTP_CONNECTION_MANAGER);
    assert_eq!(
        hcm["typed_config"]["@type"],
        "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
    );
    assert_eq!(
        hcm["typed_config"]["rds"]["route_config_name"],
        "ns/gw/443/a"
    );
    assert_eq!(
        hcm["typed_config"]["rds"]["config_source"],
        json!({"ads": {}, "resource_api_version": "V3"})
    );
    assert_eq!(
        chain["transport_socket"]["typed_config"]["common_tls_context"]["tls_certificate_sds_secret_configs"]
            [0]["name"],
        format!("certs/{}", cert.len())
    );
    assert!(!v.to_string().contains(key), "no private key in a listener");
    let text = v.to_string();
    assert!(text.contains("\"@type\""));
    assert!(text.contains("envoy.filters.network.http_connection_manager"));
}

#[test]
fn every_sample_resource_renders_and_parses_back() {
    for r in sample_snapshot("CERT", "KEY").resources.values() {
        let v = resource_json(r);
        assert_eq!(v["@type"], r.key().ty.type_url());
        assert_eq!(any_json(&to_any(r)), v);
        // Byte order may differ between prost and prost-reflect; compare decoded messages.
        let back = any_from_json(&v).unwrap();
        assert_eq!(back.type_url, r.key().ty.type_url());
        let desc = descriptor_pool()
            .get_message_by_name(r.key().ty.type_url().rsplit('/').next().unwrap())
            .unwrap();
        assert_eq!(
            DynamicMessage::decode(desc.clone(), back.value.as_slice()).unwrap(),
            DynamicMessage::decode(desc, to_any(r).value.as_slice()).unwrap(),
        );
    }
}

#[test]
fn any_from_json_accepts_json_field_names_too() {
    let any = any_from_json(&json!({
        "@type": "type.googleapis.com/envoy.config.listener.v3.Listener",
        "name": "x",
        "address": {"socketAddress": {"address": "127.0.0.1", "portValue": 10000}},
    }))
    .unwrap();
    let l = Listener::decode(any.value.as_slice()).unwrap();
    assert_eq!(l.name, "x");
}

#[test]
fn unknown_types_are_reported_not_panicked() {
    let any = prost_types::Any {
        type_url: "type.googleapis.com/no.such.Type".into(),
        value: vec![],
    };
    assert!(matches!(try_any_json(&any), Err(JsonError::UnknownType(t)) if t == "no.such.Type"));
    let v = any_json(&any);
    assert_eq!(v["@type"], "type.googleapis.com/no.such.Type");
    assert!(v["@error"].as_str().unwrap().contains("no.such.Type"));
    let garbage = prost_types::Any {
        type_url: "type.googleapis.com/envoy.config.listener.v3.Listener".into(),
        value: vec![0xff, 0xff, 0xff],
    };
    assert!(matches!(
        try_any_json(&garbage),
        Err(JsonError::Decode { .. })
    ));
    assert!(any_from_json(&json!({"@type": "type.googleapis.com/no.such.Type"})).is_err());
}

/// The determinism argument of `convert` rests on map fields holding at most one entry. Walk
/// every sample resource, `Any` payloads included, and check it.
#[test]
fn no_map_field_has_more_than_one_entry() {
    fn check(msg: &DynamicMessage, path: &str) {
        for (field, value) in msg.fields() {
            let here = format!("{path}.{}", field.name());
            match value {
                RValue::Map(m) => {
                    assert!(m.len() <= 1, "{here} has {} entries", m.len());
                    m.values().for_each(|v| check_value(v, &here));
                }
                v => check_value(v, &here),
            }
        }
        if msg.descriptor().full_name() == "google.protobuf.Any" {
            let url = msg.get_field_by_name("type_url").unwrap();
            let bytes = msg.get_field_by_name("value").unwrap();
            let name = url
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_string();
            let desc = descriptor_pool().get_message_by_name(&name).unwrap();
            check(
                &DynamicMessage::decode(desc, bytes.as_bytes().unwrap().as_ref()).unwrap(),
                path,
            );
        }
    }
    fn check_value(v: &RValue, path: &str) {
        match v {
            RValue::Message(m) => check(m, path),
            RValue::List(items) => items.iter().for_each(|i| check_value(i, path)),
            _ => {}
        }
    }
    for r in sample_snapshot("CERT", "KEY").resources.values() {
        let any = to_any(r);
        let name = any.type_url.rsplit('/').next().unwrap();
        let desc = descriptor_pool().get_message_by_name(name).unwrap();
        check(
            &DynamicMessage::decode(desc, any.value.as_slice()).unwrap(),
            &r.key().name,
        );
    }
}

/// Every per-route filter config (and the route fields policies set) renders: `translate`
/// and `/debug/xds` print them, so one that prost-reflect cannot render would panic there.
#[test]
fn routes_with_every_policy_filter_render() {
    let mut r = mk_route(
        "r",
        PathMatchIr::Prefix(s("/")),
        ActionIr::Direct {
            status: 200,
            body: None,
        },
    );
    let codecs = vec![Codec::Gzip, Codec::Brotli, Codec::Zstd];
    r.filters = vec![
        HttpFilterIr::Decompress {
            libraries: codecs.clone(),
        },
        HttpFilterIr::Fault {
            delay_ms: Some(1),
            delay_ppm: 1,
            abort_status: Some(503),
            abort_ppm: 1,
            response_kbps: Some(1),
            max_active: Some(1),
        },
        HttpFilterIr::Rbac {
            allow: true,
            expressions: vec![s("request.headers['x'] == 'y'")],
        },
        HttpFilterIr::Csrf {
            enabled_pct: 100,
            shadow_pct: 0,
            additional_origins: Vec::new(),
        },
        HttpFilterIr::BasicAuth {
            htpasswd: s("u:{SHA}x"),
        },
        HttpFilterIr::ApiKeyAuth {
            credentials: vec![(s("k"), s("c"))],
            sources: vec![ApiKeySourceIr {
                header: Some(s("api-key")),
                ..Default::default()
            }],
            forward: false,
            client_id_header: Some(s("x-client")),
        },
        HttpFilterIr::LocalRateLimit {
            max_tokens: 1,
            tokens_per_fill: 1,
            fill_interval_ms: 1000,
            enabled_pct: 100,
            enforced_pct: 100,
        },
        HttpFilterIr::Buffer { max_bytes: 1024 },
        HttpFilterIr::Compress { libraries: codecs },
    ];
    assert_eq!(r.filters.len(), FilterKind::ALL.len(), "one of each kind");
    r.stat_prefix = Some(s("prefix"));
    r.tracing = Some(Box::new(RouteTracingIr {
        random_pct: Some(5),
        tags: vec![TraceTagIr {
            tag: s("t"),
            value: TraceTagValue::Literal(s("v")),
        }],
        ..Default::default()
    }));
    let rc = Resource::Route(std::sync::Arc::new(RouteConfigIr {
        name: s("rc"),
        virtual_hosts: vec![VirtualHostIr {
            name: s("rc/*"),
            domains: vec![s("*")],
            routes: vec![std::sync::Arc::new(r)],
        }],
    }));
    let text = try_any_json(&to_any(&rc)).expect("renders").to_string();
    for name in [
        "envoy.filters.http.decompressor.zstd",
        "envoy.filters.http.compressor.brotli",
        "envoy.filters.http.api_key_auth",
        "\"stat_prefix\":\"prefix\"",
        "random_sampling",
    ] {
        assert!(text.contains(name), "{name} not in {text}");
    }
}
