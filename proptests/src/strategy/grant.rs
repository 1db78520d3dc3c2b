//! ReferenceGrants: HTTPRoutes in one namespace allowed to reach Services or Backends in
//! another, Gateways allowed to read certificate Secrets, with or without a target name.

use proptest::prelude::*;
use proptest::sample::select;
use sluice_dataflow::model::{
    GATEWAY_GROUP, GrantFrom, GrantTo, KGATEWAY_GROUP, ObjectKey, ReferenceGrantRec, Sym,
};

use super::names::{BACKENDS, GRANTS, NAMESPACES, SECRETS, key_in, service_name};

/// A `from` entry naming one of the namespaces other than the grant's own.
fn grant_from(own: &'static str) -> impl Strategy<Value = GrantFrom> {
    let kind = prop_oneof![6 => Just("HTTPRoute"), 3 => Just("Gateway"), 1 => Just("GRPCRoute")];
    let others: Vec<&'static str> = NAMESPACES.into_iter().filter(|ns| *ns != own).collect();
    (kind, select(others)).prop_map(|(kind, ns)| GrantFrom {
        group: GATEWAY_GROUP.into(),
        kind: kind.into(),
        ns: Sym::new(ns),
    })
}

fn grant_to() -> impl Strategy<Value = GrantTo> {
    let to = |group: &'static str, kind: &'static str, name: BoxedStrategy<&'static str>| {
        prop::option::weighted(0.5, name).prop_map(move |name| GrantTo {
            group: group.into(),
            kind: kind.into(),
            name: name.map(Sym::new),
        })
    };
    prop_oneof![
        4 => to("", "Service", service_name().boxed()),
        2 => to(KGATEWAY_GROUP, "Backend", select(&BACKENDS[..]).boxed()),
        2 => to("", "Secret", select(&SECRETS[..]).boxed()),
    ]
}

/// A ReferenceGrant `rg-1`/`rg-2` with 1–2 `from` and 1–2 `to` entries.
pub fn reference_grant() -> impl Strategy<Value = ReferenceGrantRec> {
    key_in(&GRANTS).prop_flat_map(|key: ObjectKey| {
        (
            prop::collection::vec(grant_from(key.ns.as_str()), 1..=2),
            prop::collection::vec(grant_to(), 1..=2),
        )
            .prop_map(move |(from, to)| ReferenceGrantRec { key, from, to })
    })
}
