//! Loading manifests from text, files and directories.

use std::path::{Path, PathBuf};

use sluice_crds::{Kind, Object, ObjectRef};
use sluice_ingest::load::{LoadError, Loaded, load_paths, load_str};

const ROUTE: &str = "\
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: web
  namespace: apps
spec:
  parentRefs: [{name: gw}]
";

fn yaml(text: &str) -> Loaded {
    load_str(Path::new("x.yaml"), text)
}

fn refs(loaded: &Loaded) -> Vec<String> {
    loaded
        .objects
        .iter()
        .map(|o| o.obj_ref().to_string())
        .collect()
}

fn only_error(loaded: &Loaded) -> &LoadError {
    assert_eq!(loaded.errors.len(), 1, "{:#?}", loaded.errors);
    &loaded.errors[0]
}

#[test]
fn multi_document_yaml() {
    let text = format!(
        "---\napiVersion: v1\nkind: Namespace\nmetadata: {{name: apps}}\n---\n{ROUTE}---\n\n---\n"
    );
    let loaded = yaml(&text);
    assert!(
        loaded.errors.is_empty() && loaded.warnings.is_empty(),
        "{loaded:#?}"
    );
    assert_eq!(refs(&loaded), ["Namespace apps", "HTTPRoute apps/web"]);
}

#[test]
fn list_items_are_expanded() {
    let text = "\
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata: {name: a, namespace: apps}
- apiVersion: v1
  kind: Service
  metadata: {name: b}
  spec: {ports: [{port: nope}]}
- apiVersion: gateway.networking.k8s.io/v1
  kind: GatewayClass
  metadata: {name: sluice}
  spec: {controllerName: sluice.dev/controller}
";
    let loaded = yaml(text);
    assert_eq!(refs(&loaded), ["Service apps/a", "GatewayClass sluice"]);
    let err = only_error(&loaded);
    assert_eq!(err.document, 1);
    assert_eq!(
        err.object,
        Some(ObjectRef::new(Kind::Service, Some("default"), "b"))
    );
    assert_eq!(err.field.as_deref(), Some("items[1].spec.ports[0].port"));
}

#[test]
fn typed_lists_are_expanded() {
    let text = format!(
        "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRouteList\nitems:\n- {}",
        ROUTE.trim_end().replace('\n', "\n  ")
    );
    assert_eq!(refs(&yaml(&text)), ["HTTPRoute apps/web"]);
}

#[test]
fn unknown_kinds_warn_once_per_type() {
    let text = "\
apiVersion: apps/v1
kind: Deployment
metadata: {name: a}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: b}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: c}
";
    let loaded = yaml(text);
    assert!(
        loaded.objects.is_empty() && loaded.errors.is_empty(),
        "{loaded:#?}"
    );
    assert_eq!(loaded.warnings.len(), 2, "{:#?}", loaded.warnings);
    assert!(
        loaded.warnings[0].contains("Deployment (apps/v1)"),
        "{}",
        loaded.warnings[0]
    );
    assert!(
        loaded.warnings[1].contains("ConfigMap (v1)"),
        "{}",
        loaded.warnings[1]
    );
}

#[test]
fn syntax_error_loses_only_its_document() {
    let text = format!(
        "{ROUTE}---\napiVersion: v1\nkind: Namespace\nmetadata: {{name: a}}\n\
         ---\napiVersion: v1\nkind: [unclosed\nmetadata: {{name: b}}\n\
         ---\napiVersion: v1\nkind: Namespace\nmetadata: {{name: c}}\n"
    );
    let loaded = yaml(&text);
    assert_eq!(
        refs(&loaded),
        ["HTTPRoute apps/web", "Namespace a", "Namespace c"]
    );
    let err = only_error(&loaded);
    assert_eq!(err.document, 3);
    assert!(err.message.starts_with("invalid YAML"), "{err}");
    // Line numbers refer to the whole file (the broken flow sequence is on line 14-15).
    assert!(err.message.contains("line 1"), "{err}");
    assert!(!err.message.contains("line 3 "), "{err}");
}

#[test]
fn truncated_document_is_an_error() {
    let text = format!("{ROUTE}---\napiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmeta");
    let loaded = yaml(&text);
    assert_eq!(refs(&loaded), ["HTTPRoute apps/web"]);
    let err = only_error(&loaded);
    assert_eq!(err.document, 2);
}

#[test]
fn wrongly_typed_field_is_named() {
    let text = "\
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: infra}
spec:
  gatewayClassName: sluice
  listeners:
  - {name: http, port: eighty, protocol: HTTP}
";
    let loaded = load_str(Path::new("examples/x.yaml"), text);
    let err = only_error(&loaded);
    assert_eq!(err.field.as_deref(), Some("spec.listeners[0].port"));
    assert_eq!(
        err.object,
        Some(ObjectRef::new(Kind::Gateway, Some("infra"), "gw"))
    );
    let shown = err.to_string();
    assert!(
        shown.starts_with(
            "examples/x.yaml: document 1 (Gateway infra/gw): spec.listeners[0].port: "
        ),
        "{shown}"
    );
}

#[test]
fn invalid_enum_value_is_named() {
    let text = "\
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r}
spec:
  rules:
  - matches: [{path: {type: Foo, value: /}}]
";
    let err = only_error(&yaml(text)).clone();
    assert_eq!(
        err.field.as_deref(),
        Some("spec.rules[0].matches[0].path.type")
    );
    assert!(err.message.contains("unknown variant `Foo`"), "{err}");
}

