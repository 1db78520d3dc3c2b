//! The scale benchmark: `cargo bench -p sluice-benches --bench scale`.
//!
//! Environment (all optional):
//! - `SLUICE_BENCH_FLEET`: `S` (default), `L`, `XL` or `hot`
//! - `SLUICE_BENCH_CHANGES`: measured changes per change kind (default 200; `performance.md`
//!   asks for ≥ 1,000)
//! - `SLUICE_BENCH_NAIVE_CHANGES`: changes per kind the naive translator also runs for
//!   (default: all for S and hot, 1 for L and XL, where one naive translation takes about a
//!   minute)
//! - `SLUICE_BENCH_WORKERS`: timely workers of the measured run (default 1)
//! - `SLUICE_BENCH_COMPARE_WORKERS`: worker count of the replay that must give identical
//!   output (default 2; 0 skips it)
//! - `SLUICE_BENCH_EPOCHS_RSS`: route-edit epochs for the RSS growth figure (default 10,000)
//! - `SLUICE_BENCH_SEED`: fleet and change seed (default 1)
//! - `SLUICE_BENCH_KINDS`: comma-separated change kinds (`route-edit,endpoint-change`;
//!   default all)
//!
//! - `SLUICE_BENCH_PLOT_ONLY=1`: run nothing, only redraw the plot from the JSON present
//!
//! Prints the Markdown report, writes `target/bench-<fleet>.json`, and redraws
//! `target/bench-latency.svg` from every `target/bench-*.json` present.

use std::path::PathBuf;

use sluice_benches::fleet::{ChangeKind, FleetKind};
use sluice_benches::harness::{self, BenchConfig, Report};

fn env<T: std::str::FromStr>(name: &str) -> Option<T> {
    let value = std::env::var(name).ok()?;
    match value.parse() {
        Ok(v) => Some(v),
        Err(_) => panic!("{name}={value}: cannot parse"),
    }
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target")))
}

fn main() {
    if std::env::var_os("SLUICE_BENCH_PLOT_ONLY").is_some() {
        plot(&target_dir());
        return;
    }
    let fleet: FleetKind = env("SLUICE_BENCH_FLEET").unwrap_or(FleetKind::S);
    let mut cfg = BenchConfig::new(fleet);
    cfg.changes = env("SLUICE_BENCH_CHANGES").unwrap_or(200);
    cfg.naive_changes = env("SLUICE_BENCH_NAIVE_CHANGES").unwrap_or(match fleet {
        FleetKind::S | FleetKind::Hot => cfg.changes,
        FleetKind::L | FleetKind::XL => 1,
    });
    cfg.workers = env("SLUICE_BENCH_WORKERS").unwrap_or(1);
    cfg.compare_workers = match env::<usize>("SLUICE_BENCH_COMPARE_WORKERS") {
        Some(0) => None,
        Some(n) => Some(n),
        None => Some(if cfg.workers == 2 { 1 } else { 2 }),
    };
    cfg.epochs_rss = env("SLUICE_BENCH_EPOCHS_RSS").unwrap_or(10_000);
    cfg.seed = env("SLUICE_BENCH_SEED").unwrap_or(1);
    cfg.naive = std::env::var_os("SLUICE_BENCH_NO_NAIVE").is_none();
    if let Ok(counts) = std::env::var("SLUICE_BENCH_SERVE_CLIENTS") {
        cfg.serve_clients = counts
            .split(',')
            .map(|n| n.trim().parse::<usize>())
            .filter(|n| n != &Ok(0))
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| panic!("SLUICE_BENCH_SERVE_CLIENTS: {e}"));
    }
    if let Ok(kinds) = std::env::var("SLUICE_BENCH_KINDS") {
        cfg.kinds = kinds
            .split(',')
            .map(|k| k.trim().parse::<ChangeKind>())
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| panic!("SLUICE_BENCH_KINDS: {e}"));
    }
    cfg.progress = true;

    let report = harness::run(&cfg);
    println!("{}", harness::markdown(&report));

    let dir = target_dir();
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("cannot create {}: {e}", dir.display());
        return;
    }
    let json = dir.join(format!("bench-{}.json", report.fleet));
    match serde_json::to_string_pretty(&report) {
        Ok(text) => match std::fs::write(&json, text) {
            Ok(()) => eprintln!("wrote {}", json.display()),
            Err(e) => eprintln!("cannot write {}: {e}", json.display()),
        },
        Err(e) => eprintln!("cannot serialize the report: {e}"),
    }

    plot(&dir);
}

/// Redraws `bench-latency.svg` in `dir` from every `bench-*.json` there.
fn plot(dir: &std::path::Path) {
    let mut reports: Vec<Report> = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        for path in paths {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if !(name.starts_with("bench-") && name.ends_with(".json")) {
                continue;
            }
            if let Some(r) = std::fs::read_to_string(&path)
                .ok()
                .and_then(|t| serde_json::from_str::<Report>(&t).ok())
            {
                reports.push(r);
            }
        }
    }
    let svg = dir.join("bench-latency.svg");
    match std::fs::write(&svg, harness::svg_plot(&reports)) {
        Ok(()) => eprintln!("wrote {} ({} runs)", svg.display(), reports.len()),
        Err(e) => eprintln!("cannot write {}: {e}", svg.display()),
    }
}
