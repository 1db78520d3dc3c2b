//! The scale benchmark: one fleet, the dataflow and the naive translator side by side in the
//! same process, every measure of `performance.md` that can be taken today.
//!
//! ```text
//!  generate ─▶ lower ─▶ (1) initial compile: dataflow epoch 1   │ naive translate(all)
//!                      (2) per change kind, one change per epoch: dataflow apply → OutputBatch
//!                                                                │ naive translate + Snapshot::diff
//!                      (3) minimality: batch == naive diff, every change naive ran for
//!                      (7) floor: encode the emitted resources
//!                      (4) RSS: VmHWM; VmRSS before/after `epochs_rss` route edits
//!                      (6) the same epochs on the other worker count: identical outputs
//!                      (5) serving: route edits published to N in-process Delta clients
//! ```
//!
//! The naive translator recomputes everything per change, so at large fleets it is run on the
//! first `naive_changes` changes of each kind only (the dataflow on all of them); the figures
//! carry their own sample counts. RSS figures are of the whole process (the harness's own
//! snapshot of the output and the naive translator's included), read from `/proc/self/status`.
//! The fleet itself is streamed, never held: the process keeps the lowered records (which a
//! running sluice keeps too) and the few objects its change sequences pick.

mod report;
mod rss;
mod serve;

use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::IsTerminal;
use std::ops::Range;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use sluice_crds::{Kind, ObjectRef};
use sluice_dataflow::input::{InputEvent, RecordKey, RecordKind};
use sluice_dataflow::lower::{Lowered, lower};
use sluice_dataflow::model::ObjectKey;
use sluice_dataflow::output::{OutputBatch, Snapshot};
use sluice_dataflow::render::RenderConfig;
use sluice_dataflow::worker::{Engine, Topology};
use sluice_proptests::oracle::{self, Config};

use crate::fleet::{self, Change, ChangeKind, Counts, FleetKind, Sample};

pub use report::{markdown, svg_plot};
pub use serve::ServeFigure;

/// What to run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BenchConfig {
    pub fleet: FleetKind,
    pub seed: u64,
    /// Timely workers of the measured run.
    pub workers: usize,
    /// Measured changes per change kind.
    pub changes: usize,
    /// Route-edit epochs over which RSS growth is measured (0: skip).
    pub epochs_rss: usize,
    /// Changes per kind for which the naive translator also runs (full recompute + diff):
    /// slow at large fleets, so it may be fewer than `changes`.
    pub naive_changes: usize,
    /// A progress bar on stderr.
    pub progress: bool,
    /// Replay the initial compile and every change on this many workers and require
    /// identical outputs (`None`: skip).
    pub compare_workers: Option<usize>,
    /// The change kinds to measure, in order.
    pub kinds: Vec<ChangeKind>,
    /// Numbers of Delta clients to deliver one route edit to (measure 5; empty: skip).
    #[serde(default)]
    pub serve_clients: Vec<usize>,
    /// Run the naive translator at all (initial compile, checks). Off for fleets whose
    /// naive translation does not fit beside the dataflow, or for profiling the dataflow.
    #[serde(default = "yes")]
    pub naive: bool,
}

fn yes() -> bool {
    true
}

impl BenchConfig {
    /// The defaults for `fleet`: 1 worker checked against 2, 1,000 changes per kind, 10,000
    /// RSS epochs; the naive translator on every change for S and hot, on 1 per kind for L
    /// and XL (one naive translation of fleet L takes about a minute on this machine type).
    pub fn new(fleet: FleetKind) -> BenchConfig {
        BenchConfig {
            fleet,
            seed: 1,
            workers: 1,
            changes: 1_000,
            epochs_rss: 10_000,
            naive_changes: match fleet {
                FleetKind::S | FleetKind::Hot => 1_000,
                FleetKind::L | FleetKind::XL => 1,
            },
            progress: false,
            compare_workers: Some(2),
            kinds: ChangeKind::ALL.to_vec(),
            serve_clients: vec![1, 100, 1_000],
            naive: true,
        }
    }
}

