//! kgateway policy kinds → [`PolicyRec`]: targets, priority, and for a TrafficPolicy each
//! sub-policy lowered, refused with a reason (the field stays without effect, and the status
//! says so), or — for a security sub-policy sluice cannot enforce — turned into a deny, so its
//! routes answer 500 rather than being served unprotected.
//!
//! The kinds sluice does not translate yet (ListenerPolicy, HTTPListenerPolicy,
//! BackendConfigPolicy, GatewayExtension, GatewayParameters) lower to a record whose problems
//! name every field they set, so their status and `translate` say so.

use serde::Serialize;
use sluice_crds::gateway_api::LocalPolicyTargetReferenceWithSectionName;
use sluice_crds::k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use sluice_crds::kgateway::{
    HeaderFilter, LocalPolicyTargetReference, LocalPolicyTargetSelectorWithSectionName,
    RetryOnCondition, TrafficPolicy,
};

use super::{generation_of, key_of};
use crate::ir::{
    ApiKeySourceIr, Codec, FilterKind, HttpFilterIr, InternalRedirectIr, OriginMatchHow,
    OriginMatchIr, RetryIr, RouteTracingIr, TraceTagIr, TraceTagValue,
};
use crate::model::{
    CorsRec, HeaderMods, PolicyKind, PolicyProblem, PolicyRec, PolicyRetry, PolicySelector,
    PolicyTarget, SecretSource, SecretUse, SecretWant, Sym, TargetKind, Toggle, TrafficRec,
    check_htpasswd,
};

/// The annotation ordering policies inside one attachment level (higher first).
pub const POLICY_WEIGHT_ANNOTATION: &str = "kgateway.dev/policy-weight";

/// The TrafficPolicy fields whose absence would leave routes open: sluice answers 500 on the
/// routes they reach until it enforces them.
pub const SECURITY_FIELDS: [&str; 8] = [
    "extAuth",
    "jwtAuth",
    "oauth2",
    "basicAuth",
    "apiKeyAuth",
    "rbac",
    "csrf",
    "acl",
];

pub(super) fn weight(meta: &ObjectMeta) -> (i32, Option<PolicyProblem>) {
    let Some(v) = meta
        .annotations
        .as_ref()
        .and_then(|a| a.get(POLICY_WEIGHT_ANNOTATION))
    else {
        return (0, None);
    };
    match v.trim().parse::<i32>() {
        Ok(w) => (w, None),
        Err(_) => (
            0,
            Some(PolicyProblem {
                field: format!("metadata.annotations[{POLICY_WEIGHT_ANNOTATION}]"),
                message: format!("{v:?} is not an integer; weight 0 is used"),
            }),
        ),
    }
}

/// `targetRefs` with `sectionName`.
pub fn targets(refs: &[LocalPolicyTargetReferenceWithSectionName]) -> Vec<PolicyTarget> {
    refs.iter()
        .map(|r| PolicyTarget {
            kind: TargetKind::of(&r.group, &r.kind),
            name: Sym::new(&r.name),
            section: r.section_name.clone(),
        })
        .collect()
}

/// `targetRefs` without `sectionName`.
pub fn local_targets(refs: &[LocalPolicyTargetReference]) -> Vec<PolicyTarget> {
    refs.iter()
        .map(|r| PolicyTarget {
            kind: TargetKind::of(&r.group, &r.kind),
            name: Sym::new(&r.name),
            section: None,
        })
        .collect()
}

pub(super) fn selectors(sel: &[LocalPolicyTargetSelectorWithSectionName]) -> Vec<PolicySelector> {
    sel.iter()
        .map(|s| PolicySelector {
            kind: TargetKind::of(&s.group, &s.kind),
            labels: s
                .match_labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            section: s.section_name.clone(),
        })
        .collect()
}

/// The record of a policy-like object sluice does not translate yet: every spec field it
/// sets is a problem naming the kind.
pub fn lower_unsupported_policy<S: Serialize>(
    kind: PolicyKind,
    meta: &ObjectMeta,
    spec: &S,
    targets: Vec<PolicyTarget>,
) -> PolicyRec {
    let fields: Vec<String> = match serde_json::to_value(spec) {
        Ok(serde_json::Value::Object(m)) => m
            .keys()
            .filter(|k| !matches!(k.as_str(), "targetRefs" | "targetSelectors"))
            .map(|k| format!("spec.{k}"))
            .collect(),
        _ => Vec::new(),
    };
    let what = if fields.is_empty() {
        "spec".to_string()
    } else {
        fields.join(", ")
    };
    let (weight, _) = weight(meta);
    PolicyRec {
        kind,
        key: key_of(meta),
        generation: generation_of(meta),
        created: created(meta),
        weight,
        targets,
        selectors: Vec::new(),
        traffic: None,
        listener: None,
        problems: vec![PolicyProblem {
            field: "spec".into(),
            message: format!(
                "sluice does not translate {} yet: {what} has no effect",
                kind.as_str()
            ),
        }],
        secrets: Vec::new(),
    }
}

pub(super) fn created(meta: &ObjectMeta) -> i64 {
    meta.creation_timestamp
        .as_ref()
        .map_or(0, |t| t.0.as_second())
}

