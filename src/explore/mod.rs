//! Exploring an image without extracting it: the merged tree in memory with the layer each
//! path comes from (`ls`, `cat`), and what each layer changed (`diff`).

pub mod apply;
pub mod node;
pub mod scan;
pub mod tree;
