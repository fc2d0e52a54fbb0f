//! DOM snapshots from Playwright's `trace.zip`.
//!
//! A trace holds one `<n>-trace.trace` JSON-lines file per browser context;
//! `frame-snapshot` events carry the DOM as nested arrays: a text node is a
//! string, an element is `[tag, {attrs}, ...children]`, and `[[n, i]]` refers to
//! node `i` (counted post-order over non-reference nodes) of the snapshot taken
//! `n` snapshots earlier in the same frame. This module resolves those
//! references and writes the page as HTML.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use serde_json::Value;

/// Why a trace could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// The file could not be opened or is not a zip archive.
    #[error("{path}: not a readable trace.zip: {message}")]
    Archive {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// No DOM snapshot of a main frame in it (traces recorded without snapshots).
    #[error("{path}: the trace holds no DOM snapshot of the page")]
    NoSnapshot {
        /// The file.
        path: String,
    },
}

/// The page as it was in the trace's last main-frame snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The page URL.
    pub url: String,
    /// The document as HTML.
    pub html: String,
    /// Which call it was taken for (`before`/`after`) and the call id.
    pub phase: String,
}

/// Bounds a trace's entries: a trace file is read whole, so an absurd one is refused.
const MAX_ENTRY_BYTES: u64 = 256 * 1024 * 1024;

/// Reads the last main-frame DOM snapshot of `path`.
pub fn last_snapshot(path: &Path) -> Result<Snapshot, TraceError> {
    let mut best: Option<Snapshot> = None;
    for (_, text) in trace_files(path)? {
        if let Some(s) = last_in(&text) {
            best = Some(s);
        }
    }
    best.ok_or(TraceError::NoSnapshot {
        path: path.display().to_string(),
    })
}

/// The `<n>-trace.trace` files of a trace archive (one per browser context),
/// in context order, with their text.
pub fn trace_files(path: &Path) -> Result<Vec<(String, String)>, TraceError> {
    let shown = path.display().to_string();
    let archive_err = |message: String| TraceError::Archive {
        path: shown.clone(),
        message,
    };
    let file = std::fs::File::open(path).map_err(|e| archive_err(e.to_string()))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| archive_err(e.to_string()))?;
    let mut names: Vec<String> = zip
        .file_names()
        .filter(|n| n.ends_with(".trace") && !n.contains('/') && *n != "test.trace")
        .map(str::to_owned)
        .collect();
    names.sort_by_key(|n| {
        n.split('-')
            .next()
            .and_then(|d| d.parse::<u32>().ok())
            .unwrap_or(0)
    });
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let mut entry = zip.by_name(&name).map_err(|e| archive_err(e.to_string()))?;
        if entry.size() > MAX_ENTRY_BYTES {
            return Err(archive_err(format!(
                "{name} is {} bytes, more than the {MAX_ENTRY_BYTES} read",
                entry.size()
            )));
        }
        let mut text = String::new();
        entry
            .read_to_string(&mut text)
            .map_err(|e| archive_err(format!("{name}: {e}")))?;
        out.push((name, text));
    }
    Ok(out)
}

/// The call log of the step a test failed in: the last call that ended with
/// an error or never ended (the test timed out inside it), as Playwright would
/// have printed it under `Call log:` (`- ` lines, a repeated retry collapsed
/// into one `N × ` line). `None` when every call ended cleanly.
pub fn failed_call_log(path: &Path) -> Result<Option<Vec<String>>, TraceError> {
    let mut last = None;
    for (_, text) in trace_files(path)? {
        if let Some(log) = failed_call_in(&text) {
            last = Some(log);
        }
    }
    Ok(last)
}

