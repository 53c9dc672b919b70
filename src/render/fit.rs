//! Tables that fit where they go: on a terminal, box-drawn and cut to its width; elsewhere
//! (a pipe, a file), plain columns aligned as docker aligns them, at full width unless
//! `COLUMNS` asks for less. What gives way first is said per column: long text is cut with `…`,
//! then whole columns are dropped, in the order the caller ranks them.

use comfy_table::{presets, Cell, CellAlignment, ContentArrangement, Table};

use super::{aligned_table, display_width, ellipsis};

pub struct Column {
    pub header: &'static str,
    /// Numbers read better right-aligned (in the box-drawn form).
    pub right: bool,
    /// Cut to no less than this many columns when the table is too wide (None: never cut).
    pub cut_to: Option<usize>,
    /// Dropped when the table is still too wide, lowest rank first (None: always kept).
    pub drop_rank: Option<u8>,
}

/// Where the table goes: a terminal gets box drawing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Target {
    pub boxed: bool,
    /// Columns available, if limited.
    pub width: Option<usize>,
}

impl Target {
    /// stdout as it is: `COLUMNS` wins (when a number), else the terminal's width.
    pub fn stdout() -> Target {
        use std::io::IsTerminal;
        let terminal = std::io::stdout().is_terminal();
        let columns = std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.trim().parse::<usize>().ok())
            .filter(|c| *c > 0);
        Target {
            boxed: terminal,
            width: columns.or_else(|| terminal.then(terminal_width).flatten()),
        }
    }
}

/// A one-line summary `HEAD ITEM, ITEM, …` that fits `width`: as it is when it fits (or no width
/// is known), else HEAD alone and the items below it, indented, as many on a line as fit.
pub fn wrap_summary(head: &str, items: &[String], width: Option<usize>) -> String {
    let line = format!("{head} {}", items.join(", "));
    let Some(width) = width else {
        return line;
    };
    if display_width(&line) <= width {
        return line;
    }
    let mut out = head.to_string();
    let mut current = String::new();
    for (i, item) in items.iter().enumerate() {
        let piece = if i + 1 < items.len() {
            format!("{item},")
        } else {
            item.clone()
        };
        if !current.is_empty() && display_width(&current) + 1 + display_width(&piece) > width {
            out.push('\n');
            out.push_str(&current);
            current.clear();
        }
        if current.is_empty() {
            current.push_str("  ");
        } else {
            current.push(' ');
        }
        current.push_str(&piece);
    }
    if !current.is_empty() {
        out.push('\n');
        out.push_str(&current);
    }
    out
}

fn terminal_width() -> Option<usize> {
    // SAFETY: TIOCGWINSZ fills the winsize struct we pass; fd 1 is only queried.
    let mut size: libc::winsize = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::ioctl(1, libc::TIOCGWINSZ, &mut size) } == 0;
    (ok && size.ws_col > 0).then_some(size.ws_col as usize)
}

/// Renders `rows` under `columns` for `target`; with `no_trunc` nothing is cut or dropped.
pub fn render(columns: &[Column], rows: &[Vec<String>], target: Target, no_trunc: bool) -> String {
    let mut keep: Vec<usize> = (0..columns.len()).collect();
    let mut cells: Vec<Vec<String>> = rows.to_vec();
    if let (Some(max), false) = (target.width, no_trunc) {
        let mut ranked: Vec<(u8, usize)> = columns
            .iter()
            .enumerate()
            .filter_map(|(i, c)| c.drop_rank.map(|r| (r, i)))
            .collect();
        ranked.sort();
        // Cut text (no shorter than each column's `cut_to`) before dropping a column; drop
        // columns one by one, cutting afresh each time; at the end, cut down to the headers.
        let mut fitted = None;
        for dropped in 0..=ranked.len() {
            let k: Vec<usize> = keep
                .iter()
                .copied()
                .filter(|i| !ranked[..dropped].iter().any(|(_, d)| d == i))
                .collect();
            let c = cut(columns, &k, rows, max, target.boxed, false);
            if table_width(columns, &k, &c, target.boxed) <= max {
                fitted = Some((k, c));
                break;
            }
        }
        (keep, cells) = fitted.unwrap_or_else(|| {
            let k: Vec<usize> = keep
                .iter()
                .copied()
                .filter(|i| !ranked.iter().any(|(_, d)| d == i))
                .collect();
            let c = cut(columns, &k, rows, max, target.boxed, true);
            (k, c)
        });
    }
    if target.boxed {
        let mut table = Table::new();
        table
            .load_preset(presets::UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Disabled)
            .set_header(keep.iter().map(|&i| columns[i].header).collect::<Vec<_>>());
        for row in &cells {
            table.add_row(keep.iter().map(|&i| {
                let cell = Cell::new(&row[i]);
                if columns[i].right {
                    cell.set_alignment(CellAlignment::Right)
                } else {
                    cell
                }
            }));
        }
        format!("{table}\n")
    } else {
        let mut plain = vec![keep
            .iter()
            .map(|&i| columns[i].header.to_string())
            .collect()];
        plain.extend(
            cells
                .iter()
                .map(|row| keep.iter().map(|&i| row[i].clone()).collect()),
        );
        aligned_table(&plain)
    }
}

