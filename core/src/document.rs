//! Reading a versioned JSON document another stage wrote (analysis, heal
//! report, fix metadata, history): JSON syntax, then the `schema` id, then every
//! field, each error naming where it is and what was expected.

use serde::de::DeserializeOwned;

/// Why bytes are not the document they should be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}: {}expected {expected}, found {found}", at(field))]
pub struct DocumentError {
    /// Where the bytes came from (a path or a URL).
    pub origin: String,
    /// JSON path of the bad value, empty when the document as a whole is wrong.
    pub field: String,
    /// What belongs there.
    pub expected: String,
    /// What is there instead.
    pub found: String,
}

fn at(field: &str) -> String {
    if field.is_empty() {
        String::new()
    } else {
        format!("at `{field}`: ")
    }
}

/// Parses `bytes` as a `schema` document (`ci-medic/analysis/v1`). A document of
/// the same kind with another major version is refused by name, so an old
/// reader never half-understands a newer writer.
pub fn parse<T: DeserializeOwned>(
    bytes: &[u8],
    schema: &str,
    origin: &str,
) -> Result<T, DocumentError> {
    let err = |field: &str, expected: String, found: String| DocumentError {
        origin: origin.to_owned(),
        field: field.to_owned(),
        expected,
        found,
    };
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        err(
            "",
            format!("a {schema} document (JSON)"),
            format!(
                "{} (line {}, column {}: {e})",
                crate::text::describe_content(bytes),
                e.line(),
                e.column()
            ),
        )
    })?;
    let kind = schema.rsplit_once('/').map_or(schema, |(kind, _)| kind);
    match value.get("schema") {
        Some(serde_json::Value::String(s)) if s == schema => {}
        Some(serde_json::Value::String(s)) if s.starts_with(&format!("{kind}/")) => {
            return Err(err(
                "schema",
                format!("{schema:?}"),
                format!("{s:?}, a version this build of ci-medic does not read"),
            ));
        }
        Some(other) => {
            return Err(err("schema", format!("{schema:?}"), other.to_string()));
        }
        None => {
            return Err(err(
                "schema",
                format!("{schema:?}"),
                "no `schema` field (not a ci-medic document?)".to_owned(),
            ));
        }
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let field = e.path().to_string();
        let inner = e.into_inner().to_string();
        err(&field, "a valid value".to_owned(), inner)
    })
}

/// Reads and parses the document at `path`.
pub fn read<T: DeserializeOwned>(path: &std::path::Path, schema: &str) -> Result<T, DocumentError> {
    let bytes = read_bytes(path, schema)?;
    parse(&bytes, schema, &path.display().to_string())
}

/// The bytes of the `schema` document at `path`, for readers that parse
/// more than one version.
pub fn read_bytes(path: &std::path::Path, schema: &str) -> Result<Vec<u8>, DocumentError> {
    std::fs::read(path).map_err(|e| DocumentError {
        origin: path.display().to_string(),
        field: String::new(),
        expected: format!("a readable {schema} file"),
        found: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Doc {
        schema: String,
        count: u32,
    }

    const SCHEMA: &str = "ci-medic/doc/v1";

    #[test]
    fn reads_a_document_of_its_version() {
        let doc: Doc = parse(
            br#"{"schema":"ci-medic/doc/v1","count":3}"#,
            SCHEMA,
            "d.json",
        )
        .expect("valid");
        assert_eq!(doc.count, 3);
    }

    #[test]
    fn names_another_major_version() {
        let e = parse::<Doc>(
            br#"{"schema":"ci-medic/doc/v2","count":3}"#,
            SCHEMA,
            "d.json",
        )
        .expect_err("v2");
        assert_eq!(e.field, "schema");
        assert!(e.to_string().contains("does not read"), "{e}");
        let e = parse::<Doc>(br#"{"schema":"other/v1"}"#, SCHEMA, "d.json").expect_err("other");
        assert!(e.to_string().contains("\"other/v1\""), "{e}");
        let e = parse::<Doc>(br#"{"count":1}"#, SCHEMA, "d.json").expect_err("none");
        assert!(e.to_string().contains("no `schema` field"), "{e}");
    }

    #[test]
    fn names_the_bad_field_and_the_origin() {
        let e = parse::<Doc>(
            br#"{"schema":"ci-medic/doc/v1","count":"three"}"#,
            SCHEMA,
            "out/d.json",
        )
        .expect_err("bad count");
        assert_eq!(e.field, "count");
        let text = e.to_string();
        assert!(text.starts_with("out/d.json: at `count`:"), "{text}");
        assert!(text.contains("u32"), "{text}");
    }

    #[test]
    fn says_what_non_json_looks_like() {
        let e = parse::<Doc>(b"<html>nope</html>", SCHEMA, "https://x/h.json").expect_err("html");
        assert!(
            e.to_string().contains("ci-medic/doc/v1 document (JSON)"),
            "{e}"
        );
    }
}