/// [`failed_call_log`] of one `.trace` file's lines.
pub fn failed_call_in(trace: &str) -> Option<Vec<String>> {
    // callId → (order of its `before`, ended cleanly, log lines)
    let mut calls: HashMap<String, (usize, bool, Vec<String>)> = HashMap::new();
    let mut order = 0usize;
    for line in trace.lines() {
        let kind = if line.contains("\"type\":\"before\"") {
            "before"
        } else if line.contains("\"type\":\"after\"") {
            "after"
        } else if line.contains("\"type\":\"log\"") {
            "log"
        } else {
            continue;
        };
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let Some(id) = v["callId"].as_str() else {
            continue;
        };
        match kind {
            "before" => {
                order += 1;
                calls.insert(id.to_owned(), (order, false, Vec::new()));
            }
            "after" => {
                if let Some(c) = calls.get_mut(id) {
                    c.1 = v.get("error").is_none_or(Value::is_null);
                }
            }
            _ => {
                if let (Some(c), Some(m)) = (calls.get_mut(id), v["message"].as_str()) {
                    c.2.push(m.to_owned());
                }
            }
        }
    }
    let (_, _, lines) = calls
        .into_values()
        .filter(|(_, clean, lines)| !clean && !lines.is_empty())
        .max_by_key(|(order, ..)| *order)?;
    Some(collapse(&lines))
}

/// Playwright's own call-log shape: `- line`, and a retry cycle (up to four
/// lines that come round again) printed once, each line with its count
/// (`3 × element is not visible`).
fn collapse(lines: &[String]) -> Vec<String> {
    let mut out: Vec<(usize, &str)> = Vec::new();
    for l in lines {
        let l = l.trim_end();
        let back = out.len().saturating_sub(4);
        match out[back..].iter().position(|(_, p)| *p == l) {
            Some(i) => out[back + i].0 += 1,
            None => out.push((1, l)),
        }
    }
    out.into_iter()
        .map(|(n, l)| {
            let body = l.trim_start();
            let pad = &l[..l.len() - body.len()];
            if n > 1 {
                format!("- {pad}{n} × {body}")
            } else {
                format!("- {l}")
            }
        })
        .collect()
}

/// The last main-frame snapshot of one `.trace` file's lines.
pub fn last_in(trace: &str) -> Option<Snapshot> {
    // Snapshots per frame, in order: references point back within a frame.
    let mut frames: HashMap<String, Vec<Value>> = HashMap::new();
    let mut last: Option<(String, usize, String, String)> = None;
    for line in trace.lines() {
        if !line.contains("\"frame-snapshot\"") {
            continue;
        }
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let Some(s) = v.get("snapshot") else {
            continue;
        };
        let frame = s
            .get("frameId")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let html = s.get("html").cloned().unwrap_or(Value::Null);
        let list = frames.entry(frame.clone()).or_default();
        list.push(html);
        if s.get("isMainFrame").and_then(Value::as_bool) == Some(true) {
            let url = s
                .get("frameUrl")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let phase = format!(
                "{} {}",
                s.get("phase").and_then(Value::as_str).unwrap_or_default(),
                s.get("callId").and_then(Value::as_str).unwrap_or_default()
            );
            last = Some((frame, list.len() - 1, url, phase));
        }
    }
    let (frame, index, url, phase) = last?;
    let snapshots = frames.get(&frame)?;
    let mut resolver = Resolver {
        snapshots,
        post_order: HashMap::new(),
        keep_target: false,
    };
    let mut html = String::from("<!DOCTYPE html>");
    resolver.write(&snapshots[index], index, &mut html, 0);
    Some(Snapshot { url, html, phase })
}

/// A locator call of a trace: what it was asked, where in the source, and
/// (for a call that found its element) the page with that element marked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallTarget {
    /// Playwright's call id.
    pub call_id: String,
    /// The protocol method (`click`, `fill`, `expect`…).
    pub method: String,
    /// The selector in Playwright's internal form (`internal:label="Name"i`).
    pub selector: String,
    /// Source frames, innermost first: (file as recorded, 1-based line).
    pub frames: Vec<(String, u32)>,
    /// Whether the call ended in an error or never ended.
    pub failed: bool,
    /// The page when the call found its target, with [`TARGET_ATTR`] on the
    /// element(s) it acted on; `None` when no snapshot marks one.
    pub page: Option<Snapshot>,
}

