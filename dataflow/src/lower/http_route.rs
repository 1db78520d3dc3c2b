//! HTTPRoute: parent references, hostnames, and rules with their matches, filters, backends
//! and timeouts.
//!
//! A rule Gateway API calls invalid keeps its record, with `invalid` naming the first defect
//! found (matches, then filters, then backendRefs, then timeouts): a filter without its
//! configuration, a filter type a backendRef cannot carry, RequestRedirect together with URLRewrite,
//! `ReplacePrefixMatch` without a `PathPrefix` match, a filter type repeated (RequestMirror and
//! ExtensionRef may repeat), a path or duration the schema would refuse, `backendRequest`
//! longer than `request`.

use sluice_crds::gateway_api::{
    HTTPBackendRef, HTTPHeaderFilter, HTTPMethod, HTTPPathModifier, HTTPPathModifierType,
    HTTPRoute, HTTPRouteFilter, HTTPRouteFilterType, HTTPRouteMatch, HTTPRouteRule,
    HeaderMatchType, PathMatchType, RedirectScheme,
};

use super::duration::parse_duration_ms;
use super::{LowerError, generation_of, key_of, namespace_of, port};
use crate::model::{
    BackendRefRec, BackendTarget, CorsRec, FilterRec, HeaderMods, HttpRouteRec, KGATEWAY_GROUP,
    KeyValueMatch, MatchRec, MirrorRec, ObjectKey, ParentRef, PathMatch, PathModifier, RedirectRec,
    RetryRec, RewriteRec, RuleRec, StringMatch, Sym,
};

/// An HTTPRoute; `Err` only for a parentRef port out of range.
pub fn lower_http_route(route: &HTTPRoute) -> Result<HttpRouteRec, LowerError> {
    let ns = namespace_of(&route.metadata);
    let parent_refs = route
        .spec
        .parent_refs
        .iter()
        .enumerate()
        .map(|(i, p)| {
            Ok(ParentRef {
                group: p.group.clone(),
                kind: p.kind.clone(),
                gateway: ObjectKey::new(p.namespace.as_deref().unwrap_or(ns), &p.name),
                section: p.section_name.as_deref().map(Sym::new),
                port: p
                    .port
                    .map(|v| port(v, || format!("spec.parentRefs[{i}].port")))
                    .transpose()?,
            })
        })
        .collect::<Result<Vec<_>, LowerError>>()?;
    Ok(HttpRouteRec {
        key: key_of(&route.metadata),
        generation: generation_of(&route.metadata),
        created: route
            .metadata
            .creation_timestamp
            .as_ref()
            .map_or(0, |t| t.0.as_second()),
        parent_refs,
        hostnames: route
            .spec
            .hostnames
            .iter()
            .map(|h| h.to_ascii_lowercase())
            .collect(),
        rules: route.spec.rules.iter().map(|r| lower_rule(ns, r)).collect(),
        labels: route
            .metadata
            .labels
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    })
}

/// Remembers the first defect of a rule.
#[derive(Default)]
struct Defect(Option<String>);

impl Defect {
    fn note(&mut self, message: impl FnOnce() -> String) {
        if self.0.is_none() {
            self.0 = Some(message());
        }
    }
    fn check<T>(&mut self, r: Result<T, String>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.note(|| e);
                None
            }
        }
    }
}

