//! Gateway API HTTPRoute conformance (`../shared/conformance/cases.json`) on real Envoy 1.40:
//! the `sluice-conformance` runner's library entry point against this package's `sluice`
//! binary, with the proxies in SotW and then in Delta mode.
//!
//! Every case must pass or be skipped (unresolved expression), except the known failures
//! below, which must fail exactly: a fix makes this test fail until the list is updated, and a
//! new failure fails it too. Needs Envoy (`scripts/install-envoy.sh`, or `$SLUICE_ENVOY`) and
//! permission to listen on ports 80 and 443 of 127.0.0.0/8 addresses (root in CI).

mod common;

use std::collections::BTreeSet;

use sluice_conformance::runner::{self, Mode, Options, Verdict};

/// `(test, case name prefix, why)`, in every mode.
fn known_failures() -> Vec<(&'static str, String, &'static str)> {
    // None at the moment: every case passes or is skipped (an unresolved `$` expression).
    Vec::new()
}

#[test]
fn httproute_conformance_on_envoy_sotw_and_delta() {
    let mut opts = Options::defaults();
    opts.sluice = env!("CARGO_BIN_EXE_sluice").into();
    opts.envoy = common::envoy();
    opts.modes = vec![Mode::Sotw, Mode::Delta];
    opts.progress = true;
    // Manifests, bootstraps and logs: removed after a clean run, kept for a look otherwise.
    let work = tempfile::tempdir().expect("a temporary directory");
    opts.work_dir = Some(work.path().to_path_buf());
    let report = runner::run(&opts).expect("the runner runs");
    let table = sluice_conformance::table::render(&report);
    eprintln!("{table}");

    assert_eq!(report.modes.len(), 2);
    let known = known_failures();
    let mut problems = Vec::new();
    for m in &report.modes {
        assert!(
            m.tests.len() >= 40,
            "{}: only {} tests ran",
            m.mode.name(),
            m.tests.len()
        );
        let mut matched: BTreeSet<usize> = BTreeSet::new();
        for t in &m.tests {
            for c in &t.cases {
                let k = known
                    .iter()
                    .position(|(test, prefix, _)| *test == t.name && c.name.starts_with(prefix));
                match (&c.verdict, k) {
                    (Verdict::Fail(why), None) => problems.push(format!(
                        "[{}] {} {}: unexpected failure: {why}",
                        m.mode.name(),
                        t.name,
                        c.name
                    )),
                    (Verdict::Fail(_), Some(i)) => {
                        matched.insert(i);
                    }
                    (v, Some(i)) => problems.push(format!(
                        "[{}] {} {}: known failure ({}) is now {v:?}: update known_failures()",
                        m.mode.name(),
                        t.name,
                        c.name,
                        known[i].2
                    )),
                    (Verdict::Skip(why), None) if !why.starts_with("unresolved expression") => {
                        problems.push(format!(
                            "[{}] {} {}: skipped: {why}",
                            m.mode.name(),
                            t.name,
                            c.name
                        ))
                    }
                    _ => {}
                }
            }
        }
        for (i, (test, prefix, why)) in known.iter().enumerate() {
            if !matched.contains(&i) {
                problems.push(format!(
                    "[{}] {test} {prefix}…: known failure ({why}) did not fail",
                    m.mode.name()
                ));
            }
        }
        let c = m.counts();
        if c.passed < 150 {
            problems.push(format!(
                "[{}] only {} cases passed",
                m.mode.name(),
                c.passed
            ));
        }
    }
    if !problems.is_empty() {
        let kept = work.keep();
        panic!(
            "{} problems:\n{}\n\n{table}\nmanifests and logs kept in {}",
            problems.len(),
            problems.join("\n"),
            kept.display()
        );
    }
}
