//! The serve loop's own metrics, rendered as Prometheus text.

use std::fmt::Write;
use std::time::Duration;

use sluice_dataflow::ir::XdsType;
use sluice_dataflow::output::Snapshot;

/// Upper bounds (seconds) of the compile-time histogram buckets.
const BUCKETS: [f64; 10] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 2.5, 10.0,
];

#[derive(Debug, Default)]
pub struct ServeMetrics {
    pub epochs: u64,
    pub objects: usize,
    pub load_errors: u64,
    compile_buckets: [u64; BUCKETS.len()],
    compile_count: u64,
    compile_sum: f64,
    pub resources: [usize; XdsType::COUNT],
}

impl ServeMetrics {
    pub fn observe_epoch(&mut self, compile: Duration, snapshot: &Snapshot, objects: usize) {
        self.epochs += 1;
        self.objects = objects;
        let s = compile.as_secs_f64();
        self.compile_count += 1;
        self.compile_sum += s;
        for (i, b) in BUCKETS.iter().enumerate() {
            if s <= *b {
                self.compile_buckets[i] += 1;
            }
        }
        self.resources = [0; XdsType::COUNT];
        for k in snapshot.resources.keys() {
            self.resources[k.ty as usize] += 1;
        }
    }

    pub fn render(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(
            o,
            "# HELP sluice_epochs_total Input batches compiled.\n# TYPE sluice_epochs_total counter"
        );
        let _ = writeln!(o, "sluice_epochs_total {}", self.epochs);
        let _ = writeln!(
            o,
            "# HELP sluice_objects Objects currently loaded.\n# TYPE sluice_objects gauge"
        );
        let _ = writeln!(o, "sluice_objects {}", self.objects);
        let _ = writeln!(
            o,
            "# HELP sluice_load_errors_total Documents that failed to load.\n# TYPE sluice_load_errors_total counter"
        );
        let _ = writeln!(o, "sluice_load_errors_total {}", self.load_errors);
        let _ = writeln!(
            o,
            "# HELP sluice_compile_seconds Time from an input batch to its output batch.\n# TYPE sluice_compile_seconds histogram"
        );
        for (b, n) in BUCKETS.iter().zip(self.compile_buckets) {
            let _ = writeln!(o, "sluice_compile_seconds_bucket{{le=\"{b}\"}} {n}");
        }
        let _ = writeln!(
            o,
            "sluice_compile_seconds_bucket{{le=\"+Inf\"}} {}",
            self.compile_count
        );
        let _ = writeln!(o, "sluice_compile_seconds_sum {}", self.compile_sum);
        let _ = writeln!(o, "sluice_compile_seconds_count {}", self.compile_count);
        let _ = writeln!(
            o,
            "# HELP sluice_resources xDS resources by type.\n# TYPE sluice_resources gauge"
        );
        for t in XdsType::ALL {
            let name = t.type_url().rsplit('.').next().unwrap_or_default();
            let _ = writeln!(
                o,
                "sluice_resources{{type=\"{name}\"}} {}",
                self.resources[t as usize]
            );
        }
        o
    }
}
