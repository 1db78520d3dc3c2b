//! kgateway's translator golden cases (`../shared/kgateway/translator-cases.json`) as a judge
//! of `sluice translate`. Per case:
//!
//! 1. the inputs, prepared as kgateway's harness loads them (every document of every input,
//!    `creationTimestamp`s one second apart in file order where absent; the GatewayClasses
//!    `kgateway`, `kgateway-waypoint` and `example-gateway-class` of controller
//!    `kgateway.dev/kgateway`), are translated; the translation must not fail (a crash or
//!    unreadable output; errors it reports about bad input are fine);
//! 2. every object kgateway gives a status must get one from sluice too, or a warning or error
//!    that names it;
//! 3. Envoy must accept the case's Gateway's output (`sluice translate --envoy-bootstrap`,
//!    then `envoy --mode validate`);
//! 4. the conditions of kgateway's statuses are compared by meaning (type, status, reason) for
//!    every object and parent/ancestor/listener both report: the agreement figure.
//!
//! Resource names differ between the projects, so Envoy resources are not compared.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;
use serde::Deserialize;
use serde_json::Value;

/// `translator-cases.json`, as far as the judge reads it.
#[derive(Debug, Deserialize)]
pub struct CaseFile {
    pub cases: Vec<Case>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Case {
    pub id: String,
    pub feature_group: String,
    pub inputs: Vec<String>,
    /// `None` for an assertion-only case.
    pub output: Option<String>,
    /// One Gateway, several, or none.
    #[serde(default)]
    pub gateway: Value,
}

impl Case {
    fn gateways(&self) -> Vec<String> {
        match &self.gateway {
            Value::String(g) => vec![g.clone()],
            Value::Array(gs) => gs
                .iter()
                .filter_map(|g| g.as_str().map(String::from))
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// How one case went.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub id: String,
    pub group: String,
    /// `Err`: the translation crashed or printed no document.
    pub translated: Result<(), String>,
    /// Objects kgateway reports on that sluice says nothing about.
    pub silent: Vec<String>,
    /// `None`: not checked (no Gateway named, or the translation failed).
    pub envoy: Option<Result<(), String>>,
    /// Conditions kgateway reports (on objects both report), and how many sluice matches.
    pub conditions: usize,
    pub agreeing: usize,
    /// The first few disagreements, for the report.
    pub differences: Vec<String>,
}

const GATEWAY_CLASSES: &str = "\
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: kgateway}
spec: {controllerName: kgateway.dev/kgateway}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: kgateway-waypoint}
spec: {controllerName: kgateway.dev/kgateway}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: example-gateway-class}
spec: {controllerName: kgateway.dev/kgateway}
";

/// What the judge runs with.
#[derive(Clone, Debug)]
pub struct Options {
    /// `translator-cases.json`; inputs and outputs are relative to its directory.
    pub cases: PathBuf,
    pub sluice: PathBuf,
    pub envoy: PathBuf,
    /// Only these feature groups (empty: all).
    pub groups: Vec<String>,
    pub work_dir: PathBuf,
}

/// Runs every selected case, in order.
pub fn run(opts: &Options, mut progress: impl FnMut(&Outcome)) -> anyhow::Result<Vec<Outcome>> {
    let text = std::fs::read_to_string(&opts.cases)
        .with_context(|| format!("reading {}", opts.cases.display()))?;
    let file: CaseFile = serde_json::from_str(&text).context("parsing translator-cases.json")?;
    let root = opts.cases.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(&opts.work_dir)?;
    let classes = opts.work_dir.join("gateway-classes.yaml");
    std::fs::write(&classes, GATEWAY_CLASSES)?;
    let mut out = Vec::new();
    for (i, case) in file.cases.iter().enumerate() {
        if !opts.groups.is_empty() && !opts.groups.contains(&case.feature_group) {
            continue;
        }
        let outcome = run_case(opts, root, &classes, i, case)?;
        progress(&outcome);
        out.push(outcome);
    }
    Ok(out)
}

fn run_case(
    opts: &Options,
    root: &Path,
    classes: &Path,
    i: usize,
    case: &Case,
) -> anyhow::Result<Outcome> {
    let mut outcome = Outcome {
        id: case.id.clone(),
        group: case.feature_group.clone(),
        translated: Ok(()),
        silent: Vec::new(),
        envoy: None,
        conditions: 0,
        agreeing: 0,
        differences: Vec::new(),
    };
    let input = opts.work_dir.join(format!("case-{i}.yaml"));
    std::fs::write(&input, prepare_inputs(root, &case.inputs)?)?;
    let translate = |extra: &[&str]| {
        Command::new(&opts.sluice)
            .args([
                "translate",
                "-o",
                "json",
                "--controller-name",
                "kgateway.dev/kgateway",
            ])
            .args(extra)
            .arg("-f")
            .arg(classes)
            .arg("-f")
            .arg(&input)
            .env("RUST_LOG", "warn")
            .output()
    };
    let run = translate(&[]).context("running sluice translate")?;
    let stderr = String::from_utf8_lossy(&run.stderr).to_string();
    let doc: Value = match serde_json::from_slice(&run.stdout) {
        Ok(doc) if run.status.code().is_some() => doc,
        _ => {
            let last = stderr.lines().last().unwrap_or("").to_string();
            outcome.translated = Err(format!("{}: {last}", run.status));
            return Ok(outcome);
        }
    };
    let expected = match &case.output {
        Some(output) => expected_statuses(&root.join(output))?,
        None => BTreeMap::new(),
    };
    let ours = our_statuses(&doc);
    for (key, want) in &expected {
        match ours.get(key) {
            Some(have) => compare(key, want, have, &mut outcome),
            None if names_object(&stderr, key) => {}
            None => outcome.silent.push(key.to_string()),
        }
    }
    for (j, gw) in case.gateways().iter().enumerate() {
        if matches!(outcome.envoy, Some(Err(_))) {
            break;
        }
        let run = translate(&["--envoy-bootstrap", gw]).context("running sluice translate")?;
        let bootstrap = opts.work_dir.join(format!("case-{i}-{j}.bootstrap.json"));
        std::fs::write(&bootstrap, &run.stdout)?;
        let check = Command::new(&opts.envoy)
            .args(["--mode", "validate", "--log-level", "error", "-c"])
            .arg(&bootstrap)
            .output()
            .context("running envoy --mode validate")?;
        outcome.envoy = Some(if check.status.success() {
            Ok(())
        } else {
            let text = String::from_utf8_lossy(&check.stderr).to_string()
                + &String::from_utf8_lossy(&check.stdout);
            let line = text
                .lines()
                .find(|l| l.contains("rror") || l.contains("reject"))
                .unwrap_or_else(|| text.lines().last().unwrap_or(""));
            Err(line.chars().take(300).collect())
        });
    }
    Ok(outcome)
}

/// Every document of every input (files, or every `.yaml` under a directory, sorted), with
/// `creationTimestamp`s one second apart in order where absent.
fn prepare_inputs(root: &Path, inputs: &[String]) -> anyhow::Result<String> {
    let mut files = Vec::new();
    for input in inputs {
        let path = root.join(input);
        if path.is_dir() {
            let mut under: Vec<PathBuf> = walk(&path);
            under.sort();
            files.extend(under);
        } else {
            files.push(path);
        }
    }
    let mut docs = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {}", file.display()))?;
        for doc in serde_yaml_ng::Deserializer::from_str(&text) {
            let Ok(mut v) = Value::deserialize(doc) else {
                continue;
            };
            if !v.is_object() {
                continue;
            }
            let n = docs.len();
            if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
                meta.entry("creationTimestamp").or_insert_with(|| {
                    Value::from(format!("2024-01-01T00:{:02}:{:02}Z", n / 60, n % 60))
                });
            }
            docs.push(serde_yaml_ng::to_string(&v)?);
        }
    }
    Ok(docs.join("---\n"))
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
            out.push(p);
        }
    }
    out
}

