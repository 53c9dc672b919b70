//! Checking where images live: a Docker data root's records against its files
//! ([`check`]), and the space a directory tree takes there ([`usage`]).

pub mod check;
pub mod check_cs;
pub mod images;
pub mod usage;
