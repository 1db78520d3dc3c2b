//! What a run found: per mode, per case, per step; and the report as text, the conformance
//! runner's table ([`crate::table`]) with one row per feature, then the most frequent failure
//! and skip reasons.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use super::data;
use crate::runner::{self, Counts, Mode, Verdict};

/// One step's outcome.
#[derive(Clone, Debug)]
pub struct StepRun {
    /// 1-based, as in the case's `steps`.
    pub index: usize,
    pub what: String,
    pub verdict: Verdict,
}

/// One case's outcome.
#[derive(Clone, Debug)]
pub struct CaseRun {
    pub id: String,
    pub feature: String,
    pub suite: String,
    /// The test's name within its feature.
    pub name: String,
    /// `Fail` holds `step N (what): why`.
    pub verdict: Verdict,
    /// The steps that ran or were skipped, in order; after a failing step none is listed.
    pub steps: Vec<StepRun>,
    pub elapsed: Duration,
}

impl CaseRun {
    /// The failing step's reason alone.
    pub fn failure(&self) -> Option<&str> {
        self.steps.iter().find_map(|s| match &s.verdict {
            Verdict::Fail(why) => Some(why.as_str()),
            _ => None,
        })
    }
}

#[derive(Clone, Debug)]
pub struct ModeRun {
    pub mode: Mode,
    pub cases: Vec<CaseRun>,
}

impl ModeRun {
    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for case in &self.cases {
            match case.verdict {
                Verdict::Pass => c.passed += 1,
                Verdict::Fail(_) => c.failed += 1,
                Verdict::Skip(_) => c.skipped += 1,
            }
        }
        c
    }

    pub fn case(&self, id: &str) -> Option<&CaseRun> {
        self.cases.iter().find(|c| c.id == id)
    }
}

#[derive(Clone, Debug)]
pub struct Report {
    pub modes: Vec<ModeRun>,
    /// Where the manifests and logs are.
    pub work_dir: PathBuf,
    /// Whether anything is left there.
    pub kept: bool,
}

impl Report {
    pub fn counts(&self) -> Counts {
        self.modes
            .iter()
            .fold(Counts::default(), |a, m| a.plus(m.counts()))
    }

    /// The same outcomes in the conformance runner's report shape: one "test" per feature
    /// (its level column holds the upstream suite), one "case" per upstream test.
    pub fn as_table_report(&self) -> runner::Report {
        let modes = self
            .modes
            .iter()
            .map(|m| {
                let mut features: BTreeMap<&str, runner::TestReport> = BTreeMap::new();
                for c in &m.cases {
                    let t = features.entry(c.feature.as_str()).or_insert_with(|| {
                        runner::TestReport {
                            name: c.feature.clone(),
                            // The table's level column is 12 wide.
                            support_level: data::short(&c.suite, 12),
                            cases: Vec::new(),
                            elapsed: Duration::ZERO,
                        }
                    });
                    t.cases.push(runner::CaseReport {
                        name: c.name.clone(),
                        verdict: c.verdict.clone(),
                    });
                    t.elapsed += c.elapsed;
                }
                runner::ModeReport {
                    mode: m.mode,
                    tests: features.into_values().collect(),
                }
            })
            .collect();
        runner::Report {
            modes,
            work_dir: self.work_dir.clone(),
            kept: self.kept,
        }
    }
}

/// The report as text: the conformance runner's table (one row per mode and feature, every
/// failure, every skipped case), then the most frequent failure reasons per mode and the most
/// frequent step skip reasons.
pub fn render(report: &Report) -> String {
    let mut o = crate::table::render(&report.as_table_report());
    for m in &report.modes {
        let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
        for c in &m.cases {
            if let Some(why) = c.failure() {
                *reasons.entry(failure_kind(why)).or_default() += 1;
            } else if let Verdict::Fail(why) = &c.verdict {
                *reasons.entry(failure_kind(why)).or_default() += 1;
            }
        }
        if !reasons.is_empty() {
            o.push_str(&format!("\nFailure reasons ({}):\n", m.mode.name()));
            o.push_str(&top(reasons, 15));
        }
    }
    if let Some(m) = report.modes.first() {
        let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
        for s in m.cases.iter().flat_map(|c| &c.steps) {
            if let Verdict::Skip(why) = &s.verdict {
                *reasons.entry(data::short(why, 100)).or_default() += 1;
            }
        }
        if !reasons.is_empty() {
            o.push_str("\nStep skip reasons (steps):\n");
            o.push_str(&top(reasons, 20));
        }
    }
    o
}

/// A failure reason without its details (the body excerpt, the retry budget), to group by.
fn failure_kind(why: &str) -> String {
    let cut = [" (body:", " (still after", ": [\""]
        .iter()
        .filter_map(|m| why.find(m))
        .min()
        .unwrap_or(why.len());
    data::short(&why[..cut], 100)
}

fn top(reasons: BTreeMap<String, usize>, n: usize) -> String {
    let mut v: Vec<(String, usize)> = reasons.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut o = String::new();
    for (r, c) in v.iter().take(n) {
        o.push_str(&format!("  {c:>4}  {r}\n"));
    }
    if v.len() > n {
        o.push_str(&format!("  ({} more)\n", v.len() - n));
    }
    o
}
