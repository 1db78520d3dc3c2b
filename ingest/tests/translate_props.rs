//! Properties of the watch-event translation, checked over random event sequences fed through
//! `InputState` (the dataflow's input):
//!
//! * every record's multiplicity in the dataflow input is always 0 or 1, and at most one
//!   record per object is present;
//! * after every event, the input holds exactly the lowered last state of every object (the
//!   relist being the source of truth: objects missing from it are gone);
//! * an event emits something exactly when the input changes (duplicates, noise-only changes
//!   and deletes of unknown objects emit nothing);
//! * batching windows (`Batcher`) do not change the outcome.
//!
//! And: the same objects through the directory source and through watch events give the same
//! input state.

use std::collections::BTreeMap;
use std::path::PathBuf;

use kube::runtime::watcher::Event;
use proptest::prelude::*;
use serde_json::{Value, json};
use sluice_crds::{Kind, ObjectRef};
use sluice_dataflow::input::{InputEvent, InputState, Record};
use sluice_ingest::dir::{DirState, Problems};
use sluice_ingest::load::load_paths;
use sluice_ingest::translate::{Batcher, Translator, translate_value};

/// A few objects of two kinds, each with a few possible specs, plus noise the compiler does
/// not read.
#[derive(Clone, Debug)]
struct Obj {
    /// 0..3: Namespaces n0..n2; 3..5: Services apps/s0, apps/s1.
    key: usize,
    spec: u8,
    noise: u8,
}

const KEYS: usize = 5;

fn kind_of(key: usize) -> Kind {
    if key < 3 {
        Kind::Namespace
    } else {
        Kind::Service
    }
}

fn object_ref(key: usize) -> ObjectRef {
    match kind_of(key) {
        Kind::Namespace => ObjectRef::new(Kind::Namespace, None, &format!("n{key}")),
        _ => ObjectRef::new(Kind::Service, Some("apps"), &format!("s{}", key - 3)),
    }
}

/// The object as the API server would return it; `noise` changes only fields the compiler
/// does not read (resourceVersion, status, managedFields, last-applied, other annotations).
fn document(o: &Obj) -> Value {
    let noise = json!({
        "resourceVersion": format!("{}", o.noise),
        "managedFields": [{"manager": format!("m{}", o.noise % 3)}],
        "annotations": {
            "kubectl.kubernetes.io/last-applied-configuration": format!("{{\"n\":{}}}", o.noise),
        },
    });
    let mut v = match kind_of(o.key) {
        Kind::Namespace => json!({
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": format!("n{}", o.key), "labels": {"team": format!("t{}", o.spec % 3)}},
            "status": {"phase": if o.noise.is_multiple_of(2) { "Active" } else { "Terminating" }},
        }),
        _ => json!({
            "metadata": {"name": format!("s{}", o.key - 3), "namespace": "apps"},
            "spec": {"ports": [{"name": "http", "port": 80 + u16::from(o.spec % 3)}]},
            "status": {"loadBalancer": {"ingress": [{"ip": format!("10.0.0.{}", o.noise)}]}},
        }),
    };
    let meta = v["metadata"].as_object_mut().unwrap();
    for (k, val) in noise.as_object().unwrap() {
        meta.insert(k.clone(), val.clone());
    }
    v
}

fn lowered(o: &Obj) -> Record {
    translate_value(kind_of(o.key), document(o))
        .unwrap()
        .unwrap()
}

#[derive(Clone, Debug)]
enum Op {
    Apply(Obj),
    /// The payload may be stale (any spec): only its key may be used.
    Delete(Obj),
    /// A relist of one kind (`Init`, `InitApply`…, `InitDone`), optionally preceded by an
    /// interrupted one (`Init`, `InitApply`… and then a restart).
    Relist {
        namespaces: bool,
        items: Vec<Obj>,
        interrupted: Option<Vec<Obj>>,
    },
}

fn obj() -> impl Strategy<Value = Obj> {
    (0..KEYS, 0u8..3, 0u8..4).prop_map(|(key, spec, noise)| Obj { key, spec, noise })
}

fn items(namespaces: bool) -> impl Strategy<Value = Vec<Obj>> {
    let range = if namespaces { 0..3 } else { 3..KEYS };
    proptest::collection::btree_map(range, (0u8..3, 0u8..4), 0..4).prop_map(|m| {
        m.into_iter()
            .map(|(key, (spec, noise))| Obj { key, spec, noise })
            .collect()
    })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => obj().prop_map(Op::Apply),
        2 => obj().prop_map(Op::Delete),
        1 => any::<bool>().prop_flat_map(|ns| (
            Just(ns),
            items(ns),
            proptest::option::of(items(ns)),
        )).prop_map(|(namespaces, items, interrupted)| Op::Relist { namespaces, items, interrupted }),
    ]
}

