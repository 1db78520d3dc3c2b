//! kgateway policies as records: one record for every policy kind, its targets, its priority
//! and, for a TrafficPolicy, its lowered sub-policies.
//!
//! The cross-object rules (which policy reaches which rule, in which order) live in the
//! translators; what is here is per value: the priority order inside one attachment level,
//! the declared field-wise merge ([`TrafficRec::merge`], first writer wins) and how a merged
//! policy fills a rendered route ([`TrafficRec::apply`], the route's own fields win).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{CorsRec, HeaderMods, ObjectKey, SecretRec, Sym};
use crate::ir::{
    ActionIr, ApiKeySourceIr, CorsIr, FilterKind, HeaderOpsIr, HttpFilterIr, InternalRedirectIr,
    PathRewriteIr, RetryIr, RouteIr, RouteTracingIr,
};

/// The policy-like kinds sluice reads. TrafficPolicy, ListenerPolicy and HTTPListenerPolicy are
/// translated; the others get a status saying they are not yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PolicyKind {
    TrafficPolicy,
    ListenerPolicy,
    HTTPListenerPolicy,
    BackendConfigPolicy,
    GatewayExtension,
    GatewayParameters,
}

impl PolicyKind {
    pub const ALL: [PolicyKind; 6] = [
        PolicyKind::TrafficPolicy,
        PolicyKind::ListenerPolicy,
        PolicyKind::HTTPListenerPolicy,
        PolicyKind::BackendConfigPolicy,
        PolicyKind::GatewayExtension,
        PolicyKind::GatewayParameters,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PolicyKind::TrafficPolicy => "TrafficPolicy",
            PolicyKind::ListenerPolicy => "ListenerPolicy",
            PolicyKind::HTTPListenerPolicy => "HTTPListenerPolicy",
            PolicyKind::BackendConfigPolicy => "BackendConfigPolicy",
            PolicyKind::GatewayExtension => "GatewayExtension",
            PolicyKind::GatewayParameters => "GatewayParameters",
        }
    }

    /// Whether sluice applies it (the others report that they are not translated yet).
    pub fn translated(self) -> bool {
        matches!(
            self,
            PolicyKind::TrafficPolicy | PolicyKind::ListenerPolicy | PolicyKind::HTTPListenerPolicy
        )
    }

    /// Whether its status is `ancestors[]` (a policy) rather than `conditions[]`.
    pub fn has_ancestors(self) -> bool {
        !matches!(
            self,
            PolicyKind::GatewayExtension | PolicyKind::GatewayParameters
        )
    }
}

/// What a policy targets.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum TargetKind {
    Gateway,
    HTTPRoute,
    /// Any other `group`/`kind` (reported, never attached).
    Other {
        group: String,
        kind: String,
    },
}

impl TargetKind {
    pub fn of(group: &str, kind: &str) -> TargetKind {
        match (group, kind) {
            (super::GATEWAY_GROUP, "Gateway") => TargetKind::Gateway,
            (super::GATEWAY_GROUP, "HTTPRoute") => TargetKind::HTTPRoute,
            _ => TargetKind::Other {
                group: group.to_string(),
                kind: kind.to_string(),
            },
        }
    }

    pub fn group_kind(&self) -> (&str, &str) {
        match self {
            TargetKind::Gateway => (super::GATEWAY_GROUP, "Gateway"),
            TargetKind::HTTPRoute => (super::GATEWAY_GROUP, "HTTPRoute"),
            TargetKind::Other { group, kind } => (group, kind),
        }
    }
}

/// `targetRefs[]`: an object of the policy's namespace, optionally one listener or rule of it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PolicyTarget {
    pub kind: TargetKind,
    pub name: Sym,
    pub section: Option<String>,
}

/// `targetSelectors[]`: every object of a kind in the policy's namespace with these labels.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PolicySelector {
    pub kind: TargetKind,
    pub labels: Vec<(String, String)>,
    pub section: Option<String>,
}

impl PolicySelector {
    pub fn matches(&self, labels: &[(String, String)]) -> bool {
        self.labels.iter().all(|l| labels.contains(l))
    }
}

/// Why a field of a policy has no effect.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PolicyProblem {
    /// `spec.rbac`, `spec.timeouts.request`, …
    pub field: String,
    pub message: String,
}

