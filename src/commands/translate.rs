//! `sluice translate`: load manifests, translate them once, print resources and statuses.

use std::path::PathBuf;
use std::process::ExitCode;

use sluice_dataflow::input::InputEvent;
use sluice_dataflow::output::Snapshot;
use sluice_proptests::oracle;

use crate::cli::{EngineArgs, EngineKind, Format};

pub fn run(
    paths: &[PathBuf],
    format: Format,
    engine: EngineKind,
    show_secrets: bool,
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
