//! Loading objects from YAML/JSON files and directories (`sluice translate`, `serve --from`).
//!
//! Every document is decoded independently: a bad document becomes a [`LoadError`] naming the
//! file, the document, the object and the offending field, and every other document still
//! loads. Documents are split on `---` / `...` marker lines before parsing, so a YAML syntax
//! error only loses its own document.
//!
//! * `kind: List` (and any `*List` with `items`) is expanded; errors inside carry the
//!   document number of the List and a field path starting with `items[i]`.
//! * Documents of kinds sluice does not read are skipped, with one warning per
//!   (`apiVersion`, `kind`) pair.
//! * Namespaced objects without `metadata.namespace` are put in `default`.
//! * An object defined twice (same kind, namespace, name) is reported as a warning naming both
//!   places; the later one in path order, then document order, wins.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::Value;
use sluice_crds::{Kind, Object, ObjectRef};

/// What [`load_paths`] or [`load_str`] found.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Decoded objects, in file then document order, one per identity.
    pub objects: Vec<Object>,
    /// Documents (or files) that could not be decoded.
    pub errors: Vec<LoadError>,
    /// Skipped kinds and duplicate definitions.
    pub warnings: Vec<String>,
}

/// A document that could not be loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadError {
    pub file: PathBuf,
    /// 1-based position of the document in the file; 0 when the whole file failed.
    pub document: usize,
    /// The object, when its kind and name could be read.
    pub object: Option<ObjectRef>,
    /// The offending field, e.g. `spec.rules[0].matches[0].path.type`.
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.document > 0 {
            write!(f, ": document {}", self.document)?;
        }
        if let Some(object) = &self.object {
            write!(f, " ({object})")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": {field}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for LoadError {}

/// Loads files and directories. Directories are walked recursively for `*.yaml`, `*.yml` and
/// `*.json` files (skipping hidden entries); all files are then read in sorted path order.
pub fn load_paths(paths: &[PathBuf]) -> Loaded {
    let mut loader = Loader::default();
    let mut files = BTreeSet::new();
    for path in paths {
        if path.is_dir() {
            let mut visited = BTreeSet::new();
            collect_files(path, &mut files, &mut visited, &mut loader.errors);
        } else {
            files.insert(path.clone());
        }
    }
    for file in &files {
        match std::fs::read(file) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => loader.load_text(file, &text),
                Err(_) => loader.file_error(file, "not UTF-8 text".to_owned()),
            },
            Err(err) => loader.errors.push(unreadable(file, &err)),
        }
    }
    loader.finish()
}

/// Loads the documents of one file's text; `file` names it in errors and decides the format
/// (`.json` is parsed as JSON, anything else as YAML).
pub fn load_str(file: &Path, text: &str) -> Loaded {
    let mut loader = Loader::default();
    loader.load_text(file, text);
    loader.finish()
}

/// The manifest files under a directory, and what could not be listed.
#[derive(Debug, Default)]
pub struct Listing {
    /// `*.yaml`, `*.yml`, `*.json` files, recursively through symlinks, sorted; hidden files
    /// and directories (editor swap files, a ConfigMap volume's `..data`) are skipped.
    pub files: Vec<PathBuf>,
    /// Directories that could not be read: what is under them is unknown, not gone.
    pub unreadable: Vec<PathBuf>,
    pub errors: Vec<LoadError>,
}

/// Lists the manifest files of `dir` (see [`Listing`]).
pub fn list_manifest_files(dir: &Path) -> Listing {
    let mut files = BTreeSet::new();
    let mut errors = Vec::new();
    collect_files(dir, &mut files, &mut BTreeSet::new(), &mut errors);
    Listing {
        files: files.into_iter().collect(),
        unreadable: errors.iter().map(|e| e.file.clone()).collect(),
        errors,
    }
}

/// The error for a file that cannot be read.
pub fn unreadable(file: &Path, err: &std::io::Error) -> LoadError {
    LoadError {
        file: file.to_owned(),
        document: 0,
        object: None,
        field: None,
        message: format!("cannot read: {err}"),
    }
}

fn collect_files(
    dir: &Path,
    files: &mut BTreeSet<PathBuf>,
    visited: &mut BTreeSet<PathBuf>,
    errors: &mut Vec<LoadError>,
) {
    // Symlinked directories may form cycles: enter each real directory once.
    if let Ok(real) = dir.canonicalize()
        && !visited.insert(real)
    {
        return;
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) => {
            errors.push(LoadError {
                file: dir.to_owned(),
                document: 0,
                object: None,
                field: None,
                message: format!("cannot read directory: {err}"),
            });
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            collect_files(&path, files, visited, errors);
        } else if has_manifest_extension(&path) {
            files.insert(path);
        }
    }
}

