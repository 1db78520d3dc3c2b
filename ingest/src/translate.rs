//! Watch events → dataflow input events, purely (no client, no runtime).
//!
//! A [`KindTranslator`] owns what the dataflow currently holds for one kind: the lowered
//! [`Record`] of every object (by [`ObjectRef`]), so that
//!
//! * an `Apply` emits `Upsert` only when the object's *record* changed: duplicates, and changes
//!   that touch only `status`, `metadata.managedFields`, `metadata.resourceVersion`,
//!   annotations the compiler does not read, … lower to the same record and emit nothing (our
//!   own status writes cannot feed back);
//! * a `Delete` retracts the *stored* record (only the payload's key is read), and a `Delete`
//!   of an unknown object is a no-op;
//! * a relist (`Init`, `InitApply`*, `InitDone`) is buffered and, at `InitDone`, reconciled
//!   against the stored state in one go: `Delete` for objects not relisted (deleted while the
//!   watch was down), `Upsert` for changed or new ones, nothing for unchanged ones. An
//!   interrupted relist (a second `Init` before `InitDone`) is discarded.
//!
//! Errors are per object: a document that does not decode or lower is reported as a
//! [`LowerProblem`] (kind, namespace, name, field) and its last good record is kept, as the
//! directory source does; the other objects are unaffected.
//!
//! [`Batcher`] coalesces the events of one batching window per key, so a window is one epoch
//! with at most one event per object.

use std::collections::BTreeMap;

use kube::api::DynamicObject;
use kube::runtime::watcher::Event;
use serde_json::Value;
use sluice_crds::{Kind, Object, ObjectRef};
use sluice_dataflow::input::{InputEvent, Record, RecordKey, RecordKind};

use crate::records::{LowerProblem, lower_one};

/// The annotation `kubectl apply` stores the whole previous object in.
pub const LAST_APPLIED_ANNOTATION: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// The namespace of namespaced objects that name none (as the API server and the directory
/// source default it).
const DEFAULT_NAMESPACE: &str = "default";

/// What a watch delivers objects as: anything that becomes a JSON document.
pub trait WatchObject {
    fn into_value(self) -> Value;
}

impl WatchObject for Value {
    fn into_value(self) -> Value {
        self
    }
}

impl WatchObject for DynamicObject {
    fn into_value(self) -> Value {
        // A DynamicObject is plain JSON data: serializing it cannot fail.
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// Drops what sluice never reads and that is large: `metadata.managedFields` and the
/// last-applied annotation (which holds a second copy of the object).
pub fn trim_value(value: &mut Value) {
    let Some(meta) = value.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    meta.remove("managedFields");
    if let Some(annotations) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
        annotations.remove(LAST_APPLIED_ANNOTATION);
        if annotations.is_empty() {
            meta.remove("annotations");
        }
    }
}

/// As [`trim_value`], on a `DynamicObject` (for `watcher::Event::modify`).
pub fn trim_dynamic(object: &mut DynamicObject) {
    object.metadata.managed_fields = None;
    if let Some(annotations) = object.metadata.annotations.as_mut() {
        annotations.remove(LAST_APPLIED_ANNOTATION);
        if annotations.is_empty() {
            object.metadata.annotations = None;
        }
    }
}

/// The identity of a watched document of `kind`, read from its metadata alone (so that
/// `Delete` needs nothing else): `None` when it has no name.
pub fn object_ref_of(kind: Kind, value: &Value) -> Option<ObjectRef> {
    let meta = value.get("metadata")?;
    let name = meta.get("name")?.as_str().filter(|n| !n.is_empty())?;
    let namespace = kind.is_namespaced().then(|| {
        meta.get("namespace")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .unwrap_or(DEFAULT_NAMESPACE)
    });
    Some(ObjectRef::new(kind, namespace, name))
}

/// Decodes and lowers one watched document of `kind`.
///
/// `apiVersion`/`kind` are filled in when absent (list items of built-in kinds often omit
/// them), namespaced objects without a namespace are put in `default`, and the document is
/// trimmed. `Ok(None)`: the object lowers to no record (a kind the dataflow does not consume,
/// an EndpointSlice of no Service).
pub fn translate_value(kind: Kind, mut value: Value) -> Result<Option<Record>, LowerProblem> {
    let unnamed = || ObjectRef::new(kind, None, "");
    let object_ref = object_ref_of(kind, &value);
    let problem = |field: &str, message: String| LowerProblem {
        object: object_ref.clone().unwrap_or_else(unnamed),
        field: field.to_owned(),
        message,
    };
    let Some(map) = value.as_object_mut() else {
        return Err(problem("", "expected a mapping".to_owned()));
    };
    map.entry("apiVersion")
        .or_insert_with(|| Value::String(kind.api_version().to_owned()));
    map.entry("kind")
        .or_insert_with(|| Value::String(kind.as_str().to_owned()));
    if kind.is_namespaced()
        && let Some(meta) = map.get_mut("metadata").and_then(Value::as_object_mut)
        && meta
            .get("namespace")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
    {
        meta.insert(
            "namespace".to_owned(),
            Value::String(DEFAULT_NAMESPACE.to_owned()),
        );
    }
    trim_value(&mut value);
    let object = match Object::from_value(value) {
        Ok(Some(object)) => object,
        Ok(None) => {
            return Err(problem(
                "apiVersion",
                format!("not a version of {kind} sluice reads"),
            ));
        }
        Err(err) => return Err(problem(err.field.as_deref().unwrap_or(""), err.message)),
    };
    if object.kind() != kind {
        return Err(problem(
            "kind",
            format!("expected {kind}, got {}", object.kind()),
        ));
    }
    lower_one(&object)
}

/// A relisted object: its new record, or a document that failed (keep what we had).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Relisted {
    Record(Record),
    Broken,
}

