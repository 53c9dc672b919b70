//! The part of YAML a `.dive-ci` file uses: block mappings and sequences, one-line flow
//! mappings, plain and quoted scalars, comments. Scalars come back as the text dive's config
//! library would hand a rule (`0.950` → `0.95`, `1e3` → `1000`, `True` → `true`); anything
//! beyond this subset (anchors, tags, multi-line scalars, tabs for indentation) is an error
//! naming the line.

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Scalar(String),
    Map(Vec<(String, Value)>),
    /// A sequence: no rule takes one, so its items are not kept.
    List,
}

struct Line<'a> {
    number: usize,
    indent: usize,
    text: &'a str,
}

pub fn parse(text: &str) -> Result<Vec<(String, Value)>, String> {
    let mut lines = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let number = i + 1;
        let content = strip_comment(raw);
        let trimmed = content.trim_end();
        if trimmed.trim().is_empty() || trimmed == "---" || trimmed == "..." {
            continue;
        }
        let indent = trimmed.len() - trimmed.trim_start_matches(' ').len();
        if trimmed[indent..].starts_with('\t') {
            return Err(format!("line {number}: a tab in the indentation"));
        }
        lines.push(Line {
            number,
            indent,
            text: &trimmed[indent..],
        });
    }
    if lines.is_empty() {
        return Ok(Vec::new());
    }
    let mut at = 0;
    let value = block(&lines, &mut at, lines[0].indent)?;
    if let Some(extra) = lines.get(at) {
        return Err(format!("line {}: unexpected indentation", extra.number));
    }
    match value {
        Value::Map(m) => Ok(m),
        Value::Null => Ok(Vec::new()),
        _ => Err(format!(
            "line {}: the file is not a mapping (`rules:` and its settings)",
            lines[0].number
        )),
    }
}

/// A `#` starts a comment at the line's start or after a space, outside quotes.
fn strip_comment(line: &str) -> &str {
    let mut quote = None;
    let mut prev = ' ';
    for (i, c) in line.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None if c == '#' && prev.is_whitespace() => return &line[..i],
            None => {}
        }
        prev = c;
    }
    line
}

fn block(lines: &[Line], at: &mut usize, indent: usize) -> Result<Value, String> {
    if lines[*at].text.starts_with("- ") || lines[*at].text == "-" {
        while *at < lines.len() && lines[*at].indent >= indent {
            if lines[*at].indent == indent
                && !(lines[*at].text.starts_with("- ") || lines[*at].text == "-")
            {
                break;
            }
            *at += 1;
        }
        return Ok(Value::List);
    }
    let mut map = Vec::new();
    while *at < lines.len() && lines[*at].indent == indent {
        let line = &lines[*at];
        let (key, rest) = split_key(line.text)
            .ok_or_else(|| format!("line {}: expected `key: value`", line.number))?;
        *at += 1;
        let value = if rest.is_empty() {
            match lines.get(*at) {
                Some(next) if next.indent > indent => block(lines, at, next.indent)?,
                // YAML lets a sequence sit at its key's own indentation.
                Some(next) if next.indent == indent && next.text.starts_with("- ") => {
                    block(lines, at, indent)?
                }
                _ => Value::Null,
            }
        } else if rest.starts_with('{') {
            flow_map(rest).map_err(|e| format!("line {}: {e}", line.number))?
        } else if rest.starts_with('[') {
            Value::List
        } else {
            scalar(rest).map_err(|e| format!("line {}: {e}", line.number))?
        };
        map.push((key, value));
    }
    if let Some(line) = lines.get(*at) {
        if line.indent > indent {
            return Err(format!("line {}: unexpected indentation", line.number));
        }
    }
    Ok(Value::Map(map))
}

