//! `RouteConfigIr` → `RouteConfiguration`: virtual hosts in IR order, routes in Gateway API
//! precedence order (Envoy takes the first route that matches).

use envoy_types::pb::envoy::config::core::v3::{DataSource, RuntimeFractionalPercent, data_source};
use envoy_types::pb::envoy::config::route::v3::{
    DirectResponseAction, HeaderMatcher, InternalRedirectPolicy, QueryParameterMatcher,
    RedirectAction, RetryPolicy, Route, RouteAction, RouteConfiguration, RouteMatch, Tracing,
    VirtualHost, WeightedCluster, header_matcher, query_parameter_matcher, redirect_action,
    retry_policy, route, route_action, route_match, weighted_cluster,
};
use envoy_types::pb::envoy::extensions::filters::http::cors::v3::CorsPolicy;
use envoy_types::pb::envoy::r#type::matcher::v3::{
    RegexMatchAndSubstitute, RegexMatcher, StringMatcher, string_matcher,
};
use envoy_types::pb::envoy::r#type::tracing::v3::{CustomTag, custom_tag};
use envoy_types::pb::envoy::r#type::v3::{FractionalPercent, fractional_percent};
use envoy_types::pb::google::protobuf::BoolValue;
use envoy_types::pb::google::protobuf::{Any as PbAny, Duration, UInt32Value};
use prost::Message;
use sluice_dataflow::ir::{
    ActionIr, CorsIr, ForwardIr, HeaderMatchIr, MirrorIr, PathMatchIr, PathRewriteIr, RedirectIr,
    RetryIr, RouteConfigIr, RouteIr, RouteTracingIr, TraceTagValue, VirtualHostIr,
    WeightedClusterIr,
};

use super::{duration_ms, headers_to_add, names, pack};

pub fn to_envoy_route_config(config: &RouteConfigIr) -> RouteConfiguration {
    RouteConfiguration {
        name: config.name.clone(),
        virtual_hosts: config.virtual_hosts.iter().map(virtual_host).collect(),
        // Domains are bare hostnames; the listener port must not take part in host matching.
        ignore_port_in_host_matching: true,
        ..Default::default()
    }
}

fn virtual_host(vh: &VirtualHostIr) -> VirtualHost {
    VirtualHost {
        name: vh.name.clone(),
        domains: vh.domains.clone(),
        routes: vh.routes.iter().map(|r| route(r)).collect(),
        ..Default::default()
    }
}

/// `rc`'s protobuf bytes with every route's `typed_per_filter_config` written in key order
/// (prost writes a `HashMap` in its per-instance random order; equal IR must give equal
/// bytes). Protobuf readers take fields in any order, so each route is its other fields, then
/// its map entries sorted.
pub fn encode_route_config(rc: &RouteConfiguration) -> Vec<u8> {
    use prost::encoding::{WireType, encode_key, encode_varint};
    fn field(tag: u32, bytes: &[u8], buf: &mut Vec<u8>) {
        encode_key(tag, WireType::LengthDelimited, buf);
        encode_varint(bytes.len() as u64, buf);
        buf.extend_from_slice(bytes);
    }
    let mut top = rc.clone();
    let vhosts = std::mem::take(&mut top.virtual_hosts);
    let mut buf = top.encode_to_vec();
    for mut vh in vhosts {
        let routes = std::mem::take(&mut vh.routes);
        let mut vh_bytes = vh.encode_to_vec();
        for mut r in routes {
            let mut configs: Vec<(String, PbAny)> = r.typed_per_filter_config.drain().collect();
            configs.sort_by(|a, b| a.0.cmp(&b.0));
            let mut r_bytes = r.encode_to_vec();
            for (name, config) in configs {
                let mut entry = Vec::new();
                prost::encoding::string::encode(1, &name, &mut entry);
                prost::encoding::message::encode(2, &config, &mut entry);
                field(13, &entry, &mut r_bytes);
            }
            field(3, &r_bytes, &mut vh_bytes);
        }
        field(2, &vh_bytes, &mut buf);
    }
    buf
}