/// Every call with a selector in `path`, in order.
pub fn call_targets(path: &Path) -> Result<Vec<CallTarget>, TraceError> {
    let mut out = Vec::new();
    let stacks = stack_files(path)?;
    for (name, text) in trace_files(path)? {
        let stack = name
            .strip_suffix(".trace")
            .and_then(|base| stacks.get(&format!("{base}.stacks")))
            .map(String::as_str)
            .unwrap_or_default();
        out.extend(calls_in(&text, stack));
    }
    Ok(out)
}

/// The `<n>-trace.stacks` files of a trace archive, by name.
fn stack_files(path: &Path) -> Result<HashMap<String, String>, TraceError> {
    let archive_err = |message: String| TraceError::Archive {
        path: path.display().to_string(),
        message,
    };
    let file = std::fs::File::open(path).map_err(|e| archive_err(e.to_string()))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| archive_err(e.to_string()))?;
    let names: Vec<String> = zip
        .file_names()
        .filter(|n| n.ends_with(".stacks") && !n.contains('/'))
        .map(str::to_owned)
        .collect();
    let mut out = HashMap::new();
    for name in names {
        let mut entry = zip.by_name(&name).map_err(|e| archive_err(e.to_string()))?;
        if entry.size() > MAX_ENTRY_BYTES {
            continue;
        }
        let mut text = String::new();
        if entry.read_to_string(&mut text).is_ok() {
            out.insert(name, text);
        }
    }
    Ok(out)
}

/// [`call_targets`] of one `.trace` file and its `.stacks` file.
pub fn calls_in(trace: &str, stacks: &str) -> Vec<CallTarget> {
    // `{"files":[…],"stacks":[[callId,[[file,line,column,function],…]],…]}`
    let frames: HashMap<String, Vec<(String, u32)>> = serde_json::from_str::<Value>(stacks)
        .ok()
        .map(|v| {
            let files: Vec<String> = v["files"]
                .as_array()
                .map(|f| {
                    f.iter()
                        .map(|x| x.as_str().unwrap_or_default().to_owned())
                        .collect()
                })
                .unwrap_or_default();
            v["stacks"]
                .as_array()
                .map(|list| {
                    list.iter()
                        .filter_map(|entry| {
                            // Older Playwright wrote a number for `call@N`.
                            let id = entry.get(0).and_then(|v| {
                                v.as_str()
                                    .map(str::to_owned)
                                    .or_else(|| v.as_u64().map(|n| format!("call@{n}")))
                            })?;
                            let frames = entry
                                .get(1)?
                                .as_array()?
                                .iter()
                                .filter_map(|f| {
                                    let file = files.get(f.get(0)?.as_u64()? as usize)?;
                                    Some((file.clone(), f.get(1)?.as_u64()? as u32))
                                })
                                .collect();
                            Some((id, frames))
                        })
                        .collect()
                })
                .unwrap_or_default()
        })
        .unwrap_or_default();
    let mut calls: Vec<CallTarget> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    // Snapshots per frame in order, and for each call the first main-frame
    // snapshot that marks a target: (frame, position in that frame's list).
    let mut snapshots: HashMap<String, Vec<Value>> = HashMap::new();
    let mut marked: HashMap<String, (String, usize, String)> = HashMap::new();
    for line in trace.lines() {
        if line.contains("\"frame-snapshot\"") {
            let Ok(v) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            let Some(s) = v.get("snapshot") else {
                continue;
            };
            let frame = s["frameId"].as_str().unwrap_or_default().to_owned();
            let list = snapshots.entry(frame.clone()).or_default();
            list.push(s.get("html").cloned().unwrap_or(Value::Null));
            let call = s["callId"].as_str().unwrap_or_default();
            if s["isMainFrame"].as_bool() == Some(true)
                && line.contains("__playwright_target__")
                && index.contains_key(call)
                && !marked.contains_key(call)
            {
                let url = s["frameUrl"].as_str().unwrap_or_default().to_owned();
                marked.insert(call.to_owned(), (frame, list.len() - 1, url));
            }
            continue;
        }
        let before = line.contains("\"type\":\"before\"");
        let after = line.contains("\"type\":\"after\"");
        if !before && !after {
            continue;
        }
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let Some(id) = v["callId"].as_str() else {
            continue;
        };
        if before {
            let Some(selector) = v["params"]["selector"].as_str() else {
                continue;
            };
            index.insert(id.to_owned(), calls.len());
            calls.push(CallTarget {
                call_id: id.to_owned(),
                method: v["method"].as_str().unwrap_or_default().to_owned(),
                selector: selector.to_owned(),
                frames: frames.get(id).cloned().unwrap_or_default(),
                failed: true,
                page: None,
            });
        } else if let Some(&i) = index.get(id) {
            calls[i].failed = !v.get("error").is_none_or(Value::is_null);
        }
    }
    for call in &mut calls {
        let Some((frame, at, url)) = marked.get(&call.call_id) else {
            continue;
        };
        let Some(list) = snapshots.get(frame) else {
            continue;
        };
        let mut resolver = Resolver {
            snapshots: list,
            post_order: HashMap::new(),
            keep_target: true,
        };
        let mut html = String::from("<!DOCTYPE html>");
        resolver.write(&list[*at], *at, &mut html, 0);
        call.page = Some(Snapshot {
            url: url.clone(),
            html,
            phase: call.call_id.clone(),
        });
    }
    calls
}

