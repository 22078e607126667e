//! `unpack audit`: list what crossed (per record or per release), check the hash chain, or match
//! a pack receipt. A broken chain and a receipt that does not match end with exit 1.

use sigbundle::audit::{match_receipt, AuditError, AuditLog, ChainCheck, Receipt, ReceiptMatch};
use sigbundle::text::escape_name;

use crate::args::unpack::AuditArgs;
use crate::exit::{CommandResult, Outcome};
use crate::printer::{print_json, write_text};
use crate::{errln, outln};

pub fn run(a: AuditArgs, log: &AuditLog) -> CommandResult {
    if a.check || a.head {
        return check(log, a.head, a.expect_head.as_deref(), a.json);
    }
    if let Some(path) = &a.receipt {
        return receipt(log, path, a.json);
    }
    if let (true, Some(out)) = (a.inventory, &a.output) {
        return inventory(log, out, a.sign_key.as_deref(), a.json);
    }
    let records = log.read_all()?;
    if a.json && a.by_release {
        print_json(&crate::json::audit_by_release(&records));
        return Ok(Outcome::Success);
    }
    if a.json {
        print_json(&records);
        return Ok(Outcome::Success);
    }
    write_text(&crate::render::audit_records(&records, a.by_release));
    errln!("{} record(s) in {}", records.len(), log.path.display());
    Ok(Outcome::Success)
}

/// `--inventory -o FILE [--sign-key KEY]`: what this side holds, written atomically (and its
/// detached signature beside it).
fn inventory(log: &AuditLog, out: &std::path::Path, sign_key: Option<&std::path::Path>, json: bool) -> CommandResult {
    use sigbundle::fsutil::{write_atomic, Overwrite};
    // An inventory of a log that is not there would say "nothing", which is not known.
    if !log.path.exists() {
        return Err(AuditError::Missing { path: log.path.clone() }.into());
    }
    let records = log.read_all()?;
    let inv = sigbundle::audit::Inventory::of(&records);
    let mut bytes = serde_json::to_vec_pretty(&inv).expect("an inventory serializes");
    bytes.push(b'\n');
    let signer = sign_key.map(super::pack_key::signer).transpose()?;
    write_atomic(out, 0o644, Overwrite::Always, |w| w.write_all(&bytes))?;
    let mut asc = None;
    if let Some(s) = signer {
        let sig = s.sign_detached(&bytes, std::time::SystemTime::now())?;
        let mut p = out.as_os_str().to_owned();
        p.push(".asc");
        let p = std::path::PathBuf::from(p);
        write_atomic(&p, 0o644, Overwrite::Always, |w| w.write_all(&sig))?;
        asc = Some(p);
    }
    if json {
        print_json(&inv);
    }
    let sigs: usize = inv.releases.values().map(Vec::len).sum();
    errln!(
        "wrote {}: {} release(s), {sigs} signature(s) in place, audit head {}{}",
        out.display(),
        inv.releases.len(),
        inv.audit_head.as_deref().unwrap_or("-"),
        asc.map(|p| format!(", signed in {}", p.display())).unwrap_or_default()
    );
    errln!(
        "carry it to the connected side: pack --exclude-carried {} …",
        out.display()
    );
    Ok(Outcome::Success)
}

fn check(log: &AuditLog, head_only: bool, expect_head: Option<&str>, json: bool) -> CommandResult {
    let c = log.check(expect_head)?;
    if json {
        print_json(&c);
    }
    Ok(match c {
        ChainCheck::Intact { records, head } => {
            if head_only && !json {
                outln!("{head}");
            } else if !json {
                outln!("intact: {records} record(s) in {}, head {head}", log.path.display());
            }
            Outcome::Success
        }
        ChainCheck::Broken { line, reason } => {
            errln!(
                "unpack: audit log {} is broken at line {line}: {}",
                log.path.display(),
                escape_name(&reason)
            );
            Outcome::VerificationFailed
        }
        ChainCheck::HeadMissing { records, expected, .. } => {
            errln!(
                "unpack: audit log {} does not hold the expected record {expected}: records were removed from its end, or the log was replaced (the {records} record(s) it holds chain intact)",
                log.path.display()
            );
            Outcome::VerificationFailed
        }
    })
}

fn receipt(log: &AuditLog, path: &std::path::Path, json: bool) -> CommandResult {
    // "Not imported" from a log that is not there would be a guess: it may live elsewhere.
    if !log.path.exists() {
        return Err(AuditError::Missing { path: log.path.clone() }.into());
    }
    let records = log.read_all()?;
    let r = Receipt::read(path)?;
    let m = match_receipt(&r, &records);
    if json {
        print_json(&m);
    }
    Ok(match m {
        ReceiptMatch::ImportedAsPacked { seq, time, action } => {
            if !json {
                outln!(
                    "imported as packed: {} ({} release(s)) by {} at {}, audit record {seq}",
                    escape_name(&r.bundle),
                    r.releases.len(),
                    escape_name(&action),
                    escape_name(&time)
                );
            }
            Outcome::Success
        }
        ReceiptMatch::Differs { details } => {
            if !json {
                outln!("NOT imported as packed: {}", escape_name(&r.bundle));
                for d in details {
                    outln!("  {}", escape_name(&d));
                }
            }
            errln!(
                "unpack: receipt {}: bundle {} was not imported as packed (audit log {})",
                path.display(),
                escape_name(&r.bundle),
                log.path.display()
            );
            Outcome::VerificationFailed
        }
        ReceiptMatch::NotImported => {
            if !json {
                outln!(
                    "not imported: no audit record of bundle {} (sha256 {})",
                    escape_name(&r.bundle),
                    escape_name(&r.bundle_sha256)
                );
            }
            errln!(
                "unpack: receipt {}: bundle {} was never imported (no record in audit log {})",
                path.display(),
                escape_name(&r.bundle),
                log.path.display()
            );
            Outcome::VerificationFailed
        }
    })
}
