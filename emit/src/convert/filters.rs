//! One converter per HTTP filter a route can enable (`ir::HttpFilterIr`): its entry in every
//! listener's chain — present, disabled, so a route enables it with its own config and a
//! listener's bytes do not change when policies come and go — and its per-route config.

use envoy_types::pb::envoy::config::core::v3::{
    DataSource, RuntimeFeatureFlag, RuntimeFractionalPercent, TypedExtensionConfig, data_source,
};
use envoy_types::pb::envoy::config::rbac::v3::{
    Permission, Policy, Principal, Rbac as RbacRules, permission, principal, rbac as rbac_rules,
};
use envoy_types::pb::envoy::config::route::v3::FilterConfig;
use envoy_types::pb::envoy::extensions::compression::brotli::compressor::v3::Brotli as BrotliCompressor;
use envoy_types::pb::envoy::extensions::compression::brotli::decompressor::v3::Brotli as BrotliDecompressor;
use envoy_types::pb::envoy::extensions::compression::gzip::compressor::v3::Gzip as GzipCompressor;
use envoy_types::pb::envoy::extensions::compression::gzip::decompressor::v3::Gzip as GzipDecompressor;
use envoy_types::pb::envoy::extensions::compression::zstd::compressor::v3::Zstd as ZstdCompressor;
use envoy_types::pb::envoy::extensions::compression::zstd::decompressor::v3::Zstd as ZstdDecompressor;
use envoy_types::pb::envoy::extensions::filters::common::fault::v3::{
    FaultDelay, FaultRateLimit, fault_delay, fault_rate_limit,
};
use envoy_types::pb::envoy::extensions::filters::http::api_key_auth::v3::{
    ApiKeyAuth, ApiKeyAuthPerRoute, Credential, Forwarding, KeySource,
};
use envoy_types::pb::envoy::extensions::filters::http::basic_auth::v3::{
    BasicAuth, BasicAuthPerRoute,
};
use envoy_types::pb::envoy::extensions::filters::http::buffer::v3::{
    Buffer, BufferPerRoute, buffer_per_route,
};
use envoy_types::pb::envoy::extensions::filters::http::compressor::v3::{
    Compressor, CompressorOverrides, CompressorPerRoute, ResponseDirectionOverrides,
    compressor_per_route,
};
use envoy_types::pb::envoy::extensions::filters::http::csrf::v3::CsrfPolicy;
use envoy_types::pb::envoy::extensions::filters::http::decompressor::v3::{
    Decompressor, decompressor,
};
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
use envoy_types::pb::google::protobuf::{Any as PbAny, BoolValue, UInt32Value};
use sluice_dataflow::ir::{Codec, FilterKind, HttpFilterIr, OriginMatchHow, OriginMatchIr};

use super::{duration_ms, pack};

/// Envoy's name of each filter (of the first, for a kind with one filter per codec).
pub fn name(kind: FilterKind) -> &'static str {
    match kind {
        FilterKind::Compress => codec_filter(kind, Codec::Gzip),
        FilterKind::Decompress => codec_filter(kind, Codec::Gzip),
        FilterKind::Fault => "envoy.filters.http.fault",
        FilterKind::Rbac => "envoy.filters.http.rbac",
        FilterKind::Csrf => "envoy.filters.http.csrf",
        FilterKind::BasicAuth => "envoy.filters.http.basic_auth",
        FilterKind::ApiKeyAuth => "envoy.filters.http.api_key_auth",
        FilterKind::LocalRateLimit => "envoy.filters.http.local_ratelimit",
        FilterKind::Buffer => "envoy.filters.http.buffer",
    }
}

/// The filter of one codec of a (de)compression kind: one filter per library, as Envoy's
/// compressor negotiates between the compressor filters of a chain.
fn codec_filter(kind: FilterKind, codec: Codec) -> &'static str {
    match (kind, codec) {
        (FilterKind::Decompress, Codec::Gzip) => "envoy.filters.http.decompressor.gzip",
        (FilterKind::Decompress, Codec::Brotli) => "envoy.filters.http.decompressor.brotli",
        (FilterKind::Decompress, Codec::Zstd) => "envoy.filters.http.decompressor.zstd",
        (_, Codec::Gzip) => "envoy.filters.http.compressor.gzip",
        (_, Codec::Brotli) => "envoy.filters.http.compressor.brotli",
        (_, Codec::Zstd) => "envoy.filters.http.compressor.zstd",
    }
}

const STAT_PREFIX: &str = "local_rate_limit";

/// The filter's entries in a listener's chain: disabled, with a config that does nothing
/// until a route enables it (for the (de)compressors: the library's own config, one entry
/// per library).
pub fn chain_entries(kind: FilterKind) -> Vec<HttpFilter> {
    match kind {
        FilterKind::Compress | FilterKind::Decompress => Codec::ALL
            .into_iter()
            .map(|c| disabled(codec_filter(kind, c), codec_config(kind, c)))
            .collect(),
        _ => vec![disabled(name(kind), chain_config(kind))],
    }
}

