//! Starting the dataflow from command-line options.

use anyhow::Context;
use sluice_dataflow::render::RenderConfig;
use sluice_dataflow::worker::{Engine, Topology};

use crate::cli::EngineArgs;

pub fn topology(args: &EngineArgs) -> anyhow::Result<Topology> {
    match (&args.hostfile, args.process) {
        (Some(file), Some(process)) => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("reading {}", file.display()))?;
            let addresses: Vec<String> = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(String::from)
                .collect();
            anyhow::ensure!(
                process < addresses.len(),
                "--process {process} but the hostfile lists {}",
                addresses.len()
            );
            Ok(Topology::Cluster {
                threads: args.workers,
                process,
                addresses,
            })
        }
        (Some(_), None) => anyhow::bail!("--hostfile needs --process"),
        _ => Ok(Topology::Process(args.workers.max(1))),
    }
}

pub fn render_config(args: &EngineArgs) -> RenderConfig {
    RenderConfig {
        controller_name: args.controller_name.clone(),
    }
}

/// Starts the engine; in a cluster, processes other than 0 serve their share and return `None`
/// once process 0 has shut down.
pub fn start(args: &EngineArgs) -> anyhow::Result<Option<Engine>> {
    let topology = topology(args)?;
    if let Topology::Cluster { process, .. } = &topology
        && *process != 0
    {
        sluice_dataflow::worker::run_follower(topology, render_config(args))?;
        return Ok(None);
    }
    Ok(Some(Engine::start(topology, render_config(args))?))
}
