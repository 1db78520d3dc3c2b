//! Copies envoy-types' compiled descriptor set (`src/generated/types.bin`) into `OUT_DIR`, so
//! `json.rs` can `include_bytes!` it. envoy-types ships the file in its crate source but does not
//! export it, so we find the crate's directory the way cargo resolved it: `cargo metadata`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let pkg_dir = envoy_types_dir();
    let src = pkg_dir.join("src/generated/types.bin");
    println!("cargo::rerun-if-changed={}", src.display());
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR is set by cargo"));
    std::fs::copy(&src, out.join("envoy_types.bin"))
        .unwrap_or_else(|e| panic!("copying {}: {e}", src.display()));
}

/// The directory of the `envoy-types` package in this build's resolve.
fn envoy_types_dir() -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo");
    // `--offline` first: every package is already downloaded when build scripts run, and a
    // build must not touch the network; fall back to a plain call if the offline resolve fails.
    let metadata = [true, false]
        .into_iter()
        .find_map(|offline| run_metadata(Path::new(&cargo), Path::new(&manifest_dir), offline))
        .expect("`cargo metadata --format-version 1 --locked` failed");
    let json: serde_json::Value =
        serde_json::from_slice(&metadata).expect("cargo metadata prints JSON");
    let manifest = json["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == "envoy-types")
        .and_then(|p| p["manifest_path"].as_str())
        .expect("envoy-types is in the resolve");
    Path::new(manifest)
        .parent()
        .expect("a manifest path has a parent")
        .to_path_buf()
}

fn run_metadata(cargo: &Path, cwd: &Path, offline: bool) -> Option<Vec<u8>> {
    let mut cmd = Command::new(cargo);
    cmd.current_dir(cwd)
        .args(["metadata", "--format-version", "1", "--locked"]);
    if offline {
        cmd.arg("--offline");
    }
    let out = cmd.output().ok()?;
    out.status.success().then_some(out.stdout)
}
