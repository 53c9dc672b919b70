//! dive's CI gate: its three rules (`lowestEfficiency`, `highestWastedBytes`,
//! `highestUserWastedPercent`), their settings from a `.dive-ci` file or flags, and their
//! verdicts, decided as dive 0.13.1 decides them: the same defaults (0.9, disabled, 0.1), the
//! same parsing of ratios (Go's `ParseFloat`) and sizes (go-humanize's `ParseBytes`: `20MB` and
//! `19Mb` are SI megabytes), `disabled` to skip a rule, and the same messages.

use crate::explore::waste::go_fmt::go_float;

mod mini_yaml;

pub const LOWEST_EFFICIENCY: &str = "lowestEfficiency";
pub const HIGHEST_WASTED_BYTES: &str = "highestWastedBytes";
pub const HIGHEST_USER_WASTED_PERCENT: &str = "highestUserWastedPercent";

/// The three settings, as text (dive keeps them as strings until a rule reads them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub lowest_efficiency: String,
    pub highest_wasted_bytes: String,
    pub highest_user_wasted_percent: String,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            lowest_efficiency: "0.9".into(),
            highest_wasted_bytes: "disabled".into(),
            highest_user_wasted_percent: "0.1".into(),
        }
    }
}

/// What a `.dive-ci` file sets; `None` leaves the default (or the flag) in place.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileSettings {
    pub lowest_efficiency: Option<String>,
    pub highest_wasted_bytes: Option<String>,
    pub highest_user_wasted_percent: Option<String>,
}

impl Settings {
    /// Defaults, then the file, then flags: later ones win, as with dive's flags over its file.
    pub fn layered(file: &FileSettings, flags: &FileSettings) -> Settings {
        let mut s = Settings::default();
        for layer in [file, flags] {
            if let Some(v) = &layer.lowest_efficiency {
                s.lowest_efficiency = v.clone();
            }
            if let Some(v) = &layer.highest_wasted_bytes {
                s.highest_wasted_bytes = v.clone();
            }
            if let Some(v) = &layer.highest_user_wasted_percent {
                s.highest_user_wasted_percent = v.clone();
            }
        }
        s
    }
}