/// The watcher events of an op, with their kind.
fn watch_events(op: &Op) -> Vec<(Kind, Event<Value>)> {
    match op {
        Op::Apply(o) => vec![(kind_of(o.key), Event::Apply(document(o)))],
        Op::Delete(o) => vec![(kind_of(o.key), Event::Delete(document(o)))],
        Op::Relist {
            namespaces,
            items,
            interrupted,
        } => {
            let kind = if *namespaces {
                Kind::Namespace
            } else {
                Kind::Service
            };
            let mut out = Vec::new();
            if let Some(partial) = interrupted {
                out.push((kind, Event::Init));
                out.extend(
                    partial
                        .iter()
                        .map(|o| (kind, Event::InitApply(document(o)))),
                );
            }
            out.push((kind, Event::Init));
            out.extend(items.iter().map(|o| (kind, Event::InitApply(document(o)))));
            out.push((kind, Event::InitDone));
            out
        }
    }
}

/// The objects' last states, as Kubernetes has them.
fn apply_model(model: &mut BTreeMap<ObjectRef, Obj>, op: &Op) {
    match op {
        Op::Apply(o) => {
            model.insert(object_ref(o.key), o.clone());
        }
        Op::Delete(o) => {
            model.remove(&object_ref(o.key));
        }
        Op::Relist {
            namespaces, items, ..
        } => {
            let kind = if *namespaces {
                Kind::Namespace
            } else {
                Kind::Service
            };
            model.retain(|r, _| r.kind != kind);
            for o in items {
                model.insert(object_ref(o.key), o.clone());
            }
        }
    }
}

fn sorted_records<'a>(records: impl Iterator<Item = &'a Record>) -> Vec<Record> {
    let mut out: Vec<Record> = records.cloned().collect();
    out.sort();
    out
}

