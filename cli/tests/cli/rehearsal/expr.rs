//! GitHub Actions expressions, as far as the workflows use them: `${{ … }}`
//! interpolation, contexts looked up by dotted path (`needs.e2e-tests.result`,
//! `steps.pages.outputs.base_url`), string, number and boolean literals, `!`,
//! `==`, `!=`, `&&`, `||` (which return an operand, as GitHub's do),
//! parentheses and the functions `always`, `cancelled`, `success`, `failure`,
//! `contains`, `startsWith`, `format` and `toJSON`.

use serde_json::Value;

/// What an expression can see.
pub(super) trait Scope {
    /// The value at a dotted path (`needs.x.result`); `Null` when absent.
    fn lookup(&self, path: &[String]) -> Value;
    /// `success()`: every job this one needs (or every earlier step) succeeded.
    fn success(&self) -> bool;
}

/// Evaluates one expression (without `${{ }}`).
pub(super) fn eval(text: &str, scope: &dyn Scope) -> Result<Value, String> {
    let tokens = tokenize(text)?;
    let mut p = Parser {
        tokens: &tokens,
        at: 0,
        scope,
    };
    let v = p.or()?;
    if p.at != tokens.len() {
        return Err(format!("{text:?}: unexpected {:?}", tokens[p.at]));
    }
    Ok(v)
}

/// A job's or step's `if:`; GitHub's default, `success()`, when absent.
pub(super) fn condition(text: Option<&str>, scope: &dyn Scope) -> Result<bool, String> {
    let text = text.unwrap_or("success()").trim();
    let text = text
        .strip_prefix("${{")
        .and_then(|t| t.strip_suffix("}}"))
        .unwrap_or(text);
    // Without a status function, GitHub adds `success() &&`.
    let has_status = ["always()", "cancelled()", "success()", "failure()"]
        .iter()
        .any(|f| text.contains(f));
    let v = truthy(&eval(text, scope)?);
    Ok(if has_status { v } else { v && scope.success() })
}

/// `text` with every `${{ expr }}` replaced by its value.
pub(super) fn interpolate(text: &str, scope: &dyn Scope) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("${{") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 3..];
        let end = after
            .find("}}")
            .ok_or_else(|| format!("{text:?}: an unclosed ${{{{"))?;
        out.push_str(&to_text(&eval(&after[..end], scope)?));
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// GitHub's truthiness: null, false, 0 and '' are false.
pub(super) fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        _ => true,
    }
}

/// A value as text in a string context.
pub(super) fn to_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => serde_json::to_string_pretty(other).unwrap_or_default(),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Path(Vec<String>),
    Str(String),
    Num(f64),
    Op(&'static str),
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '\'' {
            let mut s = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err(format!("{text:?}: an unclosed string")),
                    Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                        s.push('\'');
                        i += 2;
                    }
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some(&ch) => {
                        s.push(ch);
                        i += 1;
                    }
                }
            }
            out.push(Token::Str(s));
        } else if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let s: String = chars[start..i].iter().collect();
            out.push(Token::Num(s.parse().map_err(|_| format!("{text:?}: {s}"))?));
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || matches!(chars[i], '_' | '-' | '.' | '*'))
            {
                i += 1;
            }
            let s: String = chars[start..i].iter().collect();
            out.push(Token::Path(s.split('.').map(str::to_owned).collect()));
        } else {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            let op = match two.as_str() {
                "==" => Some("=="),
                "!=" => Some("!="),
                "&&" => Some("&&"),
                "||" => Some("||"),
                _ => None,
            };
            if let Some(op) = op {
                out.push(Token::Op(op));
                i += 2;
                continue;
            }
            let op = match c {
                '!' => "!",
                '(' => "(",
                ')' => ")",
                ',' => ",",
                _ => return Err(format!("{text:?}: unexpected {c:?}")),
            };
            out.push(Token::Op(op));
            i += 1;
        }
    }
    Ok(out)
}

struct Parser<'a> {
    tokens: &'a [Token],
    at: usize,
    scope: &'a dyn Scope,
}

