//! `strata history`: the table `docker history` prints, with docker's flags, plus raw JSON.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{bail, Result};
use chrono::{Local, SecondsFormat};
use strata::digest::Digest;
use strata::history::{meaningful_time, HistoryRow};
use strata::render::{
    aligned_table, ellipsis, human_duration, human_size, podman_size, podman_tabwriter, tabwriter,
};
use strata::report::{history_of, HistoryView, Report};

use crate::cli::{HistoryArgs, ImageStore};

pub fn run(args: HistoryArgs, out: &mut impl Write) -> Result<ExitCode> {
    let image = super::open_image(&args.select)?;
    let view = HistoryView {
        unrecorded_rows: args.all_layers,
        containerd_store: args.image_store == ImageStore::Containerd,
    };
    if view.containerd_store && image.format == strata::archive::Format::DockerSaveV1 {
        bail!(
            "{}: a pre-1.10 docker save (no manifest.json) cannot be shown as Docker's containerd \
             image store would: that store refuses to load it (\"unrecognized image format\"); \
             leave out --image-store containerd",
            image.source_path
        );
    }
    // A Docker data root records each layer's size: no layer needs reading.
    let (history, warnings) = match &image.recorded {
        Some(recorded) => history_of(&image, &recorded.layer_sizes, view),
        None => {
            let report = Report::build_with(&image, &image.scan_layers()?, view);
            (report.history, report.warnings)
        }
    };
    for w in &warnings {
        super::warn(w);
    }
    let style = Style {
        trunc: !args.no_trunc,
        human: args.human,
    };
    if args.json {
        serde_json::to_writer_pretty(&mut *out, &history)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    if args.quiet {
        for row in &history {
            writeln!(out, "{}", style.id(row))?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let podman = image.format == strata::archive::Format::ContainersStorage;
    write_formatted(args.format.as_deref(), podman, &style, &history, out)?;
    Ok(ExitCode::SUCCESS)
}

/// The rows as `--format` asks: docker's (or podman's) table, JSON lines, or a Go template.
fn write_formatted(
    format: Option<&str>,
    podman: bool,
    style: &Style,
    history: &[HistoryRow],
    out: &mut impl Write,
) -> Result<()> {
    match format {
        None | Some("table") if podman => {
            out.write_all(podman_table(style, history).as_bytes())?;
        }
        None | Some("table") => out.write_all(docker_table(style, history).as_bytes())?,
        Some("json") => {
            for row in history {
                writeln!(out, "{}", go_json(&style.docker_json(row)))?;
            }
        }
        Some(template) => {
            let template = Template::parse(template)?;
            let mut lines = Vec::new();
            if template.table {
                lines.push(template.header());
            }
            for row in history {
                lines.push(template.render(style, row));
            }
            if template.table {
                let mut text = lines.join("\n");
                text.push('\n');
                out.write_all(tabwriter(&text).as_bytes())?;
            } else {
                for l in lines {
                    writeln!(out, "{l}")?;
                }
            }
        }
    }
    Ok(())
}

/// `docker history`'s table.
fn docker_table(style: &Style, history: &[HistoryRow]) -> String {
    let header = [
        "IMAGE",
        if style.human { "CREATED" } else { "CREATED AT" },
        "CREATED BY",
        "SIZE",
        "COMMENT",
    ];
    let mut rows = vec![header.iter().map(|s| s.to_string()).collect::<Vec<_>>()];
    for row in history {
        rows.push(vec![
            style.id(row),
            style.created_since(row),
            style.created_by(row),
            style.size(row),
            row.comment.clone(),
        ]);
    }
    aligned_table(&rows)
}

/// `podman history`'s table, for an image of containers-storage: ID (hex, no `sha256:`),
/// CREATED (an age, or RFC 3339 with -H=false), CREATED BY cut to 45 bytes with `...`, SIZE
/// with a space before the unit whatever -H says, COMMENT; podman's column widths.
fn podman_table(style: &Style, history: &[HistoryRow]) -> String {
    let mut text = String::from("ID\tCREATED\tCREATED BY\tSIZE\tCOMMENT\n");
    for row in history {
        let id = match &row.id {
            Some(d) if style.trunc => short_id(d),
            Some(d) => d.hex().to_string(),
            None => "<missing>".into(),
        };
        let by = &row.created_by;
        let by = if style.trunc && by.len() > 45 {
            let mut cut = 42;
            while !by.is_char_boundary(cut) {
                cut -= 1;
            }
            format!("{}...", &by[..cut])
        } else {
            by.clone()
        };
        text.push_str(&format!(
            "{id}\t{}\t{by}\t{}\t{}\n",
            style.created_since(row),
            podman_size(row.size),
            row.comment
        ));
    }
    podman_tabwriter(&text)
}

/// How docker's history formatter shows each field.
struct Style {
    trunc: bool,
    human: bool,
}

impl Style {
    fn id(&self, row: &HistoryRow) -> String {
        match &row.id {
            Some(d) if self.trunc => short_id(d),
            Some(d) => d.to_string(),
            None => "<missing>".into(),
        }
    }

    /// RFC 3339 at whole seconds in local time; a missing time is docker's zero (the epoch).
    fn created_at(&self, row: &HistoryRow) -> String {
        let t = row
            .created
            .as_deref()
            .and_then(|c| chrono::DateTime::parse_from_rfc3339(c).ok())
            .map(|t| t.with_timezone(&Local))
            .unwrap_or_else(|| {
                chrono::DateTime::from_timestamp(0, 0)
                    .unwrap_or_default()
                    .with_timezone(&Local)
            });
        t.to_rfc3339_opts(SecondsFormat::Secs, true)
    }

    fn created_since(&self, row: &HistoryRow) -> String {
        if !self.human {
            return self.created_at(row);
        }
        match meaningful_time(row.created.as_deref()) {
            None => "N/A".into(),
            Some(t) => {
                let age = chrono::Utc::now()
                    .signed_duration_since(t)
                    .to_std()
                    .unwrap_or_default();
                format!("{} ago", human_duration(age))
            }
        }
    }

    fn created_by(&self, row: &HistoryRow) -> String {
        let text = row.created_by.replace('\t', " ");
        if self.trunc {
            ellipsis(&text, 45)
        } else {
            text
        }
    }

    fn size(&self, row: &HistoryRow) -> String {
        if self.human {
            human_size(row.size)
        } else {
            row.size.to_string()
        }
    }

    fn field(&self, name: &str, row: &HistoryRow) -> Option<String> {
        Some(match name {
            "ID" => self.id(row),
            "CreatedSince" => self.created_since(row),
            "CreatedAt" => self.created_at(row),
            "CreatedBy" => self.created_by(row),
            "Size" => self.size(row),
            "Comment" => row.comment.clone(),
            _ => return None,
        })
    }

    /// docker's `--format json`: every field as a string, keys sorted.
    fn docker_json(&self, row: &HistoryRow) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        for name in FIELDS {
            map.insert(
                name.to_string(),
                self.field(name, row).unwrap_or_default().into(),
            );
        }
        serde_json::Value::Object(map)
    }
}

/// JSON as Go's `json.Marshal` writes it: `<`, `>` and `&` escaped (they never occur in JSON
/// syntax itself, only inside strings, so replacing them everywhere is exact).
fn go_json(value: &serde_json::Value) -> String {
    value
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

const FIELDS: [&str; 6] = [
    "Comment",
    "CreatedAt",
    "CreatedBy",
    "CreatedSince",
    "ID",
    "Size",
];

fn short_id(d: &Digest) -> String {
    d.short().to_string()
}

fn header_of(field: &str) -> &'static str {
    match field {
        "ID" => "IMAGE",
        "CreatedSince" => "CREATED",
        "CreatedAt" => "CREATED AT",
        "CreatedBy" => "CREATED BY",
        "Size" => "SIZE",
        "Comment" => "COMMENT",
        _ => "",
    }
}

/// The subset of Go templates docker users write for `--format`: literal text, `{{.Field}}`,
/// `{{json .}}`, and a leading `table` for a header and aligned columns.
struct Template {
    table: bool,
    parts: Vec<Part>,
}

enum Part {
    Text(String),
    Field(String),
    Json,
}

impl Template {
    fn parse(text: &str) -> Result<Template> {
        let (table, body) = match text.strip_prefix("table") {
            Some(rest) if rest.is_empty() || rest.starts_with(char::is_whitespace) => {
                (true, rest.trim_start())
            }
            _ => (false, text),
        };
        let body = body.replace("\\t", "\t").replace("\\n", "\n");
        let mut parts = Vec::new();
        let mut rest = body.as_str();
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                parts.push(Part::Text(rest[..start].to_string()));
            }
            let Some(len) = rest[start..].find("}}") else {
                bail!("--format: `{{{{` without a closing `}}}}`");
            };
            let action = rest[start + 2..start + len].trim();
            if action == "json ." {
                parts.push(Part::Json);
            } else if let Some(name) = action.strip_prefix('.').filter(|n| FIELDS.contains(n)) {
                parts.push(Part::Field(name.to_string()));
            } else {
                bail!(
                    "--format: unknown field `{{{{{action}}}}}`; fields are {}",
                    FIELDS.map(|f| format!(".{f}")).join(" ")
                );
            }
            rest = &rest[start + len + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        Ok(Template { table, parts })
    }

    fn header(&self) -> String {
        self.parts
            .iter()
            .map(|p| match p {
                Part::Text(t) => t.clone(),
                Part::Field(f) => header_of(f).to_string(),
                Part::Json => String::new(),
            })
            .collect()
    }

    fn render(&self, style: &Style, row: &HistoryRow) -> String {
        self.parts
            .iter()
            .map(|p| match p {
                Part::Text(t) => t.clone(),
                Part::Field(f) => style.field(f, row).unwrap_or_default(),
                Part::Json => go_json(&style.docker_json(row)),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> HistoryRow {
        HistoryRow {
            id: Some(Digest::of_bytes(b"x")),
            created: Some("2020-01-02T03:04:05Z".into()),
            created_by: "/bin/sh -c\techo hi".into(),
            size: 4610,
            comment: "c".into(),
            empty_layer: false,
            layer_index: Some(0),
            no_history_entry: false,
        }
    }

    #[test]
    fn templates_render_fields_and_tables() {
        let style = Style {
            trunc: true,
            human: true,
        };
        let t = Template::parse("{{.Size}}|{{ .CreatedBy }}").unwrap();
        assert_eq!(t.render(&style, &row()), "4.61kB|/bin/sh -c echo hi");
        let t = Template::parse("table {{.ID}}\\t{{.Size}}").unwrap();
        assert!(t.table);
        assert_eq!(t.header(), "IMAGE\tSIZE");
        assert!(Template::parse("{{.Nope}}").is_err());
        assert!(Template::parse("{{.ID").is_err());
    }

    #[test]
    fn raw_mode_prints_timestamps_and_bytes() {
        let style = Style {
            trunc: false,
            human: false,
        };
        assert_eq!(style.size(&row()), "4610");
        assert_eq!(style.id(&row()), Digest::of_bytes(b"x").to_string());
        assert!(style.created_since(&row()).starts_with("20"));
    }
}