/// A TrafficPolicy.
pub fn lower_traffic_policy(p: &TrafficPolicy) -> PolicyRec {
    let spec = &p.spec;
    let (weight, weight_problem) = weight(&p.metadata);
    let mut problems: Vec<PolicyProblem> = weight_problem.into_iter().collect();
    let mut problem = |field: &str, message: String| {
        problems.push(PolicyProblem {
            field: format!("spec.{field}"),
            message,
        })
    };
    let mut t = TrafficRec::default();
    let mut secret_uses: Vec<SecretUse> = Vec::new();

    if let Some(to) = &spec.timeouts {
        let mut dur = |field: &str, v: &Option<String>| {
            v.as_ref().and_then(|s| match parse_go_duration_ms(s) {
                Ok(ms) => Some(ms),
                Err(e) => {
                    problem(&format!("timeouts.{field}"), e);
                    None
                }
            })
        };
        t.timeout_ms = dur("request", &to.request);
        t.stream_idle_ms = dur("streamIdle", &to.stream_idle);
    }
    if let Some(r) = &spec.retry {
        let per_try = r.per_try_timeout.as_ref().and_then(|s| {
            parse_go_duration_ms(s)
                .map_err(|e| problem("retry.perTryTimeout", e))
                .ok()
        });
        let backoff = r.backoff_base_interval.as_ref().and_then(|s| {
            parse_go_duration_ms(s)
                .map_err(|e| problem("retry.backoffBaseInterval", e))
                .ok()
        });
        let codes: Vec<u16> = r
            .status_codes
            .iter()
            .filter_map(|c| u16::try_from(*c).ok().filter(|c| (100..600).contains(c)))
            .collect();
        if codes.len() != r.status_codes.len() {
            problem(
                "retry.statusCodes",
                "status codes must be 100–599; the others are left out".into(),
            );
        }
        if !r.retry_host_predicates.is_empty() {
            problem(
                "retry.retryHostPredicates",
                "not supported by sluice yet".into(),
            );
        }
        let attempts = r.attempts.unwrap_or(1);
        t.retry = Some(PolicyRetry {
            retry: RetryIr {
                codes,
                attempts: u32::try_from(attempts).ok(),
                backoff_ms: Some(backoff.unwrap_or(25)),
                on: r
                    .retry_on
                    .iter()
                    .map(|c| retry_on(*c).to_string())
                    .collect(),
            },
            per_try_timeout_ms: per_try,
        });
    }
    if let Some(c) = &spec.cors {
        t.cors = Some(if c.disable.is_some() {
            Toggle::Off
        } else {
            Toggle::On(CorsRec {
                allow_origins: c.allow_origins.clone(),
                allow_credentials: c.allow_credentials.unwrap_or(false),
                allow_methods: c.allow_methods.clone(),
                allow_headers: c.allow_headers.clone(),
                expose_headers: c.expose_headers.clone(),
                max_age_s: c.max_age.unwrap_or(5),
            })
        });
    }
    if let Some(h) = &spec.header_modifiers {
        let ns = p.metadata.namespace.as_deref().unwrap_or("default");
        let mut mods = |field: &str, f: &Option<HeaderFilter>| {
            f.as_ref().map(|f| {
                header_mods(
                    f,
                    (&format!("headerModifiers.{field}"), field == "response", ns),
                    &mut problem,
                    &mut secret_uses,
                )
            })
        };
        t.request_headers = mods("request", &h.request);
        t.response_headers = mods("response", &h.response);
        if h.filter_stage.is_some() {
            problem(
                "headerModifiers.filterStage",
                "not supported by sluice yet; the edits apply at the route".into(),
            );
        }
    }
    t.auto_host_rewrite = spec.auto_host_rewrite;
    if let Some(rw) = spec
        .url_rewrite
        .as_ref()
        .and_then(|u| u.path_regex.as_ref())
    {
        match regex_syntax_ok(&rw.pattern) {
            Ok(()) => t.path_regex = Some((rw.pattern.clone(), rw.substitution.clone())),
            Err(e) => problem("urlRewrite.pathRegex.pattern", e),
        }
    }

    let json = serde_json::to_value(spec).unwrap_or_default();
    let disabled = |v: &serde_json::Value| v.get("disable").is_some_and(|d| !d.is_null());
    // Sub-policies served by an HTTP filter.
    if let Some(local) = spec.rate_limit.as_ref().and_then(|r| r.local.as_ref()) {
        if local.token_bucket.is_none() {
            // kgateway: an empty `local: {}` switches an inherited local rate limit off.
            t.filters.insert(FilterKind::LocalRateLimit, Toggle::Off);
        } else if let Some(f) = local_rate_limit(local, &mut problem) {
            t.filters.insert(FilterKind::LocalRateLimit, Toggle::On(f));
        }
    }
    if let Some(v) = json.get("faultInjection").filter(|v| !v.is_null()) {
        if disabled(v) {
            t.filters.insert(FilterKind::Fault, Toggle::Off);
        } else if let Some(f) = fault(v, &mut problem) {
            t.filters.insert(FilterKind::Fault, Toggle::On(f));
        }
    }
    if let Some(b) = &spec.buffer {
        if b.disable.is_some() {
            t.filters.insert(FilterKind::Buffer, Toggle::Off);
        } else {
            match b.max_request_size.as_ref().map(quantity_bytes) {
                Some(Ok(max_bytes)) => {
                    t.filters.insert(
                        FilterKind::Buffer,
                        Toggle::On(HttpFilterIr::Buffer { max_bytes }),
                    );
                }
                Some(Err(e)) => problem("buffer.maxRequestSize", e),
                None => problem("buffer.maxRequestSize", "required".into()),
            }
        }
    }
    if let Some(c) = spec.compression.as_ref().filter(|c| !c.is_null()) {
        for (field, kind) in [
            ("responseCompression", FilterKind::Compress),
            ("requestDecompression", FilterKind::Decompress),
        ] {
            let Some(v) = c.get(field).filter(|v| !v.is_null()) else {
                continue;
            };
            let field = format!("compression.{field}");
            if disabled(v) {
                t.filters.insert(kind, Toggle::Off);
            } else if let Some(libraries) = codecs(v, &field, &mut problem) {
                let f = match kind {
                    FilterKind::Compress => HttpFilterIr::Compress { libraries },
                    _ => HttpFilterIr::Decompress { libraries },
                };
                t.filters.insert(kind, Toggle::On(f));
            }
        }
    }
    if let Some(tr) = &spec.transformation {
        let mut dir = |which: &str, d: &Option<sluice_crds::kgateway::Transform>| {
            d.as_ref()
                .map(|d| literal_transform(d, &format!("transformation.{which}"), &mut problem))
                .unwrap_or_default()
        };
        let req = dir("request", &tr.request);
        let resp = dir("response", &tr.response);
        if req != HeaderMods::default() || resp != HeaderMods::default() {
            t.transformation = Some((req, resp));
        }
    }
    if let Some(prefix) = &spec.stat_prefix {
        if prefix.trim().is_empty() {
            problem("statPrefix", "is empty; it has no effect".into());
        } else {
            t.stat_prefix = Some(prefix.clone());
        }
    }
    if let Some(v) = spec.tracing.as_ref().filter(|v| !v.is_null()) {
        t.tracing = Some(if disabled(v) {
            RouteTracingIr {
                client_pct: Some(0),
                random_pct: Some(0),
                overall_pct: Some(0),
                tags: Vec::new(),
            }
        } else {
            tracing(v, &mut problem)
        });
    }
    if let Some(v) = &spec.internal_redirect {
        match internal_redirect(v) {
            Ok(ir) => t.internal_redirect = Some(ir),
            Err((field, e)) => problem(&field, e),
        }
    }
    // rbac: CEL expressions Envoy's RBAC filter evaluates; one that does not parse fails closed.
    if let Some(v) = json.get("rbac").filter(|v| !v.is_null()) {
        if disabled(v) {
            t.filters.insert(FilterKind::Rbac, Toggle::Off);
            t.deny.insert("rbac".into(), Toggle::Off);
        } else {
            match rbac(v) {
                Ok(f) => {
                    t.filters.insert(FilterKind::Rbac, Toggle::On(f));
                }
                Err((field, e)) => {
                    let msg = format!("{e}; the routes it reaches answer 500");
                    problem(&field, msg.clone());
                    t.deny.insert("rbac".into(), Toggle::On(msg));
                }
            }
        }
    }
    // CSRF is enforced by Envoy's csrf filter; an invalid one fails closed.
    if let Some(c) = &spec.csrf {
        match csrf(c) {
            Ok(f) => {
                t.filters.insert(FilterKind::Csrf, Toggle::On(f));
            }
            Err((field, e)) => {
                let msg = format!("{e}; the routes it reaches answer 500");
                problem(&field, msg.clone());
                t.deny.insert("csrf".into(), Toggle::On(msg));
            }
        }
    }
    // basicAuth with inline users is enforced by Envoy's basic_auth filter; from a Secret it
    // is not resolved yet, so it fails closed below like the other security sub-policies.
    let mut security: Vec<&str> = SECURITY_FIELDS.to_vec();
    security.retain(|f| !matches!(*f, "csrf" | "rbac"));
    if let Some(v) = json.get("basicAuth").filter(|v| !v.is_null())
        && v.get("secretRef").is_none_or(serde_json::Value::is_null)
        && !disabled(v)
    {
        match basic_auth_users(v) {
            Ok(htpasswd) => {
                t.filters.insert(
                    FilterKind::BasicAuth,
                    Toggle::On(HttpFilterIr::BasicAuth { htpasswd }),
                );
                security.retain(|f| *f != "basicAuth");
            }
            Err(e) => {
                let msg = format!("{e}; the routes it reaches answer 500");
                problem("basicAuth.users", msg.clone());
                t.deny.insert("basicAuth".into(), Toggle::On(msg));
                security.retain(|f| *f != "basicAuth");
            }
        }
    }
    if json.get("basicAuth").is_some_and(disabled) {
        t.filters.insert(FilterKind::BasicAuth, Toggle::Off);
    }
    // Sub-policies whose values live in Secrets: recorded here, resolved in the dataflow
    // against the Secrets they name (`PolicyRec::with_secrets`).
    let ns = p.metadata.namespace.as_deref().unwrap_or("default");
    if let Some(v) = json
        .get("basicAuth")
        .filter(|v| !v.is_null() && !disabled(v))
        && let Some(r) = v.get("secretRef").filter(|r| !r.is_null())
    {
        security.retain(|f| *f != "basicAuth");
        match secret_ref(r, ns) {
            Ok(name) => secret_uses.push(SecretUse {
                field: "basicAuth.secretRef".into(),
                source: SecretSource::Named(name),
                want: SecretWant::Htpasswd {
                    key: r
                        .get("key")
                        .and_then(|k| k.as_str())
                        .unwrap_or(".htpasswd")
                        .to_string(),
                },
            }),
            Err(e) => {
                let msg = format!("{e}; the routes it reaches answer 500");
                problem("basicAuth.secretRef", msg.clone());
                t.deny.insert("basicAuth".into(), Toggle::On(msg));
            }
        }
    }
    if let Some(v) = json.get("apiKeyAuth").filter(|v| !v.is_null()) {
        if disabled(v) {
            t.filters.insert(FilterKind::ApiKeyAuth, Toggle::Off);
        } else {
            security.retain(|f| *f != "apiKeyAuth");
            match api_key_auth(v, ns) {
                Ok(u) => secret_uses.push(u),
                Err((field, e)) => {
                    let msg = format!("{e}; the routes it reaches answer 500");
                    problem(&field, msg.clone());
                    t.deny.insert("apiKeyAuth".into(), Toggle::On(msg));
                }
            }
        }
    }
    // Security sub-policies: `disable: {}` switches an inherited one off; anything else is
    // not enforced by sluice yet, so its routes are closed.
    for field in security {
        let Some(v) = json.get(field).filter(|v| !v.is_null()) else {
            continue;
        };
        let toggle = if v.get("disable").is_some_and(|d| !d.is_null()) {
            Toggle::Off
        } else {
            let msg = format!(
                "sluice does not enforce {field} yet; the routes it reaches answer 500 \
                 rather than be served unprotected"
            );
            problem(field, msg.clone());
            Toggle::On(msg)
        };
        t.deny.insert(field.to_string(), toggle);
    }
    // The others: refused, without effect.
    for (field, set) in [
        ("extProc", spec.ext_proc.is_some()),
        (
            "rateLimit.global",
            spec.rate_limit.as_ref().is_some_and(|r| r.global.is_some()),
        ),
    ] {
        if set {
            problem(
                field,
                "not supported by sluice yet; it has no effect".into(),
            );
        }
    }

    let targets = targets(&spec.target_refs);
    let selectors = selectors(&spec.target_selectors);
    for (i, t) in targets.iter().enumerate() {
        if let TargetKind::Other { group, kind } = &t.kind {
            problem(
                &format!("targetRefs[{i}]"),
                format!("sluice does not attach TrafficPolicies to {group}/{kind} yet"),
            );
        }
    }
    // kgateway's API refuses a statPrefix on anything but routes; here it says so.
    let route_only = |k: &TargetKind| *k == TargetKind::HTTPRoute;
    if t.stat_prefix.is_some()
        && !targets
            .iter()
            .map(|t| &t.kind)
            .chain(selectors.iter().map(|s| &s.kind))
            .all(route_only)
    {
        problem(
            "statPrefix",
            "applies to HTTPRoute targets only; on a Gateway it has no effect".into(),
        );
    }
    for (i, s) in selectors.iter().enumerate() {
        if s.kind != TargetKind::HTTPRoute {
            let (group, kind) = s.kind.group_kind();
            problem(
                &format!("targetSelectors[{i}]"),
                format!("sluice selects only HTTPRoutes by label yet, not {group}/{kind}"),
            );
        }
    }
    PolicyRec {
        kind: PolicyKind::TrafficPolicy,
        key: key_of(&p.metadata),
        generation: generation_of(&p.metadata),
        created: created(&p.metadata),
        weight,
        targets,
        selectors,
        traffic: (!t.is_empty()).then(|| Box::new(t)),
        listener: None,
        problems,
        secrets: secret_uses,
    }
}

