//! One converter per HTTP filter a route can enable (`ir::HttpFilterIr`): its entry in every
//! listener's chain — present, disabled, so a route enables it with its own config and a
//! listener's bytes do not change when policies come and go — and its per-route config.

use envoy_types::pb::envoy::config::core::v3::{DataSource, RuntimeFractionalPercent, data_source};
use envoy_types::pb::envoy::config::rbac::v3::{
    Permission, Policy, Principal, Rbac as RbacRules, permission, principal, rbac as rbac_rules,
};
use envoy_types::pb::envoy::extensions::filters::common::fault::v3::{
    FaultDelay, FaultRateLimit, fault_delay, fault_rate_limit,
};
use envoy_types::pb::envoy::extensions::filters::http::basic_auth::v3::{
    BasicAuth, BasicAuthPerRoute,
};
use envoy_types::pb::envoy::extensions::filters::http::buffer::v3::{
    Buffer, BufferPerRoute, buffer_per_route,
};
use envoy_types::pb::envoy::extensions::filters::http::csrf::v3::CsrfPolicy;
use envoy_types::pb::envoy::extensions::filters::http::fault::v3::{
    FaultAbort, HttpFault, fault_abort,
};
use envoy_types::pb::envoy::extensions::filters::http::local_ratelimit::v3::LocalRateLimit;
use envoy_types::pb::envoy::extensions::filters::http::rbac::v3::{
    Rbac as RbacFilter, RbacPerRoute,
};
use envoy_types::pb::envoy::extensions::filters::network::http_connection_manager::v3::{
    HttpFilter, http_filter,
};
use envoy_types::pb::envoy::r#type::matcher::v3::{RegexMatcher, StringMatcher, string_matcher};
use envoy_types::pb::envoy::r#type::v3::{FractionalPercent, TokenBucket, fractional_percent};
use envoy_types::pb::google::protobuf::{Any as PbAny, UInt32Value};
use sluice_dataflow::ir::{FilterKind, HttpFilterIr, OriginMatchHow, OriginMatchIr};

use super::{duration_ms, pack};

/// Envoy's name of each filter.
pub fn name(kind: FilterKind) -> &'static str {
    match kind {
        FilterKind::Fault => "envoy.filters.http.fault",
        FilterKind::Rbac => "envoy.filters.http.rbac",
        FilterKind::Csrf => "envoy.filters.http.csrf",
        FilterKind::BasicAuth => "envoy.filters.http.basic_auth",
        FilterKind::LocalRateLimit => "envoy.filters.http.local_ratelimit",
        FilterKind::Buffer => "envoy.filters.http.buffer",
    }
}

const STAT_PREFIX: &str = "local_rate_limit";

/// The filter's entry in a listener's chain: disabled, with a config that does nothing.
pub fn chain_entry(kind: FilterKind) -> HttpFilter {
    let config = match kind {
        FilterKind::Fault => pack(&HttpFault::default()),
        FilterKind::Rbac => pack(&RbacFilter::default()),
        FilterKind::Csrf => pack(&CsrfPolicy {
            filter_enabled: Some(percent("csrf_enabled", 0)),
            ..Default::default()
        }),
        // Envoy requires users; nobody can match this one (no password hashes to it).
        FilterKind::BasicAuth => pack(&BasicAuth {
            users: Some(inline("sluice-disabled:{SHA}AAAAAAAAAAAAAAAAAAAAAAAAAAA=")),
            ..Default::default()
        }),
        FilterKind::LocalRateLimit => pack(&LocalRateLimit {
            stat_prefix: STAT_PREFIX.to_string(),
            ..Default::default()
        }),
        FilterKind::Buffer => pack(&Buffer {
            max_request_bytes: Some(UInt32Value { value: 1 << 20 }),
        }),
    };
    HttpFilter {
        name: name(kind).to_string(),
        config_type: Some(http_filter::ConfigType::TypedConfig(config)),
        disabled: true,
        ..Default::default()
    }
}