/// `rows` with the cuttable columns cut as far as needed to fit `max` (no shorter than their
/// `cut_to`, or than their header when `to_header`).
fn cut(
    columns: &[Column],
    keep: &[usize],
    rows: &[Vec<String>],
    max: usize,
    boxed: bool,
    to_header: bool,
) -> Vec<Vec<String>> {
    let mut cells = rows.to_vec();
    for &i in keep {
        let Some(min) = columns[i].cut_to else {
            continue;
        };
        let min = if to_header {
            display_width(columns[i].header)
        } else {
            min
        };
        let width = table_width(columns, keep, &cells, boxed);
        if width <= max {
            break;
        }
        let widest = column_width(columns, i, &cells);
        let to = widest.saturating_sub(width - max).max(min);
        if to < widest {
            for row in cells.iter_mut() {
                row[i] = ellipsis(&row[i], to);
            }
        }
    }
    cells
}

fn column_width(columns: &[Column], i: usize, cells: &[Vec<String>]) -> usize {
    cells
        .iter()
        .map(|r| display_width(&r[i]))
        .chain([display_width(columns[i].header)])
        .max()
        .unwrap_or(0)
}

/// The width of the widest line the table would have.
fn table_width(columns: &[Column], keep: &[usize], cells: &[Vec<String>], boxed: bool) -> usize {
    let widths: Vec<usize> = keep
        .iter()
        .map(|&i| column_width(columns, i, cells))
        .collect();
    if boxed {
        // `│ a ┆ b │`: one space each side of a cell, a border between and around.
        widths.iter().sum::<usize>() + 3 * widths.len() + 1
    } else {
        // docker's tabwriter: every column but the last padded by 3, to at least 10.
        let n = widths.len();
        widths
            .iter()
            .enumerate()
            .map(|(k, w)| if k + 1 < n { (w + 3).max(10) } else { *w })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_wrap_below_their_head_when_too_wide() {
        let items: Vec<String> = ["2 files (47 bytes)", "4 directories", "1 symlink"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            wrap_summary("extracted into x:", &items, None),
            "extracted into x: 2 files (47 bytes), 4 directories, 1 symlink"
        );
        assert_eq!(
            wrap_summary("extracted into x:", &items, Some(200)),
            "extracted into x: 2 files (47 bytes), 4 directories, 1 symlink"
        );
        let wrapped = wrap_summary("extracted into x:", &items, Some(38));
        assert_eq!(
            wrapped,
            "extracted into x:\n  2 files (47 bytes), 4 directories,\n  1 symlink"
        );
        assert!(wrapped.lines().all(|l| display_width(l) <= 38));
    }

    fn cols() -> Vec<Column> {
        vec![
            Column {
                header: "#",
                right: true,
                cut_to: None,
                drop_rank: None,
            },
            Column {
                header: "DIGEST",
                right: false,
                cut_to: None,
                drop_rank: Some(1),
            },
            Column {
                header: "SIZE",
                right: true,
                cut_to: None,
                drop_rank: None,
            },
            Column {
                header: "CREATED BY",
                right: false,
                cut_to: Some(10),
                drop_rank: None,
            },
        ]
    }

    fn rows() -> Vec<Vec<String>> {
        vec![vec![
            "0".into(),
            "18f6e3c2a79b".into(),
            "55B".into(),
            "/bin/sh -c #(nop) ADD file:5a1e7a8c0ffee in /".into(),
        ]]
    }

    fn widest_line(text: &str) -> usize {
        text.lines().map(display_width).max().unwrap_or(0)
    }

    #[test]
    fn a_wide_enough_target_gets_everything() {
        let plain = Target {
            boxed: false,
            width: None,
        };
        let text = render(&cols(), &rows(), plain, false);
        assert!(
            text.starts_with("#         DIGEST         SIZE      CREATED BY\n"),
            "{text}"
        );
        assert!(text.contains("/bin/sh -c #(nop) ADD file:5a1e7a8c0ffee in /"));
    }

    #[test]
    fn text_is_cut_before_columns_are_dropped() {
        let target = Target {
            boxed: false,
            width: Some(60),
        };
        let text = render(&cols(), &rows(), target, false);
        assert!(widest_line(&text) <= 60, "{text}");
        assert!(text.contains("DIGEST") && text.contains('…'), "{text}");
        // Narrower still: the cut stops at 10 columns, then DIGEST goes.
        let target = Target {
            boxed: false,
            width: Some(40),
        };
        let text = render(&cols(), &rows(), target, false);
        assert!(!text.contains("DIGEST"), "{text}");
        assert!(widest_line(&text) <= 40, "{text}");
        // --no-trunc keeps it all, whatever the width.
        let text = render(&cols(), &rows(), target, true);
        assert!(text.contains("DIGEST") && !text.contains('…'), "{text}");
    }

    #[test]
    fn boxes_only_for_a_terminal_and_they_fit_too() {
        let target = Target {
            boxed: true,
            width: Some(50),
        };
        let text = render(&cols(), &rows(), target, false);
        assert!(text.starts_with('┌'), "{text}");
        assert!(widest_line(&text) <= 50, "{text}");
        let text = render(
            &cols(),
            &rows(),
            Target {
                boxed: false,
                width: None,
            },
            false,
        );
        assert!(!text.contains('┌') && !text.contains('│'), "{text}");
    }
}
