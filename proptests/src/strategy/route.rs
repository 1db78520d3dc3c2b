//! HTTPRoutes: parentRefs to existing and missing Gateways and listeners, hostnames, rules with
//! matches, filters and backendRefs.
//!
//! Namespaces of references are drawn relative to the route (mostly its own, sometimes another)
//! and defaulted the way `lower` does. Filter combinations Gateway API rejects at admission
//! (RequestRedirect with URLRewrite in one rule, `ReplacePrefixMatch` without a `PathPrefix`
//! match, two filters of one core type) are not generated; `invalid` is set rarely, at random.

use proptest::prelude::*;
use proptest::sample::select;
use sluice_dataflow::model::{
    BackendRefRec, BackendTarget, CorsRec, FilterRec, GATEWAY_GROUP, HeaderMods, HttpRouteRec,
    KGATEWAY_GROUP, KeyValueMatch, MatchRec, MirrorRec, ObjectKey, ParentRef, PathMatch,
    PathModifier, RedirectRec, RetryRec, RewriteRec, RuleRec, StringMatch, Sym,
};

use super::names::{
    BACKENDS, DIRECT_RESPONSES, HOSTNAMES, PATHS, POLICIES, POLICY_LABELS, ROUTES, SECTION_NAMES,
    SERVICES, gateway_name, hostname, key_in, ns_choice, parent_ns_choice, path, resolve_ns,
    service_name,
};

/// Seconds since the epoch; a range of three so that creation-time ties happen.
pub const CREATED: std::ops::RangeInclusive<i64> = 1_700_000_000..=1_700_000_002;

fn parent_ref(own: &'static str) -> impl Strategy<Value = ParentRef> {
    // Mostly the whole Gateway: a section or port narrows it, sometimes to nothing.
    let section = prop::option::weighted(0.25, select(&SECTION_NAMES[..]));
    let port = prop_oneof![8 => Just(None), 1 => Just(Some(80u16)), 1 => Just(Some(8080))];
    (parent_ns_choice(), gateway_name(), section, port).prop_map(
        move |(ns, name, section, port)| ParentRef {
            group: GATEWAY_GROUP.into(),
            kind: "Gateway".into(),
            gateway: ObjectKey {
                ns: resolve_ns(own, ns),
                name: Sym::new(name),
            },
            section: section.map(Sym::new),
            port,
        },
    )
}

fn string_match() -> impl Strategy<Value = StringMatch> {
    prop_oneof![
        3 => select(&["canary", "1"][..]).prop_map(|v| StringMatch::Exact(v.into())),
        1 => Just(StringMatch::Regex("a.*".into())),
    ]
}

fn path_match() -> impl Strategy<Value = PathMatch> {
    prop_oneof![
        5 => path().prop_map(|p| PathMatch::Prefix(p.into())),
        3 => path().prop_map(|p| PathMatch::Exact(p.into())),
        1 => select(&["/a.*", "/b/[0-9]+"][..]).prop_map(|p| PathMatch::Regex(p.into())),
    ]
}

fn match_rec() -> impl Strategy<Value = MatchRec> {
    let header = (select(&["x-env", "x-user"][..]), string_match()).prop_map(|(name, value)| {
        KeyValueMatch {
            name: name.into(),
            value,
        }
    });
    let query = string_match().prop_map(|value| KeyValueMatch {
        name: "v".into(),
        value,
    });
    let method = prop_oneof![4 => Just(None), 1 => Just(Some("GET")), 1 => Just(Some("POST"))];
    (
        path_match(),
        prop::collection::vec(header, 0..=1),
        prop::collection::vec(query, 0..=1),
        method,
    )
        .prop_map(|(path, headers, query, method)| MatchRec {
            path,
            headers,
            query,
            method: method.map(str::to_string),
        })
}

