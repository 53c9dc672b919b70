//! Docker-style aligned text tables: every column but the last padded to its widest cell plus
//! three spaces, with a minimum column width of ten (docker's tabwriter settings).

use std::fmt::Write as _;

use unicode_width::UnicodeWidthStr;

pub fn display_width(text: &str) -> usize {
    UnicodeWidthStr::width(text)
}

const PADDING: usize = 3;
const MIN_WIDTH: usize = 10;

/// Renders rows (the first being the header, if any) as docker's `tabwriter` would.
pub fn aligned_table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0; columns];
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(display_width(cell) + PADDING).max(MIN_WIDTH);
        }
    }
    let mut out = String::new();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            out.push_str(cell);
            if i + 1 < row.len() {
                let pad = widths[i] - display_width(cell);
                let _ = write!(out, "{:pad$}", "");
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pads_all_but_last_column() {
        let rows = vec![
            vec!["IMAGE".to_string(), "SIZE".into(), "COMMENT".into()],
            vec!["0123456789abcdef".to_string(), "0B".into(), "".into()],
        ];
        let text = aligned_table(&rows);
        assert_eq!(
            text,
            "IMAGE              SIZE      COMMENT\n0123456789abcdef   0B        \n"
        );
    }
}