/// One policy object.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PolicyRec {
    pub kind: PolicyKind,
    pub key: ObjectKey,
    pub generation: i64,
    /// `creationTimestamp` in seconds (0 when absent): older wins inside a level.
    pub created: i64,
    /// `kgateway.dev/policy-weight`: higher wins inside a level.
    pub weight: i32,
    pub targets: Vec<PolicyTarget>,
    pub selectors: Vec<PolicySelector>,
    /// TrafficPolicy only: what sluice applies.
    pub traffic: Option<Box<TrafficRec>>,
    /// ListenerPolicy and HTTPListenerPolicy only: what sluice applies.
    pub listener: Option<Box<super::ListenerPolicyRec>>,
    /// Fields sluice does not apply, and why (unsupported, or invalid).
    pub problems: Vec<PolicyProblem>,
    /// Sub-policies whose values live in Secrets: resolved against the Secrets they name
    /// ([`PolicyRec::with_secrets`]) before the policy attaches anywhere.
    pub secrets: Vec<SecretUse>,
}

/// htpasswd lines Envoy's basic_auth filter takes (`user:{SHA}base64`), joined; an `Err`
/// names the first user whose line it would refuse (a refused line would NACK the whole
/// route configuration, so it never reaches Envoy).
pub fn check_htpasswd(lines: &[&str]) -> Result<String, String> {
    for u in lines {
        match u.split_once(':') {
            Some((name, hash)) if !name.is_empty() && hash.starts_with("{SHA}") => {}
            _ => {
                return Err(format!(
                    "{:?} is not a `user:{{SHA}}hash` htpasswd line (Envoy checks SHA only)",
                    u.split(':').next().unwrap_or_default()
                ));
            }
        }
    }
    Ok(lines.join("\n"))
}

/// A sub-policy reading Secrets of the policy's namespace.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SecretUse {
    /// The field, for status messages (`basicAuth.secretRef`, …).
    pub field: String,
    pub source: SecretSource,
    pub want: SecretWant,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum SecretSource {
    /// One Secret, by name.
    Named(Sym),
    /// Every Secret with these labels (`secretSelector.matchLabels`).
    Selected(Vec<(String, String)>),
}

impl SecretSource {
    pub fn matches(&self, s: &SecretRec) -> bool {
        match self {
            SecretSource::Named(n) => s.key.name == *n,
            SecretSource::Selected(labels) => labels.iter().all(|l| s.labels.contains(l)),
        }
    }
}

/// What a sub-policy takes from its Secrets.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum SecretWant {
    /// `basicAuth.secretRef`: an htpasswd file under `key`.
    Htpasswd { key: String },
    /// `apiKeyAuth`: every entry of every Secret is a client (key) and its API key (value).
    ApiKeys {
        sources: Vec<ApiKeySourceIr>,
        forward: bool,
        client_id_header: Option<String>,
    },
    /// A `headerModifiers` value from a Secret's `key` (the header's name when unset).
    Header {
        response: bool,
        add: bool,
        name: String,
        key: Option<String>,
    },
}