fn header_mods() -> impl Strategy<Value = HeaderMods> {
    (any::<bool>(), any::<bool>(), any::<bool>()).prop_map(|(set, add, remove)| HeaderMods {
        set: if set {
            vec![("x-set".into(), "1".into())]
        } else {
            Vec::new()
        },
        add: if add || !(set || remove) {
            vec![("x-add".into(), "a".into())]
        } else {
            Vec::new()
        },
        remove: if remove {
            vec!["x-remove".into()]
        } else {
            Vec::new()
        },
    })
}

fn service_target(own: &'static str) -> impl Strategy<Value = BackendTarget> {
    let port = prop_oneof![4 => Just(Some(80u16)), 2 => Just(Some(8080)), 1 => Just(None)];
    (ns_choice(), service_name(), port).prop_map(move |(ns, name, port)| BackendTarget::Service {
        key: ObjectKey {
            ns: resolve_ns(own, ns),
            name: Sym::new(name),
        },
        port,
    })
}

fn backend_target(own: &'static str) -> impl Strategy<Value = BackendTarget> {
    let backend =
        (ns_choice(), select(&BACKENDS[..])).prop_map(move |(ns, name)| BackendTarget::Backend {
            key: ObjectKey {
                ns: resolve_ns(own, ns),
                name: Sym::new(name),
            },
        });
    let unsupported = select(&SERVICES[..]).prop_map(move |name| BackendTarget::Unsupported {
        group: "example.com".into(),
        kind: "Bucket".into(),
        key: ObjectKey::new(own, name),
    });
    prop_oneof![36 => service_target(own), 3 => backend, 1 => unsupported]
}

