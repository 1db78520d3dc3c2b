//! GatewayClass and Gateway: listeners with their TLS, allowed routes and conflicts settled.

use std::collections::BTreeSet;

use sluice_crds::gateway_api::{FromNamespaces, Gateway, GatewayClass, Listener, TLSModeType};
use sluice_crds::k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector as K8sSelector;

use super::{LowerError, generation_of, key_of, name_of, namespace_of, port};
use crate::model::{
    AllowedNamespaces, CertificateRef, GatewayClassRec, GatewayRec, LabelSelector, ListenerProblem,
    ListenerRec, ListenerTls, ObjectKey, Protocol, RouteGroupKind, SelectorExpr, SelectorOp, Sym,
    TlsMode,
};

pub fn lower_gateway_class(class: &GatewayClass) -> GatewayClassRec {
    GatewayClassRec {
        name: Sym::new(name_of(&class.metadata)),
        controller: Sym::new(&class.spec.controller_name),
        generation: generation_of(&class.metadata),
    }
}

/// A Gateway; `Err` only for a listener port out of range or two listeners of one name.
pub fn lower_gateway(gateway: &Gateway) -> Result<GatewayRec, LowerError> {
    let ns = namespace_of(&gateway.metadata);
    let mut names = BTreeSet::new();
    let mut listeners = Vec::with_capacity(gateway.spec.listeners.len());
    for (i, l) in gateway.spec.listeners.iter().enumerate() {
        if !names.insert(l.name.as_str()) {
            return Err(LowerError::new(
                format!("spec.listeners[{i}].name"),
                format!("duplicate listener name {:?}", l.name),
            ));
        }
        listeners.push(lower_listener(ns, i, l)?);
    }
    let problems: Vec<Option<ListenerProblem>> = (0..listeners.len())
        .map(|i| listener_problem(&listeners, i))
        .collect();
    for (l, p) in listeners.iter_mut().zip(problems) {
        l.problem = p;
    }
    Ok(GatewayRec {
        key: key_of(&gateway.metadata),
        class: Sym::new(&gateway.spec.gateway_class_name),
        generation: generation_of(&gateway.metadata),
        listeners,
    })
}

fn lower_listener(gateway_ns: &str, i: usize, l: &Listener) -> Result<ListenerRec, LowerError> {
    let protocol = protocol(&l.protocol);
    let tls = l.tls.as_ref().map(|tls| ListenerTls {
        mode: match tls.mode {
            TLSModeType::Terminate => TlsMode::Terminate,
            TLSModeType::Passthrough => TlsMode::Passthrough,
        },
        certificate_refs: tls
            .certificate_refs
            .iter()
            .map(|c| CertificateRef {
                group: c.group.clone(),
                kind: c.kind.clone(),
                key: ObjectKey::new(c.namespace.as_deref().unwrap_or(gateway_ns), &c.name),
            })
            .collect(),
    });
    let namespaces = &l.allowed_routes.namespaces;
    let allowed_namespaces = match namespaces.from {
        FromNamespaces::Same => AllowedNamespaces::Same,
        FromNamespaces::All => AllowedNamespaces::All,
        FromNamespaces::Selector => {
            AllowedNamespaces::Selector(label_selector(namespaces.selector.as_ref()))
        }
    };
    let supported = protocol_kinds(&protocol);
    let (supported_kinds, invalid_kinds) = if l.allowed_routes.kinds.is_empty() {
        (supported, false)
    } else {
        let mut kept: Vec<RouteGroupKind> = Vec::new();
        let mut invalid = false;
        for k in &l.allowed_routes.kinds {
            let k = RouteGroupKind {
                group: k.group.clone(),
                kind: k.kind.clone(),
            };
            if !supported.contains(&k) {
                invalid = true;
            } else if !kept.contains(&k) {
                kept.push(k);
            }
        }
        (kept, invalid)
    };
    Ok(ListenerRec {
        name: Sym::new(&l.name),
        port: port(l.port, || format!("spec.listeners[{i}].port"))?,
        protocol,
        hostname: l.hostname.as_deref().map(str::to_ascii_lowercase),
        tls,
        allowed_namespaces,
        supported_kinds,
        invalid_kinds,
        problem: None,
    })
}

fn protocol(s: &str) -> Protocol {
    match s {
        "HTTP" => Protocol::Http,
        "HTTPS" => Protocol::Https,
        "TLS" => Protocol::Tls,
        "TCP" => Protocol::Tcp,
        "UDP" => Protocol::Udp,
        other => Protocol::Other(other.to_owned()),
    }
}

/// The route kinds sluice programs on a listener of `protocol` (GRPCRoute not yet).
fn protocol_kinds(protocol: &Protocol) -> Vec<RouteGroupKind> {
    if protocol.is_http() {
        vec![RouteGroupKind::http_route()]
    } else {
        Vec::new()
    }
}

/// The problem of listener `i` within its Gateway, by precedence: a protocol conflict on its
/// port, a hostname conflict on its port (`None` is a hostname), a protocol sluice does not
/// program.
fn listener_problem(listeners: &[ListenerRec], i: usize) -> Option<ListenerProblem> {
    let me = &listeners[i];
    let others = || {
        listeners
            .iter()
            .enumerate()
            .filter(move |&(j, l)| j != i && l.port == me.port)
            .map(|(_, l)| l)
    };
    if others().any(|l| l.protocol != me.protocol) {
        Some(ListenerProblem::Conflicted("ProtocolConflict".into()))
    } else if others().any(|l| l.protocol == me.protocol && l.hostname == me.hostname) {
        Some(ListenerProblem::Conflicted("HostnameConflict".into()))
    } else if !me.protocol.is_http() {
        Some(ListenerProblem::UnsupportedProtocol)
    } else {
        None
    }
}

/// A Kubernetes label selector as a record. A missing selector (`from: Selector` without one)
/// or an invalid one (unknown operator, `In`/`NotIn` without values, `Exists`/`DoesNotExist`
/// with values) selects nothing, as Kubernetes' own conversion refuses it.
fn label_selector(selector: Option<&K8sSelector>) -> LabelSelector {
    let nothing = || LabelSelector {
        match_labels: Default::default(),
        match_expressions: vec![SelectorExpr {
            key: String::new(),
            op: SelectorOp::In,
            values: Vec::new(),
        }],
    };
    let Some(selector) = selector else {
        return nothing();
    };
    let mut match_expressions = Vec::new();
    for e in selector.match_expressions.iter().flatten() {
        let values = e.values.clone().unwrap_or_default();
        let op = match e.operator.as_str() {
            "In" => SelectorOp::In,
            "NotIn" => SelectorOp::NotIn,
            "Exists" => SelectorOp::Exists,
            "DoesNotExist" => SelectorOp::DoesNotExist,
            _ => return nothing(),
        };
        let needs_values = matches!(op, SelectorOp::In | SelectorOp::NotIn);
        if needs_values == values.is_empty() {
            return nothing();
        }
        match_expressions.push(SelectorExpr {
            key: e.key.clone(),
            op,
            values,
        });
    }
    LabelSelector {
        match_labels: selector.match_labels.clone().unwrap_or_default(),
        match_expressions,
    }
}