impl PolicyRec {
    /// The policy with its Secret-backed sub-policies filled from `secrets` (the Secrets
    /// of its namespace its uses match, any order). A security sub-policy whose Secret is
    /// missing or holds nothing usable fails closed, like any unenforceable one.
    pub fn with_secrets(&self, secrets: &[&SecretRec]) -> PolicyRec {
        let mut out = self.clone();
        let mut t = out.traffic.take().map(|t| *t).unwrap_or_default();
        let mut problem = |field: &str, message: String| {
            out.problems.push(PolicyProblem {
                field: format!("spec.{field}"),
                message,
            })
        };
        for u in &self.secrets {
            let mut found: Vec<&SecretRec> = secrets
                .iter()
                .copied()
                .filter(|s| s.key.ns == self.key.ns && u.source.matches(s))
                .collect();
            found.sort();
            found.dedup();
            let missing = match &u.source {
                SecretSource::Named(n) => format!("Secret {}/{n} not found", self.key.ns),
                SecretSource::Selected(_) => "no Secret matches the selector".to_string(),
            };
            match &u.want {
                SecretWant::Htpasswd { key } => {
                    let lines: Vec<&str> = found
                        .first()
                        .and_then(|s| s.get(key))
                        .into_iter()
                        .flat_map(str::lines)
                        .map(str::trim)
                        .filter(|l| !l.is_empty() && !l.starts_with('#'))
                        .collect();
                    let checked = if lines.is_empty() {
                        Err(if found.is_empty() {
                            missing
                        } else {
                            format!("the Secret has no users under key {key:?}")
                        })
                    } else {
                        check_htpasswd(&lines)
                    };
                    match checked {
                        Ok(htpasswd) => {
                            t.filters.insert(
                                FilterKind::BasicAuth,
                                Toggle::On(HttpFilterIr::BasicAuth { htpasswd }),
                            );
                        }
                        Err(why) => {
                            let msg = format!("{why}; the routes it reaches answer 500");
                            problem(&u.field, msg.clone());
                            t.deny.insert("basicAuth".into(), Toggle::On(msg));
                        }
                    }
                }
                SecretWant::ApiKeys {
                    sources,
                    forward,
                    client_id_header,
                } => {
                    let credentials: Vec<(String, String)> = found
                        .iter()
                        .flat_map(|s| {
                            s.data
                                .iter()
                                .map(|(client, key)| (key.clone(), client.clone()))
                        })
                        .collect();
                    if credentials.is_empty() {
                        let why = if found.is_empty() {
                            missing
                        } else {
                            "the Secrets hold no API keys".to_string()
                        };
                        let msg = format!("{why}; the routes it reaches answer 500");
                        problem(&u.field, msg.clone());
                        t.deny.insert("apiKeyAuth".into(), Toggle::On(msg));
                    } else {
                        t.filters.insert(
                            FilterKind::ApiKeyAuth,
                            Toggle::On(HttpFilterIr::ApiKeyAuth {
                                credentials,
                                sources: sources.clone(),
                                forward: *forward,
                                client_id_header: client_id_header.clone(),
                            }),
                        );
                    }
                }
                SecretWant::Header {
                    response,
                    add,
                    name,
                    key,
                } => {
                    let key = key.as_deref().unwrap_or(name);
                    match found.first().and_then(|s| s.get(key)) {
                        Some(v) => {
                            let mods = if *response {
                                &mut t.response_headers
                            } else {
                                &mut t.request_headers
                            };
                            let mods = mods.get_or_insert_with(HeaderMods::default);
                            let list = if *add { &mut mods.add } else { &mut mods.set };
                            list.push((name.clone(), v.to_string()));
                        }
                        None => {
                            let why = if found.is_empty() {
                                missing
                            } else {
                                format!("the Secret has no key {key:?}")
                            };
                            problem(&u.field, format!("{why}; the header is left out"));
                        }
                    }
                }
            }
        }
        out.traffic = (!t.is_empty()).then(|| Box::new(t));
        out
    }
}

impl PolicyRec {
    /// Higher priority first, inside one attachment level: weight, then the older, then the
    /// name (`namespace/name`).
    pub fn priority_cmp(&self, other: &PolicyRec) -> std::cmp::Ordering {
        other
            .weight
            .cmp(&self.weight)
            .then(self.created.cmp(&other.created))
            .then_with(|| self.key.to_string().cmp(&other.key.to_string()))
    }
}

/// A sub-policy set by a policy: a value, or `disable: {}` (switches off what a less specific
/// policy set).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Toggle<T> {
    On(T),
    Off,
}

impl<T> Toggle<T> {
    pub fn on(&self) -> Option<&T> {
        match self {
            Toggle::On(v) => Some(v),
            Toggle::Off => None,
        }
    }
}

/// A retry policy set by a TrafficPolicy.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PolicyRetry {
    pub retry: RetryIr,
    pub per_try_timeout_ms: Option<u64>,
}

/// The TrafficPolicy sub-policies sluice applies, lowered. Every field is one unit of the
/// field-wise merge: a higher-priority policy's field wins whole, a lower one only fills
/// fields left unset.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TrafficRec {
    /// `timeouts.request`.
    pub timeout_ms: Option<u64>,
    /// `timeouts.streamIdle`.
    pub stream_idle_ms: Option<u64>,
    pub retry: Option<PolicyRetry>,
    pub cors: Option<Toggle<CorsRec>>,
    pub request_headers: Option<HeaderMods>,
    pub response_headers: Option<HeaderMods>,
    pub auto_host_rewrite: Option<bool>,
    /// `urlRewrite.pathRegex`: `(pattern, substitution)`.
    pub path_regex: Option<(String, String)>,
    pub internal_redirect: Option<InternalRedirectIr>,
    /// Security sub-policies (`rbac`, `basicAuth`, `jwtAuth`, …) by field name: `On(reason)`
    /// when sluice cannot enforce it (invalid, unresolved, or not yet supported), so the routes
    /// it reaches answer 500 instead of being served unprotected; `Off` for `disable: {}`.
    pub deny: BTreeMap<String, Toggle<String>>,
    /// Sub-policies served by an HTTP filter (`rateLimit.local`, `faultInjection`, `buffer`,
    /// `basicAuth`), one merge unit per filter kind.
    pub filters: BTreeMap<FilterKind, Toggle<HttpFilterIr>>,
    /// `statPrefix`, a template of `{{route_namespace}}`, `{{route_name}}`, `{{rule_name}}`
    /// (expanded per rule: [`TrafficRec::stat_prefix_for`]).
    pub stat_prefix: Option<String>,
    /// `tracing` (`disable: {}`: every sampling 0).
    pub tracing: Option<RouteTracingIr>,
    /// `transformation`'s literal header edits `(request, response)`, filling what
    /// `headerModifiers` and the route leave alone.
    pub transformation: Option<(HeaderMods, HeaderMods)>,
}

