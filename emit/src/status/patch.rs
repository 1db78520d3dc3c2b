//! What to write into an object's `status`, purely: the IR in the Kubernetes shape, merged with
//! what the object already has, `lastTransitionTime` stamped.
//!
//! * GatewayClass and Gateway statuses belong to their controller: `conditions` (and a
//!   Gateway's `listeners`) are replaced as a whole (other fields, like `addresses`, are left
//!   alone by the merge patch).
//! * A route's `status.parents` (and a kgateway policy's `status.ancestors`) is shared by
//!   every controller involved: entries with our `controllerName` are replaced by the IR's,
//!   the others kept as they are. A status delete removes our entries.
//! * GatewayExtension and GatewayParameters `conditions` are replaced as a whole.
//! * A condition keeps its `lastTransitionTime` while its `status` stays the same (matched by
//!   `type`, within the same listener (by `name`) or parent (by `parentRef` and
//!   `controllerName`)); a new condition, or one whose status changed, gets `now`.

use serde_json::{Map, Value, json};
use sluice_dataflow::ir::{StatusIr, StatusKind};

/// The `status` fields sluice writes for `kind`.
pub fn owned_fields(kind: StatusKind) -> &'static [&'static str] {
    match kind {
        StatusKind::GatewayClass => &["conditions"],
        StatusKind::Gateway => &["conditions", "listeners"],
        StatusKind::HTTPRoute => &["parents"],
        StatusKind::Kgateway(k) if k.has_ancestors() => &["ancestors"],
        StatusKind::Kgateway(_) => &["conditions"],
    }
}

/// The IR's `status` stanza as JSON (without `lastTransitionTime`).
pub fn ir_json(ir: &StatusIr) -> Value {
    // The IR is plain data with string keys: serializing it cannot fail.
    serde_json::to_value(ir).unwrap_or(Value::Null)
}

/// The owned fields of the `status` sluice wants the object to have, given its current
/// `status` (`Value::Null` if it has none) and the desired IR (`None`: sluice no longer reports
/// on the object). `None` when there is nothing to write (a delete on a kind whose status
/// is wholly ours is left as is: the object is gone or no longer ours).
pub fn desired_status(
    kind: StatusKind,
    ir: Option<&StatusIr>,
    current: &Value,
    controller_name: &str,
    now: &str,
) -> Option<Map<String, Value>> {
    match kind {
        StatusKind::GatewayClass | StatusKind::Gateway | StatusKind::Kgateway(_)
            if owned_fields(kind) != ["ancestors"] =>
        {
            let mut new = ir_json(ir?);
            stamp_conditions(&mut new, current, now);
            let old_listeners = current.get("listeners").and_then(Value::as_array);
            if let Some(listeners) = new.get_mut("listeners").and_then(Value::as_array_mut) {
                for listener in listeners {
                    let old = old_listeners
                        .and_then(|old| old.iter().find(|o| o.get("name") == listener.get("name")));
                    stamp_conditions(listener, old.unwrap_or(&Value::Null), now);
                }
            }
            let mut out = Map::new();
            for &field in owned_fields(kind) {
                out.insert(
                    field.to_owned(),
                    new.get(field).cloned().unwrap_or_else(|| json!([])),
                );
            }
            Some(out)
        }
        _ => {
            // Route `parents` and policy `ancestors` are shared by every controller involved:
            // only entries with our `controllerName` are ours.
            let field = owned_fields(kind)[0];
            let reference = if field == "parents" {
                "parentRef"
            } else {
                "ancestorRef"
            };
            let empty = Vec::new();
            let old_parents = current
                .get(field)
                .and_then(Value::as_array)
                .unwrap_or(&empty);
            let is_ours = |p: &Value| {
                p.get("controllerName").and_then(Value::as_str) == Some(controller_name)
            };
            let mut parents: Vec<Value> = old_parents
                .iter()
                .filter(|p| !is_ours(p))
                .cloned()
                .collect();
            if let Some(ir) = ir {
                let new = ir_json(ir);
                for mut parent in new
                    .get(field)
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default()
                {
                    let old = old_parents.iter().find(|o| {
                        o.get(reference) == parent.get(reference)
                            && o.get("controllerName") == parent.get("controllerName")
                    });
                    stamp_conditions(&mut parent, old.unwrap_or(&Value::Null), now);
                    parents.push(parent);
                }
            }
            let mut out = Map::new();
            out.insert(field.to_owned(), Value::Array(parents));
            Some(out)
        }
    }
}

/// Whether `current` already has every owned field as `desired` has it.
pub fn is_current(current: &Value, desired: &Map<String, Value>) -> bool {
    desired.iter().all(|(field, value)| {
        let now = current.get(field);
        match value {
            // An absent list and an empty list are the same status.
            Value::Array(a) if a.is_empty() => now.is_none_or(|v| v == value || v.is_null()),
            _ => now == Some(value),
        }
    })
}

/// The JSON merge patch for the status subresource; `resource_version` (for optimistic
/// concurrency on shared statuses) is included when given.
pub fn merge_patch(desired: &Map<String, Value>, resource_version: Option<&str>) -> Value {
    let mut patch = Map::new();
    if let Some(rv) = resource_version {
        patch.insert("metadata".to_owned(), json!({ "resourceVersion": rv }));
    }
    patch.insert("status".to_owned(), Value::Object(desired.clone()));
    Value::Object(patch)
}

