//! Operator unit tests' harness: one render stage in a single-worker dataflow
//! (`timely::execute_directly`), its inputs fed through `InputSession`s one epoch at a time, its
//! output collection captured (`.inner.capture()`), and each epoch's consolidated changes handed
//! back. Records come from `mk_*` builders with fixed defaults, tweaked with struct update syntax.
//!
//! ```text
//! run_stage(|inputs| stage(inputs.routes, …), |h| {
//!     h.upsert(mk_route(…));                 // epoch 0
//!     assert_eq!(h.step(), changes(vec![(out, 1)]));
//!     h.delete(mk_route(…));                 // epoch 1
//!     assert_eq!(h.step(), changes(vec![(out, -1)]));
//! });
//! ```
//!
//! Stages fed by other stages (`attach`, `route_configs`, …) get them from [`upstream`], wired as
//! `render` wires them, so a test speaks in records and observes only the stage it is about.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::mpsc::Receiver;

use differential_dataflow::Data;
use differential_dataflow::consolidation::consolidate;
use differential_dataflow::input::InputSession;
use timely::dataflow::operators::capture::{Capture, Event};
use timely::progress::frontier::MutableAntichain;
use timely::worker::Worker;

use super::attach::Attachment;
use super::grants::GrantsByNamespaces;
use super::{Col, GatewayView, Inputs, RenderConfig, RenderedRoute};
use crate::input::{InputEvent, InputState, Record};
use crate::ir::TlsCertIr;
use crate::model::*;
use crate::sessions::Sessions;

// ---------------------------------------------------------------------------------------------
// Harness

