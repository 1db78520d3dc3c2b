//! Runs kgateway's translator golden cases (`../shared/kgateway/translator-cases.json`)
//! through `sluice translate` and `envoy --mode validate`, and prints a table per feature
//! group: cases translated without failing, cases where every object kgateway reports on got
//! a status (or a warning naming it), Gateways whose output Envoy accepts, and how many of
//! kgateway's status conditions sluice agrees with (type, status, reason). Exits 1 if a
//! translation failed or Envoy rejected an output.
//!
//! ```text
//! cargo build --bin sluice --bin sluice-kgateway-translator
//! target/debug/sluice-kgateway-translator [--group traffic-policy] [-v]
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use sluice_conformance::kgateway::translator::{self, Options};
use sluice_conformance::runner::{default_envoy, workspace_root};

#[derive(Debug, Parser)]
#[command(
    name = "sluice-kgateway-translator",
    about = "kgateway's translator golden cases on sluice translate"
)]
struct Args {
    /// translator-cases.json (default: ../shared/kgateway/translator-cases.json).
    #[arg(long)]
    cases: Option<PathBuf>,
    /// Feature groups to run (comma-separated; default: all).
    #[arg(long = "group", value_delimiter = ',')]
    groups: Vec<String>,
    /// The sluice binary (default: the one next to this executable).
    #[arg(long)]
    sluice: Option<PathBuf>,
    /// The Envoy binary (default: $SLUICE_ENVOY, else the one scripts/install-envoy.sh installs).
    #[arg(long)]
    envoy: Option<PathBuf>,
    /// Where prepared inputs and bootstraps go (default: a temporary directory).
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// Print every case's differences.
    #[arg(long, short)]
    verbose: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let temp = std::env::temp_dir().join(format!("sluice-kgw-translator-{}", std::process::id()));
    let opts = Options {
        cases: args
            .cases
            .unwrap_or_else(|| workspace_root().join("../shared/kgateway/translator-cases.json")),
        sluice: args.sluice.unwrap_or_else(|| {
            std::env::current_exe()
                .ok()
                .and_then(|p| p.parent().map(|d| d.join("sluice")))
                .unwrap_or_else(|| PathBuf::from("sluice"))
        }),
        envoy: args.envoy.unwrap_or_else(default_envoy),
        groups: args.groups,
        work_dir: args.work_dir.clone().unwrap_or_else(|| temp.clone()),
    };
    let verbose = args.verbose;
    let result = translator::run(&opts, |o| {
        let bad = o.translated.is_err() || matches!(o.envoy, Some(Err(_)));
        if verbose || bad {
            eprintln!("{}: {}", o.group, o.id);
            if let Err(e) = &o.translated {
                eprintln!("  translate failed: {e}");
            }
            if let Some(Err(e)) = &o.envoy {
                eprintln!("  envoy rejected: {e}");
            }
            for s in &o.silent {
                eprintln!("  no status: {s}");
            }
            for d in &o.differences {
                eprintln!("  {d}");
            }
        }
    });
    if args.work_dir.is_none() {
        let _ = std::fs::remove_dir_all(&temp);
    }
    match result {
        Ok(outcomes) => {
            print!("{}", translator::render(&outcomes));
            let failed = outcomes
                .iter()
                .filter(|o| o.translated.is_err() || matches!(o.envoy, Some(Err(_))))
                .count();
            if failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
