//! `pack cosign`: verify a signed bundle, add this packer's signature of its manifest, write it
//! back (only `manifest.json.asc` changes) with a new receipt.

use sigbundle::cosign::cosign;

use super::check_options;
use crate::args::pack::CosignArgs;
use crate::exit::{CommandResult, Outcome};
use crate::printer::print_json;
use crate::{errln, outln};

pub fn run(a: CosignArgs) -> CommandResult {
    let opts = check_options(&a.check, &a.bundle, false)?;
    let signer = super::pack_key::signer(&a.sign_key)?;
    let output = a.output.clone().unwrap_or_else(|| a.bundle.clone());
    let done = cosign(&a.bundle, &output, &signer, &opts)?;
    if a.json {
        print_json(&done);
    } else {
        outln!("{}", done.sha256);
        errln!(
            "co-signed {} by {}: {} packer signature(s) in {}; bundle sha256 {}, receipt {}",
            output.display(),
            done.signer,
            done.signatures,
            sigbundle::bundle::MANIFEST_SIG,
            done.sha256,
            done.receipt
        );
        errln!(
            "next: unpack verify {} --packer-key … --require-signers {}",
            output.display(),
            done.signatures
        );
    }
    Ok(Outcome::Success)
}