/// One rule of a route in `route_ns`.
pub fn lower_rule(route_ns: &str, rule: &HTTPRouteRule) -> RuleRec {
    let mut defect = Defect::default();

    let mut matches: Vec<MatchRec> = Vec::with_capacity(rule.matches.len().max(1));
    for (i, m) in rule.matches.iter().enumerate() {
        if let Some(p) = &m.path
            && let Some(why) = path_problem(p.type_, &p.value)
        {
            defect.note(|| format!("matches[{i}].path: {why}"));
        }
        matches.push(lower_match(m));
    }
    if matches.is_empty() {
        matches.push(default_match());
    }
    let all_prefix = matches
        .iter()
        .all(|m| matches!(m.path, PathMatch::Prefix(_)));

    let mut filters = Vec::with_capacity(rule.filters.len());
    for (i, f) in rule.filters.iter().enumerate() {
        if let Some(f) = defect
            .check(lower_filter(route_ns, f).map_err(|e| prefixed(&format!("filters[{i}]"), e)))
        {
            filters.push(f);
        }
    }
    if let Some(t) = repeated_type(&rule.filters) {
        defect.note(|| format!("filter type {} appears more than once", type_name(t)));
    }
    let has = |t: HTTPRouteFilterType| rule.filters.iter().any(|f| f.type_ == t);
    if has(HTTPRouteFilterType::RequestRedirect) && has(HTTPRouteFilterType::UrlRewrite) {
        defect.note(|| "RequestRedirect and URLRewrite cannot both be set".into());
    }
    let prefix_modifier = filters.iter().any(|f| match f {
        FilterRec::Redirect(RedirectRec { path, .. })
        | FilterRec::Rewrite(RewriteRec { path, .. }) => {
            matches!(path, Some(PathModifier::ReplacePrefixMatch(_)))
        }
        _ => false,
    });
    if prefix_modifier && !all_prefix {
        defect.note(|| "ReplacePrefixMatch requires every match to be a PathPrefix match".into());
    }

    let backends = rule
        .backend_refs
        .iter()
        .enumerate()
        .map(|(i, b)| lower_backend_ref(route_ns, i, b, &mut defect))
        .collect();

    let timeouts = rule.timeouts.as_ref();
    let mut timeout = |field: &str, value: Option<&String>| {
        value.and_then(|v| {
            defect.check(parse_duration_ms(v).map_err(|e| format!("timeouts.{field}: {e}")))
        })
    };
    let timeout_ms = timeout("request", timeouts.and_then(|t| t.request.as_ref()));
    let backend_timeout_ms = timeout(
        "backendRequest",
        timeouts.and_then(|t| t.backend_request.as_ref()),
    );
    if let (Some(request), Some(backend)) = (timeout_ms, backend_timeout_ms)
        && request != 0
        && backend > request
    {
        defect.note(|| "timeouts.backendRequest must not be longer than timeouts.request".into());
    }

    let retry = rule.retry.as_ref().map(|r| {
        let codes = r
            .codes
            .iter()
            .filter_map(|&c| match u16::try_from(c) {
                Ok(c) if (400..=599).contains(&c) => Some(c),
                _ => {
                    defect.note(|| format!("retry.codes: {c} is not in 400-599"));
                    None
                }
            })
            .collect();
        let attempts = r.attempts.and_then(|a| match u32::try_from(a) {
            Ok(a) => Some(a),
            Err(_) => {
                defect.note(|| format!("retry.attempts {a} is negative"));
                None
            }
        });
        let backoff_ms = r.backoff.as_ref().and_then(|b| {
            defect.check(parse_duration_ms(b).map_err(|e| format!("retry.backoff: {e}")))
        });
        RetryRec {
            codes,
            attempts,
            backoff_ms,
        }
    });

    RuleRec {
        name: rule.name.clone(),
        matches,
        filters,
        backends,
        timeout_ms,
        backend_timeout_ms,
        retry,
        invalid: defect.0,
    }
}

fn prefixed(field: &str, message: String) -> String {
    format!("{field}: {message}")
}

fn default_match() -> MatchRec {
    MatchRec {
        path: PathMatch::Prefix("/".into()),
        headers: Vec::new(),
        query: Vec::new(),
        method: None,
    }
}

/// One match: header names lowercased, method uppercased, a `PathPrefix` without its trailing
/// `/` (`/foo/` matches as `/foo`), an absent path `PathPrefix /`.
pub fn lower_match(m: &HTTPRouteMatch) -> MatchRec {
    let path = match &m.path {
        None => PathMatch::Prefix("/".into()),
        Some(p) => match p.type_ {
            PathMatchType::Exact => PathMatch::Exact(p.value.clone()),
            PathMatchType::PathPrefix => PathMatch::Prefix(normalize_prefix(&p.value)),
            PathMatchType::RegularExpression => PathMatch::Regex(p.value.clone()),
        },
    };
    let value = |t: HeaderMatchType, v: &str| match t {
        HeaderMatchType::Exact => StringMatch::Exact(v.to_owned()),
        HeaderMatchType::RegularExpression => StringMatch::Regex(v.to_owned()),
    };
    MatchRec {
        path,
        headers: m
            .headers
            .iter()
            .map(|h| KeyValueMatch {
                name: h.name.to_ascii_lowercase(),
                value: value(h.type_, &h.value),
            })
            .collect(),
        query: m
            .query_params
            .iter()
            .map(|q| KeyValueMatch {
                name: q.name.clone(),
                value: value(q.type_, &q.value),
            })
            .collect(),
        method: m.method.map(|x| method(x).to_owned()),
    }
}

