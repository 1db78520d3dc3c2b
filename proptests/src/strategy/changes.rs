//! Change sequences: a random *script* of steps, materialized against a world into epochs of
//! [`InputEvent`]s.
//!
//! The script does not depend on the world: its steps name objects by [`Index`] into the keys
//! present when the step runs (ordered by kind, namespace and name text), so the world and the
//! script shrink independently and a shrunk world still gets a meaningful script.
//! Materialization is deterministic and tracks the state exactly as `InputState` does. Every
//! record a step writes is first linked against the state at that point ([`Targets::link`],
//! driven by the step's own [`Links`]), so that edits keep routes attached, backendRefs
//! resolved and slices joined to their Services, as in a generated world.

use proptest::prelude::*;
use proptest::sample::Index;
use sluice_dataflow::input::{InputEvent, Record, RecordKey, RecordKind};
use std::collections::BTreeMap;
use std::fmt;

use super::names::{all_keys, cmp_record_keys};
use super::world::{
    Links, RECORD_LINK_PICKS, Targets, any_record, links, record_kind, record_of, rekey, world,
};
use crate::world_yaml::{epochs_to_yaml, world_to_yaml};

/// One step of a change script.
#[derive(Clone, Debug)]
pub enum Step {
    /// Upsert `payload` as generated (linked): a new object, or a replacement of the one with
    /// its key.
    Upsert { payload: Record, links: Links },
    /// Regenerate an existing object: the `target`-th current key of `payload`'s kind gets
    /// `payload`, rekeyed and linked. With no object of that kind, `payload` is upserted as is.
    Edit {
        target: Index,
        payload: Record,
        links: Links,
    },
    /// Delete the `target`-th current key of any kind (a missing key when the state is empty).
    Delete { target: Index },
    /// Delete the `target`-th key of the vocabulary that is not in the current state.
    DeleteMissing { target: Index },
    /// Relist `kind`: the current objects of the kind whose position has its bit set in `keep`
    /// (bit `i % 32`), plus `fresh`, linked (which replace kept ones with the same key).
    Relist {
        kind: RecordKind,
        keep: u32,
        fresh: Vec<Record>,
        links: Links,
    },
    /// Change one object twice in one epoch (`None` deletes it): the `target`-th current key
    /// of the payloads' kind, or the first payload's own key when there is none of that kind.
    /// Both payloads are linked against the state before the step.
    Twice {
        target: Index,
        first: Option<Record>,
        second: Option<Record>,
        links: Links,
    },
}

/// A change script: 1–8 epochs of 1–4 steps.
pub type Script = Vec<Vec<Step>>;

fn step() -> impl Strategy<Value = Step> {
    let record_links = || links(RECORD_LINK_PICKS);
    let upsert =
        (any_record(), record_links()).prop_map(|(payload, links)| Step::Upsert { payload, links });
    let edit =
        (any::<Index>(), any_record(), record_links()).prop_map(|(target, payload, links)| {
            Step::Edit {
                target,
                payload,
                links,
            }
        });
    let relist = record_kind().prop_flat_map(move |kind| {
        (
            any::<u32>(),
            prop::collection::vec(record_of(kind), 0..=2),
            links(2 * RECORD_LINK_PICKS),
        )
            .prop_map(move |(keep, fresh, links)| Step::Relist {
                kind,
                keep,
                fresh,
                links,
            })
    });
    let twice = record_kind().prop_flat_map(|kind| {
        let rec = move || record_of(kind);
        let payloads = prop_oneof![
            2 => (rec(), rec()).prop_map(|(a, b)| (Some(a), Some(b))),
            1 => rec().prop_map(|a| (Some(a), None)),
            1 => rec().prop_map(|b| (None, Some(b))),
        ];
        (any::<Index>(), payloads, links(2 * RECORD_LINK_PICKS)).prop_map(
            |(target, (first, second), links)| Step::Twice {
                target,
                first,
                second,
                links,
            },
        )
    });
    prop_oneof![
        3 => upsert,
        4 => edit,
        2 => any::<Index>().prop_map(|target| Step::Delete { target }),
        1 => any::<Index>().prop_map(|target| Step::DeleteMissing { target }),
        1 => relist,
        2 => twice,
    ]
}

/// A random change script.
pub fn script() -> impl Strategy<Value = Script> {
    prop::collection::vec(prop::collection::vec(step(), 1..=4), 1..=8)
}

/// 1–8 epochs of 1–4 events against `world` (see [`Step`] for what the events do).
pub fn changes(world: Vec<Record>) -> impl Strategy<Value = Vec<Vec<InputEvent>>> {
    script().prop_map(move |script| materialize(&world, &script))
}

/// The current objects, changed event by event the way `InputState` changes them.
struct Shadow(BTreeMap<RecordKey, Record>);

impl Shadow {
    /// Current keys (of `kind`, or all), in kind then namespace/name text order.
    fn keys(&self, kind: Option<RecordKind>) -> Vec<RecordKey> {
        let mut keys: Vec<RecordKey> = self
            .0
            .keys()
            .filter(|k| kind.is_none_or(|kind| k.kind == kind))
            .copied()
            .collect();
        keys.sort_by(cmp_record_keys);
        keys
    }

