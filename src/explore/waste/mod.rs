//! What an image's layers waste: dive 0.13.1's figures (efficiency score, wasted bytes, image
//! size, user-wasted ratio, inefficient files), computed exactly as dive computes them, and
//! strata's own per-layer account of bytes later layers shadow or delete. Pure: fed entry lists
//! one layer at a time, bottom first, it never reads an archive.

pub mod breakdown;
pub mod dive;
pub mod go_fmt;
mod go_sort;

pub use breakdown::{Hidden, How, LayerLoss, OwnEntry};
pub use dive::{DiveEntry, InefficientFile};

/// One tar entry of a layer, as both accounts need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WasteEntry {
    /// How dive's reader sees it; `None` for an entry dive skips (a name that cleans to `.`).
    pub dive: Option<DiveEntry>,
    pub own: OwnEntry,
}

/// Takes layers bottom first.
#[derive(Debug, Default)]
pub struct Waste {
    dive: dive::Efficiency,
    own: breakdown::Breakdown,
}

/// The figures of one image.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Report {
    /// dive's efficiency score: 1 for an image that ships every path once.
    pub efficiency: f64,
    /// The bytes of every copy of every inefficient path (dive's "wasted bytes").
    pub wasted_bytes: u64,
    /// `wasted_bytes / user_size`; NaN or infinite when layers above the first are empty.
    pub user_wasted_percent: f64,
    /// The sum of every entry's header size, all layers (dive's image size).
    pub image_size: u64,
    /// The same above layer 0 (dive's "user" bytes).
    pub user_size: u64,
    /// dive's inefficient files, largest first.
    pub files: Vec<InefficientFile>,
    /// Per layer: dive's size for it, and what later layers hid of it.
    pub layers: Vec<LayerReport>,
    /// Every file a later layer hid, largest first.
    pub hidden: Vec<Hidden>,
    /// Layers whose rest dive does not count: (layer, a whiteout of a path missing below).
    pub cut_short: Vec<(usize, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LayerReport {
    pub index: usize,
    /// dive's size of the layer: the sum of its entries' header sizes.
    pub size: u64,
    #[serde(flatten)]
    pub loss: LayerLoss,
}

impl Waste {
    pub fn new() -> Waste {
        Waste::default()
    }

    pub fn add_layer(&mut self, entries: Vec<WasteEntry>) {
        let (dive, own): (Vec<_>, Vec<_>) = entries.into_iter().map(|e| (e.dive, e.own)).unzip();
        let dive: Vec<DiveEntry> = dive.into_iter().flatten().collect();
        self.dive.add_layer(&dive);
        self.own.add_layer(&own);
    }

    /// Adds a layer dive reads as empty (a docker-save layer stored as a link to another),
    /// which the breakdown still counts.
    pub fn add_layer_dive_sees_empty(&mut self, entries: Vec<WasteEntry>) {
        self.dive.add_layer(&[]);
        let own: Vec<OwnEntry> = entries.into_iter().map(|e| e.own).collect();
        self.own.add_layer(&own);
    }

    pub fn finish(self) -> Report {
        let sizes = self.dive.layer_sizes().to_vec();
        let found = self.dive.finish();
        let (losses, hidden) = self.own.finish();
        let image_size: u64 = sizes.iter().sum();
        let user_size: u64 = sizes.iter().skip(1).sum();
        Report {
            efficiency: found.score,
            wasted_bytes: found.wasted_bytes,
            user_wasted_percent: found.wasted_bytes as f64 / user_size as f64,
            image_size,
            user_size,
            files: found.files,
            layers: sizes
                .into_iter()
                .zip(losses)
                .enumerate()
                .map(|(index, (size, loss))| LayerReport { index, size, loss })
                .collect(),
            hidden,
            cut_short: found.cut_short,
        }
    }
}

#[cfg(test)]
mod tests;
