//! The end of a merge: the hardlinks that waited for their target's final content, made in an
//! order where each finds what it needs, and those whose target an upper layer replaced or
//! deleted, given the content the target had in the link's own layer.

use std::collections::HashSet;

use super::super::engine::PendingLink;
use super::super::entry::problem_of;
use super::super::link_order::chain_order;
use super::super::link_target::no_target;
use super::super::old_targets::copy_old_targets;
use super::Applier;
use crate::error::{ArchiveError, Problem};
use crate::image::Image;

impl Applier<'_> {
    /// Makes the waiting hardlinks once every layer is read.
    pub(super) fn settle_links(&mut self) -> Result<(), ArchiveError> {
        let image = self.image;
        let (ready, unresolved) = self.engine.finish_links();
        // A ready link whose target is itself a waiting link's path is made after that link:
        // made first, it would get what the path held before the waiting link replaced it.
        let waiting: HashSet<String> = ready
            .iter()
            .chain(&unresolved)
            .map(|l| l.path.clone())
            .collect();
        let (now, after): (Vec<PendingLink>, Vec<PendingLink>) = ready
            .into_iter()
            .partition(|l| !waiting.contains(&l.target));
        // The re-read of old targets goes first: it may make a path a second name of the file
        // it finds (`name_alike`), and a link to that path must get the joined file.
        if !unresolved.is_empty() {
            let made = self.engine.made_links();
            let engine = &self.engine;
            let survivor = |path: &str| engine.survivor(path);
            let left = copy_old_targets(
                image,
                unresolved,
                &made,
                &mut *self.sink,
                self.sparse,
                self.limits,
                &survivor,
            )?;
            if let Some(link) = left.first() {
                return Err(unsatisfied(image, link));
            }
        }
        for link in now.iter().chain(chain_order(&after)) {
            self.hardlink(link)?;
        }
        Ok(())
    }

    fn hardlink(&mut self, link: &PendingLink) -> Result<(), ArchiveError> {
        self.sink
            .hardlink(&link.path, &link.target, link.replace)
            .map_err(|e| {
                ArchiveError::new(
                    &self.image.source_path,
                    Some(format!("hardlink {}", link.path)),
                    problem_of(e),
                )
            })
    }
}

/// The refusal of a hardlink no layer has a target for.
fn unsatisfied(image: &Image, link: &PendingLink) -> ArchiveError {
    let layer = &image.layers[link.layer];
    ArchiveError::new(
        &image.source_path,
        Some(format!(
            "layer {} ({}): entry `{}`",
            link.layer,
            layer.path,
            crate::rawname::escape_for_message(&link.path, 200)
        )),
        Problem::BadContent {
            what: "hardlink",
            detail: no_target(&link.target),
        },
    )
}
