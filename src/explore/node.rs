//! One path of the merged tree as the explore commands see it: its type, metadata, the layer
//! whose entry it is, and where its bytes lie.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeType {
    File,
    Dir,
    Symlink,
    Hardlink,
    Char,
    Block,
    Fifo,
}

impl NodeType {
    pub fn name(self) -> &'static str {
        match self {
            NodeType::File => "file",
            NodeType::Dir => "dir",
            NodeType::Symlink => "symlink",
            NodeType::Hardlink => "hardlink",
            NodeType::Char => "char",
            NodeType::Block => "block",
            NodeType::Fifo => "fifo",
        }
    }

    /// The first letter of `ls -l`'s mode column.
    fn letter(self) -> char {
        match self {
            NodeType::File | NodeType::Hardlink => '-',
            NodeType::Dir => 'd',
            NodeType::Symlink => 'l',
            NodeType::Char => 'c',
            NodeType::Block => 'b',
            NodeType::Fifo => 'p',
        }
    }
}

/// Where a file's bytes lie: entry `position` of layer `layer`'s tar (for a hardlink, its
/// target's entry, as it was when the link was made).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Data {
    pub layer: u32,
    pub position: u32,
    pub size: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub kind: NodeType,
    /// Permission bits with setuid, setgid and sticky.
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub mtime: u64,
    /// The layer whose entry this path is (for a directory only a child implied: that child's).
    pub layer: usize,
    /// A symlink's target as written, or a hardlink's target path.
    pub link: Option<String>,
    pub device: Option<(u32, u32)>,
    /// A regular file's bytes, or those of the file a hardlink names.
    pub data: Option<Data>,
    /// For a hardlink: the type of what it names (a file, but also a symlink, fifo or device).
    pub target_kind: Option<NodeType>,
}

impl Node {
    /// A directory no entry describes, made as the parent of one: 0755, owned by root.
    pub fn implied_dir(layer: usize) -> Node {
        Node {
            kind: NodeType::Dir,
            mode: 0o755,
            uid: 0,
            gid: 0,
            mtime: 0,
            layer,
            link: None,
            device: None,
            data: None,
            target_kind: None,
        }
    }

    /// What the path is once hardlinks are followed: a hardlink's target type, else its own.
    pub fn file_kind(&self) -> NodeType {
        self.target_kind.unwrap_or(self.kind)
    }

    pub fn is_dir(&self) -> bool {
        self.kind == NodeType::Dir
    }

    /// Bytes this path adds to the image's size: a regular file's length; nothing for a
    /// hardlink (its bytes are counted once, at the file) or anything else.
    pub fn size(&self) -> u64 {
        match (self.kind, &self.data) {
            (NodeType::File, Some(d)) => d.size,
            _ => 0,
        }
    }

    /// `ls -l`'s mode column: `drwxr-xr-x`, `-rwsr-xr-x`, `drwxrwxrwt`.
    pub fn mode_string(&self) -> String {
        let m = self.mode;
        let mut s = String::with_capacity(10);
        s.push(self.kind.letter());
        let special = [(0o4000, 's', 'S'), (0o2000, 's', 'S'), (0o1000, 't', 'T')];
        for (i, (bit, set_x, set_no_x)) in special.iter().enumerate() {
            let shift = 6 - 3 * i;
            let rwx = (m >> shift) & 7;
            s.push(if rwx & 4 != 0 { 'r' } else { '-' });
            s.push(if rwx & 2 != 0 { 'w' } else { '-' });
            let x = rwx & 1 != 0;
            s.push(match (m & bit != 0, x) {
                (true, true) => *set_x,
                (true, false) => *set_no_x,
                (false, true) => 'x',
                (false, false) => '-',
            });
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(kind: NodeType, mode: u32) -> Node {
        Node {
            kind,
            mode,
            ..Node::implied_dir(0)
        }
    }

    #[test]
    fn mode_strings_are_those_of_ls() {
        assert_eq!(node(NodeType::Dir, 0o755).mode_string(), "drwxr-xr-x");
        assert_eq!(node(NodeType::File, 0o4755).mode_string(), "-rwsr-xr-x");
        assert_eq!(node(NodeType::File, 0o2644).mode_string(), "-rw-r-Sr--");
        assert_eq!(node(NodeType::Dir, 0o1777).mode_string(), "drwxrwxrwt");
        assert_eq!(node(NodeType::Dir, 0o1770).mode_string(), "drwxrwx--T");
        assert_eq!(node(NodeType::Symlink, 0o777).mode_string(), "lrwxrwxrwx");
        assert_eq!(node(NodeType::Char, 0o666).mode_string(), "crw-rw-rw-");
        assert_eq!(node(NodeType::Fifo, 0o600).mode_string(), "prw-------");
    }

    #[test]
    fn only_regular_files_have_a_size() {
        let data = Some(Data {
            layer: 0,
            position: 3,
            size: 42,
        });
        let file = Node {
            data,
            ..node(NodeType::File, 0o644)
        };
        let link = Node {
            data,
            ..node(NodeType::Hardlink, 0o644)
        };
        assert_eq!((file.size(), link.size()), (42, 0));
    }
}
