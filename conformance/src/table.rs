//! The runner's report as text: one row per (mode, test) with its cases passed, failed and
//! skipped and its first failure, every failure in full below, a total per mode, and the
//! closing line `N passed, M failed, K skipped` over all modes (counted in cases).

use std::fmt::Write as _;

use crate::runner::{Report, Verdict};

/// Longest first-failure reason shown in the table (the full text follows it).
const REASON_WIDTH: usize = 90;

pub fn render(report: &Report) -> String {
    let mut o = String::new();
    let width = report
        .modes
        .iter()
        .flat_map(|m| &m.tests)
        .map(|t| t.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let _ = writeln!(
        o,
        "{:<5}  {:<width$}  {:<12}  {:>4}  {:>4}  {:>4}  FIRST FAILURE",
        "MODE", "TEST", "LEVEL", "PASS", "FAIL", "SKIP"
    );
    for m in &report.modes {
        for t in &m.tests {
            let c = t.counts();
            let first = t
                .first_failure()
                .map(|(case, why)| shorten(&format!("{case}: {why}"), REASON_WIDTH))
                .unwrap_or_default();
            let _ = writeln!(
                o,
                "{:<5}  {:<width$}  {:<12}  {:>4}  {:>4}  {:>4}  {first}",
                m.mode.name(),
                t.name,
                t.support_level,
                c.passed,
                c.failed,
                c.skipped
            );
        }
    }
    let failures: Vec<String> = report
        .modes
        .iter()
        .flat_map(|m| {
            m.failures()
                .into_iter()
                .map(move |(test, case, why)| format!("  [{}] {test} {case}: {why}", m.mode.name()))
        })
        .collect();
    if !failures.is_empty() {
        let _ = writeln!(o, "\nFailures:");
        for f in failures {
            let _ = writeln!(o, "{f}");
        }
    }
    let skips: Vec<String> = report
        .modes
        .iter()
        .take(1)
        .flat_map(|m| {
            m.tests.iter().flat_map(|t| {
                t.cases.iter().filter_map(move |c| match &c.verdict {
                    Verdict::Skip(why) => Some(format!("  {} {}: {why}", t.name, c.name)),
                    _ => None,
                })
            })
        })
        .collect();
    if !skips.is_empty() {
        let _ = writeln!(o, "\nSkipped (in every mode):");
        for s in skips {
            let _ = writeln!(o, "{s}");
        }
    }
    let _ = writeln!(o);
    for m in &report.modes {
        let _ = writeln!(o, "{}: {}", m.mode.name(), m.counts());
    }
    if report.kept && report.counts().failed > 0 {
        let _ = writeln!(o, "manifests and logs: {}", report.work_dir.display());
    }
    let _ = writeln!(o, "{}", report.counts());
    o
}

fn shorten(s: &str, max: usize) -> String {
    let s = s.replace('\n', " ");
    if s.chars().count() <= max {
        s
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}
