//! What a hardlink's target is below the link's own place: the one rule both ways of making such
//! a link follow. The extraction reads the earlier layer tars again for the targets an upper
//! layer replaced (`old_targets.rs`); the overlay layer store looks in the unpacked directories
//! of the layers below (`crate::overlay::layer`). Each asks the layers from the link's place
//! down, nearest first, what they show at the target's path ([`AtLayer`]), and [`next`] says
//! what the answer means: the target found, no target, the same layer again for another path
//! (the layer made the target a second name of it), or the next layer down.

use std::io;

/// How many hardlinks in a row one layer may chain before a link to their end is refused.
pub const MAX_HOPS: usize = 64;

/// What one layer shows at the path a hardlink's target has there.
#[derive(Debug, PartialEq, Eq)]
pub enum AtLayer<E> {
    /// Nothing: the layers further down decide.
    Absent,
    /// The layer has it (`E`: where, for the caller).
    Found(E),
    /// The layer made the path a second name of `target`, at its entry `position`: what that
    /// path held there, in the same layer.
    Linked { target: String, position: usize },
    /// The layer deleted or hid it (a whiteout at or above it, an opaque directory or a
    /// non-directory above it) or replaced it with something no link can stand for.
    Gone,
}

/// What a link's search does after a layer's answer.
#[derive(Debug, PartialEq, Eq)]
pub enum Next<E> {
    /// The target is found.
    Done(E),
    /// There is no target: the link is refused.
    Refused,
    /// Ask the same layer again, for `target` as of its entry `position`.
    Again { target: String, position: usize },
    /// Ask the next layer down.
    Down,
}

/// What `at` means for the search, a layer's answer after `hops` earlier answers of the same
/// layer that sent it on to another path.
pub fn next<E>(at: AtLayer<E>, hops: usize) -> Next<E> {
    match at {
        AtLayer::Absent => Next::Down,
        AtLayer::Found(e) => Next::Done(e),
        AtLayer::Gone => Next::Refused,
        AtLayer::Linked { .. } if hops >= MAX_HOPS => Next::Refused,
        AtLayer::Linked { target, position } => Next::Again { target, position },
    }
}

/// The search for one path through `layers` layers, nearest first, each answering with `look`
/// (layer, path): what the nearest layer that has it shows, unless one above hides it.
pub fn resolve<E>(
    layers: usize,
    path: &str,
    mut look: impl FnMut(usize, &str) -> io::Result<AtLayer<E>>,
) -> io::Result<Option<E>> {
    let mut wanted = std::borrow::Cow::Borrowed(path);
    let (mut layer, mut hops) = (0, 0);
    while layer < layers {
        match next(look(layer, &wanted)?, hops) {
            Next::Done(e) => return Ok(Some(e)),
            Next::Refused => return Ok(None),
            Next::Again { target, .. } => {
                wanted = target.into();
                hops += 1;
            }
            Next::Down => {
                layer += 1;
                hops = 0;
            }
        }
    }
    Ok(None)
}

/// Why a hardlink is refused when no layer has its target, worded the same everywhere.
pub fn no_target(target: &str) -> String {
    format!(
        "refused: the hardlink's target `{}` is not a file of this or a lower layer",
        crate::rawname::escape_for_message(target, 200)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nearest_layer_that_answers_decides() {
        let answers = |layer: usize, path: &str| {
            Ok(match (layer, path) {
                (0, "t") => AtLayer::Absent,
                (1, "t") => AtLayer::Linked {
                    target: "u".into(),
                    position: 3,
                },
                (1, "u") => AtLayer::Found((1, "u".to_string())),
                _ => AtLayer::Gone,
            })
        };
        assert_eq!(resolve(3, "t", answers).unwrap(), Some((1, "u".into())));
        assert_eq!(resolve(3, "x", answers).unwrap(), None);
        assert_eq!(resolve::<()>(0, "t", |_, _| unreachable!()).unwrap(), None);
    }

    #[test]
    fn a_chain_longer_than_max_hops_is_refused() {
        let chain = |_: usize, path: &str| {
            let n: usize = path.parse().unwrap();
            Ok(if n == MAX_HOPS + 1 {
                AtLayer::Found(())
            } else {
                AtLayer::Linked {
                    target: (n + 1).to_string(),
                    position: 0,
                }
            })
        };
        assert_eq!(resolve(1, "0", chain).unwrap(), None);
        assert_eq!(resolve(1, "1", chain).unwrap(), Some(()));
    }
}
