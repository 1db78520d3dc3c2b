//! The reference side of sluice's correctness argument: `oracle`, a naive from-scratch
//! translator, and the proptest strategies that generate random worlds and change sequences to
//! check the incremental dataflow against it.
//!
//! Owns: the oracle and the strategies. Does not own: any semantics shared with
//! `sluice_dataflow::render` — only the record model, `lower` and `emit`'s conversion are shared.

pub mod compare;
pub mod oracle;
pub mod strategy;
pub mod world_yaml;
