//! Where traffic goes: Services, EndpointSlices, kgateway Backends and DirectResponses, and the
//! Secrets listeners terminate TLS with.

use sluice_crds::core::{EndpointSlice, Secret, Service};
use sluice_crds::kgateway::{AppProtocol, Backend, BackendType, DirectResponse};

use super::{LowerError, key_of, namespace_of, port};
use crate::model::{
    BackendRec, DirectResponseRec, EndpointRec, EndpointSliceRec, ObjectKey, SecretRec,
    ServicePortRec, ServiceRec,
};

/// The label naming the Service an EndpointSlice belongs to.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// A port's name; `""` is no name (the EndpointSlice controller writes `name: ""` for a
/// Service's unnamed port, which must join to it).
fn port_name(name: Option<&String>) -> Option<String> {
    name.filter(|n| !n.is_empty()).cloned()
}

/// A Service with its ports (ExternalName Services too: their ports are as given).
pub fn lower_service(service: &Service) -> Result<ServiceRec, LowerError> {
    let ports = service
        .spec
        .iter()
        .flat_map(|s| s.ports.iter().flatten())
        .enumerate()
        .map(|(i, p)| {
            Ok(ServicePortRec {
                name: port_name(p.name.as_ref()),
                port: port(p.port, || format!("spec.ports[{i}].port"))?,
                app_protocol: p.app_protocol.clone(),
            })
        })
        .collect::<Result<_, LowerError>>()?;
    Ok(ServiceRec {
        key: key_of(&service.metadata),
        ports,
    })
}

/// An EndpointSlice: `Ok(None)` when it names no Service (no `kubernetes.io/service-name`
/// label). Ports without a number are skipped; each address is one endpoint.
pub fn lower_endpoint_slice(slice: &EndpointSlice) -> Result<Option<EndpointSliceRec>, LowerError> {
    let Some(service) = slice
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(SERVICE_NAME_LABEL))
    else {
        return Ok(None);
    };
    let ns = namespace_of(&slice.metadata);
    let mut ports = Vec::new();
    for (i, p) in slice.ports.iter().flatten().enumerate() {
        if let Some(number) = p.port {
            let number = port(number, || format!("ports[{i}].port"))?;
            ports.push((port_name(p.name.as_ref()), number));
        }
    }
    let endpoints = slice
        .endpoints
        .iter()
        .flat_map(|e| {
            let ready = e.conditions.as_ref().and_then(|c| c.ready).unwrap_or(true);
            e.addresses.iter().map(move |a| EndpointRec {
                address: a.clone(),
                ready,
                zone: e.zone.clone(),
            })
        })
        .collect();
    Ok(Some(EndpointSliceRec {
        key: key_of(&slice.metadata),
        service: ObjectKey::new(ns, service),
        ports,
        endpoints,
    }))
}

/// A TLS Secret's PEM parts, `stringData` over `data` (as the API server merges them); a part
/// missing or not UTF-8 is `None`.
pub fn lower_secret(secret: &Secret) -> SecretRec {
    let part = |name: &str| {
        secret
            .string_data
            .as_ref()
            .and_then(|d| d.get(name).cloned())
            .or_else(|| {
                secret
                    .data
                    .as_ref()
                    .and_then(|d| d.get(name))
                    .and_then(|b| String::from_utf8(b.0.clone()).ok())
            })
    };
    // `stringData` wins over `data`, as the API server merges them.
    let mut data: std::collections::BTreeMap<String, String> = secret
        .data
        .iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), String::from_utf8(v.0.clone()).ok()?)))
        .collect();
    data.extend(
        secret
            .string_data
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    data.remove("tls.crt");
    data.remove("tls.key");
    SecretRec {
        key: key_of(&secret.metadata),
        cert_chain: part("tls.crt"),
        private_key: part("tls.key"),
        data: data.into_iter().collect(),
        labels: secret
            .metadata
            .labels
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    }
}

/// A kgateway Backend: a static one with its hosts, any other type recorded as unsupported.
/// `Err` when not exactly one type is set, or a host port is out of range.
pub fn lower_backend(backend: &Backend) -> Result<BackendRec, LowerError> {
    let spec = &backend.spec;
    let set: Vec<&str> = [
        ("Static", spec.static_.is_some()),
        ("AWS", spec.aws.is_some()),
        ("DynamicForwardProxy", spec.dynamic_forward_proxy.is_some()),
        ("GCP", spec.gcp.is_some()),
        ("PriorityGroups", !spec.priority_groups.is_empty()),
    ]
    .into_iter()
    .filter(|(_, on)| *on)
    .map(|(t, _)| t)
    .collect();
    let key = key_of(&backend.metadata);
    if set.len() != 1 {
        return Err(LowerError::new(
            "spec",
            format!(
                "exactly one of static, aws, dynamicForwardProxy, gcp, priorityGroups must be set, found {}",
                set.len()
            ),
        ));
    }
    if let Some(declared) = spec.type_ {
        let declared = match declared {
            BackendType::Aws => "AWS",
            BackendType::Static => "Static",
            BackendType::DynamicForwardProxy => "DynamicForwardProxy",
            BackendType::Gcp => "GCP",
            BackendType::PriorityGroups => "PriorityGroups",
        };
        if declared != set[0] {
            return Err(LowerError::new(
                "spec.type",
                format!("type {declared} does not match the {} backend set", set[0]),
            ));
        }
    }
    let Some(st) = &spec.static_ else {
        return Ok(BackendRec {
            key,
            hosts: Vec::new(),
            app_protocol: None,
            unsupported: Some(format!("Backend type {} is not supported", set[0])),
        });
    };
    let hosts = st
        .hosts
        .iter()
        .enumerate()
        .map(|(i, h)| {
            Ok((
                h.host.clone(),
                port(h.port, || format!("spec.static.hosts[{i}].port"))?,
            ))
        })
        .collect::<Result<_, LowerError>>()?;
    Ok(BackendRec {
        key,
        hosts,
        app_protocol: st.app_protocol.map(|p| app_protocol(p).to_owned()),
        unsupported: None,
    })
}

fn app_protocol(p: AppProtocol) -> &'static str {
    match p {
        AppProtocol::Http2 => "http2",
        AppProtocol::Grpc => "grpc",
        AppProtocol::GrpcWeb => "grpc-web",
        AppProtocol::KubernetesH2c => "kubernetes.io/h2c",
        AppProtocol::KubernetesWs => "kubernetes.io/ws",
    }
}

/// A DirectResponse: `status` must be in 200–599; the body is `body`, else `bodyFormat.text`,
/// else `bodyFormat.json` as compact JSON.
pub fn lower_direct_response(dr: &DirectResponse) -> Result<DirectResponseRec, LowerError> {
    let spec = &dr.spec;
    let status = u16::try_from(spec.status_code)
        .ok()
        .filter(|s| (200..=599).contains(s))
        .ok_or_else(|| {
            LowerError::new(
                "spec.status",
                format!("status {} is not in 200-599", spec.status_code),
            )
        })?;
    if spec.body.is_some() && spec.body_format.is_some() {
        return Err(LowerError::new(
            "spec.bodyFormat",
            "at most one of body and bodyFormat may be set",
        ));
    }
    let body = spec.body.clone().or_else(|| {
        let f = spec.body_format.as_ref()?;
        f.text
            .clone()
            .or_else(|| f.json.as_ref().map(|j| j.to_string()))
    });
    Ok(DirectResponseRec {
        key: key_of(&dr.metadata),
        status,
        body,
    })
}
