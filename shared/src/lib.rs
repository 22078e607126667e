//! sigbundle: carry OpenShift release-image signatures, and nothing else, across an air gap.
//!
//! The library holds all logic; the `pack` and `unpack` binaries (and their command layer,
//! `cli/`) parse arguments, call into it and map its errors to exit codes
//! ([`error::ExitClass`]).
#![forbid(unsafe_code)]
// Text from bundles, manifests and logs is cut by character, never by byte index: a byte
// range inside a multi-byte character panics (issue 11, item 5).
#![deny(clippy::string_slice)]

pub mod audit;
pub mod bundle;
pub mod carried;
pub mod carry;
pub mod cluster;
pub mod configmap;
pub mod cosign;
pub mod digest;
pub mod error;
pub mod exit;
pub mod fleet;
pub mod fsutil;
pub mod graph;
pub mod isc;
pub mod keyring;
pub mod manifest;
pub mod packer_key;
pub mod packing;
pub mod registry;
pub mod resolve;
pub mod sigstore;
pub mod step;
pub mod store;
pub mod text;
pub mod unpack;
pub mod update_path;
pub mod verify;
