//! sluice's scale benchmarks: a seeded fleet generator and a harness measuring the
//! incremental dataflow side by side with the naive from-scratch translator.
//!
//! * [`fleet`]: deterministic fleets of Kubernetes objects (S, L, XL, the hot listener) and
//!   change sequences over them; [`fleet::write_yaml`] backs `sluice gen`.
//! * [`harness`]: [`harness::run`] takes the measures of `docs/performance.md` (initial
//!   compile, update latency per change kind, minimality against the naive diff, RSS, worker
//!   counts, the encode floor) into a [`harness::Report`], rendered as Markdown, JSON and an
//!   SVG latency plot.
//!
//! The `scale` bench (`cargo bench -p sluice-benches --bench scale`) drives it; the fleet is
//! chosen with `SLUICE_BENCH_FLEET`.

pub mod fleet;
pub mod harness;