fn route(r: &RouteIr) -> Route {
    Route {
        name: r.name.clone(),
        r#match: Some(route_match(r)),
        action: Some(action(r)),
        request_headers_to_add: headers_to_add(&r.request_headers),
        request_headers_to_remove: r.request_headers.remove.clone(),
        response_headers_to_add: headers_to_add(&r.response_headers),
        response_headers_to_remove: r.response_headers.remove.clone(),
        typed_per_filter_config: r
            .filters
            .iter()
            .flat_map(super::filters::per_route)
            .chain(
                r.cors
                    .iter()
                    .map(|c| (names::CORS.to_string(), pack(&cors_policy(c)))),
            )
            .collect(),
        stat_prefix: r.stat_prefix.clone().unwrap_or_default(),
        tracing: r.tracing.as_deref().map(tracing),
        ..Default::default()
    }
}

fn tracing(t: &RouteTracingIr) -> Tracing {
    let pct = |p: Option<u32>| {
        p.map(|numerator| FractionalPercent {
            numerator,
            denominator: fractional_percent::DenominatorType::Hundred.into(),
        })
    };
    Tracing {
        client_sampling: pct(t.client_pct),
        random_sampling: pct(t.random_pct),
        overall_sampling: pct(t.overall_pct),
        custom_tags: t
            .tags
            .iter()
            .map(|tag| CustomTag {
                tag: tag.tag.clone(),
                r#type: Some(match &tag.value {
                    TraceTagValue::Literal(value) => {
                        custom_tag::Type::Literal(custom_tag::Literal {
                            value: value.clone(),
                        })
                    }
                    TraceTagValue::RequestHeader { name, default } => {
                        custom_tag::Type::RequestHeader(custom_tag::Header {
                            name: name.clone(),
                            default_value: default.clone().unwrap_or_default(),
                        })
                    }
                    TraceTagValue::Environment { name, default } => {
                        custom_tag::Type::Environment(custom_tag::Environment {
                            name: name.clone(),
                            default_value: default.clone().unwrap_or_default(),
                        })
                    }
                }),
            })
            .collect(),
        ..Default::default()
    }
}

/// Gateway API's CORS filter as the route's policy for Envoy's CORS filter: origins exact,
/// `*` (Envoy allows any origin when a matcher matches `*`), or with `*` standing for any
/// characters (a full-match regex); lists joined by `, `; `*` methods or headers make Envoy
/// echo the requested ones. Envoy answers an allowed preflight itself (200) and forwards the
/// others.
fn cors_policy(c: &CorsIr) -> CorsPolicy {
    let origin = |o: &String| {
        let pattern = if o == "*" || !o.contains('*') {
            string_matcher::MatchPattern::Exact(o.clone())
        } else {
            let parts: Vec<String> = o.split('*').map(regex_escape).collect();
            string_matcher::MatchPattern::SafeRegex(regex(&parts.join(".*")))
        };
        StringMatcher {
            match_pattern: Some(pattern),
            ..Default::default()
        }
    };
    CorsPolicy {
        allow_origin_string_match: c.allow_origins.iter().map(origin).collect(),
        allow_methods: c.allow_methods.join(", "),
        allow_headers: c.allow_headers.join(", "),
        expose_headers: c.expose_headers.join(", "),
        max_age: c.max_age_s.to_string(),
        allow_credentials: c.allow_credentials.then_some(BoolValue { value: true }),
        ..Default::default()
    }
}

