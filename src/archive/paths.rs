//! Paths inside an archive: normalised, relative, never above the archive root; links between
//! entries resolved inside the archive with a hop limit.

use std::collections::HashMap;
use std::io::Read;

use crate::error::Problem;

pub const LINK_HOPS: usize = 16;

/// Archive paths are relative, `/`-separated, without `.` or empty parts; `..` may not climb
/// above the archive root.
pub fn normalize(path: &str) -> Result<String, Problem> {
    if path.starts_with('/') {
        return Err(Problem::PathEscapes);
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop().ok_or(Problem::PathEscapes)?;
            }
            p => parts.push(p),
        }
    }
    Ok(parts.join("/"))
}

pub fn parent_of(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

pub fn resolve_links(links: &HashMap<String, String>, path: &str) -> Result<String, Problem> {
    let mut current = path.to_string();
    for _ in 0..LINK_HOPS {
        match links.get(&current) {
            None => return Ok(current),
            Some(target) => current = target.clone(),
        }
    }
    Err(Problem::LinkLoop)
}

/// Where a link entry of the outer tar points, as an archive path; `None` if outside.
pub fn link_target<R: Read>(entry: &tar::Entry<'_, R>, name: &str) -> Option<String> {
    let target = entry.link_name_bytes()?;
    let target = String::from_utf8_lossy(&target).into_owned();
    match entry.header().entry_type() {
        // Hardlink names are relative to the archive root; symlinks to the link's directory.
        tar::EntryType::Link => normalize(&target).ok(),
        _ => {
            let parent = parent_of(name);
            normalize(&format!("{parent}/{target}")).ok()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_keeps_paths_inside() {
        assert_eq!(normalize("./a/./b//c").unwrap(), "a/b/c");
        assert_eq!(normalize("a/../b").unwrap(), "b");
        assert!(matches!(normalize("../x"), Err(Problem::PathEscapes)));
        assert!(matches!(normalize("a/../../x"), Err(Problem::PathEscapes)));
        assert!(matches!(
            normalize("/etc/passwd"),
            Err(Problem::PathEscapes)
        ));
    }

    #[test]
    fn links_resolve_and_loops_stop() {
        let mut links = HashMap::new();
        links.insert("a".to_string(), "b".to_string());
        links.insert("b".to_string(), "c".to_string());
        assert_eq!(resolve_links(&links, "a").unwrap(), "c");
        links.insert("c".to_string(), "a".to_string());
        assert!(matches!(resolve_links(&links, "a"), Err(Problem::LinkLoop)));
    }
}
