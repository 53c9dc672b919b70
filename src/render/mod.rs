//! Output helpers shared by the commands: docker-style sizes and durations, text escaping,
//! aligned tables.

mod config;
mod human;
mod table;

pub use config::config_block;
pub use human::{ellipsis, human_duration, human_size};
pub use table::{aligned_table, display_width, tabwriter};

/// Makes untrusted text safe for one line of a message: control characters escaped, length capped.
pub fn escape_for_message(text: &str, max_chars: usize) -> String {
    let mut out = String::new();
    // Names carried as bytes (see `rawname`) show their bytes as `\xNN`.
    let text = crate::rawname::display(text);
    for (n, c) in text.chars().enumerate() {
        if n >= max_chars {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_control_characters_and_caps_length() {
        assert_eq!(escape_for_message("a\nb\x1b[31m", 50), "a\\nb\\u{1b}[31m");
        assert_eq!(escape_for_message("abcdef", 3), "abc…");
    }
}
