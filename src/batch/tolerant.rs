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

/// How a modelled field takes its value out of the parsed JSON: the value itself when it fits
/// the field's type, or the value back, untouched, for `extra`.
///
/// Strings, objects, arrays and nested tolerant structs move out of the value; the rest are
/// read from a borrow. (A borrow is what serde offers, but reading a nested object from one
/// copies the whole tree first: a webhook event's `data` batch, on every delivery.)
pub(crate) trait FieldValue: Sized {
    /// `Ok` with the field's value when `value` fits, else `Err(value)`.
    fn take(value: Value) -> Result<Self, Value>;
}

impl FieldValue for String {
    fn take(value: Value) -> Result<Self, Value> {
        match value {
            Value::String(s) => Ok(s),
            other => Err(other),
        }
    }
}

impl FieldValue for Map<String, Value> {
    fn take(value: Value) -> Result<Self, Value> {
        match value {
            Value::Object(map) => Ok(map),
            other => Err(other),
        }
    }
}

impl FieldValue for Vec<Value> {
    fn take(value: Value) -> Result<Self, Value> {
        match value {
            Value::Array(items) => Ok(items),
            other => Err(other),
        }
    }
}

impl FieldValue for Value {
    fn take(value: Value) -> Result<Self, Value> {
        Ok(value)
    }
}

/// `FieldValue` through serde, from a borrow: for types that own nothing big.
macro_rules! field_value_by_serde {
    ($($ty:ty),* $(,)?) => {
        $(
            impl $crate::batch::tolerant::FieldValue for $ty {
                fn take(value: serde_json::Value) -> Result<Self, serde_json::Value> {
                    <$ty as serde::Deserialize>::deserialize(&value).map_err(|_| value)
                }
            }
        )*
    };
}
pub(crate) use field_value_by_serde;

field_value_by_serde!(bool, u16, u32, i64, u64, serde_json::Number, Vec<String>);

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
            /// field's type into `extra`. One pass over the object, in its order: `extra`
            /// keeps its entries in the order they came.
            pub fn from_map(map: serde_json::Map<String, serde_json::Value>) -> Self {
                let mut out = Self::default();
                for (key, value) in map {
                    let kept = match key.as_str() {
                        $(
                            $key => match <$ty as $crate::batch::tolerant::FieldValue>::take(value) {
                                Ok(parsed) => {
                                    out.$field = Some(parsed);
                                    continue;
                                }
                                Err(value) => value,
                            },
                        )*
                        _ => value,
                    };
                    out.extra.insert(key, kept);
                }
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

        impl $crate::batch::tolerant::FieldValue for $name {
            fn take(value: serde_json::Value) -> Result<Self, serde_json::Value> {
                match value {
                    serde_json::Value::Object(map) => Ok(Self::from_map(map)),
                    other => Err(other),
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
