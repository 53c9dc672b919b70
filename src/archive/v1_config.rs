//! The image config docker builds for a level of a pre-1.10 `docker save` (see
//! [`super::legacy_v1`]), byte for byte, because its digest is the image ID docker shows.
//!
//! Docker's rule (`MakeConfigFromV1Config`, as Docker 26 runs it): the v1 JSON's top-level
//! fields are kept, minus `id`, `parent`, `Size`, `parent_id`, `layer_id` and `throwaway`, plus
//! `rootfs` and `history`, written as one object with sorted keys, compact, with `<`, `>` and
//! `&` escaped the way Go escapes them. A v1 JSON written by docker older than 1.8.3 (or without
//! `docker_version`) is first normalised through docker's v1 image structure: every field of
//! its container config written out, in docker's order, with docker's defaults.
//!
//! The container config is docker's own structure (not an OCI one); its field order is
//! docker's `container.Config`. Each history step is the OCI one (`created`, `created_by`,
//! `author`, `comment`): Docker 20.10 wrote `author` before `created_by`, so a level with an
//! author had another ID there.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, Timelike};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::digest::Digest;

/// One `history` step for a level: docker's `HistoryFromConfig`.
pub fn history_step(v1_json: &[u8]) -> Result<String, String> {
    let v1 = object(v1_json)?;
    let created = go_time(field(&v1, "created"))?;
    let text = |name: &str| go_str(field(&v1, name));
    let cmd = match field(&v1, "container_config") {
        Some(Value::Object(cc)) => str_slice(field(cc, "Cmd"))?.unwrap_or_default(),
        _ => Vec::new(),
    };
    let mut out = format!("{{\"created\":{created}");
    // Docker 26's history step is the OCI one, so its fields come in that order.
    for (key, value) in [
        ("created_by", cmd.join(" ")),
        ("author", text("author")?),
        ("comment", text("comment")?),
    ] {
        if !value.is_empty() {
            out.push_str(&format!(",\"{key}\":{}", go_string(&value)));
        }
    }
    out.push('}');
    Ok(out)
}

/// The config of a level whose layers (base first) have `diff_ids` and whose steps are
/// `history` (from [`history_step`]).
pub fn make_config(
    v1_json: &[u8],
    diff_ids: &[Digest],
    history: &[String],
) -> Result<Vec<u8>, String> {
    let v1 = object(v1_json)?;
    let version = match field(&v1, "docker_version") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err("its docker_version is not a string".into()),
    };
    let mut fields: BTreeMap<String, String> = if version_less(&version, "1.8.3") {
        normalised(&v1)?
    } else {
        let raw: BTreeMap<String, Box<RawValue>> =
            serde_json::from_slice(v1_json).map_err(|e| e.to_string())?;
        raw.into_iter()
            .map(|(k, v)| (k, compact(v.get())))
            .collect()
    };
    for gone in ["id", "parent", "Size", "parent_id", "layer_id", "throwaway"] {
        fields.remove(gone);
    }
    let ids: Vec<String> = diff_ids.iter().map(|d| go_string(d.as_str())).collect();
    fields.insert(
        "rootfs".into(),
        format!("{{\"type\":\"layers\",\"diff_ids\":[{}]}}", ids.join(",")),
    );
    fields.insert("history".into(), format!("[{}]", history.join(",")));
    let body: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{}:{v}", go_string(k)))
        .collect();
    Ok(format!("{{{}}}", body.join(",")).into_bytes())
}

fn object(bytes: &[u8]) -> Result<Map<String, Value>, String> {
    match serde_json::from_slice(bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err("it is not a JSON object".into()),
        Err(e) => Err(format!("it is not valid JSON ({e})")),
    }
}

/// Go matches JSON keys to fields exactly first, then ignoring case.
fn field<'a>(m: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    m.get(name).or_else(|| {
        m.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

