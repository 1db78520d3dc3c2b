//! A directory of manifests as a source: per-file state turned into exact input events.
//!
//! Each file's objects are kept separately; an object defined in several files takes its
//! definition from the last file in path order (as `load_paths` does). Reloading one file
//! yields events for just the objects whose effective record changed. A document that fails to
//! load keeps its object's last good record (when the error names the object); a file with an
//! error that names no object (a YAML syntax error) keeps every object it held before, so a
//! half-saved file never deletes what it used to define.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sluice_crds::ObjectRef;
use sluice_dataflow::input::{InputEvent, Record};

use crate::load::{LoadError, Loaded, load_paths};
use crate::records::{LowerProblem, lower_one};

/// What one reload found wrong, for logging.
#[derive(Debug, Default)]
pub struct Problems {
    pub load: Vec<LoadError>,
    pub lower: Vec<LowerProblem>,
    pub warnings: Vec<String>,
}

impl Problems {
    pub fn is_empty(&self) -> bool {
        self.load.is_empty() && self.lower.is_empty()
    }
}

/// The objects of every file of a directory, by file.
#[derive(Debug, Default)]
pub struct DirState {
    /// File → object → its record (`None`: a kind the dataflow does not consume).
    files: BTreeMap<PathBuf, BTreeMap<ObjectRef, Option<Record>>>,
    /// Object → the files defining it, sorted (the last one's definition is in effect). Almost
    /// always one: a small vector of shared paths, not a set per object (millions of objects).
    defined_in: BTreeMap<ObjectRef, Vec<Arc<Path>>>,
}

impl DirState {
    /// Re-reads `file` (or forgets it if it is gone) and returns the events that bring the
    /// dataflow up to date.
    pub fn reload(&mut self, file: &Path, problems: &mut Problems) -> Vec<InputEvent> {
        if !file.is_file() {
            return self.replace(file, None);
        }
        let loaded = load_paths(&[file.to_path_buf()]);
        self.replace_loaded(file, loaded, problems)
    }

    /// As `reload`, with the file's contents already loaded.
    pub fn replace_loaded(
        &mut self,
        file: &Path,
        loaded: Loaded,
        problems: &mut Problems,
    ) -> Vec<InputEvent> {
        let mut objects: BTreeMap<ObjectRef, Option<Record>> = BTreeMap::new();
        for o in &loaded.objects {
            match lower_one(o) {
                Ok(r) => {
                    objects.insert(o.obj_ref(), r);
                }
                Err(p) => problems.lower.push(p),
            }
        }
        // Keep the last good record of objects whose new document failed.
        let previous = self.files.get(file);
        let unnamed_error = loaded.errors.iter().any(|e| e.object.is_none());
        if let Some(prev) = previous {
            for (r, rec) in prev {
                let failed_here = loaded.errors.iter().any(|e| e.object.as_ref() == Some(r))
                    || problems.lower.iter().any(|p| &p.object == r);
                if (failed_here || unnamed_error) && !objects.contains_key(r) {
                    objects.insert(r.clone(), rec.clone());
                }
            }
        }
        problems.load.extend(loaded.errors);
        problems.warnings.extend(loaded.warnings);
        let names: Vec<ObjectRef> = objects.keys().cloned().collect();
        let events = self.replace(file, Some(objects));
        // Two files defining one object (often briefly, while a file is moved): the last in
        // path order wins, deterministically, and the user is told.
        for r in names {
            if let Some(files) = self.defined_in.get(&r).filter(|f| f.len() > 1) {
                let list: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
                problems.warnings.push(format!(
                    "{r} is defined in {}; the definition in {} is in effect (last in path order)",
                    list.join(", "),
                    list[list.len() - 1]
                ));
            }
        }
        events
    }

    fn effective(&self, r: &ObjectRef) -> Option<&Record> {
        let file = self.defined_in.get(r)?.last()?;
        self.files.get(&**file)?.get(r)?.as_ref()
    }

