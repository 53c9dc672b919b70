//! Telling a live process from a dead one that left files behind. A PID alone is reused; the
//! PID together with the process's start time (field 22 of `/proc/PID/stat`, in clock ticks
//! since boot) names one process for the life of the machine.

/// A process, as recorded in the name or the record of something it left on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub pid: u32,
    pub start: u64,
}

impl Stamp {
    /// This process.
    pub fn current() -> Stamp {
        let pid = std::process::id();
        Stamp {
            pid,
            start: start_time(pid).unwrap_or(0),
        }
    }

    /// Whether the process is still running (the same process, not a later one with its PID).
    pub fn is_alive(&self) -> bool {
        start_time(self.pid) == Some(self.start)
    }

    /// `PID.START`, for file names.
    pub fn tag(&self) -> String {
        format!("{}.{}", self.pid, self.start)
    }

    /// Reads what [`Stamp::tag`] wrote.
    pub fn parse_tag(text: &str) -> Option<Stamp> {
        let (pid, start) = text.split_once('.')?;
        Some(Stamp {
            pid: pid.parse().ok()?,
            start: start.parse().ok()?,
        })
    }
}

/// Field 22 of `/proc/PID/stat`. The command name (field 2) is in parentheses and may hold
/// spaces and parentheses itself, so the fields are counted after its last `)`.
pub fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read(format!("/proc/{pid}/stat")).ok()?;
    parse_start_time(&stat)
}

/// This process's pid namespace (`pid:[inode]`): a PID means something only within it.
pub fn pid_namespace() -> String {
    std::fs::read_link("/proc/self/ns/pid")
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn parse_start_time(stat: &[u8]) -> Option<u64> {
    let close = stat.iter().rposition(|&b| b == b')')?;
    let rest = std::str::from_utf8(&stat[close + 1..]).ok()?;
    // After the name: field 3 (state) is the first; 22 is the 20th.
    rest.split_ascii_whitespace().nth(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_time_is_read_past_a_name_with_spaces_and_parens() {
        let line =
            b"42 (a) b) c) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 123456 1000 200";
        assert_eq!(parse_start_time(line), Some(123456));
        assert_eq!(parse_start_time(b"42 (x"), None);
    }

    #[test]
    fn this_process_is_alive_and_a_changed_start_time_is_not() {
        let me = Stamp::current();
        assert!(me.start > 0);
        assert!(me.is_alive());
        let reused = Stamp {
            start: me.start + 1,
            ..me
        };
        assert!(!reused.is_alive());
        assert_eq!(Stamp::parse_tag(&me.tag()), Some(me));
        assert_eq!(Stamp::parse_tag("12"), None);
    }
}
