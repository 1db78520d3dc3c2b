//! GatewayClasses, Gateways with their listeners, and the Secrets HTTPS listeners point at.
//!
//! Listener facts that `lower` settles per Gateway (`problem`, `supported_kinds`,
//! `invalid_kinds`) are computed here by the same rule, so generated records are ones `lower`
//! could have produced: see [`listener_problems`].

use proptest::prelude::*;
use proptest::sample::select;
use sluice_dataflow::model::{
    AllowedNamespaces, CertificateRef, GatewayClassRec, GatewayRec, LabelSelector, ListenerProblem,
    ListenerRec, ListenerTls, ObjectKey, Protocol, RouteGroupKind, SecretRec, Sym, TlsMode,
};

use super::names::{
    GATEWAY_CLASSES, LISTENER_PORTS, SECRETS, gateway_key, hostname, listener_name, ns_choice,
    resolve_ns,
};

/// A GatewayClass of the vocabulary; its controller is usually the one its name implies.
pub fn gateway_class() -> impl Strategy<Value = GatewayClassRec> {
    (
        0..GATEWAY_CLASSES.len(),
        prop::bool::weighted(0.1),
        1..=3i64,
    )
        .prop_map(|(i, swapped, generation)| {
            let (name, controller) = GATEWAY_CLASSES[i];
            let controller = if swapped {
                GATEWAY_CLASSES[1 - i].1
            } else {
                controller
            };
            GatewayClassRec {
                name: Sym::new(name),
                controller: Sym::new(controller),
                generation,
            }
        })
}

/// The classes of one world, controllers as named: `sluice` (ours) almost always, `other`
/// half of the time.
pub fn gateway_classes() -> impl Strategy<Value = Vec<GatewayClassRec>> {
    (prop::bool::weighted(0.92), any::<bool>()).prop_map(|(ours, other)| {
        GATEWAY_CLASSES
            .iter()
            .zip([ours, other])
            .filter(|(_, present)| *present)
            .map(|(&(name, controller), _)| GatewayClassRec {
                name: Sym::new(name),
                controller: Sym::new(controller),
                generation: 1,
            })
            .collect()
    })
}

/// Which route kinds a listener's `allowedRoutes.kinds` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KindsRequest {
    /// Unset: the protocol's default (HTTPRoute for HTTP/HTTPS).
    Default,
    /// `[HTTPRoute, TCPRoute]`: TCPRoute is not supported.
    HttpAndTcp,
    /// `[TCPRoute]` only: nothing supported.
    TcpOnly,
}

/// A listener before its name and per-Gateway facts are settled.
#[derive(Clone, Debug)]
struct ListenerDraft {
    port: u16,
    protocol: Protocol,
    hostname: Option<&'static str>,
    /// `(namespace choice, secret name)`, for HTTPS.
    certs: Vec<(Option<&'static str>, &'static str)>,
    allowed: AllowedNamespaces,
    kinds: KindsRequest,
}

fn allowed_namespaces() -> impl Strategy<Value = AllowedNamespaces> {
    prop_oneof![
        2 => Just(AllowedNamespaces::Same),
        4 => Just(AllowedNamespaces::All),
        1 => Just(AllowedNamespaces::Selector(LabelSelector {
            match_labels: [("env".to_string(), "prod".to_string())].into(),
            match_expressions: Vec::new(),
        })),
    ]
}

fn listener_draft() -> impl Strategy<Value = ListenerDraft> {
    // Ports follow protocols loosely (HTTP on 80 and 8080, HTTPS on 443), so that protocol
    // conflicts happen without drowning everything else.
    let protocol_port = prop_oneof![
        8 => (Just(Protocol::Http), select(&[80u16, 80, 80, 80, 8080, 8080, 8080, 443][..])),
        4 => (Just(Protocol::Https), select(&[443u16, 443, 443, 443, 443, 443, 443, 8080][..])),
        1 => (Just(Protocol::Tcp), select(&LISTENER_PORTS[..])),
    ];
    let kinds = prop_oneof![
        10 => Just(KindsRequest::Default),
        1 => Just(KindsRequest::HttpAndTcp),
        1 => Just(KindsRequest::TcpOnly),
    ];
    let cert = || (ns_choice(), select(&SECRETS[..]));
    (
        protocol_port,
        prop::option::weighted(0.45, hostname()),
        prop_oneof![
            4 => prop::collection::vec(cert(), 1..=1),
            1 => prop::collection::vec(cert(), 2..=2),
        ],
        allowed_namespaces(),
        kinds,
    )
        .prop_map(
            |((protocol, port), hostname, certs, allowed, kinds)| ListenerDraft {
                port,
                protocol,
                hostname,
                certs,
                allowed,
                kinds,
            },
        )
}

