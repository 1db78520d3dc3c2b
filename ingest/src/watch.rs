//! Watching a manifest directory: every settled burst of file changes becomes one batch.
//!
//! File events (notify) only say *that* something changed; what changed is found by a scan:
//! every manifest file under the directory is `stat`ed (through symlinks) and reloaded when its
//! identity or timestamps differ from the last load, or when an event named it. A scan per
//! burst is what makes every way of changing files look the same: in-place writes, editors'
//! write-to-temp-then-rename, symlinked files and directories, the kubelet's atomic `..data`
//! swap of a ConfigMap volume (whose events name only hidden paths), a directory that is itself
//! replaced (the watch is re-established), and lost events (inotify queue overflow). A
//! periodic scan backs the events up. The directory is made absolute first, since notify
//! reports absolute paths: a relative `--from examples/` must see its edits too.
//!
//! Events are collected until `window` passes without another, so an editor's save (several
//! writes and a rename) is one epoch.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::event::{AccessKind, AccessMode};
use notify::{EventKind, RecursiveMode, Watcher};
use sluice_dataflow::input::InputEvent;
use tokio::sync::mpsc;

use crate::dir::{DirState, Problems};
use crate::load::{list_manifest_files, unreadable};

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
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error("watching {0}: {1}")]
    Notify(PathBuf, notify::Error),
}

/// How the directory is watched.
#[derive(Clone, Copy, Debug)]
pub struct WatchOptions {
    /// Quiet time that ends a burst of events.
    pub window: Duration,
    /// A full scan this often even without events (`Duration::ZERO`: never).
    pub rescan: Duration,
}

impl WatchOptions {
    pub fn new(window: Duration) -> WatchOptions {
        WatchOptions {
            window,
            rescan: Duration::from_secs(10),
        }
    }
}

/// What a file looked like when it was last loaded: a changed value means "read it again".
/// The identity (device, inode) catches renames over it and symlink swaps; size and the
/// nanosecond timestamps catch writes in place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Stamp {
    fn of(path: &Path) -> Option<Stamp> {
        let m = std::fs::metadata(path).ok()?;
        Some(Stamp {
            dev: m.dev(),
            ino: m.ino(),
            len: m.len(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
        })
    }
}

/// The directory's loaded state and the stamps it was loaded at.
#[derive(Debug)]
pub struct DirScanner {
    dir: PathBuf,
    state: DirState,
    stamps: BTreeMap<PathBuf, Stamp>,
}

