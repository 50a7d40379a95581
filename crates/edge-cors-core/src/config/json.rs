//! Reading the fields of JSON objects with their paths: serde's derived deserializers stop at
//! the first problem and lose the JSON path, so the raw configuration is read from a
//! `serde_json::Value` field by field, recording every missing, mistyped and unknown field with
//! its path and carrying on.

use serde_json::{Map, Value};

use super::error::{ConfigErrors, IssueKind};

/// A `(json path, value)` pair for each element of a string list.
pub(crate) type Entries = Vec<(String, String)>;

/// Reads the fields of one JSON object, recording type errors and, at [`Fields::finish`],
/// every field that was never asked for (unknown fields are errors, never ignored).
pub(crate) struct Fields<'v, 'e> {
    map: &'v Map<String, Value>,
    path: String,
    known: Vec<&'static str>,
    pub(crate) errors: &'e mut ConfigErrors,
}

impl<'v, 'e> Fields<'v, 'e> {
    pub(crate) fn new(v: &'v Value, path: &str, errors: &'e mut ConfigErrors) -> Option<Fields<'v, 'e>> {
        match v.as_object() {
            Some(map) => Some(Fields {
                map,
                path: path.to_string(),
                known: Vec::new(),
                errors,
            }),
            None => {
                errors.push(display_path(path), Some(v), IssueKind::NotAnObject { found: kind(v) });
                None
            }
        }
    }

    pub(crate) fn child(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    pub(crate) fn value(&mut self, key: &'static str) -> Option<&'v Value> {
        self.known.push(key);
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// The field `key` if it holds the JSON type `pick` accepts; a value of another type is an
    /// error naming `expected`, and so is a missing field when `required`.
    fn typed<T>(
        &mut self,
        key: &'static str,
        required: bool,
        expected: &'static str,
        pick: impl Fn(&'v Value) -> Option<T>,
    ) -> Option<T> {
        let path = self.child(key);
        let Some(v) = self.value(key) else {
            if required {
                self.errors.push(&path, None, IssueKind::Missing);
            }
            return None;
        };
        let picked = pick(v);
        if picked.is_none() {
            self.errors.push(
                &path,
                Some(v),
                IssueKind::WrongType {
                    expected,
                    found: kind(v),
                },
            );
        }
        picked
    }

    pub(crate) fn string(&mut self, key: &'static str, required: bool) -> Option<String> {
        self.typed(key, required, "a string", |v| v.as_str().map(str::to_string))
    }

    pub(crate) fn bool(&mut self, key: &'static str) -> Option<bool> {
        self.typed(key, false, "true or false", Value::as_bool)
    }

    pub(crate) fn array(&mut self, key: &'static str, required: bool) -> Option<&'v Vec<Value>> {
        self.typed(key, required, "a list", Value::as_array)
    }

    /// A list of strings, each paired with its JSON path; non-strings are errors.
    pub(crate) fn strings(&mut self, key: &'static str) -> Option<Entries> {
        let path = self.child(key);
        let list = self.array(key, false)?;
        let mut out = Vec::with_capacity(list.len());
        for (i, v) in list.iter().enumerate() {
            let p = format!("{path}[{i}]");
            match v {
                Value::String(s) => out.push((p, s.clone())),
                other => self.errors.push(
                    &p,
                    Some(other),
                    IssueKind::WrongType {
                        expected: "a string",
                        found: kind(other),
                    },
                ),
            }
        }
        Some(out)
    }

    /// Report every field that was not read.
    pub(crate) fn finish(self) {
        for (k, v) in self.map {
            if !self.known.contains(&k.as_str()) {
                let expected = self.known.join(", ");
                self.errors
                    .push(&self.child(k), Some(v), IssueKind::UnknownField { expected });
            }
        }
    }
}

fn display_path(path: &str) -> &str {
    if path.is_empty() {
        "$"
    } else {
        path
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}
