//! The compact text block `inspect` prints for an image's runtime config and annotations,
//! from the JSON it also prints (`image.config`, OCI names), so both always agree. Values come
//! from the archive: control characters are escaped.

use std::collections::BTreeMap;

use serde_json::Value;

use super::escape_for_message;

/// The fields shown, in this order, with their labels.
const FIELDS: [(&str, &str); 11] = [
    ("Entrypoint", "Entrypoint"),
    ("Cmd", "Cmd"),
    ("Env", "Env"),
    ("WorkingDir", "WorkingDir"),
    ("User", "User"),
    ("ExposedPorts", "Ports"),
    ("Volumes", "Volumes"),
    ("Labels", "Labels"),
    ("StopSignal", "StopSignal"),
    ("Healthcheck", "Healthcheck"),
    ("ArgsEscaped", "ArgsEscaped"),
];

/// `Config:` and `Annotations:` sections, each line indented; nothing for what is empty.
pub fn config_block(
    config: &Value,
    manifest_annotations: &BTreeMap<String, String>,
    index_annotations: &BTreeMap<String, String>,
) -> String {
    let mut rows: Vec<(&str, Vec<String>)> = Vec::new();
    for (key, label) in FIELDS {
        let lines = match config.get(key) {
            None | Some(Value::Null) => continue,
            Some(v) => field_lines(key, v),
        };
        if !lines.is_empty() {
            rows.push((label, lines));
        }
    }
    let mut out = String::new();
    if !rows.is_empty() {
        out.push_str("Config:\n");
        push_rows(&mut out, &rows);
    }
    let mut notes: Vec<(&str, Vec<String>)> = Vec::new();
    for (label, map) in [
        ("manifest", manifest_annotations),
        ("index", index_annotations),
    ] {
        if !map.is_empty() {
            notes.push((label, map.iter().map(|(k, v)| pair(k, v)).collect()));
        }
    }
    if !notes.is_empty() {
        out.push_str("Annotations:\n");
        push_rows(&mut out, &notes);
    }
    out
}

fn push_rows(out: &mut String, rows: &[(&str, Vec<String>)]) {
    for (label, lines) in rows {
        for (n, line) in lines.iter().enumerate() {
            let head = if n == 0 {
                format!("{label}:")
            } else {
                String::new()
            };
            out.push_str(&format!("  {head:<13}{line}\n"));
        }
    }
}

fn pair(k: &str, v: &str) -> String {
    format!("{}={}", text(k), text(v))
}

fn text(s: &str) -> String {
    escape_for_message(s, 500)
}

fn field_lines(key: &str, v: &Value) -> Vec<String> {
    match (key, v) {
        // Exec form, as docker inspect writes it.
        ("Entrypoint" | "Cmd", Value::Array(a)) if a.is_empty() => Vec::new(),
        ("Entrypoint" | "Cmd", Value::Array(_)) => vec![text(&v.to_string())],
        ("Env", Value::Array(a)) => a.iter().map(|e| text(e.as_str().unwrap_or(""))).collect(),
        ("ExposedPorts" | "Volumes", Value::Object(m)) if m.is_empty() => Vec::new(),
        ("ExposedPorts" | "Volumes", Value::Object(m)) => {
            vec![m.keys().map(|k| text(k)).collect::<Vec<_>>().join(", ")]
        }
        ("Labels", Value::Object(m)) => m
            .iter()
            .map(|(k, v)| pair(k, v.as_str().unwrap_or("")))
            .collect(),
        ("Healthcheck", Value::Object(_)) => vec![healthcheck(v)],
        (_, Value::String(s)) if s.is_empty() => Vec::new(),
        (_, Value::String(s)) => vec![text(s)],
        (_, Value::Bool(false)) => Vec::new(),
        (_, other) => vec![text(&other.to_string())],
    }
}

/// `CMD curl -f http://localhost/ (interval 30s, timeout 5s, retries 3)`; durations are
/// docker's nanoseconds.
fn healthcheck(h: &Value) -> String {
    let test: Vec<&str> = h["Test"]
        .as_array()
        .map(|t| t.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut out = text(&test.join(" "));
    let mut details = Vec::new();
    for (key, label) in [
        ("Interval", "interval"),
        ("Timeout", "timeout"),
        ("StartPeriod", "start period"),
        ("StartInterval", "start interval"),
    ] {
        if let Some(ns) = h[key].as_u64().filter(|ns| *ns > 0) {
            details.push(format!("{label} {}", seconds(ns)));
        }
    }
    if let Some(r) = h["Retries"].as_u64().filter(|r| *r > 0) {
        details.push(format!("retries {r}"));
    }
    if !details.is_empty() {
        out.push_str(&format!(" ({})", details.join(", ")));
    }
    out
}

fn seconds(ns: u64) -> String {
    if ns % 1_000_000_000 == 0 {
        format!("{}s", ns / 1_000_000_000)
    } else {
        format!("{}ms", ns / 1_000_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_field_in_one_compact_block() {
        let config = json!({
            "Entrypoint": ["/entry.sh"],
            "Cmd": ["serve", "--port", "80"],
            "Env": ["PATH=/bin", "LANG=C.UTF-8"],
            "WorkingDir": "/app",
            "User": "app:app",
            "ExposedPorts": {"443/tcp": {}, "80/tcp": {}},
            "Volumes": {"/data": {}},
            "Labels": {"b": "2", "a": "1"},
            "StopSignal": "SIGQUIT",
            "Healthcheck": {"Test": ["CMD", "curl", "-f", "http://localhost/"],
                            "Interval": 30_000_000_000u64, "Timeout": 1_500_000_000u64, "Retries": 3},
        });
        let manifest = BTreeMap::from([(
            "org.opencontainers.image.version".to_string(),
            "1.2".to_string(),
        )]);
        let block = config_block(&config, &manifest, &BTreeMap::new());
        assert_eq!(
            block,
            "Config:\n\
             \x20 Entrypoint:  [\"/entry.sh\"]\n\
             \x20 Cmd:         [\"serve\",\"--port\",\"80\"]\n\
             \x20 Env:         PATH=/bin\n\
             \x20              LANG=C.UTF-8\n\
             \x20 WorkingDir:  /app\n\
             \x20 User:        app:app\n\
             \x20 Ports:       443/tcp, 80/tcp\n\
             \x20 Volumes:     /data\n\
             \x20 Labels:      a=1\n\
             \x20              b=2\n\
             \x20 StopSignal:  SIGQUIT\n\
             \x20 Healthcheck: CMD curl -f http://localhost/ (interval 30s, timeout 1500ms, retries 3)\n\
             Annotations:\n\
             \x20 manifest:    org.opencontainers.image.version=1.2\n"
        );
    }

    #[test]
    fn empty_config_prints_nothing_and_control_characters_are_escaped() {
        assert_eq!(
            config_block(&json!({}), &BTreeMap::new(), &BTreeMap::new()),
            ""
        );
        let block = config_block(
            &json!({"User": "a\u{1b}[31m"}),
            &BTreeMap::new(),
            &BTreeMap::new(),
        );
        assert!(!block.contains('\u{1b}'), "{block}");
    }
}