fn normalize_prefix(value: &str) -> String {
    let trimmed = value.trim_end_matches('/');
    if trimmed.is_empty() {
        "/".to_owned()
    } else {
        trimmed.to_owned()
    }
}

fn method(m: HTTPMethod) -> &'static str {
    match m {
        HTTPMethod::Get => "GET",
        HTTPMethod::Head => "HEAD",
        HTTPMethod::Post => "POST",
        HTTPMethod::Put => "PUT",
        HTTPMethod::Delete => "DELETE",
        HTTPMethod::Connect => "CONNECT",
        HTTPMethod::Options => "OPTIONS",
        HTTPMethod::Trace => "TRACE",
        HTTPMethod::Patch => "PATCH",
    }
}

/// Why the schema refuses an `Exact` or `PathPrefix` path value, if it does.
fn path_problem(t: PathMatchType, value: &str) -> Option<&'static str> {
    if t == PathMatchType::RegularExpression {
        return None;
    }
    if !value.starts_with('/') {
        return Some("must be an absolute path starting with '/'");
    }
    for bad in ["//", "/./", "/../", "%2f", "%2F", "#"] {
        if value.contains(bad) {
            return Some("must not contain '//', '/./', '/../', '%2f' or '#'");
        }
    }
    if value.ends_with("/..") || value.ends_with("/.") {
        return Some("must not end with '/..' or '/.'");
    }
    if value.len() > 1024 {
        return Some("must be at most 1024 characters");
    }
    let bytes = value.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'%' {
            let hex = |j: usize| bytes.get(j).is_some_and(u8::is_ascii_hexdigit);
            if !(hex(i + 1) && hex(i + 2)) {
                return Some("has a '%' not followed by two hex digits");
            }
            i += 3;
            continue;
        }
        if !(c.is_ascii_alphanumeric() || b"-/._~!$&'()*+,;=:@".contains(&c)) {
            return Some("contains a character not allowed in a path");
        }
        i += 1;
    }
    None
}

fn type_name(t: HTTPRouteFilterType) -> &'static str {
    match t {
        HTTPRouteFilterType::RequestHeaderModifier => "RequestHeaderModifier",
        HTTPRouteFilterType::ResponseHeaderModifier => "ResponseHeaderModifier",
        HTTPRouteFilterType::RequestMirror => "RequestMirror",
        HTTPRouteFilterType::RequestRedirect => "RequestRedirect",
        HTTPRouteFilterType::UrlRewrite => "URLRewrite",
        HTTPRouteFilterType::ExtensionRef => "ExtensionRef",
        HTTPRouteFilterType::Cors => "CORS",
    }
}

/// The first filter type that appears twice, of those that may not repeat.
fn repeated_type(filters: &[HTTPRouteFilter]) -> Option<HTTPRouteFilterType> {
    filters.iter().enumerate().find_map(|(i, f)| {
        let repeatable = matches!(
            f.type_,
            HTTPRouteFilterType::RequestMirror | HTTPRouteFilterType::ExtensionRef
        );
        (!repeatable && filters[..i].iter().any(|g| g.type_ == f.type_)).then_some(f.type_)
    })
}