impl TrafficRec {
    pub fn is_empty(&self) -> bool {
        *self == TrafficRec::default()
    }

    /// `self` (higher priority) with the fields it leaves unset taken from `lower`.
    pub fn merge(&self, lower: &TrafficRec) -> TrafficRec {
        fn or<T: Clone>(a: &Option<T>, b: &Option<T>) -> Option<T> {
            a.clone().or_else(|| b.clone())
        }
        let mut deny = lower.deny.clone();
        deny.extend(self.deny.iter().map(|(k, v)| (k.clone(), v.clone())));
        let mut filters = lower.filters.clone();
        filters.extend(self.filters.iter().map(|(k, v)| (*k, v.clone())));
        TrafficRec {
            timeout_ms: self.timeout_ms.or(lower.timeout_ms),
            stream_idle_ms: self.stream_idle_ms.or(lower.stream_idle_ms),
            retry: or(&self.retry, &lower.retry),
            cors: or(&self.cors, &lower.cors),
            request_headers: or(&self.request_headers, &lower.request_headers),
            response_headers: or(&self.response_headers, &lower.response_headers),
            auto_host_rewrite: self.auto_host_rewrite.or(lower.auto_host_rewrite),
            path_regex: or(&self.path_regex, &lower.path_regex),
            internal_redirect: or(&self.internal_redirect, &lower.internal_redirect),
            deny,
            filters,
            stat_prefix: or(&self.stat_prefix, &lower.stat_prefix),
            tracing: or(&self.tracing, &lower.tracing),
            transformation: or(&self.transformation, &lower.transformation),
        }
    }