fn settle_listener(gateway_ns: &str, index: usize, d: ListenerDraft) -> ListenerRec {
    let tls = (d.protocol == Protocol::Https).then(|| ListenerTls {
        mode: TlsMode::Terminate,
        certificate_refs: d
            .certs
            .iter()
            .map(|&(ns, name)| CertificateRef {
                group: String::new(),
                kind: "Secret".into(),
                key: ObjectKey {
                    ns: resolve_ns(gateway_ns, ns),
                    name: Sym::new(name),
                },
            })
            .collect(),
    });
    let http = d.protocol.is_http();
    let (supported_kinds, invalid_kinds) = match d.kinds {
        KindsRequest::Default if http => (vec![RouteGroupKind::http_route()], false),
        KindsRequest::Default => (Vec::new(), false),
        KindsRequest::HttpAndTcp if http => (vec![RouteGroupKind::http_route()], true),
        KindsRequest::HttpAndTcp | KindsRequest::TcpOnly => (Vec::new(), true),
    };
    ListenerRec {
        name: listener_name(index),
        port: d.port,
        protocol: d.protocol,
        hostname: d.hostname.map(str::to_string),
        tls,
        allowed_namespaces: d.allowed,
        supported_kinds,
        invalid_kinds,
        problem: None,
    }
}

/// Sets every listener's `problem` by the rule `lower` applies within one Gateway:
///
/// 1. another listener on the same port with a different protocol: both
///    `Conflicted("ProtocolConflict")`;
/// 2. otherwise another listener on the same port, protocol and hostname (`None` counts as a
///    hostname): both `Conflicted("HostnameConflict")`;
/// 3. otherwise a protocol sluice does not program (not HTTP/HTTPS): `UnsupportedProtocol`.
pub fn listener_problems(listeners: &mut [ListenerRec]) {
    let problems: Vec<Option<ListenerProblem>> = (0..listeners.len())
        .map(|i| expected_problem(listeners, i))
        .collect();
    for (l, p) in listeners.iter_mut().zip(problems) {
        l.problem = p;
    }
}

/// The problem listener `i` of `listeners` has, by the rule of [`listener_problems`].
pub fn expected_problem(listeners: &[ListenerRec], i: usize) -> Option<ListenerProblem> {
    let me = &listeners[i];
    let others = || {
        listeners
            .iter()
            .enumerate()
            .filter(move |&(j, l)| j != i && l.port == me.port)
    };
    if others().any(|(_, l)| l.protocol != me.protocol) {
        Some(ListenerProblem::Conflicted("ProtocolConflict".into()))
    } else if others().any(|(_, l)| l.hostname == me.hostname) {
        Some(ListenerProblem::Conflicted("HostnameConflict".into()))
    } else if !me.protocol.is_http() {
        Some(ListenerProblem::UnsupportedProtocol)
    } else {
        None
    }
}

/// A Gateway of the vocabulary (of class `sluice` nine times in ten) with 1–4 listeners
/// (mostly 1–2) named `l-0`, `l-1`…, problems settled.
pub fn gateway() -> impl Strategy<Value = GatewayRec> {
    let class = prop_oneof![9 => Just("sluice"), 1 => Just("other")];
    (
        gateway_key(),
        class,
        1..=3i64,
        // Mostly one or two listeners: more collide too often to leave any usable.
        prop_oneof![
            3 => prop::collection::vec(listener_draft(), 1..=1),
            4 => prop::collection::vec(listener_draft(), 2..=2),
            2 => prop::collection::vec(listener_draft(), 3..=4),
        ],
    )
        .prop_map(|(key, class, generation, drafts)| {
            let ns = key.ns.as_str();
            let mut listeners: Vec<ListenerRec> = drafts
                .into_iter()
                .enumerate()
                .map(|(i, d)| settle_listener(ns, i, d))
                .collect();
            listener_problems(&mut listeners);
            GatewayRec {
                key,
                class: Sym::new(class),
                generation,
                listeners,
            }
        })
}

/// A Secret, mostly in `ns-a` with most Gateways: usually a certificate (both PEM parts,
/// sometimes one missing), sometimes also the keys policies read (an htpasswd file, API keys
/// by client) and a label `secretSelector`s match.
pub fn secret() -> impl Strategy<Value = SecretRec> {
    let ns = select(&["ns-a", "ns-a", "ns-b", "ns-c"][..]);
    (
        (ns, select(&SECRETS[..])).prop_map(|(ns, name)| ObjectKey::new(ns, name)),
        1..=2u8,
        prop_oneof![18 => Just(0u8), 1 => Just(1), 1 => Just(2)],
        prop_oneof![1 => Just(0u8), 1 => Just(1), 2 => Just(2)],
        any::<bool>(),
    )
        .prop_map(|(key, version, missing, keys, labelled)| SecretRec {
            key,
            cert_chain: (missing != 1).then(|| format!("CERT {key} v{version}")),
            private_key: (missing != 2).then(|| format!("KEY {key} v{version}")),
            data: match keys {
                0 => Vec::new(),
                1 => vec![(".htpasswd".into(), format!("u:{{SHA}}v{version}"))],
                _ => vec![
                    ("client1".into(), format!("k-1-{}", key.name)),
                    ("client2".into(), format!("k-2 v{version}")),
                ],
            },
            labels: if labelled || keys == 2 {
                vec![("keys".into(), "api".into())]
            } else {
                Vec::new()
            },
        })
}
