//! A single-pass view of one input row: only the fields the checks need are kept, everything
//! else is skipped while serde_json still validates its syntax. Nothing is built for `messages`
//! or other large request parts, which is what keeps validation fast.

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::borrow::Cow;
use std::fmt;

/// A field value as far as the checks care: a string, or the JSON kind it was instead.
#[derive(Debug, PartialEq)]
pub(crate) enum Scalar<'a> {
    Str(Cow<'a, str>),
    Other(&'static str),
}

/// The request body: an object (with its `model`, if any) or the JSON kind it was instead.
#[derive(Debug, PartialEq)]
pub(crate) enum Body<'a> {
    Object { model: Option<Scalar<'a>> },
    Other(&'static str),
}

/// The top-level fields of one row.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Request<'a> {
    pub custom_id: Option<Scalar<'a>>,
    pub method: Option<Scalar<'a>>,
    pub url: Option<Scalar<'a>>,
    pub body: Option<Body<'a>>,
}

/// A row: an object, or the JSON kind it was instead.
#[derive(Debug, PartialEq)]
pub(crate) enum Row<'a> {
    Object(Request<'a>),
    Other(&'static str),
}

/// Parses one line (without its newline). Duplicate keys keep the last value, as `JSON.parse` does.
///
/// The whole line is checked as UTF-8 first: serde_json does not check the bytes of strings it
/// skips, and the gateway would reject them.
pub(crate) fn parse(line: &[u8]) -> Result<Row<'_>, String> {
    let text = std::str::from_utf8(line).map_err(|e| {
        format!(
            "row is not valid UTF-8 (bad byte at column {}); save the file as UTF-8",
            e.valid_up_to() + 1
        )
    })?;
    serde_json::from_str(text).map_err(|e| format!("row is not valid JSON: {e}"))
}

enum Key {
    CustomId,
    Method,
    Url,
    Body,
    Model,
    Other,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                Ok(match v {
                    "custom_id" => Key::CustomId,
                    "method" => Key::Method,
                    "url" => Key::Url,
                    "body" => Key::Body,
                    "model" => Key::Model,
                    _ => Key::Other,
                })
            }
        }
        d.deserialize_identifier(V)
    }
}

/// Drains a sequence or map so its syntax is still checked.
fn drain_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

fn drain_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

/// Implements the non-object visitor methods by naming the JSON kind found.
macro_rules! other_kinds {
    ($out:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($out("boolean"))
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($out("number"))
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($out("number"))
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($out("number"))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($out("null"))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            drain_seq(seq)?;
            Ok($out("array"))
        }
    };
}

impl<'de> Deserialize<'de> for Scalar<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Scalar<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Scalar::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Scalar::Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Scalar::Str(Cow::Owned(v)))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                drain_map(map)?;
                Ok(Scalar::Other("object"))
            }
            other_kinds!(Scalar::Other);
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Body<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Body<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Body::Other("string"))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut model = None;
                while let Some(key) = map.next_key::<Key>()? {
                    match key {
                        Key::Model => model = Some(map.next_value::<Scalar<'de>>()?),
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(Body::Object { model })
            }
            other_kinds!(Body::Other);
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Row<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Row<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Row::Other("string"))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut req = Request::default();
                while let Some(key) = map.next_key::<Key>()? {
                    match key {
                        Key::CustomId => req.custom_id = Some(map.next_value()?),
                        Key::Method => req.method = Some(map.next_value()?),
                        Key::Url => req.url = Some(map.next_value()?),
                        Key::Body => req.body = Some(map.next_value()?),
                        Key::Model | Key::Other => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(Row::Object(req))
            }
            other_kinds!(Row::Other);
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn keeps_only_checked_fields_and_borrows_plain_strings() {
        let row = parse(br#"{"custom_id":"a","x":[1,{"y":2}],"body":{"model":"m","messages":[]},"method":"POST","url":"/v1/chat/completions"}"#).unwrap();
        let Row::Object(req) = row else {
            panic!("not an object")
        };
        assert_eq!(req.custom_id, Some(Scalar::Str(Cow::Borrowed("a"))));
        assert_eq!(
            req.body,
            Some(Body::Object {
                model: Some(Scalar::Str("m".into()))
            })
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn decodes_escaped_strings_and_names_wrong_kinds() {
        let Row::Object(req) = parse(br#"{"custom_id":"a\u00e9","method":1,"body":[]}"#).unwrap()
        else {
            panic!("not an object")
        };
        assert_eq!(req.custom_id, Some(Scalar::Str("a\u{e9}".into())));
        assert_eq!(req.method, Some(Scalar::Other("number")));
        assert_eq!(req.body, Some(Body::Other("array")));
        assert_eq!(parse(b"[1]").unwrap(), Row::Other("array"));
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn rejects_invalid_syntax_inside_skipped_fields() {
        assert!(parse(br#"{"custom_id":"a","x":[1,}"#).is_err());
        assert!(parse(br#"{"custom_id":"a"} trailing"#).is_err());
        assert!(parse(b"{\"x\":\"\xff\"}").is_err());
    }
}