fn has_manifest_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
}

/// Where a definition came from, for duplicate warnings.
#[derive(Clone, Debug)]
struct Location {
    file: PathBuf,
    document: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} document {}", self.file.display(), self.document)
    }
}

#[derive(Default)]
struct Loader {
    objects: Vec<Object>,
    errors: Vec<LoadError>,
    warnings: Vec<String>,
    /// Index in `objects` and origin of each identity loaded so far.
    seen: BTreeMap<ObjectRef, (usize, Location)>,
    /// (apiVersion, kind) pairs already warned about.
    unknown: BTreeSet<(String, String)>,
}

impl Loader {
    fn finish(self) -> Loaded {
        Loaded {
            objects: self.objects,
            errors: self.errors,
            warnings: self.warnings,
        }
    }

    fn file_error(&mut self, file: &Path, message: String) {
        self.errors.push(LoadError {
            file: file.to_owned(),
            document: 0,
            object: None,
            field: None,
            message,
        });
    }

    fn load_text(&mut self, file: &Path, text: &str) {
        if file.extension().is_some_and(|e| e == "json") {
            match serde_json::from_str::<Value>(text) {
                Ok(value) => self.load_document(file, 1, value),
                Err(err) => self.syntax_error(file, 1, format!("invalid JSON: {err}")),
            }
            return;
        }
        for document in yaml_documents(text) {
            match serde_yaml_ng::from_str::<Value>(&document.text) {
                Ok(value) => self.load_document(file, document.number, value),
                Err(err) => {
                    let message = shift_lines(&err.to_string(), document.first_line);
                    self.syntax_error(file, document.number, format!("invalid YAML: {message}"));
                }
            }
        }
    }

    fn syntax_error(&mut self, file: &Path, document: usize, message: String) {
        self.errors.push(LoadError {
            file: file.to_owned(),
            document,
            object: None,
            field: None,
            message,
        });
    }

    fn load_document(&mut self, file: &Path, document: usize, value: Value) {
        if value.is_null() {
            return; // empty document
        }
        if is_list(&value) {
            let Value::Object(mut list) = value else {
                return;
            };
            let Some(Value::Array(items)) = list.remove("items") else {
                return;
            };
            for (index, item) in items.into_iter().enumerate() {
                self.load_object(file, document, Some(index), item);
            }
        } else {
            self.load_object(file, document, None, value);
        }
    }

    fn load_object(&mut self, file: &Path, document: usize, item: Option<usize>, value: Value) {
        let api_version = value
            .get("apiVersion")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let kind_name = value.get("kind").and_then(Value::as_str).map(str::to_owned);
        if let (Some(api_version), Some(kind_name)) = (&api_version, &kind_name)
            && Kind::from_type_meta(api_version, kind_name).is_none()
        {
            let pair = (api_version.clone(), kind_name.clone());
            if self.unknown.insert(pair) {
                self.warnings.push(format!(
                    "{}: document {document}: skipping {kind_name} ({api_version}): \
                     kind not supported (further documents of this kind are skipped silently)",
                    file.display()
                ));
            }
            return;
        }
        let raw_ref = raw_object_ref(&value);
        match Object::from_value(value) {
            Ok(Some(mut object)) => {
                default_namespace(&mut object);
                self.insert(
                    object,
                    Location {
                        file: file.to_owned(),
                        document,
                    },
                );
            }
            Ok(None) => {}
            Err(err) => {
                let prefix = item.map(|i| format!("items[{i}]"));
                let field = match (prefix, err.field) {
                    (Some(prefix), Some(field)) => Some(format!("{prefix}.{field}")),
                    (prefix, field) => field.or(prefix),
                };
                self.errors.push(LoadError {
                    file: file.to_owned(),
                    document,
                    object: raw_ref,
                    field,
                    message: err.message,
                });
            }
        }
    }

    fn insert(&mut self, object: Object, location: Location) {
        let key = object.obj_ref();
        match self.seen.get_mut(&key) {
            Some((index, previous)) => {
                self.warnings.push(format!(
                    "{key}: defined in {previous} and again in {location}; using the latter"
                ));
                self.objects[*index] = object;
                *previous = location;
            }
            None => {
                self.seen.insert(key, (self.objects.len(), location));
                self.objects.push(object);
            }
        }
    }
}

/// `kind: List` or any `*List` carrying an `items` array.
fn is_list(value: &Value) -> bool {
    value
        .get("kind")
        .and_then(Value::as_str)
        .is_some_and(|k| k.ends_with("List"))
        && value.get("items").is_some_and(Value::is_array)
}

