//! Watching a manifest directory: every settled burst of file changes becomes one batch.
//!
//! File events (notify) are collected until `window` passes without another; then every
//! touched file is reloaded through `DirState` and the resulting events go out as one batch,
//! so an editor's save (often several writes and a rename) is one epoch.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::event::{AccessKind, AccessMode};
use notify::{EventKind, RecursiveMode, Watcher};
use sluice_dataflow::input::InputEvent;
use tokio::sync::mpsc;

use crate::dir::{DirState, Problems};

/// One epoch's worth of changes from the directory.
#[derive(Debug, Default)]
pub struct Batch {
    pub events: Vec<InputEvent>,
    /// Files reloaded to make this batch.
    pub files: usize,
    pub problems: Problems,
}

#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error("{0}: not a directory")]
    NotADirectory(PathBuf),
    #[error("watching {0}: {1}")]
    Notify(PathBuf, notify::Error),
}

/// Loads `dir` (the first batch, even if empty) and then sends a batch per settled burst of
/// changes until `out` closes.
pub async fn watch_dir(
    dir: PathBuf,
    window: Duration,
    out: mpsc::Sender<Batch>,
) -> Result<(), WatchError> {
    if !dir.is_dir() {
        return Err(WatchError::NotADirectory(dir));
    }
    let (tx, mut rx) = mpsc::unbounded_channel::<PathBuf>();
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        if let Ok(ev) = res
            && changes_content(&ev.kind)
        {
            for p in ev.paths {
                let _ = tx.send(p);
            }
        }
    })
    .map_err(|e| WatchError::Notify(dir.clone(), e))?;
    watcher
        .watch(&dir, RecursiveMode::Recursive)
        .map_err(|e| WatchError::Notify(dir.clone(), e))?;

    let mut state = DirState::default();
    let mut first = Batch::default();
    for f in DirState::manifest_files(&dir) {
        first.events.extend(state.reload(&f, &mut first.problems));
        first.files += 1;
    }
    if out.send(first).await.is_err() {
        return Ok(());
    }
    while let Some(p) = rx.recv().await {
        let mut touched = BTreeSet::from([p]);
        while let Ok(Some(p)) = tokio::time::timeout(window, rx.recv()).await {
            touched.insert(p);
        }
        let batch = reload_touched(&mut state, &dir, touched);
        if (!batch.events.is_empty() || !batch.problems.is_empty())
            && out.send(batch).await.is_err()
        {
            return Ok(());
        }
    }
    drop(watcher);
    Ok(())
}

/// Whether an event can mean a changed file. Opening or reading a file is not a change —
/// and the reload itself opens every touched file (and the directory), so treating those
/// events as changes would reload forever.
fn changes_content(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        _ => true,
    }
}

/// Reloads every manifest file under the touched paths (a path may be a file, a new
/// directory, or something deleted).
pub fn reload_touched(state: &mut DirState, dir: &Path, touched: BTreeSet<PathBuf>) -> Batch {
    let mut files = BTreeSet::new();
    for p in touched {
        if p.is_dir() {
            files.extend(DirState::manifest_files(&p));
        } else {
            files.insert(p.clone());
        }
        // A removed directory: forget every file we knew under it.
        if !p.exists() {
            files.extend(state.known_files_under(&p));
        }
    }
    let mut batch = Batch::default();
    for f in files.into_iter().filter(|f| f.starts_with(dir)) {
        let is_manifest = matches!(
            f.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml" | "json")
        );
        let hidden = f
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if is_manifest && !hidden {
            batch.events.extend(state.reload(&f, &mut batch.problems));
            batch.files += 1;
        }
    }
    batch
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn next(rx: &mut mpsc::Receiver<Batch>, within: Duration) -> Option<Batch> {
        tokio::time::timeout(within, rx.recv()).await.ok().flatten()
    }

    #[tokio::test]
    async fn quiet_directory_stays_quiet_and_deletes_arrive() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("svc.yaml");
        std::fs::write(
            &file,
            "apiVersion: v1\nkind: Service\nmetadata: { name: web, namespace: ns }\nspec:\n  ports: [{ name: http, port: 80 }]\n",
        )
        .unwrap();
        let (tx, mut rx) = mpsc::channel(16);
        let watcher = tokio::spawn(watch_dir(
            dir.path().to_path_buf(),
            Duration::from_millis(30),
            tx,
        ));
        let first = next(&mut rx, Duration::from_secs(10))
            .await
            .expect("first batch");
        assert_eq!(first.events.len(), 1);
        // Reading the files for the first batch is not a change.
        if let Some(b) = next(&mut rx, Duration::from_millis(300)).await {
            panic!("a batch without a change: {b:?}");
        }
        std::fs::remove_file(&file).unwrap();
        let gone = next(&mut rx, Duration::from_secs(10))
            .await
            .expect("delete batch");
        assert!(
            matches!(gone.events[..], [InputEvent::Delete(_)]),
            "{gone:?}"
        );
        drop(rx);
        watcher.abort();
    }
}
