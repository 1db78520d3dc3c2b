//! Objects to dataflow records: `lower` applied to each object, with problems reported per
//! object instead of failing the batch.

use sluice_crds::{Object, ObjectRef};
use sluice_dataflow::input::Record;
use sluice_dataflow::lower::{Lowered, lower};

/// An object `lower` rejected: which one and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LowerProblem {
    pub object: ObjectRef,
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for LowerProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}: {}", self.object, self.field, self.message)
    }
}

/// Lowers one object: `Ok(None)` for kinds the dataflow does not consume.
pub fn lower_one(o: &Object) -> Result<Option<Record>, LowerProblem> {
    match lower(o) {
        Lowered::Record(r) => Ok(Some(r)),
        Lowered::Unsupported => Ok(None),
        Lowered::Invalid(e) => Err(LowerProblem {
            object: o.obj_ref(),
            field: e.field,
            message: e.message,
        }),
    }
}

/// Lowers every object; kinds the dataflow does not consume are skipped.
pub fn lower_objects<'a>(
    objects: impl IntoIterator<Item = &'a Object>,
) -> (Vec<Record>, Vec<LowerProblem>) {
    let mut records = Vec::new();
    let mut problems = Vec::new();
    for o in objects {
        match lower_one(o) {
            Ok(Some(r)) => records.push(r),
            Ok(None) => {}
            Err(p) => problems.push(p),
        }
    }
    (records, problems)
}
