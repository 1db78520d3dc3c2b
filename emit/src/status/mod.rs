//! Status write-back: the dataflow's status outputs (`OutputBatch::status_upserts` /
//! `status_deletes`) patched onto GatewayClasses, Gateways and HTTPRoutes.
//!
//! * [`patch`] (pure): the IR in the Kubernetes shape, merged with the object's current
//!   status (route `parents` of other controllers are kept), `lastTransitionTime` stamped and
//!   kept while a condition's status does not change, and the JSON merge patch.
//! * [`StatusWriter`]: keeps the desired status of every object and what the API server has,
//!   writes (`PATCH …/status`, merge patch, field manager `sluice`) only what changed, only
//!   while leader, through a [`TokenBucket`], re-reading and retrying on 409 Conflict.
//! * [`LeaderElector`]: a `coordination.k8s.io/v1` Lease loop (get / create / renew with
//!   `holderIdentity`, `leaseDurationSeconds` 15, renewed every 5 s, taken over once expired),
//!   publishing [`Leadership`].
//!
//! Sees only the IR and `DynamicObject`s: no dependency on `sluice-crds`.

mod bucket;
mod lease;
pub mod patch;
mod writer;

pub use bucket::TokenBucket;
pub use lease::{ElectorHandle, LeaderElector, Leadership, LeaseConfig};
pub use writer::{
    StatusWriter, StatusWriterConfig, WriteError, WriterStats, run_status_writer, status_resource,
};
