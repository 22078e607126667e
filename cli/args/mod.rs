//! The binaries' arguments, as clap parses them.

pub mod pack;
pub mod unpack;