/// A `secretRef`'s name, which must be in the policy's namespace.
fn secret_ref(r: &serde_json::Value, ns: &str) -> Result<Sym, String> {
    let name = r
        .get("name")
        .and_then(|n| n.as_str())
        .filter(|n| !n.is_empty())
        .ok_or("secretRef needs a name")?;
    match r.get("namespace").and_then(|n| n.as_str()) {
        Some(other) if other != ns => Err(format!(
            "sluice reads Secrets of the policy's namespace only, not {other:?}"
        )),
        _ => Ok(Sym::new(name)),
    }
}

/// `apiKeyAuth`: where keys come from (`secretRef` or `secretSelector`), where requests
/// carry them (`keySources`, header `api-key` when unset), and what travels on.
fn api_key_auth(v: &serde_json::Value, ns: &str) -> Result<SecretUse, (String, String)> {
    let source = match (
        v.get("secretRef").filter(|r| !r.is_null()),
        v.get("secretSelector").filter(|r| !r.is_null()),
    ) {
        (Some(r), None) => SecretSource::Named(
            secret_ref(r, ns).map_err(|e| ("apiKeyAuth.secretRef".to_string(), e))?,
        ),
        (None, Some(sel)) => {
            let labels: Vec<(String, String)> = sel
                .get("matchLabels")
                .and_then(|m| m.as_object())
                .into_iter()
                .flatten()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect();
            if labels.is_empty() {
                return Err((
                    "apiKeyAuth.secretSelector".into(),
                    "needs matchLabels".into(),
                ));
            }
            SecretSource::Selected(labels)
        }
        _ => {
            return Err((
                "apiKeyAuth".into(),
                "needs exactly one of secretRef and secretSelector".into(),
            ));
        }
    };
    let text = |x: &serde_json::Value, k: &str| {
        x.get(k)
            .and_then(|s| s.as_str())
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let mut sources: Vec<ApiKeySourceIr> = v
        .get("keySources")
        .and_then(|k| k.as_array())
        .into_iter()
        .flatten()
        .map(|k| ApiKeySourceIr {
            header: text(k, "header"),
            query: text(k, "query"),
            cookie: text(k, "cookie"),
        })
        .filter(|k| *k != ApiKeySourceIr::default())
        .collect();
    if sources.is_empty() {
        sources.push(ApiKeySourceIr {
            header: Some("api-key".into()),
            ..Default::default()
        });
    }
    Ok(SecretUse {
        field: "apiKeyAuth".into(),
        source,
        want: SecretWant::ApiKeys {
            sources,
            forward: v
                .get("forwardCredential")
                .and_then(|f| f.as_bool())
                .unwrap_or(false),
            client_id_header: text(v, "clientIdHeader"),
        },
    })
}

/// A `headerModifiers` direction; a value from a Secret becomes a [`SecretUse`] (its header
/// joins the inline ones once the Secret resolves).
fn header_mods(
    f: &HeaderFilter,
    (field, response, ns): (&str, bool, &str),
    problem: &mut impl FnMut(&str, String),
    uses: &mut Vec<SecretUse>,
) -> HeaderMods {
    let mut pairs = |list: &[sluice_crds::kgateway::HeaderValue], which: &str| {
        let mut out = Vec::new();
        for (i, h) in list.iter().enumerate() {
            match (&h.name, &h.value, &h.secret_ref) {
                (Some(n), Some(v), None) => out.push((n.clone(), v.clone())),
                (Some(n), None, Some(r)) => {
                    let at = format!("{field}.{which}[{i}].secretRef");
                    match r.namespace.as_deref().filter(|x| *x != ns) {
                        Some(other) => problem(
                            &at,
                            format!(
                                "sluice reads Secrets of the policy's namespace only, not \
                                 {other:?}; the header is left out"
                            ),
                        ),
                        None => uses.push(SecretUse {
                            field: at,
                            source: SecretSource::Named(Sym::new(&r.name)),
                            want: SecretWant::Header {
                                response,
                                add: which == "add",
                                name: n.clone(),
                                key: r.key.clone(),
                            },
                        }),
                    }
                }
                _ => problem(
                    &format!("{field}.{which}[{i}]"),
                    "needs a name and a value".into(),
                ),
            }
        }
        out
    };
    HeaderMods {
        set: pairs(&f.set, "set"),
        add: pairs(&f.add, "add"),
        remove: f.remove.clone(),
    }
}

/// The part of a transformation stock Envoy serves faithfully: headers set, added and
/// removed with literal values. Templates (kgateway renders them in its own Envoy module),
/// bodies and dynamic metadata are refused, naming the entry.
fn literal_transform(
    d: &sluice_crds::kgateway::Transform,
    field: &str,
    problem: &mut impl FnMut(&str, String),
) -> HeaderMods {
    let is_template = |v: &str| v.contains("{{") || v.contains("{%") || v.contains("{#");
    let mut pairs = |list: &[sluice_crds::kgateway::HeaderTransformation], which: &str| {
        let mut out = Vec::new();
        for (i, h) in list.iter().enumerate() {
            let v = h.value.clone().unwrap_or_default();
            if is_template(&v) {
                problem(
                    &format!("{field}.{which}[{i}].value"),
                    "a template: sluice does not render transformation templates; the header \
                     is left out"
                        .into(),
                );
            } else if h.name.is_empty() {
                problem(&format!("{field}.{which}[{i}].name"), "required".into());
            } else {
                out.push((h.name.clone(), v));
            }
        }
        out
    };
    let mods = HeaderMods {
        set: pairs(&d.set, "set"),
        add: pairs(&d.add, "add"),
        remove: d.remove.clone(),
    };
    if d.body.is_some() {
        problem(
            &format!("{field}.body"),
            "body transformations are not supported by sluice; the body is left as it is".into(),
        );
    }
    if !d.dynamic_metadata.is_empty() {
        problem(
            &format!("{field}.dynamicMetadata"),
            "not supported by sluice; no metadata is set".into(),
        );
    }
    mods
}

/// A route's tracing override: samplings in percent and `attributes` as custom tags.
fn tracing(v: &serde_json::Value, problem: &mut impl FnMut(&str, String)) -> RouteTracingIr {
    let mut pct = |field: &str| {
        let x = v.get(field).filter(|x| !x.is_null())?;
        match x.as_f64() {
            Some(p) if (0.0..=100.0).contains(&p) && p.fract() == 0.0 => Some(p as u32),
            _ => {
                problem(
                    &format!("tracing.{field}"),
                    format!("{x} is not a whole percentage 0–100; Envoy's default is used"),
                );
                None
            }
        }
    };
    let mut out = RouteTracingIr {
        client_pct: pct("clientSampling"),
        random_pct: pct("randomSampling"),
        overall_pct: pct("overallSampling"),
        tags: Vec::new(),
    };
    let str_of = |a: &serde_json::Value, path: [&str; 2]| {
        a.get(path[0])
            .and_then(|o| o.get(path[1]))
            .and_then(|s| s.as_str())
            .map(str::to_string)
    };
    for (i, a) in v
        .get("attributes")
        .and_then(|a| a.as_array())
        .into_iter()
        .flatten()
        .enumerate()
    {
        let name = a.get("name").and_then(|n| n.as_str()).unwrap_or_default();
        let value = if let Some(lit) = str_of(a, ["literal", "value"]) {
            Some(TraceTagValue::Literal(lit))
        } else if let Some(h) = str_of(a, ["requestHeader", "name"]) {
            Some(TraceTagValue::RequestHeader {
                name: h,
                default: str_of(a, ["requestHeader", "defaultValue"]),
            })
        } else {
            str_of(a, ["environment", "name"]).map(|e| TraceTagValue::Environment {
                name: e,
                default: str_of(a, ["environment", "defaultValue"]),
            })
        };
        match value {
            Some(value) if !name.is_empty() => out.tags.push(TraceTagIr {
                tag: name.to_string(),
                value,
            }),
            _ => problem(
                &format!("tracing.attributes[{i}]"),
                "needs a name and a literal, requestHeader or environment value; sluice \
                 does not tag spans with metadata yet, so it is left out"
                    .into(),
            ),
        }
    }
    out
}

/// `libraries` of a compression direction (gzip when unset), in the user's order.
fn codecs(
    v: &serde_json::Value,
    field: &str,
    problem: &mut impl FnMut(&str, String),
) -> Option<Vec<Codec>> {
    let Some(list) = v.get("libraries").filter(|l| !l.is_null()) else {
        return Some(vec![Codec::Gzip]);
    };
    let mut out = Vec::new();
    for (i, l) in list.as_array().into_iter().flatten().enumerate() {
        match l.as_str().and_then(Codec::parse) {
            Some(c) if !out.contains(&c) => out.push(c),
            Some(_) => {}
            None => problem(
                &format!("{field}.libraries[{i}]"),
                format!("{l} is not one of Gzip, Brotli, Zstd; it is left out"),
            ),
        }
    }
    if out.is_empty() {
        problem(
            &format!("{field}.libraries"),
            "names no library sluice knows; nothing is compressed".into(),
        );
        return None;
    }
    Some(out)
}

fn local_rate_limit(
    l: &sluice_crds::kgateway::LocalRateLimitPolicy,
    problem: &mut impl FnMut(&str, String),
) -> Option<HttpFilterIr> {
    let Some(b) = &l.token_bucket else {
        problem("rateLimit.local.tokenBucket", "required".into());
        return None;
    };
    let fill_interval_ms = match parse_go_duration_ms(&b.fill_interval) {
        Ok(ms) if ms >= 50 => ms,
        Ok(_) => {
            problem(
                "rateLimit.local.tokenBucket.fillInterval",
                "must be at least 50ms".into(),
            );
            return None;
        }
        Err(e) => {
            problem("rateLimit.local.tokenBucket.fillInterval", e);
            return None;
        }
    };
    let pct = |v: Option<i32>, field: &str, problem: &mut dyn FnMut(&str, String)| match v {
        None => 100,
        Some(p) if (0..=100).contains(&p) => p as u32,
        Some(p) => {
            problem(field, format!("{p} is not a percentage; 100 is used"));
            100
        }
    };
    Some(HttpFilterIr::LocalRateLimit {
        max_tokens: u32::try_from(b.max_tokens.max(1)).unwrap_or(1),
        tokens_per_fill: u32::try_from(b.tokens_per_fill.unwrap_or(1).max(1)).unwrap_or(1),
        fill_interval_ms,
        enabled_pct: pct(l.percent_enabled, "rateLimit.local.percentEnabled", problem),
        enforced_pct: pct(
            l.percent_enforced,
            "rateLimit.local.percentEnforced",
            problem,
        ),
    })
}

/// A percentage (`0`–`100`, fractions allowed) in parts per million; absent: all requests.
fn ppm(v: &serde_json::Value) -> u32 {
    v.as_f64().map_or(1_000_000, |p| {
        (p.clamp(0.0, 100.0) * 10_000.0).round() as u32
    })
}

fn fault(v: &serde_json::Value, problem: &mut impl FnMut(&str, String)) -> Option<HttpFilterIr> {
    let delay = v.get("delay").filter(|d| !d.is_null());
    let abort = v.get("abort").filter(|a| !a.is_null());
    let rate = v.get("responseRateLimit").filter(|r| !r.is_null());
    let delay_ms = match delay.map(|d| d.get("fixedDelay").and_then(|f| f.as_str())) {
        Some(Some(s)) => match parse_go_duration_ms(s) {
            Ok(ms) => Some(ms),
            Err(e) => {
                problem("faultInjection.delay.fixedDelay", e);
                return None;
            }
        },
        Some(None) => {
            problem("faultInjection.delay.fixedDelay", "required".into());
            return None;
        }
        None => None,
    };
    let abort_status = match abort {
        Some(a) => match a.get("httpStatus").and_then(serde_json::Value::as_u64) {
            Some(s) if (200..600).contains(&s) => Some(s as u16),
            _ => {
                problem(
                    "faultInjection.abort",
                    "needs an httpStatus of 200–599 (grpcStatus is not supported by sluice                      yet)"
                        .into(),
                );
                return None;
            }
        },
        None => None,
    };
    let response_kbps = rate.and_then(|r| r.get("kbitsPerSecond").and_then(|k| k.as_u64()));
    if delay_ms.is_none() && abort_status.is_none() && response_kbps.is_none() {
        problem(
            "faultInjection",
            "needs a delay, an abort or a responseRateLimit".into(),
        );
        return None;
    }
    Some(HttpFilterIr::Fault {
        delay_ms,
        delay_ppm: delay.map_or(0, |d| ppm(&d["percentage"])),
        abort_status,
        abort_ppm: abort.map_or(0, |a| ppm(&a["percentage"])),
        response_kbps,
        max_active: v
            .get("maxActiveFaults")
            .and_then(serde_json::Value::as_u64)
            .and_then(|m| u32::try_from(m).ok()),
    })
}

fn internal_redirect(v: &serde_json::Value) -> Result<InternalRedirectIr, (String, String)> {
    let field = |f: &str| format!("internalRedirect.{f}");
    let mut codes = Vec::new();
    for c in v
        .get("redirectResponseCodes")
        .and_then(|c| c.as_array())
        .into_iter()
        .flatten()
    {
        match c.as_u64() {
            Some(c @ (301 | 302 | 303 | 307 | 308)) => codes.push(c as u16),
            _ => {
                return Err((
                    field("redirectResponseCodes"),
                    format!("{c} is not one of 301, 302, 303, 307, 308"),
                ));
            }
        }
    }
    let max = match v.get("maxRedirects") {
        None | Some(serde_json::Value::Null) => None,
        Some(m) => Some(
            m.as_u64()
                .and_then(|m| u32::try_from(m).ok())
                .ok_or_else(|| (field("maxRedirects"), format!("{m} is not a count")))?,
        ),
    };
    let copy_headers = v
        .get("responseHeadersToCopy")
        .and_then(|h| h.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|h| h.as_str())
                .map(str::to_ascii_lowercase)
                .collect()
        })
        .unwrap_or_default();
    Ok(InternalRedirectIr {
        codes,
        max,
        allow_cross_scheme: v
            .get("allowCrossSchemeRedirect")
            .and_then(|b| b.as_bool())
            .unwrap_or(false),
        copy_headers,
    })
}

