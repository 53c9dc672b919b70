//! Sizes and durations exactly as docker prints them (go-units `HumanSizeWithPrecision(x, 3)`
//! and `HumanDuration`), and docker's display-width ellipsis.

use std::time::Duration;

use unicode_width::UnicodeWidthChar;

const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];

/// `0B`, `12B`, `4.61kB`, `63.9MB`, `373MB` — Go's `%.3g` of the value in base-1000 units.
pub fn human_size(bytes: u64) -> String {
    human_size_precision(bytes, 3)
}

/// go-units `HumanSize` (four significant digits): `1.221MB`, as `docker system df` prints most
/// of its sizes.
pub fn human_size4(bytes: u64) -> String {
    human_size_precision(bytes, 4)
}

/// podman's sizes: docker's three significant digits with a space before the unit
/// (`12.3 kB`, `0 B`).
pub fn podman_size(bytes: u64) -> String {
    let s = human_size(bytes);
    let digits = s.rfind(|c: char| c.is_ascii_digit()).map_or(0, |i| i + 1);
    format!("{} {}", &s[..digits], &s[digits..])
}

fn human_size_precision(bytes: u64, precision: usize) -> String {
    let mut size = bytes as f64;
    let mut unit = 0;
    while size >= 1000.0 && unit < UNITS.len() - 1 {
        size /= 1000.0;
        unit += 1;
    }
    format!("{}{}", go_format_g(size, precision), UNITS[unit])
}

/// Go's `%.<precision>g`: shortest of fixed or exponent form, trailing zeros removed.
fn go_format_g(value: f64, precision: usize) -> String {
    if value == 0.0 {
        return "0".to_string();
    }
    // Rounding to `precision` significant digits decides the exponent (999.6 → 1.00e3).
    let sci = format!("{:.*e}", precision - 1, value);
    let (mantissa, exp) = sci.split_once('e').expect("{:e} always has an exponent");
    let exp: i32 = exp.parse().expect("{:e} exponent is an integer");
    if exp < -4 || exp >= precision as i32 {
        let mantissa = trim_fraction_zeros(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    } else {
        let decimals = (precision as i32 - 1 - exp).max(0) as usize;
        trim_fraction_zeros(&format!("{value:.decimals$}")).to_string()
    }
}

fn trim_fraction_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// go-units `HumanDuration`: "Less than a second", "About a minute", "3 hours", "2 years"…
pub fn human_duration(d: Duration) -> String {
    let seconds = d.as_secs();
    let hours_f = d.as_secs_f64() / 3600.0;
    if seconds < 1 {
        return "Less than a second".into();
    }
    if seconds == 1 {
        return "1 second".into();
    }
    if seconds < 60 {
        return format!("{seconds} seconds");
    }
    let minutes = seconds / 60;
    if minutes == 1 {
        return "About a minute".into();
    }
    if minutes < 60 {
        return format!("{minutes} minutes");
    }
    let hours = (hours_f + 0.5) as u64;
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
        format!("{} years", (hours_f as u64) / 24 / 365)
    }
}

/// Cuts `text` to at most `max_width` columns as docker's `formatter.Ellipsis` counts them,
/// ending in `…` when cut: East Asian wide and fullwidth characters count two, every other
/// character one (a combining mark too, though a terminal draws it in no column of its own).
pub fn ellipsis(text: &str, max_width: usize) -> String {
    let width = |c: char| if c.width() == Some(2) { 2 } else { 1 };
    if text.chars().map(width).sum::<usize>() <= max_width {
        return text.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        if used + width(c) > max_width.saturating_sub(1) {
            break;
        }
        used += width(c);
        out.push(c);
    }
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_match_docker() {
        let cases = [
            (0, "0B"),
            (12, "12B"),
            (999, "999B"),
            (1000, "1kB"),
            (1234, "1.23kB"),
            (4610, "4.61kB"),
            (10_240, "10.2kB"),
            (100_000, "100kB"),
            (999_499, "999kB"),
            // go-units' own quirk: rounds to 1000 but stays in kB, printed in exponent form.
            (999_500, "1e+03kB"),
            (999_999, "1e+03kB"),
            (1_000_000, "1MB"),
            (63_900_000, "63.9MB"),
            (372_800_000, "373MB"),
            (1_500_000_000, "1.5GB"),
            (5_000_000_000_000, "5TB"),
        ];
        for (bytes, want) in cases {
            assert_eq!(human_size(bytes), want, "{bytes}");
        }
    }

    #[test]
    fn durations_match_go_units() {
        let h = |secs: u64| human_duration(Duration::from_secs(secs));
        assert_eq!(
            human_duration(Duration::from_millis(300)),
            "Less than a second"
        );
        assert_eq!(h(1), "1 second");
        assert_eq!(h(59), "59 seconds");
        assert_eq!(h(60), "About a minute");
        assert_eq!(h(119), "About a minute");
        assert_eq!(h(120), "2 minutes");
        assert_eq!(h(3599), "59 minutes");
        assert_eq!(h(3600), "About an hour");
        assert_eq!(h(5399), "About an hour");
        assert_eq!(h(5400), "2 hours");
        assert_eq!(h(47 * 3600), "47 hours");
        assert_eq!(h(48 * 3600), "2 days");
        assert_eq!(h(14 * 24 * 3600), "2 weeks");
        assert_eq!(h(60 * 24 * 3600), "2 months");
        assert_eq!(h(2 * 365 * 24 * 3600), "2 years");
        assert_eq!(h(3 * 365 * 24 * 3600 + 100), "3 years");
    }

    #[test]
    fn ellipsis_counts_display_columns() {
        let long = "/bin/sh -c apt-get update && apt-get install -y curl";
        let cut = ellipsis(long, 45);
        assert_eq!(cut, "/bin/sh -c apt-get update && apt-get install…");
        assert_eq!(cut.chars().count(), 45);
        assert_eq!(ellipsis("short", 45), "short");
        let exactly = "x".repeat(45);
        assert_eq!(ellipsis(&exactly, 45), exactly);
        // Wide characters take two columns each: 22 of them fill 44 columns, then the ellipsis.
        let wide = "日".repeat(30);
        assert_eq!(ellipsis(&wide, 45), format!("{}…", "日".repeat(22)));
        // A combining mark counts one, as docker counts it: 30 accented letters are 60.
        let accents = "e\u{301}".repeat(30);
        let cut = ellipsis(&accents, 45);
        assert_eq!(cut.chars().count(), 45);
        assert_eq!(cut, format!("{}…", "e\u{301}".repeat(22)));
    }
}
