//! IR builders shared by the emit tests (`mk_<kind>`), and a snapshot that exercises every
//! conversion rule at once.
#![allow(dead_code)] // each test binary uses a different subset

use sluice_dataflow::ir::*;
use sluice_dataflow::output::Snapshot;

pub fn s(v: &str) -> String {
    v.to_string()
}

pub fn mk_chain(name: &str, server_names: &[&str], tls: Option<TlsCertIr>) -> FilterChainIr {
    FilterChainIr {
        name: s(name),
        server_names: server_names.iter().map(|n| s(n)).collect(),
        tls,
        route_config_name: s(name),
    }
}

pub fn mk_listener(name: &str, port: u16, filter_chains: Vec<FilterChainIr>) -> ListenerIr {
    ListenerIr {
        name: s(name),
        address: s("0.0.0.0"),
        port,
        settings: None,
        filter_chains,
    }
}

/// A certificate of the Secret `certs/{cert_chain}` (test certificates differ by chain).
pub fn mk_tls(cert_chain: &str, private_key: &str) -> TlsCertIr {
    TlsCertIr {
        secret: format!("certs/{}", cert_chain.len()),
        cert_chain: s(cert_chain),
        private_key: s(private_key),
    }
}

pub fn mk_backend(cluster: &str, weight: u32) -> WeightedClusterIr {
    WeightedClusterIr {
        cluster: s(cluster),
        weight,
        request_headers: HeaderOpsIr::default(),
        response_headers: HeaderOpsIr::default(),
    }
}

pub fn mk_forward(clusters: Vec<WeightedClusterIr>) -> ForwardIr {
    ForwardIr {
        clusters,
        timeout_ms: None,
        per_try_timeout_ms: None,
        host_rewrite: None,
        path_rewrite: None,
        mirrors: Vec::new(),
        retry: None,
        idle_timeout_ms: None,
        auto_host_rewrite: false,
        internal_redirect: None,
    }
}

pub fn mk_route(name: &str, path: PathMatchIr, action: ActionIr) -> RouteIr {
    RouteIr {
        name: s(name),
        path,
        headers: Vec::new(),
        query: Vec::new(),
        action,
        request_headers: HeaderOpsIr::default(),
        response_headers: HeaderOpsIr::default(),
        cors: None,
        filters: Vec::new(),
        stat_prefix: None,
        tracing: None,
    }
}

pub fn mk_redirect(status_code: u16) -> RedirectIr {
    RedirectIr {
        scheme: None,
        host: None,
        port: None,
        path: None,
        status_code,
    }
}

pub fn mk_header_ops(set: &[(&str, &str)], add: &[(&str, &str)], remove: &[&str]) -> HeaderOpsIr {
    HeaderOpsIr {
        set: set.iter().map(|(k, v)| (s(k), s(v))).collect(),
        add: add.iter().map(|(k, v)| (s(k), s(v))).collect(),
        remove: remove.iter().map(|k| s(k)).collect(),
    }
}

pub fn mk_match(name: &str, exact: Option<&str>, regex: Option<&str>) -> HeaderMatchIr {
    HeaderMatchIr {
        name: s(name),
        exact: exact.map(s),
        regex: regex.map(s),
    }
}

pub fn mk_vhost(name: &str, domain: &str, routes: Vec<RouteIr>) -> VirtualHostIr {
    VirtualHostIr {
        name: s(name),
        domains: vec![s(domain)],
        routes: routes.into_iter().map(std::sync::Arc::new).collect(),
    }
}

pub fn mk_route_config(name: &str, virtual_hosts: Vec<VirtualHostIr>) -> RouteConfigIr {
    RouteConfigIr {
        name: s(name),
        virtual_hosts,
    }
}

pub fn mk_cluster(name: &str, discovery: DiscoveryIr, http2: bool) -> ClusterIr {
    ClusterIr {
        name: s(name),
        discovery,
        http2,
        connect_timeout_ms: 5_000,
    }
}

pub fn mk_locality(zone: &str, endpoints: &[(&str, u16, bool)]) -> LocalityIr {
    LocalityIr {
        zone: s(zone),
        weight: endpoints.len() as u32,
        endpoints: endpoints.iter().map(|(a, p, h)| (s(a), *p, *h)).collect(),
    }
}

