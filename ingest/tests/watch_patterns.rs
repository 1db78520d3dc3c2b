//! The directory source against every way users, editors and Kubernetes change files: the
//! real watcher (inotify through notify) on a real temporary directory, given by a relative or
//! an absolute path. After each change the objects the watcher has sent must eventually equal
//! a fresh load of the directory, and name the objects the change implies.

use std::collections::BTreeMap;
use std::os::unix::fs::symlink;
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use sluice_dataflow::input::{InputState, Record};
use sluice_ingest::dir::{DirState, Problems};
use sluice_ingest::load::list_manifest_files;
use sluice_ingest::watch::{Batch, WatchOptions, watch_dir};
use tokio::sync::mpsc;

fn service(name: &str, port: u16) -> String {
    format!(
        "apiVersion: v1\nkind: Service\nmetadata: {{ name: {name}, namespace: ns }}\nspec:\n  ports: [{{ name: http, port: {port} }}]\n"
    )
}

/// What a fresh load of `dir` gives (the watcher's answer must be this).
fn fresh(dir: &Path) -> Vec<Record> {
    let mut state = DirState::default();
    let mut input = InputState::default();
    let mut problems = Problems::default();
    for f in list_manifest_files(dir).files {
        input.apply(state.reload(&f, &mut problems));
    }
    input.records().cloned().collect()
}

/// `Service ns/name` → port.
fn services(records: &[Record]) -> BTreeMap<String, String> {
    records
        .iter()
        .filter_map(|r| match r {
            Record::Service(s) => Some((s.key.name.to_string(), s.ports[0].port.to_string())),
            _ => None,
        })
        .collect()
}

/// `to` relative to the working directory (`../../tmp/…`), to test a relative `--from`.
fn relative(to: &Path) -> PathBuf {
    let cwd = std::env::current_dir().unwrap();
    let mut out = PathBuf::new();
    for c in cwd.components() {
        if matches!(c, Component::Normal(_)) {
            out.push("..");
        }
    }
    out.join(to.strip_prefix("/").unwrap())
}

struct Watched {
    dir: PathBuf,
    rx: mpsc::Receiver<Batch>,
    input: InputState,
    task: tokio::task::JoinHandle<()>,
    warnings: Vec<String>,
}

impl Watched {
    /// Watches `dir`, through `given` (the path as the user writes it).
    async fn start(dir: &Path, given: PathBuf, rescan: Duration) -> Watched {
        let (tx, rx) = mpsc::channel(64);
        let opts = WatchOptions {
            window: Duration::from_millis(20),
            rescan,
        };
        let task = tokio::spawn(async move {
            watch_dir(given, opts, tx).await.expect("watching");
        });
        let mut w = Watched {
            dir: dir.to_path_buf(),
            rx,
            input: InputState::default(),
            task,
            warnings: Vec::new(),
        };
        let first = tokio::time::timeout(Duration::from_secs(10), w.rx.recv())
            .await
            .expect("a first batch")
            .expect("the watcher runs");
        w.input.apply(first.events);
        w
    }

    /// Waits until the watcher's objects equal a fresh load of the directory and hold
    /// `want` (service → port).
    async fn settles_to(&mut self, want: &[(&str, u16)], what: &str) {
        let want: BTreeMap<String, String> = want
            .iter()
            .map(|(n, p)| (n.to_string(), p.to_string()))
            .collect();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let seen: Vec<Record> = self.input.records().cloned().collect();
            let expected = fresh(&self.dir);
            if seen == expected && services(&seen) == want {
                return;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.rx.recv()).await {
                Ok(Some(b)) => {
                    self.warnings.extend(b.problems.warnings);
                    self.input.apply(b.events);
                }
                _ => panic!(
                    "{what}: the watcher has {:?}, a fresh load {:?}, want {want:?}",
                    services(&seen),
                    services(&expected)
                ),
            }
        }
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn watched(relative_path: bool) -> (tempfile::TempDir, PathBuf, Watched) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("manifests");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("a.yaml"), service("a", 80)).unwrap();
    let given = if relative_path {
        relative(&dir)
    } else {
        dir.clone()
    };
    let mut w = Watched::start(&dir, given, Duration::ZERO).await;
    w.settles_to(&[("a", 80)], "initial load").await;
    (tmp, dir, w)
}