fn rbac(v: &serde_json::Value) -> Result<HttpFilterIr, (String, String)> {
    let allow = match v.get("action").and_then(|a| a.as_str()) {
        None | Some("Allow") => true,
        Some("Deny") => false,
        Some(other) => {
            return Err((
                "rbac.action".into(),
                format!("{other:?} is neither Allow nor Deny"),
            ));
        }
    };
    let list = v
        .pointer("/policy/matchExpressions")
        .and_then(|l| l.as_array())
        .cloned()
        .unwrap_or_default();
    if list.is_empty() {
        return Err((
            "rbac.policy.matchExpressions".into(),
            "needs at least one CEL expression".into(),
        ));
    }
    let mut expressions = Vec::new();
    for (i, e) in list.iter().enumerate() {
        let field = format!("rbac.policy.matchExpressions[{i}]");
        let Some(src) = e.as_str() else {
            return Err((field, "not a string".into()));
        };
        match check_cel(src) {
            Ok(()) => expressions.push(src.to_string()),
            Err(err) => return Err((field, format!("not valid CEL: {err}"))),
        }
    }
    Ok(HttpFilterIr::Rbac { allow, expressions })
}

/// Whether `src` parses as CEL. The parser (ANTLR-generated) panics on some malformed input
/// instead of failing: that is caught, so a user's typo fails the policy, not sluice.
pub fn check_cel(src: &str) -> Result<(), String> {
    let parsed = std::panic::catch_unwind(|| {
        cel_parser::Parser::new()
            .parse(src)
            .map(|_| ())
            .map_err(|e| e.to_string())
    });
    parsed.unwrap_or_else(|_| Err("the CEL parser gave up on this expression".to_string()))
}