/// Builds the stage with `build` from the record inputs and runs `test` against it.
pub(crate) fn run_stage<D, B, T>(build: B, test: T)
where
    D: Data,
    B: for<'s> FnOnce(Inputs<'s>) -> Col<'s, D> + Send + Sync + 'static,
    T: FnOnce(&mut Harness<'_, D, ()>) + Send + Sync + 'static,
{
    run_stage_with::<(), D, _, _>(move |inputs, _| build(inputs), test)
}

/// As [`run_stage`], but with one more input of type `X` (fed with [`Harness::update_extra`])
/// for stages whose input is not a record.
pub(crate) fn run_stage_with<X, D, B, T>(build: B, test: T)
where
    X: Data,
    D: Data,
    B: for<'s> FnOnce(Inputs<'s>, Col<'s, X>) -> Col<'s, D> + Send + Sync + 'static,
    T: FnOnce(&mut Harness<'_, D, X>) + Send + Sync + 'static,
{
    timely::execute_directly(move |worker| {
        let mut harness = Harness::new(worker, build);
        test(&mut harness);
        // Dropping the harness closes the inputs; `execute_directly` then runs the dataflow out.
    });
}

/// What `capture` sends: the stage's `(data, epoch, diff)` messages and its progress.
type Captured<D> = Receiver<Event<u64, Vec<(D, u64, isize)>>>;

/// A stage under test: record events and extra changes queue up until [`Harness::step`] makes
/// them one epoch.
pub(crate) struct Harness<'w, D: Data, X: Data> {
    worker: &'w mut Worker,
    sessions: Sessions,
    extra: InputSession<u64, X, isize>,
    state: InputState,
    pending: Vec<InputEvent>,
    captured: Captured<D>,
    /// The capture operator's input frontier, rebuilt from its progress events.
    frontier: MutableAntichain<u64>,
    received: Vec<(D, u64, isize)>,
    epoch: u64,
}

impl<'w, D: Data, X: Data> Harness<'w, D, X> {
    fn new<B>(worker: &'w mut Worker, build: B) -> Self
    where
        B: for<'s> FnOnce(Inputs<'s>, Col<'s, X>) -> Col<'s, D>,
    {
        let mut sessions = Sessions::new();
        let mut extra = InputSession::new();
        let captured = worker.dataflow::<u64, _, _>(|scope| {
            let inputs = sessions.collections(scope);
            let extra = extra.to_collection(scope);
            build(inputs, extra).inner.capture()
        });
        Harness {
            worker,
            sessions,
            extra,
            state: InputState::default(),
            pending: Vec::new(),
            captured,
            frontier: MutableAntichain::from_elem(0),
            received: Vec::new(),
            epoch: 0,
        }
    }

    /// Creates or replaces a record (its previous version, if any, is retracted).
    pub(crate) fn upsert(&mut self, record: impl IntoRecord) {
        self.pending.push(InputEvent::Upsert(record.into_record()));
    }

    /// Removes the record with the key of `record`.
    pub(crate) fn delete(&mut self, record: impl IntoRecord) {
        self.pending
            .push(InputEvent::Delete(record.into_record().key()));
    }

    /// Changes the extra input.
    pub(crate) fn update_extra(&mut self, x: X, diff: isize) {
        self.extra.update(x, diff);
    }

    /// Closes the queued changes as one epoch, runs the dataflow until the captured output has
    /// passed it, and returns the epoch's consolidated output changes, sorted.
    pub(crate) fn step(&mut self) -> Vec<(D, isize)> {
        for (record, diff) in self.state.apply(std::mem::take(&mut self.pending)) {
            self.sessions.update(record, diff);
        }
        let next = self.epoch + 1;
        self.sessions.advance_and_flush(next);
        self.extra.advance_to(next);
        self.extra.flush();
        let mut steps = 0usize;
        while self.frontier.less_equal(&self.epoch) {
            self.worker.step();
            for event in self.captured.try_iter() {
                match event {
                    Event::Progress(changes) => {
                        self.frontier.update_iter(changes);
                    }
                    Event::Messages(_, data) => self.received.extend(data),
                }
            }
            steps += 1;
            assert!(steps < 1_000_000, "epoch {} never completed", self.epoch);
        }
        let mut out = Vec::new();
        for (d, t, r) in std::mem::take(&mut self.received) {
            assert_eq!(
                t, self.epoch,
                "output at epoch {t} while closing {}",
                self.epoch
            );
            out.push((d, r));
        }
        consolidate(&mut out);
        self.epoch = next;
        out
    }
}

/// Expected changes in the order [`Harness::step`] returns them: consolidated, sorted.
pub(crate) fn changes<D: Ord>(mut v: Vec<(D, isize)>) -> Vec<(D, isize)> {
    consolidate(&mut v);
    v
}

/// A record of any kind, for [`Harness::upsert`] and [`Harness::delete`].
pub(crate) trait IntoRecord {
    fn into_record(self) -> Record;
}

macro_rules! into_record {
    ($($rec:ident),* $(,)?) => {$(
        impl IntoRecord for $rec {
            fn into_record(self) -> Record {
                Record::from(self)
            }
        }
        impl IntoRecord for &$rec {
            fn into_record(self) -> Record {
                Record::from(self.clone())
            }
        }
    )*};
}

into_record!(
    GatewayClassRec,
    GatewayRec,
    HttpRouteRec,
    ServiceRec,
    EndpointSliceRec,
    ReferenceGrantRec,
    SecretRec,
    NamespaceRec,
    BackendRec,
    DirectResponseRec,
    PolicyRec,
);

// ---------------------------------------------------------------------------------------------
// Upstream stages

/// The stages feeding the later ones, wired as `render` wires them, plus the record inputs those
/// later stages read directly.
pub(crate) struct Upstream<'s> {
    pub classes: Col<'s, Arc<GatewayClassRec>>,
    pub routes: Col<'s, Arc<HttpRouteRec>>,
    pub slices: Col<'s, Arc<EndpointSliceRec>>,
    pub views: Col<'s, (ObjectKey, GatewayView)>,
    pub attachments: Col<'s, Attachment>,
    pub rendered: Col<'s, (ObjectKey, Arc<RenderedRoute>)>,
    pub gateway_policies: Col<'s, (ObjectKey, super::policies::GatewayPolicy)>,
}

pub(crate) fn upstream(inputs: Inputs<'_>) -> Upstream<'_> {
    let grants = super::grants::arrange_grants(inputs.grants);
    let views = views(
        inputs.classes.clone(),
        inputs.gateways,
        inputs.secrets,
        &grants,
    );
    let attachments =
        super::attach::attach_routes(inputs.routes.clone(), inputs.namespaces, views.clone());
    let targets = super::backends::resolve_backends(
        inputs.routes.clone(),
        inputs.services,
        inputs.backends,
        &grants,
    );
    let gateway_policies = super::policies::gateway_policies(inputs.policies.clone());
    let policies = super::policies::route_policies(inputs.policies, inputs.routes.clone());
    let rendered = super::routes::render_routes(
        inputs.routes.clone(),
        targets,
        inputs.direct_responses,
        policies,
    );
    Upstream {
        classes: inputs.classes,
        routes: inputs.routes,
        slices: inputs.slices,
        views,
        attachments,
        rendered,
        gateway_policies,
    }
}

/// `our_gateways → resolve_certificates → gateway_views` with the default controller name.
pub(crate) fn views<'s>(
    classes: Col<'s, Arc<GatewayClassRec>>,
    gateways: Col<'s, Arc<GatewayRec>>,
    secrets: Col<'s, Arc<SecretRec>>,
    grants: &GrantsByNamespaces<'s>,
) -> Col<'s, (ObjectKey, GatewayView)> {
    let ours = super::gateways::our_gateways(classes, gateways, &RenderConfig::default());
    let certs = super::certificates::resolve_certificates(ours.clone(), secrets, grants);
    super::gateways::gateway_views(ours, certs)
}

