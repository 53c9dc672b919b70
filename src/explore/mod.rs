//! Exploring an image without extracting it: the merged tree in memory with the layer each
//! path comes from (`ls`, `cat`), what each layer changed (`diff`), and the space wasted the
//! way dive counts it (`waste`, with dive's CI rules).

pub mod apply;
pub mod dive_ci;
pub mod node;
pub mod scan;
pub mod tree;
pub mod waste;