/// The watch state of one kind: the record of every object the dataflow holds, and the relist
/// in progress, if any.
#[derive(Clone, Debug)]
pub struct KindTranslator {
    kind: Kind,
    current: BTreeMap<ObjectRef, Record>,
    /// Objects listed since the last `Init` (objects that lower to no record are left out).
    relist: Option<BTreeMap<ObjectRef, Relisted>>,
    synced: bool,
}

impl KindTranslator {
    pub fn new(kind: Kind) -> Self {
        KindTranslator {
            kind,
            current: BTreeMap::new(),
            relist: None,
            synced: false,
        }
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// Whether a relist has completed at least once (the kind's initial state is known).
    pub fn is_synced(&self) -> bool {
        self.synced
    }

    /// Whether a relist is in progress (between `Init` and `InitDone`).
    pub fn is_relisting(&self) -> bool {
        self.relist.is_some()
    }

    /// The records the dataflow holds for this kind, by object.
    pub fn records(&self) -> &BTreeMap<ObjectRef, Record> {
        &self.current
    }

    /// Applies one watcher event; returns the input events that bring the dataflow up to date
    /// (empty when nothing the compiler reads changed). Problems with single objects are
    /// appended to `problems`.
    pub fn apply<K: WatchObject>(
        &mut self,
        event: Event<K>,
        problems: &mut Vec<LowerProblem>,
    ) -> Vec<InputEvent> {
        match event {
            Event::Init => {
                self.relist = Some(BTreeMap::new());
                Vec::new()
            }
            Event::InitApply(object) => {
                let value = object.into_value();
                let Some(object_ref) = self.object_ref(&value, problems) else {
                    return Vec::new();
                };
                let entry = match translate_value(self.kind, value) {
                    Ok(Some(record)) => Some(Relisted::Record(record)),
                    Ok(None) => None,
                    Err(problem) => {
                        problems.push(problem);
                        Some(Relisted::Broken)
                    }
                };
                // An InitApply without Init: the relist began where we did not see it.
                let relist = self.relist.get_or_insert_with(BTreeMap::new);
                match entry {
                    Some(entry) => relist.insert(object_ref, entry),
                    None => relist.remove(&object_ref),
                };
                Vec::new()
            }
            Event::InitDone => {
                self.synced = true;
                // InitDone without Init: nothing was listed that we saw; keep the state.
                let Some(relist) = self.relist.take() else {
                    return Vec::new();
                };
                self.reconcile(relist)
            }
            Event::Apply(object) => {
                let value = object.into_value();
                let Some(object_ref) = self.object_ref(&value, problems) else {
                    return Vec::new();
                };
                match translate_value(self.kind, value) {
                    Ok(record) => {
                        if let Some(relist) = self.relist.as_mut() {
                            match &record {
                                Some(r) => {
                                    relist.insert(object_ref.clone(), Relisted::Record(r.clone()))
                                }
                                None => relist.remove(&object_ref),
                            };
                        }
                        self.set(object_ref, record)
                    }
                    Err(problem) => {
                        problems.push(problem);
                        Vec::new()
                    }
                }
            }
            Event::Delete(object) => {
                let value = object.into_value();
                let Some(object_ref) = self.object_ref(&value, problems) else {
                    return Vec::new();
                };
                if let Some(relist) = self.relist.as_mut() {
                    relist.remove(&object_ref);
                }
                self.set(object_ref, None)
            }
        }
    }

    fn object_ref(&self, value: &Value, problems: &mut Vec<LowerProblem>) -> Option<ObjectRef> {
        let object_ref = object_ref_of(self.kind, value);
        if object_ref.is_none() {
            problems.push(LowerProblem {
                object: ObjectRef::new(self.kind, None, ""),
                field: "metadata.name".to_owned(),
                message: "missing field `name`".to_owned(),
            });
        }
        object_ref
    }

    /// The events that turn the stored state into the relisted one.
    fn reconcile(&mut self, relist: BTreeMap<ObjectRef, Relisted>) -> Vec<InputEvent> {
        let mut events = Vec::new();
        let gone: Vec<ObjectRef> = self
            .current
            .keys()
            .filter(|r| !relist.contains_key(*r))
            .cloned()
            .collect();
        for object_ref in gone {
            events.extend(self.set(object_ref, None));
        }
        for (object_ref, entry) in relist {
            match entry {
                Relisted::Record(record) => events.extend(self.set(object_ref, Some(record))),
                Relisted::Broken => {} // keep the last good record
            }
        }
        events
    }

    /// Makes `record` the object's record; the events that say so to the dataflow.
    fn set(&mut self, object_ref: ObjectRef, record: Option<Record>) -> Vec<InputEvent> {
        match record {
            None => match self.current.remove(&object_ref) {
                Some(old) => vec![InputEvent::Delete(old.key())],
                None => Vec::new(),
            },
            Some(new) => {
                let mut events = Vec::new();
                match self.current.get(&object_ref) {
                    Some(old) if *old == new => return events,
                    Some(old) if old.key() != new.key() => {
                        events.push(InputEvent::Delete(old.key()));
                    }
                    _ => {}
                }
                events.push(InputEvent::Upsert(new.clone()));
                self.current.insert(object_ref, new);
                events
            }
        }
    }
}

/// One [`KindTranslator`] per watched kind.
#[derive(Clone, Debug)]
pub struct Translator {
    kinds: BTreeMap<Kind, KindTranslator>,
}

impl Translator {
    pub fn new(kinds: impl IntoIterator<Item = Kind>) -> Self {
        Translator {
            kinds: kinds
                .into_iter()
                .map(|k| (k, KindTranslator::new(k)))
                .collect(),
        }
    }

