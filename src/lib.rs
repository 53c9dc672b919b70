//! strata: open container image archives and show what is inside them, layer by layer.
//!
//! Data flows one way: [`archive`] opens any supported archive and lists its images, [`image`]
//! loads one into a format-independent model, [`layer`] reads each layer once, [`history`] lines
//! the build history up with the layers, and the binary's `cmd` modules render the result.

pub mod archive;
pub mod digest;
pub mod disk_usage;
pub mod entries;
pub mod error;
pub mod explore;
pub mod extract;
pub mod history;
pub mod image;
pub mod layer;
pub mod overlay;
pub mod parents;
pub mod proc;
pub mod progress;
pub mod rawname;
pub mod render;
pub mod report;
pub mod storage;
pub mod targuard;

pub use error::{ArchiveError, Problem};