/// `s` as an RE2 literal.
fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if r"\.+*?()|[]{}^$".contains(ch) {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

fn route_match(r: &RouteIr) -> RouteMatch {
    use route_match::PathSpecifier;
    let path = match &r.path {
        PathMatchIr::Exact(p) => PathSpecifier::Path(p.clone()),
        // `path_separated_prefix` matches whole segments, as Gateway API wants, but cannot match
        // everything (`/`) and rejects a trailing slash (`/foo/` matches what `/foo` matches).
        PathMatchIr::Prefix(p) => match p.trim_end_matches('/') {
            "" => PathSpecifier::Prefix("/".to_string()),
            trimmed => PathSpecifier::PathSeparatedPrefix(trimmed.to_string()),
        },
        PathMatchIr::Regex(re) => PathSpecifier::SafeRegex(regex(re)),
    };
    RouteMatch {
        path_specifier: Some(path),
        headers: r.headers.iter().map(header_matcher).collect(),
        query_parameters: r.query.iter().map(query_matcher).collect(),
        ..Default::default()
    }
}

/// RE2 (Envoy's only engine, the default when `engine_type` is unset).
fn regex(re: &str) -> RegexMatcher {
    RegexMatcher {
        regex: re.to_string(),
        ..Default::default()
    }
}

/// `exact` wins over `regex`; a match with neither tests presence (the IR has no such case
/// today, and presence is the least surprising reading of "a value is not constrained").
fn string_match(m: &HeaderMatchIr) -> Option<StringMatcher> {
    let pattern = match (&m.exact, &m.regex) {
        (Some(v), _) => string_matcher::MatchPattern::Exact(v.clone()),
        (None, Some(re)) => string_matcher::MatchPattern::SafeRegex(regex(re)),
        (None, None) => return None,
    };
    Some(StringMatcher {
        match_pattern: Some(pattern),
        ..Default::default()
    })
}

fn header_matcher(m: &HeaderMatchIr) -> HeaderMatcher {
    use header_matcher::HeaderMatchSpecifier;
    HeaderMatcher {
        name: m.name.clone(),
        header_match_specifier: Some(match string_match(m) {
            Some(s) => HeaderMatchSpecifier::StringMatch(s),
            None => HeaderMatchSpecifier::PresentMatch(true),
        }),
        ..Default::default()
    }
}

fn query_matcher(m: &HeaderMatchIr) -> QueryParameterMatcher {
    use query_parameter_matcher::QueryParameterMatchSpecifier;
    QueryParameterMatcher {
        name: m.name.clone(),
        query_parameter_match_specifier: Some(match string_match(m) {
            Some(s) => QueryParameterMatchSpecifier::StringMatch(s),
            None => QueryParameterMatchSpecifier::PresentMatch(true),
        }),
    }
}

fn action(r: &RouteIr) -> route::Action {
    match &r.action {
        // Gateway API: a rule whose backends all failed to resolve answers 500.
        ActionIr::Forward(f) if f.clusters.is_empty() => {
            route::Action::DirectResponse(DirectResponseAction {
                status: 500,
                ..Default::default()
            })
        }
        ActionIr::Forward(f) => route::Action::Route(route_action(f, &r.path)),
        ActionIr::Redirect(rd) => route::Action::Redirect(redirect_action(rd, &r.path)),
        ActionIr::Direct { status, body } => route::Action::DirectResponse(DirectResponseAction {
            status: (*status).into(),
            body: body.as_ref().map(|b| DataSource {
                specifier: Some(data_source::Specifier::InlineString(b.clone())),
                ..Default::default()
            }),
            ..Default::default()
        }),
    }
}

fn route_action(f: &ForwardIr, matched: &PathMatchIr) -> RouteAction {
    let mut action = RouteAction {
        cluster_specifier: Some(cluster_specifier(&f.clusters)),
        timeout: Some(route_timeout(f)),
        host_rewrite_specifier: match (&f.host_rewrite, f.auto_host_rewrite) {
            (Some(h), _) => Some(route_action::HostRewriteSpecifier::HostRewriteLiteral(
                h.clone(),
            )),
            (None, true) => Some(route_action::HostRewriteSpecifier::AutoHostRewrite(
                BoolValue { value: true },
            )),
            (None, false) => None,
        },
        idle_timeout: f.idle_timeout_ms.map(duration_ms),
        internal_redirect_policy: f
            .internal_redirect
            .as_deref()
            .map(|ir| InternalRedirectPolicy {
                max_internal_redirects: ir.max.map(|value| UInt32Value { value }),
                redirect_response_codes: ir.codes.iter().map(|&c| u32::from(c)).collect(),
                allow_cross_scheme_redirect: ir.allow_cross_scheme,
                response_headers_to_copy: ir.copy_headers.clone(),
                ..Default::default()
            }),
        request_mirror_policies: f.mirrors.iter().map(mirror_policy).collect(),
        retry_policy: f
            .retry
            .as_ref()
            .map(|r| retry_policy(r, f.per_try_timeout_ms)),
        ..Default::default()
    };
    match f.path_rewrite.as_ref().map(|p| path_rewrite(p, matched)) {
        None | Some(PathRewrite::Keep) => {}
        Some(PathRewrite::Prefix(p)) => action.prefix_rewrite = p,
        Some(PathRewrite::Regex(r)) => action.regex_rewrite = Some(r),
    }
    action
}

/// Gateway API's rule `retry`: the listed status codes (any 5xx when none is listed),
/// `attempts` retries (Envoy's default, 1, when unset), `backoff` as the base interval. A
/// TrafficPolicy's retry names its `retryOn` conditions (the status codes adding
/// `retriable-status-codes`) and bounds each try by `perTryTimeout`.
fn retry_policy(r: &RetryIr, per_try_ms: Option<u64>) -> RetryPolicy {
    let retry_on = if !r.on.is_empty() {
        let mut on = r.on.clone();
        if !r.codes.is_empty() && !on.iter().any(|c| c == "retriable-status-codes") {
            on.push("retriable-status-codes".to_string());
        }
        on.join(",")
    } else if r.codes.is_empty() {
        "5xx".to_string()
    } else {
        "retriable-status-codes".to_string()
    };
    RetryPolicy {
        retry_on,
        per_try_timeout: per_try_ms.filter(|&ms| ms > 0).map(duration_ms),
        retriable_status_codes: r.codes.iter().map(|&c| u32::from(c)).collect(),
        num_retries: r.attempts.map(|value| UInt32Value { value }),
        retry_back_off: r
            .backoff_ms
            .filter(|&ms| ms > 0)
            .map(|ms| retry_policy::RetryBackOff {
                base_interval: Some(duration_ms(ms)),
                ..Default::default()
            }),
        ..Default::default()
    }
}

/// One plain cluster when that says everything; `weighted_clusters` otherwise, also for a single
/// backend with header filters, which only a `ClusterWeight` can carry. No `total_weight`: Envoy
/// then uses the sum of the weights.
fn cluster_specifier(clusters: &[WeightedClusterIr]) -> route_action::ClusterSpecifier {
    match clusters {
        [only] if only.request_headers.is_empty() && only.response_headers.is_empty() => {
            route_action::ClusterSpecifier::Cluster(only.cluster.clone())
        }
        _ => route_action::ClusterSpecifier::WeightedClusters(WeightedCluster {
            clusters: clusters.iter().map(cluster_weight).collect(),
            ..Default::default()
        }),
    }
}

fn cluster_weight(c: &WeightedClusterIr) -> weighted_cluster::ClusterWeight {
    weighted_cluster::ClusterWeight {
        name: c.cluster.clone(),
        weight: Some(UInt32Value { value: c.weight }),
        request_headers_to_add: headers_to_add(&c.request_headers),
        request_headers_to_remove: c.request_headers.remove.clone(),
        response_headers_to_add: headers_to_add(&c.response_headers),
        response_headers_to_remove: c.response_headers.remove.clone(),
        ..Default::default()
    }
}

/// Gateway API's default is no timeout, Envoy's 15s: always set one, `0s` meaning disabled.
/// Without retries the one try is the whole request: the per-try limit (backendRequest) and
/// the request limit both bound it, and the smaller one wins. With retries the per-try limit
/// goes to the retry policy. `0` disables either limit.
fn route_timeout(f: &ForwardIr) -> Duration {
    let per_try = f.per_try_timeout_ms.filter(|_| f.retry.is_none());
    let limits = [f.timeout_ms, per_try].into_iter().flatten();
    duration_ms(limits.filter(|&ms| ms > 0).min().unwrap_or(0))
}

fn mirror_policy(m: &MirrorIr) -> route_action::RequestMirrorPolicy {
    route_action::RequestMirrorPolicy {
        cluster: m.cluster.clone(),
        runtime_fraction: Some(RuntimeFractionalPercent {
            default_value: Some(FractionalPercent {
                numerator: m.fraction_ppm.min(1_000_000),
                denominator: fractional_percent::DenominatorType::Million.into(),
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn redirect_action(rd: &RedirectIr, matched: &PathMatchIr) -> RedirectAction {
    use redirect_action::{PathRewriteSpecifier, RedirectResponseCode};
    let path_rewrite_specifier = rd.path.as_ref().and_then(|p| match p {
        PathRewriteIr::Full(path) => Some(PathRewriteSpecifier::PathRedirect(path.clone())),
        PathRewriteIr::Regex { .. } => match path_rewrite(p, matched) {
            PathRewrite::Regex(r) => Some(PathRewriteSpecifier::RegexRewrite(r)),
            _ => None,
        },
        PathRewriteIr::Prefix(_) => match path_rewrite(p, matched) {
            PathRewrite::Keep => None,
            PathRewrite::Prefix(p) => Some(PathRewriteSpecifier::PrefixRewrite(p)),
            PathRewrite::Regex(r) => Some(PathRewriteSpecifier::RegexRewrite(r)),
        },
    });
    let response_code = match rd.status_code {
        301 => RedirectResponseCode::MovedPermanently,
        303 => RedirectResponseCode::SeeOther,
        307 => RedirectResponseCode::TemporaryRedirect,
        308 => RedirectResponseCode::PermanentRedirect,
        // 302 and anything Envoy cannot send (Gateway API's default is 302).
        _ => RedirectResponseCode::Found,
    };
    // Envoy fills what is unset from the request's `Host`; on a scheme change it drops that
    // Host's port when it is the old scheme's well-known one (Gateway API: the new scheme's
    // well-known port, left out). For a redirect with neither scheme nor port Gateway API wants
    // the listener's port, which only the IR's producer knows (it sets `port` then). Envoy writes
    // any `port_redirect` it is given, so the scheme's well-known port is dropped here, as
    // Gateway API requires.
    let port = rd
        .port
        .filter(|&p| Some(p) != rd.scheme.as_deref().and_then(well_known_port));
    RedirectAction {
        scheme_rewrite_specifier: rd
            .scheme
            .clone()
            .map(redirect_action::SchemeRewriteSpecifier::SchemeRedirect),
        host_redirect: rd.host.clone().unwrap_or_default(),
        port_redirect: port.map(u32::from).unwrap_or(0),
        path_rewrite_specifier,
        response_code: response_code.into(),
        ..Default::default()
    }
}

fn well_known_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

/// How a path rewrite looks to Envoy.
enum PathRewrite {
    /// Nothing to do.
    Keep,
    /// `prefix_rewrite`: replace the matched prefix.
    Prefix(String),
    /// `regex_rewrite`.
    Regex(RegexMatchAndSubstitute),
}

/// Gateway API path modifiers in Envoy terms. `ReplacePrefixMatch` replaces whole segments:
/// prefix `/foo` replaced by `/xyz` turns `/foo/bar` into `/xyz/bar`, and replaced by `/` (or
/// ``) turns `/foo/bar` into `/bar` and `/foo` into `/`. Envoy's `prefix_rewrite` swaps
/// characters, so trailing slashes are trimmed on both sides and the `/` replacement becomes a
/// regex that also eats the separator.
fn path_rewrite(rewrite: &PathRewriteIr, matched: &PathMatchIr) -> PathRewrite {
    let full = |path: &str| {
        PathRewrite::Regex(RegexMatchAndSubstitute {
            pattern: Some(regex("^/.*$")),
            // `\` starts a capture reference in the substitution.
            substitution: path.replace('\\', "\\\\"),
        })
    };
    let replacement = match rewrite {
        PathRewriteIr::Full(path) => return full(path),
        PathRewriteIr::Regex {
            pattern,
            substitution,
        } => {
            return PathRewrite::Regex(RegexMatchAndSubstitute {
                pattern: Some(regex(pattern)),
                substitution: substitution.clone(),
            });
        }
        PathRewriteIr::Prefix(p) => p.trim_end_matches('/'),
    };
    let prefix = match matched {
        PathMatchIr::Prefix(p) => p.trim_end_matches('/'),
        // Only a prefix match has a prefix to replace (Gateway API rejects the combination);
        // an exact or regex match covers the whole path, so replace the whole path.
        PathMatchIr::Exact(_) | PathMatchIr::Regex(_) => {
            return full(if replacement.is_empty() {
                "/"
            } else {
                replacement
            });
        }
    };
    match (prefix.is_empty(), replacement.is_empty()) {
        (false, false) => PathRewrite::Prefix(replacement.to_string()),
        (false, true) => PathRewrite::Regex(RegexMatchAndSubstitute {
            pattern: Some(regex(&format!("^{}/*", escape_regex(prefix)))),
            substitution: "/".to_string(),
        }),
        // The match was `/`: keep the separator between the new prefix and the old path.
        (true, false) => PathRewrite::Prefix(format!("{replacement}/")),
        (true, true) => PathRewrite::Keep,
    }
}

/// Escapes RE2 metacharacters so `s` matches literally.
fn escape_regex(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if r"\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