    /// Applies one event of `kind` (a kind not given to [`Translator::new`] is added).
    pub fn apply<K: WatchObject>(
        &mut self,
        kind: Kind,
        event: Event<K>,
        problems: &mut Vec<LowerProblem>,
    ) -> Vec<InputEvent> {
        self.kinds
            .entry(kind)
            .or_insert_with(|| KindTranslator::new(kind))
            .apply(event, problems)
    }

    pub fn kind(&self, kind: Kind) -> Option<&KindTranslator> {
        self.kinds.get(&kind)
    }

    /// Whether every kind has completed its first relist.
    pub fn all_synced(&self) -> bool {
        self.kinds.values().all(KindTranslator::is_synced)
    }

    /// Kinds that have not completed their first relist.
    pub fn pending(&self) -> Vec<Kind> {
        self.kinds
            .values()
            .filter(|k| !k.is_synced())
            .map(KindTranslator::kind)
            .collect()
    }

    /// Every record held, over all kinds.
    pub fn records(&self) -> impl Iterator<Item = &Record> {
        self.kinds.values().flat_map(|k| k.records().values())
    }
}

/// Accumulates the input events of one batching window, keeping at most one event per key
/// (the last), so that applying [`Batcher::take`]'s events in one epoch gives the same input
/// state as applying every pushed event in order.
#[derive(Clone, Debug, Default)]
pub struct Batcher {
    /// Kinds relisted in this window: their complete new content (as modified by later
    /// events).
    relists: BTreeMap<RecordKind, BTreeMap<RecordKey, Record>>,
    /// Last event per key of kinds not relisted: `Some` upsert, `None` delete.
    pending: BTreeMap<RecordKey, Option<Record>>,
    /// Events pushed since the last take.
    pushed: usize,
}

impl Batcher {
    pub fn push(&mut self, event: InputEvent) {
        self.pushed += 1;
        match event {
            InputEvent::Upsert(record) => {
                let key = record.key();
                match self.relists.get_mut(&key.kind) {
                    Some(relist) => {
                        relist.insert(key, record);
                    }
                    None => {
                        self.pending.insert(key, Some(record));
                    }
                }
            }
            InputEvent::Delete(key) => match self.relists.get_mut(&key.kind) {
                Some(relist) => {
                    relist.remove(&key);
                }
                None => {
                    self.pending.insert(key, None);
                }
            },
            InputEvent::Relist(kind, records) => {
                self.pending.retain(|k, _| k.kind != kind);
                self.relists
                    .insert(kind, records.into_iter().map(|r| (r.key(), r)).collect());
            }
        }
    }

