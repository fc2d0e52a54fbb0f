//! Reading a `bundle.json` someone else wrote: strict validation that names the
//! field at fault, shared by the CLI and the service.

use crate::model::{BUNDLE_SCHEMA, Bundle};

/// Why bytes are not a usable bundle. `field` is the JSON path of the value at
/// fault (`tests[3].status`), empty when the document as a whole is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}expected {expected}, found {found}", location(field))]
pub struct BundleError {
    /// JSON path of the bad value (`run.run_id`, `tests[2].attempts[0].status`).
    pub field: String,
    /// What a bundle has there.
    pub expected: String,
    /// What the document has instead.
    pub found: String,
}

fn location(field: &str) -> String {
    if field.is_empty() {
        String::new()
    } else {
        format!("`{field}`: ")
    }
}

impl BundleError {
    fn new(
        field: impl Into<String>,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> Self {
        BundleError {
            field: field.into(),
            expected: expected.into(),
            found: found.into(),
        }
    }
}

/// Parses and validates a bundle: JSON syntax, the schema version, every field's
/// type (unknown fields are errors), then what types cannot say: a run id that
/// is safe as a storage key, attempts from 1, counts that add up.
pub fn parse(bytes: &[u8]) -> Result<Bundle, BundleError> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        BundleError::new(
            "",
            "a ci-medic bundle (JSON)",
            format!(
                "{} (line {}, column {}: {})",
                crate::text::describe_content(bytes),
                e.line(),
                e.column(),
                e
            ),
        )
    })?;
    match value.get("schema") {
        Some(serde_json::Value::String(s)) if s == BUNDLE_SCHEMA => {}
        Some(serde_json::Value::String(s)) if s.starts_with("ci-medic/bundle/") => {
            return Err(BundleError::new(
                "schema",
                format!("{BUNDLE_SCHEMA:?} (this version reads v1 only)"),
                format!("{s:?}"),
            ));
        }
        Some(other) => {
            return Err(BundleError::new(
                "schema",
                format!("{BUNDLE_SCHEMA:?}"),
                crate::text::one_line(&other.to_string(), 80),
            ));
        }
        None if value.is_object() => {
            return Err(BundleError::new(
                "schema",
                format!("{BUNDLE_SCHEMA:?}"),
                "no schema field",
            ));
        }
        None => {
            return Err(BundleError::new(
                "",
                "a JSON object",
                json_kind(&value).to_owned(),
            ));
        }
    }
    let bundle: Bundle = serde_path_to_error::deserialize(value).map_err(|e| {
        let field = e.path().to_string();
        let field = if field == "." { String::new() } else { field };
        let inner = e.into_inner().to_string();
        // Missing and unknown fields are reported on their parent: name them.
        for (prefix, expected) in [
            ("missing field `", "this field"),
            ("unknown field `", "no such field"),
        ] {
            if let Some(name) = inner.strip_prefix(prefix).and_then(|r| r.split('`').next()) {
                let path = if field.is_empty() || field == name {
                    name.to_owned()
                } else if field.ends_with(&format!(".{name}")) {
                    field.clone()
                } else {
                    format!("{field}.{name}")
                };
                let found = if expected == "this field" {
                    "none".to_owned()
                } else {
                    format!("`{name}` ({inner})")
                };
                return BundleError::new(path, expected, found);
            }
        }
        // serde's messages read "invalid type: string \"x\", expected u32".
        match inner.split_once(", expected ") {
            Some((found, expected)) => BundleError::new(field, expected, found),
            None => BundleError::new(field, "a valid value", inner),
        }
    })?;
    check(&bundle)?;
    Ok(bundle)
}

/// What the types cannot say.
fn check(b: &Bundle) -> Result<(), BundleError> {
    if let Err(why) = check_run_id(&b.run.run_id) {
        return Err(BundleError::new(
            "run.run_id",
            RUN_ID_EXPECTED,
            format!("{:?} ({why})", crate::text::one_line(&b.run.run_id, 80)),
        ));
    }
    if b.run.run_attempt == 0 {
        return Err(BundleError::new(
            "run.run_attempt",
            "an attempt number from 1",
            "0",
        ));
    }
    if b.summary.tests != b.tests.len() {
        return Err(BundleError::new(
            "summary.tests",
            format!("the number of entries in `tests` ({})", b.tests.len()),
            b.summary.tests.to_string(),
        ));
    }
    if b.summary.run_errors != b.run_errors.len() {
        return Err(BundleError::new(
            "summary.run_errors",
            format!(
                "the number of entries in `run_errors` ({})",
                b.run_errors.len()
            ),
            b.summary.run_errors.to_string(),
        ));
    }
    for (i, t) in b.tests.iter().enumerate() {
        if t.id.trim().is_empty() {
            return Err(BundleError::new(
                format!("tests[{i}].id"),
                "a non-empty test id",
                "an empty string",
            ));
        }
    }
    Ok(())
}

/// What a run id may look like, for error messages.
pub const RUN_ID_EXPECTED: &str =
    "a run id of 1 to 128 letters, digits, '.', '_' or '-', not starting with '.'";

/// Checks that `id` is safe as one path segment of a storage key: no separators,
/// no `..`, nothing a filesystem or an object store would read specially.
pub fn check_run_id(id: &str) -> Result<(), &'static str> {
    if id.is_empty() {
        return Err("empty");
    }
    if id.len() > 128 {
        return Err("longer than 128 characters");
    }
    if id.starts_with('.') {
        return Err("starts with '.'");
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err("has a character other than letters, digits, '.', '_' and '-'");
    }
    Ok(())
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_that_could_escape_are_refused() {
        for id in [
            "", ".", "..", "../x", "a/b", "a\\b", ".hidden", "a b", "x%2F..", "é",
        ] {
            assert!(check_run_id(id).is_err(), "{id:?}");
        }
        for id in ["1234567890", "local-20261121T101010", "run_1.2"] {
            assert!(check_run_id(id).is_ok(), "{id:?}");
        }
    }

    #[test]
    fn not_json_says_where() {
        let e = parse(b"{\"schema\": ").expect_err("not JSON");
        assert_eq!(e.field, "");
        assert!(e.found.contains("line 1"), "{e}");
    }
}
