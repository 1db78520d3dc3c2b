//! One module per command.

mod crds;
mod engine;
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
    }
}
