//! `completions` and `man`: shell completion scripts and manual pages, generated from the same
//! clap definitions that parse the arguments, so they cannot drift from them.

use std::path::Path;

use sigbundle::error::Error;
use sigbundle::fsutil::Batch;

use crate::args::{CompletionsArgs, ManArgs};
use crate::errln;
use crate::exit::{CommandResult, Outcome};
use crate::printer::write_stdout;

/// The completion script of `cmd` for a shell, on stdout.
pub fn completions(mut cmd: clap::Command, a: CompletionsArgs) -> CommandResult {
    let name = cmd.get_name().to_string();
    let mut script = Vec::new();
    clap_complete::generate(a.shell, &mut cmd, name, &mut script);
    write_stdout(&script)?;
    Ok(Outcome::Success)
}

/// A page for `cmd` and one for each subcommand (`pack-key-generate.1`), written together.
pub fn man(cmd: clap::Command, a: ManArgs) -> CommandResult {
    std::fs::create_dir_all(&a.dir).map_err(|e| Error::Usage(format!("cannot create {}: {e}", a.dir.display())))?;
    let batch = Batch::new();
    let mut names = Vec::new();
    page(&batch, &a.dir, cmd, &mut names)?;
    batch.commit()?;
    errln!(
        "wrote {} manual page(s) in {}: {}",
        names.len(),
        a.dir.display(),
        names.join(", ")
    );
    Ok(Outcome::Success)
}

fn page(batch: &Batch, dir: &Path, cmd: clap::Command, names: &mut Vec<String>) -> Result<(), Error> {
    let cmd = cmd.disable_help_subcommand(true);
    let name = format!("{}.1", cmd.get_display_name().unwrap_or(cmd.get_name()));
    let mut roff = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .render(&mut roff)
        .map_err(|e| Error::Usage(format!("cannot render {name}: {e}")))?;
    batch.stage(&dir.join(&name), &roff, 0o644)?;
    names.push(name);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        // The page is named pack-key-generate.1; its synopsis reads `pack key generate`.
        let display = format!(
            "{}-{}",
            cmd.get_display_name().unwrap_or(cmd.get_name()),
            sub.get_name()
        );
        let bin = format!("{} {}", cmd.get_bin_name().unwrap_or(cmd.get_name()), sub.get_name());
        page(batch, dir, sub.clone().display_name(display).bin_name(bin), names)?;
    }
    Ok(())
}
