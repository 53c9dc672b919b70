//! Output helpers shared by the commands: docker-style sizes and durations, text escaping,
//! aligned tables.

pub mod color;
mod config;
pub mod fit;
mod human;
mod table;
pub mod template;

/// Escaping lives with the names it escapes (the model uses it too); kept here for the renderers.
pub use crate::rawname::escape_for_message;
pub use config::config_block;
pub use human::{ellipsis, human_duration, human_size, human_size4, podman_size};
pub use table::{aligned_table, display_width, podman_tabwriter, tabwriter};

/// `1 layer`, `3 layers`: a count with its noun in the number it needs.
pub fn count(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A `caused by:` line from a parser's message: the tar parser quotes the raw header bytes it
/// choked on (`… when getting cksum for <raw name>`), so what follows such a quote is dropped,
/// and the rest is escaped and capped (our own causes can be long: paths and figures).
pub fn cause_excerpt(text: &str) -> String {
    let text = match text.find(" when getting cksum for ") {
        Some(at) => &text[..at],
        None => text,
    };
    // `numeric field was not a number: <raw bytes>`: keep the complaint, not the bytes.
    let text = match text.split_once(" field was not a number: ") {
        Some((head, _)) => format!("{head} field was not a number"),
        None => match text.split_once(" field did not have utf-8 text: ") {
            Some((head, _)) => format!("{head} field did not have utf-8 text"),
            None => text.to_string(),
        },
    };
    escape_for_message(&text, 300)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_take_the_right_noun() {
        assert_eq!(count(1u64, "layer", "layers"), "1 layer");
        assert_eq!(count(0u64, "layer", "layers"), "0 layers");
        assert_eq!(count(2u32, "entry", "entries"), "2 entries");
    }

    #[test]
    fn causes_quote_no_raw_header_bytes() {
        let raw =
            "numeric field was not a number: login\nsy when getting cksum for root:x:0:0:root";
        assert_eq!(cause_excerpt(raw), "numeric field was not a number");
        assert_eq!(cause_excerpt("short"), "short");
        assert_eq!(cause_excerpt(&"x".repeat(500)).chars().count(), 301);
    }

    #[test]
    fn escapes_control_characters_and_caps_length() {
        assert_eq!(escape_for_message("a\nb\x1b[31m", 50), "a\\nb\\u{1b}[31m");
        assert_eq!(escape_for_message("abcdef", 3), "abc…");
    }
}
