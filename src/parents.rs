//! Parent images inside one `docker save`: manifest.json may name, for an image, the image ID of
//! the image it was built on (`"Parent"`). `docker load` links the two only when the parent is
//! another image of the same archive, and refuses the archive when the parent's history is not
//! the child's minus its last step. `docker history` then shows, from the top row down, the
//! image's ID, its parent's, its grandparent's, as far as the links go.

use chrono::DateTime;
use oci_spec::image::{History, ImageConfiguration};

use crate::archive::{Candidate, Container, Location};
use crate::digest::Digest;

/// The parent IDs of an image, nearest first, following `"Parent"` links through the other
/// images of the archive. A link that docker would refuse ends the chain with a warning.
pub fn parent_chain(
    container: &Container,
    others: &[Candidate],
    own_id: &Digest,
    own_parent: Option<&str>,
    own_config: &ImageConfiguration,
    warnings: &mut Vec<String>,
) -> Vec<Digest> {
    let mut chain: Vec<Digest> = Vec::new();
    let mut child_id = own_id.clone();
    let mut child_history = history_of(own_config);
    let mut next = own_parent.map(str::to_string);
    while let Some(wanted) = next.take() {
        let Ok(wanted) = Digest::parse(&wanted) else {
            break;
        };
        // A parent docker would not find among the loaded images is dropped silently, as
        // docker drops it; so is a loop.
        if wanted == *own_id || chain.contains(&wanted) {
            break;
        }
        let Some((config, parent)) = others
            .iter()
            .filter(|c| c.config_digest.as_ref() == Some(&wanted))
            .find_map(|c| read_docker_config(container, c))
        else {
            break;
        };
        let history = history_of(&config);
        if !valid_parent(&child_history, &history) {
            warnings.push(format!(
                "{}: manifest.json names {} as the parent of {}, but the parent's history is not the child's minus one step (docker load refuses this archive); the parent is not shown",
                container.display,
                wanted.short(),
                child_id.short()
            ));
            break;
        }
        chain.push(wanted.clone());
        child_id = wanted;
        child_history = history;
        next = parent;
    }
    chain
}

fn history_of(config: &ImageConfiguration) -> Vec<History> {
    config.history().clone().unwrap_or_default()
}

fn read_docker_config(
    container: &Container,
    c: &Candidate,
) -> Option<(ImageConfiguration, Option<String>)> {
    let Location::Docker {
        config_path,
        parent,
        ..
    } = &c.location
    else {
        return None;
    };
    let bytes = container.read_json_file(config_path, "image config").ok()?;
    let config = serde_json::from_slice(&bytes).ok()?;
    Some((config, parent.clone()))
}

/// docker's rule: both without history, or the child has exactly one step more and the others
/// are the parent's (the same times, however written, and the same text).
pub fn valid_parent(child: &[History], parent: &[History]) -> bool {
    if child.is_empty() && parent.is_empty() {
        return true;
    }
    if child.len() != parent.len() + 1 {
        return false;
    }
    parent.iter().zip(child).all(|(p, c)| same_step(p, c))
}

fn same_step(a: &History, b: &History) -> bool {
    let time = |h: &History| {
        h.created()
            .as_deref()
            .map(|t| DateTime::parse_from_rfc3339(t).map_err(|_| t.to_string()))
    };
    let same_time = match (time(a), time(b)) {
        (None, None) => true,
        (Some(Ok(x)), Some(Ok(y))) => x == y,
        (Some(x), Some(y)) => x == y,
        _ => false,
    };
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    same_time
        && text(a.author()) == text(b.author())
        && text(a.created_by()) == text(b.created_by())
        && text(a.comment()) == text(b.comment())
        && a.empty_layer().unwrap_or(false) == b.empty_layer().unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::image::HistoryBuilder;

    fn step(created: &str, by: &str) -> History {
        HistoryBuilder::default()
            .created(created.to_string())
            .created_by(by.to_string())
            .build()
            .unwrap()
    }

    #[test]
    fn a_parent_has_the_childs_history_minus_one_step() {
        let a = step("2020-01-01T00:00:00Z", "ADD a");
        let b = step("2020-01-01T00:01:00Z", "RUN b");
        assert!(valid_parent(
            &[a.clone(), b.clone()],
            std::slice::from_ref(&a)
        ));
        assert!(valid_parent(&[], &[]));
        // Two steps more, or a different step, or the same time written another way.
        assert!(!valid_parent(
            &[a.clone(), b.clone(), b.clone()],
            std::slice::from_ref(&a)
        ));
        assert!(!valid_parent(
            &[b.clone(), b.clone()],
            std::slice::from_ref(&a)
        ));
        let same_time = step("2020-01-01T01:00:00+01:00", "ADD a");
        assert!(valid_parent(&[a, b], &[same_time]));
    }

    #[test]
    fn empty_layer_false_is_the_same_as_no_empty_layer() {
        let plain = step("2020-01-01T00:00:00Z", "ADD a");
        let mut explicit = plain.clone();
        explicit.set_empty_layer(Some(false));
        assert!(same_step(&plain, &explicit));
        explicit.set_empty_layer(Some(true));
        assert!(!same_step(&plain, &explicit));
    }
}
