//! `pack keys` and `unpack keys`: the release keys signatures are checked against, entry by
//! entry, with where each entry came from.

use super::release_trust;
use crate::args::KeysArgs;
use crate::errln;
use crate::exit::{CommandResult, Outcome};
use crate::printer::{print_json, write_text};

pub fn run(tool: &str, a: KeysArgs) -> CommandResult {
    let trust = release_trust(tool, &a.keyring)?;
    let entries = trust.describe();
    if a.json {
        print_json(&crate::json::Keys { entries: &entries });
        return Ok(Outcome::Success);
    }
    write_text(&crate::render::trusted_keys(&entries));
    let keys: usize = entries.iter().map(|e| e.keys.len()).sum();
    let rule = match entries.len() {
        1 => "a release needs a valid signature by any one of them".to_string(),
        n => format!("a release needs a valid signature from each of the {n} entries"),
    };
    errln!(
        "{keys} key(s) in {} entr{}; {rule}",
        entries.len(),
        if entries.len() == 1 { "y" } else { "ies" }
    );
    Ok(Outcome::Success)
}