/// Figures of one change kind.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct KindReport {
    pub kind: String,
    /// Measured changes (dataflow).
    pub changes: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Lowering the changed object (not included in `p50_ms`).
    pub lower_p50_ms: f64,
    /// Measured changes the naive translator ran for.
    pub naive_changes: usize,
    pub naive_p50_ms: Option<f64>,
    pub naive_p99_ms: Option<f64>,
    /// `naive_p50_ms / p50_ms`.
    pub speedup_p50: Option<f64>,
    /// Every epoch naive ran for emitted exactly the naive set difference (`None`: not checked).
    pub minimal: Option<bool>,
    /// Epochs (measured or not) checked against the naive diff, and how many differed.
    pub checked: usize,
    pub mismatches: usize,
    pub first_mismatch: Option<String>,
    /// xDS resources upserted or deleted per change.
    pub resources_per_change_mean: f64,
    pub resources_per_change_max: usize,
    pub status_changes_per_change_mean: f64,
    /// Encoded bytes of the upserted resources per change.
    pub bytes_per_change_mean: f64,
    pub bytes_per_change_max: u64,
    /// Changes that emitted nothing.
    pub empty_batches: usize,
    /// Time to encode the emitted resources (the floor), p50.
    pub floor_encode_p50_ms: f64,
    /// `p50_ms / floor_encode_p50_ms`, when the floor is not zero.
    pub p50_over_floor: Option<f64>,
}

/// The replay on another worker count.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct WorkersCheck {
    pub workers: usize,
    pub initial_compile_s: f64,
    /// p50 per change kind, same order as `Report::kinds`.
    pub p50_ms: Vec<(String, f64)>,
    /// Every epoch's batch and the final accumulated snapshot equal the measured run's.
    pub identical: bool,
    pub differing_epochs: usize,
}

/// Everything one run measured. Times in seconds (`_s`) or milliseconds (`_ms`).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Report {
    pub fleet: String,
    pub seed: u64,
    pub workers: usize,
    pub cores: usize,
    pub objects: usize,
    pub records: usize,
    pub counts: Counts,
    pub generate_s: f64,
    pub lowering_s: f64,
    pub lowering_problems: usize,
    pub initial_compile_s: f64,
    pub naive_initial_compile_s: f64,
    pub initial_resources: usize,
    pub initial_statuses: usize,
    pub initial_bytes: u64,
    /// The dataflow's first batch equals the naive translation of the whole fleet.
    pub initial_matches_naive: bool,
    /// Route edit, the headline change kind.
    pub update_p50_ms: f64,
    pub update_p99_ms: f64,
    pub naive_update_p50_ms: Option<f64>,
    pub speedup_p50: Option<f64>,
    /// Every checked epoch (initial included) emitted exactly the naive set difference.
    pub emitted_minimal: bool,
    pub minimality_checked: usize,
    /// The accumulated dataflow output after all changes equals a naive translation.
    pub final_matches_naive: bool,
    /// The naive translator did not run (`BenchConfig::naive` off): nothing was checked
    /// against it and its columns are empty.
    pub naive_skipped: bool,
    /// Peak RSS (VmHWM) of the whole run: fleet generation, dataflow, naive translator.
    pub peak_rss_bytes: u64,
    /// RSS before the dataflow starts, holding the lowered records and change epochs (the
    /// fleet's objects already dropped).
    pub rss_inputs_bytes: u64,
    /// Peak RSS from then through the dataflow's initial compile (before the naive
    /// translator runs): inputs plus the dataflow at its largest.
    pub rss_after_initial_bytes: u64,
    /// RSS after the initial compile minus `rss_inputs_bytes`: the running dataflow (input
    /// state, arrangements) plus its first output batch.
    pub rss_dataflow_bytes: i64,
    pub rss_epochs: usize,
    /// Latency of those route-edit epochs (dataflow alone, nothing else between epochs),
    /// warm-up included, and the xDS resources they emitted on average.
    pub rss_epoch_p50_ms: f64,
    pub rss_epoch_p99_ms: f64,
    pub rss_epoch_resources_mean: f64,
    /// VmRSS after `rss_epochs` route edits minus VmRSS after a warm-up (`None`: skipped).
    pub rss_growth_over_10k_epochs_bytes: Option<i64>,
    /// One route edit delivered to 1,000 Delta clients: time until the last has it.
    pub serve_1000_clients_ms: Option<f64>,
    /// Measure 5 at every client count run.
    pub serving: Vec<ServeFigure>,
    /// Floor of the headline change kind (route edit): encode its emitted resources, p50.
    pub floor_encode_ms: f64,
    pub kinds: Vec<KindReport>,
    pub workers_check: Option<WorkersCheck>,
    /// Measures of `performance.md` this run did not take, and why.
    pub not_measured: Vec<String>,
}

