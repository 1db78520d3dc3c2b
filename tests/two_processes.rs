//! A timely cluster of two `sluice translate` processes on loopback (`--process I --hostfile F`)
//! prints exactly what one process prints, with one and with two workers per process.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn translate(world: &Path, extra: &[String]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sluice"));
    cmd.args(["translate", "-o", "json"])
        .args(extra)
        .arg("-f")
        .arg(world);
    cmd
}

fn json_of(out: &Output, what: &str) -> Value {
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // timely prints its connection progress ("awaiting connections …") on stdout first.
    let text = String::from_utf8_lossy(&out.stdout);
    let json = text.find("\n{").map_or(&text[..], |i| &text[i + 1..]);
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {text}"))
}

#[test]
fn two_processes_print_what_one_prints() {
    let work = tempfile::tempdir().unwrap();
    for world in ["basic", "https", "backends", "precedence"] {
        let file = common::root().join(format!("testdata/{world}.yaml"));
        let single = json_of(
            &translate(&file, &[]).output().expect("run sluice"),
            "one process",
        );
        for workers in [1, 2] {
            let ports = common::free_ports(2);
            let hostfile = work.path().join(format!("hosts-{world}-{workers}"));
            let hosts: String = ports.iter().map(|p| format!("127.0.0.1:{p}\n")).collect();
            std::fs::write(&hostfile, hosts).unwrap();
            let args = |process: usize| {
                vec![
                    "--workers".to_owned(),
                    workers.to_string(),
                    "--process".to_owned(),
                    process.to_string(),
                    "--hostfile".to_owned(),
                    hostfile.display().to_string(),
                ]
            };
            let follower = translate(&file, &args(1))
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start process 1");
            let leader = translate(&file, &args(0)).output().expect("run process 0");
            let follower = follower.wait_with_output().expect("process 1 ends");
            assert!(
                follower.status.success(),
                "{world}, {workers} workers: process 1 failed: {}",
                String::from_utf8_lossy(&follower.stderr)
            );
            // Only process 0 prints the translation (timely's own connection retries may
            // appear on process 1's stdout).
            let printed = String::from_utf8_lossy(&follower.stdout);
            assert!(
                !printed.contains('{'),
                "process 1 printed a translation: {printed}"
            );
            let clustered = json_of(&leader, "process 0");
            assert!(
                clustered == single,
                "{world}: 2 processes × {workers} workers differ from one process"
            );
        }
    }
}
