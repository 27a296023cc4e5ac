//! E-forms: each procedure version carries a JSON Schema (draft 2020-12). Pages are generated
//! from it and every submission is validated against it on the server.
//!
//! Sen renders a practical subset: an object of scalar properties (`string`, with `format:
//! date` or `enum`; `integer`; `number`; `boolean`), each with `title` (Vietnamese) and
//! `x-title-en`. Any valid JSON Schema is accepted for validation.

use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::HashMap;
use utoipa::ToSchema;

#[derive(Debug, thiserror::Error)]
pub enum EFormError {
    #[error("the e-form is not a valid JSON Schema: {0}")]
    InvalidSchema(String),
    #[error("the e-form must be an object schema with `properties`")]
    NotAnObject,
}

/// One error, placed at a field (`field` is empty for the form as a whole).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// The property name, e.g. `child_full_name`.
    pub field: String,
    /// The JSON pointer of the value, e.g. `/child_full_name`.
    pub pointer: String,
    /// The JSON Schema keyword that failed: `required`, `maxLength`, `format`, `enum`, …
    pub code: String,
    /// A human message (English; pages translate by `code`).
    pub message: String,
}

/// What a page needs to render one input.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldSpec {
    pub name: String,
    pub title_vi: String,
    pub title_en: String,
    pub kind: FieldKind,
    pub required: bool,
    pub max_length: Option<u64>,
    pub choices: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    Text,
    LongText,
    Date,
    Choice,
    Integer,
    Number,
    Boolean,
}

/// A compiled e-form.
pub struct EForm {
    schema: Value,
    validator: jsonschema::Validator,
    fields: Vec<FieldSpec>,
}

impl std::fmt::Debug for EForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EForm").field("fields", &self.fields).finish()
    }
}

impl EForm {
    pub fn compile(schema: Value) -> Result<Self, EFormError> {
        let validator = jsonschema::draft202012::options()
            .should_validate_formats(true)
            .build(&schema)
            .map_err(|e| EFormError::InvalidSchema(e.to_string()))?;
        let fields = field_specs(&schema)?;
        Ok(EForm { schema, validator, fields })
    }

    pub fn schema(&self) -> &Value {
        &self.schema
    }

    pub fn fields(&self) -> &[FieldSpec] {
        &self.fields
    }

    /// Validates form data; returns one error per failing field (the first for that field).
    pub fn validate(&self, data: &Value) -> Result<(), Vec<FieldError>> {
        let mut errors: Vec<FieldError> = Vec::new();
        for e in self.validator.iter_errors(data) {
            let pointer = e.instance_path().to_string();
            let code = e.kind().keyword().to_string();
            let field = if code == "required" {
                match e.kind() {
                    jsonschema::error::ValidationErrorKind::Required { property } => {
                        property.as_str().unwrap_or_default().to_string()
                    }
                    _ => String::new(),
                }
            } else {
                pointer.trim_start_matches('/').split('/').next().unwrap_or("").to_string()
            };
            if errors.iter().any(|x| x.field == field && !field.is_empty()) {
                continue;
            }
            let pointer = if code == "required" { format!("/{field}") } else { pointer };
            errors.push(FieldError { field, pointer, code, message: e.to_string() });
        }
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }

    /// Turns submitted HTML form values (all strings) into typed JSON following the schema.
    /// Empty inputs are left out, so `required` reports them. Values that do not parse are
    /// kept as strings, so the schema's `type` reports them.
    pub fn coerce_form(&self, values: &HashMap<String, String>) -> Value {
        let mut out = Map::new();
        for f in &self.fields {
            let raw = values.get(&f.name).map(|s| s.trim()).unwrap_or("");
            if f.kind == FieldKind::Boolean {
                out.insert(f.name.clone(), Value::Bool(matches!(raw, "on" | "true" | "1")));
                continue;
            }
            if raw.is_empty() {
                continue;
            }
            let v = match f.kind {
                FieldKind::Integer => raw.parse::<i64>().map(Value::from).unwrap_or_else(|_| raw.into()),
                FieldKind::Number => raw.parse::<f64>().map(Value::from).unwrap_or_else(|_| raw.into()),
                _ => Value::String(raw.to_string()),
            };
            out.insert(f.name.clone(), v);
        }
        Value::Object(out)
    }
}

fn field_specs(schema: &Value) -> Result<Vec<FieldSpec>, EFormError> {
    let props = schema.get("properties").and_then(Value::as_object).ok_or(EFormError::NotAnObject)?;
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    Ok(props
        .iter()
        .map(|(name, p)| {
            let s = |k: &str| p.get(k).and_then(Value::as_str).map(str::to_string);
            let max_length = p.get("maxLength").and_then(Value::as_u64);
            let choices: Vec<String> = p
                .get("enum")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
                .unwrap_or_default();
            let kind = match (s("type").as_deref(), s("format").as_deref()) {
                _ if !choices.is_empty() => FieldKind::Choice,
                (Some("string"), Some("date")) => FieldKind::Date,
                (Some("integer"), _) => FieldKind::Integer,
                (Some("number"), _) => FieldKind::Number,
                (Some("boolean"), _) => FieldKind::Boolean,
                (Some("string"), _) if max_length.unwrap_or(0) > 300 => FieldKind::LongText,
                _ => FieldKind::Text,
            };
            let title_vi = s("title").unwrap_or_else(|| name.clone());
            FieldSpec {
                name: name.clone(),
                title_en: s("x-title-en").unwrap_or_else(|| title_vi.clone()),
                title_vi,
                kind,
                required: required.contains(&name.as_str()),
                max_length,
                choices,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn form() -> EForm {
        EForm::compile(json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "required": ["name", "born"],
            "properties": {
                "name": {"type": "string", "title": "Họ và tên", "x-title-en": "Full name", "minLength": 1, "maxLength": 10},
                "born": {"type": "string", "format": "date", "title": "Ngày sinh"},
                "sex": {"type": "string", "enum": ["Nam", "Nữ"], "title": "Giới tính"},
                "copies": {"type": "integer", "minimum": 1, "maximum": 10, "title": "Số bản sao"}
            }
        }))
        .unwrap()
    }

    #[test]
    fn specs_follow_the_schema_order() {
        let f = form();
        let names: Vec<_> = f.fields().iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["name", "born", "sex", "copies"]);
        assert_eq!(f.fields()[1].kind, FieldKind::Date);
        assert_eq!(f.fields()[2].kind, FieldKind::Choice);
        assert!(f.fields()[0].required);
    }

    #[test]
    fn one_error_per_field() {
        let f = form();
        let mut v = HashMap::new();
        v.insert("name".to_string(), "a name far too long".to_string());
        v.insert("sex".to_string(), "X".to_string());
        v.insert("copies".to_string(), "many".to_string());
        let errs = f.validate(&f.coerce_form(&v)).unwrap_err();
        let mut fields: Vec<_> = errs.iter().map(|e| (e.field.as_str(), e.code.as_str())).collect();
        fields.sort();
        assert_eq!(fields, [("born", "required"), ("copies", "type"), ("name", "maxLength"), ("sex", "enum")]);
    }

    #[test]
    fn dates_are_checked() {
        let f = form();
        assert!(f.validate(&json!({"name": "An", "born": "2024-02-30"})).is_err());
        assert!(f.validate(&json!({"name": "An", "born": "2024-02-29"})).is_ok());
    }
}
