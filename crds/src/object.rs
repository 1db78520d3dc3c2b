//! [`Object`]: any supported Kubernetes object, decoded from an untyped document.

mod kind;
mod object_ref;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use kind::Kind;
pub use object_ref::ObjectRef;

use crate::core::{EndpointSlice, Namespace, Secret, Service};
use crate::gateway_api::{
    BackendTLSPolicy, GRPCRoute, Gateway, GatewayClass, HTTPRoute, ListenerSet, ReferenceGrant,
    TCPRoute, TLSRoute,
};
use crate::kgateway::{
    Backend, BackendConfigPolicy, DirectResponse, GatewayExtension, GatewayParameters,
    HTTPListenerPolicy, ListenerPolicy, TrafficPolicy,
};

/// Why a document could not be decoded: the offending field (`spec.listeners[0].port`), if
/// known, and serde's message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", field.as_deref().map(|f| format!("{f}: ")).unwrap_or_default())]
pub struct ObjectError {
    pub field: Option<String>,
    pub message: String,
}

impl ObjectError {
    fn at(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: Some(field.to_owned()),
            message: message.into(),
        }
    }
}

macro_rules! objects {
    ($($variant:ident),* $(,)?) => {
        /// One object of a supported kind. Serializes as the Kubernetes document.
        #[derive(Clone, Debug, PartialEq, Serialize)]
        #[serde(untagged)]
        pub enum Object {
            $($variant($variant),)*
        }

        impl Object {
            /// The object's kind.
            pub fn kind(&self) -> Kind {
                match self {
                    $(Object::$variant(_) => Kind::$variant,)*
                }
            }

            /// The object's metadata.
            pub fn meta(&self) -> &ObjectMeta {
                match self {
                    $(Object::$variant(o) => &o.metadata,)*
                }
            }

            /// The object's metadata, mutably.
            pub fn meta_mut(&mut self) -> &mut ObjectMeta {
                match self {
                    $(Object::$variant(o) => &mut o.metadata,)*
                }
            }

            fn decode(kind: Kind, value: serde_json::Value) -> Result<Object, ObjectError> {
                match kind {
                    $(Kind::$variant => decode(value).map(Object::$variant),)*
                }
            }
        }

        $(
            impl From<$variant> for Object {
                fn from(o: $variant) -> Self {
                    Object::$variant(o)
                }
            }
        )*
    };
}

objects!(
    GatewayClass,
    Gateway,
    ListenerSet,
    HTTPRoute,
    GRPCRoute,
    TLSRoute,
    TCPRoute,
    ReferenceGrant,
    BackendTLSPolicy,
    Service,
    EndpointSlice,
    Secret,
    Namespace,
    TrafficPolicy,
    ListenerPolicy,
    HTTPListenerPolicy,
    Backend,
    BackendConfigPolicy,
    GatewayExtension,
    GatewayParameters,
    DirectResponse,
);

impl Object {
    /// Decodes a document (a JSON/YAML object with `apiVersion` and `kind`).
    ///
    /// `Ok(None)` for kinds sluice does not read (Deployments, ConfigMaps, UDPRoutes, …).
    /// Gateway API documents of any version the CRDs define decode into the typed (`v1`)
    /// representation. As the API server does, `null` fields are dropped and CRD defaults
    /// applied. Errors name the offending field; a missing or empty `metadata.name` is an
    /// error.
    pub fn from_value(mut value: serde_json::Value) -> Result<Option<Object>, ObjectError> {
        let Some(map) = value.as_object() else {
            return Err(ObjectError {
                field: None,
                message: "expected a mapping".to_owned(),
            });
        };
        let type_field = |field: &str| match map.get(field) {
            Some(serde_json::Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(ObjectError::at(field, "expected a string")),
            None => Err(ObjectError::at(field, format!("missing field `{field}`"))),
        };
        let api_version = type_field("apiVersion")?;
        let kind = type_field("kind")?;
        let Some(kind) = Kind::from_type_meta(&api_version, &kind) else {
            return Ok(None);
        };
        drop_nulls(&mut value);
        if value.get("metadata").is_none() {
            return Err(ObjectError::at("metadata.name", "missing field `name`"));
        }
        let object = Object::decode(kind, value)?;
        if object.meta().name.as_deref().is_none_or(str::is_empty) {
            return Err(ObjectError::at("metadata.name", "missing field `name`"));
        }
        Ok(Some(object))
    }

    /// The object's identity. The namespace is `metadata.namespace` as is (`None` for
    /// cluster-scoped kinds).
    pub fn obj_ref(&self) -> ObjectRef {
        let meta = self.meta();
        let kind = self.kind();
        let namespace = if kind.is_namespaced() {
            meta.namespace.clone()
        } else {
            None
        };
        ObjectRef {
            kind,
            namespace,
            name: meta.name.clone().unwrap_or_default(),
        }
    }
}

fn decode<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ObjectError> {
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let message = err.inner().to_string();
        // serde reports a missing field at its parent; point at the field itself.
        let missing = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split_once('`'))
            .map(|(name, _)| name.to_owned());
        let field = match (path.as_str(), missing) {
            (".", None) => None,
            (".", Some(name)) => Some(name),
            (_, None) => Some(path),
            (_, Some(name)) => Some(format!("{path}.{name}")),
        };
        ObjectError { field, message }
    })
}

/// Removes `null` members of every mapping, as the API server prunes them before defaulting.
fn drop_nulls(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(drop_nulls);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}