/// An object that has a status: `Kind ns/name`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ObjKey {
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl std::fmt::Display for ObjKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}/{}", self.kind, self.namespace, self.name)
    }
}

/// kgateway's `Statuses` section, by object.
fn expected_statuses(output: &Path) -> anyhow::Result<BTreeMap<ObjKey, Value>> {
    let text =
        std::fs::read_to_string(output).with_context(|| format!("reading {}", output.display()))?;
    let doc: Value = serde_yaml_ng::from_str(&text)?;
    let mut out = BTreeMap::new();
    let Some(sections) = doc.get("Statuses").and_then(Value::as_object) else {
        return Ok(out);
    };
    for (section, objects) in sections {
        let kind = match section.as_str() {
            "gateways" => "Gateway",
            "listenerSets" => "ListenerSet",
            "httpRoutes" => "HTTPRoute",
            "tcpRoutes" => "TCPRoute",
            "tlsRoutes" => "TLSRoute",
            "grpcRoutes" => "GRPCRoute",
            "backends" => "Backend",
            _ => "",
        };
        for (key, status) in objects.as_object().into_iter().flatten() {
            // `ns/name`, or for policies `Kind/ns/name` (a group may lead: `group/Kind/ns/name`).
            let parts: Vec<&str> = key.split('/').collect();
            let (k, ns, name) = match (kind, parts.as_slice()) {
                ("", [.., k, ns, name]) => (k.to_string(), *ns, *name),
                (kind, [ns, name]) => (kind.to_string(), *ns, *name),
                _ => continue,
            };
            let key = ObjKey {
                kind: k,
                namespace: ns.to_string(),
                name: name.to_string(),
            };
            out.insert(key, status.clone());
        }
    }
    Ok(out)
}

