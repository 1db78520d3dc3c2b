//! Where routes send traffic: Services and their EndpointSlices, kgateway Backends and
//! DirectResponses.
//!
//! Port names follow one convention on both sides (port 80 is `http`, 8080 is `http-alt`, see
//! [`service_port_name`]), so a slice's ports join to its Service's most of the time; a
//! single-port Service is sometimes unnamed, and slices sometimes carry an unnamed port. Linking
//! (`world::Targets::link`) then moves most slices onto an existing Service and lists exactly
//! its port names.

use proptest::prelude::*;
use proptest::sample::select;
use sluice_dataflow::model::{
    BackendRec, DirectResponseRec, EndpointRec, EndpointSliceRec, ObjectKey, ServicePortRec,
    ServiceRec, Sym,
};

use super::names::{
    BACKENDS, DIRECT_RESPONSES, SERVICE_PORTS, SLICE_SUFFIXES, key_in, namespace, service_name,
    service_port_name,
};

/// A Service with one or two of the vocabulary's ports.
pub fn service() -> impl Strategy<Value = ServiceRec> {
    let ports = prop::sample::subsequence(SERVICE_PORTS.to_vec(), 1..=2);
    let app_protocol = prop::option::weighted(0.1, Just("kubernetes.io/h2c"));
    (
        (namespace(), service_name()),
        ports,
        prop::bool::weighted(0.25),
        app_protocol,
    )
        .prop_map(|((ns, name), ports, unnamed, app_protocol)| {
            let key = ObjectKey::new(ns, name);
            let single = ports.len() == 1;
            let ports = ports
                .into_iter()
                .map(|port| ServicePortRec {
                    name: (!(single && unnamed)).then(|| service_port_name(port).to_string()),
                    port,
                    app_protocol: app_protocol.map(str::to_string),
                })
                .collect();
            ServiceRec { key, ports }
        })
}

fn endpoint() -> impl Strategy<Value = EndpointRec> {
    let zone = prop_oneof![Just(None), Just(Some("z1")), Just(Some("z2"))];
    (1..=6u8, prop::bool::weighted(0.8), zone).prop_map(|(host, ready, zone)| EndpointRec {
        address: format!("10.1.0.{host}"),
        ready,
        zone: zone.map(str::to_string),
    })
}

/// An EndpointSlice `<service>-a|b` of a Service in its namespace: 1–2 ports, 1–3 endpoints
/// with distinct addresses.
pub fn endpoint_slice() -> impl Strategy<Value = EndpointSliceRec> {
    let ports: [(Option<&'static str>, u16); 3] = [
        (Some(service_port_name(80)), slice_target_port(80)),
        (Some(service_port_name(8080)), slice_target_port(8080)),
        (None, slice_target_port(80)),
    ];
    (
        namespace(),
        service_name(),
        select(&SLICE_SUFFIXES[..]),
        prop::sample::subsequence(ports.to_vec(), 1..=2),
        prop::collection::vec(endpoint(), 1..=3),
    )
        .prop_map(|(ns, service, suffix, ports, endpoints)| {
            let mut seen = std::collections::BTreeSet::new();
            EndpointSliceRec {
                key: ObjectKey::new(ns, &format!("{service}-{suffix}")),
                service: ObjectKey::new(ns, service),
                ports: ports
                    .into_iter()
                    .map(|(n, p)| (n.map(str::to_string), p))
                    .collect(),
                endpoints: endpoints
                    .into_iter()
                    .filter(|e| seen.insert(e.address.clone()))
                    .collect(),
            }
        })
}

/// The port number an EndpointSlice lists for the Service port `port` (the pods' port).
pub fn slice_target_port(port: u16) -> u16 {
    if port == 80 { 9080 } else { 9090 }
}

/// A kgateway Backend: static (an IP or a DNS name), or of an unsupported type.
pub fn backend() -> impl Strategy<Value = BackendRec> {
    let shape = prop_oneof![
        3 => Just((vec![("10.0.0.1", 80)], None)),
        2 => Just((vec![("backend.example.com", 443)], None)),
        1 => Just((vec![("10.0.0.1", 80), ("10.0.0.2", 8080)], None)),
        1 => Just((vec![], Some("Backend type AWS is not supported"))),
    ];
    (
        key_in(&BACKENDS),
        shape,
        prop::option::weighted(0.2, Just("http2")),
    )
        .prop_map(|(key, (hosts, unsupported), app_protocol)| BackendRec {
            key,
            hosts: hosts.into_iter().map(|(h, p)| (h.to_string(), p)).collect(),
            app_protocol: app_protocol.map(str::to_string),
            unsupported: unsupported.map(str::to_string),
        })
}

/// A kgateway DirectResponse `dr-1`/`dr-2`.
pub fn direct_response() -> impl Strategy<Value = DirectResponseRec> {
    let status = select(&[200u16, 204, 302, 404, 418, 500, 503, 599][..]);
    let body = prop_oneof![Just(None), Just(Some("hello")), Just(Some("gone"))];
    (key_in(&DIRECT_RESPONSES), status, body).prop_map(|(key, status, body)| DirectResponseRec {
        key,
        status,
        body: body.map(str::to_string),
    })
}

/// The Service an EndpointSlice named `<service>-<suffix>` belongs to by the naming convention.
pub fn slice_service(slice: ObjectKey) -> ObjectKey {
    let name = slice.name.as_str();
    let service = name.rsplit_once('-').map_or(name, |(svc, _)| svc);
    ObjectKey {
        ns: slice.ns,
        name: Sym::new(service),
    }
}
