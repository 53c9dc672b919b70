//! Extracting the merged root filesystem of an image, safely.

pub mod budget;
pub mod dir_sink;
pub mod engine;
pub mod entry;
pub mod fs;
mod layer_stream;
pub mod limits;
mod link_order;
pub mod link_target;
pub mod merge;
mod old_targets;
pub mod path_key;
pub mod pipe;
pub mod remove;
pub mod retar;
pub mod rules;
pub mod shared_read;
pub mod space;
pub mod spill;
pub mod tally;
pub mod tar_sink;
