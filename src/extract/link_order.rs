//! The order in which the hardlinks settled at the end of an extraction are made.

use std::collections::{HashMap, HashSet};

use super::engine::PendingLink;

/// `links` ordered so that a link whose target is another one's path comes after it (chains
/// `c -> b -> a` are made from the end nearest the file); members of a cycle keep their order.
pub(super) fn chain_order(links: &[PendingLink]) -> Vec<&PendingLink> {
    let at: HashMap<&str, usize> = links
        .iter()
        .enumerate()
        .map(|(i, l)| (l.path.as_str(), i))
        .collect();
    // Depth: how many links of `links` lie between a link and the file, found by walking each
    // chain once (depths met on the way are reused; a cycle ends the walk).
    let mut depth: Vec<Option<usize>> = vec![None; links.len()];
    for start in 0..links.len() {
        let mut walk = Vec::new();
        let mut seen = HashSet::new();
        let mut i = start;
        let base = loop {
            if let Some(d) = depth[i] {
                break d + 1;
            }
            if !seen.insert(i) {
                break 0;
            }
            walk.push(i);
            match at.get(links[i].target.as_str()) {
                Some(&next) => i = next,
                None => break 0,
            }
        };
        for (k, &i) in walk.iter().rev().enumerate() {
            depth[i] = Some(base + k);
        }
    }
    let mut order: Vec<usize> = (0..links.len()).collect();
    order.sort_by_key(|&i| depth[i]);
    order.into_iter().map(|i| &links[i]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(path: &str, target: &str) -> PendingLink {
        PendingLink {
            path: path.into(),
            target: target.into(),
            layer: 0,
            position: 0,
            replace: false,
        }
    }

    fn paths(links: Vec<&PendingLink>) -> Vec<&str> {
        links.into_iter().map(|l| l.path.as_str()).collect()
    }

    #[test]
    fn chains_are_made_from_the_end_nearest_the_file() {
        let links = [
            link("d", "c"),
            link("x", "file"),
            link("c", "b"),
            link("b", "a"),
        ];
        assert_eq!(paths(chain_order(&links)), ["x", "b", "c", "d"]);
    }

    #[test]
    fn a_cycle_keeps_its_order_and_a_long_chain_is_walked_once() {
        let cycle = [link("p", "q"), link("q", "p"), link("r", "p")];
        let order = paths(chain_order(&cycle));
        assert_eq!(order.len(), 3);
        assert_eq!(
            order[2], "r",
            "a link into the cycle comes after it: {order:?}"
        );
        let long: Vec<PendingLink> = (0..20_000)
            .rev()
            .map(|i| link(&format!("l{}", i + 1), &format!("l{i}")))
            .collect();
        let order = paths(chain_order(&long));
        assert_eq!(order.first(), Some(&"l1"));
        assert_eq!(order.last(), Some(&"l20000"));
    }
}