/// `key: rest` → (key, rest); the key may be quoted.
fn split_key(text: &str) -> Option<(String, &str)> {
    let (key, after) = if let Some(q @ ('\'' | '"')) = text.chars().next() {
        let close = text[1..].find(q)? + 1;
        (text[1..close].to_string(), &text[close + 1..])
    } else {
        let colon = text
            .match_indices(':')
            .find(|(i, _)| text[i + 1..].is_empty() || text[i + 1..].starts_with([' ', '\t']))?
            .0;
        (text[..colon].trim().to_string(), &text[colon..])
    };
    let rest = after.trim_start().strip_prefix(':')?;
    if !(rest.is_empty() || rest.starts_with([' ', '\t'])) {
        return None;
    }
    Some((key, rest.trim()))
}

fn flow_map(text: &str) -> Result<Value, String> {
    let inner = text
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .ok_or("a flow mapping must end on its line with `}`")?;
    let mut map = Vec::new();
    for part in inner.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if part.contains(['{', '[']) {
            return Err("nested flow collections are not supported".into());
        }
        let (key, rest) = split_key(part).ok_or("expected `key: value` in `{…}`")?;
        map.push((key, scalar(rest)?));
    }
    Ok(Value::Map(map))
}

/// A scalar as the text dive's config reads from it: YAML numbers and booleans in Go's
/// spelling, null as no value.
fn scalar(text: &str) -> Result<Value, String> {
    if let Some(body) = text.strip_prefix('\'') {
        let body = body.strip_suffix('\'').ok_or("an unterminated 'quote'")?;
        return Ok(Value::Scalar(body.replace("''", "'")));
    }
    if let Some(body) = text.strip_prefix('"') {
        let body = body.strip_suffix('"').ok_or("an unterminated \"quote\"")?;
        return unescape(body).map(Value::Scalar);
    }
    if text.starts_with(['&', '*', '!', '|', '>', '@', '`']) {
        return Err(format!(
            "`{text}`: anchors, tags and block scalars are not supported"
        ));
    }
    match text {
        "~" | "null" | "Null" | "NULL" => return Ok(Value::Null),
        "true" | "True" | "TRUE" => return Ok(Value::Scalar("true".into())),
        "false" | "False" | "FALSE" => return Ok(Value::Scalar("false".into())),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Ok(Value::Scalar("+Inf".into()))
        }
        "-.inf" | "-.Inf" | "-.INF" => return Ok(Value::Scalar("-Inf".into())),
        ".nan" | ".NaN" | ".NAN" => return Ok(Value::Scalar("NaN".into())),
        _ => {}
    }
    if let Some(n) = yaml_int(text) {
        return Ok(Value::Scalar(n.to_string()));
    }
    if is_yaml_float(text) {
        if let Ok(f) = text.parse::<f64>() {
            return Ok(Value::Scalar(format!("{f}")));
        }
    }
    Ok(Value::Scalar(text.to_string()))
}

fn yaml_int(text: &str) -> Option<i128> {
    let (sign, body) = match text.strip_prefix('-') {
        Some(b) => (-1, b),
        None => (1, text.strip_prefix('+').unwrap_or(text)),
    };
    let (radix, digits) = if let Some(h) = body.strip_prefix("0x") {
        (16, h)
    } else if let Some(o) = body.strip_prefix("0o") {
        (8, o)
    } else {
        (10, body)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    i128::from_str_radix(digits, radix).ok().map(|n| sign * n)
}

/// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`
fn is_yaml_float(text: &str) -> bool {
    let t = text.strip_prefix(['+', '-']).unwrap_or(text);
    let (mantissa, exponent) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some(("", frac)) => digits(frac),
        Some((int, frac)) => digits(int) && (frac.is_empty() || digits(frac)),
        None => digits(mantissa),
    };
    let exponent_ok = exponent.map_or(true, |e| digits(e.strip_prefix(['+', '-']).unwrap_or(e)));
    mantissa_ok && exponent_ok
}

fn unescape(body: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('\\') => out.push('\\'),
            Some('"') => out.push('"'),
            Some('/') => out.push('/'),
            other => {
                return Err(format!(
                    "an unsupported escape `\\{}`",
                    other.unwrap_or(' ')
                ))
            }
        }
    }
    Ok(out)
}
