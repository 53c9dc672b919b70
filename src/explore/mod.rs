//! The explore commands' pure logic: what a layer stack wastes, and dive's CI rules.

pub mod dive_ci;
pub mod waste;
