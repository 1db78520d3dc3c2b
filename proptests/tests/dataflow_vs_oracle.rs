//! The incremental dataflow against the naive translator, after every epoch of random worlds
//! and change sequences:
//! - the accumulated dataflow output equals the oracle on the current inputs;
//! - each epoch's emitted changes equal exactly the difference of the oracle's outputs before
//!   and after (nothing re-sent whose content did not change, nothing missed);
//! - two workers emit exactly what one does.

use proptest::prelude::*;
use sluice_dataflow::input::InputEvent;
use sluice_dataflow::output::Snapshot;
use sluice_dataflow::render::RenderConfig;
use sluice_dataflow::worker::{Engine, Topology};
use sluice_proptests::compare::{batch_diff, snapshot_diff};
use sluice_proptests::oracle::{self, Config};
use sluice_proptests::strategy::{Scenario, scenario};

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

fn check(s: &Scenario) -> Result<(), TestCaseError> {
    let mut one =
        Engine::start(Topology::Process(1), RenderConfig::default()).expect("start engine");
    let mut two =
        Engine::start(Topology::Process(2), RenderConfig::default()).expect("start engine");
    let mut accumulated = Snapshot::default();
    let mut expected = Snapshot::default();
    let epochs: Vec<Vec<InputEvent>> = std::iter::once(s.initial_batch())
        .chain(s.epochs.iter().cloned())
        .collect();
    for (i, events) in epochs.into_iter().enumerate() {
        let batch = one.apply(events.clone()).expect("apply");
        let batch2 = two.apply(events).expect("apply");
        let next = oracle::translate(one.state().records(), &Config::default());
        accumulated.apply(&batch);
        if let Some(d) = snapshot_diff("dataflow", &accumulated, "oracle", &next) {
            return Err(TestCaseError::fail(format!(
                "epoch {i}: accumulated output differs\n{d}"
            )));
        }
        if let Some(d) = batch_diff(
            "emitted",
            &batch,
            "oracle diff",
            &expected.diff(&next, batch.epoch),
        ) {
            return Err(TestCaseError::fail(format!(
                "epoch {i}: emitted changes are not minimal\n{d}"
            )));
        }
        if let Some(d) = batch_diff("1 worker", &batch, "2 workers", &batch2) {
            return Err(TestCaseError::fail(format!(
                "epoch {i}: worker counts disagree\n{d}"
            )));
        }
        expected = next;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn dataflow_matches_oracle_every_epoch(s in scenario()) {
        check(&s)?;
    }
}