/// The identity of an undecodable document, when its kind and name are readable.
fn raw_object_ref(value: &Value) -> Option<ObjectRef> {
    let kind = Kind::from_type_meta(
        value.get("apiVersion")?.as_str()?,
        value.get("kind")?.as_str()?,
    )?;
    let meta = value.get("metadata")?;
    let name = meta.get("name")?.as_str().filter(|n| !n.is_empty())?;
    let namespace = kind.is_namespaced().then(|| {
        meta.get("namespace")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .unwrap_or("default")
    });
    Some(ObjectRef::new(kind, namespace, name))
}

fn default_namespace(object: &mut Object) {
    if !object.kind().is_namespaced() {
        return;
    }
    let meta = object.meta_mut();
    if meta.namespace.as_deref().is_none_or(str::is_empty) {
        meta.namespace = Some("default".to_owned());
    }
}

/// One YAML document of a stream: its number (from 1), first line (from 0) and text.
struct YamlDocument {
    number: usize,
    first_line: usize,
    text: String,
}

/// Splits a YAML stream into documents.
///
/// A document starts at a `---` marker line, or at the first content line after a `...`
/// marker line; YAML forbids those markers inside content, so splitting on them is exact.
/// Text before the first marker is a document only if it holds more than blank lines and
/// comments.
fn yaml_documents(text: &str) -> Vec<YamlDocument> {
    let lines: Vec<&str> = text.lines().collect();
    let mut starts = vec![0];
    let mut after_end_marker = false;
    for (index, line) in lines.iter().enumerate() {
        if is_marker(line, "---") {
            starts.push(index);
            after_end_marker = false;
        } else if is_marker(line, "...") {
            after_end_marker = true;
        } else if after_end_marker && !is_blank_or_comment(line) {
            starts.push(index);
            after_end_marker = false;
        }
    }
    starts.dedup();
    let mut documents = Vec::new();
    for (position, &start) in starts.iter().enumerate() {
        let end = starts.get(position + 1).copied().unwrap_or(lines.len());
        let body = &lines[start..end];
        let explicit = body.first().is_some_and(|l| is_marker(l, "---"));
        if position == 0 && !explicit && body.iter().all(|l| is_blank_or_comment(l)) {
            continue;
        }
        let mut text = body.join("\n");
        text.push('\n');
        documents.push(YamlDocument {
            number: documents.len() + 1,
            first_line: start,
            text,
        });
    }
    documents
}

/// Rewrites the `line N` positions in a parser message of a document starting at
/// `first_line` into positions in the whole file.
fn shift_lines(message: &str, first_line: usize) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find("line ") {
        let (before, after) = rest.split_at(at + "line ".len());
        out.push_str(before);
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        match after[..digits].parse::<usize>() {
            Ok(line) => out.push_str(&(line + first_line).to_string()),
            Err(_) => out.push_str(&after[..digits]),
        }
        rest = &after[digits..];
    }
    out.push_str(rest);
    out
}

fn is_marker(line: &str, marker: &str) -> bool {
    line.strip_prefix(marker)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '#']))
}

fn is_blank_or_comment(line: &str) -> bool {
    let line = line.trim();
    line.is_empty() || line.starts_with('#')
}

#[cfg(test)]
mod tests {
    use super::{shift_lines, yaml_documents};

    fn split(text: &str) -> Vec<(usize, usize, String)> {
        yaml_documents(text)
            .into_iter()
            .map(|d| (d.number, d.first_line, d.text))
            .collect()
    }

    #[test]
    fn splits_on_markers() {
        let docs = split("# header\n---\na: 1\n---\nb: 2\n...\n\n# c\nc: 3\n");
        assert_eq!(
            docs,
            [
                (1, 1, "---\na: 1\n".to_owned()),
                (2, 3, "---\nb: 2\n...\n\n# c\n".to_owned()),
                (3, 8, "c: 3\n".to_owned()),
            ]
        );
        assert_eq!(split("a: 1\n").len(), 1);
        assert_eq!(split("").len(), 0);
        assert_eq!(split("# only a comment\n").len(), 0);
        assert_eq!(split("a: 1\n---\n").len(), 2);
        assert_eq!(
            split("--- # first\na: '---'\nb: ---x\n--- {c: 1}\n").len(),
            2
        );
    }

    #[test]
    fn shifts_line_numbers() {
        assert_eq!(
            shift_lines(
                "bad at line 2 column 3, while parsing at line 1 column 1",
                10
            ),
            "bad at line 12 column 3, while parsing at line 11 column 1"
        );
        assert_eq!(shift_lines("no position", 4), "no position");
        assert_eq!(shift_lines("line x", 4), "line x");
    }
}
