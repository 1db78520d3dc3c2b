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

/// `sluice translate -o json` of `file`.
fn translate(file: &std::path::Path) -> Value {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["translate", "-o", "json", "-f"])
        .arg(file)
        .output()
        .expect("run sluice translate");
    serde_json::from_slice(&out.stdout).expect("translate prints JSON")
}

/// `to` relative to the working directory, as a user writes `--from examples/`.
fn relative(to: &std::path::Path) -> std::path::PathBuf {
    let cwd = std::env::current_dir().unwrap();
    let mut out = std::path::PathBuf::new();
    for c in cwd.components() {
        if matches!(c, std::path::Component::Normal(_)) {
            out.push("..");
        }
    }
    out.join(to.strip_prefix("/").unwrap())
}

/// Issue 13 end to end: `sluice serve --from` a *relative* path laid out as the kubelet mounts
/// a ConfigMap (`basic.yaml -> ..data/basic.yaml`, `..data -> ..<timestamp>`) follows the
/// atomic `..data` swap of an update and then an in-place edit, each time serving on
/// `/debug/xds` exactly what `sluice translate` makes of the new content.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_follows_a_configmap_volume_through_a_relative_path() {
    use std::os::unix::fs::symlink;
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("cm");
    std::fs::create_dir(&dir).unwrap();
    let basic = std::fs::read_to_string(common::root().join("testdata/basic.yaml")).unwrap();
    let v1 = dir.join("..2026_12_02_09_00_00.1");
    std::fs::create_dir(&v1).unwrap();
    std::fs::write(v1.join("basic.yaml"), &basic).unwrap();
    symlink(v1.file_name().unwrap(), dir.join("..data")).unwrap();
    symlink("..data/basic.yaml", dir.join("basic.yaml")).unwrap();

    let [xds, admin] = common::free_ports(2)[..] else {
        unreachable!()
    };
    let mut sluice =
        common::sluice_serve(&relative(&dir), xds, admin, work.path().join("sluice.log"));
    common::wait_sluice_ready(&mut sluice, admin, Duration::from_secs(30)).await;
    let first = get_json(admin, "/debug/xds").await;
    assert_eq!(first, translate(&v1.join("basic.yaml")));

    // The update: a new version directory, `..data_tmp` pointed at it and renamed over
    // `..data`, the old version removed. The route's backend port changes.
    let edited = basic.replace(
        "backendRefs: [{ name: web, port: 8080 }]",
        "backendRefs: [{ name: web, port: 9090 }]",
    );
    assert_ne!(
        edited, basic,
        "basic.yaml has the backendRef this test edits"
    );
    let v2 = dir.join("..2026_12_02_09_00_01.2");
    std::fs::create_dir(&v2).unwrap();
    std::fs::write(v2.join("basic.yaml"), &edited).unwrap();
    symlink(v2.file_name().unwrap(), dir.join("..data_tmp")).unwrap();
    std::fs::rename(dir.join("..data_tmp"), dir.join("..data")).unwrap();
    std::fs::remove_dir_all(&v1).unwrap();
    let want = translate(&v2.join("basic.yaml"));
    assert_ne!(want, first);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while get_json(admin, "/debug/xds").await != want {
        assert!(
            std::time::Instant::now() < deadline,
            "the ..data swap never reached /debug/xds\n{}",
            sluice.log_tail(20)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // And an in-place edit of the file behind the link (as `sed -i` on it would be a rename).
    std::fs::write(v2.join("basic.yaml"), &basic).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while get_json(admin, "/debug/xds").await != first {
        assert!(
            std::time::Instant::now() < deadline,
            "the in-place edit never reached /debug/xds\n{}",
            sluice.log_tail(20)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
