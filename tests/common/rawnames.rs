//! Names that are not UTF-8: an image whose entries, symlink targets, hardlinks and whiteouts
//! use raw bytes, and a reader that gives a tree's names as bytes (the usual tree readers
//! decode names lossily, which would hide two names merging).

use std::collections::BTreeMap;
use std::path::Path;

use super::Fixture;

/// One layer tar whose names are raw bytes: (path, what) with what = file content, `->target`
/// for a symlink, `=>target` for a hardlink, `/` for a directory, `wh` for a whiteout of path.
pub fn raw_name_tar(entries: &[(&[u8], &[u8])]) -> Vec<u8> {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let mut b = tar::Builder::new(Vec::new());
    for (path, what) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        h.set_mtime(1_600_000_000);
        h.set_uid(0);
        h.set_gid(0);
        let path = Path::new(OsStr::from_bytes(path));
        if let Some(target) = what.strip_prefix(b"->") {
            h.set_entry_type(tar::EntryType::Symlink);
            h.set_size(0);
            b.append_link(&mut h, path, OsStr::from_bytes(target))
                .unwrap();
        } else if let Some(target) = what.strip_prefix(b"=>") {
            h.set_entry_type(tar::EntryType::Link);
            h.set_size(0);
            b.append_link(&mut h, path, OsStr::from_bytes(target))
                .unwrap();
        } else if *what == b"/" {
            h.set_entry_type(tar::EntryType::Directory);
            h.set_mode(0o755);
            h.set_size(0);
            b.append_data(&mut h, path, std::io::empty()).unwrap();
        } else {
            h.set_entry_type(tar::EntryType::Regular);
            h.set_size(what.len() as u64);
            b.append_data(&mut h, path, *what).unwrap();
        }
    }
    b.into_inner().unwrap()
}

/// Everything below `root` as raw path bytes → `/`, `->target` or the content.
pub fn raw_tree(root: &Path) -> BTreeMap<Vec<u8>, Vec<u8>> {
    use std::os::unix::ffi::OsStrExt;
    let mut out = BTreeMap::new();
    let mut todo = vec![(root.to_path_buf(), Vec::new())];
    while let Some((dir, rel)) = todo.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            let mut path = rel.clone();
            if !path.is_empty() {
                path.push(b'/');
            }
            path.extend_from_slice(e.file_name().as_bytes());
            let ft = e.file_type().unwrap();
            let what = if ft.is_dir() {
                todo.push((e.path(), path.clone()));
                b"/".to_vec()
            } else if ft.is_symlink() {
                let mut t = b"->".to_vec();
                t.extend_from_slice(std::fs::read_link(e.path()).unwrap().as_os_str().as_bytes());
                t
            } else {
                std::fs::read(e.path()).unwrap()
            };
            out.insert(path, what);
        }
    }
    out
}

/// A two-layer image with raw-byte names (Latin-1 ones, a lone 0xF4, a real U+10FF41 next to
/// `realA`), and the merged tree it must give, by raw path.
pub fn raw_names_image(name: &str) -> (Fixture, BTreeMap<Vec<u8>, Vec<u8>>) {
    let lower = raw_name_tar(&[
        (b"d\xff", b"/"),
        (b"d\xff/caf\xe9", b"e9\n"),
        (b"d\xff/caf\xe8", b"e8\n"),
        (b"caf\xe9", b"top\n"),
        (b"ln\xfe", b"->d\xff/caf\xe9"),
        (b"hl\xfd", b"=>d\xff/caf\xe8"),
        ("real\u{10FF41}".as_bytes(), b"genuine\n"),
        (b"realA", b"plain A\n"),
        (b"x\xf4", b"lone lead byte\n"),
    ]);
    let upper = raw_name_tar(&[(b"d\xff/.wh.caf\xe8", b"")]);
    let fx = super::sandbox::image_of(
        name,
        vec![
            super::layer::LayerSpec::from_tar(lower, super::layer::Compression::Gzip),
            super::layer::LayerSpec::from_tar(upper, super::layer::Compression::None),
        ],
        super::sandbox::Format::Oci,
    );
    let want: BTreeMap<Vec<u8>, Vec<u8>> = [
        (&b"d\xff"[..], &b"/"[..]),
        (b"d\xff/caf\xe9", b"e9\n"),
        (b"caf\xe9", b"top\n"),
        (b"ln\xfe", b"->d\xff/caf\xe9"),
        // Its target is deleted above; the link keeps the content it had.
        (b"hl\xfd", b"e8\n"),
        ("real\u{10FF41}".as_bytes(), b"genuine\n"),
        (b"realA", b"plain A\n"),
        (b"x\xf4", b"lone lead byte\n"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_vec(), v.to_vec()))
    .collect();

    (fx, want)
}