/// One filter of a rule or backendRef; `Err` for a filter sluice cannot honour or the schema
/// refuses.
fn lower_filter(route_ns: &str, f: &HTTPRouteFilter) -> Result<FilterRec, String> {
    use HTTPRouteFilterType as T;
    let configs = [
        (
            T::RequestHeaderModifier,
            f.request_header_modifier.is_some(),
        ),
        (
            T::ResponseHeaderModifier,
            f.response_header_modifier.is_some(),
        ),
        (T::RequestMirror, f.request_mirror.is_some()),
        (T::RequestRedirect, f.request_redirect.is_some()),
        (T::UrlRewrite, f.url_rewrite.is_some()),
        (T::ExtensionRef, f.extension_ref.is_some()),
        (T::Cors, f.cors.is_some()),
    ];
    if let Some((other, _)) = configs.iter().find(|(t, set)| *set && *t != f.type_) {
        return Err(format!(
            "configuration of {} set on a filter of type {}",
            type_name(*other),
            type_name(f.type_)
        ));
    }
    let missing = || {
        format!(
            "filter of type {} without its configuration",
            type_name(f.type_)
        )
    };
    Ok(match f.type_ {
        T::RequestHeaderModifier => FilterRec::RequestHeaders(header_mods(
            f.request_header_modifier.as_ref().ok_or_else(missing)?,
        )),
        T::ResponseHeaderModifier => FilterRec::ResponseHeaders(header_mods(
            f.response_header_modifier.as_ref().ok_or_else(missing)?,
        )),
        T::RequestRedirect => {
            let r = f.request_redirect.as_ref().ok_or_else(missing)?;
            if ![301, 302, 303, 307, 308].contains(&r.status_code) {
                return Err(format!(
                    "redirect statusCode {} is not one of 301, 302, 303, 307, 308",
                    r.status_code
                ));
            }
            FilterRec::Redirect(RedirectRec {
                scheme: r.scheme.map(|s| {
                    match s {
                        RedirectScheme::Http => "http",
                        RedirectScheme::Https => "https",
                    }
                    .to_owned()
                }),
                hostname: r.hostname.clone(),
                path: r.path.as_ref().map(path_modifier).transpose()?,
                port: r
                    .port
                    .map(|p| port(p, || "requestRedirect.port".into()))
                    .transpose()
                    .map_err(|e| e.to_string())?,
                status_code: r.status_code as u16,
            })
        }
        T::UrlRewrite => {
            let r = f.url_rewrite.as_ref().ok_or_else(missing)?;
            FilterRec::Rewrite(RewriteRec {
                hostname: r.hostname.clone(),
                path: r.path.as_ref().map(path_modifier).transpose()?,
            })
        }
        T::RequestMirror => {
            let m = f.request_mirror.as_ref().ok_or_else(missing)?;
            let b = &m.backend_ref;
            let target = backend_target(
                route_ns,
                &b.group,
                &b.kind,
                &b.name,
                b.namespace.as_deref(),
                b.port,
            )
            .map_err(|e| prefixed("requestMirror.backendRef", e))?;
            let fraction_ppm = match (m.percent, &m.fraction) {
                (Some(_), Some(_)) => {
                    return Err("requestMirror: only one of percent and fraction may be set".into());
                }
                (Some(p), None) => match u32::try_from(p) {
                    Ok(p) if p <= 100 => p * 10_000,
                    _ => return Err(format!("requestMirror.percent {p} is not in 0-100")),
                },
                (None, Some(fr)) => {
                    if fr.denominator < 1 || fr.numerator < 0 || fr.numerator > fr.denominator {
                        return Err(format!(
                            "requestMirror.fraction {}/{} is not a fraction in [0, 1]",
                            fr.numerator, fr.denominator
                        ));
                    }
                    // 0 <= numerator <= denominator, so the quotient is at most 1_000_000.
                    (fr.numerator as u64 * 1_000_000 / fr.denominator as u64) as u32
                }
                (None, None) => 1_000_000,
            };
            FilterRec::Mirror(MirrorRec {
                target,
                fraction_ppm,
            })
        }
        T::ExtensionRef => {
            let e = f.extension_ref.as_ref().ok_or_else(missing)?;
            FilterRec::Extension {
                group: e.group.clone(),
                kind: e.kind.clone(),
                name: Sym::new(&e.name),
            }
        }
        T::Cors => {
            let c = f.cors.as_ref().ok_or_else(missing)?;
            FilterRec::Cors(CorsRec {
                allow_origins: c.allow_origins.clone(),
                allow_credentials: c.allow_credentials.unwrap_or(false),
                allow_methods: c.allow_methods.clone(),
                allow_headers: c.allow_headers.clone(),
                expose_headers: c.expose_headers.clone(),
                max_age_s: c.max_age,
            })
        }
    })
}

