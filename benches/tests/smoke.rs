//! A small end-to-end run of the benchmark: fleet S, ~20 changes per kind, 1 worker
//! replayed on 2. The dataflow must emit exactly the naive set difference at every epoch, and
//! both worker counts must produce identical outputs.

use sluice_benches::fleet::FleetKind;
use sluice_benches::harness::{self, BenchConfig};

#[test]
fn fleet_s_smoke() {
    let mut cfg = BenchConfig::new(FleetKind::S);
    cfg.changes = 20;
    cfg.naive_changes = 20;
    cfg.epochs_rss = 100;
    cfg.workers = 1;
    cfg.compare_workers = Some(2);
    cfg.serve_clients = vec![1, 20];
    let report = harness::run(&cfg);
    let md = harness::markdown(&report);
    println!("{md}");
    for k in &report.kinds {
        if let Some(m) = &k.first_mismatch {
            println!("{}: first mismatch:\n{m}", k.kind);
        }
    }
    assert_eq!(report.lowering_problems, 0);
    assert!(
        report.initial_resources > 0,
        "the initial compile emitted nothing"
    );
    assert!(
        report.initial_matches_naive,
        "initial output differs from naive"
    );
    assert!(
        report.emitted_minimal,
        "some batch differs from the naive diff"
    );
    assert!(report.final_matches_naive);
    assert_eq!(report.kinds.len(), 7);
    assert!(
        report
            .kinds
            .iter()
            .all(|k| k.changes == 20 && k.minimal == Some(true))
    );
    let check = report.workers_check.as_ref().expect("2-worker replay");
    assert!(check.identical, "1 and 2 workers differ: {check:?}");
    assert!(report.peak_rss_bytes > 0);
    assert_eq!(report.rss_epochs, 100);
    // Serving: a route edit reached every client, over the wire, at both counts.
    let counts: Vec<usize> = report.serving.iter().map(|f| f.clients).collect();
    assert_eq!(counts, [1, 20], "{:?}", report.serving);
    for f in &report.serving {
        assert!(f.all_ms > 0.0 && f.p50_ms <= f.all_ms, "{f:?}");
        assert!(f.bytes_on_wire > 0, "{f:?}");
    }
    assert!(
        report.serving[1].bytes_on_wire > report.serving[0].bytes_on_wire,
        "20 clients receive more bytes than 1: {:?}",
        report.serving
    );
    assert!(
        report.serve_1000_clients_ms.is_none(),
        "1,000 clients were not run"
    );
    let json = serde_json::to_value(&report).unwrap();
    for field in [
        "fleet",
        "workers",
        "cores",
        "objects",
        "initial_compile_s",
        "naive_initial_compile_s",
        "update_p50_ms",
        "update_p99_ms",
        "naive_update_p50_ms",
        "speedup_p50",
        "emitted_minimal",
        "peak_rss_bytes",
        "rss_growth_over_10k_epochs_bytes",
        "serve_1000_clients_ms",
        "floor_encode_ms",
        "kinds",
    ] {
        assert!(json.get(field).is_some(), "no `{field}` in the JSON report");
    }
    let svg = harness::svg_plot(&[report]);
    assert!(svg.starts_with("<svg") && svg.contains("dataflow"));
}

/// Fleet L at a smoke run's size (5 changes per kind, dataflow only: one naive translation of
/// fleet L takes about a minute in a release build), so the large-fleet path (streamed
/// generation, the sampled change sequences, every change kind) runs in CI.
#[test]
fn fleet_l_smoke() {
    let mut cfg = BenchConfig::new(FleetKind::L);
    cfg.changes = 5;
    cfg.naive = false;
    cfg.naive_changes = 0;
    cfg.epochs_rss = 0;
    cfg.compare_workers = None;
    cfg.serve_clients = Vec::new();
    let report = harness::run(&cfg);
    println!("{}", harness::markdown(&report));
    let shape = FleetKind::L.shape();
    assert_eq!(report.objects, shape.objects());
    assert_eq!(report.counts.http_routes, shape.http_routes);
    assert_eq!(report.lowering_problems, 0);
    assert!(
        report.initial_resources > 100_000,
        "{}",
        report.initial_resources
    );
    assert!(
        report.initial_statuses > 100_000,
        "{}",
        report.initial_statuses
    );
    assert_eq!(report.kinds.len(), 7);
    for k in &report.kinds {
        assert_eq!(k.changes, 5, "{}", k.kind);
        assert!(k.p50_ms > 0.0, "{}", k.kind);
    }
    let edit = &report.kinds[0];
    assert_eq!(edit.kind, "route edit");
    assert!(
        edit.resources_per_change_max >= 1,
        "a route edit changed no resource"
    );
    assert!(report.naive_skipped);
}
