//! Checking where images live: a Docker data root's records against its files
//! ([`check`]), the space a directory tree takes there ([`usage`]), and the data root's disk
//! usage as `docker system df` reports it ([`df`]).

pub mod bolt;
pub mod buildcache;
pub mod check;
pub mod df;
pub mod images;
pub mod usage;