pub fn mk_endpoints(cluster_name: &str, localities: Vec<LocalityIr>) -> EndpointsIr {
    EndpointsIr {
        cluster_name: s(cluster_name),
        localities,
    }
}

/// Routes covering every action kind and rewrite rule.
pub fn sample_routes() -> Vec<RouteIr> {
    let mut exact = mk_forward(vec![mk_backend("svc/default/a/80", 1)]);
    exact.timeout_ms = Some(10_000);
    exact.per_try_timeout_ms = Some(2_500);
    exact.host_rewrite = Some(s("internal.example.com"));
    exact.path_rewrite = Some(PathRewriteIr::Full(s("/replaced")));

    let mut weighted = mk_forward(vec![
        WeightedClusterIr {
            request_headers: mk_header_ops(&[("x-backend", "a")], &[], &["x-drop"]),
            response_headers: mk_header_ops(&[], &[("x-served-by", "a")], &[]),
            ..mk_backend("svc/default/a/80", 80)
        },
        mk_backend("svc/default/b/8080", 20),
    ]);
    weighted.path_rewrite = Some(PathRewriteIr::Prefix(s("/")));
    weighted.mirrors = vec![MirrorIr {
        cluster: s("backend/default/ip"),
        fraction_ppm: 250_000,
    }];

    let mut prefix_rewrite = mk_forward(vec![mk_backend("backend/default/dns", 1)]);
    prefix_rewrite.path_rewrite = Some(PathRewriteIr::Prefix(s("/baz")));

    let mut matched = mk_route(
        "default/r/rule/3/match/0",
        PathMatchIr::Regex(s("^/items/[0-9]+$")),
        ActionIr::redirect(RedirectIr {
            scheme: Some(s("https")),
            host: Some(s("secure.example.com")),
            port: Some(8443),
            path: None,
            status_code: 301,
        }),
    );
    matched.headers = vec![
        mk_match(":method", Some("GET"), None),
        mk_match("x-version", None, Some("v[12]")),
    ];
    matched.query = vec![
        mk_match("page", Some("1"), None),
        mk_match("q", None, Some(".+")),
    ];

    let mut catch_all = mk_route(
        "default/r/rule/7/match/0",
        PathMatchIr::Prefix(s("/")),
        ActionIr::forward(mk_forward(vec![mk_backend("svc/default/empty/80", 1)])),
    );
    catch_all.request_headers = mk_header_ops(&[("x-set", "1")], &[("x-add", "2")], &["x-rm"]);
    catch_all.response_headers = mk_header_ops(&[("x-resp", "1")], &[], &["server"]);

    vec![
        mk_route(
            "default/r/rule/0/match/0",
            PathMatchIr::Exact(s("/exact")),
            ActionIr::forward(exact),
        ),
        mk_route(
            "default/r/rule/1/match/0",
            PathMatchIr::Prefix(s("/foo")),
            ActionIr::forward(weighted),
        ),
        mk_route(
            "default/r/rule/2/match/0",
            PathMatchIr::Prefix(s("/bar/")),
            ActionIr::forward(prefix_rewrite),
        ),
        matched,
        mk_route(
            "default/r/rule/4/match/0",
            PathMatchIr::Prefix(s("/old")),
            ActionIr::redirect(RedirectIr {
                path: Some(PathRewriteIr::Prefix(s("/new"))),
                ..mk_redirect(302)
            }),
        ),
        mk_route(
            "default/r/rule/5/match/0",
            PathMatchIr::Exact(s("/teapot")),
            ActionIr::Direct {
                status: 418,
                body: Some(s("short and stout")),
            },
        ),
        mk_route(
            "default/r/rule/6/match/0",
            PathMatchIr::Prefix(s("/broken")),
            ActionIr::forward(mk_forward(Vec::new())),
        ),
        mk_route(
            "default/r/rule/8/match/0",
            PathMatchIr::Prefix(s("/gone")),
            ActionIr::redirect(RedirectIr {
                path: Some(PathRewriteIr::Prefix(s("/"))),
                ..mk_redirect(307)
            }),
        ),
        catch_all,
    ]
}

