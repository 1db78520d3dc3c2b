//! Golden files: each `testdata/*.yaml` translated by `sluice translate` (both engines) must
//! match `testdata/<name>.xds.json` and `testdata/<name>.status.json`. `UPDATE_GOLDEN=1`
//! rewrites them; review the diff.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn translate(file: &Path, engine: &str) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["translate", "-o", "json", "--engine", engine, "-f"])
        .arg(file)
        .output()
        .expect("run sluice");
    assert!(
        out.status.success(),
        "{}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json output")
}

fn check(path: &Path, actual: &Value) {
    let text = serde_json::to_string_pretty(actual).unwrap() + "\n";
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(path, &text).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(path)
        .unwrap_or_else(|_| panic!("{} missing: run with UPDATE_GOLDEN=1", path.display()));
    assert!(
        expected == text,
        "{} differs from the translation; rerun with UPDATE_GOLDEN=1 and review",
        path.display()
    );
}

#[test]
fn testdata_matches_golden_files_with_both_engines() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 7, "testdata went missing");
    for case in cases {
        let dataflow = translate(&case, "dataflow");
        let naive = translate(&case, "naive");
        assert_eq!(dataflow, naive, "{}: engines disagree", case.display());
        let mut xds = dataflow.clone();
        let statuses = xds.as_object_mut().unwrap().remove("statuses").unwrap();
        let stem = case.file_stem().unwrap().to_str().unwrap();
        check(&dir.join(format!("{stem}.xds.json")), &xds);
        check(&dir.join(format!("{stem}.status.json")), &statuses);
    }
}