fn header_mods(h: &HTTPHeaderFilter) -> HeaderMods {
    let pairs = |v: &[sluice_crds::gateway_api::HTTPHeader]| {
        v.iter()
            .map(|h| (h.name.clone(), h.value.clone()))
            .collect()
    };
    HeaderMods {
        set: pairs(&h.set),
        add: pairs(&h.add),
        remove: h.remove.clone(),
    }
}

fn path_modifier(p: &HTTPPathModifier) -> Result<PathModifier, String> {
    match (p.type_, &p.replace_full_path, &p.replace_prefix_match) {
        (HTTPPathModifierType::ReplaceFullPath, Some(to), None) => {
            Ok(PathModifier::ReplaceFullPath(to.clone()))
        }
        (HTTPPathModifierType::ReplacePrefixMatch, None, Some(to)) => {
            Ok(PathModifier::ReplacePrefixMatch(to.clone()))
        }
        (HTTPPathModifierType::ReplaceFullPath, _, _) => {
            Err("path type ReplaceFullPath needs replaceFullPath and only it".into())
        }
        (HTTPPathModifierType::ReplacePrefixMatch, _, _) => {
            Err("path type ReplacePrefixMatch needs replacePrefixMatch and only it".into())
        }
    }
}

/// What a backendRef or mirror points at, namespace defaulted to the route's.
fn backend_target(
    route_ns: &str,
    group: &str,
    kind: &str,
    name: &str,
    namespace: Option<&str>,
    port_value: Option<i32>,
) -> Result<BackendTarget, String> {
    let key = ObjectKey::new(namespace.unwrap_or(route_ns), name);
    Ok(match (group, kind) {
        ("" | "core", "Service") => BackendTarget::Service {
            key,
            port: port_value
                .map(|p| port(p, || "port".into()))
                .transpose()
                .map_err(|e| e.to_string())?,
        },
        (KGATEWAY_GROUP, "Backend") => BackendTarget::Backend { key },
        _ => BackendTarget::Unsupported {
            group: group.to_owned(),
            kind: kind.to_owned(),
            key,
        },
    })
}

fn lower_backend_ref(
    route_ns: &str,
    i: usize,
    b: &HTTPBackendRef,
    defect: &mut Defect,
) -> BackendRefRec {
    let field = format!("backendRefs[{i}]");
    let target = match backend_target(
        route_ns,
        &b.group,
        &b.kind,
        &b.name,
        b.namespace.as_deref(),
        b.port,
    ) {
        Ok(t) => t,
        Err(e) => {
            defect.note(|| prefixed(&field, e));
            // Keep the reference (without its impossible port) so status can still name it.
            BackendTarget::Service {
                key: ObjectKey::new(b.namespace.as_deref().unwrap_or(route_ns), &b.name),
                port: None,
            }
        }
    };
    let weight = u32::try_from(b.weight).unwrap_or_else(|_| {
        defect.note(|| format!("{field}.weight {} is negative", b.weight));
        0
    });
    let mut filters = Vec::new();
    for (j, f) in b.filters.iter().enumerate() {
        let here = format!("{field}.filters[{j}]");
        match lower_filter(route_ns, f) {
            Ok(f @ (FilterRec::RequestHeaders(_) | FilterRec::ResponseHeaders(_))) => {
                filters.push(f)
            }
            Ok(_) => defect.note(|| {
                format!(
                    "{here}: filter type {} is not supported on a backendRef",
                    type_name(f.type_)
                )
            }),
            Err(e) => defect.note(|| prefixed(&here, e)),
        }
    }
    if let Some(t) = repeated_type(&b.filters) {
        defect.note(|| {
            format!(
                "{field}: filter type {} appears more than once",
                type_name(t)
            )
        });
    }
    BackendRefRec {
        target,
        weight,
        filters,
    }
}
