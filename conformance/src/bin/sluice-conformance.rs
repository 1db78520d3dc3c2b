//! Runs the Gateway API HTTPRoute conformance cases (`cases.json`) against `sluice serve` and
//! real Envoy proxies, in SotW and Delta mode, and prints a table of the outcomes. Exits
//! non-zero if any case failed.
//!
//! ```text
//! cargo build --bin sluice --bin sluice-conformance
//! target/debug/sluice-conformance --test HTTPRouteMatching --test HTTPRouteWeight --delta
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use sluice_conformance::runner::{self, Mode, Options};

#[derive(Debug, Parser)]
#[command(
    name = "sluice-conformance",
    about = "Gateway API HTTPRoute conformance on real Envoy"
)]
struct Args {
    /// cases.json (default: ../shared/conformance/cases.json of the workspace).
    #[arg(long)]
    cases: Option<PathBuf>,
    /// The directory holding conformance/base/ and conformance/tests/ (default:
    /// ../shared/conformance of the workspace).
    #[arg(long)]
    manifests: Option<PathBuf>,
    /// Run only this test (repeatable).
    #[arg(long = "test", value_name = "NAME")]
    tests: Vec<String>,
    /// Run the proxies in Delta xDS mode (with --sotw: both; neither: both).
    #[arg(long)]
    delta: bool,
    /// Run the proxies in state-of-the-world xDS mode.
    #[arg(long)]
    sotw: bool,
    /// The sluice binary (default: the one next to this executable).
    #[arg(long)]
    sluice: Option<PathBuf>,
    /// The Envoy binary (default: $SLUICE_ENVOY, else the one scripts/install-envoy.sh
    /// installs).
    #[arg(long)]
    envoy: Option<PathBuf>,
    /// Keep manifests, bootstraps and logs here (default: a temporary directory, kept only
    /// when a case fails).
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// Print nothing while running, only the table.
    #[arg(long, short)]
    quiet: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut opts = Options::defaults();
    if let Some(c) = args.cases {
        opts.cases = c;
    }
    if let Some(m) = args.manifests {
        opts.manifests = m;
    }
    if let Some(s) = args.sluice {
        opts.sluice = s;
    }
    if let Some(e) = args.envoy {
        opts.envoy = e;
    }
    opts.tests = args.tests;
    opts.modes = match (args.sotw, args.delta) {
        (true, false) => vec![Mode::Sotw],
        (false, true) => vec![Mode::Delta],
        _ => vec![Mode::Sotw, Mode::Delta],
    };
    opts.work_dir = args.work_dir;
    opts.progress = !args.quiet;
    match runner::run(&opts) {
        Ok(report) => {
            print!("{}", sluice_conformance::table::render(&report));
            if report.counts().failed > 0 {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
