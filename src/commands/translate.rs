//! `sluice translate`: load manifests, translate them once, print resources and statuses.

use std::path::PathBuf;
use std::process::ExitCode;

use sluice_dataflow::input::InputEvent;
use sluice_dataflow::output::Snapshot;
use sluice_proptests::oracle;

use crate::cli::{EngineArgs, EngineKind, Format};

/// What to print besides the translation's defaults.
#[derive(Debug)]
pub struct Print {
    pub show_secrets: bool,
    /// A static bootstrap of this Gateway's view instead of the document.
    pub envoy_bootstrap: Option<String>,
}

pub fn run(
    paths: &[PathBuf],
    format: Format,
    engine: EngineKind,
    print: Print,
    args: &EngineArgs,
) -> anyhow::Result<ExitCode> {
    let loaded = sluice_ingest::load::load_paths(paths);
    for w in &loaded.warnings {
        tracing::warn!("{w}");
    }
    for e in &loaded.errors {
        eprintln!("error: {e}");
    }
    let (records, problems) = sluice_ingest::records::lower_objects(&loaded.objects);
    for p in &problems {
        eprintln!("error: {p}");
    }
    let snapshot = match engine {
        EngineKind::Naive => oracle::translate(
            &records,
            &oracle::Config {
                controller_name: args.controller_name.clone(),
            },
        ),
        EngineKind::Dataflow => {
            let Some(mut engine) = super::engine::start(args)? else {
                return Ok(ExitCode::SUCCESS);
            };
            let batch = engine.apply(records.into_iter().map(InputEvent::Upsert).collect())?;
            let mut snapshot = Snapshot::default();
            snapshot.apply(&batch);
            engine.shutdown();
            snapshot
        }
    };
    // Never let a user believe a policy is in effect when it is not.
    for (key, status) in &snapshot.statuses {
        if let Some(w) = sluice_dataflow::ir::policy_warning(key, status) {
            eprintln!("warning: {w}");
        }
    }
    if let Some(gateway) = &print.envoy_bootstrap {
        let gw = sluice_emit::cache::GatewayId::parse(gateway)
            .ok_or_else(|| anyhow::anyhow!("--envoy-bootstrap must be namespace/name"))?;
        let view = gateway_view(&snapshot, &gw);
        let doc = sluice_emit::bootstrap::static_bootstrap(&view, 19000);
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(ExitCode::SUCCESS);
    }
    let show_secrets = print.show_secrets;
    let doc = sluice_emit::dump::xds_json(
        snapshot.resources.values(),
        snapshot.statuses.iter().map(|(k, s)| (k, &**s)),
        if show_secrets {
            sluice_emit::dump::Keys::Show
        } else {
            sluice_emit::dump::Keys::Redact
        },
    );
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&doc)?),
        Format::Yaml => print!("{}", serde_yaml_ng::to_string(&doc)?),
    }
    Ok(if loaded.errors.is_empty() && problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The resources the proxy of `gw` would receive, as the server cuts them out of the cache.
fn gateway_view(snapshot: &Snapshot, gw: &sluice_emit::cache::GatewayId) -> Snapshot {
    let mut cache = sluice_emit::cache::XdsCache::new(0);
    cache.apply(&sluice_dataflow::output::OutputBatch {
        epoch: 1,
        upserts: snapshot.resources.values().cloned().collect(),
        ..Default::default()
    });
    let resources = cache
        .view(gw)
        .into_values()
        .flat_map(|by_name| by_name.into_values())
        .filter_map(|e| {
            let key = sluice_dataflow::ir::XdsKey {
                ty: e.ty,
                name: e.name.clone(),
            };
            // Secrets are cut out of the listeners again by the bootstrap.
            snapshot.resources.get(&key).map(|r| (key, r.clone()))
        })
        .collect();
    Snapshot {
        resources,
        statuses: Default::default(),
    }
}
