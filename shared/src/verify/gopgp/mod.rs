//! The cluster's own OpenPGP and JSON reading, ported from the Go code it runs (library-go
//! `pkg/verify` on `golang.org/x/crypto/openpgp`, `compress/*` and `encoding/json` of Go 1.25), so
//! that sigbundle's verdict on any bytes is the cluster's. Each file names the Go code it follows;
//! the differential campaign (`scripts/difftest/`) checks the two against each other.

pub mod bzip2;
pub mod crypto;
pub mod flate;
pub mod io;
pub mod json;
pub mod keys;
pub mod message;
pub mod packet;