fn csrf(c: &sluice_crds::kgateway::CsrfPolicy) -> Result<HttpFilterIr, (String, String)> {
    let pct = |v: Option<i32>, field: &str| match v {
        None => Ok(None),
        Some(p) if (0..=100).contains(&p) => Ok(Some(p as u32)),
        Some(p) => Err((format!("csrf.{field}"), format!("{p} is not a percentage"))),
    };
    let enabled = pct(c.percentage_enabled, "percentageEnabled")?;
    let shadow = pct(c.percentage_shadowed, "percentageShadowed")?;
    let mut additional_origins = Vec::new();
    for (i, o) in c.additional_origins.iter().enumerate() {
        let field = format!("csrf.additionalOrigins[{i}]");
        let ignore_case = o
            .get("ignoreCase")
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        let found = [
            ("exact", OriginMatchHow::Exact),
            ("prefix", OriginMatchHow::Prefix),
            ("suffix", OriginMatchHow::Suffix),
            ("contains", OriginMatchHow::Contains),
            ("safeRegex", OriginMatchHow::Regex),
        ]
        .into_iter()
        .find_map(|(k, how)| o.get(k).and_then(|v| v.as_str()).map(|v| (how, v)));
        let Some((how, value)) = found else {
            return Err((
                field,
                "needs exact, prefix, suffix, contains or safeRegex".into(),
            ));
        };
        if how == OriginMatchHow::Regex {
            regex_syntax_ok(value).map_err(|e| (field.clone(), e))?;
        }
        additional_origins.push(OriginMatchIr {
            how,
            value: value.to_string(),
            ignore_case,
        });
    }
    Ok(HttpFilterIr::Csrf {
        // Neither given: enforced on every request (a policy that asks for CSRF protection
        // gets it).
        enabled_pct: enabled.unwrap_or(if shadow.is_some() { 0 } else { 100 }),
        shadow_pct: shadow.unwrap_or(0),
        additional_origins,
    })
}

