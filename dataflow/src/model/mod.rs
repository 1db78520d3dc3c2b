//! Our own ordered records: what `lower` makes of each Kubernetes object and what the dataflow
//! (and the naive translator) consume. Everything here is `Ord` (differential dataflow needs
//! it), carries interned keys, and holds no floats.
//!
//! Per-object facts are settled in `lower` (defaults, parsing, listener conflicts, invalid
//! rules); every fact that needs two objects is left to the translators.

mod backend;
mod gateway;
mod grant;
mod listener_policy;
mod policy;
mod route;
mod selector;
mod sym;

pub use backend::*;
pub use gateway::*;
pub use grant::*;
pub use listener_policy::*;
pub use policy::*;
pub use route::*;
pub use selector::*;
pub use sym::*;