/// The v1 JSON through docker's v1 image structure (fields as docker writes them).
fn normalised(v1: &Map<String, Value>) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for name in [
        "comment",
        "container",
        "docker_version",
        "author",
        "architecture",
        "variant",
        "os",
    ] {
        let s = go_str(field(v1, name))?;
        if !s.is_empty() {
            out.insert(name.to_string(), go_string(&s));
        }
    }
    out.insert("created".into(), go_time(field(v1, "created"))?);
    out.insert(
        "container_config".into(),
        container_config(field(v1, "container_config"))?,
    );
    match field(v1, "config") {
        None | Some(Value::Null) => {}
        Some(c) => {
            out.insert("config".into(), container_config(Some(c))?);
        }
    }
    Ok(out)
}

enum Kind {
    Str,
    StrOmit,
    Bool,
    BoolOmit,
    /// `[]string`: null stays null.
    List,
    /// docker's StrSlice: a string is a one-element list.
    Slice,
    SliceOmit,
    /// `map[string]struct{}`.
    Set,
    SetOmit,
    Labels,
    Health,
    IntOmit,
}

/// docker's `container.Config`, in its field order.
const CONFIG_FIELDS: [(&str, Kind); 25] = [
    ("Hostname", Kind::Str),
    ("Domainname", Kind::Str),
    ("User", Kind::Str),
    ("AttachStdin", Kind::Bool),
    ("AttachStdout", Kind::Bool),
    ("AttachStderr", Kind::Bool),
    ("ExposedPorts", Kind::SetOmit),
    ("Tty", Kind::Bool),
    ("OpenStdin", Kind::Bool),
    ("StdinOnce", Kind::Bool),
    ("Env", Kind::List),
    ("Cmd", Kind::Slice),
    ("Healthcheck", Kind::Health),
    ("ArgsEscaped", Kind::BoolOmit),
    ("Image", Kind::Str),
    ("Volumes", Kind::Set),
    ("WorkingDir", Kind::Str),
    ("Entrypoint", Kind::Slice),
    ("NetworkDisabled", Kind::BoolOmit),
    ("MacAddress", Kind::StrOmit),
    ("OnBuild", Kind::List),
    ("Labels", Kind::Labels),
    ("StopSignal", Kind::StrOmit),
    ("StopTimeout", Kind::IntOmit),
    ("Shell", Kind::SliceOmit),
];

fn container_config(value: Option<&Value>) -> Result<String, String> {
    let empty = Map::new();
    let m = match value {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(m)) => m,
        Some(_) => return Err("its container config is not an object".into()),
    };
    let mut parts = Vec::new();
    for (name, kind) in CONFIG_FIELDS {
        let v = field(m, name);
        let text = match kind {
            Kind::Str => Some(go_string(&go_str(v)?)),
            Kind::StrOmit => Some(go_str(v)?)
                .filter(|s| !s.is_empty())
                .map(|s| go_string(&s)),
            Kind::Bool => Some(go_bool(v)?.to_string()),
            Kind::BoolOmit => go_bool(v)?.then(|| "true".to_string()),
            Kind::List => Some(list(&string_list(v)?)),
            Kind::Slice => Some(list(&str_slice(v)?)),
            Kind::SliceOmit => str_slice(v)?
                .filter(|s| !s.is_empty())
                .map(|s| list(&Some(s))),
            Kind::Set => Some(set(v)?),
            Kind::SetOmit => match v {
                Some(Value::Object(o)) if !o.is_empty() => Some(set(v)?),
                _ => None,
            },
            Kind::Labels => Some(labels(v)?),
            Kind::Health => health(v)?,
            Kind::IntOmit => match v {
                None | Some(Value::Null) => None,
                Some(Value::Number(n)) if n.is_i64() => Some(n.to_string()),
                Some(_) => return Err(format!("its {name} is not an integer")),
            },
        };
        if let Some(text) = text {
            parts.push(format!("\"{name}\":{text}"));
        }
    }
    Ok(format!("{{{}}}", parts.join(",")))
}

fn go_str(v: Option<&Value>) -> Result<String, String> {
    match v {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err("a text field is not a string".into()),
    }
}

fn go_bool(v: Option<&Value>) -> Result<bool, String> {
    match v {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err("a yes/no field is not a boolean".into()),
    }
}

fn string_list(v: Option<&Value>) -> Result<Option<Vec<String>>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| go_str(Some(x)))
            .collect::<Result<_, _>>()
            .map(Some),
        Some(_) => Err("a list field is not a list".into()),
    }
}

