//! The dataflow's inputs: one `InputSession` per record kind, fed by worker 0 (and by the
//! operator test harness).

use std::sync::Arc;

use differential_dataflow::input::InputSession;
use timely::dataflow::Scope;

use crate::input::Record;
use crate::render::Inputs;

/// One input session per record kind: what worker 0 feeds (the others hold theirs empty).
pub(crate) struct Sessions {
    classes: InputSession<u64, Arc<crate::model::GatewayClassRec>, isize>,
    gateways: InputSession<u64, Arc<crate::model::GatewayRec>, isize>,
    routes: InputSession<u64, Arc<crate::model::HttpRouteRec>, isize>,
    services: InputSession<u64, Arc<crate::model::ServiceRec>, isize>,
    slices: InputSession<u64, Arc<crate::model::EndpointSliceRec>, isize>,
    grants: InputSession<u64, Arc<crate::model::ReferenceGrantRec>, isize>,
    secrets: InputSession<u64, Arc<crate::model::SecretRec>, isize>,
    namespaces: InputSession<u64, Arc<crate::model::NamespaceRec>, isize>,
    backends: InputSession<u64, Arc<crate::model::BackendRec>, isize>,
    direct_responses: InputSession<u64, Arc<crate::model::DirectResponseRec>, isize>,
    policies: InputSession<u64, Arc<crate::model::PolicyRec>, isize>,
}

macro_rules! each_session {
    ($s:expr, $f:ident $(, $arg:expr)*) => {{
        $s.classes.$f($($arg),*);
        $s.gateways.$f($($arg),*);
        $s.routes.$f($($arg),*);
        $s.services.$f($($arg),*);
        $s.slices.$f($($arg),*);
        $s.grants.$f($($arg),*);
        $s.secrets.$f($($arg),*);
        $s.namespaces.$f($($arg),*);
        $s.backends.$f($($arg),*);
        $s.direct_responses.$f($($arg),*);
        $s.policies.$f($($arg),*);
    }};
}

impl Sessions {
    pub(crate) fn new() -> Self {
        Sessions {
            classes: InputSession::new(),
            gateways: InputSession::new(),
            routes: InputSession::new(),
            services: InputSession::new(),
            slices: InputSession::new(),
            grants: InputSession::new(),
            secrets: InputSession::new(),
            namespaces: InputSession::new(),
            backends: InputSession::new(),
            direct_responses: InputSession::new(),
            policies: InputSession::new(),
        }
    }

    pub(crate) fn update(&mut self, record: Record, diff: isize) {
        match record {
            Record::GatewayClass(r) => self.classes.update(r, diff),
            Record::Gateway(r) => self.gateways.update(r, diff),
            Record::HttpRoute(r) => self.routes.update(r, diff),
            Record::Service(r) => self.services.update(r, diff),
            Record::EndpointSlice(r) => self.slices.update(r, diff),
            Record::ReferenceGrant(r) => self.grants.update(r, diff),
            Record::Secret(r) => self.secrets.update(r, diff),
            Record::Namespace(r) => self.namespaces.update(r, diff),
            Record::Backend(r) => self.backends.update(r, diff),
            Record::DirectResponse(r) => self.direct_responses.update(r, diff),
            Record::Policy(r) => self.policies.update(r, diff),
        }
    }

    pub(crate) fn advance_and_flush(&mut self, epoch: u64) {
        each_session!(self, advance_to, epoch);
        each_session!(self, flush);
    }

    /// The input collections of a dataflow being built in `scope`.
    pub(crate) fn collections<'s>(&mut self, scope: Scope<'s, u64>) -> Inputs<'s> {
        Inputs {
            classes: self.classes.to_collection(scope),
            gateways: self.gateways.to_collection(scope),
            routes: self.routes.to_collection(scope),
            services: self.services.to_collection(scope),
            slices: self.slices.to_collection(scope),
            grants: self.grants.to_collection(scope),
            secrets: self.secrets.to_collection(scope),
            namespaces: self.namespaces.to_collection(scope),
            backends: self.backends.to_collection(scope),
            direct_responses: self.direct_responses.to_collection(scope),
            policies: self.policies.to_collection(scope),
        }
    }
}