/// Checks that the accumulated multiplicities are 0 or 1, at most one record per key.
fn check_multiplicities(counts: &BTreeMap<Record, isize>) -> Result<(), TestCaseError> {
    let mut keys = std::collections::BTreeSet::new();
    for (record, count) in counts {
        prop_assert!(
            *count == 0 || *count == 1,
            "multiplicity {count} for {record:?}"
        );
        if *count == 1 {
            prop_assert!(
                keys.insert(record.key()),
                "two records for {:?}",
                record.key()
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn multiplicity_is_0_or_1_and_input_is_the_last_state(
        ops in proptest::collection::vec(op(), 1..40),
        windows in proptest::collection::vec(1usize..5, 40),
    ) {
        let mut translator = Translator::new([Kind::Namespace, Kind::Service]);
        let mut input = InputState::default();
        let mut counts: BTreeMap<Record, isize> = BTreeMap::new();
        let mut model = BTreeMap::new();
        // The same events through a batching window of `windows[i]` ops.
        let mut batched = InputState::default();
        let mut batcher = Batcher::default();
        let mut window = windows.iter().copied().cycle();
        let mut left = window.next().unwrap();

        for op in &ops {
            for (kind, event) in watch_events(op) {
                let mut problems = Vec::new();
                let events = translator.apply(kind, event, &mut problems);
                prop_assert!(problems.is_empty(), "{problems:?}");
                batcher.extend(events.clone());
                let changes = input.apply(events.clone());
                prop_assert_eq!(events.is_empty(), changes.is_empty(),
                    "events {:?} changed {:?}", events, changes);
                for (record, diff) in changes {
                    *counts.entry(record).or_default() += diff;
                }
                check_multiplicities(&counts)?;
                // Between Init and InitDone nothing is emitted.
                if translator.kind(kind).unwrap().is_relisting() {
                    prop_assert!(events.is_empty());
                }
            }
            apply_model(&mut model, op);
            let expected = sorted_records(model.values().map(lowered).collect::<Vec<_>>().iter());
            prop_assert_eq!(sorted_records(input.records()), expected.clone());
            prop_assert_eq!(sorted_records(translator.records()), expected.clone());

            left -= 1;
            if left == 0 {
                batched.apply(batcher.take());
                prop_assert_eq!(sorted_records(batched.records()), expected);
                left = window.next().unwrap();
            }
        }
        batched.apply(batcher.take());
        prop_assert_eq!(sorted_records(batched.records()), sorted_records(input.records()));
    }

    /// A relist equal to the current state emits nothing (checklist 3); a duplicate or
    /// noise-only `Apply` emits nothing (checklist 4, 6); a `Delete` of an unknown object
    /// emits nothing (checklist 5).
    #[test]
    fn unchanged_relists_duplicates_and_noise_emit_nothing(
        items in items(false),
        noise in 0u8..4,
    ) {
        let mut translator = Translator::new([Kind::Service]);
        let mut problems = Vec::new();
        let relist = |objs: &[Obj]| {
            let mut evs = vec![Event::Init];
            evs.extend(objs.iter().map(|o| Event::InitApply(document(o))));
            evs.push(Event::InitDone);
            evs
        };
        let mut first = Vec::new();
        for e in relist(&items) {
            first.extend(translator.apply(Kind::Service, e, &mut problems));
        }
        prop_assert_eq!(first.len(), items.len());
        let renoised: Vec<Obj> = items.iter().map(|o| Obj { noise, ..o.clone() }).collect();
        for e in relist(&renoised) {
            prop_assert!(translator.apply(Kind::Service, e, &mut problems).is_empty());
        }
        for o in &renoised {
            let again = Obj { noise: noise.wrapping_add(1), ..o.clone() };
            prop_assert!(translator.apply(Kind::Service, Event::Apply(document(&again)), &mut problems).is_empty());
        }
        for key in 3..KEYS {
            if !items.iter().any(|o| o.key == key) {
                let ghost = Obj { key, spec: 0, noise: 0 };
                prop_assert!(translator.apply(Kind::Service, Event::Delete(document(&ghost)), &mut problems).is_empty());
            }
        }
        prop_assert!(problems.is_empty());
    }
}

/// Checklist 2: while the ingest holds {a, b}, `Init`, `InitApply(a')`, `InitApply(c)`,
/// `InitDone` emits exactly `-a,+a'` (as `Upsert(a')`), `-b`, `+c`, together.
#[test]
fn relist_reconciliation_emits_the_exact_difference() {
    let a = Obj {
        key: 3,
        spec: 0,
        noise: 0,
    };
    let b = Obj {
        key: 4,
        spec: 0,
        noise: 0,
    };
    let a2 = Obj {
        key: 3,
        spec: 1,
        noise: 2,
    };
    let c = Obj {
        key: 0,
        spec: 0,
        noise: 0,
    };
    let mut t = Translator::new([Kind::Service, Kind::Namespace]);
    let mut problems = Vec::new();
    t.apply(Kind::Service, Event::Apply(document(&a)), &mut problems);
    t.apply(Kind::Service, Event::Apply(document(&b)), &mut problems);
    let mut input = InputState::default();
    input.apply(t.records().cloned().map(InputEvent::Upsert).collect());

    let mut events = Vec::new();
    for e in [
        Event::Init,
        Event::InitApply(document(&a2)),
        Event::InitDone,
    ] {
        events.extend(t.apply(Kind::Service, e, &mut problems));
    }
    assert_eq!(
        events,
        [
            InputEvent::Delete(lowered(&b).key()),
            InputEvent::Upsert(lowered(&a2)),
        ]
    );
    let mut changes = input.apply(events);
    changes.sort();
    let mut expected = vec![(lowered(&a), -1), (lowered(&a2), 1), (lowered(&b), -1)];
    expected.sort();
    assert_eq!(changes, expected);
    // A new object of another kind in the same window.
    let mut ns_events = Vec::new();
    for e in [Event::Init, Event::InitApply(document(&c)), Event::InitDone] {
        ns_events.extend(t.apply(Kind::Namespace, e, &mut problems));
    }
    assert_eq!(ns_events, [InputEvent::Upsert(lowered(&c))]);
    assert!(problems.is_empty());
}

/// The testdata manifests through the directory source and, as watch events, through the
/// translation give the same dataflow input.
#[test]
fn directory_source_and_watch_translation_agree() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata");
    let files = sluice_ingest::load::list_manifest_files(&dir).files;
    assert!(!files.is_empty());

    let mut dir_state = DirState::default();
    let mut problems = Problems::default();
    let mut from_dir = InputState::default();
    for f in &files {
        let events = dir_state.reload(f, &mut problems);
        from_dir.apply(events);
    }

    let loaded = load_paths(std::slice::from_ref(&dir));
    let mut translator = Translator::new(Kind::all().iter().copied());
    let mut by_kind: BTreeMap<Kind, Vec<Value>> = BTreeMap::new();
    for o in &loaded.objects {
        let mut v = serde_json::to_value(o).unwrap();
        // As list items of built-in kinds: no type meta (the translation fills it in).
        if o.kind().group().is_empty() {
            let m = v.as_object_mut().unwrap();
            m.remove("apiVersion");
            m.remove("kind");
        }
        by_kind.entry(o.kind()).or_default().push(v);
    }
    let mut from_watch = InputState::default();
    let mut watch_problems = Vec::new();
    for &kind in Kind::all() {
        let mut events = vec![Event::Init];
        events.extend(
            by_kind
                .remove(&kind)
                .unwrap_or_default()
                .into_iter()
                .map(Event::InitApply),
        );
        events.push(Event::InitDone);
        for e in events {
            from_watch.apply(translator.apply(kind, e, &mut watch_problems));
        }
    }
    assert!(translator.all_synced());
    assert!(
        from_dir.len() > 10,
        "testdata lowered to {} records",
        from_dir.len()
    );
    assert_eq!(
        sorted_records(from_watch.records()),
        sorted_records(from_dir.records())
    );
    assert_eq!(
        watch_problems.len(),
        problems.lower.len(),
        "{watch_problems:?}"
    );
}