/// The record key an object deletion retracts (`None` for kinds the dataflow ignores).
pub fn record_key(obj: &ObjectRef) -> Option<RecordKey> {
    let kind = match obj.kind {
        Kind::GatewayClass => RecordKind::GatewayClass,
        Kind::Gateway => RecordKind::Gateway,
        Kind::HTTPRoute => RecordKind::HttpRoute,
        Kind::Service => RecordKind::Service,
        Kind::EndpointSlice => RecordKind::EndpointSlice,
        Kind::ReferenceGrant => RecordKind::ReferenceGrant,
        Kind::Secret => RecordKind::Secret,
        Kind::Namespace => RecordKind::Namespace,
        Kind::Backend => RecordKind::Backend,
        Kind::DirectResponse => RecordKind::DirectResponse,
        _ => return None,
    };
    let ns = if obj.kind.is_namespaced() {
        obj.namespace
            .as_deref()
            .filter(|ns| !ns.is_empty())
            .unwrap_or(sluice_dataflow::lower::DEFAULT_NAMESPACE)
    } else {
        ""
    };
    Some(RecordKey {
        kind,
        key: ObjectKey::new(ns, &obj.name),
    })
}

/// Lowers one epoch's changes to input events; objects `lower` rejects are counted in
/// `problems` and left out.
pub fn lower_changes(changes: &[Change], problems: &mut usize) -> Vec<InputEvent> {
    changes
        .iter()
        .filter_map(|c| match c {
            Change::Upsert(o) => match lower(o) {
                Lowered::Record(r) => Some(InputEvent::Upsert(r)),
                Lowered::Unsupported => None,
                Lowered::Invalid(_) => {
                    *problems += 1;
                    None
                }
            },
            Change::Delete(r) => record_key(r).map(InputEvent::Delete),
        })
        .collect()
}

/// Seeds (xor the fleet seed) of the route edits of the RSS and the serving measures.
const RSS_SEED: u64 = 0x5eed;
const SERVE_SEED: u64 = 0x5e7e;

/// Streams the configured fleet through `lower`, showing each object to `seen` first.
/// Returns the input events, the fleet's counts and the time spent lowering; objects `lower`
/// rejects are counted in `problems`.
fn lower_fleet(
    cfg: &BenchConfig,
    mut seen: impl FnMut(&sluice_crds::Object),
    problems: &mut usize,
) -> (Vec<InputEvent>, Counts, Duration) {
    let mut initial = Vec::with_capacity(cfg.fleet.shape().objects());
    let mut lowering = Duration::ZERO;
    let counts = fleet::stream(cfg.fleet, cfg.seed, |o| {
        seen(&o);
        let t = Instant::now();
        match lower(&o) {
            Lowered::Record(r) => initial.push(InputEvent::Upsert(r)),
            Lowered::Unsupported => {}
            Lowered::Invalid(_) => *problems += 1,
        }
        lowering += t.elapsed();
    });
    (initial, counts, lowering)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Nearest-rank percentile of `values` (sorted in place); 0 when empty.
pub fn percentile(values: &mut [f64], p: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * values.len() as f64).ceil() as usize;
    values[rank.clamp(1, values.len()) - 1]
}

fn mean(values: impl ExactSizeIterator<Item = f64>) -> f64 {
    let n = values.len();
    if n == 0 {
        0.0
    } else {
        values.sum::<f64>() / n as f64
    }
}

/// A batch's content (epoch number aside) as a number, to compare runs without keeping
/// every batch.
fn fingerprint(batch: &OutputBatch) -> u64 {
    let mut h = DefaultHasher::new();
    batch.upserts.hash(&mut h);
    batch.deletes.hash(&mut h);
    batch.status_upserts.hash(&mut h);
    batch.status_deletes.hash(&mut h);
    h.finish()
}

/// A digest of a whole output, so two runs can be compared without holding both.
fn snapshot_digest(snapshot: &Snapshot) -> u64 {
    let mut h = DefaultHasher::new();
    snapshot.resources.hash(&mut h);
    snapshot.statuses.hash(&mut h);
    h.finish()
}