fn our_statuses(doc: &Value) -> BTreeMap<ObjKey, Value> {
    doc["statuses"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            let key = ObjKey {
                kind: s["kind"].as_str().unwrap_or("").to_string(),
                namespace: s["namespace"].as_str().unwrap_or("").to_string(),
                name: s["name"].as_str().unwrap_or("").to_string(),
            };
            (key, s["status"].clone())
        })
        .collect()
}

fn names_object(stderr: &str, key: &ObjKey) -> bool {
    let name = format!("{}/{}", key.namespace, key.name);
    stderr
        .lines()
        .any(|l| l.contains(&key.kind) && l.contains(&name))
}

/// `(type, status, reason)` of each condition.
fn conditions(v: &Value) -> BTreeMap<String, (String, String)> {
    v["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap_or("").to_string();
            (s("type"), (s("status"), s("reason")))
        })
        .collect()
}

/// Compares the conditions of the object, its listeners (by name), route parents (by parent
/// name and section) and policy ancestors (by ancestor name and section).
fn compare(key: &ObjKey, want: &Value, have: &Value, outcome: &mut Outcome) {
    let mut pairs: Vec<(String, &Value, Option<&Value>)> = vec![(String::new(), want, Some(have))];
    for (list, id_field) in [
        ("listeners", None),
        ("parents", Some("parentRef")),
        ("ancestors", Some("ancestorRef")),
    ] {
        let id = |v: &Value| match id_field {
            None => v["name"].as_str().unwrap_or("").to_string(),
            Some(f) => format!(
                "{}/{}",
                v[f]["name"].as_str().unwrap_or(""),
                v[f]["sectionName"].as_str().unwrap_or("")
            ),
        };
        for w in want[list].as_array().into_iter().flatten() {
            let h = have[list]
                .as_array()
                .into_iter()
                .flatten()
                .find(|h| id(h) == id(w));
            pairs.push((format!(" {list}[{}]", id(w)), w, h));
        }
    }
    for (where_, w, h) in pairs {
        let ours = h.map(conditions).unwrap_or_default();
        for (ty, (status, reason)) in conditions(w) {
            outcome.conditions += 1;
            let got = ours.get(&ty);
            if got == Some(&(status.clone(), reason.clone())) {
                outcome.agreeing += 1;
            } else if outcome.differences.len() < 8 {
                let got = got.map_or("nothing".to_string(), |(s, r)| format!("{s}/{r}"));
                outcome.differences.push(format!(
                    "{key}{where_}: {ty} {status}/{reason}, sluice {got}"
                ));
            }
        }
    }
}

/// A table per feature group and the totals.
pub fn render(outcomes: &[Outcome]) -> String {
    use std::fmt::Write;
    #[derive(Default)]
    struct Row {
        cases: usize,
        translated: usize,
        statused: usize,
        envoy_ok: usize,
        envoy_checked: usize,
        conditions: usize,
        agreeing: usize,
    }
    let mut rows: BTreeMap<&str, Row> = BTreeMap::new();
    for o in outcomes {
        for key in [o.group.as_str(), "(all)"] {
            let r = rows.entry(key).or_default();
            r.cases += 1;
            r.translated += usize::from(o.translated.is_ok());
            r.statused += usize::from(o.translated.is_ok() && o.silent.is_empty());
            r.envoy_checked += usize::from(o.envoy.is_some());
            r.envoy_ok += usize::from(matches!(o.envoy, Some(Ok(()))));
            r.conditions += o.conditions;
            r.agreeing += o.agreeing;
        }
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<30} {:>5} {:>10} {:>9} {:>11} {:>17}",
        "group", "cases", "translated", "statused", "envoy-valid", "conditions-agree"
    );
    let all = rows.remove("(all)");
    let all = all.as_ref().map(|r| ("(all)", r));
    for (group, r) in rows.iter().map(|(g, r)| (*g, r)).chain(all) {
        let pct = if r.conditions == 0 {
            100.0
        } else {
            100.0 * r.agreeing as f64 / r.conditions as f64
        };
        let _ = writeln!(
            out,
            "{:<30} {:>5} {:>10} {:>9} {:>5}/{:<5} {:>6}/{:<5} {:>4.0}%",
            group,
            r.cases,
            r.translated,
            r.statused,
            r.envoy_ok,
            r.envoy_checked,
            r.agreeing,
            r.conditions,
            pct
        );
    }
    out
}
