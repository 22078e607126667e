//! `unpack emit`: verify, then write what the cluster needs — ConfigMap files (written while the
//! bundle is verified, put in place only once it passed), a signature-store folder, or one bare
//! signature on stdout.

use std::path::Path;

use sigbundle::audit::{Action, AuditLog, Destination};
use sigbundle::bundle::{ReleaseSink, VerifiedBundle};
use sigbundle::configmap::Format;
use sigbundle::digest::Digest;
use sigbundle::error::Error;
use sigbundle::fleet::AcmOptions;
use sigbundle::step::{audited, StepDone};
use sigbundle::unpack::{self, DirEmitter, DirFormat};

use super::{check_options, json_on_failure};
use crate::args::unpack::{EmitArgs, FormatArg};
use crate::exit::{CommandResult, Outcome};
use crate::json::Emitted;
use crate::printer::{print_json, stdout_is_terminal, write_stdout, write_text};
use crate::{errln, outln};

/// What `--to-dir` writes, from `--format` and the ACM options (which only `acm-policy` takes).
fn dir_format(a: &EmitArgs) -> Result<DirFormat, Error> {
    let acm_only = !a.placement_label.is_empty() || a.policy_namespace != "policies";
    if acm_only && !matches!(a.format, FormatArg::AcmPolicy) {
        return Err(Error::Usage(
            "--placement-label and --policy-namespace go with --format acm-policy".into(),
        ));
    }
    Ok(match a.format {
        FormatArg::OcJson => DirFormat::PerRelease(Format::OcJson),
        FormatArg::Yaml => DirFormat::PerRelease(Format::Yaml),
        FormatArg::Kustomize => DirFormat::Kustomize,
        FormatArg::AcmPolicy => DirFormat::AcmPolicy(
            AcmOptions::new(&a.policy_namespace, &a.placement_label).map_err(|e| Error::Usage(e.to_string()))?,
        ),
        FormatArg::OcMirror => DirFormat::OcMirror,
    })
}

pub fn run(a: EmitArgs, log: &AuditLog) -> CommandResult {
    // Refuse a terminal before reading anything: bare signatures are binary.
    let wanted = match &a.signature {
        Some(_) if stdout_is_terminal() => {
            return Err(Error::Usage(
                "--signature writes binary data; redirect stdout to a file or a pipe".into(),
            ))
        }
        Some(d) => Some(Digest::parse(d)?),
        None => None,
    };
    let format = dir_format(&a)?;
    if a.to_dir.is_none() && !matches!(format, DirFormat::PerRelease(Format::OcJson)) {
        return Err(Error::Usage("--format goes with --to-dir".into()));
    }
    let needs_bodies = format.needs_bodies();
    let emitter = a.to_dir.as_ref().map(|d| DirEmitter::new(d, format, a.force));
    // The bodies are kept only when no emitter takes each release as it is verified, or when
    // the emitter renders an aggregate of every release at the end.
    let opts = check_options(&a.check, &a.bundle, emitter.is_none() || needs_bodies)?;
    let sink = emitter.as_ref().map(|e| e as &dyn ReleaseSink);
    let result = audited(log, &a.bundle, Action::Emit, &opts, sink, |b| {
        let destination = match (wanted, &a.store_dir, &emitter) {
            _ if a.oci_dir.is_some() => to_oci_dir(b, a.oci_dir.as_deref().expect("checked"), &a)?,
            (Some(digest), _, _) => to_stdout(b, digest, a.index)?,
            (None, Some(dir), _) => to_store_dir(b, dir, &a)?,
            (None, None, Some(emitter)) => to_configmaps(b, emitter, &a)?,
            (None, None, None) => unreachable!("clap requires one target, and --to-dir makes an emitter"),
        };
        Ok(StepDone::ok((), Some(destination)))
    });
    json_on_failure(result, &a.bundle, a.json)?;
    Ok(Outcome::Success)
}

fn to_stdout(b: &VerifiedBundle, digest: Digest, index: usize) -> Result<Destination, Error> {
    write_stdout(unpack::signature_bytes(b, &digest, index)?)?;
    Ok(Destination::Stdout {
        digest: digest.to_string(),
        index,
    })
}

fn to_store_dir(b: &VerifiedBundle, dir: &Path, a: &EmitArgs) -> Result<Destination, Error> {
    let url = a
        .store_url
        .clone()
        .unwrap_or_else(|| "https://<where this folder is served>/".to_string());
    let s = unpack::emit_store_dir(b, dir, &url, a.force)?;
    if a.json {
        print_json(&Emitted {
            ok: true,
            bundle_sha256: &b.sha256,
            files: &s.files,
            patch: Some(&s.patch_command),
        });
    } else {
        write_text(&crate::render::files(&s.files));
        errln!(
            "{} signature(s) in {} in the mirror layout ({}); serve it over HTTPS and point the cluster at it:",
            s.files.len(),
            dir.display(),
            crate::render::tally(&s.files)
        );
        outln!("{}", s.patch_command);
        errln!("(setting spec.signatureStores replaces the default Red Hat stores)");
    }
    Ok(Destination::StoreDir {
        path: dir.display().to_string(),
    })
}

fn to_oci_dir(b: &VerifiedBundle, dir: &Path, a: &EmitArgs) -> Result<Destination, Error> {
    if b.sigstore.is_empty() {
        return Err(Error::Usage(
            "the bundle holds no sigstore .sig artifacts (pack it with --sigstore); nothing written".into(),
        ));
    }
    let files = unpack::emit_oci_dir(b, dir, a.force)?;
    if a.json {
        print_json(&Emitted {
            ok: true,
            bundle_sha256: &b.sha256,
            files: &files,
            patch: None,
        });
    } else {
        write_text(&crate::render::files(&files));
        errln!(
            "{} .sig artifact(s) as an OCI image layout in {} ({}); each is tagged sha256-<digest>.sig in index.json",
            b.sigstore.len(),
            dir.display(),
            crate::render::tally(&files)
        );
    }
    Ok(Destination::OciDir {
        path: dir.display().to_string(),
    })
}

fn to_configmaps(b: &VerifiedBundle, emitter: &DirEmitter, a: &EmitArgs) -> Result<Destination, Error> {
    let dir = a.to_dir.as_ref().expect("an emitter is made for --to-dir");
    let files = emitter.commit(b)?;
    if a.json {
        print_json(&Emitted {
            ok: true,
            bundle_sha256: &b.sha256,
            files: &files,
            patch: None,
        });
    } else {
        write_text(&crate::render::files(&files));
        let (what, how) = match a.format {
            FormatArg::OcJson | FormatArg::Yaml => ("ConfigMap file(s)", "load them with: oc apply -f"),
            FormatArg::Kustomize => (
                "file(s) of a kustomization",
                "apply it with `oc apply -k`, or point Argo CD at",
            ),
            FormatArg::AcmPolicy => ("ACM object file(s)", "apply them on the hub with: oc apply -f"),
            FormatArg::OcMirror => (
                "file(s) of oc-mirror's signature ConfigMap",
                "load them with: oc apply -f",
            ),
        };
        errln!(
            "{} {what} in {} ({}); {how} {}",
            files.len(),
            dir.display(),
            crate::render::tally(&files),
            dir.display()
        );
    }
    Ok(Destination::ConfigmapDir {
        path: dir.display().to_string(),
        format: emitter.format_name().to_string(),
    })
}