fn str_slice(v: Option<&Value>) -> Result<Option<Vec<String>>, String> {
    match v {
        Some(Value::String(s)) => Ok(Some(vec![s.clone()])),
        other => string_list(other),
    }
}

fn list(items: &Option<Vec<String>>) -> String {
    match items {
        None => "null".into(),
        Some(items) => {
            let items: Vec<String> = items.iter().map(|s| go_string(s)).collect();
            format!("[{}]", items.join(","))
        }
    }
}

fn set(v: Option<&Value>) -> Result<String, String> {
    match v {
        None | Some(Value::Null) => Ok("null".into()),
        Some(Value::Object(o)) => {
            let keys: Vec<String> = o.keys().map(|k| format!("{}:{{}}", go_string(k))).collect();
            Ok(format!("{{{}}}", keys.join(",")))
        }
        Some(_) => Err("a set field is not an object".into()),
    }
}

fn labels(v: Option<&Value>) -> Result<String, String> {
    match v {
        None | Some(Value::Null) => Ok("null".into()),
        Some(Value::Object(o)) => {
            let pairs = o
                .iter()
                .map(|(k, v)| Ok(format!("{}:{}", go_string(k), go_string(&go_str(Some(v))?))))
                .collect::<Result<Vec<String>, String>>()?;
            Ok(format!("{{{}}}", pairs.join(",")))
        }
        Some(_) => Err("its Labels are not an object".into()),
    }
}

/// docker's `HealthConfig` (26): Test, Interval, Timeout, StartPeriod, StartInterval, Retries,
/// all omitted when zero; durations are nanoseconds.
fn health(v: Option<&Value>) -> Result<Option<String>, String> {
    let m = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(m)) => m,
        Some(_) => return Err("its Healthcheck is not an object".into()),
    };
    let mut parts = Vec::new();
    if let Some(test) = string_list(field(m, "Test"))?.filter(|t| !t.is_empty()) {
        parts.push(format!("\"Test\":{}", list(&Some(test))));
    }
    for name in [
        "Interval",
        "Timeout",
        "StartPeriod",
        "StartInterval",
        "Retries",
    ] {
        match field(m, name) {
            None | Some(Value::Null) => {}
            Some(Value::Number(n)) if n.as_i64().is_some() => {
                if n.as_i64() != Some(0) {
                    parts.push(format!("\"{name}\":{n}"));
                }
            }
            Some(_) => return Err(format!("its Healthcheck {name} is not an integer")),
        }
    }
    Ok(Some(format!("{{{}}}", parts.join(","))))
}