impl Parser<'_> {
    fn eat(&mut self, op: &str) -> bool {
        if self.tokens.get(self.at) == Some(&Token::Op(static_op(op))) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Result<Value, String> {
        let mut left = self.and()?;
        while self.eat("||") {
            let right = self.and()?;
            if !truthy(&left) {
                left = right;
            }
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Value, String> {
        let mut left = self.cmp()?;
        while self.eat("&&") {
            let right = self.cmp()?;
            if truthy(&left) {
                left = right;
            }
        }
        Ok(left)
    }

    fn cmp(&mut self) -> Result<Value, String> {
        let left = self.unary()?;
        for (op, want) in [("==", true), ("!=", false)] {
            if self.eat(op) {
                let right = self.unary()?;
                // GitHub compares strings case-insensitively, other values as text.
                let same = to_text(&left).to_lowercase() == to_text(&right).to_lowercase();
                return Ok(Value::Bool(same == want));
            }
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Value, String> {
        if self.eat("!") {
            return Ok(Value::Bool(!truthy(&self.unary()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Value, String> {
        let token = self
            .tokens
            .get(self.at)
            .cloned()
            .ok_or("an expression ends too soon")?;
        self.at += 1;
        match token {
            Token::Str(s) => Ok(Value::String(s)),
            Token::Num(n) => Ok(serde_json::json!(n)),
            Token::Op("(") => {
                let v = self.or()?;
                if !self.eat(")") {
                    return Err("expected `)`".into());
                }
                Ok(v)
            }
            Token::Op(op) => Err(format!("unexpected `{op}`")),
            Token::Path(path) => {
                if self.eat("(") {
                    let mut args = Vec::new();
                    if !self.eat(")") {
                        loop {
                            args.push(self.or()?);
                            if self.eat(")") {
                                break;
                            }
                            if !self.eat(",") {
                                return Err("expected `,` or `)`".into());
                            }
                        }
                    }
                    return self.call(&path.join("."), &args);
                }
                Ok(match path.as_slice() {
                    [w] if w == "true" => Value::Bool(true),
                    [w] if w == "false" => Value::Bool(false),
                    [w] if w == "null" => Value::Null,
                    _ => self.scope.lookup(&path),
                })
            }
        }
    }

    fn call(&self, name: &str, args: &[Value]) -> Result<Value, String> {
        let arg = |i: usize| args.get(i).cloned().unwrap_or(Value::Null);
        Ok(match name {
            "always" => Value::Bool(true),
            "cancelled" => Value::Bool(false),
            "success" => Value::Bool(self.scope.success()),
            "failure" => Value::Bool(!self.scope.success()),
            "contains" => match arg(0) {
                Value::Array(items) => Value::Bool(
                    items
                        .iter()
                        .any(|i| to_text(i).eq_ignore_ascii_case(&to_text(&arg(1)))),
                ),
                v => Value::Bool(
                    to_text(&v)
                        .to_lowercase()
                        .contains(&to_text(&arg(1)).to_lowercase()),
                ),
            },
            "startsWith" => Value::Bool(
                to_text(&arg(0))
                    .to_lowercase()
                    .starts_with(&to_text(&arg(1)).to_lowercase()),
            ),
            "format" => {
                let mut s = to_text(&arg(0));
                for (i, a) in args.iter().enumerate().skip(1) {
                    s = s.replace(&format!("{{{}}}", i - 1), &to_text(a));
                }
                Value::String(s)
            }
            "toJSON" => Value::String(serde_json::to_string_pretty(&arg(0)).unwrap_or_default()),
            other => {
                return Err(format!(
                    "the rehearsal does not know the function {other}()"
                ));
            }
        })
    }
}

fn static_op(op: &str) -> &'static str {
    match op {
        "==" => "==",
        "!=" => "!=",
        "&&" => "&&",
        "||" => "||",
        "!" => "!",
        "(" => "(",
        ")" => ")",
        _ => ",",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct S;
    impl Scope for S {
        fn lookup(&self, path: &[String]) -> Value {
            match path.join(".").as_str() {
                "needs.e2e-tests.result" => Value::String("failure".into()),
                "github.event_name" => Value::String("workflow_dispatch".into()),
                "steps.pages.outcome" => Value::String("failure".into()),
                _ => Value::Null,
            }
        }
        fn success(&self) -> bool {
            false
        }
    }

    #[test]
    fn the_workflows_conditions_evaluate_as_github_does() {
        let t = |e: &str| condition(Some(e), &S).expect(e);
        assert!(t("always() && needs.e2e-tests.result == 'failure'"));
        assert!(!t("always() && github.event_name == 'pull_request'"));
        assert!(
            !t("needs.e2e-tests.result != 'cancelled'"),
            "success() is implied"
        );
        assert!(t("always() && !cancelled()"));
        let v = interpolate(
            "${{ steps.pages.outcome == 'success' && format('--history {0}/h.json', 'x') || '' }}",
            &S,
        )
        .expect("interpolates");
        assert_eq!(v, "");
        assert!(eval("nope(1)", &S).is_err());
    }
}
