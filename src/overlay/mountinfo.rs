//! `/proc/self/mountinfo`, read to tell which mount is really on a path: strata's own overlays
//! are recognised by their source (`strata-<mount id>`) and their upper dir, never by the
//! mountpoint alone, since a path can be covered by another mount or moved away.

use std::path::Path;

#[derive(Debug, Clone)]
pub struct MountEntry {
    pub id: u64,
    pub parent: u64,
    /// The mountpoint as bytes (mountinfo's octal escapes undone).
    pub mountpoint: Vec<u8>,
    pub fstype: String,
    pub source: Vec<u8>,
    /// The filesystem's own options (`lowerdir=…,upperdir=…` for overlayfs).
    pub super_options: Vec<u8>,
}

impl MountEntry {
    /// `upperdir=` of an overlay, unescaped.
    pub fn upper_dir(&self) -> Option<Vec<u8>> {
        self.super_options
            .split(|&b| b == b',')
            .find_map(|o| o.strip_prefix(b"upperdir="))
            .map(|v| v.to_vec())
    }
}

/// This process's mount table; empty if it cannot be read.
pub fn read() -> Vec<MountEntry> {
    std::fs::read("/proc/self/mountinfo")
        .map(|t| parse(&t))
        .unwrap_or_default()
}

pub fn parse(text: &[u8]) -> Vec<MountEntry> {
    text.split(|&b| b == b'\n').filter_map(parse_line).collect()
}

fn parse_line(line: &[u8]) -> Option<MountEntry> {
    let fields: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
    let dash = fields.iter().position(|f| *f == b"-")?;
    let num = |f: &[u8]| std::str::from_utf8(f).ok()?.parse().ok();
    Some(MountEntry {
        id: num(fields.first()?)?,
        parent: num(fields.get(1)?)?,
        mountpoint: unescape(fields.get(4)?),
        fstype: String::from_utf8_lossy(fields.get(dash + 1)?).into_owned(),
        source: unescape(fields.get(dash + 2)?),
        super_options: unescape(fields.get(dash + 3).copied().unwrap_or_default()),
    })
}

/// The mount a lookup of `path` reaches: of the mounts on it, the one no other is stacked on.
pub fn topmost_at<'a>(table: &'a [MountEntry], path: &Path) -> Option<&'a MountEntry> {
    use std::os::unix::ffi::OsStrExt;
    let wanted = path.as_os_str().as_bytes();
    let here: Vec<&MountEntry> = table.iter().filter(|m| m.mountpoint == wanted).collect();
    here.iter()
        .rev()
        .find(|m| !here.iter().any(|o| o.parent == m.id && o.id != m.id))
        .copied()
}

/// Whether anything is mounted on `path`.
pub fn is_mounted(path: &Path) -> bool {
    topmost_at(&read(), path).is_some()
}

/// Whether some overlay in the table is the one strata mounted with this source tag, or uses
/// this upper dir.
pub fn overlay_in_use(table: &[MountEntry], source: &str, upper: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    table.iter().any(|m| {
        m.source == source.as_bytes()
            || (m.fstype.contains("overlay")
                && m.upper_dir().as_deref() == Some(upper.as_os_str().as_bytes()))
    })
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo` (octal); names are bytes.
fn unescape(field: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        let octal = field
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|b| (b'0'..=b'7').contains(b)));
        match (field[i], octal) {
            (b'\\', Some(d)) => {
                let v = u32::from(d[0] - b'0') * 64
                    + u32::from(d[1] - b'0') * 8
                    + u32::from(d[2] - b'0');
                out.push(v as u8);
                i += 4;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unescaped_as_bytes() {
        assert_eq!(unescape(b"/tmp/a\\040b"), b"/tmp/a b");
        assert_eq!(unescape("/tmp/café".as_bytes()), "/tmp/café".as_bytes());
        assert_eq!(unescape(b"/x\\134y"), b"/x\\y");
        assert_eq!(unescape(b"/end\\"), b"/end\\");
    }

    const TABLE: &[u8] = b"22 1 0:21 / / rw shared:1 - ext4 /dev/vda rw\n\
30 22 0:40 / /mnt/m rw,nosuid,nodev shared:5 - overlay strata-00ff rw,lowerdir+=/s/l1,upperdir=/s/mounts/00ff/upper,workdir=/s/mounts/00ff/work\n\
31 30 0:41 / /mnt/m rw - tmpfs tmpfs rw,size=1024k\n\
32 22 0:42 / /mnt/a\\040b rw - overlay overlay rw,upperdir=/other/upper\n";

    #[test]
    fn the_topmost_mount_is_the_one_stacked_last() {
        let t = parse(TABLE);
        assert_eq!(t.len(), 4);
        let top = topmost_at(&t, Path::new("/mnt/m")).unwrap();
        assert_eq!(top.fstype, "tmpfs");
        assert_eq!(
            topmost_at(&t, Path::new("/mnt/a b")).unwrap().fstype,
            "overlay"
        );
        assert!(topmost_at(&t, Path::new("/mnt")).is_none());
    }

    #[test]
    fn strata_overlays_are_known_by_source_or_upper_dir() {
        let t = parse(TABLE);
        assert!(overlay_in_use(&t, "strata-00ff", Path::new("/nowhere")));
        assert!(overlay_in_use(
            &t,
            "strata-1234",
            Path::new("/s/mounts/00ff/upper")
        ));
        assert!(overlay_in_use(&t, "strata-1234", Path::new("/other/upper")));
        assert!(!overlay_in_use(
            &t,
            "strata-1234",
            Path::new("/s/mounts/1234/upper")
        ));
    }
}
