//! Field-level tests of each IR → proto conversion, and of `to_any`/`encode` determinism.

mod common;

use common::*;
use envoy_types::pb::envoy::config::cluster::v3::{Cluster, cluster};
use envoy_types::pb::envoy::config::core::v3::{
    ApiVersion, HealthStatus, address, config_source, data_source,
    header_value_option::HeaderAppendAction, socket_address,
};
use envoy_types::pb::envoy::config::endpoint::v3::{ClusterLoadAssignment, lb_endpoint};
use envoy_types::pb::envoy::config::listener::v3::{Listener, filter, listener_filter};
use envoy_types::pb::envoy::config::route::v3::{
    Route, RouteAction, RouteConfiguration, header_matcher, query_parameter_matcher,
    redirect_action, route, route_action, route_match,
};
use envoy_types::pb::envoy::extensions::filters::http::cors::v3::CorsPolicy;
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::{
    HttpConnectionManager, http_connection_manager, http_filter,
};
use envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::DownstreamTlsContext;
use envoy_types::pb::envoy::extensions::upstreams::http::v3::{
    HttpProtocolOptions, http_protocol_options,
};
use envoy_types::pb::envoy::r#type::matcher::v3::string_matcher::MatchPattern;
use envoy_types::pb::envoy::r#type::v3::fractional_percent::DenominatorType;
use envoy_types::pb::google::protobuf::{Any as PbAny, Duration};
use prost::Message;
use sluice_dataflow::ir::*;
use sluice_emit::convert::{
    encode, names, to_any, to_envoy_cla, to_envoy_cluster, to_envoy_listener, to_envoy_route_config,
};

fn unpack<M: Message + prost::Name + Default>(any: &PbAny) -> M {
    assert_eq!(any.type_url, M::type_url());
    M::decode(any.value.as_slice()).unwrap()
}

fn hcm(listener: &Listener, chain: usize) -> HttpConnectionManager {
    let filters = &listener.filter_chains[chain].filters;
    assert_eq!(filters.len(), 1);
    assert_eq!(filters[0].name, names::HTTP_CONNECTION_MANAGER);
    match &filters[0].config_type {
        Some(filter::ConfigType::TypedConfig(any)) => unpack(any),
        other => panic!("no typed_config: {other:?}"),
    }
}

fn port_of(a: &Option<envoy_types::pb::envoy::config::core::v3::Address>) -> (String, u32) {
    match a.as_ref().and_then(|a| a.address.as_ref()) {
        Some(address::Address::SocketAddress(s)) => match s.port_specifier {
            Some(socket_address::PortSpecifier::PortValue(p)) => (s.address.clone(), p),
            _ => panic!("no port"),
        },
        other => panic!("not a socket address: {other:?}"),
    }
}

// ---- listener ----

#[test]
fn http_listener_has_one_plain_chain_with_rds() {
    let l = to_envoy_listener(&mk_listener(
        "ns/gw/80",
        8080,
        vec![mk_chain("ns/gw/80", &[], None)],
    ));
    assert_eq!(l.name, "ns/gw/80");
    assert_eq!(port_of(&l.address), ("0.0.0.0".to_string(), 8080));
    assert!(l.listener_filters.is_empty(), "no TLS, no tls_inspector");
    assert_eq!(l.filter_chains.len(), 1);
    let chain = &l.filter_chains[0];
    assert_eq!(chain.name, "ns/gw/80");
    assert!(chain.filter_chain_match.is_none());
    assert!(chain.transport_socket.is_none());

    let h = hcm(&l, 0);
    assert_eq!(h.stat_prefix, "ns/gw/80");
    assert_eq!(
        h.codec_type,
        http_connection_manager::CodecType::Auto as i32
    );
    match h.route_specifier {
        Some(http_connection_manager::RouteSpecifier::Rds(rds)) => {
            assert_eq!(rds.route_config_name, "ns/gw/80");
            let cs = rds.config_source.unwrap();
            assert_eq!(cs.resource_api_version, ApiVersion::V3 as i32);
            assert!(matches!(
                cs.config_source_specifier,
                Some(config_source::ConfigSourceSpecifier::Ads(_))
            ));
        }
        other => panic!("expected rds, got {other:?}"),
    }
    // The policy filters (disabled), then CORS (it acts only on routes with a policy), the
    // router last.
    let n = h.http_filters.len();
    // One entry per kind, the (de)compressors one per library (three each).
    assert_eq!(n, FilterKind::ALL.len() + 4 + 2);
    assert_eq!(h.http_filters[n - 2].name, names::CORS);
    match &h.http_filters[n - 2].config_type {
        Some(http_filter::ConfigType::TypedConfig(any)) => assert_eq!(
            any.type_url,
            "type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors"
        ),
        other => panic!("cors without typed_config: {other:?}"),
    }
    assert_eq!(h.http_filters[n - 1].name, names::ROUTER);
    match &h.http_filters[n - 1].config_type {
        Some(http_filter::ConfigType::TypedConfig(any)) => assert_eq!(
            any.type_url,
            "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
        ),
        other => panic!("router without typed_config: {other:?}"),
    }
    // The Host header reaches the backend as sent; host matching ignores the port through
    // the route configuration's `ignore_port_in_host_matching`.
    assert_eq!(h.strip_port_mode, None);
    assert_eq!(h.use_remote_address.map(|b| b.value), Some(false));
    assert_eq!(h.normalize_path.map(|b| b.value), Some(true));
    assert!(!h.merge_slashes);
}