/// A route's config of one filter (which also enables it on the route).
pub fn per_route(f: &HttpFilterIr) -> (String, PbAny) {
    let config = match f {
        HttpFilterIr::Fault {
            delay_ms,
            delay_ppm,
            abort_status,
            abort_ppm,
            response_kbps,
            max_active,
        } => pack(&HttpFault {
            delay: delay_ms.map(|ms| FaultDelay {
                percentage: Some(per_million(*delay_ppm)),
                fault_delay_secifier: Some(fault_delay::FaultDelaySecifier::FixedDelay(
                    duration_ms(ms),
                )),
            }),
            abort: abort_status.map(|s| FaultAbort {
                percentage: Some(per_million(*abort_ppm)),
                error_type: Some(fault_abort::ErrorType::HttpStatus(u32::from(s))),
                ..Default::default()
            }),
            response_rate_limit: response_kbps.map(|kbps| FaultRateLimit {
                percentage: Some(per_million(1_000_000)),
                limit_type: Some(fault_rate_limit::LimitType::FixedLimit(
                    fault_rate_limit::FixedLimit { limit_kbps: kbps },
                )),
            }),
            max_active_faults: max_active.map(|value| UInt32Value { value }),
            ..Default::default()
        }),
        HttpFilterIr::Csrf {
            enabled_pct,
            shadow_pct,
            additional_origins,
        } => pack(&CsrfPolicy {
            filter_enabled: Some(percent("csrf_enabled", *enabled_pct)),
            shadow_enabled: (*shadow_pct > 0).then(|| percent("csrf_shadow", *shadow_pct)),
            additional_origins: additional_origins.iter().map(origin).collect(),
        }),
        HttpFilterIr::Rbac { allow, expressions } => pack(&RbacPerRoute {
            rbac: Some(rbac(*allow, expressions)),
        }),
        HttpFilterIr::BasicAuth { htpasswd } => pack(&BasicAuthPerRoute {
            users: Some(inline(htpasswd)),
        }),
        HttpFilterIr::LocalRateLimit {
            max_tokens,
            tokens_per_fill,
            fill_interval_ms,
            enabled_pct,
            enforced_pct,
        } => pack(&LocalRateLimit {
            stat_prefix: STAT_PREFIX.to_string(),
            token_bucket: Some(TokenBucket {
                max_tokens: *max_tokens,
                tokens_per_fill: Some(UInt32Value {
                    value: *tokens_per_fill,
                }),
                fill_interval: Some(duration_ms(*fill_interval_ms)),
            }),
            filter_enabled: Some(percent("local_rate_limit_enabled", *enabled_pct)),
            filter_enforced: Some(percent("local_rate_limit_enforced", *enforced_pct)),
            ..Default::default()
        }),
        HttpFilterIr::Buffer { max_bytes } => pack(&BufferPerRoute {
            r#override: Some(buffer_per_route::Override::Buffer(Buffer {
                max_request_bytes: Some(UInt32Value {
                    value: u32::try_from(*max_bytes).unwrap_or(u32::MAX),
                }),
            })),
        }),
    };
    (name(f.kind()).to_string(), config)
}

/// One policy matching any request for which one of `expressions` is true: with `allow`
/// the others are refused, else the matching ones. An expression that does not convert (the
/// lowering checked them) leaves no policy: an allow list then refuses everything.
fn rbac(allow: bool, expressions: &[String]) -> RbacFilter {
    let mut parsed = Vec::new();
    for (i, e) in expressions.iter().enumerate() {
        match super::cel::parse(e, (i as i64) << 32) {
            Ok(x) => parsed.push(x),
            Err(_) => return deny_all(),
        }
    }
    let next_id = (expressions.len() as i64) << 32;
    let Some(condition) = super::cel::any_of(parsed, next_id) else {
        return deny_all();
    };
    let policy = Policy {
        permissions: vec![Permission {
            rule: Some(permission::Rule::Any(true)),
        }],
        principals: vec![Principal {
            identifier: Some(principal::Identifier::Any(true)),
        }],
        condition: Some(condition),
        ..Default::default()
    };
    RbacFilter {
        rules: Some(RbacRules {
            action: if allow {
                rbac_rules::Action::Allow
            } else {
                rbac_rules::Action::Deny
            }
            .into(),
            // One entry: a map field, and one entry has only one order.
            policies: [("policy".to_string(), policy)].into_iter().collect(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn deny_all() -> RbacFilter {
    RbacFilter {
        rules: Some(RbacRules {
            action: rbac_rules::Action::Allow.into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn origin(o: &OriginMatchIr) -> StringMatcher {
    use string_matcher::MatchPattern;
    let v = o.value.clone();
    StringMatcher {
        match_pattern: Some(match o.how {
            OriginMatchHow::Exact => MatchPattern::Exact(v),
            OriginMatchHow::Prefix => MatchPattern::Prefix(v),
            OriginMatchHow::Suffix => MatchPattern::Suffix(v),
            OriginMatchHow::Contains => MatchPattern::Contains(v),
            OriginMatchHow::Regex => MatchPattern::SafeRegex(RegexMatcher {
                regex: v,
                ..Default::default()
            }),
        }),
        ignore_case: o.ignore_case,
    }
}

fn inline(s: &str) -> DataSource {
    DataSource {
        specifier: Some(data_source::Specifier::InlineString(s.to_string())),
        ..Default::default()
    }
}

fn per_million(numerator: u32) -> FractionalPercent {
    FractionalPercent {
        numerator,
        denominator: fractional_percent::DenominatorType::Million.into(),
    }
}

fn percent(runtime_key: &str, pct: u32) -> RuntimeFractionalPercent {
    RuntimeFractionalPercent {
        default_value: Some(FractionalPercent {
            numerator: pct,
            denominator: fractional_percent::DenominatorType::Hundred.into(),
        }),
        runtime_key: runtime_key.to_string(),
    }
}