/// Reads the `rules:` of a `.dive-ci` file: dive's camelCase keys (matched without regard to
/// case, as dive's config library does) or the `lowest-efficiency` style of later dive
/// releases; where both name one rule the camelCase one wins, as in dive.
pub fn parse_file(text: &str) -> Result<FileSettings, String> {
    let doc = mini_yaml::parse(text)?;
    let Some(rules) = doc.iter().find(|(k, _)| k.eq_ignore_ascii_case("rules")) else {
        return Ok(FileSettings::default());
    };
    let rules = match &rules.1 {
        mini_yaml::Value::Map(m) => m,
        mini_yaml::Value::Null => return Ok(FileSettings::default()),
        mini_yaml::Value::Scalar(_) | mini_yaml::Value::List => {
            return Err("`rules` is not a mapping of rule names to settings".into())
        }
    };
    let pick = |legacy: &str, kebab: &str| -> Result<Option<String>, String> {
        let mut found = None;
        for (key, value) in rules {
            let legacy_key = key.eq_ignore_ascii_case(legacy);
            if !legacy_key && key.to_ascii_lowercase() != kebab {
                continue;
            }
            let text = match value {
                mini_yaml::Value::Scalar(s) => s.clone(),
                mini_yaml::Value::Null => continue,
                mini_yaml::Value::Map(_) | mini_yaml::Value::List => {
                    return Err(format!("rule `{key}` is not a single value"))
                }
            };
            if legacy_key || found.is_none() {
                found = Some((legacy_key, text));
            }
        }
        // The camelCase key wins over the kebab-case one, wherever each appears.
        Ok(found.map(|(_, t)| t))
    };
    Ok(FileSettings {
        lowest_efficiency: pick(LOWEST_EFFICIENCY, "lowest-efficiency")?,
        highest_wasted_bytes: pick(HIGHEST_WASTED_BYTES, "highest-wasted-bytes")?,
        highest_user_wasted_percent: pick(
            HIGHEST_USER_WASTED_PERCENT,
            "highest-user-wasted-percent",
        )?,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    Skip,
    Misconfigured,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Skip => "SKIP",
            Status::Misconfigured => "MISCONFIGURED",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RuleResult {
    pub rule: &'static str,
    pub setting: String,
    pub status: Status,
    /// dive's message: why it failed, why it is misconfigured, or "rule disabled".
    pub message: String,
}

/// The figures the rules judge.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Figures {
    pub efficiency: f64,
    pub wasted_bytes: u64,
    pub user_wasted_percent: f64,
}

/// Go's `strconv.ParseFloat(s, 64)`, for the forms a threshold takes.
pub fn go_parse_float(text: &str) -> Result<f64, String> {
    let err = || format!("strconv.ParseFloat: parsing {text:?}: invalid syntax");
    let body = text.strip_prefix(['+', '-']).unwrap_or(text);
    let lower = body.to_ascii_lowercase();
    let special = matches!(lower.as_str(), "inf" | "infinity" | "nan");
    let plain = !body.is_empty()
        && body.bytes().any(|b| b.is_ascii_digit())
        && body
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
    if !(special || plain) || (special && lower == "nan" && body.len() != text.len()) {
        return Err(err());
    }
    let value = text.parse::<f64>().map_err(|_| err())?;
    if value.is_infinite() && !special {
        return Err(format!(
            "strconv.ParseFloat: parsing {text:?}: value out of range"
        ));
    }
    Ok(value)
}

/// go-humanize's `ParseBytes`: a number (commas ignored) and an optional unit, SI (`kB`, `MB`,
/// `M`) or IEC (`KiB`, `Mi`), case-insensitive, so `20Mb` is 20 000 000 bytes.
pub fn go_parse_bytes(text: &str) -> Result<u64, String> {
    let end = text
        .char_indices()
        .find(|&(_, c)| !(c.is_ascii_digit() || c == '.' || c == ','))
        .map_or(text.len(), |(i, _)| i);
    let number: String = text[..end].chars().filter(|&c| c != ',').collect();
    let value = go_parse_float(&number)?;
    let unit = text[end..].trim().to_ascii_lowercase();
    let multiplier: u64 = match unit.as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1000,
        "ki" | "kib" => 1 << 10,
        "m" | "mb" => 1000u64.pow(2),
        "mi" | "mib" => 1 << 20,
        "g" | "gb" => 1000u64.pow(3),
        "gi" | "gib" => 1 << 30,
        "t" | "tb" => 1000u64.pow(4),
        "ti" | "tib" => 1 << 40,
        "p" | "pb" => 1000u64.pow(5),
        "pi" | "pib" => 1 << 50,
        "e" | "eb" => 1000u64.pow(6),
        "ei" | "eib" => 1 << 60,
        _ => return Err(format!("unhandled size name: {unit}")),
    };
    let bytes = value * multiplier as f64;
    if bytes >= u64::MAX as f64 {
        return Err(format!("too large: {text}"));
    }
    // Go's conversion truncates toward zero.
    Ok(bytes as u64)
}

fn ratio_setting(rule: &str, value: &str) -> Result<f64, String> {
    let v = go_parse_float(value).map_err(|e| format!("invalid config value ('{value}'): {e}"))?;
    // Not `contains`: NaN passes this check in dive, and must here too.
    #[allow(clippy::manual_range_contains)]
    if v < 0.0 || v > 1.0 {
        return Err(format!(
            "{rule} config value is outside allowed range (0-1), given '{value}'"
        ));
    }
    Ok(v)
}

fn bytes_setting(value: &str) -> Result<u64, String> {
    go_parse_bytes(value).map_err(|e| format!("invalid config value ('{value}'): {e}"))
}

/// Judges the figures by the three rules, in dive's report order (by rule name). When a setting
/// is misconfigured no rule is judged: the bad ones say why, the others are left unjudged, and
/// `misconfigured` is true.
pub fn evaluate(settings: &Settings, figures: &Figures) -> (Vec<RuleResult>, bool) {
    let rules: [(&'static str, &String); 3] = [
        (
            HIGHEST_USER_WASTED_PERCENT,
            &settings.highest_user_wasted_percent,
        ),
        (HIGHEST_WASTED_BYTES, &settings.highest_wasted_bytes),
        (LOWEST_EFFICIENCY, &settings.lowest_efficiency),
    ];
    let check = |rule: &str, value: &str| -> Result<(), String> {
        match rule {
            HIGHEST_WASTED_BYTES => bytes_setting(value).map(drop),
            _ => ratio_setting(rule, value).map(drop),
        }
    };
    let bad: Vec<Option<String>> = rules
        .iter()
        .map(|(rule, value)| {
            if value.as_str() == "disabled" {
                None
            } else {
                check(rule, value).err()
            }
        })
        .collect();
    let misconfigured = bad.iter().any(Option::is_some);
    let results = rules
        .iter()
        .zip(bad)
        .map(|((rule, value), bad)| {
            let (status, message) = if value.as_str() == "disabled" {
                (Status::Skip, "rule disabled".to_string())
            } else if let Some(why) = bad {
                (Status::Misconfigured, why)
            } else if misconfigured {
                (
                    Status::Skip,
                    "not evaluated: another rule is misconfigured".into(),
                )
            } else {
                judge(rule, value, figures)
            };
            RuleResult {
                rule,
                setting: value.to_string(),
                status,
                message,
            }
        })
        .collect();
    (results, misconfigured)
}

fn judge(rule: &str, value: &str, f: &Figures) -> (Status, String) {
    match rule {
        LOWEST_EFFICIENCY => {
            let threshold = ratio_setting(rule, value).expect("checked");
            if threshold > f.efficiency {
                return (
                    Status::Fail,
                    format!(
                        "image efficiency is too low (efficiency={} < threshold={})",
                        go_float(f.efficiency),
                        go_float(threshold)
                    ),
                );
            }
        }
        HIGHEST_WASTED_BYTES => {
            let threshold = bytes_setting(value).expect("checked");
            if f.wasted_bytes > threshold {
                return (
                    Status::Fail,
                    format!(
                        "too many bytes wasted (wasted-bytes={} > threshold={threshold})",
                        f.wasted_bytes
                    ),
                );
            }
        }
        _ => {
            let threshold = ratio_setting(rule, value).expect("checked");
            if threshold < f.user_wasted_percent {
                return (
                    Status::Fail,
                    format!(
                        "too many bytes wasted, relative to the user bytes added (%-user-wasted-bytes={} > threshold={})",
                        go_float(f.user_wasted_percent),
                        go_float(threshold)
                    ),
                );
            }
        }
    }
    (Status::Pass, String::new())
}

#[cfg(test)]
mod tests;