/// An HTTP listener and an HTTPS listener with two SNI chains, their route configurations,
/// EDS and static clusters, and assignments (one of them empty).
pub fn sample_snapshot(cert_chain: &str, private_key: &str) -> Snapshot {
    let tls = || Some(mk_tls(cert_chain, private_key));
    let resources = vec![
        Resource::from(mk_listener(
            "default/gw/80",
            8080,
            vec![mk_chain("default/gw/80", &[], None)],
        )),
        Resource::from(mk_listener(
            "default/gw/443",
            8443,
            vec![
                mk_chain("default/gw/443/https-a", &["a.example.com"], tls()),
                mk_chain("default/gw/443/https-wild", &["*.example.com"], tls()),
            ],
        )),
        Resource::from(mk_route_config(
            "default/gw/80",
            vec![
                mk_vhost("default/gw/80/*", "*", sample_routes()),
                mk_vhost(
                    "default/gw/80/foo.example.com",
                    "foo.example.com",
                    vec![
                        mk_route(
                            "default/foo/rule/0/match/0",
                            PathMatchIr::Exact(s("/ok")),
                            ActionIr::Direct {
                                status: 200,
                                body: None,
                            },
                        ),
                        mk_route(
                            "default/foo/rule/1/match/0",
                            PathMatchIr::Prefix(s("/")),
                            ActionIr::forward(ForwardIr {
                                path_rewrite: Some(PathRewriteIr::Prefix(s("/app"))),
                                ..mk_forward(vec![mk_backend("svc/default/a/80", 1)])
                            }),
                        ),
                    ],
                ),
            ],
        )),
        Resource::from(mk_route_config(
            "default/gw/443/https-a",
            vec![mk_vhost(
                "default/gw/443/https-a/a.example.com",
                "a.example.com",
                vec![mk_route(
                    "default/a/rule/0/match/0",
                    PathMatchIr::Prefix(s("/")),
                    ActionIr::forward(mk_forward(vec![mk_backend("svc/default/b/8080", 1)])),
                )],
            )],
        )),
        Resource::from(mk_route_config(
            "default/gw/443/https-wild",
            vec![mk_vhost(
                "default/gw/443/https-wild/*.example.com",
                "*.example.com",
                vec![mk_route(
                    "default/w/rule/0/match/0",
                    PathMatchIr::Prefix(s("/")),
                    ActionIr::redirect(RedirectIr {
                        path: Some(PathRewriteIr::Full(s("/moved"))),
                        ..mk_redirect(308)
                    }),
                )],
            )],
        )),
        Resource::from(mk_cluster("svc/default/a/80", DiscoveryIr::Eds, false)),
        Resource::from(mk_cluster("svc/default/b/8080", DiscoveryIr::Eds, true)),
        Resource::from(mk_cluster("svc/default/empty/80", DiscoveryIr::Eds, false)),
        Resource::from(mk_cluster(
            "backend/default/ip",
            DiscoveryIr::Static {
                hosts: vec![(s("10.0.0.1"), 80), (s("fd00::1"), 80)],
            },
            false,
        )),
        Resource::from(mk_cluster(
            "backend/default/dns",
            DiscoveryIr::Static {
                hosts: vec![(s("example.com"), 443)],
            },
            true,
        )),
        Resource::from(mk_endpoints(
            "svc/default/a/80",
            vec![
                mk_locality("", &[("10.1.0.1", 8080, true)]),
                mk_locality(
                    "zone-a",
                    &[("10.1.1.1", 8080, true), ("10.1.1.2", 8080, false)],
                ),
            ],
        )),
        Resource::from(mk_endpoints(
            "svc/default/b/8080",
            vec![mk_locality("zone-b", &[("10.2.0.1", 9090, true)])],
        )),
        Resource::from(mk_endpoints("svc/default/empty/80", Vec::new())),
    ];
    Snapshot {
        resources: resources.into_iter().map(|r| (r.key(), r)).collect(),
        statuses: Default::default(),
    }
}

/// A self-signed certificate and its key, PEM.
pub fn self_signed(names: &[&str]) -> (String, String) {
    let key = rcgen::generate_simple_self_signed(names.iter().map(|n| s(n)).collect::<Vec<_>>())
        .expect("rcgen generates a self-signed certificate");
    (key.cert.pem(), key.signing_key.serialize_pem())
}
