//! docker's history rendering rules, written from their description in docs/formats.md (go-units
//! HumanSizeWithPrecision / HumanDuration, docker/cli's Ellipsis), so table tests can compute the
//! expected cells on their own.

use chrono::{DateTime, Utc};

/// Go's `%.3g` of a non-negative value below 1000.
fn go_g3(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let sci = format!("{v:.2e}");
    let (mant, exp) = sci.split_once('e').unwrap();
    let exp: i32 = exp.parse().unwrap();
    if !(-4..3).contains(&exp) {
        let mant = mant.trim_end_matches('0').trim_end_matches('.');
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mant}e{sign}{:02}", exp.abs());
    }
    let decimals = (2 - exp).max(0) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// go-units HumanSizeWithPrecision(size, 3) with decimal units: `0B`, `12B`, `4.61kB`, `63.9MB`.
pub fn human_size(bytes: u64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    let mut v = bytes as f64;
    let mut i = 0;
    while v >= 1000.0 && i < units.len() - 1 {
        v /= 1000.0;
        i += 1;
    }
    format!("{}{}", go_g3(v), units[i])
}

/// go-units HumanDuration.
pub fn human_duration(secs: i64) -> String {
    let hours_f = secs as f64 / 3600.0;
    if secs < 1 {
        return "Less than a second".into();
    }
    if secs == 1 {
        return "1 second".into();
    }
    if secs < 60 {
        return format!("{secs} seconds");
    }
    let minutes = secs / 60;
    if minutes == 1 {
        return "About a minute".into();
    }
    if minutes < 60 {
        return format!("{minutes} minutes");
    }
    let hours = (hours_f + 0.5) as i64;
    if hours == 1 {
        "About an hour".into()
    } else if hours < 48 {
        format!("{hours} hours")
    } else if hours < 24 * 7 * 2 {
        format!("{} days", hours / 24)
    } else if hours < 24 * 30 * 2 {
        format!("{} weeks", hours / 24 / 7)
    } else if hours < 24 * 365 * 2 {
        format!("{} months", hours / 24 / 30)
    } else {
        format!("{} years", (hours_f as i64) / 24 / 365)
    }
}

/// The CREATED cell: `N/A` for no time or one at/before 2000-01-01, else "<duration> ago".
pub fn created_since(created: Option<&str>) -> String {
    let Some(t) = created.and_then(|c| DateTime::parse_from_rfc3339(c).ok()) else {
        return "N/A".into();
    };
    let t = t.with_timezone(&Utc);
    if t <= "2000-01-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap() {
        return "N/A".into();
    }
    format!("{} ago", human_duration((Utc::now() - t).num_seconds()))
}

/// RFC 3339 at whole seconds in UTC (the tests run with TZ=UTC).
pub fn created_at(created: Option<&str>) -> String {
    match created.and_then(|c| DateTime::parse_from_rfc3339(c).ok()) {
        Some(t) => t
            .with_timezone(&Utc)
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string(),
        None => String::new(),
    }
}

/// Display columns of a char: East Asian wide and fullwidth characters take two.
pub fn char_width(c: char) -> usize {
    let u = c as u32;
    let wide = matches!(u,
        0x1100..=0x115F | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF |
        0xA000..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF | 0xFE30..=0xFE4F | 0xFF00..=0xFF60 |
        0xFFE0..=0xFFE6 | 0x1F300..=0x1F64F | 0x1F900..=0x1F9FF | 0x20000..=0x3FFFD);
    if wide {
        2
    } else {
        1
    }
}

pub fn display_width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

/// CREATED BY as docker shows it: tabs become spaces; longer than 45 columns → the longest
/// prefix of at most 44 columns plus `…`.
pub fn created_by_cell(s: &str, trunc: bool) -> String {
    let s = s.replace('\t', " ");
    if !trunc || display_width(&s) <= 45 {
        return s;
    }
    let mut out = String::new();
    let mut w = 0;
    for c in s.chars() {
        if w + char_width(c) > 44 {
            break;
        }
        w += char_width(c);
        out.push(c);
    }
    out.push('…');
    out
}

/// Lays out rows like docker's tabwriter (`tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)`): every
/// column but the last padded to its widest cell + 3 spaces, and to at least 10 columns (the
/// tabwriter's minwidth). Lines are returned with trailing spaces removed.
pub fn table(rows: &[Vec<String>]) -> Vec<String> {
    let cols = rows[0].len();
    let widths: Vec<usize> = (0..cols)
        .map(|c| rows.iter().map(|r| display_width(&r[c])).max().unwrap_or(0))
        .collect();
    rows.iter()
        .map(|r| {
            let mut line = String::new();
            for (c, cell) in r.iter().enumerate() {
                line.push_str(cell);
                if c + 1 < cols {
                    let col = (widths[c] + 3).max(10);
                    line.push_str(&" ".repeat(col - display_width(cell)));
                }
            }
            line.trim_end().to_string()
        })
        .collect()
}
