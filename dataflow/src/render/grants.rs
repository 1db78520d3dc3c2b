//! ReferenceGrant checks: which cross-namespace references are permitted.

use std::sync::Arc;

use differential_dataflow::operators::arrange::{Arranged, TraceAgent};
use differential_dataflow::trace::implementations::ValSpine;
use serde::{Deserialize, Serialize};

use super::Col;
use crate::model::*;

/// Grants keyed by `(from namespace, grant namespace)`.
pub type GrantsByNamespaces<'s> =
    Arranged<'s, TraceAgent<ValSpine<(Sym, Sym), Arc<ReferenceGrantRec>, u64, isize>>>;

/// A cross-namespace reference to check: `from_kind` objects in `from_ns` referring to the
/// `to_kind` object `to`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct GrantQuery {
    pub from_group: String,
    pub from_kind: String,
    pub from_ns: Sym,
    pub to_group: String,
    pub to_kind: String,
    pub to: ObjectKey,
}

pub fn arrange_grants(grants: Col<'_, Arc<ReferenceGrantRec>>) -> GrantsByNamespaces<'_> {
    grants
        .flat_map(|g| {
            let mut from: Vec<Sym> = g.from.iter().map(|f| f.ns).collect();
            from.sort();
            from.dedup();
            from.into_iter().map(move |ns| ((ns, g.key.ns), g.clone()))
        })
        .arrange_by_key_named("ArrangeGrants")
}

/// The queries some grant permits, each once, with the key of the object that asked.
pub fn check_grants<'s, K: crate::render::Key>(
    queries: Col<'s, (GrantQuery, K)>,
    grants: &GrantsByNamespaces<'s>,
) -> Col<'s, (K, GrantQuery)> {
    queries
        .map(|(q, k)| ((q.from_ns, q.to.ns), (q, k)))
        .join_core(grants.clone(), |_, (q, k), g| {
            g.permits(
                &q.from_group,
                &q.from_kind,
                q.from_ns,
                &q.to_group,
                &q.to_kind,
                q.to,
            )
            .then(|| (k.clone(), q.clone()))
        })
        .distinct()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::testing::*;

    /// An HTTPRoute of `from_ns` referring to the Service `to`.
    fn query(from_ns: &str, to: ObjectKey) -> GrantQuery {
        GrantQuery {
            from_group: GATEWAY_GROUP.into(),
            from_kind: "HTTPRoute".into(),
            from_ns: sym(from_ns),
            to_group: String::new(),
            to_kind: "Service".into(),
            to,
        }
    }

    /// `check_grants` over the grant records and the queries fed as the extra input.
    fn run(
        test: impl FnOnce(&mut Harness<'_, (u32, GrantQuery), (GrantQuery, u32)>)
        + Send
        + Sync
        + 'static,
    ) {
        run_stage_with(
            |inputs, queries| check_grants(queries, &arrange_grants(inputs.grants)),
            test,
        );
    }

    #[test]
    fn a_grant_permits_its_query() {
        run(|h| {
            let q = query("apps", key("backends", "svc"));
            h.update_extra((q.clone(), 1), 1);
            h.upsert(mk_service_grant("backends", "apps", Some("svc")));
            assert_eq!(h.step(), vec![((1, q), 1)]);
        });
    }

    #[test]
    fn a_grant_added_later_permits_and_its_deletion_retracts() {
        run(|h| {
            let q = query("apps", key("backends", "svc"));
            h.update_extra((q.clone(), 1), 1);
            assert_eq!(h.step(), vec![]);

            h.upsert(mk_service_grant("backends", "apps", Some("svc")));
            assert_eq!(h.step(), vec![((1, q.clone()), 1)]);

            h.delete(mk_service_grant("backends", "apps", Some("svc")));
            assert_eq!(h.step(), vec![((1, q.clone()), -1)]);

            // A query withdrawn while granted retracts too.
            h.upsert(mk_service_grant("backends", "apps", Some("svc")));
            assert_eq!(h.step(), vec![((1, q.clone()), 1)]);
            h.update_extra((q.clone(), 1), -1);
            assert_eq!(h.step(), vec![((1, q), -1)]);
        });
    }

    #[test]
    fn wildcard_to_name_permits_every_object_of_the_kind_in_the_grant_namespace_only() {
        run(|h| {
            let svc = query("apps", key("backends", "svc"));
            let other = query("apps", key("backends", "other"));
            let from_elsewhere = query("web", key("backends", "svc"));
            let other_ns = query("apps", key("elsewhere", "svc"));
            let secret = GrantQuery {
                to_kind: "Secret".into(),
                ..svc.clone()
            };
            for (i, q) in [&svc, &other, &from_elsewhere, &other_ns, &secret]
                .into_iter()
                .enumerate()
            {
                h.update_extra((q.clone(), i as u32), 1);
            }
            h.upsert(mk_service_grant("backends", "apps", None));
            assert_eq!(
                h.step(),
                changes(vec![((0, svc.clone()), 1), ((1, other.clone()), 1)])
            );

            // Narrowing the grant to one name retracts the other.
            h.upsert(mk_service_grant("backends", "apps", Some("svc")));
            assert_eq!(h.step(), vec![((1, other), -1)]);
        });
    }

    #[test]
    fn two_grants_permitting_one_query_answer_once() {
        run(|h| {
            let q = query("apps", key("backends", "svc"));
            h.update_extra((q.clone(), 7), 1);
            let named = mk_service_grant("backends", "apps", Some("svc"));
            let all = ReferenceGrantRec {
                key: key("backends", "all"),
                ..mk_service_grant("backends", "apps", None)
            };
            h.upsert(&named);
            h.upsert(&all);
            assert_eq!(h.step(), vec![((7, q.clone()), 1)]);

            h.delete(&named);
            assert_eq!(h.step(), vec![]);

            h.delete(&all);
            assert_eq!(h.step(), vec![((7, q), -1)]);
        });
    }

    #[test]
    fn grants_are_arranged_by_each_distinct_from_namespace() {
        run_stage(
            |inputs| arrange_grants(inputs.grants).as_collection(|k, g| (*k, g.key)),
            |h| {
                let mut g = mk_service_grant("backends", "apps", None);
                let from = g.from[0].clone();
                g.from = vec![
                    from.clone(),
                    GrantFrom {
                        kind: "GRPCRoute".into(),
                        ..from.clone()
                    },
                    GrantFrom {
                        ns: sym("web"),
                        ..from
                    },
                ];
                h.upsert(&g);
                let at = |from: &str| ((sym(from), sym("backends")), g.key);
                assert_eq!(h.step(), changes(vec![(at("apps"), 1), (at("web"), 1)]));
            },
        );
    }
}
