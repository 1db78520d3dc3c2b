//! kgateway's translator golden cases (`../shared/kgateway/translator-cases.json`) through
//! `sluice translate` and `envoy --mode validate`: every case translates without failing and
//! Envoy accepts every Gateway's output. How far sluice's statuses agree with kgateway's is
//! printed (the per-group table of `sluice-kgateway-translator`), not asserted: it measures
//! features still to build.

mod common;

use sluice_conformance::kgateway::translator::{self, Options};

#[test]
fn kgateway_translator_cases_translate_and_envoy_accepts_them() {
    let work = tempfile::tempdir().unwrap();
    let opts = Options {
        cases: common::root().join("../shared/kgateway/translator-cases.json"),
        sluice: env!("CARGO_BIN_EXE_sluice").into(),
        envoy: common::envoy(),
        groups: Vec::new(),
        work_dir: work.path().to_path_buf(),
    };
    let outcomes = translator::run(&opts, |_| {}).expect("the judge runs");
    println!("{}", translator::render(&outcomes));
    assert!(outcomes.len() >= 200, "only {} cases", outcomes.len());
    let failed: Vec<String> = outcomes
        .iter()
        .filter_map(|o| match (&o.translated, &o.envoy) {
            (Err(e), _) => Some(format!("{}: translate failed: {e}", o.id)),
            (_, Some(Err(e))) => Some(format!("{}: Envoy rejected the output: {e}", o.id)),
            _ => None,
        })
        .collect();
    assert!(failed.is_empty(), "{}", failed.join("\n"));
    assert!(
        outcomes.iter().filter(|o| o.envoy.is_some()).count() >= 200,
        "Envoy checked too few outputs"
    );
}
