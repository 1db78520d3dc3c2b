//! Runs `envoy --mode validate` on bootstraps built from IR: Envoy itself decides whether the
//! converted resources are acceptable (proto validation rules, regex syntax, TLS material,
//! cluster references), which no amount of field-by-field asserting can.
//!
//! Needs an Envoy binary: `$SLUICE_ENVOY`, or the one `scripts/install-envoy.sh` installs. A
//! missing binary fails the test on purpose: silently passing would hide that nothing was checked.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use sluice_emit::bootstrap::{ads_bootstrap, static_bootstrap};

fn envoy_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("SLUICE_ENVOY") {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "SLUICE_ENVOY={} is not a file",
            path.display()
        );
        return path;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("emit/ is in the workspace");
    // `.venv/lib/python3.11/site-packages/envoy/_bin/envoy`, whatever the venv's Python minor.
    let lib = root.join(".venv/lib");
    let found = std::fs::read_dir(&lib)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("python3"))
        .map(|e| e.path().join("site-packages/envoy/_bin/envoy"))
        .find(|p| p.is_file());
    found.unwrap_or_else(|| {
        panic!(
            "no Envoy binary under {}/python3*/site-packages/envoy/_bin: run \
             `scripts/install-envoy.sh` (or set SLUICE_ENVOY)",
            lib.display()
        )
    })
}

/// Writes the bootstrap to a temp file and validates it; panics with Envoy's output on failure.
fn validate(bootstrap: &serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bootstrap.json");
    std::fs::write(&file, serde_json::to_vec_pretty(bootstrap).unwrap()).unwrap();
    // For debugging: keep a copy of what Envoy saw.
    if let Some(keep) = std::env::var_os("SLUICE_KEEP_BOOTSTRAP") {
        std::fs::copy(&file, keep).unwrap();
    }
    let out = Command::new(envoy_binary())
        .args(["--mode", "validate", "--log-level", "warn", "-c"])
        .arg(&file)
        .output()
        .expect("envoy runs");
    assert!(
        out.status.success(),
        "envoy rejected the bootstrap:\n{}\n{}\nbootstrap:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        serde_json::to_string_pretty(bootstrap).unwrap()
    );
}

#[test]
fn envoy_accepts_static_bootstrap_of_sample_snapshot() {
    let (cert, key) = common::self_signed(&["a.example.com", "*.example.com"]);
    let snapshot = common::sample_snapshot(&cert, &key);
    validate(&static_bootstrap(&snapshot, 19000));
}

#[test]
fn envoy_accepts_ads_bootstraps() {
    for delta in [false, true] {
        validate(&ads_bootstrap(
            "node-1",
            "gw",
            ("default", "gw"),
            "127.0.0.1",
            18000,
            delta,
            19000,
            Some("127.0.0.2"),
        ));
    }
    validate(&ads_bootstrap(
        "node-1",
        "gw",
        ("default", "gw"),
        "sluice.sluice-system",
        18000,
        false,
        19000,
        None,
    ));
}

/// The robustness rules (duplicate chain matches dropped, a missing route configuration or
/// assignment replaced by an empty one) must leave a listener Envoy accepts.
#[test]
fn envoy_accepts_degenerate_inputs() {
    use common::*;
    use sluice_dataflow::ir::{DiscoveryIr, Resource};
    let (cert, key) = self_signed(&["a.example.com"]);
    let tls = || Some(mk_tls(&cert, &key));
    let resources = [
        Resource::from(mk_listener(
            "l/80",
            8080,
            vec![mk_chain("x", &[], None), mk_chain("y", &[], None)],
        )),
        Resource::from(mk_listener(
            "l/443",
            8443,
            vec![
                mk_chain("a", &["a.example.com"], tls()),
                mk_chain("b", &["a.example.com", "b.example.com"], tls()),
                mk_chain("c", &["b.example.com"], tls()),
                mk_chain("d", &[], tls()),
            ],
        )),
        Resource::from(mk_cluster("lonely", DiscoveryIr::Eds, true)),
    ];
    let snapshot = sluice_dataflow::output::Snapshot {
        resources: resources.into_iter().map(|r| (r.key(), r)).collect(),
        statuses: Default::default(),
    };
    validate(&static_bootstrap(&snapshot, 19000));
}

