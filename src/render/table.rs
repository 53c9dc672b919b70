//! Docker-style aligned text tables, as docker's CLI prints them through its `tabwriter`
//! (minimum cell width 10, padding 3, spaces): cells end at a tab, lines at a newline, and a
//! column is aligned over each run of consecutive lines that have a cell in it. The text after
//! a line's last tab is not a cell and is never padded. So a tab inside a cell starts another
//! cell, and a newline inside a cell ends the line: the rows after it are aligned on their own,
//! as docker does. Widths are display columns (wide characters 2, combining marks 0).

use unicode_width::UnicodeWidthStr;

pub fn display_width(text: &str) -> usize {
    UnicodeWidthStr::width(text)
}

const PADDING: usize = 3;
const MIN_WIDTH: usize = 10;

/// Renders rows (the first being the header, if any): their cells joined with tabs, each row
/// ending with a newline, through [`tabwriter`].
pub fn aligned_table(rows: &[Vec<String>]) -> String {
    let mut text = String::new();
    for row in rows {
        text.push_str(&row.join("\t"));
        text.push('\n');
    }
    tabwriter(&text)
}

/// One line of input: its tab-terminated cells, then the unterminated rest.
struct Line<'a> {
    cells: Vec<&'a str>,
}

impl Line<'_> {
    /// Whether the line has a tab-terminated cell in `column`.
    fn has(&self, column: usize) -> bool {
        column + 1 < self.cells.len()
    }
}

/// Aligns tab-separated text the way Go's `text/tabwriter` (as docker configures it) does.
pub fn tabwriter(text: &str) -> String {
    tabwriter_with(text, MIN_WIDTH, PADDING)
}

/// podman's tables: the same alignment with minimum cell width 12 and padding 2.
pub fn podman_tabwriter(text: &str) -> String {
    tabwriter_with(text, 12, 2)
}

fn tabwriter_with(text: &str, min_width: usize, padding: usize) -> String {
    let mut out = String::new();
    // A form feed ends a block of lines that are aligned together.
    for (n, section) in text.split('\u{c}').enumerate() {
        if n > 0 {
            out.push('\n');
        }
        let lines: Vec<Line> = section
            .split('\n')
            .map(|l| Line {
                cells: l.split(['\t', '\u{b}']).collect(),
            })
            .collect();
        let mut widths = Vec::new();
        let cells = (min_width, padding);
        format(&lines, 0, lines.len(), &mut widths, cells, &mut out);
    }
    out
}

/// Writes lines `from..to`, with the column widths of the enclosing blocks in `widths`.
/// `cells` is (minimum width, padding).
fn format(
    lines: &[Line],
    from: usize,
    to: usize,
    widths: &mut Vec<usize>,
    cells: (usize, usize),
    out: &mut String,
) {
    let column = widths.len();
    let mut start = from;
    let mut this = from;
    while this < to {
        if !lines[this].has(column) {
            this += 1;
            continue;
        }
        write_lines(lines, start, this, widths, out);
        let block = this;
        let mut width = cells.0;
        while this < to && lines[this].has(column) {
            width = width.max(display_width(lines[this].cells[column]) + cells.1);
            this += 1;
        }
        widths.push(width);
        format(lines, block, this, widths, cells, out);
        widths.pop();
        start = this;
    }
    write_lines(lines, start, to, widths, out);
}

fn write_lines(lines: &[Line], from: usize, to: usize, widths: &[usize], out: &mut String) {
    for (i, line) in lines.iter().enumerate().take(to).skip(from) {
        for (j, cell) in line.cells.iter().enumerate() {
            out.push_str(cell);
            if j + 1 < line.cells.len() {
                if let Some(w) = widths.get(j) {
                    let pad = w.saturating_sub(display_width(cell));
                    out.push_str(&" ".repeat(pad));
                }
            }
        }
        if i + 1 < lines.len() {
            out.push('\n');
        }
    }
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

    #[test]
    fn a_tab_in_the_last_cell_makes_another_aligned_cell() {
        assert_eq!(
            tabwriter("a\tb\tc\td\n"),
            "a         b         c         d\n"
        );
    }

    #[test]
    fn a_newline_in_a_cell_splits_the_column_blocks() {
        // Line 2 has no cell in column 1, so lines 1 and 3 are aligned separately in it;
        // column 0 spans all three lines.
        let text = "id\tlong-command\tx\nid\tcut\nsecond-part-of-it\tshort\tx\n";
        let pad = |n: usize| " ".repeat(n);
        let want = format!(
            "id{}long-command{}x\nid{}cut\nsecond-part-of-it{}short{}x\n",
            pad(18),
            pad(3),
            pad(18),
            pad(3),
            pad(5)
        );
        assert_eq!(tabwriter(text), want);
    }

    #[test]
    fn widths_are_display_columns() {
        // Two wide characters take four columns, a combining mark none.
        let text = "日本\tx\ne\u{301}\tx\nabc\tx\n";
        assert_eq!(
            tabwriter(text),
            "日本      x\ne\u{301}         x\nabc       x\n"
        );
    }
}