#[test]
fn missing_name_is_an_error() {
    let text = "apiVersion: v1\nkind: Service\nmetadata: {namespace: apps}\n";
    let loaded = yaml(text);
    let err = only_error(&loaded);
    assert_eq!(err.field.as_deref(), Some("metadata.name"));
    assert_eq!(err.object, None);
    assert!(loaded.objects.is_empty());
}

#[test]
fn namespace_defaults_to_default() {
    let text = "\
apiVersion: v1
kind: Service
metadata: {name: svc}
---
apiVersion: v1
kind: Namespace
metadata: {name: apps}
";
    let loaded = yaml(text);
    assert_eq!(refs(&loaded), ["Service default/svc", "Namespace apps"]);
    assert_eq!(
        loaded.objects[0].meta().namespace.as_deref(),
        Some("default")
    );
    assert_eq!(loaded.objects[1].meta().namespace, None);
}

#[test]
fn duplicates_last_wins_with_warning() {
    let first = ROUTE.replace("gw}", "first}");
    let second = ROUTE.replace("gw}", "second}");
    let loaded = yaml(&format!("{first}---\n{second}"));
    assert_eq!(refs(&loaded), ["HTTPRoute apps/web"]);
    let Object::HTTPRoute(route) = &loaded.objects[0] else {
        panic!()
    };
    assert_eq!(route.spec.parent_refs[0].name, "second");
    assert_eq!(loaded.warnings.len(), 1);
    let warning = &loaded.warnings[0];
    assert!(warning.contains("HTTPRoute apps/web"), "{warning}");
    assert!(warning.contains("x.yaml document 1") && warning.contains("x.yaml document 2"));
}

fn write(dir: &Path, rel: &str, text: &str) -> PathBuf {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path
}

fn namespace(name: &str) -> String {
    format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n")
}

#[test]
fn directories_load_recursively_in_path_order() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "b/nested/z.yaml", &namespace("bz"));
    write(dir.path(), "b/a.yml", &namespace("ba"));
    write(
        dir.path(),
        "a.json",
        r#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"aj"}}"#,
    );
    write(dir.path(), "c.yaml", &namespace("c"));
    write(dir.path(), "notes.txt", "not a manifest");
    write(dir.path(), ".hidden/x.yaml", &namespace("hidden"));
    let loaded = load_paths(&[dir.path().to_owned()]);
    assert!(
        loaded.errors.is_empty() && loaded.warnings.is_empty(),
        "{loaded:#?}"
    );
    assert_eq!(
        refs(&loaded),
        [
            "Namespace aj",
            "Namespace ba",
            "Namespace bz",
            "Namespace c"
        ]
    );
}

#[test]
fn duplicates_across_files_follow_path_order() {
    let dir = tempfile::tempdir().unwrap();
    let later = write(dir.path(), "b.yaml", &ROUTE.replace("gw}", "from-b}"));
    let earlier = write(dir.path(), "a.yaml", &ROUTE.replace("gw}", "from-a}"));
    // Argument order does not matter: files are read in path order.
    let loaded = load_paths(&[later.clone(), earlier.clone()]);
    let Object::HTTPRoute(route) = &loaded.objects[0] else {
        panic!()
    };
    assert_eq!(route.spec.parent_refs[0].name, "from-b");
    let warning = &loaded.warnings[0];
    let (a, b) = (earlier.display().to_string(), later.display().to_string());
    assert!(
        warning.find(&a).unwrap() < warning.find(&b).unwrap(),
        "{warning}"
    );
}

#[test]
fn bad_files_do_not_stop_others() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "a.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: [}\n",
    );
    write(dir.path(), "b.json", "{not json");
    std::fs::write(dir.path().join("c.yaml"), [0xff, 0xfe, 0x00, 0x41]).unwrap();
    write(dir.path(), "d.yaml", &namespace("ok"));
    let missing = dir.path().join("missing.yaml");
    let loaded = load_paths(&[dir.path().to_owned(), missing]);
    assert_eq!(refs(&loaded), ["Namespace ok"]);
    let files: Vec<_> = loaded
        .errors
        .iter()
        .map(|e| e.file.file_name().unwrap())
        .collect();
    assert_eq!(
        files,
        ["a.yaml", "b.json", "c.yaml", "missing.yaml"],
        "{:#?}",
        loaded.errors
    );
    assert_eq!(loaded.errors[2].document, 0);
    assert!(
        loaded.errors[3].to_string().contains("cannot read"),
        "{}",
        loaded.errors[3]
    );
}

#[test]
fn garbage_never_panics() {
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let alphabet = b"abc:-[]{}&*!|>'\"#%@`,?\n\n  \t---...0123 \\xapiVersion kind metadata name";
    for _ in 0..2000 {
        let len = (next() % 200) as usize;
        let bytes: Vec<u8> = (0..len)
            .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
            .collect();
        let text = String::from_utf8_lossy(&bytes);
        let _ = load_str(Path::new("g.yaml"), &text);
        let _ = load_str(Path::new("g.json"), &text);
        let wrapped = format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: n\n  {text}");
        let _ = load_str(Path::new("g.yaml"), &wrapped);
    }
    // Deeply nested input hits the parser's recursion limit, not the stack.
    let deep = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
    let loaded = load_str(Path::new("deep.yaml"), &deep);
    assert_eq!(loaded.errors.len(), 1);
    let loaded = load_str(Path::new("deep.json"), &deep);
    assert_eq!(loaded.errors.len(), 1);
}