/// `basicAuth.users`: htpasswd lines with SHA passwords, the only hash Envoy checks.
fn basic_auth_users(v: &serde_json::Value) -> Result<String, String> {
    let users: Vec<&str> = v
        .get("users")
        .and_then(serde_json::Value::as_array)
        .map(|a| a.iter().filter_map(serde_json::Value::as_str).collect())
        .unwrap_or_default();
    if users.is_empty() {
        return Err("needs users or a secretRef".into());
    }
    check_htpasswd(&users)
}

/// A Kubernetes quantity of bytes (`1024`, `64Ki`, `1Mi`, `2M`).
pub(super) fn quantity_bytes(
    q: &sluice_crds::k8s_openapi::apimachinery::pkg::util::intstr::IntOrString,
) -> Result<u64, String> {
    use sluice_crds::k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
    let s = match q {
        IntOrString::Int(i) => return u64::try_from(*i).map_err(|_| format!("{i} is negative")),
        IntOrString::String(s) => s.as_str(),
    };
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let n: u64 = s[..split]
        .parse()
        .map_err(|_| format!("{s:?} is not a quantity"))?;
    let mult: u64 = match &s[split..] {
        "" => 1,
        "k" => 1000,
        "M" => 1_000_000,
        "G" => 1_000_000_000,
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        _ => return Err(format!("{s:?} is not a quantity")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("{s:?} is too large"))
}

fn retry_on(c: RetryOnCondition) -> &'static str {
    use RetryOnCondition as R;
    match c {
        R::FiveXx => "5xx",
        R::GatewayError => "gateway-error",
        R::Reset => "reset",
        R::ResetBeforeRequest => "reset-before-request",
        R::ConnectFailure => "connect-failure",
        R::EnvoyRatelimited => "envoy-ratelimited",
        R::Retriable4xx => "retriable-4xx",
        R::RefusedStream => "refused-stream",
        R::RetriableStatusCodes => "retriable-status-codes",
        R::Http3PostConnectFailure => "http3-post-connect-failure",
        R::Cancelled => "cancelled",
        R::DeadlineExceeded => "deadline-exceeded",
        R::Internal => "internal",
        R::ResourceExhausted => "resource-exhausted",
        R::Unavailable => "unavailable",
    }
}