#[tokio::test]
async fn relative_path_sees_in_place_writes_and_truncation() {
    let (_tmp, dir, mut w) = watched(true).await;
    std::fs::write(dir.join("a.yaml"), service("a", 81)).unwrap();
    w.settles_to(&[("a", 81)], "in-place write").await;
    // Truncate, then write after the burst window: the empty file in between must not
    // lose `a` for good.
    std::fs::File::create(dir.join("a.yaml")).unwrap();
    tokio::time::sleep(Duration::from_millis(60)).await;
    std::fs::write(dir.join("a.yaml"), service("a", 82)).unwrap();
    w.settles_to(&[("a", 82)], "truncate then write").await;
}

#[tokio::test]
async fn editors_rename_over_and_vim_backup_write() {
    let (_tmp, dir, mut w) = watched(true).await;
    // sed -i and most editors: write a temporary file, rename it over the original.
    std::fs::write(dir.join("sedAbC123"), service("a", 90)).unwrap();
    std::fs::rename(dir.join("sedAbC123"), dir.join("a.yaml")).unwrap();
    w.settles_to(&[("a", 90)], "write-to-temp-then-rename")
        .await;
    // vim (backupcopy=no): rename the file to a backup, write a new file, delete the backup;
    // its swap file is hidden.
    std::fs::write(dir.join(".a.yaml.swp"), "not yaml: [").unwrap();
    std::fs::rename(dir.join("a.yaml"), dir.join("a.yaml~")).unwrap();
    std::fs::write(dir.join("a.yaml"), service("a", 91)).unwrap();
    std::fs::remove_file(dir.join("a.yaml~")).unwrap();
    std::fs::remove_file(dir.join(".a.yaml.swp")).unwrap();
    w.settles_to(&[("a", 91)], "vim backup-and-write").await;
}

#[tokio::test]
async fn files_and_nested_directories_come_and_go() {
    let (tmp, dir, mut w) = watched(false).await;
    std::fs::create_dir_all(dir.join("team/deep")).unwrap();
    std::fs::write(dir.join("team/deep/b.yaml"), service("b", 80)).unwrap();
    w.settles_to(&[("a", 80), ("b", 80)], "nested file created")
        .await;
    // A directory moved out, then another moved in.
    std::fs::rename(dir.join("team"), tmp.path().join("team-away")).unwrap();
    w.settles_to(&[("a", 80)], "directory moved out").await;
    let incoming = tmp.path().join("incoming");
    std::fs::create_dir(&incoming).unwrap();
    std::fs::write(incoming.join("c.json"), service_json("c", 70)).unwrap();
    std::fs::rename(&incoming, dir.join("incoming")).unwrap();
    w.settles_to(&[("a", 80), ("c", 70)], "directory moved in")
        .await;
    std::fs::remove_dir_all(dir.join("incoming")).unwrap();
    std::fs::remove_file(dir.join("a.yaml")).unwrap();
    w.settles_to(&[], "everything deleted").await;
}

fn service_json(name: &str, port: u16) -> String {
    format!(
        r#"{{"apiVersion":"v1","kind":"Service","metadata":{{"name":"{name}","namespace":"ns"}},"spec":{{"ports":[{{"name":"http","port":{port}}}]}}}}"#
    )
}