fn backend_ref(own: &'static str) -> impl Strategy<Value = BackendRefRec> {
    // Weight 0 (present but never chosen) rarely.
    let weight = prop_oneof![1 => Just(0u32), 19 => 1..=3u32];
    let filters = prop::option::weighted(0.1, header_mods());
    (backend_target(own), weight, filters).prop_map(|(target, weight, filters)| BackendRefRec {
        target,
        weight,
        filters: filters.into_iter().map(FilterRec::RequestHeaders).collect(),
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FilterKind {
    RequestHeaders,
    ResponseHeaders,
    Redirect,
    Rewrite,
    Mirror,
    Extension,
    Cors,
}

/// A path modifier before the rule's matches are known: `(replace full path?, to)`.
type ModifierDraft = Option<(bool, &'static str)>;

/// Every piece of filter content a rule could need, generated up front and assembled by
/// [`FilterParts::build`] once the rule's matches are known.
#[derive(Clone, Debug)]
struct FilterParts {
    kinds: Vec<FilterKind>,
    request: HeaderMods,
    response: HeaderMods,
    redirect: RedirectRec,
    redirect_path: ModifierDraft,
    rewrite_hostname: Option<&'static str>,
    rewrite_path: ModifierDraft,
    mirror: MirrorRec,
    extension: &'static str,
    cors: CorsRec,
}

fn filter_parts(own: &'static str) -> impl Strategy<Value = FilterParts> {
    // Filters that keep the rule forwarding, and rarely (one rule in ten) one that replaces
    // forwarding: a RequestRedirect or a DirectResponse extensionRef, first or last.
    let forwarding = prop_oneof![
        4 => Just(Vec::new()),
        6 => prop::sample::subsequence(
            vec![
                FilterKind::RequestHeaders,
                FilterKind::ResponseHeaders,
                FilterKind::Rewrite,
                FilterKind::Mirror,
                FilterKind::Cors,
            ],
            1..=2,
        ),
    ];
    // Rarely both, in either order: the first one decides.
    let terminal = prop_oneof![
        4 => Just(vec![FilterKind::Redirect]),
        4 => Just(vec![FilterKind::Extension]),
        1 => Just(vec![FilterKind::Redirect, FilterKind::Extension]),
        1 => Just(vec![FilterKind::Extension, FilterKind::Redirect]),
    ];
    let terminal = prop::option::weighted(0.1, (terminal, any::<bool>()));
    let kinds = (forwarding, terminal).prop_map(|(mut kinds, terminal)| match terminal {
        Some((mut terminal, true)) => {
            terminal.append(&mut kinds);
            terminal
        }
        Some((terminal, false)) => {
            kinds.extend(terminal);
            kinds
        }
        None => kinds,
    });
    let modifier = || prop::option::of((any::<bool>(), select(&PATHS[..])));
    let redirect = (
        prop::option::of(Just("https")),
        prop::option::of(hostname()),
        prop::option::weighted(0.2, Just(8443u16)),
        select(&[301u16, 302][..]),
    )
        .prop_map(|(scheme, hostname, port, status_code)| RedirectRec {
            scheme: scheme.map(str::to_string),
            hostname: hostname.map(str::to_string),
            path: None,
            port,
            status_code,
        });
    let mirror = (service_target(own), select(&[1_000_000u32, 500_000][..])).prop_map(
        |(target, fraction_ppm)| MirrorRec {
            target,
            fraction_ppm,
        },
    );
    (
        kinds,
        (header_mods(), header_mods()),
        (redirect, modifier()),
        (prop::option::of(Just("rewritten.example.com")), modifier()),
        mirror,
        (
            prop_oneof![2 => select(&DIRECT_RESPONSES[..]), 1 => select(&POLICIES[..])],
            any::<bool>().prop_map(cors),
        ),
    )
        .prop_map(
            |(
                mut kinds,
                (request, response),
                (redirect, redirect_path),
                (rewrite_hostname, rewrite_path),
                mirror,
                (extension, cors),
            )| {
                // RequestRedirect and URLRewrite are mutually exclusive in a rule.
                if kinds.contains(&FilterKind::Redirect) {
                    kinds.retain(|k| *k != FilterKind::Rewrite);
                }
                FilterParts {
                    kinds,
                    request,
                    response,
                    redirect,
                    redirect_path,
                    rewrite_hostname,
                    rewrite_path,
                    mirror,
                    extension,
                    cors,
                }
            },
        )
}

/// A CORS filter: exact and wildcard origins with credentials, or anything with defaults.
fn cors(specific: bool) -> CorsRec {
    let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    if specific {
        CorsRec {
            allow_origins: v(&["https://www.foo.com", "https://*.bar.com"]),
            allow_credentials: true,
            allow_methods: v(&["GET", "OPTIONS"]),
            allow_headers: v(&["x-header-1"]),
            expose_headers: v(&["x-header-3"]),
            max_age_s: 3600,
        }
    } else {
        CorsRec {
            allow_origins: v(&["*"]),
            allow_credentials: false,
            allow_methods: v(&["*"]),
            allow_headers: Vec::new(),
            expose_headers: Vec::new(),
            max_age_s: 5,
        }
    }
}

impl FilterParts {
    /// The filters of a rule whose matches are all `PathPrefix` when `all_prefix`; otherwise
    /// `ReplacePrefixMatch` is not allowed and becomes `ReplaceFullPath`.
    fn build(self, all_prefix: bool) -> Vec<FilterRec> {
        let modifier = |m: ModifierDraft| {
            m.map(|(full, to)| {
                if full || !all_prefix {
                    PathModifier::ReplaceFullPath(to.into())
                } else {
                    PathModifier::ReplacePrefixMatch(to.into())
                }
            })
        };
        self.kinds
            .iter()
            .map(|kind| match kind {
                FilterKind::RequestHeaders => FilterRec::RequestHeaders(self.request.clone()),
                FilterKind::ResponseHeaders => FilterRec::ResponseHeaders(self.response.clone()),
                FilterKind::Redirect => FilterRec::Redirect(RedirectRec {
                    path: modifier(self.redirect_path),
                    ..self.redirect.clone()
                }),
                FilterKind::Rewrite => {
                    // A rewrite that rewrites nothing says nothing: rewrite the host then.
                    let hostname = match (self.rewrite_hostname, self.rewrite_path) {
                        (None, None) => Some("rewritten.example.com"),
                        (hostname, _) => hostname,
                    };
                    FilterRec::Rewrite(RewriteRec {
                        hostname: hostname.map(str::to_string),
                        path: modifier(self.rewrite_path),
                    })
                }
                FilterKind::Mirror => FilterRec::Mirror(self.mirror.clone()),
                FilterKind::Cors => FilterRec::Cors(self.cors.clone()),
                FilterKind::Extension => FilterRec::Extension {
                    group: KGATEWAY_GROUP.into(),
                    kind: if POLICIES.contains(&self.extension) {
                        "TrafficPolicy"
                    } else {
                        "DirectResponse"
                    }
                    .into(),
                    name: Sym::new(self.extension),
                },
            })
            .collect()
    }
}

/// A rule of a route in `own`; its name (when it has one) is set by position later.
fn rule(own: &'static str) -> impl Strategy<Value = RuleRec> {
    let timeout = prop_oneof![3 => Just(None), 1 => select(&[1000u64, 5000][..]).prop_map(Some)];
    let backend_timeout = prop::option::weighted(0.2, Just(500u64));
    let invalid = prop::option::weighted(0.03, Just("invalid duration \"1x\""));
    // Usually one or two backendRefs, rarely none (a 500) or three.
    let backends = prop_oneof![
        1 => prop::collection::vec(backend_ref(own), 0..=0),
        12 => prop::collection::vec(backend_ref(own), 1..=2),
        2 => prop::collection::vec(backend_ref(own), 3..=3),
    ];
    (
        any::<bool>(),
        prop::collection::vec(match_rec(), 1..=2),
        filter_parts(own),
        backends,
        timeout,
        backend_timeout,
        invalid,
        prop::option::weighted(0.2, any::<bool>()),
    )
        .prop_map(
            |(
                named,
                matches,
                filters,
                backends,
                timeout_ms,
                backend_timeout_ms,
                invalid,
                retry,
            )| {
                let all_prefix = matches
                    .iter()
                    .all(|m| matches!(m.path, PathMatch::Prefix(_)));
                RuleRec {
                    name: named.then(String::new),
                    filters: filters.build(all_prefix),
                    matches,
                    backends,
                    timeout_ms,
                    backend_timeout_ms,
                    // Some codes and attempts, or just the data plane's defaults.
                    retry: retry.map(|full| RetryRec {
                        codes: if full { vec![500, 503] } else { Vec::new() },
                        attempts: full.then_some(2),
                        backoff_ms: full.then_some(100),
                    }),
                    invalid: invalid.map(str::to_string),
                }
            },
        )
}

/// An HTTPRoute with key `key`: 0–3 parentRefs (mostly 1–2), 0–2 distinct hostnames, 1–3
/// rules.
pub fn http_route_with_key(key: ObjectKey) -> impl Strategy<Value = HttpRouteRec> {
    let own = key.ns.as_str();
    let parent_refs = prop_oneof![
        1 => prop::collection::vec(parent_ref(own), 0..=0),
        8 => prop::collection::vec(parent_ref(own), 1..=2),
        1 => prop::collection::vec(parent_ref(own), 3..=3),
    ];
    (
        1..=3i64,
        CREATED,
        parent_refs,
        prop::sample::subsequence(HOSTNAMES.to_vec(), 0..=2),
        prop::collection::vec(rule(own), 1..=3),
        prop::sample::subsequence(POLICY_LABELS.to_vec(), 0..=2),
    )
        .prop_map(
            move |(generation, created, parent_refs, hostnames, mut rules, labels)| {
                for (i, rule) in rules.iter_mut().enumerate() {
                    if rule.name.is_some() {
                        rule.name = Some(format!("rule-{i}"));
                    }
                }
                HttpRouteRec {
                    key,
                    generation,
                    created,
                    parent_refs,
                    hostnames: hostnames.into_iter().map(str::to_string).collect(),
                    rules,
                    labels: labels
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                }
            },
        )
}

/// An HTTPRoute of the vocabulary (see [`http_route_with_key`]).
pub fn http_route() -> impl Strategy<Value = HttpRouteRec> {
    key_in(&ROUTES).prop_flat_map(http_route_with_key)
}