/// Every ListenerPolicy setting at once, both ways of trusting the client address: Envoy
/// takes the listener (filters, formats, extensions, the health check filter first).
#[test]
fn envoy_accepts_every_listener_setting() {
    use common::*;
    use sluice_dataflow::ir::*;
    let (cert, key) = self_signed(&["a.example.com"]);
    let logs = vec![
        AccessLogIr {
            path: "/dev/stdout".into(),
            format: LogFormatIr::Json(
                r#"{"code":"%RESPONSE_CODE%","n":1,"nested":{"m":"%REQ(:METHOD)%"},"ok":true}"#
                    .into(),
            ),
            filter: Some(LogFilterIr::And(vec![
                LogFilterIr::NotHealthCheck,
                LogFilterIr::StatusCode(CmpOp::Ge, 400),
                LogFilterIr::Or(vec![
                    LogFilterIr::DurationMs(CmpOp::Le, 100),
                    LogFilterIr::Traceable,
                    LogFilterIr::ResponseFlags(vec!["UH".into(), "NR".into()]),
                    LogFilterIr::Header {
                        name: "x-debug".into(),
                        exact: None,
                    },
                    LogFilterIr::Header {
                        name: "x-env".into(),
                        exact: Some("dev".into()),
                    },
                    LogFilterIr::GrpcStatus {
                        statuses: vec![0, 14],
                        exclude: true,
                    },
                ]),
            ])),
        },
        AccessLogIr {
            path: "/dev/null".into(),
            format: LogFormatIr::Text("%REQ(:METHOD)% %RESPONSE_CODE%".into()),
            filter: None,
        },
        AccessLogIr {
            path: "/dev/null".into(),
            format: LogFormatIr::Default,
            filter: None,
        },
    ];
    let http = |remote: bool| HttpSettingsIr {
        access_log: Some(logs.clone()),
        upgrades: Some(vec!["websocket".into(), "CONNECT".into()]),
        use_remote_address: Some(remote),
        preserve_external_request_id: Some(true),
        generate_request_id: Some(false),
        xff_num_trusted_hops: Some(2),
        xff_trusted_cidrs: (!remote).then(|| vec![("10.0.0.0".into(), 8), ("fc00::".into(), 7)]),
        skip_xff_append: Some(true),
        server_header: Some(ServerHeaderIr::AppendIfAbsent),
        server_name: Some("edge".into()),
        stream_idle_timeout_ms: Some(30_000),
        idle_timeout_ms: Some(60_000),
        max_requests_per_connection: Some(50),
        max_headers_count: Some(200),
        http2: Some(Http2OptionsIr {
            initial_stream_window_size: Some(131_072),
            initial_connection_window_size: Some(262_144),
            max_concurrent_streams: Some(123),
            allow_connect: Some(true),
        }),
        health_check_path: Some("/healthz".into()),
        preserve_http1_header_case: Some(true),
        accept_http10: Some(true),
        default_host_for_http10: Some("example.com".into()),
        early_request_headers: Some(HeaderOpsIr {
            set: vec![("x-set".into(), "1".into())],
            add: vec![("x-add".into(), "2".into())],
            remove: vec!["x-remove".into()],
        }),
        forward_client_cert: Some(ForwardClientCertIr {
            mode: ForwardClientCertMode::AppendForward,
            subject: true,
            cert: true,
            chain: false,
            dns: true,
            uri: true,
        }),
        max_request_headers_kb: Some(64),
        uuid_request_id: Some(UuidRequestIdIr {
            pack_trace_reason: Some(false),
            use_request_id_for_trace_sampling: Some(false),
        }),
        strip_host_port: Some(if remote {
            StripPortIr::Any
        } else {
            StripPortIr::Matching
        }),
        local_replies: Some(LocalRepliesIr {
            body_format: Some(BodyFormatIr {
                format: LogFormatIr::Text("<p>%LOCAL_REPLY_BODY%</p>".into()),
                content_type: Some("text/html".into()),
            }),
            mappers: vec![
                LocalReplyMapperIr {
                    filter: LogFilterIr::StatusCode(CmpOp::Eq, 404),
                    status: Some(200),
                    body: None,
                    body_format: Some(BodyFormatIr {
                        format: LogFormatIr::Json(
                            r#"{"customValue":42,"originalBody":"%LOCAL_REPLY_BODY%"}"#.into(),
                        ),
                        content_type: None,
                    }),
                    headers: HeaderOpsIr::default(),
                },
                LocalReplyMapperIr {
                    filter: LogFilterIr::ResponseFlags(vec!["UH".into()]),
                    status: Some(503),
                    body: Some("no healthy upstream".into()),
                    body_format: None,
                    headers: HeaderOpsIr {
                        set: vec![("x-error-status".into(), "503".into())],
                        add: vec![("x-error-type".into(), "NoHealthyUpstream".into())],
                        remove: vec![],
                    },
                },
            ],
        }),
    };
    let settings = |remote: bool| ListenerSettingsIr {
        proxy_protocol: Some(ProxyProtocolIr {
            allow_without: remote,
        }),
        tcp_keepalive: Some(TcpKeepaliveIr {
            probes: Some(3),
            time_s: Some(1200),
            interval_s: Some(60),
        }),
        buffer_limit_bytes: Some(65_536),
        transport_socket_connect_timeout_ms: Some(5_000),
        http: http(remote),
    };
    let with = |l: ListenerIr, remote| ListenerIr {
        settings: Some(Box::new(settings(remote))),
        ..l
    };
    let resources = [
        Resource::from(with(
            mk_listener("l/80", 8080, vec![mk_chain("x", &[], None)]),
            true,
        )),
        Resource::from(with(
            mk_listener(
                "l/443",
                8443,
                vec![mk_chain("a", &["a.example.com"], Some(mk_tls(&cert, &key)))],
            ),
            false,
        )),
    ];
    let snapshot = sluice_dataflow::output::Snapshot {
        resources: resources.iter().map(|r| (r.key(), r.clone())).collect(),
        statuses: Default::default(),
    };
    validate(&static_bootstrap(&snapshot, 19000));
    // Equal IR, equal bytes: the JSON format's map is written in key order.
    for r in &resources {
        let a = sluice_emit::convert::encode(r);
        assert!((0..8).all(|_| sluice_emit::convert::encode(&r.clone()) == a));
    }
}
