//! `sluice serve`'s `/debug/xds` shows exactly what `sluice translate -o json` prints for the
//! same manifests, and `/debug/xds?node=ns/name` one proxy's view.

mod common;

use std::time::Duration;

use serde_json::Value;

async fn get_json(port: u16, path: &str) -> Value {
    let r = common::http_get(port, "localhost", path, Duration::from_secs(5))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status, 200, "{path}: {}", r.body);
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {}", r.body))
}

fn names(doc: &Value, kind: &str) -> Vec<String> {
    doc[kind]
        .as_array()
        .unwrap_or_else(|| panic!("no {kind} array in {doc}"))
        .iter()
        .map(|r| r["name"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debug_xds_matches_translate() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("manifests");
    std::fs::create_dir(&dir).unwrap();
    let file = dir.join("basic.yaml");
    std::fs::copy(common::root().join("testdata/basic.yaml"), &file).unwrap();

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["translate", "-o", "json", "-f"])
        .arg(&file)
        .output()
        .expect("run sluice translate");
    assert!(
        out.status.success(),
        "sluice translate: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let translated: Value = serde_json::from_slice(&out.stdout).expect("translate prints JSON");

    let [xds, admin] = common::free_ports(2)[..] else {
        unreachable!()
    };
    let mut sluice = common::sluice_serve(&dir, xds, admin, work.path().join("sluice.log"));
    common::wait_sluice_ready(&mut sluice, admin, Duration::from_secs(30)).await;

    let served = get_json(admin, "/debug/xds").await;
    assert!(
        served == translated,
        "/debug/xds differs from `sluice translate -o json`:\n/debug/xds: {}\ntranslate: {}\n{}",
        serde_json::to_string_pretty(&served).unwrap(),
        serde_json::to_string_pretty(&translated).unwrap(),
        sluice.log_tail(20)
    );
    assert!(
        !names(&served, "listeners").is_empty(),
        "basic.yaml has a listener"
    );

    // One proxy's view: its Gateway's listener, the route configuration and clusters it
    // uses; no statuses.
    let view = get_json(admin, "/debug/xds?node=infra/gw").await;
    assert_eq!(names(&view, "listeners"), ["infra/gw/80"], "{view}");
    assert_eq!(names(&view, "routes"), ["infra/gw/80"], "{view}");
    assert_eq!(names(&view, "clusters"), ["svc/infra/web/8080"], "{view}");
    let assignments: Vec<&str> = view["endpoints"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["cluster_name"].as_str())
        .collect();
    assert_eq!(assignments, ["svc/infra/web/8080"], "{view}");
    // The Gateway of another class has nothing.
    let other = get_json(admin, "/debug/xds?node=infra/not-ours").await;
    assert!(names(&other, "listeners").is_empty(), "{other}");
}
