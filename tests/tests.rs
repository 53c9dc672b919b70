//! The integration tests, as one crate: one binary to build and link instead of one per file,
//! each file below a module (`cargo test --test integration mount::` runs tests/mount.rs).
//! `common` comes first, with `#[macro_use]`, so every module has its `args!`.
//!
//! The modules' tests run as threads of one process: nothing here may change process-wide
//! state (environment, current directory, umask, signal dispositions). Each private daemon
//! (tests/docker_root.rs, tests/docker_history.rs, tests/containers_storage.rs) lives in a
//! temporary directory of its own, so they can run side by side.

#[macro_use]
mod common;

mod bad_input;
mod chainid;
mod completions;
mod containers_storage;
mod corpus;
mod docker_history;
mod docker_root;
mod errors_guide;
mod explore;
mod extract;
mod extract_adversarial;
mod extract_corpus;
mod extract_lies;
mod fixtures;
mod fuzz_regressions;
mod help;
mod history;
mod images;
mod inspect;
mod inspect_config;
mod legacy_v1;
mod man;
mod mount;
mod mount_classic;
mod output_fit;
mod shell;
mod store_bounds;
mod store_ls;
mod store_safety;
mod verify;
mod waste;
