//! Golden files: the exact expected stdout of a command, kept in `tests/golden/<name>.txt` and
//! checked by reading them (they are written to be what docker would print, not what strata
//! happens to print). `STRATA_UPDATE_GOLDEN=1 cargo test` rewrites them from the current output;
//! review the diff before keeping it.
//!
//! Only two things are normalised away, both by the caller: the temporary directory a fixture
//! lives in (`<ARCHIVE>`), and relative times (`N years ago`), whose numbers the caller checks
//! against the fixture's dates instead.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

pub fn golden_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("{name}.txt"))
}

/// Compares `actual` byte for byte with `tests/golden/<name>.txt`, or rewrites that file when
/// `STRATA_UPDATE_GOLDEN=1`.
pub fn assert_golden(name: &str, actual: &str) {
    let path = golden_path(name);
    if std::env::var_os("STRATA_UPDATE_GOLDEN").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        eprintln!("wrote {}", path.display());
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; create it with STRATA_UPDATE_GOLDEN=1 cargo test",
            path.display()
        )
    });
    if want != actual {
        let mut diff = String::new();
        let (w, a): (Vec<&str>, Vec<&str>) = (want.lines().collect(), actual.lines().collect());
        for i in 0..w.len().max(a.len()) {
            let (wl, al) = (w.get(i), a.get(i));
            if wl != al {
                diff.push_str(&format!("line {}:\n  want {wl:?}\n  got  {al:?}\n", i + 1));
            }
        }
        if diff.is_empty() {
            diff.push_str("(same lines; line endings or the final newline differ)\n");
        }
        panic!(
            "stdout differs from {}\n{diff}--- got ---\n{actual}\n\
             (STRATA_UPDATE_GOLDEN=1 cargo test rewrites the golden files; check them by reading)",
            path.display()
        );
    }
}

/// Replaces every occurrence of `path` in `text` with `<ARCHIVE>`.
pub fn mask_path(text: &str, path: &Path) -> String {
    let p = path.to_str().expect("fixture paths are UTF-8");
    assert!(text.contains(p), "expected the output to name {p}:\n{text}");
    text.replace(p, "<ARCHIVE>")
}

/// Replaces each `<digits> years ago` in `text` with `N years ago` and returns the numbers it
/// replaced, in order, for the caller to compare with [`years_since`]. With `keep_width`, the
/// replacement is padded with spaces to the length of what it replaced, so that the columns of a
/// table stay where strata put them.
pub fn mask_years(text: &str, keep_width: bool) -> (String, Vec<u64>) {
    const TAIL: &str = " years ago";
    let mut out = String::new();
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(TAIL) {
        let head = &rest[..i];
        let digits = head.len() - head.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 {
            out.push_str(&rest[..i + TAIL.len()]);
        } else {
            out.push_str(&head[..i - digits]);
            found.push(head[i - digits..].parse().unwrap());
            out.push('N');
            out.push_str(TAIL);
            if keep_width {
                out.push_str(&" ".repeat(digits - 1));
            }
        }
        rest = &rest[i + TAIL.len()..];
    }
    out.push_str(rest);
    (out, found)
}

/// Whole years of 365 days between an RFC 3339 time and now, the number docker shows as
/// "N years ago" for anything at least two years old.
pub fn years_since(rfc3339: &str) -> u64 {
    let t = DateTime::parse_from_rfc3339(rfc3339).unwrap();
    let secs = (Utc::now() - t.with_timezone(&Utc)).num_seconds();
    assert!(
        secs >= 2 * 365 * 86400,
        "{rfc3339} is less than two years ago: docker would not count it in years"
    );
    (secs / (365 * 86400)) as u64
}
