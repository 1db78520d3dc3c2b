//! `deploy/crds/kgateway.yaml` is exactly what `sluice crds` prints
//! (`sluice_crds::kgateway::kgateway_crds_yaml()`), so the deployment installs the CRDs the
//! code defines. Refresh it with `UPDATE_GOLDEN=1 cargo test -p sluice-crds --test deploy_crds`
//! (or `cargo run -q -- crds > deploy/crds/kgateway.yaml`).

use std::path::PathBuf;

use sluice_crds::kgateway::kgateway_crds_yaml;

#[test]
fn deployed_kgateway_crds_are_the_generated_ones() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy/crds/kgateway.yaml");
    let generated = kgateway_crds_yaml();
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let deployed = std::fs::read_to_string(&path).unwrap_or_else(|err| {
        panic!(
            "{}: {err}; run UPDATE_GOLDEN=1 cargo test -p sluice-crds --test deploy_crds",
            path.display()
        )
    });
    assert!(
        deployed == generated,
        "{} is stale: run UPDATE_GOLDEN=1 cargo test -p sluice-crds --test deploy_crds",
        path.display()
    );
}
