//! Runs kgateway's end-to-end cases (`../shared/kgateway/e2e-cases.json`) against
//! `sluice serve` and real Envoy proxies, in SotW and Delta mode, and prints a table per
//! feature. Exits 1 if a case failed, 2 if the runner could not run.
//!
//! ```text
//! cargo build --bin sluice --bin sluice-kgateway-e2e
//! target/debug/sluice-kgateway-e2e --feature cors,csrf --sotw
//! target/debug/sluice-kgateway-e2e --feature all
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use sluice_conformance::kgateway::{self, DEFAULT_FEATURES, Options};
use sluice_conformance::runner::Mode;

#[derive(Debug, Parser)]
#[command(
    name = "sluice-kgateway-e2e",
    about = "kgateway's end-to-end suite on sluice and real Envoy"
)]
struct Args {
    /// e2e-cases.json (default: ../shared/kgateway/e2e-cases.json of the workspace).
    #[arg(long)]
    cases: Option<PathBuf>,
    /// Features to run, comma-separated or repeated (`rate_limit` selects rate_limit/*; `all`
    /// for every feature). Default: the features that need no external service.
    #[arg(long = "feature", value_delimiter = ',', value_name = "NAME")]
    features: Vec<String>,
    /// Run only this case (`feature/TestName` or `TestName`; repeatable).
    #[arg(long = "case", value_name = "ID")]
    cases_only: Vec<String>,
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
    /// Keep every case's manifests, bootstraps and logs here (default: a temporary directory
    /// keeping only the failed cases').
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// Cases run at once.
    #[arg(long, short, default_value_t = 2)]
    jobs: usize,
    /// Print nothing while running, only the table.
    #[arg(long, short)]
    quiet: bool,
    /// List the default features and exit.
    #[arg(long)]
    list_default_features: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.list_default_features {
        println!("{}", DEFAULT_FEATURES.join(","));
        return ExitCode::SUCCESS;
    }
    let mut opts = Options::defaults();
    if let Some(c) = args.cases {
        opts.cases = c;
    }
    if let Some(s) = args.sluice {
        opts.sluice = s;
    }
    if let Some(e) = args.envoy {
        opts.envoy = e;
    }
    opts.features = args.features;
    opts.case_ids = args.cases_only;
    opts.modes = match (args.sotw, args.delta) {
        (true, false) => vec![Mode::Sotw],
        (false, true) => vec![Mode::Delta],
        _ => vec![Mode::Sotw, Mode::Delta],
    };
    opts.work_dir = args.work_dir;
    opts.progress = !args.quiet;
    opts.jobs = args.jobs;
    match kgateway::run(&opts) {
        Ok(report) => {
            print!("{}", kgateway::render(&report));
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
