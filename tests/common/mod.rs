//! Helpers shared by the binary's integration tests: translating files through the libraries
//! with either engine, cutting one Gateway's resources out of a snapshot, finding Envoy.

#![allow(dead_code)] // each test binary uses a subset

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use sluice_dataflow::input::{InputEvent, Record};
use sluice_dataflow::ir::{ActionIr, DiscoveryIr, Resource, XdsType};
use sluice_dataflow::output::Snapshot;
use sluice_dataflow::render::RenderConfig;
use sluice_dataflow::worker::{Engine, Topology};
use sluice_proptests::oracle;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn conformance_dir() -> PathBuf {
    root().join("../shared/conformance")
}

/// Loads and lowers `paths`; panics on load errors unless `allow_errors`.
pub fn records(paths: &[PathBuf], allow_errors: bool) -> Vec<Record> {
    let loaded = sluice_ingest::load::load_paths(paths);
    assert!(
        allow_errors || loaded.errors.is_empty(),
        "load errors: {:#?}",
        loaded.errors
    );
    let (records, problems) = sluice_ingest::records::lower_objects(&loaded.objects);
    assert!(
        allow_errors || problems.is_empty(),
        "lower problems: {problems:#?}"
    );
    records
}

pub fn dataflow(records: &[Record], workers: usize) -> Snapshot {
    let mut engine =
        Engine::start(Topology::Process(workers), RenderConfig::default()).expect("engine");
    let batch = engine
        .apply(records.iter().cloned().map(InputEvent::Upsert).collect())
        .expect("apply");
    let mut s = Snapshot::default();
    s.apply(&batch);
    s
}

pub fn naive(records: &[Record]) -> Snapshot {
    oracle::translate(records, &oracle::Config::default())
}

/// The resources a proxy of Gateway `ns/name` needs: its listeners, their route
/// configurations, the clusters those route to, and the EDS clusters' endpoints.
pub fn gateway_view(s: &Snapshot, ns: &str, name: &str) -> Snapshot {
    let prefix = format!("{ns}/{name}/");
    let mut out = Snapshot::default();
    let mut rcs = BTreeSet::new();
    let mut clusters = BTreeSet::new();
    for (k, r) in &s.resources {
        if let Resource::Listener(l) = r
            && l.name.starts_with(&prefix)
        {
            rcs.extend(l.filter_chains.iter().map(|c| c.route_config_name.clone()));
            out.resources.insert(k.clone(), r.clone());
        }
    }
    for (k, r) in &s.resources {
        if let Resource::Route(rc) = r
            && rcs.contains(&rc.name)
        {
            for route in rc.virtual_hosts.iter().flat_map(|v| &v.routes) {
                if let ActionIr::Forward(f) = &route.action {
                    clusters.extend(f.clusters.iter().map(|c| c.cluster.clone()));
                    clusters.extend(f.mirrors.iter().map(|m| m.cluster.clone()));
                }
            }
            out.resources.insert(k.clone(), r.clone());
        }
    }
    for (k, r) in &s.resources {
        match r {
            Resource::Cluster(c) if clusters.contains(&c.name) => {
                out.resources.insert(k.clone(), r.clone());
                if c.discovery == DiscoveryIr::Eds {
                    let ek = sluice_dataflow::ir::XdsKey {
                        ty: XdsType::Endpoint,
                        name: c.name.clone(),
                    };
                    if let Some(e) = s.resources.get(&ek) {
                        out.resources.insert(ek, e.clone());
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// The Envoy binary: `$SLUICE_ENVOY`, else the one `scripts/install-envoy.sh` installs.
pub fn envoy() -> PathBuf {
    if let Ok(p) = std::env::var("SLUICE_ENVOY") {
        return PathBuf::from(p);
    }
    let lib = root().join(".venv/lib");
    if let Ok(entries) = std::fs::read_dir(&lib) {
        for e in entries.flatten() {
            let p = e.path().join("site-packages/envoy/_bin/envoy");
            if p.is_file() {
                return p;
            }
        }
    }
    panic!("no Envoy binary: run scripts/install-envoy.sh (or set SLUICE_ENVOY)");
}

/// Runs `envoy --mode validate` on a static bootstrap of `snapshot`; returns Envoy's output on
/// failure.
pub fn envoy_validate(snapshot: &Snapshot, dir: &Path, name: &str) -> Result<(), String> {
    let bootstrap = sluice_emit::bootstrap::static_bootstrap(snapshot, 0);
    let file = dir.join(format!("{name}.json"));
    std::fs::write(&file, serde_json::to_vec_pretty(&bootstrap).unwrap()).unwrap();
    let out = std::process::Command::new(envoy())
        .args(["--mode", "validate", "-l", "error", "-c"])
        .arg(&file)
        .output()
        .expect("run envoy");
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}
