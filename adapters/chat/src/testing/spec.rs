//! A request checker for fake platform servers: an OpenAPI 3 or Swagger
//! 2.0 document, and the JSON-schema subset platforms' documents use
//! (`$ref`, `allOf` / `oneOf` / `anyOf`, `const`, `enum`, types with
//! nullable lists, required and undocumented fields, lengths, snowflakes,
//! numeric bounds, item counts). Fakes answer a request that breaks it
//! with an error and keep the problem for the test to assert on.

use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// A platform's specification.
#[derive(Debug, Clone)]
pub struct Spec {
    root: Value,
}

impl Spec {
    /// Reads a specification (JSON) from a file; panics with the path
    /// when it is missing or not JSON (a test set-up error).
    pub fn load(path: &str) -> Spec {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("the specification {path} cannot be read: {e}"));
        Spec::from_value(
            serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("the specification {path} is not JSON: {e}")),
        )
    }

    /// A specification already parsed.
    pub fn from_value(root: Value) -> Spec {
        Spec { root }
    }

    /// The whole document.
    pub fn root(&self) -> &Value {
        &self.root
    }

    /// The path template matching a concrete path, and its path item: a
    /// literal segment beats a parameter (`@me`, `@original`).
    pub fn operation(&self, path: &str) -> Option<(String, Value)> {
        let paths = self.root["paths"].as_object()?;
        let s: Vec<&str> = path.trim_matches('/').split('/').collect();
        paths
            .iter()
            .filter(|(t, _)| {
                let p: Vec<&str> = t.trim_matches('/').split('/').collect();
                p.len() == s.len()
                    && p.iter()
                        .zip(&s)
                        .all(|(a, b)| (a.starts_with('{') && a.ends_with('}')) || a == b)
            })
            .max_by_key(|(t, _)| t.split('/').filter(|x| !x.starts_with('{')).count())
            .map(|(t, v)| (t.clone(), v.clone()))
    }

    /// A schema with its `$ref` followed.
    pub fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        match schema["$ref"].as_str() {
            Some(r) => {
                let mut node = &self.root;
                for part in r.trim_start_matches("#/").split('/') {
                    node = &node[part.replace("~1", "/").replace("~0", "~")];
                }
                self.resolve(node)
            }
            None => schema,
        }
    }

    /// Checks a value against a schema; problems go to `errs` as `path: what`.
    pub fn check(&self, schema: &Value, v: &Value, at: &str, errs: &mut Vec<String>) {
        self.check_with(schema, v, at, errs, &BTreeSet::new());
    }

    /// The property names a schema documents with those of the schemas it
    /// is composed of (`allOf`, through `$ref`s).
    fn composed_properties(&self, schema: &Value, out: &mut BTreeSet<String>, depth: usize) {
        if depth > 16 {
            return;
        }
        let schema = self.resolve(schema);
        if let Some(p) = schema["properties"].as_object() {
            out.extend(p.keys().cloned());
        }
        for s in schema["allOf"].as_array().into_iter().flatten() {
            self.composed_properties(s, out, depth + 1);
        }
    }

    /// [`Spec::check`], where `known` are fields documented by a schema this
    /// one is composed with (`allOf`): not "undocumented" here.
    fn check_with(
        &self,
        schema: &Value,
        v: &Value,
        at: &str,
        errs: &mut Vec<String>,
        known: &BTreeSet<String>,
    ) {
        if schema.get("$ref").is_some() {
            self.check_with(self.resolve(schema), v, at, errs, known);
        }
        let composed;
        let known = match schema["allOf"].as_array() {
            Some(_) => {
                let mut all = known.clone();
                self.composed_properties(schema, &mut all, 0);
                composed = all;
                &composed
            }
            None => known,
        };
        if let Some(all) = schema["allOf"].as_array() {
            for s in all {
                self.check_with(s, v, at, errs, known);
            }
        }
        for union in ["oneOf", "anyOf"] {
            if let Some(options) = schema[union].as_array() {
                let fits = options.iter().any(|s| {
                    let mut e = vec![];
                    self.check_with(s, v, at, &mut e, known);
                    e.is_empty()
                });
                if !fits {
                    errs.push(format!("{at}: matches none of the {union} schemas: {v}"));
                }
            }
        }
        if let Some(c) = schema.get("const") {
            if c != v {
                errs.push(format!("{at}: must be {c}, is {v}"));
            }
        }
        if let Some(options) = schema["enum"].as_array() {
            if !options.contains(v) {
                errs.push(format!("{at}: {v} is not one of {options:?}"));
            }
        }
        if v.is_null() && (schema["nullable"] == true || schema["x-nullable"] == true) {
            return;
        }
        let types: Vec<&str> = match &schema["type"] {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        if !types.is_empty() {
            let ok = types.iter().any(|t| match *t {
                "null" => v.is_null(),
                "string" => v.is_string(),
                "integer" => v.is_i64() || v.is_u64(),
                "number" => v.is_number(),
                "boolean" => v.is_boolean(),
                "array" => v.is_array(),
                "object" => v.is_object(),
                _ => true,
            });
            if !ok {
                errs.push(format!("{at}: {v} is not {}", types.join(" or ")));
                return;
            }
        }
        match v {
            Value::String(s) => {
                let n = s.chars().count() as u64;
                if schema["maxLength"].as_u64().is_some_and(|m| n > m) {
                    errs.push(format!("{at}: longer than {}", schema["maxLength"]));
                }
                if schema["minLength"].as_u64().is_some_and(|m| n < m) {
                    errs.push(format!("{at}: shorter than {}", schema["minLength"]));
                }
                if schema["format"] == "snowflake" && !s.chars().all(|c| c.is_ascii_digit()) {
                    errs.push(format!("{at}: {s} is not a snowflake"));
                }
            }
            Value::Number(n) => {
                let x = n.as_f64().unwrap_or(0.0);
                if schema["maximum"].as_f64().is_some_and(|m| x > m) {
                    errs.push(format!("{at}: above {}", schema["maximum"]));
                }
                if schema["minimum"].as_f64().is_some_and(|m| x < m) {
                    errs.push(format!("{at}: below {}", schema["minimum"]));
                }
            }
            Value::Array(items) => {
                if schema["maxItems"]
                    .as_u64()
                    .is_some_and(|m| items.len() as u64 > m)
                {
                    errs.push(format!("{at}: more than {} items", schema["maxItems"]));
                }
                if schema["minItems"]
                    .as_u64()
                    .is_some_and(|m| (items.len() as u64) < m)
                {
                    errs.push(format!("{at}: fewer than {} items", schema["minItems"]));
                }
                if let Some(item) = schema.get("items") {
                    for (i, x) in items.iter().enumerate() {
                        self.check(item, x, &format!("{at}[{i}]"), errs);
                    }
                }
            }
            Value::Object(fields) => {
                for r in schema["required"].as_array().into_iter().flatten() {
                    if let Some(name) = r.as_str() {
                        if !fields.contains_key(name) {
                            errs.push(format!("{at}: missing required `{name}`"));
                        }
                    }
                }
                if let Some(props) = schema["properties"].as_object() {
                    for (k, x) in fields {
                        match props.get(k) {
                            Some(s) => self.check(s, x, &format!("{at}.{k}"), errs),
                            None if known.contains(k) => {}
                            None => match schema.get("additionalProperties") {
                                Some(extra) if extra.is_object() => {
                                    self.check(extra, x, &format!("{at}.{k}"), errs)
                                }
                                Some(Value::Bool(true)) => {}
                                _ => errs.push(format!("{at}: undocumented field `{k}`")),
                            },
                        }
                    }
                } else if let Some(extra) =
                    schema.get("additionalProperties").filter(|e| e.is_object())
                {
                    for (k, x) in fields {
                        self.check(extra, x, &format!("{at}.{k}"), errs);
                    }
                }
            }
            _ => {}
        }
    }

    /// What the specification says of a request; empty when it conforms:
    /// the path and method exist, query parameters are documented, and a
    /// JSON body matches the operation's request schema (OpenAPI 3's
    /// `requestBody`, or Swagger 2.0's `in: body` parameter).
    pub fn problems(
        &self,
        method: &str,
        path: &str,
        query: &Map<String, Value>,
        body: &Value,
    ) -> Vec<String> {
        let Some((template, item)) = self.operation(path) else {
            return vec![format!(
                "{method} {path}: no such path in the specification"
            )];
        };
        let op = &item[method.to_lowercase()];
        if !op.is_object() {
            return vec![format!("{method} {template}: no such operation")];
        }
        let mut errs = vec![];
        let params: Vec<&Value> = op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(item["parameters"].as_array().into_iter().flatten())
            .map(|p| self.resolve(p))
            .collect();
        for k in query.keys() {
            if !params
                .iter()
                .any(|p| p["in"] == "query" && p["name"] == k.as_str())
            {
                errs.push(format!(
                    "{method} {template}: undocumented query parameter `{k}`"
                ));
            }
        }
        let (schema, required) = match params.iter().find(|p| p["in"] == "body") {
            Some(p) => (&p["schema"], p["required"] == true),
            None => (
                &op["requestBody"]["content"]["application/json"]["schema"],
                op["requestBody"]["required"] == true,
            ),
        };
        if schema.is_null() {
            if !body.is_null() {
                errs.push(format!("{method} {template}: takes no body"));
            }
        } else if body.is_null() {
            if required {
                errs.push(format!("{method} {template}: body required"));
            }
        } else {
            let mut e = vec![];
            self.check(schema, body, "body", &mut e);
            errs.extend(e.into_iter().map(|x| format!("{method} {template}: {x}")));
        }
        errs
    }
}

/// The specification in a file, read once per process:
/// `cached_spec!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/specs/x.json"))`.
#[macro_export]
macro_rules! cached_spec {
    ($path:expr) => {{
        static SPEC: std::sync::OnceLock<$crate::testing::Spec> = std::sync::OnceLock::new();
        SPEC.get_or_init(|| $crate::testing::Spec::load($path))
    }};
}