// ---------------------------------------------------------------------------------------------
// Builders

/// The class our Gateways name, owned by the default controller.
pub(crate) const CLASS: &str = "sluice";

pub(crate) fn key(ns: &str, name: &str) -> ObjectKey {
    ObjectKey::new(ns, name)
}

pub(crate) fn sym(s: &str) -> Sym {
    Sym::new(s)
}

/// GatewayClass `name` of the default controller, generation 1.
pub(crate) fn mk_class(name: &str) -> GatewayClassRec {
    GatewayClassRec {
        name: Sym::new(name),
        controller: Sym::new(DEFAULT_CONTROLLER_NAME),
        generation: 1,
    }
}

/// Gateway `ns/name` of class [`CLASS`], generation 1.
pub(crate) fn mk_gateway(ns: &str, name: &str, listeners: Vec<ListenerRec>) -> GatewayRec {
    GatewayRec {
        key: key(ns, name),
        class: Sym::new(CLASS),
        generation: 1,
        listeners,
    }
}

/// An HTTP listener with no hostname that admits HTTPRoutes from every namespace (unlike the
/// API's default `Same`, so routes need not live beside their Gateway).
pub(crate) fn mk_listener(name: &str, port: u16) -> ListenerRec {
    ListenerRec {
        name: Sym::new(name),
        port,
        protocol: Protocol::Http,
        hostname: None,
        tls: None,
        allowed_namespaces: AllowedNamespaces::All,
        supported_kinds: vec![RouteGroupKind::http_route()],
        invalid_kinds: false,
        problem: None,
    }
}

/// As [`mk_listener`], but HTTPS terminating with the Secret `secret`.
pub(crate) fn mk_https_listener(
    name: &str,
    port: u16,
    hostname: Option<&str>,
    secret: ObjectKey,
) -> ListenerRec {
    ListenerRec {
        protocol: Protocol::Https,
        hostname: hostname.map(str::to_string),
        tls: Some(ListenerTls {
            mode: TlsMode::Terminate,
            certificate_refs: vec![CertificateRef {
                group: String::new(),
                kind: "Secret".into(),
                key: secret,
            }],
        }),
        ..mk_listener(name, port)
    }
}

/// A TLS Secret whose PEM parts name it.
pub(crate) fn mk_secret(ns: &str, name: &str) -> SecretRec {
    SecretRec {
        key: key(ns, name),
        cert_chain: Some(format!("cert {ns}/{name}")),
        private_key: Some(format!("key {ns}/{name}")),
        data: Vec::new(),
        labels: Vec::new(),
    }
}

/// The certificate [`mk_secret`]`(ns, name)` yields.
pub(crate) fn mk_tls(ns: &str, name: &str) -> TlsCertIr {
    TlsCertIr {
        secret: format!("{ns}/{name}"),
        cert_chain: format!("cert {ns}/{name}"),
        private_key: format!("key {ns}/{name}"),
    }
}

pub(crate) fn mk_namespace(name: &str, labels: &[(&str, &str)]) -> NamespaceRec {
    NamespaceRec {
        name: Sym::new(name),
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
    }
}

/// A parentRef to the Gateway `gw`, no section, no port.
pub(crate) fn mk_parent(gw: ObjectKey) -> ParentRef {
    ParentRef {
        group: GATEWAY_GROUP.into(),
        kind: "Gateway".into(),
        gateway: gw,
        section: None,
        port: None,
    }
}

/// A parentRef to the listener `section` of `gw`.
pub(crate) fn mk_parent_section(gw: ObjectKey, section: &str) -> ParentRef {
    ParentRef {
        section: Some(Sym::new(section)),
        ..mk_parent(gw)
    }
}

/// HTTPRoute `ns/name`, generation 1, created at 0, any hostname.
pub(crate) fn mk_route(
    ns: &str,
    name: &str,
    parents: Vec<ParentRef>,
    rules: Vec<RuleRec>,
) -> HttpRouteRec {
    HttpRouteRec {
        key: key(ns, name),
        generation: 1,
        created: 0,
        parent_refs: parents,
        hostnames: Vec::new(),
        rules,
        labels: Vec::new(),
    }
}