fn disabled(name: &str, config: PbAny) -> HttpFilter {
    HttpFilter {
        name: name.to_string(),
        config_type: Some(http_filter::ConfigType::TypedConfig(config)),
        disabled: true,
        ..Default::default()
    }
}

/// A (de)compressor filter of one library. The compressor keeps Envoy's defaults (the
/// textual content types kgateway documents, 30 bytes or more); the decompressor works on
/// requests only, as kgateway's `requestDecompression` says.
fn codec_config(kind: FilterKind, codec: Codec) -> PbAny {
    let (name, library) = match (kind, codec) {
        (FilterKind::Decompress, Codec::Gzip) => ("gzip", pack(&GzipDecompressor::default())),
        (FilterKind::Decompress, Codec::Brotli) => ("brotli", pack(&BrotliDecompressor::default())),
        (FilterKind::Decompress, Codec::Zstd) => ("zstd", pack(&ZstdDecompressor::default())),
        (_, Codec::Gzip) => ("gzip", pack(&GzipCompressor::default())),
        (_, Codec::Brotli) => ("brotli", pack(&BrotliCompressor::default())),
        (_, Codec::Zstd) => ("zstd", pack(&ZstdCompressor::default())),
    };
    let library = Some(TypedExtensionConfig {
        name: name.to_string(),
        typed_config: Some(library),
    });
    if kind == FilterKind::Decompress {
        pack(&Decompressor {
            decompressor_library: library,
            response_direction_config: Some(decompressor::ResponseDirectionConfig {
                common_config: Some(decompressor::CommonDirectionConfig {
                    enabled: Some(RuntimeFeatureFlag {
                        default_value: Some(BoolValue { value: false }),
                        runtime_key: "sluice.decompressor.response_enabled".to_string(),
                    }),
                    ..Default::default()
                }),
            }),
            ..Default::default()
        })
    } else {
        pack(&Compressor {
            compressor_library: library,
            ..Default::default()
        })
    }
}

/// Enables one library's filter on a route. The compressor takes a per-route override
/// (which enables it); the decompressor has no per-route config, so its own config goes in an
/// optional `FilterConfig`, which Envoy takes as "enabled" (and a renderable `Any`, unlike
/// the empty one Envoy also accepts).
fn enable_codec(kind: FilterKind, codec: Codec) -> PbAny {
    if kind == FilterKind::Decompress {
        pack(&FilterConfig {
            config: Some(codec_config(kind, codec)),
            is_optional: true,
            disabled: false,
        })
    } else {
        pack(&CompressorPerRoute {
            r#override: Some(compressor_per_route::Override::Overrides(
                CompressorOverrides {
                    response_direction_config: Some(ResponseDirectionOverrides::default()),
                    compressor_library: None,
                },
            )),
        })
    }
}

fn chain_config(kind: FilterKind) -> PbAny {
    match kind {
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
        // Routes replace credentials and sources whole; these are never consulted.
        FilterKind::ApiKeyAuth => pack(&ApiKeyAuth {
            credentials: vec![Credential {
                key: "sluice-disabled".to_string(),
                client: "sluice-disabled".to_string(),
            }],
            key_sources: vec![KeySource {
                header: "x-sluice-disabled".to_string(),
                ..Default::default()
            }],
            forwarding: None,
        }),
        FilterKind::Buffer => pack(&Buffer {
            max_request_bytes: Some(UInt32Value { value: 1 << 20 }),
        }),
        FilterKind::Compress | FilterKind::Decompress => codec_config(kind, Codec::Gzip),
    }
}

/// A route's configs of one filter kind (which also enable its filters on the route).
pub fn per_route(f: &HttpFilterIr) -> Vec<(String, PbAny)> {
    let config = match f {
        HttpFilterIr::Compress { libraries } | HttpFilterIr::Decompress { libraries } => {
            return libraries
                .iter()
                .map(|c| {
                    (
                        codec_filter(f.kind(), *c).to_string(),
                        enable_codec(f.kind(), *c),
                    )
                })
                .collect();
        }
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
        HttpFilterIr::ApiKeyAuth {
            credentials,
            sources,
            forward,
            client_id_header,
        } => pack(&ApiKeyAuthPerRoute {
            credentials: credentials
                .iter()
                .map(|(key, client)| Credential {
                    key: key.clone(),
                    client: client.clone(),
                })
                .collect(),
            key_sources: sources
                .iter()
                .map(|s| KeySource {
                    header: s.header.clone().unwrap_or_default(),
                    query: s.query.clone().unwrap_or_default(),
                    cookie: s.cookie.clone().unwrap_or_default(),
                })
                .collect(),
            allowed_clients: Vec::new(),
            forwarding: Some(Forwarding {
                header: client_id_header.clone().unwrap_or_default(),
                hide_credentials: !forward,
            }),
        }),
        HttpFilterIr::Buffer { max_bytes } => pack(&BufferPerRoute {
            r#override: Some(buffer_per_route::Override::Buffer(Buffer {
                max_request_bytes: Some(UInt32Value {
                    value: u32::try_from(*max_bytes).unwrap_or(u32::MAX),
                }),
            })),
        }),
    };
    vec![(name(f.kind()).to_string(), config)]
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
