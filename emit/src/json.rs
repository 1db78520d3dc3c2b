//! Proto3 JSON of Envoy resources, in Envoy's own form (proto field names, as in a config
//! dump), `Any` fields included: `typed_config` renders as `{"@type": …, …}`.
//!
//! prost messages carry no descriptors, so rendering goes through prost-reflect over the
//! descriptor set envoy-types ships (`src/generated/types.bin`, copied by `build.rs`); it
//! describes exactly the messages envoy-types compiled, so every type we build can be rendered.

use std::sync::OnceLock;

use prost::{Message, Name};
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor, SerializeOptions};
use serde_json::Value;
use sluice_dataflow::ir::Resource;

use crate::convert::to_any;

static ENVOY_DESCRIPTORS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/envoy_types.bin"));

#[derive(Debug, thiserror::Error)]
pub enum JsonError {
    #[error("unknown message type {0:?}")]
    UnknownType(String),
    #[error("decoding {type_name}: {source}")]
    Decode {
        type_name: String,
        source: prost::DecodeError,
    },
    #[error("rendering json: {0}")]
    Render(serde_json::Error),
    #[error("parsing json: {0}")]
    Parse(serde_json::Error),
}

/// Every message envoy-types knows, decoded once (~3 MB of descriptors).
pub fn descriptor_pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| {
        DescriptorPool::decode(ENVOY_DESCRIPTORS).expect("envoy-types ships a valid descriptor set")
    })
}

fn message_descriptor(full_name: &str) -> Result<MessageDescriptor, JsonError> {
    descriptor_pool()
        .get_message_by_name(full_name)
        .ok_or_else(|| JsonError::UnknownType(full_name.to_string()))
}

fn options() -> SerializeOptions {
    SerializeOptions::new()
        .skip_default_fields(true)
        .use_proto_field_name(true)
}

fn render(message: &DynamicMessage) -> Result<Value, JsonError> {
    message
        .serialize_with_options(serde_json::value::Serializer, &options())
        .map_err(JsonError::Render)
}

/// The resource as a config dump shows it, `@type` first.
pub fn resource_json(resource: &Resource) -> Value {
    try_any_json(&to_any(resource))
        .expect("a converted resource is an envoy-types message, so it always renders")
}

/// An `Any` as JSON, with `@type`. Never fails: a type the descriptor set does not know, or
/// bytes that do not decode, render as `{"@type": …, "@error": …}`, since this feeds debug
/// output where a partial answer beats none. `try_any_json` reports the error instead.
pub fn any_json(any: &prost_types::Any) -> Value {
    try_any_json(any)
        .unwrap_or_else(|e| serde_json::json!({ "@type": any.type_url, "@error": e.to_string() }))
}

pub fn try_any_json(any: &prost_types::Any) -> Result<Value, JsonError> {
    let type_name = any.type_url.rsplit('/').next().unwrap_or_default();
    // Decode the payload first for a precise error; prost-reflect's own message for a bad `Any`
    // inside serialization is less clear.
    DynamicMessage::decode(message_descriptor(type_name)?, any.value.as_slice()).map_err(
        |source| JsonError::Decode {
            type_name: type_name.to_string(),
            source,
        },
    )?;
    render(&any_message(any)?)
}

fn any_message(any: &prost_types::Any) -> Result<DynamicMessage, JsonError> {
    let name = prost_types::Any::full_name();
    DynamicMessage::decode(message_descriptor(&name)?, any.encode_to_vec().as_slice()).map_err(
        |source| JsonError::Decode {
            type_name: name,
            source,
        },
    )
}

/// Any envoy-types message (not wrapped in `Any`, so no `@type`), e.g. a `Bootstrap`.
pub fn message_json<M: Message + Name>(message: &M) -> Result<Value, JsonError> {
    let name = M::full_name();
    let dynamic = DynamicMessage::decode(
        message_descriptor(&name)?,
        message.encode_to_vec().as_slice(),
    )
    .map_err(|source| JsonError::Decode {
        type_name: name,
        source,
    })?;
    render(&dynamic)
}

/// The reverse of `any_json`: `{"@type": …, …}` (proto or JSON field names) to an `Any`.
pub fn any_from_json(value: &Value) -> Result<prost_types::Any, JsonError> {
    let name = prost_types::Any::full_name();
    let dynamic =
        DynamicMessage::deserialize(message_descriptor(&name)?, value).map_err(JsonError::Parse)?;
    prost_types::Any::decode(dynamic.encode_to_vec().as_slice()).map_err(|source| {
        JsonError::Decode {
            type_name: name,
            source,
        }
    })
}
