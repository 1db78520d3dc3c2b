//! Fuzzing the loader and the lowering with proptest (it runs on the pinned stable toolchain):
//! manifests from the corpus (`ingest/fuzz/corpus/`, the repository's `testdata/` and
//! `examples/`) mutated at the byte level (cuts, insertions, duplicated spans, truncation) and
//! at the structure level (any node of a document replaced by a hostile value: wrong types,
//! huge or negative numbers, odd strings, deep nesting). Every input must load and lower
//! without a panic and within [`CASE_DEADLINE`]; every load error must name the file, every
//! lowering problem its object, field and reason.
//!
//! Bounded for CI: `SLUICE_FUZZ_CASES` cases (default 400); a longer run, e.g.
//! `SLUICE_FUZZ_CASES=100000 cargo test -p sluice-ingest --test fuzz_loader --release`.
//! Failures proptest finds are kept in `fuzz_loader.proptest-regressions` beside this file
//! and replayed first.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use proptest::prelude::*;
use serde_json::{Value, json};
use sluice_ingest::load::load_str;
use sluice_ingest::records::{LowerProblem, lower_one};

/// A case slower than this is a hang.
const CASE_DEADLINE: Duration = Duration::from_secs(10);

fn seeds() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dirs = [
        root.join("fuzz/corpus"),
        root.join("../testdata"),
        root.join("../examples"),
    ];
    let mut files: Vec<PathBuf> = dirs
        .iter()
        .flat_map(|d| std::fs::read_dir(d).unwrap_or_else(|e| panic!("{}: {e}", d.display())))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 8, "the corpus is missing: {files:?}");
    files
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect()
}

#[derive(Clone, Debug)]
enum Mutation {
    /// Replace `len` bytes at `at` (fractions of the text) with `insert`.
    Splice {
        at: f64,
        len: usize,
        insert: String,
    },
    /// Repeat the span at `at` of `len` bytes.
    Duplicate {
        at: f64,
        len: usize,
    },
    Truncate {
        at: f64,
    },
    /// Replace the node reached by `path` (indices into maps and lists, modulo their sizes)
    /// in document `doc` with `value`.
    Node {
        doc: usize,
        path: Vec<usize>,
        value: Value,
    },
}

fn hostile_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        Just(json!(u64::MAX)),
        Just(json!(-1)),
        Just(json!(0)),
        Just(json!("")),
        Just(json!("*")),
        Just(json!("/")),
        Just(json!("a/b/c")),
        Just(json!("99999999999999999999h")),
        Just(json!("-1s")),
        Just(json!("\u{0}\u{202e}é")),
        Just(json!("x".repeat(70_000))),
        "[a-zA-Z0-9./:*_~-]{0,24}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-zA-Z]{1,12}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (0.0..1.0f64, 0usize..64, "[ -~\n\t]{0,16}")
            .prop_map(|(at, len, insert)| Mutation::Splice { at, len, insert }),
        (0.0..1.0f64, 1usize..256).prop_map(|(at, len)| Mutation::Duplicate { at, len }),
        (0.0..1.0f64).prop_map(|at| Mutation::Truncate { at }),
        (
            0usize..64,
            prop::collection::vec(any::<usize>(), 0..8),
            hostile_value()
        )
            .prop_map(|(doc, path, value)| Mutation::Node { doc, path, value }),
        (0usize..64, prop::collection::vec(any::<usize>(), 0..8)).prop_map(|(doc, path)| {
            Mutation::Node {
                doc,
                path,
                value: Value::Null,
            }
        }),
    ]
}

/// The byte offset nearest `at` (a fraction) that is a char boundary.
fn offset(text: &str, at: f64) -> usize {
    let mut i = ((text.len() as f64) * at) as usize;
    while i < text.len() && !text.is_char_boundary(i) {
        i += 1;
    }
    i.min(text.len())
}

fn node_at<'a>(mut v: &'a mut Value, path: &[usize]) -> &'a mut Value {
    for &i in path {
        let len = match &*v {
            Value::Array(a) => a.len(),
            Value::Object(o) => o.len(),
            _ => 0,
        };
        if len == 0 {
            break;
        }
        v = match v {
            Value::Array(a) => &mut a[i % len],
            Value::Object(o) => o.values_mut().nth(i % len).unwrap(),
            _ => unreachable!(),
        };
    }
    v
}

fn apply(text: &str, m: &Mutation) -> String {
    match m {
        Mutation::Splice { at, len, insert } => {
            let start = offset(text, *at);
            let end = offset(
                text,
                ((start + len) as f64 / text.len().max(1) as f64).min(1.0),
            );
            format!("{}{insert}{}", &text[..start], &text[end.max(start)..])
        }
        Mutation::Duplicate { at, len } => {
            let start = offset(text, *at);
            let end = offset(
                text,
                ((start + len) as f64 / text.len().max(1) as f64).min(1.0),
            );
            let span = &text[start..end.max(start)];
            format!("{}{span}{span}{}", &text[..start], &text[end.max(start)..])
        }
        Mutation::Truncate { at } => text[..offset(text, *at)].to_string(),
        Mutation::Node { doc, path, value } => {
            let mut docs: Vec<Value> = text
                .split("\n---")
                .filter_map(|d| serde_yaml_ng::from_str::<Value>(d).ok())
                .filter(|d| !d.is_null())
                .collect();
            if docs.is_empty() {
                return text.to_string();
            }
            let n = docs.len();
            *node_at(&mut docs[doc % n], path) = value.clone();
            docs.iter()
                .map(|d| serde_yaml_ng::to_string(d).unwrap())
                .collect::<Vec<_>>()
                .join("---\n")
        }
    }
}

/// Loads and lowers `text` on another thread, bounded by [`CASE_DEADLINE`]; returns the
/// load errors (as text) and the lowering problems.
fn load_and_lower(text: String) -> (Vec<String>, Vec<LowerProblem>) {
    let (tx, rx) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        let file = Path::new("fuzz.yaml");
        let loaded = load_str(file, &text);
        let errors: Vec<String> = loaded.errors.iter().map(ToString::to_string).collect();
        let problems = loaded
            .objects
            .iter()
            .filter_map(|o| lower_one(o).err())
            .collect();
        let _ = tx.send((errors, problems));
    });
    match rx.recv_timeout(CASE_DEADLINE) {
        Ok(errors) => errors,
        Err(mpsc::RecvTimeoutError::Disconnected) => match worker.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the worker sends before it ends"),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("loading took over {CASE_DEADLINE:?}"),
    }
}

fn cases() -> u32 {
    std::env::var("SLUICE_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(400)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn mutated_manifests_never_panic_or_hang(
        seed in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let seeds = seeds();
        let mut text = seeds[seed.index(seeds.len())].clone();
        for m in &mutations {
            text = apply(&text, m);
        }
        let (errors, problems) = load_and_lower(text);
        for error in errors {
            prop_assert!(error.contains("fuzz.yaml"), "an error that names no file: {error}");
        }
        for p in problems {
            prop_assert!(!p.field.is_empty() && !p.message.is_empty(), "a problem without field or reason: {p}");
        }
    }
}

/// The corpus itself loads cleanly: mutations start from valid manifests.
#[test]
fn the_corpus_loads_without_errors() {
    for text in seeds() {
        let (errors, problems) = load_and_lower(text.clone());
        assert!(
            errors.is_empty() && problems.is_empty(),
            "{errors:?} {problems:?}"
        );
    }
}
