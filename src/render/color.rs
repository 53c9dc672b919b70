//! Colour, only where it helps and only where it can be seen: `--color auto` (the default)
//! colours a stream that is a terminal unless `NO_COLOR` is set (<https://no-color.org>);
//! `always` and `never` decide alone.

use std::io::IsTerminal;
use std::sync::OnceLock;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Choice {
    #[default]
    Auto,
    Always,
    Never,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Paint {
    Good,
    Bad,
    Warn,
}

static CHOICE: OnceLock<Choice> = OnceLock::new();

/// Set once, from the command line, before anything is printed.
pub fn set(choice: Choice) {
    let _ = CHOICE.set(choice);
}

/// Whether text written to `stream` gets colour, given the choice, `NO_COLOR` and whether the
/// stream is a terminal.
pub fn decide(choice: Choice, no_color: bool, terminal: bool) -> bool {
    match choice {
        Choice::Always => true,
        Choice::Never => false,
        Choice::Auto => terminal && !no_color,
    }
}

pub fn enabled(stream: Stream) -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let terminal = match stream {
        Stream::Stdout => std::io::stdout().is_terminal(),
        Stream::Stderr => std::io::stderr().is_terminal(),
    };
    decide(*CHOICE.get().unwrap_or(&Choice::Auto), no_color, terminal)
}

/// `text` in the colour of `paint` when `stream` gets colour, else as it is.
pub fn paint(stream: Stream, paint: Paint, text: &str) -> String {
    if !enabled(stream) {
        return text.to_string();
    }
    let code = match paint {
        Paint::Good => "32",
        Paint::Bad => "1;31",
        Paint::Warn => "33",
    };
    format!("\u{1b}[{code}m{text}\u{1b}[0m")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_colours_a_terminal_unless_no_color() {
        assert!(decide(Choice::Auto, false, true));
        assert!(!decide(Choice::Auto, true, true));
        assert!(!decide(Choice::Auto, false, false));
        assert!(decide(Choice::Always, true, false));
        assert!(!decide(Choice::Never, false, true));
    }
}