struct Resolver<'a> {
    snapshots: &'a [Value],
    /// Post-order lists of non-reference nodes, per snapshot index, built on demand.
    post_order: HashMap<usize, Vec<&'a Value>>,
    /// Write Playwright's mark on a call's target element as [`TARGET_ATTR`].
    keep_target: bool,
}

/// The attribute a [`CallTarget`]'s page carries on the element(s) the call acted on.
pub const TARGET_ATTR: &str = "data-ci-medic-target";

const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr",
];

/// A reference is `[[snapshotsAgo, index]]`.
fn as_reference(v: &Value) -> Option<(usize, usize)> {
    let outer = v.as_array()?;
    if outer.len() != 1 {
        return None;
    }
    let inner = outer[0].as_array()?;
    match inner.as_slice() {
        [a, b] => Some((a.as_u64()? as usize, b.as_u64()? as usize)),
        _ => None,
    }
}

impl<'a> Resolver<'a> {
    fn nodes(&mut self, snapshot: usize) -> &Vec<&'a Value> {
        let snapshots = self.snapshots;
        self.post_order.entry(snapshot).or_insert_with(|| {
            fn visit<'v>(n: &'v Value, out: &mut Vec<&'v Value>) {
                if n.is_string() {
                    out.push(n);
                } else if as_reference(n).is_none()
                    && let Some(a) = n.as_array()
                    && a.first().is_some_and(Value::is_string)
                {
                    for child in a.iter().skip(2) {
                        visit(child, out);
                    }
                    out.push(n);
                }
            }
            let mut out = Vec::new();
            if let Some(root) = snapshots.get(snapshot) {
                visit(root, &mut out);
            }
            out
        })
    }

    fn write(&mut self, node: &'a Value, snapshot: usize, out: &mut String, depth: usize) {
        if depth > 512 {
            return;
        }
        if let Some(text) = node.as_str() {
            escape(text, out, false);
            return;
        }
        if let Some((ago, index)) = as_reference(node) {
            let Some(target_snapshot) = snapshot.checked_sub(ago) else {
                return;
            };
            let Some(&target) = self.nodes(target_snapshot).get(index) else {
                return;
            };
            self.write(target, target_snapshot, out, depth + 1);
            return;
        }
        let Some(parts) = node.as_array() else {
            return;
        };
        let Some(tag) = parts.first().and_then(Value::as_str) else {
            return;
        };
        let tag = tag.to_ascii_lowercase();
        if tag.starts_with("::") || tag == "#document" {
            // Shadow roots and document markers: keep their children inline.
            for child in parts.iter().skip(2) {
                self.write(child, snapshot, out, depth + 1);
            }
            return;
        }
        out.push('<');
        out.push_str(&tag);
        if let Some(attrs) = parts.get(1).and_then(Value::as_object) {
            for (k, v) in attrs {
                if self.keep_target && k == "__playwright_target__" {
                    out.push(' ');
                    out.push_str(TARGET_ATTR);
                    out.push_str("=\"\"");
                    continue;
                }
                // Playwright's own bookkeeping attributes are not the page's.
                if k.starts_with("__playwright") || k.contains('"') || k.contains(' ') {
                    continue;
                }
                out.push(' ');
                out.push_str(k);
                out.push_str("=\"");
                escape(v.as_str().unwrap_or_default(), out, true);
                out.push('"');
            }
        }
        out.push('>');
        if VOID.contains(&tag.as_str()) {
            return;
        }
        for child in parts.iter().skip(2) {
            self.write(child, snapshot, out, depth + 1);
        }
        out.push_str("</");
        out.push_str(&tag);
        out.push('>');
    }
}

