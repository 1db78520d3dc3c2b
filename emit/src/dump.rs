//! The JSON document `sluice translate -o json` prints and `/debug/xds` serves:
//! `{"listeners": [...], "routes": [...], "clusters": [...], "endpoints": [...], "statuses": [...]}`,
//! each resource in Envoy's proto3 JSON with its `@type`, each status
//! `{kind, namespace, name, status}`; every list ordered by name, so equal states print equal.

use serde_json::{Value, json};
use sluice_dataflow::ir::{Resource, StatusIr, StatusKey, XdsType};

use crate::json::resource_json;

/// Renders resources and statuses (each iterator in any order).
pub fn xds_json<'a>(
    resources: impl IntoIterator<Item = &'a Resource>,
    statuses: impl IntoIterator<Item = (&'a StatusKey, &'a StatusIr)>,
) -> Value {
    let mut by_type: [Vec<(String, Value)>; 4] = Default::default();
    for r in resources {
        let key = r.key();
        let slot = match key.ty {
            XdsType::Listener => 0,
            XdsType::Route => 1,
            XdsType::Cluster => 2,
            XdsType::Endpoint => 3,
        };
        by_type[slot].push((key.name, resource_json(r)));
    }
    let [listeners, routes, clusters, endpoints] = by_type.map(|mut v| {
        v.sort_by(|a, b| a.0.cmp(&b.0));
        Value::Array(v.into_iter().map(|(_, j)| j).collect())
    });
    let mut statuses: Vec<(&StatusKey, &StatusIr)> = statuses.into_iter().collect();
    statuses.sort_by(|a, b| a.0.cmp(b.0));
    let statuses: Vec<Value> = statuses
        .into_iter()
        .map(|(k, s)| json!({"kind": k.kind.as_str(), "namespace": k.namespace, "name": k.name, "status": s}))
        .collect();
    json!({
        "listeners": listeners,
        "routes": routes,
        "clusters": clusters,
        "endpoints": endpoints,
        "statuses": statuses,
    })
}