    /// The fields of `self` (lower priority) that `higher` leaves unset: what `self` still
    /// contributes under `higher`.
    pub fn under(&self, higher: &TrafficRec) -> TrafficRec {
        fn unless<T: Clone, U>(a: &Option<T>, b: &Option<U>) -> Option<T> {
            if b.is_some() { None } else { a.clone() }
        }
        TrafficRec {
            timeout_ms: unless(&self.timeout_ms, &higher.timeout_ms),
            stream_idle_ms: unless(&self.stream_idle_ms, &higher.stream_idle_ms),
            retry: unless(&self.retry, &higher.retry),
            cors: unless(&self.cors, &higher.cors),
            request_headers: unless(&self.request_headers, &higher.request_headers),
            response_headers: unless(&self.response_headers, &higher.response_headers),
            auto_host_rewrite: unless(&self.auto_host_rewrite, &higher.auto_host_rewrite),
            path_regex: unless(&self.path_regex, &higher.path_regex),
            internal_redirect: unless(&self.internal_redirect, &higher.internal_redirect),
            deny: self
                .deny
                .iter()
                .filter(|(k, _)| !higher.deny.contains_key(*k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            filters: self
                .filters
                .iter()
                .filter(|(k, _)| !higher.filters.contains_key(*k))
                .map(|(k, v)| (*k, v.clone()))
                .collect(),
            stat_prefix: unless(&self.stat_prefix, &higher.stat_prefix),
            tracing: unless(&self.tracing, &higher.tracing),
            transformation: unless(&self.transformation, &higher.transformation),
        }
    }

    /// `statPrefix` expanded for one rule of an HTTPRoute (an unnamed rule's name is empty).
    pub fn stat_prefix_for(&self, route: &ObjectKey, rule: Option<&str>) -> Option<String> {
        let template = self.stat_prefix.as_ref()?;
        let mut out = String::with_capacity(template.len());
        let mut rest = template.as_str();
        while let Some(open) = rest.find("{{") {
            out.push_str(&rest[..open]);
            let Some(close) = rest[open..].find("}}") else {
                break;
            };
            let var = rest[open + 2..open + close].trim();
            match var {
                "route_namespace" => out.push_str(route.ns.as_str()),
                "route_name" => out.push_str(route.name.as_str()),
                "rule_name" => out.push_str(rule.unwrap_or_default()),
                _ => out.push_str(&rest[open..open + close + 2]),
            }
            rest = &rest[open + close + 2..];
        }
        out.push_str(rest);
        Some(out)
    }

    /// Why the routes this reaches must answer 500, if a security sub-policy is in force.
    pub fn denied(&self) -> Option<(&str, &str)> {
        self.deny
            .iter()
            .find_map(|(k, v)| v.on().map(|m| (k.as_str(), m.as_str())))
    }

    /// Fills `route` with the policy: what the route (its HTTPRoute fields, or a more
    /// specific policy applied before) already sets is kept.
    pub fn apply(&self, route: &mut RouteIr) {
        if self.denied().is_some() {
            route.action = ActionIr::Direct {
                status: 500,
                body: None,
            };
        }
        for f in self.filters.values().filter_map(Toggle::on) {
            if let Err(at) = route
                .filters
                .binary_search_by_key(&f.kind(), HttpFilterIr::kind)
            {
                route.filters.insert(at, f.clone());
            }
        }
        fill_headers(&mut route.request_headers, self.request_headers.as_ref());
        fill_headers(&mut route.response_headers, self.response_headers.as_ref());
        if let Some((req, resp)) = &self.transformation {
            fill_headers(&mut route.request_headers, Some(req));
            fill_headers(&mut route.response_headers, Some(resp));
        }
        if route.tracing.is_none() {
            route.tracing = self.tracing.clone().map(Box::new);
        }
        if route.cors.is_none()
            && let Some(Toggle::On(c)) = &self.cors
        {
            route.cors = Some(Box::new(CorsIr::from(c)));
        }
        let ActionIr::Forward(f) = &mut route.action else {
            return;
        };
        if f.timeout_ms.is_none() {
            f.timeout_ms = self.timeout_ms;
        }
        if f.idle_timeout_ms.is_none() {
            f.idle_timeout_ms = self.stream_idle_ms;
        }
        if f.retry.is_none()
            && let Some(r) = &self.retry
        {
            f.retry = Some(r.retry.clone());
            if f.per_try_timeout_ms.is_none() {
                f.per_try_timeout_ms = r.per_try_timeout_ms;
            }
        }
        if f.internal_redirect.is_none() {
            f.internal_redirect = self.internal_redirect.clone().map(Box::new);
        }
        if f.host_rewrite.is_none() && self.auto_host_rewrite == Some(true) {
            f.auto_host_rewrite = true;
        }
        if f.path_rewrite.is_none()
            && let Some((pattern, substitution)) = &self.path_regex
        {
            f.path_rewrite = Some(PathRewriteIr::Regex {
                pattern: pattern.clone(),
                substitution: substitution.clone(),
            });
        }
    }
}

/// Adds a policy's header edits for the headers the route's own edits leave alone.
fn fill_headers(ops: &mut HeaderOpsIr, mods: Option<&HeaderMods>) {
    let Some(m) = mods else { return };
    let touched: Vec<String> = ops
        .set
        .iter()
        .chain(&ops.add)
        .map(|(k, _)| k.to_ascii_lowercase())
        .chain(ops.remove.iter().map(|k| k.to_ascii_lowercase()))
        .collect();
    let free = |k: &String| !touched.contains(&k.to_ascii_lowercase());
    ops.set
        .extend(m.set.iter().filter(|(k, _)| free(k)).cloned());
    ops.add
        .extend(m.add.iter().filter(|(k, _)| free(k)).cloned());
    ops.remove
        .extend(m.remove.iter().filter(|k| free(k)).cloned());
}

/// Where a TrafficPolicy attaches, most specific first: the order of precedence between
/// levels (inside a level, [`PolicyRec::priority_cmp`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum AttachLevel {
    /// A rule's `ExtensionRef` filter.
    ExtensionRef,
    /// `targetRefs`/`targetSelectors` to an HTTPRoute with a rule's name as `sectionName`.
    Rule,
    Route,
    /// To a Gateway with a listener's name as `sectionName`.
    Listener,
    Gateway,
}

/// Folds policies (each with its level) in priority order into one.
pub fn merge_in_order(mut policies: Vec<(AttachLevel, &PolicyRec)>) -> Option<TrafficRec> {
    policies.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.priority_cmp(b.1)));
    let mut out: Option<TrafficRec> = None;
    for (_, p) in policies {
        let Some(t) = &p.traffic else { continue };
        out = Some(match out {
            None => (**t).clone(),
            Some(higher) => higher.merge(t),
        });
    }
    out
}