/// A rule with one `PathPrefix` match and these backends.
pub(crate) fn mk_rule(prefix: &str, backends: Vec<BackendRefRec>) -> RuleRec {
    RuleRec {
        name: None,
        matches: vec![mk_match(PathMatch::Prefix(prefix.into()))],
        filters: Vec::new(),
        backends,
        timeout_ms: None,
        backend_timeout_ms: None,
        retry: None,
        invalid: None,
    }
}

pub(crate) fn mk_match(path: PathMatch) -> MatchRec {
    MatchRec {
        path,
        headers: Vec::new(),
        query: Vec::new(),
        method: None,
    }
}

/// A backendRef of weight 1 to `port` of the Service `svc`.
pub(crate) fn mk_service_ref(svc: ObjectKey, port: u16) -> BackendRefRec {
    mk_backend_ref(BackendTarget::Service {
        key: svc,
        port: Some(port),
    })
}

pub(crate) fn mk_backend_ref(target: BackendTarget) -> BackendRefRec {
    BackendRefRec {
        target,
        weight: 1,
        filters: Vec::new(),
    }
}

/// Service `ns/name` with `(port name, port)` ports and no appProtocol.
pub(crate) fn mk_service(ns: &str, name: &str, ports: &[(Option<&str>, u16)]) -> ServiceRec {
    ServiceRec {
        key: key(ns, name),
        ports: ports
            .iter()
            .map(|(n, p)| ServicePortRec {
                name: n.map(str::to_string),
                port: *p,
                app_protocol: None,
            })
            .collect(),
    }
}

/// EndpointSlice `ns/name` of the Service `ns/service`.
pub(crate) fn mk_slice(
    ns: &str,
    name: &str,
    service: &str,
    ports: &[(Option<&str>, u16)],
    endpoints: Vec<EndpointRec>,
) -> EndpointSliceRec {
    EndpointSliceRec {
        key: key(ns, name),
        service: key(ns, service),
        ports: ports
            .iter()
            .map(|(n, p)| (n.map(str::to_string), *p))
            .collect(),
        endpoints,
    }
}

/// A ready endpoint.
pub(crate) fn mk_endpoint(address: &str, zone: Option<&str>) -> EndpointRec {
    EndpointRec {
        address: address.into(),
        ready: true,
        zone: zone.map(str::to_string),
    }
}

/// ReferenceGrant `ns/name` letting `(from group, from kind)` objects of `from_ns` refer to
/// `(to group, to kind)` objects of `ns` named `to_name` (`None`: all of them).
pub(crate) fn mk_grant(
    ns: &str,
    name: &str,
    from: (&str, &str, &str),
    to: (&str, &str, Option<&str>),
) -> ReferenceGrantRec {
    let (from_group, from_kind, from_ns) = from;
    let (to_group, to_kind, to_name) = to;
    ReferenceGrantRec {
        key: key(ns, name),
        from: vec![GrantFrom {
            group: from_group.into(),
            kind: from_kind.into(),
            ns: Sym::new(from_ns),
        }],
        to: vec![GrantTo {
            group: to_group.into(),
            kind: to_kind.into(),
            name: to_name.map(Sym::new),
        }],
    }
}

/// A grant letting HTTPRoutes of `from_ns` refer to the Service `ns/to_name` (`None`: every
/// Service of `ns`).
pub(crate) fn mk_service_grant(
    ns: &str,
    from_ns: &str,
    to_name: Option<&str>,
) -> ReferenceGrantRec {
    mk_grant(
        ns,
        "grant",
        (GATEWAY_GROUP, "HTTPRoute", from_ns),
        ("", "Service", to_name),
    )
}

/// A static kgateway Backend.
pub(crate) fn mk_backend(ns: &str, name: &str, hosts: &[(&str, u16)]) -> BackendRec {
    BackendRec {
        key: key(ns, name),
        hosts: hosts.iter().map(|(h, p)| (h.to_string(), *p)).collect(),
        app_protocol: None,
        unsupported: None,
    }
}

pub(crate) fn mk_direct_response(
    ns: &str,
    name: &str,
    status: u16,
    body: Option<&str>,
) -> DirectResponseRec {
    DirectResponseRec {
        key: key(ns, name),
        status,
        body: body.map(str::to_string),
    }
}

/// `(reason, message)`.
pub(crate) fn failure(reason: &str, message: &str) -> super::Failure {
    (reason.to_string(), message.to_string())
}