    fn replace(
        &mut self,
        file: &Path,
        objects: Option<BTreeMap<ObjectRef, Option<Record>>>,
    ) -> Vec<InputEvent> {
        let touched: BTreeSet<ObjectRef> = self
            .files
            .get(file)
            .into_iter()
            .flat_map(|o| o.keys())
            .chain(objects.iter().flat_map(|o| o.keys()))
            .cloned()
            .collect();
        // Before the file's old objects are dropped: `effective` reads them.
        let before: Vec<Option<Record>> =
            touched.iter().map(|r| self.effective(r).cloned()).collect();
        let old = self.files.remove(file).unwrap_or_default();
        for r in old.keys() {
            if let Some(files) = self.defined_in.get_mut(r) {
                files.retain(|f| **f != *file);
                if files.is_empty() {
                    self.defined_in.remove(r);
                }
            }
        }
        if let Some(objects) = objects {
            let shared: Arc<Path> = Arc::from(file);
            for r in objects.keys() {
                let files = self.defined_in.entry(r.clone()).or_default();
                if let Err(at) = files.binary_search(&shared) {
                    files.insert(at, shared.clone());
                }
            }
            self.files.insert(file.to_path_buf(), objects);
        }
        let mut events = Vec::new();
        for (r, before) in touched.iter().zip(before) {
            match (before, self.effective(r)) {
                (Some(b), None) => events.push(InputEvent::Delete(b.key())),
                (b, Some(a)) if b.as_ref() != Some(a) => {
                    if let Some(b) = b.filter(|b| b.key() != a.key()) {
                        events.push(InputEvent::Delete(b.key()));
                    }
                    events.push(InputEvent::Upsert(a.clone()));
                }
                _ => {}
            }
        }
        events
    }

    /// Files currently loaded under `prefix`.
    pub fn known_files_under(&self, prefix: &Path) -> Vec<PathBuf> {
        self.files
            .keys()
            .filter(|f| f.starts_with(prefix))
            .cloned()
            .collect()
    }

    /// Number of objects currently defined.
    pub fn len(&self) -> usize {
        self.defined_in.len()
    }

    pub fn is_empty(&self) -> bool {
        self.defined_in.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(name: &str, port: u16) -> String {
        format!(
            "apiVersion: v1\nkind: Service\nmetadata: {{ name: {name}, namespace: ns }}\nspec:\n  ports: [{{ name: http, port: {port} }}]\n"
        )
    }

    fn kinds(events: &[InputEvent]) -> Vec<&'static str> {
        events
            .iter()
            .map(|e| match e {
                InputEvent::Upsert(_) => "upsert",
                InputEvent::Delete(_) => "delete",
                InputEvent::Relist(..) => "relist",
            })
            .collect()
    }

    #[test]
    fn reloads_emit_exactly_the_changes() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.yaml"), dir.path().join("b.yaml"));
        let mut state = DirState::default();
        let mut problems = Problems::default();
        std::fs::write(&a, service("web", 80)).unwrap();
        assert_eq!(kinds(&state.reload(&a, &mut problems)), ["upsert"]);
        // Unchanged: nothing.
        assert!(state.reload(&a, &mut problems).is_empty());
        // The same object in a later file shadows it; removing that file restores it.
        std::fs::write(&b, service("web", 81)).unwrap();
        assert_eq!(kinds(&state.reload(&b, &mut problems)), ["upsert"]);
        std::fs::remove_file(&b).unwrap();
        let restored = state.reload(&b, &mut problems);
        assert_eq!(kinds(&restored), ["upsert"]);
        let first = state.reload(&a, &mut problems);
        assert!(first.is_empty(), "a.yaml's definition is in effect again");
        // A removed file deletes what it defined; an object dropped from a file is deleted.
        std::fs::write(&a, [service("web", 80), service("api", 80)].join("---\n")).unwrap();
        assert_eq!(kinds(&state.reload(&a, &mut problems)), ["upsert"]);
        std::fs::write(&a, service("web", 80)).unwrap();
        assert_eq!(kinds(&state.reload(&a, &mut problems)), ["delete"]);
        std::fs::remove_file(&a).unwrap();
        assert_eq!(kinds(&state.reload(&a, &mut problems)), ["delete"]);
        assert!(state.is_empty());
        assert!(problems.is_empty(), "{problems:?}");
    }
}