fn same_changes(a: &OutputBatch, b: &OutputBatch) -> bool {
    a.upserts == b.upserts
        && a.deletes == b.deletes
        && a.status_upserts == b.status_upserts
        && a.status_deletes == b.status_deletes
}

/// Encoded size of the batch's upserts, and the time encoding took (the floor; zero when
/// nothing was upserted).
fn encode_batch(batch: &OutputBatch) -> (u64, Duration) {
    if batch.upserts.is_empty() {
        return (0, Duration::ZERO);
    }
    let start = Instant::now();
    let bytes = batch
        .upserts
        .iter()
        .map(|r| std::hint::black_box(sluice_emit::convert::encode(r)).len() as u64)
        .sum();
    (bytes, start.elapsed())
}

fn progress_bar(cfg: &BenchConfig, len: u64) -> ProgressBar {
    if !cfg.progress {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    let style =
        ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} epochs {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
    bar.set_style(style);
    bar
}

/// Names the running phase on the progress bar; also as a line on stderr when that is not a
/// terminal (where the bar is hidden), so long runs can be followed in a log.
fn note(bar: &ProgressBar, cfg: &BenchConfig, msg: String) {
    if !cfg.progress {
        return;
    }
    if !std::io::stderr().is_terminal() {
        eprintln!("[{:>8.1} s] {msg}", bar.elapsed().as_secs_f64());
    }
    bar.set_message(msg);
}

/// One change kind's lowered epochs, kept for the worker replay.
struct KindEpochs {
    kind: ChangeKind,
    epochs: Vec<(Vec<InputEvent>, bool)>,
}

/// The order epochs run in: `(kind index, epoch range, naive on)`. First, for every kind,
/// its epochs up to (excluding) the measured change number `naive_changes + 1`, with the naive
/// translator; then the remaining epochs of every kind without it.
fn schedule(kinds: &[KindEpochs], naive_changes: usize) -> Vec<(usize, Range<usize>, bool)> {
    let splits: Vec<usize> = kinds
        .iter()
        .map(|ke| {
            let mut measured = 0;
            ke.epochs
                .iter()
                .position(|(_, m)| {
                    let past = *m && measured == naive_changes;
                    measured += usize::from(*m);
                    past
                })
                .unwrap_or(ke.epochs.len())
        })
        .collect();
    let with = kinds
        .iter()
        .enumerate()
        .map(|(i, _)| (i, 0..splits[i], true));
    let without = kinds
        .iter()
        .enumerate()
        .map(|(i, ke)| (i, splits[i]..ke.epochs.len(), false));
    with.chain(without)
        .filter(|(_, r, _)| !r.is_empty())
        .collect()
}

/// A change kind's samples while its epochs run.
#[derive(Default)]
struct KindAcc {
    report: KindReport,
    times: Vec<f64>,
    naive_times: Vec<f64>,
    floors: Vec<f64>,
    resources: Vec<usize>,
    statuses: Vec<usize>,
    bytes: Vec<u64>,
}

impl KindAcc {
    fn finish(mut self) -> KindReport {
        let kr = &mut self.report;
        kr.changes = self.times.len();
        kr.p50_ms = percentile(&mut self.times, 50.0);
        kr.p99_ms = percentile(&mut self.times, 99.0);
        kr.max_ms = self.times.last().copied().unwrap_or(0.0);
        if !self.naive_times.is_empty() {
            let p50 = percentile(&mut self.naive_times, 50.0);
            kr.naive_p50_ms = Some(p50);
            kr.naive_p99_ms = Some(percentile(&mut self.naive_times, 99.0));
            kr.speedup_p50 = (kr.p50_ms > 0.0).then(|| p50 / kr.p50_ms);
        }
        if kr.checked > 0 {
            kr.minimal = Some(kr.mismatches == 0);
        }
        kr.resources_per_change_mean = mean(self.resources.iter().map(|&r| r as f64));
        kr.resources_per_change_max = self.resources.iter().copied().max().unwrap_or(0);
        kr.status_changes_per_change_mean = mean(self.statuses.iter().map(|&r| r as f64));
        kr.bytes_per_change_mean = mean(self.bytes.iter().map(|&b| b as f64));
        kr.bytes_per_change_max = self.bytes.iter().copied().max().unwrap_or(0);
        kr.floor_encode_p50_ms = percentile(&mut self.floors, 50.0);
        kr.p50_over_floor =
            (kr.floor_encode_p50_ms > 0.0).then(|| kr.p50_ms / kr.floor_encode_p50_ms);
        self.report
    }
}

fn start(workers: usize) -> Engine {
    Engine::start(Topology::Process(workers), RenderConfig::default())
        .expect("start timely workers")
}

/// Runs the benchmark.
///
/// # Panics
/// When the dataflow cannot start or stops.
pub fn run(cfg: &BenchConfig) -> Report {
    rss::reset_peak();
    let mut report = Report {
        fleet: cfg.fleet.name().to_owned(),
        seed: cfg.seed,
        workers: cfg.workers,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        ..Report::default()
    };
    let naive_cfg = Config::default();

    let bar = progress_bar(cfg, 0);
    note(&bar, cfg, format!("fleet {}: generate", cfg.fleet));

    // Fleet and lowering: the fleet streams past once, object by object, and is never held
    // whole; what stays is its lowered records (the dataflow's input) and the few objects
    // the change sequences pick.
    let warmup = (cfg.epochs_rss / 10).clamp(1, 1_000);
    let serve_n = cfg.serve_clients.len() * 4;
    let (fk, seed) = (cfg.fleet, cfg.seed);
    let mut wanted: Vec<(Kind, usize)> = cfg
        .kinds
        .iter()
        .flat_map(|&k| fleet::picks(fk, seed, k, cfg.changes, seed))
        .collect();
    if cfg.epochs_rss > 0 {
        let n = warmup + cfg.epochs_rss;
        wanted.extend(fleet::picks(
            fk,
            seed,
            ChangeKind::RouteEdit,
            n,
            seed ^ RSS_SEED,
        ));
    }
    wanted.extend(fleet::picks(
        fk,
        seed,
        ChangeKind::RouteEdit,
        serve_n,
        seed ^ SERVE_SEED,
    ));
    let mut sample = Sample::new(fk, seed, wanted);
    let t = Instant::now();
    let (initial, counts, lowering) =
        lower_fleet(cfg, |o| sample.offer(o), &mut report.lowering_problems);
    report.lowering_s = lowering.as_secs_f64();
    report.generate_s = t.elapsed().as_secs_f64() - report.lowering_s;
    report.objects = counts.objects;
    report.counts = counts;
    report.records = initial.len();

    note(&bar, cfg, format!("fleet {}: generate changes", cfg.fleet));
    // Change sequences, lowered up front (lowering is timed per change separately).
    let mut all_epochs: Vec<KindEpochs> = Vec::new();
    let mut lower_ms: Vec<Vec<f64>> = Vec::new();
    for &kind in &cfg.kinds {
        let epochs = fleet::changes(&sample, kind, cfg.changes, cfg.seed);
        let mut lowered = Vec::with_capacity(epochs.len());
        let mut times = Vec::new();
        for e in &epochs {
            let t = Instant::now();
            let events = lower_changes(&e.changes, &mut report.lowering_problems);
            if e.measured {
                times.push(ms(t.elapsed()));
            }
            lowered.push((events, e.measured));
        }
        all_epochs.push(KindEpochs {
            kind,
            epochs: lowered,
        });
        lower_ms.push(times);
    }
    let rss_edits: Option<(usize, Vec<Vec<InputEvent>>)> = (cfg.epochs_rss > 0).then(|| {
        let n = warmup + cfg.epochs_rss;
        let epochs = fleet::changes(&sample, ChangeKind::RouteEdit, n, cfg.seed ^ RSS_SEED);
        let events = epochs
            .iter()
            .map(|e| lower_changes(&e.changes, &mut report.lowering_problems))
            .collect();
        (warmup, events)
    });

    // Route edits for the serving measure.
    let serve_edits: Vec<Vec<InputEvent>> = fleet::changes(
        &sample,
        ChangeKind::RouteEdit,
        serve_n,
        cfg.seed ^ SERVE_SEED,
    )
    .iter()
    .map(|e| lower_changes(&e.changes, &mut report.lowering_problems))
    .collect();
    drop(sample);

    let change_epochs: usize = all_epochs.iter().map(|k| k.epochs.len()).sum();
    let total = 1
        + change_epochs
        + rss_edits.as_ref().map_or(0, |(w, e)| e.len().max(*w))
        + cfg.compare_workers.map_or(0, |_| 1 + change_epochs);
    bar.set_length(total as u64);
    let generation_peak = rss::peak();
    rss::reset_peak();
    report.rss_inputs_bytes = rss::current();

    // (1) Initial compile.
    note(&bar, cfg, format!("fleet {}: initial compile", cfg.fleet));
    let mut engine = start(cfg.workers);
    let t = Instant::now();
    let first = engine.apply(initial).expect("dataflow running");
    report.initial_compile_s = t.elapsed().as_secs_f64();
    report.rss_after_initial_bytes = rss::peak();
    report.rss_dataflow_bytes = rss::current() as i64 - report.rss_inputs_bytes as i64;
    let mut fingerprints = vec![fingerprint(&first)];
    let mut snapshot = Snapshot::default();
    snapshot.apply(&first);
    report.initial_resources = snapshot.resources.len();
    report.initial_statuses = snapshot.statuses.len();
    report.initial_bytes = encode_batch(&first).0;
    bar.inc(1);

    note(
        &bar,
        cfg,
        format!("fleet {}: naive initial compile", cfg.fleet),
    );
    let mut all_minimal = true;
    let mut naive_prev: Option<Snapshot> = None;
    if cfg.naive {
        let t = Instant::now();
        let naive_initial = oracle::translate(engine.state().records(), &naive_cfg);
        report.naive_initial_compile_s = t.elapsed().as_secs_f64();
        report.initial_matches_naive = naive_initial == snapshot;
        report.minimality_checked = 1;
        all_minimal = report.initial_matches_naive;
        naive_prev = Some(naive_initial);
    } else {
        report.naive_skipped = true;
    }
    drop(first);

    // (2), (3), (7): one change per epoch. Phase A runs the first `naive_changes` changes of
    // every kind with the naive translator beside the dataflow, kind after kind, so one naive
    // snapshot stays current throughout; phase B runs the rest, dataflow only.
    let schedule = schedule(&all_epochs, if cfg.naive { cfg.naive_changes } else { 0 });
    let mut acc: Vec<KindAcc> = all_epochs
        .iter()
        .zip(lower_ms)
        .map(|(ke, mut lower_times)| KindAcc {
            report: KindReport {
                kind: ke.kind.name().to_owned(),
                lower_p50_ms: percentile(&mut lower_times, 50.0),
                ..KindReport::default()
            },
            ..KindAcc::default()
        })
        .collect();
    for (ki, range, naive_on) in &schedule {
        let ke = &all_epochs[*ki];
        let a = &mut acc[*ki];
        note(
            &bar,
            cfg,
            format!(
                "fleet {}: {} ({} epochs{})",
                cfg.fleet,
                ke.kind,
                range.len(),
                if *naive_on { ", with naive" } else { "" }
            ),
        );
        if !naive_on {
            naive_prev = None;
        }
        for (events, measured) in &ke.epochs[range.clone()] {
            let t = Instant::now();
            let batch = engine.apply(events.clone()).expect("dataflow running");
            let dt = t.elapsed();
            snapshot.apply(&batch);
            fingerprints.push(fingerprint(&batch));
            let (encoded, floor) = encode_batch(&batch);
            if *measured {
                a.times.push(ms(dt));
                a.floors.push(ms(floor));
                a.resources.push(batch.resource_changes());
                a.statuses
                    .push(batch.status_upserts.len() + batch.status_deletes.len());
                a.bytes.push(encoded);
                if batch.is_empty() {
                    a.report.empty_batches += 1;
                }
            }
            if let Some(prev) = naive_prev.take() {
                let kr = &mut a.report;
                let t = Instant::now();
                let next = oracle::translate(engine.state().records(), &naive_cfg);
                let diff = prev.diff(&next, batch.epoch);
                let naive_dt = t.elapsed();
                drop(prev);
                if *measured {
                    a.naive_times.push(ms(naive_dt));
                    kr.naive_changes += 1;
                }
                kr.checked += 1;
                if !same_changes(&batch, &diff) {
                    kr.mismatches += 1;
                    if kr.first_mismatch.is_none() {
                        kr.first_mismatch = sluice_proptests::compare::batch_diff(
                            "dataflow", &batch, "naive", &diff,
                        )
                        .map(|s| s.chars().take(4_000).collect());
                    }
                }
                naive_prev = Some(next);
            }
            bar.inc(1);
        }
    }
    for a in acc {
        let kr = a.finish();
        if let Some(minimal) = kr.minimal {
            all_minimal &= minimal;
            report.minimality_checked += kr.checked;
        }
        report.kinds.push(kr);
    }
    report.emitted_minimal = all_minimal && cfg.naive;
    drop(naive_prev);
    if cfg.naive {
        note(&bar, cfg, format!("fleet {}: naive final check", cfg.fleet));
        report.final_matches_naive =
            oracle::translate(engine.state().records(), &naive_cfg) == snapshot;
    }

    if let Some(head) = report
        .kinds
        .iter()
        .find(|k| k.kind == ChangeKind::RouteEdit.name())
        .or(report.kinds.first())
    {
        report.update_p50_ms = head.p50_ms;
        report.update_p99_ms = head.p99_ms;
        report.naive_update_p50_ms = head.naive_p50_ms;
        report.speedup_p50 = head.speedup_p50;
        report.floor_encode_ms = head.floor_encode_p50_ms;
    }

    // Epochs the serving measure applied, for the worker replay.
    let mut serve_applied: Vec<Vec<InputEvent>> = Vec::new();
    // (5) Serving: route edits delivered to N Delta clients.
    if !cfg.serve_clients.is_empty() {
        note(
            &bar,
            cfg,
            format!("fleet {}: serving to Delta clients", cfg.fleet),
        );
        let (figures, applied) = measure_serving(cfg, &mut engine, &mut snapshot, serve_edits);
        report.serving = figures;
        for (_, batch) in &applied {
            fingerprints.push(fingerprint(batch));
        }
        serve_applied = applied.into_iter().map(|(events, _)| events).collect();
        report.serve_1000_clients_ms = report
            .serving
            .iter()
            .find(|f| f.clients == 1_000)
            .map(|f| f.all_ms);
    }

    // (4) RSS over many route edits (dataflow only).
    if let Some((warmup, epochs)) = rss_edits {
        note(
            &bar,
            cfg,
            format!("fleet {}: RSS over route edits", cfg.fleet),
        );
        let mut before = 0;
        let (mut times, mut resources) = (Vec::new(), 0);
        for (i, events) in epochs.into_iter().enumerate() {
            if i == warmup {
                before = rss::current();
            }
            let t = Instant::now();
            let batch = engine.apply(events).expect("dataflow running");
            times.push(ms(t.elapsed()));
            resources += batch.resource_changes();
            bar.inc(1);
        }
        let after = rss::current();
        report.rss_epochs = times.len() - warmup;
        report.rss_epoch_p50_ms = percentile(&mut times, 50.0);
        report.rss_epoch_p99_ms = percentile(&mut times, 99.0);
        report.rss_epoch_resources_mean = resources as f64 / times.len() as f64;
        report.rss_growth_over_10k_epochs_bytes = Some(after as i64 - before as i64);
    }
    engine.shutdown();

    // (6) The same epochs on another worker count, compared by digests: the first run's
    // output is dropped before the second dataflow starts.
    let digest = snapshot_digest(&snapshot);
    drop(snapshot);
    if let Some(workers) = cfg.compare_workers {
        note(&bar, cfg, format!("fleet {}: {workers} workers", cfg.fleet));
        let mut check = WorkersCheck {
            workers,
            ..WorkersCheck::default()
        };
        // The fleet again, streamed and lowered as before (the first copy went to the
        // measured engine).
        let (initial, _, _) = lower_fleet(cfg, |_| {}, &mut 0);
        let mut engine = start(workers);
        let t = Instant::now();
        let first = engine.apply(initial).expect("dataflow running");
        check.initial_compile_s = t.elapsed().as_secs_f64();
        let mut other = Snapshot::default();
        other.apply(&first);
        let mut prints = vec![fingerprint(&first)];
        drop(first);
        bar.inc(1);
        let mut times: Vec<Vec<f64>> = vec![Vec::new(); all_epochs.len()];
        for (ki, range, _) in &schedule {
            for (events, measured) in &all_epochs[*ki].epochs[range.clone()] {
                let t = Instant::now();
                let batch = engine.apply(events.clone()).expect("dataflow running");
                if *measured {
                    times[*ki].push(ms(t.elapsed()));
                }
                other.apply(&batch);
                prints.push(fingerprint(&batch));
                bar.inc(1);
            }
        }
        for events in serve_applied {
            let batch = engine.apply(events).expect("dataflow running");
            other.apply(&batch);
            prints.push(fingerprint(&batch));
        }
        for (ke, mut times) in all_epochs.iter().zip(times) {
            check
                .p50_ms
                .push((ke.kind.name().to_owned(), percentile(&mut times, 50.0)));
        }
        engine.shutdown();
        check.differing_epochs = prints
            .iter()
            .zip(&fingerprints)
            .filter(|(a, b)| a != b)
            .count()
            + prints.len().abs_diff(fingerprints.len());
        check.identical = check.differing_epochs == 0 && snapshot_digest(&other) == digest;
        report.workers_check = Some(check);
    }
    bar.finish_and_clear();

    report.peak_rss_bytes = rss::peak().max(generation_peak);
    report.not_measured = vec![
        "workers across 2 processes on loopback: compared here as threads of one process; \
         tests/two_processes.rs checks a 2-process cluster's output on the test worlds"
            .to_owned(),
        "route edit to a real Envoy serving it: measured by the end-to-end test on a small \
         configuration only"
            .to_owned(),
    ];
    if !cfg.naive {
        report.not_measured.push(
            "the naive translator (switched off): no speedups, nothing checked against it"
                .to_owned(),
        );
    }
    report
}

/// Applies route edits (each one epoch of `engine`, kept in `snapshot`) until one rewrites a
/// RouteConfiguration, and delivers it to each count of clients in turn. Returns the figures
/// and every epoch applied, with its batch.
fn measure_serving(
    cfg: &BenchConfig,
    engine: &mut Engine,
    snapshot: &mut Snapshot,
    edits: Vec<Vec<InputEvent>>,
) -> (Vec<ServeFigure>, Vec<(Vec<InputEvent>, OutputBatch)>) {
    let mut served = serve::Served::start(snapshot);
    let mut edits = edits.into_iter();
    let (mut figures, mut applied) = (Vec::new(), Vec::new());
    for &clients in &cfg.serve_clients {
        for events in edits.by_ref() {
            let batch = engine.apply(events.clone()).expect("dataflow running");
            let figure = served.measure(clients, &batch, snapshot);
            snapshot.apply(&batch);
            applied.push((events, batch));
            if let Some(f) = figure {
                figures.push(f);
                break;
            }
        }
    }
    (figures, applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut v: Vec<f64> = (1..=100).rev().map(f64::from).collect();
        assert_eq!(percentile(&mut v, 50.0), 50.0);
        assert_eq!(percentile(&mut v, 99.0), 99.0);
        assert_eq!(percentile(&mut [3.0], 99.0), 3.0);
        assert_eq!(percentile(&mut [], 50.0), 0.0);
    }

    #[test]
    fn naive_epochs_of_every_kind_run_first() {
        let kind = |kind, measured: &[bool]| KindEpochs {
            kind,
            epochs: measured.iter().map(|m| (Vec::new(), *m)).collect(),
        };
        let kinds = [
            kind(ChangeKind::RouteEdit, &[true, true, true]),
            kind(
                ChangeKind::RouteDelete,
                &[true, false, true, false, true, false],
            ),
        ];
        assert_eq!(
            schedule(&kinds, 2),
            vec![
                (0, 0..2, true),
                (1, 0..4, true),
                (0, 2..3, false),
                (1, 4..6, false)
            ]
        );
        assert_eq!(
            schedule(&kinds, 0),
            vec![(0, 0..3, false), (1, 0..6, false)]
        );
        assert_eq!(schedule(&kinds, 9), vec![(0, 0..3, true), (1, 0..6, true)]);
    }

    #[test]
    fn deletions_map_to_record_keys() {
        let r = ObjectRef::new(Kind::HTTPRoute, Some("ns-0001"), "route-7");
        let k = record_key(&r).unwrap();
        assert_eq!(k.kind, RecordKind::HttpRoute);
        assert_eq!(k.key, ObjectKey::new("ns-0001", "route-7"));
        let ns = ObjectRef::new(Kind::Namespace, None, "ns-0001");
        assert_eq!(record_key(&ns).unwrap().key, ObjectKey::new("", "ns-0001"));
        let p = ObjectRef::new(Kind::TrafficPolicy, Some("ns-0001"), "tp-1");
        assert_eq!(record_key(&p), None);
    }
}
