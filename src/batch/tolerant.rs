//! Tolerant wire structs: every modelled field is optional, and anything this version does not
//! understand is kept verbatim.
//!
//! A newer gateway may add fields, or send a known field with a type we did not expect. Neither
//! may break parsing, and neither may be lost when the object is stored and written back. The
//! [`tolerant_struct!`] macro therefore generates, from one field list:
//! - a struct whose modelled fields are all `Option<T>`, plus an `extra` map;
//! - a `Deserialize` that accepts any JSON object: a field whose value does not fit its type
//!   (including `null`) is moved into `extra` under its own key instead of failing the object;
//! - a `Serialize` that writes the modelled fields and then `extra`, skipping an `extra` entry
//!   only when the modelled field of the same name is set (so a value set in code wins and no
//!   key is ever written twice);
//! - a `Debug` that redacts the values of unknown keys that look like secrets.
//!
//! Round trip guarantee: for any JSON object `v`, `to_value(from_value(v)) == v` as a JSON value,
//! apart from known enum fields whose aliases are canonicalised (documented on the enum). Key
//! order: modelled fields are written first, then the kept ones in their original order, so the
//! first write-back fixes the order and every later one is byte-identical.

use serde_json::{Map, Value};

/// Returns a short name of a JSON value's type, for error messages.
pub(crate) fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Whether an unknown key's value must not be shown in `Debug` output.
fn is_sensitive_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    [
        "secret",
        "token",
        "password",
        "authorization",
        "api_key",
        "apikey",
    ]
    .iter()
    .any(|needle| key.contains(needle))
}

/// `Debug` view of an `extra` map with sensitive values replaced by `[REDACTED]`.
pub(crate) struct RedactedExtra<'a>(pub(crate) &'a Map<String, Value>);

impl core::fmt::Debug for RedactedExtra<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut map = f.debug_map();
        for (key, value) in self.0 {
            if is_sensitive_key(key) {
                map.entry(key, &"[REDACTED]");
            } else {
                map.entry(key, value);
            }
        }
        map.finish()
    }
}

/// Generates a tolerant wire struct; see the module docs for the generated behaviour.
///
/// Syntax: `pub struct Name { /// doc \n field: Type = "wire_name", … }`.
macro_rules! tolerant_struct {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[$fmeta:meta])*
                $field:ident : $ty:ty = $key:literal
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Default, PartialEq)]
        pub struct $name {
            $(
                $(#[$fmeta])*
                pub $field: Option<$ty>,
            )*
            /// Fields this version does not model, and modelled fields whose value had an
            /// unexpected type (or was `null`), kept verbatim and written back unchanged.
            pub extra: serde_json::Map<String, serde_json::Value>,
        }

        impl $name {
            /// The wire names of the fields this type models.
            pub const KNOWN_FIELDS: &'static [&'static str] = &[$($key),*];

            /// Builds the struct from a JSON object, moving every value that does not fit its
            /// field's type into `extra`.
            pub fn from_map(mut map: serde_json::Map<String, serde_json::Value>) -> Self {
                let mut out = Self::default();
                $(
                    if let Some(value) = map.shift_remove($key) {
                        match <$ty as serde::Deserialize>::deserialize(&value) {
                            Ok(parsed) => out.$field = Some(parsed),
                            Err(_) => {
                                out.extra.insert($key.to_owned(), value);
                            }
                        }
                    }
                )*
                out.extra.extend(map);
                out
            }

            /// Whether `key` is a modelled field that currently holds a value.
            fn field_is_set(&self, key: &str) -> bool {
                match key {
                    $( $key => self.$field.is_some(), )*
                    _ => false,
                }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeMap;
                let mut map = serializer.serialize_map(None)?;
                $(
                    if let Some(value) = &self.$field {
                        map.serialize_entry($key, value)?;
                    }
                )*
                for (key, value) in &self.extra {
                    if !self.field_is_set(key) {
                        map.serialize_entry(key, value)?;
                    }
                }
                map.end()
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                match <serde_json::Value as serde::Deserialize>::deserialize(deserializer)? {
                    serde_json::Value::Object(map) => Ok(Self::from_map(map)),
                    other => Err(<D::Error as serde::de::Error>::custom(format_args!(
                        "expected a JSON object for {}, found {}",
                        stringify!($name),
                        $crate::batch::tolerant::json_type_name(&other)
                    ))),
                }
            }
        }

        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                let mut out = f.debug_struct(stringify!($name));
                $(
                    if let Some(value) = &self.$field {
                        out.field(stringify!($field), value);
                    }
                )*
                if !self.extra.is_empty() {
                    out.field("extra", &$crate::batch::tolerant::RedactedExtra(&self.extra));
                }
                out.finish()
            }
        }
    };
}

pub(crate) use tolerant_struct;
