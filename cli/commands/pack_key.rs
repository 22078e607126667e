//! `pack key generate`: a packer key pair, its fingerprint on stdout.

use std::path::Path;

use sigbundle::fsutil::Overwrite;
use sigbundle::packer_key;

use super::passphrase;
use crate::exit::{CommandResult, Outcome};
use crate::{errln, outln};

pub fn generate(name: &str, prefix: &Path, force: bool) -> CommandResult {
    let overwrite = if force { Overwrite::Always } else { Overwrite::Never };
    let g = packer_key::generate(name, prefix, passphrase().as_deref(), overwrite)?;
    outln!("{}", g.fingerprint);
    errln!(
        "wrote {} (secret) and {} (public); give the public one to unpack --packer-key",
        g.secret_path.display(),
        g.public_path.display()
    );
    Ok(Outcome::Success)
}
