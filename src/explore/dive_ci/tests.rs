//! dive's CI settings and verdicts, with the expected values read off dive 0.13.1's rules and
//! go-humanize's `ParseBytes`.

use super::*;

#[test]
fn sizes_parse_like_go_humanize() {
    let ok = [
        ("20MB", 20_000_000),
        ("19Mb", 19_000_000),
        ("10 mb", 10_000_000),
        ("1GiB", 1 << 30),
        ("2Ki", 2048),
        ("1,000", 1000),
        ("1.5kb", 1500),
        ("0.0001", 0),
        ("42", 42),
        ("7b", 7),
    ];
    for (text, want) in ok {
        assert_eq!(go_parse_bytes(text), Ok(want), "{text}");
    }
    for bad in ["", "disabled", "-5MB", "5XB", "MB", "1.2.3", "99999EB"] {
        assert!(go_parse_bytes(bad).is_err(), "{bad} should be refused");
    }
}

#[test]
fn ratios_parse_like_go_parse_float() {
    let ok = [
        ("0.9", 0.9),
        (".5", 0.5),
        ("1e-1", 0.1),
        ("1", 1.0),
        ("+0.25", 0.25),
    ];
    for (text, want) in ok {
        assert_eq!(go_parse_float(text), Ok(want), "{text}");
    }
    assert!(go_parse_float("inf").unwrap().is_infinite());
    assert!(go_parse_float("NaN").unwrap().is_nan());
    for bad in ["", "abc", "0.9x", "1e400", "+nan", "ten"] {
        assert!(go_parse_float(bad).is_err(), "{bad} should be refused");
    }
}

fn file(le: Option<&str>, wb: Option<&str>, uwp: Option<&str>) -> FileSettings {
    FileSettings {
        lowest_efficiency: le.map(str::to_string),
        highest_wasted_bytes: wb.map(str::to_string),
        highest_user_wasted_percent: uwp.map(str::to_string),
    }
}

#[test]
fn dive_ci_files() {
    let cases = [
        (
            "dive's own example, with plugins and unknown rules",
            "plugins:\n  - plugin1\n\nrules:\n  # a comment\n  lowestEfficiency: 0.95\n  highestWastedBytes: 20Mb\n  highestUserWastedPercent: 0.5\n  plugin1/rule1: error\n",
            file(Some("0.95"), Some("20Mb"), Some("0.5")),
        ),
        (
            "the newer kebab-case keys",
            "rules:\n  lowest-efficiency: 0.8\n  highest-wasted-bytes: \"1GB\"\n  highest-user-wasted-percent: '0.2'\n",
            file(Some("0.8"), Some("1GB"), Some("0.2")),
        ),
        (
            "camelCase wins over kebab-case",
            "rules:\n  lowestEfficiency: 0.7\n  lowest-efficiency: 0.8\n",
            file(Some("0.7"), None, None),
        ),
        (
            "keys match without regard to case, numbers read as YAML numbers",
            "Rules:\n  LOWESTEFFICIENCY: 0.950\n  highestwastedbytes: 2e7\n  highestUserWastedPercent: disabled\n",
            file(Some("0.95"), Some("20000000"), Some("disabled")),
        ),
        (
            "a null setting leaves the default",
            "rules:\n  lowestEfficiency:\n  highestWastedBytes: ~\n",
            file(None, None, None),
        ),
        (
            "a flow mapping",
            "rules: {lowestEfficiency: 0.5, highestWastedBytes: 10MB}\n",
            file(Some("0.5"), Some("10MB"), None),
        ),
        ("an empty file", "", file(None, None, None)),
        ("no rules", "plugins: []\n", file(None, None, None)),
    ];
    for (name, text, want) in cases {
        assert_eq!(parse_file(text), Ok(want), "{name}");
    }
    for bad in [
        "rules:\n\tlowestEfficiency: 0.5\n",
        "rules: 0.5\n",
        "rules:\n  lowestEfficiency: [0.5]\n",
        "rules:\n  lowestEfficiency: 0.5\n    extra: 1\n",
        "rules:\n  lowestEfficiency: *anchor\n",
        "just text\n",
    ] {
        assert!(parse_file(bad).is_err(), "{bad:?} should be refused");
    }
}