fn escape(s: &str, out: &mut String, attr: bool) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attr => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_step_a_test_timed_out_in_gives_its_call_log() {
        let trace = Path::new(env!("CARGO_MANIFEST_DIR")).join(
            "../fixtures/runs/selector_drift_hidden/test-results/item-form-creates-an-item-through-the-form-chromium-retry1/trace.zip",
        );
        let log = failed_call_log(&trace)
            .expect("trace")
            .expect("a failed call");
        assert!(
            log.iter()
                .any(|l| l.contains("waiting for locator('#add-item')")),
            "{log:#?}"
        );
        let hidden = log
            .iter()
            .find(|l| l.contains("element is not visible"))
            .expect("the reason it never clicked");
        assert!(hidden.contains(" × "), "the retries are folded: {log:#?}");
        assert!(log.len() < 20, "{log:#?}");
    }

    #[test]
    fn calls_that_ended_cleanly_have_no_failed_call_log() {
        let trace = concat!(
            r#"{"type":"before","callId":"c1","method":"click","params":{}}"#,
            "\n",
            r#"{"type":"log","callId":"c1","message":"waiting for locator('#a')"}"#,
            "\n",
            r#"{"type":"after","callId":"c1"}"#,
            "\n",
        );
        assert_eq!(failed_call_in(trace), None);
        let failed = trace.replace(
            r#""callId":"c1"}"#,
            r#""callId":"c1","error":{"message":"x"}}"#,
        );
        assert_eq!(
            failed_call_in(&failed),
            Some(vec!["- waiting for locator('#a')".to_owned()])
        );
    }

    #[test]
    fn references_resolve_to_earlier_snapshots() {
        let trace = [
            r#"{"type":"frame-snapshot","snapshot":{"frameId":"f","isMainFrame":true,"frameUrl":"http://x/items","phase":"after","callId":"c1","html":["HTML",{},["BODY",{},["UL",{"class":"items"},["LI",{"data-testid":"product-row"},"Blue"],["LI",{},"Red"]],["P",{},"2 items"]]]}}"#,
            r#"{"type":"frame-snapshot","snapshot":{"frameId":"f","isMainFrame":true,"frameUrl":"http://x/items","phase":"before","callId":"c2","html":["HTML",{},["BODY",{},[[1,4]],["P",{"__playwright_target__":""},[[1,5]]]]]}}"#,
        ]
        .join("\n");
        let s = last_in(&trace).expect("snapshot");
        assert_eq!(s.url, "http://x/items");
        assert_eq!(s.phase, "before c2");
        assert_eq!(
            s.html,
            "<!DOCTYPE html><html><body><ul class=\"items\"><li data-testid=\"product-row\">Blue</li><li>Red</li></ul><p>2 items</p></body></html>"
        );
    }
}

#[cfg(test)]
mod recorded {
    use super::*;

    #[test]
    fn the_recorded_selector_drift_trace_has_the_drifted_rows() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(
            "../fixtures/runs/selector_drift/test-results/items-item-list-lists-the-seeded-items-chromium-retry1/trace.zip",
        );
        let s = last_snapshot(&path).expect("snapshot");
        assert!(s.url.ends_with("/items"), "{}", s.url);
        let page = crate::page::Page::parse(&s.html);
        let rows = page
            .select_css("[data-testid=product-row]", None)
            .expect("css");
        assert_eq!(rows.len(), 5, "{}", s.html);
        assert!(page.select_css("#new-item", None).expect("css").len() == 1);
    }
}
