//! `pack key generate`: a packer key pair, its fingerprint on stdout; and the passphrase of a
//! packer key, from `SIGBUNDLE_KEY_PASSPHRASE` or, on a terminal, typed without echo (as `gpg`
//! asks for it).

use std::io::IsTerminal;
use std::path::Path;

use sigbundle::error::Error;
use sigbundle::fsutil::Overwrite;
use sigbundle::packer_key::{self, PackerError, PackerSigner, PASSPHRASE_ENV};

use crate::exit::{CommandResult, Outcome};
use crate::{errln, outln};

pub fn generate(name: &str, prefix: &Path, force: bool) -> CommandResult {
    let overwrite = if force { Overwrite::Always } else { Overwrite::Never };
    let passphrase = match env_passphrase() {
        Some(p) => Some(p),
        None if terminal() => new_passphrase()?,
        None => None,
    };
    let g = packer_key::generate(name, prefix, passphrase.as_deref(), overwrite)?;
    outln!("{}", g.fingerprint);
    errln!(
        "wrote {} (secret) and {} (public); give the public one to unpack --packer-key",
        g.secret_path.display(),
        g.public_path.display()
    );
    if passphrase.is_none() {
        errln!(
            "pack: warning: {} is not protected by a passphrase: anyone who can read it can sign bundles (set {PASSPHRASE_ENV}, or type one on a terminal, to protect it)",
            g.secret_path.display()
        );
    }
    Ok(Outcome::Success)
}

/// The signing key of `--sign-key`: unlocked with `SIGBUNDLE_KEY_PASSPHRASE`, or, when it is
/// unset and a terminal is attached, with a passphrase typed there.
pub fn signer(path: &Path) -> Result<PackerSigner, Error> {
    let env = env_passphrase();
    match PackerSigner::from_file(path, env.as_deref()) {
        Err(PackerError::NeedPassphrase { .. }) if env.is_none() && terminal() => {
            let typed = prompt(&format!("Passphrase for {}: ", path.display()))?;
            Ok(PackerSigner::from_file(path, Some(&typed))?)
        }
        other => Ok(other?),
    }
}

/// The passphrase from the environment (never from the command line).
fn env_passphrase() -> Option<String> {
    std::env::var(PASSPHRASE_ENV).ok().filter(|p| !p.is_empty())
}

/// Whether a person can be asked: stdin and stderr are a terminal.
fn terminal() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// A new passphrase, typed twice without echo; empty for none.
fn new_passphrase() -> Result<Option<String>, Error> {
    let first = prompt("Passphrase for the new packer key (empty for none): ")?;
    if first.is_empty() {
        return Ok(None);
    }
    if prompt("Repeat it: ")? != first {
        return Err(Error::Usage("the two passphrases differ; no key was written".into()));
    }
    Ok(Some(first))
}

/// One line typed on the terminal without echo.
fn prompt(text: &str) -> Result<String, Error> {
    rpassword::prompt_password(text)
        .map_err(|e| Error::Usage(format!("cannot read a passphrase from the terminal: {e}")))
}