/// A regular expression Envoy (RE2) will take: checked with the `regex` crate's parser, whose
/// syntax RE2 shares for everything it accepts (no backreferences or lookaround).
fn regex_syntax_ok(pattern: &str) -> Result<(), String> {
    regex::Regex::new(pattern)
        .map(|_| ())
        .map_err(|e| format!("not a valid regular expression: {e}"))
}

/// A Kubernetes (Go) duration such as `1.5s`, `300ms`, `1m30s`, in milliseconds (rounded
/// down to whole milliseconds).
pub fn parse_go_duration_ms(s: &str) -> Result<u64, String> {
    let err = || format!("invalid duration {s:?}");
    if s == "0" {
        return Ok(0);
    }
    let mut rest = s;
    let mut total_ns: f64 = 0.0;
    if rest.is_empty() {
        return Err(err());
    }
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(err)?;
        if num_len == 0 {
            return Err(err());
        }
        let value: f64 = rest[..num_len].parse().map_err(|_| err())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let ns = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return Err(err()),
        };
        total_ns += value * ns;
        rest = &rest[unit_len..];
    }
    if !total_ns.is_finite() || total_ns > 1e18 {
        return Err(err());
    }
    Ok((total_ns / 1e6) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration_ms("1.5s"), Ok(1500));
        assert_eq!(parse_go_duration_ms("1m30s"), Ok(90_000));
        assert_eq!(parse_go_duration_ms("300ms"), Ok(300));
        assert_eq!(parse_go_duration_ms("0"), Ok(0));
        assert!(parse_go_duration_ms("5").is_err());
        assert!(parse_go_duration_ms("s").is_err());
        assert!(parse_go_duration_ms("1x").is_err());
    }
}
