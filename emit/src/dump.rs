//! The JSON document `sluice translate -o json` prints and `/debug/xds` serves:
//! `{"listeners": [...], "routes": [...], "clusters": [...], "endpoints": [...], "secrets": [...],
//! "statuses": [...]}`, each resource in Envoy's proto3 JSON with its `@type`, each status
//! `{kind, namespace, name, status}`; every list ordered by name, so equal states print equal.
//!
//! `secrets` are the SDS Secrets cut out of the listeners; their private keys read
//! [`REDACTED`] unless the caller asks for them ([`Keys::Show`]).

use serde_json::{Value, json};
use sluice_dataflow::ir::{Resource, StatusIr, StatusKey, XdsType};

use crate::json::resource_json;

/// What a private key reads in a dump unless shown.
pub const REDACTED: &str = "[redacted]";

/// Whether a dump shows private keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keys {
    Redact,
    Show,
}

/// Renders resources and statuses (each iterator in any order).
pub fn xds_json<'a>(
    resources: impl IntoIterator<Item = &'a Resource>,
    statuses: impl IntoIterator<Item = (&'a StatusKey, &'a StatusIr)>,
    keys: Keys,
) -> Value {
    let mut by_type: [Vec<(String, Value)>; 5] = Default::default();
    let mut secrets = std::collections::BTreeMap::new();
    for r in resources {
        let key = r.key();
        let slot = match key.ty {
            XdsType::Listener => 0,
            XdsType::Route => 1,
            XdsType::Cluster => 2,
            XdsType::Endpoint => 3,
            XdsType::Secret => 4,
        };
        if let Resource::Listener(l) = r {
            for tls in crate::convert::listener_secrets(l).into_values() {
                let mut secret = tls.clone();
                if keys == Keys::Redact {
                    secret.private_key = REDACTED.to_string();
                }
                secrets.insert(tls.secret.clone(), secret);
            }
        }
        by_type[slot].push((key.name, resource_json(r)));
    }
    for (name, tls) in secrets {
        let secret = crate::convert::to_envoy_secret(&tls);
        let mut json = crate::json::message_json(&secret).expect("a Secret renders");
        if let Value::Object(fields) = &mut json {
            fields.insert("@type".into(), XdsType::Secret.type_url().into());
        }
        by_type[4].push((name, json));
    }
    let [listeners, routes, clusters, endpoints, secrets] = by_type.map(|mut v| {
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
        "secrets": secrets,
        "statuses": statuses,
    })
}
