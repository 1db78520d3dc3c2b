//! Runs `envoy --mode validate` on bootstraps built from IR: Envoy itself decides whether the
//! converted resources are acceptable (proto validation rules, regex syntax, TLS material,
//! cluster references), which no amount of field-by-field asserting can.
//!
//! Needs an Envoy binary: `$SLUICE_ENVOY`, or the one `scripts/install-envoy.sh` installs. A
//! missing binary fails the test on purpose: silently passing would hide that nothing was checked.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use sluice_emit::bootstrap::{ads_bootstrap, static_bootstrap};

fn envoy_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("SLUICE_ENVOY") {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "SLUICE_ENVOY={} is not a file",
            path.display()
        );
        return path;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("emit/ is in the workspace");
    // `.venv/lib/python3.11/site-packages/envoy/_bin/envoy`, whatever the venv's Python minor.
    let lib = root.join(".venv/lib");
    let found = std::fs::read_dir(&lib)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("python3"))
        .map(|e| e.path().join("site-packages/envoy/_bin/envoy"))
        .find(|p| p.is_file());
    found.unwrap_or_else(|| {
        panic!(
            "no Envoy binary under {}/python3*/site-packages/envoy/_bin: run \
             `scripts/install-envoy.sh` (or set SLUICE_ENVOY)",
            lib.display()
        )
    })
}

/// Writes the bootstrap to a temp file and validates it; panics with Envoy's output on failure.
fn validate(bootstrap: &serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bootstrap.json");
    std::fs::write(&file, serde_json::to_vec_pretty(bootstrap).unwrap()).unwrap();
    // For debugging: keep a copy of what Envoy saw.
    if let Some(keep) = std::env::var_os("SLUICE_KEEP_BOOTSTRAP") {
        std::fs::copy(&file, keep).unwrap();
    }
    let out = Command::new(envoy_binary())
        .args(["--mode", "validate", "--log-level", "warn", "-c"])
        .arg(&file)
        .output()
        .expect("envoy runs");
    assert!(
        out.status.success(),
        "envoy rejected the bootstrap:\n{}\n{}\nbootstrap:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        serde_json::to_string_pretty(bootstrap).unwrap()
    );
}

#[test]
fn envoy_accepts_static_bootstrap_of_sample_snapshot() {
    let (cert, key) = common::self_signed(&["a.example.com", "*.example.com"]);
    let snapshot = common::sample_snapshot(&cert, &key);
    validate(&static_bootstrap(&snapshot, 19000));
}

#[test]
fn envoy_accepts_ads_bootstraps() {
    for delta in [false, true] {
        validate(&ads_bootstrap(
            "node-1",
            "gw",
            ("default", "gw"),
            "127.0.0.1",
            18000,
            delta,
            19000,
            Some("127.0.0.2"),
        ));
    }
    validate(&ads_bootstrap(
        "node-1",
        "gw",
        ("default", "gw"),
        "sluice.sluice-system",
        18000,
        false,
        19000,
        None,
    ));
}

/// The robustness rules (duplicate chain matches dropped, a missing route configuration or
/// assignment replaced by an empty one) must leave a listener Envoy accepts.
#[test]
fn envoy_accepts_degenerate_inputs() {
    use common::*;
    use sluice_dataflow::ir::{DiscoveryIr, Resource};
    let (cert, key) = self_signed(&["a.example.com"]);
    let tls = || Some(mk_tls(&cert, &key));
    let resources = [
        Resource::from(mk_listener(
            "l/80",
            8080,
            vec![mk_chain("x", &[], None), mk_chain("y", &[], None)],
        )),
        Resource::from(mk_listener(
            "l/443",
            8443,
            vec![
                mk_chain("a", &["a.example.com"], tls()),
                mk_chain("b", &["a.example.com", "b.example.com"], tls()),
                mk_chain("c", &["b.example.com"], tls()),
                mk_chain("d", &[], tls()),
            ],
        )),
        Resource::from(mk_cluster("lonely", DiscoveryIr::Eds, true)),
    ];
    let snapshot = sluice_dataflow::output::Snapshot {
        resources: resources.into_iter().map(|r| (r.key(), r)).collect(),
        statuses: Default::default(),
    };
    validate(&static_bootstrap(&snapshot, 19000));
}
