//! Failure signatures: the first meaningful line of an error with everything
//! that varies between occurrences masked, so that 200 identical failures are
//! one cluster.

use std::sync::LazyLock;

use regex_automata::meta::Regex;

/// What varies between occurrences of the same failure, in priority order (a
/// quoted value may contain anything below), and what replaces it.
const MASKS: [(&str, &str); 8] = [
    (
        r#""(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`|“[^”]*”"#,
        "<str>",
    ),
    (r"\b[a-z][a-z0-9+.-]*://[^\s)\]>]+", "<url>"),
    (
        r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
        "<uuid>",
    ),
    (
        r"(?:[A-Za-z]:)?(?:[./\\~][\w.@-]*)?(?:[/\\][\w.@-]+){2,}(?::\d+)*",
        "<path>",
    ),
    (r"\b[0-9a-fA-F]{8,}\b", "<hex>"),
    (r"\b\d{1,3}(?:\.\d{1,3}){3}\b", "<ip>"),
    (r"\d+(?:\.\d+)?", "<n>"),
    (r"\s+", " "),
];

/// All masks as one multi-pattern regex: one left-to-right pass, where at each
/// position the first mask in priority order that matches wins.
static MASKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new_many(&MASKS.map(|(p, _)| p)).unwrap_or_else(|e| unreachable!("static regex: {e}"))
});

/// The normalized signature of an error message: its first non-empty line
/// (skipping a bare `Error:`), quoted values, URLs, UUIDs, paths, hex ids and
/// numbers masked, at most 200 characters.
pub fn signature(message: &str) -> String {
    let line = message
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && *l != "Error:")
        .unwrap_or("");
    let mut out = String::with_capacity(line.len());
    let mut last = 0;
    for m in MASKER.find_iter(line) {
        out.push_str(&line[last..m.start()]);
        out.push_str(MASKS[m.pattern().as_usize()].1);
        last = m.end();
    }
    out.push_str(&line[last..]);
    let out = out.trim();
    match out.char_indices().nth(200) {
        Some((cut, _)) => out[..cut].to_owned(),
        None => out.to_owned(),
    }
}

/// A short stable id for a cluster key.
pub fn cluster_id(key: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(key.as_bytes());
    digest[..6].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variable_parts_are_masked() {
        assert_eq!(
            signature(
                "Error: page.goto: net::ERR_CONNECTION_REFUSED at http://127.0.0.1:33715/login\n\n  3 | x"
            ),
            "Error: page.goto: net::ERR_CONNECTION_REFUSED at <url>"
        );
        assert_eq!(
            signature("Test timeout of 10000ms exceeded."),
            "Test timeout of <n>ms exceeded."
        );
        assert_eq!(
            signature(
                "TimeoutError: locator.click: Timeout 30000ms exceeded waiting for locator('#a-1')"
            ),
            "TimeoutError: locator.click: Timeout <n>ms exceeded waiting for locator(<str>)"
        );
        assert_eq!(
            signature(
                "ENOENT: no such file or directory, open '/home/runner/work/app/.auth/user.json'"
            ),
            "ENOENT: no such file or directory, open <str>"
        );
        assert_eq!(
            signature("Error: ENOENT at /home/runner/work/app/tests/a.spec.ts:12:5 id 3f2a9c0b11"),
            "Error: ENOENT at <path> id <hex>"
        );
    }

    #[test]
    fn same_failure_same_signature() {
        let a = signature("Error: apiRequestContext.get: connect ECONNREFUSED 127.0.0.1:33715");
        let b = signature("Error: apiRequestContext.get: connect ECONNREFUSED 127.0.0.1:41000");
        assert_eq!(a, b);
        assert_eq!(cluster_id(&a), cluster_id(&b));
        assert_eq!(cluster_id(&a).len(), 12);
    }
}
