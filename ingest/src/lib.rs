//! Sources of objects for sluice, and their translation into dataflow input events.
//!
//! This crate owns where objects come from: a directory of YAML/JSON manifests
//! ([`load`], later watched for changes) and, later, Kubernetes watchers; and how what they
//! report becomes `InputEvent` batches for `sluice-dataflow`: per-object differences,
//! relist reconciliation, batching windows.
//!
//! It decodes objects with `sluice-crds` and hands them on; it does not interpret them
//! (attachment, validation, precedence are the dataflow's) and knows nothing about xDS.

pub mod dir;
pub mod kube;
pub mod load;
pub mod records;
pub mod translate;
pub mod watch;