#[test]
fn https_listener_has_sni_chains_tls_and_inspector() {
    let l = to_envoy_listener(&mk_listener(
        "ns/gw/443",
        443,
        vec![
            mk_chain(
                "ns/gw/443/a",
                &["a.example.com"],
                Some(mk_tls("CERT", "KEY")),
            ),
            mk_chain(
                "ns/gw/443/b",
                &["b.example.com", "*.b.example.com"],
                Some(mk_tls("C2", "K2")),
            ),
        ],
    ));
    assert_eq!(l.listener_filters.len(), 1);
    assert_eq!(l.listener_filters[0].name, names::TLS_INSPECTOR);
    assert!(matches!(
        l.listener_filters[0].config_type,
        Some(listener_filter::ConfigType::TypedConfig(_))
    ));
    assert_eq!(l.filter_chains.len(), 2);
    let chain = &l.filter_chains[1];
    assert_eq!(
        chain.filter_chain_match.as_ref().unwrap().server_names,
        vec!["b.example.com", "*.b.example.com"]
    );
    let ts = chain.transport_socket.as_ref().unwrap();
    assert_eq!(ts.name, names::TLS_TRANSPORT_SOCKET);
    let Some(envoy_types::pb::envoy::config::core::v3::transport_socket::ConfigType::TypedConfig(
        any,
    )) = &ts.config_type
    else {
        panic!("transport socket without typed_config")
    };
    let tls: DownstreamTlsContext = unpack(any);
    let common = tls.common_tls_context.unwrap();
    assert_eq!(common.alpn_protocols, vec!["h2", "http/1.1"]);
    // The certificate comes over SDS: the listener names it and carries no key.
    assert!(common.tls_certificates.is_empty());
    let sds = &common.tls_certificate_sds_secret_configs;
    assert_eq!(sds.len(), 1);
    assert_eq!(sds[0].name, "certs/2");
    assert!(sds[0].sds_config.is_some(), "fetched over ADS");
    let secret = sluice_emit::convert::to_envoy_secret(&mk_tls("C2", "K2"));
    assert_eq!(secret.name, "certs/2");
    let Some(envoy_types::pb::envoy::extensions::transport_sockets::tls::v3::secret::Type::TlsCertificate(
        cert,
    )) = secret.r#type
    else {
        panic!("not a TLS certificate secret")
    };
    let inline = |d: &Option<envoy_types::pb::envoy::config::core::v3::DataSource>| match d
        .as_ref()
        .and_then(|d| d.specifier.clone())
    {
        Some(data_source::Specifier::InlineString(s)) => s,
        other => panic!("not inline: {other:?}"),
    };
    assert_eq!(inline(&cert.certificate_chain), "C2");
    assert_eq!(inline(&cert.private_key), "K2");
    assert_eq!(hcm(&l, 1).stat_prefix, "ns/gw/443/b");
}