impl DirScanner {
    /// `dir` made absolute (symlinks kept, so a swapped symlinked directory is followed).
    pub fn new(dir: &Path) -> Result<DirScanner, WatchError> {
        let dir = std::path::absolute(dir).map_err(|e| WatchError::Io(dir.to_path_buf(), e))?;
        if !dir.is_dir() {
            return Err(WatchError::NotADirectory(dir));
        }
        Ok(DirScanner {
            dir,
            state: DirState::default(),
            stamps: BTreeMap::new(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn state(&self) -> &DirState {
        &self.state
    }

    /// Brings the state up to date with the directory: reloads files that are new, whose stamp
    /// changed or that `touched` names, and forgets files that are gone.
    pub fn scan(&mut self, touched: &BTreeSet<PathBuf>) -> Batch {
        let mut batch = Batch::default();
        let listing = list_manifest_files(&self.dir);
        let now: BTreeMap<PathBuf, Option<Stamp>> = listing
            .files
            .into_iter()
            .map(|f| {
                let s = Stamp::of(&f);
                (f, s)
            })
            .collect();
        batch.problems.load.extend(listing.errors);
        let gone: Vec<PathBuf> = self
            .stamps
            .keys()
            .filter(|f| !now.contains_key(*f))
            // Under a directory that cannot be read now: unknown, not gone.
            .filter(|f| !listing.unreadable.iter().any(|d| f.starts_with(d)))
            .cloned()
            .collect();
        for f in gone {
            self.stamps.remove(&f);
            batch
                .events
                .extend(self.state.reload(&f, &mut batch.problems));
            batch.files += 1;
        }
        for (f, stamp) in now {
            let Some(stamp) = stamp else {
                // Listed but gone already (or a dangling symlink): forget it if we knew it.
                if self.stamps.remove(&f).is_some() {
                    batch
                        .events
                        .extend(self.state.reload(&f, &mut batch.problems));
                    batch.files += 1;
                }
                continue;
            };
            if self.stamps.get(&f) == Some(&stamp) && !touched.contains(&f) {
                continue;
            }
            // A file that cannot be read keeps its objects and its stamp is dropped, so every
            // scan tries again until it can be read.
            if let Err(e) = std::fs::File::open(&f) {
                batch.problems.load.push(unreadable(&f, &e));
                self.stamps.remove(&f);
                continue;
            }
            batch
                .events
                .extend(self.state.reload(&f, &mut batch.problems));
            batch.files += 1;
            self.stamps.insert(f, stamp);
        }
        batch
    }
}

/// What the watcher thread tells the scanning loop.
enum Signal {
    /// These paths changed.
    Paths(Vec<PathBuf>),
    /// Events may have been lost (queue overflow, a watcher error): scan everything.
    Rescan,
}

/// The directory's identity, to notice that the directory itself was replaced.
fn identity(dir: &Path) -> Option<(u64, u64)> {
    std::fs::metadata(dir).ok().map(|m| (m.dev(), m.ino()))
}

fn start_watcher(
    dir: &Path,
    tx: mpsc::UnboundedSender<Signal>,
) -> Result<notify::RecommendedWatcher, WatchError> {
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        let signal = match res {
            Ok(ev) if ev.need_rescan() => Signal::Rescan,
            Ok(ev) if changes_content(&ev.kind) => Signal::Paths(ev.paths),
            Ok(_) => return,
            Err(_) => Signal::Rescan,
        };
        let _ = tx.send(signal);
    })
    .map_err(|e| WatchError::Notify(dir.to_path_buf(), e))?;
    watcher
        .watch(dir, RecursiveMode::Recursive)
        .map_err(|e| WatchError::Notify(dir.to_path_buf(), e))?;
    Ok(watcher)
}

/// Loads `dir` (the first batch, even if empty) and then sends a batch per settled burst of
/// changes until `out` closes.
pub async fn watch_dir(
    dir: PathBuf,
    opts: WatchOptions,
    out: mpsc::Sender<Batch>,
) -> Result<(), WatchError> {
    let mut scanner = DirScanner::new(&dir)?;
    let dir = scanner.dir().to_path_buf();
    let (tx, mut rx) = mpsc::unbounded_channel::<Signal>();
    let mut watcher = Some(start_watcher(&dir, tx.clone())?);
    let mut watched = identity(&dir);

    let first = scanner.scan(&BTreeSet::new());
    if out.send(first).await.is_err() {
        return Ok(());
    }
    let period = (!opts.rescan.is_zero()).then_some(opts.rescan);
    let mut tick = tokio::time::interval(period.unwrap_or(Duration::from_secs(3600)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await; // the first tick is immediate
    loop {
        let mut touched = BTreeSet::new();
        tokio::select! {
            s = rx.recv() => {
                let Some(s) = s else { return Ok(()) };
                collect(s, &mut touched);
                while let Ok(Some(s)) = tokio::time::timeout(opts.window, rx.recv()).await {
                    collect(s, &mut touched);
                }
            }
            _ = tick.tick(), if period.is_some() => {}
        }
        // The directory replaced (moved away, a new one moved in): watch the new one.
        let now = identity(&dir);
        if now != watched || watcher.is_none() {
            watched = now;
            watcher = None;
            if now.is_some() {
                match start_watcher(&dir, tx.clone()) {
                    Ok(w) => watcher = Some(w),
                    Err(e) => tracing::warn!("{e}; retrying at the next scan"),
                }
            }
        }
        if now.is_none() {
            // Gone for now (mid-swap, or deleted): keep serving the last objects rather than
            // deleting everything; the next scan after it reappears reconciles.
            tracing::warn!("{}: the watched directory is missing", dir.display());
            continue;
        }
        let batch = scanner.scan(&touched);
        if (!batch.events.is_empty() || !batch.problems.is_empty())
            && out.send(batch).await.is_err()
        {
            return Ok(());
        }
    }
}

fn collect(s: Signal, touched: &mut BTreeSet<PathBuf>) {
    match s {
        Signal::Paths(p) => touched.extend(p),
        Signal::Rescan => {}
    }
}

/// Whether an event can mean a changed file. Opening or reading a file is not a change —
/// and the scan itself opens every reloaded file (and the directory), so treating those
/// events as changes would reload forever.
fn changes_content(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        _ => true,
    }
}
