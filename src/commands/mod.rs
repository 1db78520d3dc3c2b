//! One module per command.

mod bootstrap;
mod crds;
pub mod engine;
mod translate;

use std::process::ExitCode;

use crate::cli::{Cli, Command};

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Translate {
            paths,
            output,
            engine,
            engine_args,
        } => translate::run(&paths, output, engine, &engine_args),
        Command::Crds => crds::run(),
        Command::Serve {
            from,
            xds_addr,
            admin_addr,
            engine_args,
        } => {
            crate::serve::run(crate::serve::ServeArgs {
                from,
                xds_addr,
                admin_addr,
                engine: engine_args,
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Bootstrap {
            gateway,
            xds,
            delta,
            admin_port,
            node_id,
        } => bootstrap::run(&gateway, &xds, delta, admin_port, node_id),
    }
}
