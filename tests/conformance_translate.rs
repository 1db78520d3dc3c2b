//! Every Gateway API conformance HTTPRoute test's manifests (with the base manifests), through
//! both engines: the engines agree, the statuses carry the conditions the test asserts, and
//! each of our Gateways' resources, inlined into a static bootstrap, pass
//! `envoy --mode validate` of the real Envoy 1.40.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::Value;
use sluice_dataflow::ir::{Resource, StatusIr, StatusKey, StatusKind};

const CLASS: &str = "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: { name: sluice }\nspec: { controllerName: sluice.dev/gateway-controller }\n";

struct Case {
    name: String,
    files: Vec<String>,
    gateway: (String, String),
    routes: Vec<(String, String)>,
    route: (String, String),
    asserted: Vec<(String, String, String)>,
}

fn cases() -> Vec<Case> {
    let text =
        std::fs::read_to_string(common::conformance_dir().join("cases.json")).expect("cases.json");
    let doc: Value = serde_json::from_str(&text).unwrap();
    let nn = |v: &Value| {
        (
            v["Namespace"].as_str().unwrap_or("").to_string(),
            v["Name"].as_str().unwrap_or("").to_string(),
        )
    };
    doc["httproute_tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| Case {
            name: t["name"].as_str().unwrap().to_string(),
            files: t["yaml_files"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f.as_str().unwrap().to_string())
                .collect(),
            gateway: nn(&t["namespaced_names_in_test"]["gwNN"]),
            route: nn(&t["namespaced_names_in_test"]["routeNN"]),
            routes: t["manifest_resources"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| r["kind"] == "HTTPRoute")
                .map(|r| {
                    (
                        r["namespace"].as_str().unwrap().to_string(),
                        r["name"].as_str().unwrap().to_string(),
                    )
                })
                .collect(),
            asserted: t["status_conditions_asserted"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    let s = |k: &str| c[k].as_str().unwrap_or("").to_string();
                    (s("Type"), s("Status"), s("Reason"))
                })
                .collect(),
        })
        .collect()
}

fn write_manifests(case: &Case, dir: &std::path::Path) -> Vec<PathBuf> {
    let mut paths = vec![dir.join("00-class.yaml")];
    std::fs::write(&paths[0], CLASS).unwrap();
    for (i, f) in case.files.iter().enumerate() {
        let text = std::fs::read_to_string(common::conformance_dir().join(f)).unwrap();
        let p = dir.join(format!("{:02}-{}", i + 1, f.replace('/', "_")));
        std::fs::write(&p, text.replace("{GATEWAY_CLASS_NAME}", "sluice")).unwrap();
        paths.push(p);
    }
    paths
}

fn parent_conditions<'a>(
    statuses: &'a std::collections::BTreeMap<StatusKey, std::sync::Arc<StatusIr>>,
    route: &(String, String),
    gateway: &(String, String),
) -> Option<&'a Vec<sluice_dataflow::ir::Condition>> {
    let key = StatusKey {
        kind: StatusKind::HTTPRoute,
        namespace: route.0.clone(),
        name: route.1.clone(),
    };
    let StatusIr::Route { parents } = &**statuses.get(&key)? else {
        return None;
    };
    parents
        .iter()
        .find(|p| p.parent_ref.namespace == gateway.0 && p.parent_ref.name == gateway.1)
        .map(|p| &p.conditions)
}

/// The first Gateway a route's status names.
fn route_gateway(
    statuses: &std::collections::BTreeMap<StatusKey, std::sync::Arc<StatusIr>>,
    route: &(String, String),
) -> (String, String) {
    let key = StatusKey {
        kind: StatusKind::HTTPRoute,
        namespace: route.0.clone(),
        name: route.1.clone(),
    };
    match statuses.get(&key).map(|s| &**s) {
        Some(StatusIr::Route { parents }) if !parents.is_empty() => (
            parents[0].parent_ref.namespace.clone(),
            parents[0].parent_ref.name.clone(),
        ),
        _ => (String::new(), String::new()),
    }
}

#[test]
fn conformance_manifests_translate_validate_and_report_asserted_status() {
    let cases = cases();
    assert!(
        cases.len() >= 40,
        "cases.json lists {} HTTPRoute tests",
        cases.len()
    );
    let envoy_dir = tempfile::tempdir().unwrap();
    let mut validated: BTreeSet<String> = BTreeSet::new();
    let mut failures = Vec::new();
    for case in &cases {
        let dir = tempfile::tempdir().unwrap();
        let records = common::records(&write_manifests(case, dir.path()), false);
        let snapshot = common::dataflow(&records, 1);
        let naive = common::naive(&records);
        if let Some(d) =
            sluice_proptests::compare::snapshot_diff("dataflow", &snapshot, "naive", &naive)
        {
            failures.push(format!("{}: engines disagree\n{d}", case.name));
            continue;
        }
        // cases.json lists asserted conditions without saying which route carries them: a
        // negative one is the test's route on the test's Gateway; a positive one asserted k
        // times must hold on at least k of the test's routes (on the Gateway each names).
        let holds = |route: &(String, String),
                     gateway: &(String, String),
                     (ty, status, reason): &(String, String, String)| {
            parent_conditions(&snapshot.statuses, route, gateway).is_some_and(|cs| {
                cs.iter().any(|c| {
                    &c.type_ == ty
                        && &c.status == status
                        && (reason.is_empty() || &c.reason == reason)
                })
            })
        };
        let distinct: BTreeSet<&(String, String, String)> = case.asserted.iter().collect();
        for cond in distinct {
            let wanted = case.asserted.iter().filter(|c| *c == cond).count();
            let ok = if cond.1 == "True" {
                case.routes
                    .iter()
                    .filter(|r| holds(r, &route_gateway(&snapshot.statuses, r), cond))
                    .count()
                    >= wanted
            } else {
                holds(&case.route, &case.gateway, cond)
            };
            if !ok {
                failures.push(format!(
                    "{}: {:?} not found (route {}/{}, gateway {}/{}): {:?}",
                    case.name,
                    cond,
                    case.route.0,
                    case.route.1,
                    case.gateway.0,
                    case.gateway.1,
                    parent_conditions(&snapshot.statuses, &case.route, &case.gateway)
                ));
            }
        }
        let gateways: BTreeSet<(String, String)> = snapshot
            .statuses
            .keys()
            .filter(|k| k.kind == StatusKind::Gateway)
            .map(|k| (k.namespace.clone(), k.name.clone()))
            .collect();
        for (ns, name) in gateways {
            let view = common::gateway_view(&snapshot, &ns, &name);
            if !view
                .resources
                .values()
                .any(|r| matches!(r, Resource::Listener(_)))
            {
                continue;
            }
            let fingerprint =
                serde_json::to_string(&sluice_emit::bootstrap::static_bootstrap(&view, 0)).unwrap();
            if !validated.insert(fingerprint) {
                continue;
            }
            if let Err(e) = common::envoy_validate(
                &view,
                envoy_dir.path(),
                &format!("{}-{ns}-{name}", case.name),
            ) {
                failures.push(format!("{}: envoy rejects {ns}/{name}: {e}", case.name));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        validated.len() >= 10,
        "only {} distinct gateway configurations validated",
        validated.len()
    );
}