#[tokio::test]
async fn symlinked_files_and_directories_outside_are_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("manifests");
    let outside = tmp.path().join("elsewhere");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::create_dir_all(outside.join("shared")).unwrap();
    std::fs::write(outside.join("x.yaml"), service("x", 80)).unwrap();
    std::fs::write(outside.join("shared/y.yaml"), service("y", 80)).unwrap();
    symlink(outside.join("x.yaml"), dir.join("x.yaml")).unwrap();
    symlink(outside.join("shared"), dir.join("shared")).unwrap();
    // The targets live outside the watched tree: the periodic scan must see their edits.
    let mut w = Watched::start(&dir, dir.clone(), Duration::from_millis(200)).await;
    w.settles_to(&[("x", 80), ("y", 80)], "initial load").await;
    std::fs::write(outside.join("x.yaml"), service("x", 81)).unwrap();
    std::fs::write(outside.join("shared/y.yaml"), service("y", 81)).unwrap();
    w.settles_to(&[("x", 81), ("y", 81)], "symlink targets edited")
        .await;
    std::fs::remove_file(dir.join("x.yaml")).unwrap();
    w.settles_to(&[("y", 81)], "symlink removed").await;
}

/// The kubelet's ConfigMap volume: `file.yaml -> ..data/file.yaml`, `..data -> ..2026_…`;
/// an update writes a new timestamped directory, points `..data_tmp` at it, renames
/// `..data_tmp` over `..data` and removes the old directory. Only hidden paths change.
#[tokio::test]
async fn configmap_volume_data_swap() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cm");
    std::fs::create_dir(&dir).unwrap();
    let version = |n: u32, files: &[(&str, String)]| {
        let v = dir.join(format!("..2026_12_02_08_00_0{n}.000{n}"));
        std::fs::create_dir(&v).unwrap();
        for (name, text) in files {
            std::fs::write(v.join(name), text).unwrap();
        }
        v
    };
    let v1 = version(1, &[("routes.yaml", service("r", 80))]);
    symlink(v1.file_name().unwrap(), dir.join("..data")).unwrap();
    symlink("..data/routes.yaml", dir.join("routes.yaml")).unwrap();
    let mut w = Watched::start(&dir, relative(&dir), Duration::ZERO).await;
    w.settles_to(&[("r", 80)], "initial load").await;

    let v2 = version(
        2,
        &[
            ("routes.yaml", service("r", 81)),
            ("more.yaml", service("m", 80)),
        ],
    );
    symlink(v2.file_name().unwrap(), dir.join("..data_tmp")).unwrap();
    std::fs::rename(dir.join("..data_tmp"), dir.join("..data")).unwrap();
    symlink("..data/more.yaml", dir.join("more.yaml")).unwrap();
    std::fs::remove_dir_all(&v1).unwrap();
    w.settles_to(&[("r", 81), ("m", 80)], "..data swapped")
        .await;
}

#[tokio::test]
async fn a_replaced_directory_is_watched_again() {
    let (tmp, dir, mut w) = watched(false).await;
    let next = tmp.path().join("next");
    std::fs::create_dir(&next).unwrap();
    std::fs::write(next.join("a.yaml"), service("a", 99)).unwrap();
    std::fs::write(next.join("b.yaml"), service("b", 99)).unwrap();
    std::fs::rename(&dir, tmp.path().join("old")).unwrap();
    std::fs::rename(&next, &dir).unwrap();
    w.settles_to(&[("a", 99), ("b", 99)], "directory replaced")
        .await;
    // And the new directory's own events arrive.
    std::fs::write(dir.join("b.yaml"), service("b", 98)).unwrap();
    w.settles_to(&[("a", 99), ("b", 98)], "edit in the new directory")
        .await;
}

#[tokio::test]
async fn half_written_files_keep_objects_and_duplicates_are_told() {
    let (_tmp, dir, mut w) = watched(false).await;
    // Broken YAML: `a` stays at its last good version (a fresh load of the broken file would
    // drop it, so compare by name only here).
    std::fs::write(
        dir.join("a.yaml"),
        "apiVersion: v1\nkind: Service\nmetadata: {",
    )
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    while let Ok(b) = w.rx.try_recv() {
        w.input.apply(b.events);
    }
    let seen: Vec<Record> = w.input.records().cloned().collect();
    assert_eq!(services(&seen).get("a").map(String::as_str), Some("80"));
    std::fs::write(dir.join("a.yaml"), service("a", 85)).unwrap();
    w.settles_to(&[("a", 85)], "file parses again").await;
    // The same object in two files: the later path wins, and a warning says so.
    std::fs::write(dir.join("z.yaml"), service("a", 86)).unwrap();
    w.settles_to(&[("a", 86)], "duplicate in a later file")
        .await;
    assert!(
        w.warnings
            .iter()
            .any(|m| m.contains("a.yaml") && m.contains("z.yaml") && m.contains("in effect")),
        "{:?}",
        w.warnings
    );
    std::fs::remove_file(dir.join("z.yaml")).unwrap();
    w.settles_to(&[("a", 85)], "duplicate removed").await;
}