    /// What the records of this state offer references, in key text order.
    fn targets(&self) -> Targets {
        Targets::of(self.keys(None).iter().map(|k| &self.0[k]))
    }

    fn pick(&self, kind: Option<RecordKind>, target: &Index) -> Option<RecordKey> {
        let keys = self.keys(kind);
        (!keys.is_empty()).then(|| keys[target.index(keys.len())])
    }

    fn missing(&self, target: &Index) -> RecordKey {
        let absent: Vec<RecordKey> = all_keys()
            .into_iter()
            .filter(|k| !self.0.contains_key(k))
            .collect();
        if absent.is_empty() {
            RecordKey {
                kind: RecordKind::Secret,
                key: sluice_dataflow::model::ObjectKey::new("ns-a", "never-created"),
            }
        } else {
            absent[target.index(absent.len())]
        }
    }

    fn apply(&mut self, event: &InputEvent) {
        match event {
            InputEvent::Upsert(r) => {
                self.0.insert(r.key(), r.clone());
            }
            InputEvent::Delete(k) => {
                self.0.remove(k);
            }
            InputEvent::Relist(kind, records) => {
                self.0.retain(|k, _| k.kind != *kind);
                self.0.extend(records.iter().map(|r| (r.key(), r.clone())));
            }
        }
    }
}

/// Turns `script` into epochs of events against `world`, deterministically.
pub fn materialize(world: &[Record], script: &Script) -> Vec<Vec<InputEvent>> {
    let mut state = Shadow(world.iter().map(|r| (r.key(), r.clone())).collect());
    let mut epochs = Vec::with_capacity(script.len());
    for steps in script {
        let mut events = Vec::new();
        for step in steps {
            for event in step_events(&state, step) {
                state.apply(&event);
                events.push(event);
            }
        }
        epochs.push(events);
    }
    epochs
}

fn step_events(state: &Shadow, step: &Step) -> Vec<InputEvent> {
    let targets = state.targets();
    match step {
        Step::Upsert { payload, links } => {
            vec![InputEvent::Upsert(targets.link(
                payload.clone(),
                &mut links.iter(),
                true,
            ))]
        }
        Step::Edit {
            target,
            payload,
            links,
        } => {
            let to = state
                .pick(Some(payload.key().kind), target)
                .unwrap_or(payload.key());
            let record = rekey(payload.clone(), to);
            vec![InputEvent::Upsert(targets.link(
                record,
                &mut links.iter(),
                false,
            ))]
        }
        Step::Delete { target } => {
            let key = state
                .pick(None, target)
                .unwrap_or_else(|| state.missing(target));
            vec![InputEvent::Delete(key)]
        }
        Step::DeleteMissing { target } => vec![InputEvent::Delete(state.missing(target))],
        Step::Relist {
            kind,
            keep,
            fresh,
            links,
        } => {
            let mut listed: BTreeMap<RecordKey, Record> = state
                .keys(Some(*kind))
                .into_iter()
                .enumerate()
                .filter(|(i, _)| keep & (1 << (i % 32)) != 0)
                .map(|(_, k)| (k, state.0[&k].clone()))
                .collect();
            let mut picks = links.iter();
            listed.extend(fresh.iter().map(|r| {
                let r = targets.link(r.clone(), &mut picks, true);
                (r.key(), r)
            }));
            let mut records: Vec<Record> = listed.into_values().collect();
            records.sort_by(|a, b| cmp_record_keys(&a.key(), &b.key()));
            vec![InputEvent::Relist(*kind, records)]
        }
        Step::Twice {
            target,
            first,
            second,
            links,
        } => {
            let Some(template) = first.as_ref().or(second.as_ref()) else {
                return Vec::new();
            };
            let to = state
                .pick(Some(template.key().kind), target)
                .unwrap_or(template.key());
            let mut picks = links.iter();
            [first, second]
                .into_iter()
                .map(|payload| match payload {
                    Some(r) => {
                        InputEvent::Upsert(targets.link(rekey(r.clone(), to), &mut picks, false))
                    }
                    None => InputEvent::Delete(to),
                })
                .collect()
        }
    }
}

/// A world and the epochs of changes that follow it. `Debug` prints both as YAML, so that a
/// shrunk failing case reads like a cluster and a change log.
#[derive(Clone)]
pub struct Scenario {
    pub world: Vec<Record>,
    pub epochs: Vec<Vec<InputEvent>>,
}

impl Scenario {
    /// The world as one batch of upserts: the natural first epoch.
    pub fn initial_batch(&self) -> Vec<InputEvent> {
        self.world.iter().cloned().map(InputEvent::Upsert).collect()
    }
}

impl fmt::Debug for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "# world")?;
        f.write_str(&world_to_yaml(&self.world))?;
        writeln!(f, "# changes")?;
        f.write_str(&epochs_to_yaml(&self.epochs))
    }
}

/// A world and a change script materialized against it; both shrink independently.
pub fn scenario() -> impl Strategy<Value = Scenario> {
    (world(), script()).prop_map(|(world, script)| {
        let epochs = materialize(&world, &script);
        Scenario { world, epochs }
    })
}