/// Sets `lastTransitionTime` on every condition of `holder.conditions`: the old condition's
/// (same `type` in `old.conditions`) if its `status` is unchanged and it has one, else `now`.
fn stamp_conditions(holder: &mut Value, old: &Value, now: &str) {
    let empty = Vec::new();
    let old_conditions = old
        .get("conditions")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    let Some(conditions) = holder.get_mut("conditions").and_then(Value::as_array_mut) else {
        return;
    };
    for condition in conditions {
        let kept = old_conditions
            .iter()
            .find(|o| o.get("type") == condition.get("type"))
            .filter(|o| o.get("status") == condition.get("status"))
            .and_then(|o| o.get("lastTransitionTime"))
            .filter(|t| t.is_string())
            .cloned();
        if let Some(c) = condition.as_object_mut() {
            c.insert(
                "lastTransitionTime".to_owned(),
                kept.unwrap_or_else(|| Value::String(now.to_owned())),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_dataflow::ir::{Condition, ParentRefIr, RouteParentStatusIr};

    const CONTROLLER: &str = "sluice.dev/gateway-controller";

    fn route(accepted: bool) -> StatusIr {
        StatusIr::Route {
            parents: vec![RouteParentStatusIr {
                parent_ref: ParentRefIr {
                    group: "gateway.networking.k8s.io".into(),
                    kind: "Gateway".into(),
                    namespace: "infra".into(),
                    name: "gw".into(),
                    section_name: None,
                    port: None,
                },
                controller_name: CONTROLLER.into(),
                conditions: vec![Condition::new("Accepted", accepted, "Accepted", "", 1)],
            }],
        }
    }

    #[test]
    fn route_parents_of_other_controllers_are_kept() {
        let other = json!({"parentRef": {"name": "x"}, "controllerName": "example.com/other",
                           "conditions": []});
        let current = json!({"parents": [other.clone(),
            {"parentRef": {"name": "old"}, "controllerName": CONTROLLER, "conditions": []}]});
        let desired = desired_status(
            StatusKind::HTTPRoute,
            Some(&route(true)),
            &current,
            CONTROLLER,
            "T1",
        )
        .unwrap();
        let parents = desired["parents"].as_array().unwrap();
        assert_eq!(parents.len(), 2);
        assert_eq!(parents[0], other);
        assert_eq!(
            parents[1]["conditions"][0]["lastTransitionTime"],
            json!("T1")
        );
        let gone = desired_status(StatusKind::HTTPRoute, None, &current, CONTROLLER, "T1").unwrap();
        assert_eq!(gone["parents"], json!([other]));
    }

    #[test]
    fn policy_ancestors_of_other_controllers_are_kept() {
        use sluice_dataflow::ir::PolicyAncestorStatusIr;
        use sluice_dataflow::model::PolicyKind;
        let kind = StatusKind::Kgateway(PolicyKind::TrafficPolicy);
        let ours = StatusIr::Policy {
            ancestors: vec![PolicyAncestorStatusIr {
                ancestor_ref: ParentRefIr {
                    group: "gateway.networking.k8s.io".into(),
                    kind: "Gateway".into(),
                    namespace: "default".into(),
                    name: "gw".into(),
                    section_name: None,
                    port: None,
                },
                controller_name: CONTROLLER.into(),
                conditions: vec![Condition::new("Accepted", true, "Valid", "", 1)],
            }],
        };
        let other = json!({"ancestorRef": {"name": "other-gw"},
                           "controllerName": "other-controller.example.com/controller",
                           "conditions": []});
        let current = json!({"ancestors": [other.clone(),
            {"ancestorRef": {"name": "stale"}, "controllerName": CONTROLLER, "conditions": []}]});
        let desired = desired_status(kind, Some(&ours), &current, CONTROLLER, "T1").unwrap();
        let ancestors = desired["ancestors"].as_array().unwrap();
        assert_eq!(ancestors.len(), 2, "{desired:?}");
        assert_eq!(ancestors[0], other);
        assert_eq!(ancestors[1]["ancestorRef"]["name"], json!("gw"));
        // The policy no longer reaches our Gateway: our entry goes, the other stays.
        let gone = desired_status(kind, None, &current, CONTROLLER, "T1").unwrap();
        assert_eq!(gone["ancestors"], json!([other]));
        // GatewayExtension conditions are ours as a whole.
        let ext = StatusKind::Kgateway(PolicyKind::GatewayExtension);
        assert_eq!(owned_fields(ext), ["conditions"]);
    }

    #[test]
    fn transition_time_is_kept_while_status_is_unchanged() {
        let first = desired_status(
            StatusKind::HTTPRoute,
            Some(&route(true)),
            &Value::Null,
            CONTROLLER,
            "T1",
        )
        .unwrap();
        let current = Value::Object(first.clone());
        let same = desired_status(
            StatusKind::HTTPRoute,
            Some(&route(true)),
            &current,
            CONTROLLER,
            "T2",
        )
        .unwrap();
        assert_eq!(same, first);
        assert!(is_current(&current, &same));
        let flipped = desired_status(
            StatusKind::HTTPRoute,
            Some(&route(false)),
            &current,
            CONTROLLER,
            "T2",
        )
        .unwrap();
        assert_eq!(
            flipped["parents"][0]["conditions"][0]["lastTransitionTime"],
            json!("T2")
        );
        assert!(!is_current(&current, &flipped));
    }
}
