//! Formatting filters the templates use, so a customised template formats
//! numbers the same way the built-in one does.

use minijinja::Environment;

/// Registers `duration`, `pct`, `conf`, `short_sha`, `bytes` and `label`.
pub(super) fn register(env: &mut Environment<'static>) {
    env.add_filter("duration", duration);
    env.add_filter("pct", pct);
    env.add_filter("conf", conf);
    env.add_filter("short_sha", short_sha);
    env.add_filter("bytes", bytes);
    env.add_filter("label", label);
}

/// Milliseconds as people read them: `850 ms`, `4.2 s`, `3 min 05 s`, `1 h 02 min`.
pub(super) fn duration(ms: Option<f64>) -> String {
    let Some(ms) = ms.filter(|m| m.is_finite() && *m >= 0.0) else {
        return "—".to_owned();
    };
    if ms < 1000.0 {
        format!("{} ms", ms.round())
    } else if ms < 60_000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else {
        let secs = (ms / 1000.0).round() as u64;
        if secs < 3600 {
            format!("{} min {:02} s", secs / 60, secs % 60)
        } else {
            format!("{} h {:02} min", secs / 3600, (secs % 3600) / 60)
        }
    }
}

/// A fraction as a whole percentage (`0.257` → `26 %`).
fn pct(f: f64) -> String {
    format!("{} %", (f * 100.0).round())
}

/// A confidence with two decimals.
fn conf(f: Option<f64>) -> String {
    f.map_or_else(|| "—".to_owned(), |f| format!("{f:.2}"))
}

/// The first 7 characters of a commit id.
fn short_sha(sha: Option<String>) -> String {
    sha.map_or_else(String::new, |s| s.chars().take(7).collect())
}

/// A size: `812 B`, `14.2 KB`, `3.1 MB`.
fn bytes(n: u64) -> String {
    if n < 1024 {
        format!("{n} B")
    } else if n < 1024 * 1024 {
        format!("{:.1} KB", n as f64 / 1024.0)
    } else {
        format!("{:.1} MB", n as f64 / (1024.0 * 1024.0))
    }
}

/// A snake_case name as words (`selector_drift` → `selector drift`).
fn label(name: Option<String>) -> String {
    name.map_or_else(|| "—".to_owned(), |n| n.replace('_', " "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(Some(850.4)), "850 ms");
        assert_eq!(duration(Some(4_240.0)), "4.2 s");
        assert_eq!(duration(Some(185_000.0)), "3 min 05 s");
        assert_eq!(duration(Some(3_725_000.0)), "1 h 02 min");
        assert_eq!(duration(None), "—");
        assert_eq!(duration(Some(f64::NAN)), "—");
    }

    #[test]
    fn numbers_read_naturally() {
        assert_eq!(pct(0.257), "26 %");
        assert_eq!(conf(Some(0.8765)), "0.88");
        assert_eq!(short_sha(Some("0123456789abcdef".into())), "0123456");
        assert_eq!(bytes(812), "812 B");
        assert_eq!(bytes(14_540), "14.2 KB");
        assert_eq!(label(Some("selector_drift".into())), "selector drift");
        assert_eq!(label(None), "—");
    }
}
