//! `sluice gen` and `sluice bench`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use sluice_benches::fleet::{self, FleetKind};
use sluice_benches::harness::{self, BenchConfig};

pub fn generate(kind: FleetKind, seed: u64, out: &Path) -> anyhow::Result<ExitCode> {
    let counts =
        fleet::write_yaml(kind, seed, out).with_context(|| format!("writing {}", out.display()))?;
    eprintln!(
        "wrote {} objects of fleet {kind} (seed {seed}) to {}",
        counts.objects,
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

pub fn run(cfg: &BenchConfig, json: Option<&Path>, svg: Option<&Path>) -> anyhow::Result<ExitCode> {
    let report = harness::run(cfg);
    print!("{}", harness::markdown(&report));
    if let Some(p) = json {
        std::fs::write(p, serde_json::to_vec_pretty(&report)?)
            .with_context(|| format!("writing {}", p.display()))?;
    }
    if let Some(p) = svg {
        std::fs::write(p, harness::svg_plot(std::slice::from_ref(&report)))
            .with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(if report.emitted_minimal || report.naive_skipped {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