    pub fn extend(&mut self, events: impl IntoIterator<Item = InputEvent>) {
        for event in events {
            self.push(event);
        }
    }

    /// Whether nothing was pushed since the last take.
    pub fn is_empty(&self) -> bool {
        self.relists.is_empty() && self.pending.is_empty()
    }

    /// Events pushed since the last take (before coalescing).
    pub fn pushed(&self) -> usize {
        self.pushed
    }

    /// The coalesced events (relists first, then one event per key in key order), leaving the
    /// batcher empty.
    pub fn take(&mut self) -> Vec<InputEvent> {
        let relists = std::mem::take(&mut self.relists);
        let pending = std::mem::take(&mut self.pending);
        self.pushed = 0;
        relists
            .into_iter()
            .map(|(kind, records)| InputEvent::Relist(kind, records.into_values().collect()))
            .chain(pending.into_iter().map(|(key, record)| match record {
                Some(record) => InputEvent::Upsert(record),
                None => InputEvent::Delete(key),
            }))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ns(name: &str, team: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "Namespace",
               "metadata": {"name": name, "labels": {"team": team}}})
    }

    #[test]
    fn trimming_drops_managed_fields_and_last_applied() {
        let mut v = json!({"metadata": {"name": "a", "managedFields": [{"manager": "kubectl"}],
            "annotations": {LAST_APPLIED_ANNOTATION: "{}", "keep": "me"}}});
        trim_value(&mut v);
        assert_eq!(
            v,
            json!({"metadata": {"name": "a", "annotations": {"keep": "me"}}})
        );
        let mut v =
            json!({"metadata": {"name": "a", "annotations": {LAST_APPLIED_ANNOTATION: "{}"}}});
        trim_value(&mut v);
        assert_eq!(v, json!({"metadata": {"name": "a"}}));
    }

    #[test]
    fn missing_type_meta_and_namespace_are_filled_in() {
        let svc = json!({"metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}]}});
        let record = translate_value(Kind::Service, svc).unwrap().unwrap();
        let with_ns = json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "web", "namespace": "default"}, "spec": {"ports": [{"port": 80}]}});
        assert_eq!(
            translate_value(Kind::Service, with_ns).unwrap().unwrap(),
            record
        );
    }

    #[test]
    fn init_apply_without_init_and_init_done_without_init() {
        let mut t = KindTranslator::new(Kind::Namespace);
        let mut problems = Vec::new();
        assert!(
            t.apply(Event::InitApply(ns("a", "x")), &mut problems)
                .is_empty()
        );
        let events = t.apply(Event::<Value>::InitDone, &mut problems);
        assert_eq!(events.len(), 1);
        assert!(t.is_synced());
        assert!(t.apply(Event::<Value>::InitDone, &mut problems).is_empty());
        assert_eq!(t.records().len(), 1);
    }
}