/// A time as Go writes it (RFC 3339 with the shortest fraction, `Z` for UTC); docker's zero
/// time when there is none.
fn go_time(v: Option<&Value>) -> Result<String, String> {
    let text = match v {
        None | Some(Value::Null) => return Ok("\"0001-01-01T00:00:00Z\"".into()),
        Some(Value::String(s)) => s,
        Some(_) => return Err("its created time is not a string".into()),
    };
    let t: DateTime<FixedOffset> = DateTime::parse_from_rfc3339(text)
        .map_err(|_| "its created time is not an RFC 3339 time".to_string())?;
    let mut out = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let nanos = t.nanosecond() % 1_000_000_000;
    if nanos != 0 {
        let frac = format!("{nanos:09}");
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
    let offset = t.offset().local_minus_utc();
    if offset == 0 {
        out.push('Z');
    } else {
        let sign = if offset < 0 { '-' } else { '+' };
        let m = offset.abs() / 60;
        out.push_str(&format!("{sign}{:02}:{:02}", m / 60, m % 60));
    }
    Ok(format!("\"{out}\""))
}

/// A JSON string as Go's encoder writes it.
pub fn go_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Raw JSON without the whitespace between tokens, with Go's escapes inside strings.
fn compact(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in raw.chars() {
        if in_string {
            match c {
                _ if escaped => {
                    escaped = false;
                    out.push(c);
                }
                '\\' => {
                    escaped = true;
                    out.push(c);
                }
                '"' => {
                    in_string = false;
                    out.push(c);
                }
                '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                    out.push_str(&format!("\\u{:04x}", c as u32))
                }
                c => out.push(c),
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !matches!(c, ' ' | '\t' | '\n' | '\r') {
            out.push(c);
        }
    }
    out
}

/// docker's `versions.LessThan`: dot-separated numbers, anything unparsable counting 0.
fn version_less(a: &str, b: &str) -> bool {
    if a == b {
        return false;
    }
    let (a, b): (Vec<&str>, Vec<&str>) = (a.split('.').collect(), b.split('.').collect());
    for i in 0..a.len().max(b.len()) {
        let n = |v: &[&str]| v.get(i).and_then(|s| s.parse::<i64>().ok()).unwrap_or(0);
        match n(&a).cmp(&n(&b)) {
            std::cmp::Ordering::Less => return true,
            std::cmp::Ordering::Greater => return false,
            std::cmp::Ordering::Equal => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    /// go-containerregistry's no_manifest.tar: its one level, and the config Docker 20.10 and
    /// 26 alike stored for it (`imagedb/content/sha256/a2673db3c3d8…`, image ID a2673db3c3d8).
    #[test]
    fn the_config_docker_built_for_ggcr_no_manifest() {
        let v1 = br#"{"architecture": "amd64", "config": {}, "created": "1970-01-01T00:00:00Z", "id": "c47412cb682fcf4ae43f536a788069f78552f928a55eeb09ba1455e0f9a2306e", "os": "linux"}"#;
        let diff = Digest::parse(
            "sha256:fbec6100edacb7a6374f75545cfdfac2d83f74d0f5ed813645e4c3944c68c761",
        )
        .unwrap();
        let step = history_step(v1).unwrap();
        let config = make_config(v1, &[diff], &[step]).unwrap();
        let zero = r#"{"Hostname":"","Domainname":"","User":"","AttachStdin":false,"AttachStdout":false,"AttachStderr":false,"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":null,"Cmd":null,"Image":"","Volumes":null,"WorkingDir":"","Entrypoint":null,"OnBuild":null,"Labels":null}"#;
        let want = format!(
            r#"{{"architecture":"amd64","config":{zero},"container_config":{zero},"created":"1970-01-01T00:00:00Z","history":[{{"created":"1970-01-01T00:00:00Z"}}],"os":"linux","rootfs":{{"type":"layers","diff_ids":["sha256:fbec6100edacb7a6374f75545cfdfac2d83f74d0f5ed813645e4c3944c68c761"]}}}}"#
        );
        assert_eq!(String::from_utf8(config.clone()).unwrap(), want);
        assert_eq!(
            Digest::of_bytes(&config).as_str(),
            "sha256:a2673db3c3d86a802c915e140274aed9d62464681af1371c881d7f5821b05645"
        );
    }

    #[test]
    fn newer_v1_json_keeps_its_own_fields_compacted() {
        let v1 = br#"{"id": "x", "parent": "y", "docker_version": "1.9.1", "b": {"z": 1, "a": "<&>"}, "throwaway": true}"#;
        let config = make_config(v1, &[], &[]).unwrap();
        assert_eq!(
            String::from_utf8(config).unwrap(),
            r#"{"b":{"z":1,"a":"\u003c\u0026\u003e"},"docker_version":"1.9.1","history":[],"rootfs":{"type":"layers","diff_ids":[]}}"#
        );
    }

    #[test]
    fn history_steps_and_times_are_written_as_go_writes_them() {
        let v1 = br#"{"created": "2015-06-01T10:00:00.500000000+02:00", "author": "me", "container_config": {"Cmd": ["/bin/sh", "-c", "echo hi"]}}"#;
        assert_eq!(
            history_step(v1).unwrap(),
            r#"{"created":"2015-06-01T10:00:00.5+02:00","created_by":"/bin/sh -c echo hi","author":"me"}"#
        );
        assert!(version_less("", "1.8.3") && version_less("1.8.2", "1.8.3"));
        assert!(!version_less("1.10.0", "1.8.3") && !version_less("1.8.3", "1.8.3"));
    }
}
