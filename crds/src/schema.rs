//! Schema helpers for fields kept as raw JSON.

use schemars::{Schema, SchemaGenerator, json_schema};

/// Schema for an object field stored as [`serde_json::Value`]: any content is kept.
pub(crate) fn preserve_unknown_fields(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true,
    })
}

/// Schema for a list of objects stored as [`serde_json::Value`]s.
pub(crate) fn preserve_unknown_fields_list(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "array",
        "items": {
            "type": "object",
            "x-kubernetes-preserve-unknown-fields": true,
        },
    })
}