#[test]
fn duplicate_chain_matches_keep_the_first_claim() {
    let l = to_envoy_listener(&mk_listener(
        "l",
        80,
        vec![
            mk_chain("any-1", &[], None),
            mk_chain("any-2", &[], None),
            mk_chain("a", &["a.example.com", "b.example.com"], None),
            mk_chain("b", &["b.example.com", "c.example.com"], None),
            mk_chain("c", &["c.example.com"], None),
        ],
    ));
    let chains: Vec<(String, Vec<String>)> = l
        .filter_chains
        .iter()
        .map(|c| {
            (
                c.name.clone(),
                c.filter_chain_match
                    .clone()
                    .map(|m| m.server_names)
                    .unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        chains,
        vec![
            (s("any-1"), vec![]),
            (s("a"), vec![s("a.example.com"), s("b.example.com")]),
            (s("b"), vec![s("c.example.com")]),
        ]
    );
}

// ---- routes ----

fn one_route(r: RouteIr) -> Route {
    let rc = to_envoy_route_config(&mk_route_config("rc", vec![mk_vhost("rc/*", "*", vec![r])]));
    rc.virtual_hosts[0].routes[0].clone()
}

fn forward_route(path: PathMatchIr, f: ForwardIr) -> RouteAction {
    match one_route(mk_route("r", path, ActionIr::forward(f))).action {
        Some(route::Action::Route(a)) => a,
        other => panic!("expected a route action, got {other:?}"),
    }
}

fn redirect_route(
    path: PathMatchIr,
    rd: RedirectIr,
) -> envoy_types::pb::envoy::config::route::v3::RedirectAction {
    match one_route(mk_route("r", path, ActionIr::redirect(rd))).action {
        Some(route::Action::Redirect(a)) => a,
        other => panic!("expected a redirect, got {other:?}"),
    }
}

fn single() -> ForwardIr {
    mk_forward(vec![mk_backend("c1", 1)])
}

#[test]
fn route_config_shape() {
    let rc: RouteConfiguration = to_envoy_route_config(&mk_route_config(
        "ns/gw/80",
        vec![
            mk_vhost("ns/gw/80/*", "*", vec![]),
            mk_vhost("ns/gw/80/a.example.com", "a.example.com", sample_routes()),
        ],
    ));
    assert_eq!(rc.name, "ns/gw/80");
    assert!(rc.ignore_port_in_host_matching);
    assert_eq!(rc.virtual_hosts.len(), 2);
    let vh = &rc.virtual_hosts[1];
    assert_eq!(vh.name, "ns/gw/80/a.example.com");
    assert_eq!(vh.domains, vec!["a.example.com"]);
    let names: Vec<&str> = vh.routes.iter().map(|r| r.name.as_str()).collect();
    let expected: Vec<String> = sample_routes().into_iter().map(|r| r.name).collect();
    assert_eq!(names, expected, "routes keep IR order");
}

#[test]
fn path_matches() {
    use route_match::PathSpecifier as P;
    let path = |p| {
        one_route(mk_route("r", p, ActionIr::forward(single())))
            .r#match
            .unwrap()
            .path_specifier
    };
    assert_eq!(
        path(PathMatchIr::Exact(s("/a/b"))),
        Some(P::Path(s("/a/b")))
    );
    assert_eq!(path(PathMatchIr::Prefix(s("/"))), Some(P::Prefix(s("/"))));
    assert_eq!(
        path(PathMatchIr::Prefix(s("/foo"))),
        Some(P::PathSeparatedPrefix(s("/foo")))
    );
    assert_eq!(
        path(PathMatchIr::Prefix(s("/foo/"))),
        Some(P::PathSeparatedPrefix(s("/foo")))
    );
    match path(PathMatchIr::Regex(s("^/x[0-9]+$"))) {
        Some(P::SafeRegex(re)) => {
            assert_eq!(re.regex, "^/x[0-9]+$");
            assert!(re.engine_type.is_none(), "RE2 is the default engine");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn header_and_query_matchers() {
    let mut r = mk_route(
        "r",
        PathMatchIr::Prefix(s("/")),
        ActionIr::forward(single()),
    );
    r.headers = vec![
        mk_match(":method", Some("POST"), None),
        mk_match("x-re", None, Some("a.*")),
    ];
    r.query = vec![
        mk_match("q", Some("1"), None),
        mk_match("r", None, Some("[0-9]+")),
    ];
    let m = one_route(r).r#match.unwrap();

    let header_pattern = |i: usize| match &m.headers[i].header_match_specifier {
        Some(header_matcher::HeaderMatchSpecifier::StringMatch(sm)) => sm.match_pattern.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(m.headers[0].name, ":method");
    assert_eq!(header_pattern(0), Some(MatchPattern::Exact(s("POST"))));
    assert_eq!(m.headers[1].name, "x-re");
    assert!(matches!(header_pattern(1), Some(MatchPattern::SafeRegex(re)) if re.regex == "a.*"));

    let query_pattern = |i: usize| match &m.query_parameters[i].query_parameter_match_specifier {
        Some(query_parameter_matcher::QueryParameterMatchSpecifier::StringMatch(sm)) => {
            sm.match_pattern.clone()
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(m.query_parameters[0].name, "q");
    assert_eq!(query_pattern(0), Some(MatchPattern::Exact(s("1"))));
    assert!(matches!(query_pattern(1), Some(MatchPattern::SafeRegex(re)) if re.regex == "[0-9]+"));
}

#[test]
fn route_header_ops() {
    let mut r = mk_route(
        "r",
        PathMatchIr::Prefix(s("/")),
        ActionIr::forward(single()),
    );
    r.request_headers = mk_header_ops(&[("x-a", "1")], &[("x-b", "2")], &["x-c"]);
    r.response_headers = mk_header_ops(&[], &[("x-d", "3")], &["x-e", "x-f"]);
    let route = one_route(r);
    let ops = |v: &[envoy_types::pb::envoy::config::core::v3::HeaderValueOption]| {
        v.iter()
            .map(|o| {
                let h = o.header.as_ref().unwrap();
                (h.key.clone(), h.value.clone(), o.append_action)
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ops(&route.request_headers_to_add),
        vec![
            (
                s("x-a"),
                s("1"),
                HeaderAppendAction::OverwriteIfExistsOrAdd as i32
            ),
            (
                s("x-b"),
                s("2"),
                HeaderAppendAction::AppendIfExistsOrAdd as i32
            ),
        ]
    );
    assert_eq!(route.request_headers_to_remove, vec!["x-c"]);
    assert_eq!(
        ops(&route.response_headers_to_add),
        vec![(
            s("x-d"),
            s("3"),
            HeaderAppendAction::AppendIfExistsOrAdd as i32
        )]
    );
    assert_eq!(route.response_headers_to_remove, vec!["x-e", "x-f"]);
}

#[test]
fn forward_to_one_cluster() {
    let a = forward_route(PathMatchIr::Prefix(s("/")), single());
    assert_eq!(
        a.cluster_specifier,
        Some(route_action::ClusterSpecifier::Cluster(s("c1")))
    );
    assert_eq!(
        a.timeout,
        Some(Duration {
            seconds: 0,
            nanos: 0
        }),
        "no timeout is 0s, not 15s"
    );
    assert!(a.host_rewrite_specifier.is_none());
    assert!(a.prefix_rewrite.is_empty() && a.regex_rewrite.is_none());
    assert!(a.request_mirror_policies.is_empty());
}

#[test]
#[allow(deprecated)] // `total_weight` is deprecated: asserting we leave it unset
fn forward_to_weighted_clusters() {
    let f = mk_forward(vec![
        WeightedClusterIr {
            request_headers: mk_header_ops(&[("x-a", "1")], &[], &["x-r"]),
            response_headers: mk_header_ops(&[], &[("x-b", "2")], &["x-s"]),
            ..mk_backend("c1", 3)
        },
        mk_backend("c2", 7),
    ]);
    let a = forward_route(PathMatchIr::Prefix(s("/")), f);
    let Some(route_action::ClusterSpecifier::WeightedClusters(w)) = a.cluster_specifier else {
        panic!("expected weighted clusters")
    };
    assert!(w.total_weight.is_none());
    let summary: Vec<(String, u32)> = w
        .clusters
        .iter()
        .map(|c| (c.name.clone(), c.weight.unwrap().value))
        .collect();
    assert_eq!(summary, vec![(s("c1"), 3), (s("c2"), 7)]);
    let c1 = &w.clusters[0];
    assert_eq!(
        c1.request_headers_to_add[0].header.as_ref().unwrap().key,
        "x-a"
    );
    assert_eq!(
        c1.request_headers_to_add[0].append_action,
        HeaderAppendAction::OverwriteIfExistsOrAdd as i32
    );
    assert_eq!(c1.request_headers_to_remove, vec!["x-r"]);
    assert_eq!(
        c1.response_headers_to_add[0].header.as_ref().unwrap().key,
        "x-b"
    );
    assert_eq!(c1.response_headers_to_remove, vec!["x-s"]);
    assert!(w.clusters[1].request_headers_to_add.is_empty());
}

#[test]
fn single_backend_with_header_filters_keeps_them_in_a_cluster_weight() {
    let f = mk_forward(vec![WeightedClusterIr {
        request_headers: mk_header_ops(&[("x-a", "1")], &[], &[]),
        ..mk_backend("c1", 1)
    }]);
    let a = forward_route(PathMatchIr::Prefix(s("/")), f);
    let Some(route_action::ClusterSpecifier::WeightedClusters(w)) = a.cluster_specifier else {
        panic!("expected weighted clusters")
    };
    assert_eq!(w.clusters.len(), 1);
    assert_eq!(w.clusters[0].request_headers_to_add.len(), 1);
}

#[test]
fn forward_without_backends_answers_500() {
    let r = one_route(mk_route(
        "r",
        PathMatchIr::Prefix(s("/")),
        ActionIr::forward(mk_forward(vec![])),
    ));
    match r.action {
        Some(route::Action::DirectResponse(d)) => {
            assert_eq!(d.status, 500);
            assert!(d.body.is_none());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn timeouts() {
    let timeout = |t: Option<u64>, p: Option<u64>| {
        let f = ForwardIr {
            timeout_ms: t,
            per_try_timeout_ms: p,
            ..single()
        };
        let d = forward_route(PathMatchIr::Prefix(s("/")), f)
            .timeout
            .unwrap();
        (d.seconds, d.nanos)
    };
    assert_eq!(timeout(None, None), (0, 0));
    assert_eq!(timeout(Some(1_500), None), (1, 500_000_000));
    assert_eq!(timeout(None, Some(250)), (0, 250_000_000));
    assert_eq!(
        timeout(Some(10_000), Some(3_000)),
        (3, 0),
        "one try: the smaller limit wins"
    );
    assert_eq!(timeout(Some(0), Some(3_000)), (3, 0), "0 disables a limit");
    assert_eq!(timeout(Some(0), None), (0, 0));
}

#[test]
fn host_rewrite_and_mirrors() {
    let f = ForwardIr {
        host_rewrite: Some(s("upstream.internal")),
        mirrors: vec![
            MirrorIr {
                cluster: s("m1"),
                fraction_ppm: 1_000_000,
            },
            MirrorIr {
                cluster: s("m2"),
                fraction_ppm: 125,
            },
        ],
        ..single()
    };
    let a = forward_route(PathMatchIr::Prefix(s("/")), f);
    assert_eq!(
        a.host_rewrite_specifier,
        Some(route_action::HostRewriteSpecifier::HostRewriteLiteral(s(
            "upstream.internal"
        )))
    );
    let mirrors: Vec<(String, u32, i32)> = a
        .request_mirror_policies
        .iter()
        .map(|m| {
            let f = m.runtime_fraction.as_ref().unwrap().default_value.unwrap();
            (m.cluster.clone(), f.numerator, f.denominator)
        })
        .collect();
    let million = DenominatorType::Million as i32;
    assert_eq!(
        mirrors,
        vec![(s("m1"), 1_000_000, million), (s("m2"), 125, million)]
    );
}

/// `(prefix_rewrite, regex pattern, substitution)` of a forward with a path rewrite.
fn rewrite(path: PathMatchIr, r: PathRewriteIr) -> (String, Option<(String, String)>) {
    let a = forward_route(
        path,
        ForwardIr {
            path_rewrite: Some(r),
            ..single()
        },
    );
    let regex = a
        .regex_rewrite
        .map(|r| (r.pattern.unwrap().regex, r.substitution));
    (a.prefix_rewrite, regex)
}

#[test]
fn full_path_rewrite_is_a_whole_path_regex() {
    assert_eq!(
        rewrite(
            PathMatchIr::Prefix(s("/foo")),
            PathRewriteIr::Full(s("/bar"))
        ),
        (s(""), Some((s("^/.*$"), s("/bar"))))
    );
}

#[test]
fn prefix_rewrite_follows_gateway_api_segments() {
    let prefix = |m: &str, r: &str| rewrite(PathMatchIr::Prefix(s(m)), PathRewriteIr::Prefix(s(r)));
    // Plain replacement; trailing slashes on either side do not double the separator.
    assert_eq!(prefix("/foo", "/xyz"), (s("/xyz"), None));
    assert_eq!(prefix("/foo/", "/xyz/"), (s("/xyz"), None));
    // Replacing by `/` must give `/bar` for `/foo/bar`, not `//bar`.
    assert_eq!(prefix("/foo", "/"), (s(""), Some((s("^/foo/*"), s("/")))));
    assert_eq!(prefix("/foo/", ""), (s(""), Some((s("^/foo/*"), s("/")))));
    // Regex metacharacters in the prefix are literal.
    assert_eq!(
        prefix("/a.b+c", "/"),
        (s(""), Some((s(r"^/a\.b\+c/*"), s("/"))))
    );
    // Prefix `/`: keep a separator after the new prefix.
    assert_eq!(prefix("/", "/xyz"), (s("/xyz/"), None));
    assert_eq!(prefix("/", "/"), (s(""), None));
}

#[test]
fn prefix_rewrite_on_a_whole_path_match_replaces_the_path() {
    assert_eq!(
        rewrite(
            PathMatchIr::Exact(s("/foo")),
            PathRewriteIr::Prefix(s("/xyz/"))
        ),
        (s(""), Some((s("^/.*$"), s("/xyz"))))
    );
    assert_eq!(
        rewrite(PathMatchIr::Regex(s("/f.*")), PathRewriteIr::Prefix(s(""))),
        (s(""), Some((s("^/.*$"), s("/"))))
    );
}

#[test]
fn redirects() {
    use redirect_action::{PathRewriteSpecifier as P, RedirectResponseCode as C};
    let rd = redirect_route(
        PathMatchIr::Prefix(s("/")),
        RedirectIr {
            scheme: Some(s("https")),
            host: Some(s("example.com")),
            port: Some(8443),
            path: Some(PathRewriteIr::Full(s("/new"))),
            status_code: 301,
        },
    );
    assert_eq!(
        rd.scheme_rewrite_specifier,
        Some(redirect_action::SchemeRewriteSpecifier::SchemeRedirect(s(
            "https"
        )))
    );
    assert_eq!(rd.host_redirect, "example.com");
    assert_eq!(rd.port_redirect, 8443);
    assert_eq!(rd.path_rewrite_specifier, Some(P::PathRedirect(s("/new"))));
    assert_eq!(rd.response_code, C::MovedPermanently as i32);

    let code = |status_code| {
        redirect_route(PathMatchIr::Prefix(s("/")), mk_redirect(status_code)).response_code
    };
    assert_eq!(code(302), C::Found as i32);
    assert_eq!(code(303), C::SeeOther as i32);
    assert_eq!(code(307), C::TemporaryRedirect as i32);
    assert_eq!(code(308), C::PermanentRedirect as i32);

    let bare = redirect_route(PathMatchIr::Prefix(s("/")), mk_redirect(302));
    assert!(bare.scheme_rewrite_specifier.is_none());
    assert_eq!((bare.host_redirect.as_str(), bare.port_redirect), ("", 0));
    assert!(bare.path_rewrite_specifier.is_none());

    let prefix = redirect_route(
        PathMatchIr::Prefix(s("/old")),
        RedirectIr {
            path: Some(PathRewriteIr::Prefix(s("/new"))),
            ..mk_redirect(302)
        },
    );
    assert_eq!(
        prefix.path_rewrite_specifier,
        Some(P::PrefixRewrite(s("/new")))
    );
    let to_root = redirect_route(
        PathMatchIr::Prefix(s("/old")),
        RedirectIr {
            path: Some(PathRewriteIr::Prefix(s("/"))),
            ..mk_redirect(302)
        },
    );
    match to_root.path_rewrite_specifier {
        Some(P::RegexRewrite(r)) => {
            assert_eq!(
                (r.pattern.unwrap().regex, r.substitution),
                (s("^/old/*"), s("/"))
            )
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn redirect_drops_the_schemes_well_known_port() {
    let port = |scheme: Option<&str>, port| {
        redirect_route(
            PathMatchIr::Prefix(s("/")),
            RedirectIr {
                scheme: scheme.map(s),
                port: Some(port),
                ..mk_redirect(302)
            },
        )
        .port_redirect
    };
    assert_eq!(port(Some("https"), 443), 0);
    assert_eq!(port(Some("http"), 80), 0);
    assert_eq!(port(Some("https"), 80), 80);
    assert_eq!(
        port(None, 443),
        443,
        "without a scheme the request's decides; keep it"
    );
}

#[test]
fn direct_responses() {
    let direct = |body: Option<&str>| match one_route(mk_route(
        "r",
        PathMatchIr::Prefix(s("/")),
        ActionIr::Direct {
            status: 404,
            body: body.map(s),
        },
    ))
    .action
    {
        Some(route::Action::DirectResponse(d)) => d,
        other => panic!("{other:?}"),
    };
    let d = direct(Some("gone"));
    assert_eq!(d.status, 404);
    assert_eq!(
        d.body.unwrap().specifier,
        Some(data_source::Specifier::InlineString(s("gone")))
    );
    assert!(direct(None).body.is_none());
}

#[test]
fn retry_policy() {
    let mut f = single();
    assert_eq!(
        forward_route(PathMatchIr::Prefix(s("/")), f.clone()).retry_policy,
        None
    );
    f.retry = Some(RetryIr {
        codes: vec![500, 503],
        attempts: Some(3),
        backoff_ms: Some(250),
        on: Vec::new(),
    });
    let p = forward_route(PathMatchIr::Prefix(s("/")), f.clone())
        .retry_policy
        .unwrap();
    assert_eq!(p.retry_on, "retriable-status-codes");
    assert_eq!(p.retriable_status_codes, vec![500, 503]);
    assert_eq!(p.num_retries.map(|n| n.value), Some(3));
    assert_eq!(
        p.retry_back_off.and_then(|b| b.base_interval),
        Some(Duration {
            seconds: 0,
            nanos: 250_000_000
        })
    );
    f.retry = Some(RetryIr {
        codes: vec![],
        attempts: None,
        backoff_ms: None,
        on: Vec::new(),
    });
    let p = forward_route(PathMatchIr::Prefix(s("/")), f)
        .retry_policy
        .unwrap();
    assert_eq!(p.retry_on, "5xx");
    assert_eq!(p.num_retries, None);
    assert_eq!(p.retry_back_off, None);
}

#[test]
fn cors_policy_per_route() {
    let mut r = mk_route(
        "r",
        PathMatchIr::Prefix(s("/")),
        ActionIr::forward(single()),
    );
    assert!(one_route(r.clone()).typed_per_filter_config.is_empty());
    r.cors = Some(Box::new(CorsIr {
        allow_origins: vec![s("https://www.foo.com"), s("https://*.bar.com"), s("*")],
        allow_credentials: true,
        allow_methods: vec![s("GET"), s("OPTIONS")],
        allow_headers: vec![s("*")],
        expose_headers: vec![s("x-a"), s("x-b")],
        max_age_s: 3600,
    }));
    let route = one_route(r);
    assert_eq!(route.typed_per_filter_config.len(), 1);
    let policy: CorsPolicy = unpack(&route.typed_per_filter_config[names::CORS]);
    let origins: Vec<MatchPattern> = policy
        .allow_origin_string_match
        .iter()
        .map(|m| m.match_pattern.clone().unwrap())
        .collect();
    assert_eq!(origins[0], MatchPattern::Exact(s("https://www.foo.com")));
    match &origins[1] {
        MatchPattern::SafeRegex(re) => assert_eq!(re.regex, r"https://.*\.bar\.com"),
        other => panic!("{other:?}"),
    }
    // Envoy allows any origin when a matcher matches `*`.
    assert_eq!(origins[2], MatchPattern::Exact(s("*")));
    assert_eq!(policy.allow_methods, "GET, OPTIONS");
    assert_eq!(policy.allow_headers, "*");
    assert_eq!(policy.expose_headers, "x-a, x-b");
    assert_eq!(policy.max_age, "3600");
    assert_eq!(policy.allow_credentials.map(|b| b.value), Some(true));
}

// ---- clusters ----

fn discovery(c: &Cluster) -> i32 {
    match c.cluster_discovery_type {
        Some(cluster::ClusterDiscoveryType::Type(t)) => t,
        ref other => panic!("{other:?}"),
    }
}

fn endpoint_addresses(cla: &ClusterLoadAssignment) -> Vec<Vec<(String, u32)>> {
    cla.endpoints
        .iter()
        .map(|l| {
            l.lb_endpoints
                .iter()
                .map(|e| match &e.host_identifier {
                    Some(lb_endpoint::HostIdentifier::Endpoint(ep)) => port_of(&ep.address),
                    other => panic!("{other:?}"),
                })
                .collect()
        })
        .collect()
}

#[test]
fn eds_cluster() {
    let c = to_envoy_cluster(&ClusterIr {
        connect_timeout_ms: 2_250,
        ..mk_cluster("svc/ns/a/80", DiscoveryIr::Eds, false)
    });
    assert_eq!(c.name, "svc/ns/a/80");
    assert_eq!(
        c.connect_timeout,
        Some(Duration {
            seconds: 2,
            nanos: 250_000_000
        })
    );
    assert_eq!(discovery(&c), cluster::DiscoveryType::Eds as i32);
    let eds = c.eds_cluster_config.unwrap();
    assert_eq!(
        eds.service_name, "",
        "the assignment goes by the cluster's name"
    );
    let cs = eds.eds_config.unwrap();
    assert_eq!(cs.resource_api_version, ApiVersion::V3 as i32);
    assert!(matches!(
        cs.config_source_specifier,
        Some(config_source::ConfigSourceSpecifier::Ads(_))
    ));
    assert!(c.load_assignment.is_none());
    assert!(c.typed_extension_protocol_options.is_empty());
}

#[test]
fn static_clusters_are_static_for_ips_and_strict_dns_for_names() {
    let ips = to_envoy_cluster(&mk_cluster(
        "b/ip",
        DiscoveryIr::Static {
            hosts: vec![(s("10.0.0.1"), 80), (s("::1"), 81)],
        },
        false,
    ));
    assert_eq!(discovery(&ips), cluster::DiscoveryType::Static as i32);
    assert!(ips.eds_cluster_config.is_none());
    let cla = ips.load_assignment.unwrap();
    assert_eq!(cla.cluster_name, "b/ip");
    assert_eq!(
        endpoint_addresses(&cla),
        vec![vec![(s("10.0.0.1"), 80), (s("::1"), 81)]]
    );

    let mixed = to_envoy_cluster(&mk_cluster(
        "b/dns",
        DiscoveryIr::Static {
            hosts: vec![(s("10.0.0.1"), 80), (s("svc.example.com"), 443)],
        },
        false,
    ));
    assert_eq!(discovery(&mixed), cluster::DiscoveryType::StrictDns as i32);
}

#[test]
fn http2_cluster_has_explicit_http2_protocol_options() {
    let c = to_envoy_cluster(&mk_cluster("svc/ns/grpc/9000", DiscoveryIr::Eds, true));
    assert_eq!(c.typed_extension_protocol_options.len(), 1);
    let any = &c.typed_extension_protocol_options[names::HTTP_PROTOCOL_OPTIONS];
    let opts: HttpProtocolOptions = unpack(any);
    match opts.upstream_protocol_options {
        Some(http_protocol_options::UpstreamProtocolOptions::ExplicitHttpConfig(e)) => assert!(matches!(
            e.protocol_config,
            Some(http_protocol_options::explicit_http_config::ProtocolConfig::Http2ProtocolOptions(_))
        )),
        other => panic!("{other:?}"),
    }
}

// ---- endpoints ----

#[test]
fn cla_has_one_locality_per_zone() {
    let cla = to_envoy_cla(&mk_endpoints(
        "svc/ns/a/80",
        vec![
            mk_locality("", &[("10.0.0.1", 8080, true)]),
            mk_locality("z1", &[("10.0.1.1", 8080, true), ("10.0.1.2", 8081, false)]),
        ],
    ));
    assert_eq!(cla.cluster_name, "svc/ns/a/80");
    assert_eq!(cla.endpoints.len(), 2);
    let zones: Vec<(String, u32)> = cla
        .endpoints
        .iter()
        .map(|l| {
            (
                l.locality.as_ref().unwrap().zone.clone(),
                l.load_balancing_weight.unwrap().value,
            )
        })
        .collect();
    assert_eq!(zones, vec![(s(""), 1), (s("z1"), 2)]);
    assert_eq!(
        endpoint_addresses(&cla),
        vec![
            vec![(s("10.0.0.1"), 8080)],
            vec![(s("10.0.1.1"), 8080), (s("10.0.1.2"), 8081)]
        ]
    );
    let health: Vec<i32> = cla.endpoints[1]
        .lb_endpoints
        .iter()
        .map(|e| e.health_status)
        .collect();
    assert_eq!(
        health,
        vec![HealthStatus::Healthy as i32, HealthStatus::Unhealthy as i32]
    );
}

#[test]
fn empty_cla_is_still_a_resource() {
    let r = Resource::from(mk_endpoints("svc/ns/none/80", vec![]));
    let cla = ClusterLoadAssignment::decode(encode(&r).as_slice()).unwrap();
    assert_eq!(cla.cluster_name, "svc/ns/none/80");
    assert!(cla.endpoints.is_empty());
}

#[test]
fn zero_locality_weight_is_raised_to_one() {
    let mut l = mk_locality("z", &[]);
    l.weight = 0;
    let cla = to_envoy_cla(&mk_endpoints("c", vec![l]));
    assert_eq!(cla.endpoints[0].load_balancing_weight.unwrap().value, 1);
}

// ---- to_any / encode ----

fn sample_resources() -> Vec<Resource> {
    sample_snapshot("CERT", "KEY")
        .resources
        .into_values()
        .collect()
}

#[test]
fn to_any_carries_the_type_url_and_encoded_bytes() {
    for r in sample_resources() {
        let any = to_any(&r);
        assert_eq!(any.type_url, r.key().ty.type_url());
        assert_eq!(any.value, encode(&r));
    }
    let l = Resource::from(mk_listener("l", 80, vec![mk_chain("c", &[], None)]));
    let decoded = Listener::decode(to_any(&l).value.as_slice()).unwrap();
    assert_eq!(decoded.name, "l");
}

#[test]
fn encoding_is_deterministic() {
    // Separately built values (fresh `HashMap`s with fresh random seeds inside the protos) must
    // give identical bytes, many times over.
    let first: Vec<Vec<u8>> = sample_resources().iter().map(encode).collect();
    for _ in 0..50 {
        let again: Vec<Vec<u8>> = sample_resources().iter().map(encode).collect();
        assert_eq!(first, again);
    }
    let h2 = Resource::from(mk_cluster("c", DiscoveryIr::Eds, true));
    let bytes = encode(&h2);
    for _ in 0..50 {
        assert_eq!(encode(&h2.clone()), bytes);
    }
}

#[test]
fn every_listener_chain_holds_the_policy_filters_disabled_before_cors_and_the_router() {
    let l = to_envoy_listener(&mk_listener("ns/gw/80", 80, vec![mk_chain("c", &[], None)]));
    let filters = hcm(&l, 0).http_filters;
    let names: Vec<&str> = filters.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "envoy.filters.http.decompressor.gzip",
            "envoy.filters.http.decompressor.brotli",
            "envoy.filters.http.decompressor.zstd",
            "envoy.filters.http.fault",
            "envoy.filters.http.rbac",
            "envoy.filters.http.csrf",
            "envoy.filters.http.basic_auth",
            "envoy.filters.http.api_key_auth",
            "envoy.filters.http.local_ratelimit",
            "envoy.filters.http.buffer",
            "envoy.filters.http.compressor.gzip",
            "envoy.filters.http.compressor.brotli",
            "envoy.filters.http.compressor.zstd",
            names::CORS,
            names::ROUTER,
        ]
    );
    let n = filters.len();
    assert!(filters[..n - 2].iter().all(|f| f.disabled));
    assert!(!filters[n - 2].disabled && !filters[n - 1].disabled);
}

#[test]
fn route_filters_become_per_filter_configs_written_in_key_order() {
    let mut r = mk_route(
        "r",
        PathMatchIr::Prefix(s("/")),
        ActionIr::forward(single()),
    );
    r.filters = vec![
        HttpFilterIr::Fault {
            delay_ms: None,
            delay_ppm: 0,
            abort_status: Some(418),
            abort_ppm: 250_000,
            response_kbps: None,
            max_active: None,
        },
        HttpFilterIr::LocalRateLimit {
            max_tokens: 5,
            tokens_per_fill: 1,
            fill_interval_ms: 1000,
            enabled_pct: 100,
            enforced_pct: 50,
        },
    ];
    r.cors = Some(Box::new(CorsIr {
        allow_origins: vec![s("*")],
        allow_credentials: false,
        allow_methods: vec![s("GET")],
        allow_headers: vec![],
        expose_headers: vec![],
        max_age_s: 5,
    }));
    let route = one_route(r.clone());
    let mut keys: Vec<&String> = route.typed_per_filter_config.keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            names::CORS,
            "envoy.filters.http.fault",
            "envoy.filters.http.local_ratelimit"
        ]
    );
    let fault: envoy_types::pb::envoy::extensions::filters::http::fault::v3::HttpFault =
        unpack(&route.typed_per_filter_config["envoy.filters.http.fault"]);
    let abort = fault.abort.expect("an abort");
    assert_eq!(abort.percentage.map(|p| p.numerator), Some(250_000));
    // Three map entries, written in key order: the same IR always gives the same bytes, and
    // they decode to the same route configuration.
    let rc = mk_route_config("rc", vec![mk_vhost("rc/*", "*", vec![r])]);
    let resource = Resource::Route(std::sync::Arc::new(rc.clone()));
    let bytes = encode(&resource);
    for _ in 0..8 {
        assert_eq!(encode(&resource), bytes);
    }
    assert_eq!(
        RouteConfiguration::decode(bytes.as_slice()).unwrap(),
        to_envoy_route_config(&rc)
    );
}

#[test]
fn policy_route_fields() {
    let mut f = single();
    f.idle_timeout_ms = Some(300);
    f.auto_host_rewrite = true;
    f.path_rewrite = Some(PathRewriteIr::Regex {
        pattern: s("^/v1"),
        substitution: s("/v2"),
    });
    f.per_try_timeout_ms = Some(100);
    f.timeout_ms = Some(1000);
    f.retry = Some(RetryIr {
        codes: vec![503],
        attempts: Some(2),
        backoff_ms: Some(25),
        on: vec![s("5xx"), s("reset")],
    });
    f.internal_redirect = Some(Box::new(InternalRedirectIr {
        codes: vec![303],
        max: Some(3),
        allow_cross_scheme: true,
        copy_headers: vec![s("authorization")],
    }));
    let a = forward_route(PathMatchIr::Prefix(s("/")), f);
    assert_eq!(a.idle_timeout.map(|d| d.nanos), Some(300_000_000));
    assert!(matches!(
        a.host_rewrite_specifier,
        Some(route_action::HostRewriteSpecifier::AutoHostRewrite(ref b)) if b.value
    ));
    assert_eq!(a.regex_rewrite.map(|r| r.substitution), Some(s("/v2")));
    // With retries the per-try limit goes to the retry policy, the request limit stays.
    assert_eq!(a.timeout.map(|d| d.seconds), Some(1));
    let retry = a.retry_policy.expect("a retry policy");
    assert_eq!(retry.retry_on, "5xx,reset,retriable-status-codes");
    assert_eq!(retry.per_try_timeout.map(|d| d.nanos), Some(100_000_000));
    let ir = a
        .internal_redirect_policy
        .expect("an internal redirect policy");
    assert_eq!(ir.redirect_response_codes, [303]);
    assert!(ir.allow_cross_scheme_redirect);
}
