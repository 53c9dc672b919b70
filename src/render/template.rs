//! `--format` for the commands whose output is JSON underneath (inspect, verify, store ls):
//! the part of Go's templates that `docker inspect -f` users write. `{{.a.b}}` is a field of
//! the JSON object (nested by dots), `{{json .a}}` (or `{{json .}}`) the value as JSON, `\t` and
//! `\n` a tab and a newline; the rest is printed as written. A text value prints as it is, a
//! missing one as `<no value>` (as Go does), anything else as JSON.

use serde_json::Value;

#[derive(Debug, PartialEq)]
enum Part {
    Text(String),
    Field(Vec<String>),
    Json(Vec<String>),
}

#[derive(Debug)]
pub struct Template {
    parts: Vec<Part>,
}

impl Template {
    pub fn parse(text: &str) -> Result<Template, String> {
        let text = text.replace("\\t", "\t").replace("\\n", "\n");
        let mut parts = Vec::new();
        let mut rest = text.as_str();
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                parts.push(Part::Text(rest[..start].to_string()));
            }
            let Some(len) = rest[start..].find("}}") else {
                return Err("`{{` without a closing `}}`".into());
            };
            let action = rest[start + 2..start + len].trim();
            let (json, path) = match action.strip_prefix("json ") {
                Some(p) => (true, p.trim()),
                None => (false, action),
            };
            let Some(path) = path.strip_prefix('.') else {
                return Err(format!(
                    "`{{{{{}}}}}` is not a field: write {{{{.name}}}}, {{{{.a.b}}}} or {{{{json .}}}}",
                    crate::rawname::escape_for_message(action, 60)
                ));
            };
            let path: Vec<String> = if path.is_empty() {
                Vec::new()
            } else {
                path.split('.').map(str::to_string).collect()
            };
            if path.iter().any(|p| p.is_empty()) {
                return Err(format!(
                    "`{}` is not a field path",
                    crate::rawname::escape_for_message(action, 60)
                ));
            }
            parts.push(if json {
                Part::Json(path)
            } else {
                Part::Field(path)
            });
            rest = &rest[start + len + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        Ok(Template { parts })
    }

    pub fn render(&self, value: &Value) -> String {
        let get = |path: &[String]| path.iter().try_fold(value, |v, key| v.get(key.as_str()));
        self.parts
            .iter()
            .map(|p| match p {
                Part::Text(t) => t.clone(),
                Part::Field(path) => match get(path) {
                    None => "<no value>".into(),
                    Some(Value::String(s)) => s.clone(),
                    Some(v) => v.to_string(),
                },
                Part::Json(path) => get(path).map_or("null".into(), Value::to_string),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_nested_fields_json_and_escapes() {
        let v = json!({"image": {"id": "sha256:ab", "tags": ["a:1"]}, "n": 3, "gone": null});
        let t = Template::parse("{{.image.id}}\\t{{ .n }} {{json .image.tags}} {{.nope}}").unwrap();
        assert_eq!(t.render(&v), "sha256:ab\t3 [\"a:1\"] <no value>");
        assert_eq!(
            Template::parse("{{json .}}")
                .unwrap()
                .render(&json!({"a": 1})),
            "{\"a\":1}"
        );
        assert_eq!(Template::parse("{{.gone}}").unwrap().render(&v), "null");
        assert!(Template::parse("{{.a").is_err());
        assert!(Template::parse("{{range .}}").is_err());
        assert!(Template::parse("{{.a..b}}").is_err());
    }
}