#[test]
fn settings_layer_defaults_file_flags() {
    let s = Settings::layered(
        &file(Some("0.5"), Some("1MB"), None),
        &file(None, Some("2MB"), None),
    );
    assert_eq!(s.lowest_efficiency, "0.5");
    assert_eq!(s.highest_wasted_bytes, "2MB");
    assert_eq!(s.highest_user_wasted_percent, "0.1");
}

fn settings(le: &str, wb: &str, uwp: &str) -> Settings {
    Settings {
        lowest_efficiency: le.into(),
        highest_wasted_bytes: wb.into(),
        highest_user_wasted_percent: uwp.into(),
    }
}

#[test]
fn rules_judge_like_dive() {
    let figures = Figures {
        efficiency: 0.49939853488928204,
        wasted_bytes: 1511466,
        user_wasted_percent: 1.025,
    };
    // (settings, [(status, message)] in report order: user %, wasted bytes, efficiency)
    let cases = [
        (
            settings("0.9", "disabled", "0.1"),
            [
                (Status::Fail, "too many bytes wasted, relative to the user bytes added (%-user-wasted-bytes=1.025 > threshold=0.1)"),
                (Status::Skip, "rule disabled"),
                (Status::Fail, "image efficiency is too low (efficiency=0.49939853488928204 < threshold=0.9)"),
            ],
            false,
        ),
        (
            settings("0.4", "2MB", "1"),
            [
                (Status::Fail, "too many bytes wasted, relative to the user bytes added (%-user-wasted-bytes=1.025 > threshold=1)"),
                (Status::Pass, ""),
                (Status::Pass, ""),
            ],
            false,
        ),
        (
            settings("0.4", "1MB", "disabled"),
            [
                (Status::Skip, "rule disabled"),
                (Status::Fail, "too many bytes wasted (wasted-bytes=1511466 > threshold=1000000)"),
                (Status::Pass, ""),
            ],
            false,
        ),
        (
            // Equal to the threshold passes.
            settings("0.49939853488928204", "1511466", "disabled"),
            [
                (Status::Skip, "rule disabled"),
                (Status::Pass, ""),
                (Status::Pass, ""),
            ],
            false,
        ),
        (
            settings("1.5", "lots", "0.1"),
            [
                (Status::Skip, "not evaluated: another rule is misconfigured"),
                (Status::Misconfigured, "invalid config value ('lots'): strconv.ParseFloat: parsing \"\": invalid syntax"),
                (Status::Misconfigured, "lowestEfficiency config value is outside allowed range (0-1), given '1.5'"),
            ],
            true,
        ),
    ];
    for (s, want, want_misconfigured) in cases {
        let (results, misconfigured) = evaluate(&s, &figures);
        assert_eq!(misconfigured, want_misconfigured, "{s:?}");
        let got: Vec<(Status, &str)> = results
            .iter()
            .map(|r| (r.status, r.message.as_str()))
            .collect();
        assert_eq!(got, want.to_vec(), "{s:?}");
        let names: Vec<&str> = results.iter().map(|r| r.rule).collect();
        assert_eq!(
            names,
            [
                HIGHEST_USER_WASTED_PERCENT,
                HIGHEST_WASTED_BYTES,
                LOWEST_EFFICIENCY
            ]
        );
    }
}

#[test]
fn a_nan_user_ratio_passes_as_in_dive() {
    // Nothing above layer 0: 0 / 0 wasted, and NaN compares false everywhere in Go too.
    let figures = Figures {
        efficiency: 1.0,
        wasted_bytes: 0,
        user_wasted_percent: f64::NAN,
    };
    let (results, _) = evaluate(&Settings::default(), &figures);
    assert!(results.iter().all(|r| r.status != Status::Fail));
}