/// One file-system operation of the property test.
#[derive(Clone, Debug)]
enum Op {
    Write(usize, u16),
    Rename(usize, u16),
    Delete(usize),
    MoveToSub(usize),
    Symlink(usize, u16),
}

const FILES: [&str; 3] = ["one.yaml", "two.yaml", "three.json"];

fn op() -> impl Strategy<Value = Op> {
    let f = 0..FILES.len();
    let port = 80u16..84;
    prop_oneof![
        (f.clone(), port.clone()).prop_map(|(f, p)| Op::Write(f, p)),
        (f.clone(), port.clone()).prop_map(|(f, p)| Op::Rename(f, p)),
        f.clone().prop_map(Op::Delete),
        f.clone().prop_map(Op::MoveToSub),
        (f, port).prop_map(|(f, p)| Op::Symlink(f, p)),
    ]
}

fn apply(dir: &Path, outside: &Path, op: &Op) {
    let text = |f: usize, p: u16| {
        let name = format!("s{f}");
        if FILES[f].ends_with(".json") {
            service_json(&name, p)
        } else {
            service(&name, p)
        }
    };
    let path = |f: usize| dir.join(FILES[f]);
    let clear = |f: usize| {
        let _ = std::fs::remove_file(path(f));
    };
    match *op {
        Op::Write(f, p) => {
            if path(f).is_symlink() {
                clear(f);
            }
            std::fs::write(path(f), text(f, p)).unwrap();
        }
        Op::Rename(f, p) => {
            let tmp = dir.join(format!(".tmp-{f}"));
            std::fs::write(&tmp, text(f, p)).unwrap();
            std::fs::rename(&tmp, path(f)).unwrap();
        }
        Op::Delete(f) => clear(f),
        Op::MoveToSub(f) => {
            if path(f).exists() {
                std::fs::create_dir_all(dir.join("sub")).unwrap();
                let _ = std::fs::rename(path(f), dir.join("sub").join(FILES[f]));
            }
        }
        Op::Symlink(f, p) => {
            let target = outside.join(format!("{f}-{p}-{}", FILES[f]));
            std::fs::write(&target, text(f, p)).unwrap();
            clear(f);
            symlink(&target, path(f)).unwrap();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Random sequences of operations, each followed by a random pause (sometimes inside the
    /// burst window): the watcher ends where a fresh load of the final directory is.
    #[test]
    fn random_operations_end_where_a_fresh_load_is(
        ops in proptest::collection::vec((op(), 0u64..40), 1..12)
    ) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(async {
            let tmp = tempfile::tempdir().unwrap();
            let dir = tmp.path().join("d");
            let outside = tmp.path().join("outside");
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::create_dir_all(&outside).unwrap();
            let mut w = Watched::start(&dir, relative(&dir), Duration::ZERO).await;
            for (op, pause) in &ops {
                apply(&dir, &outside, op);
                tokio::time::sleep(Duration::from_millis(*pause)).await;
            }
            let expected = services(&fresh(&dir));
            let want: Vec<(String, u16)> = expected
                .iter()
                .map(|(n, p)| (n.clone(), p.parse().unwrap()))
                .collect();
            let want: Vec<(&str, u16)> = want.iter().map(|(n, p)| (n.as_str(), *p)).collect();
            w.settles_to(&want, &format!("after {ops:?}")).await;
        });
    }
}
