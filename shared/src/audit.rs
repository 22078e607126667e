//! The append-only audit log of what crossed the air gap: one JSON line per `verify`, `emit`
//! and `apply`, each carrying its own sha256 and the previous record's (a hash chain), appended
//! under an exclusive file lock; and the pack receipts it is matched against.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// The `prev` of the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Why the audit log could not be used.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("audit log {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("audit log {path}: line {line}: {reason}")]
    Corrupt { path: PathBuf, line: usize, reason: String },
    #[error("receipt {path}: {reason}")]
    Receipt { path: PathBuf, reason: String },
}

/// Where a bundle's content went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Destination {
    /// ConfigMap files in a folder.
    ConfigmapDir { path: String, format: String },
    /// A signature-store folder.
    StoreDir { path: String },
    /// Bare signature bytes on standard output.
    Stdout { digest: String, index: usize },
    /// A cluster, through its API.
    Cluster {
        server: String,
        context: Option<String>,
        user: Option<String>,
        namespace: String,
        dry_run: bool,
    },
}

/// One release as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordRelease {
    pub digest: String,
    /// sha256 of each signature, in bundle order.
    pub signatures: Vec<String>,
}

/// One audit record (one line of the log).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    pub seq: u64,
    pub time: String,
    pub action: String,
    pub outcome: String,
    pub bundle: String,
    pub bundle_sha256: Option<String>,
    pub packer: Option<String>,
    pub releases: Vec<RecordRelease>,
    pub destination: Option<Destination>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    pub tool: String,
    pub prev: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
}

impl Record {
    /// The sha256 of the record's JSON without its `hash` field.
    pub fn compute_hash(&self) -> String {
        let mut unhashed = self.clone();
        unhashed.hash = None;
        let bytes = serde_json::to_vec(&unhashed).expect("a record serializes");
        hex::encode(Sha256::digest(bytes))
    }
}

/// What a caller records; the log fills in seq, time, tool, prev and hash.
#[derive(Debug, Clone)]
pub struct NewRecord {
    pub action: &'static str,
    pub outcome: &'static str,
    pub bundle: String,
    pub bundle_sha256: Option<String>,
    pub packer: Option<String>,
    pub releases: Vec<RecordRelease>,
    pub destination: Option<Destination>,
    pub problems: Vec<String>,
}

/// The result of checking the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum ChainCheck {
    Intact { records: usize, head: String },
    Broken { line: usize, reason: String },
}

/// An append-only, hash-chained log file.
#[derive(Debug, Clone)]
pub struct AuditLog {
    pub path: PathBuf,
}

impl AuditLog {
    /// `$XDG_STATE_HOME/sigbundle/audit.log`, else `~/.local/state/sigbundle/audit.log`.
    pub fn default_path() -> PathBuf {
        let base = std::env::var_os("XDG_STATE_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
            .unwrap_or_else(|| PathBuf::from("."));
        base.join("sigbundle").join("audit.log")
    }

    pub fn new(path: PathBuf) -> AuditLog {
        AuditLog { path }
    }

    fn io(&self, source: std::io::Error) -> AuditError {
        AuditError::Io {
            path: self.path.clone(),
            source,
        }
    }

    /// Append one record: under an exclusive lock, read the last record for its hash and seq,
    /// write one line, flush it to disk. The file is created 0600 (its folder 0700).
    pub fn append(&self, new: NewRecord) -> Result<Record, AuditError> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if !dir.exists() {
                let mut b = std::fs::DirBuilder::new();
                b.recursive(true);
                #[cfg(unix)]
                std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
                b.create(dir).map_err(|e| self.io(e))?;
            }
        }
        let mut opts = OpenOptions::new();
        opts.read(true).append(true).create(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut file = opts.open(&self.path).map_err(|e| self.io(e))?;
        file.lock().map_err(|e| self.io(e))?;
        let result = self.append_locked(&mut file, new);
        let _ = file.unlock();
        result
    }

    /// The last line of the log (without its newline), read from the end backwards: appends cost the same however long the log is.
    fn last_line(&self, file: &mut File) -> Result<Option<Vec<u8>>, AuditError> {
        let len = file.seek(SeekFrom::End(0)).map_err(|e| self.io(e))?;
        if len == 0 {
            return Ok(None);
        }
        let mut last = [0u8; 1];
        file.seek(SeekFrom::Start(len - 1)).map_err(|e| self.io(e))?;
        file.read_exact(&mut last).map_err(|e| self.io(e))?;
        if last[0] != b'\n' {
            return Err(AuditError::Corrupt {
                path: self.path.clone(),
                line: 0,
                reason: "the log ends in a partial record; run `unpack audit --check` and repair it".into(),
            });
        }
        // Walk back in chunks over [start, end) to the newline before the last line, looking
        // in each new chunk only; join the chunks once at the end.
        let end = len - 1;
        let mut start = end;
        let mut chunks: Vec<Vec<u8>> = Vec::new();
        while start > 0 {
            let step = start.min(64 * 1024);
            start -= step;
            let mut chunk = vec![0u8; step as usize];
            file.seek(SeekFrom::Start(start)).map_err(|e| self.io(e))?;
            file.read_exact(&mut chunk).map_err(|e| self.io(e))?;
            let found = chunk.iter().rposition(|&b| b == b'\n');
            if let Some(nl) = found {
                chunk.drain(..=nl);
            }
            chunks.push(chunk);
            if found.is_some() {
                break;
            }
        }
        Ok(Some(chunks.into_iter().rev().flatten().collect()))
    }

    fn append_locked(&self, file: &mut File, new: NewRecord) -> Result<Record, AuditError> {
        let (seq, prev) = match self.last_line(file)? {
            None => (1, GENESIS.to_string()),
            Some(last) => {
                // Only the link is needed: the record's other fields (all its releases) are
                // skipped, not built.
                #[derive(Deserialize)]
                struct Link {
                    seq: u64,
                    hash: Option<String>,
                }
                let r: Link = serde_json::from_slice(&last).map_err(|e| AuditError::Corrupt {
                    path: self.path.clone(),
                    line: 0,
                    reason: format!("the last record does not parse: {e}"),
                })?;
                (r.seq + 1, r.hash.unwrap_or_default())
            }
        };
        let mut rec = Record {
            seq,
            time: crate::verify::rfc3339(crate::verify::unix(std::time::SystemTime::now())),
            action: new.action.to_string(),
            outcome: new.outcome.to_string(),
            bundle: new.bundle,
            bundle_sha256: new.bundle_sha256,
            packer: new.packer,
            releases: new.releases,
            destination: new.destination,
            problems: new.problems,
            tool: crate::TOOL_VERSION.to_string(),
            prev,
            hash: None,
        };
        rec.hash = Some(rec.compute_hash());
        let mut line = serde_json::to_vec(&rec).expect("a record serializes");
        line.push(b'\n');
        let before = file.seek(SeekFrom::End(0)).map_err(|e| self.io(e))?;
        if let Err(e) = file.write_all(&line).and_then(|_| file.sync_data()) {
            // Never leave a partial record: cut the log back to where it was (we hold the lock).
            let _ = file.set_len(before);
            let _ = file.sync_data();
            return Err(self.io(e));
        }
        Ok(rec)
    }

    /// Every record, in order (an absent log has none).
    pub fn read_all(&self) -> Result<Vec<Record>, AuditError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(self.io(e)),
        };
        text.lines()
            .enumerate()
            .map(|(i, l)| {
                serde_json::from_str(l).map_err(|e| AuditError::Corrupt {
                    path: self.path.clone(),
                    line: i + 1,
                    reason: e.to_string(),
                })
            })
            .collect()
    }

    /// Check every link of the chain; report the first broken one.
    pub fn check(&self) -> Result<ChainCheck, AuditError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(self.io(e)),
        };
        let mut prev = GENESIS.to_string();
        let mut n = 0;
        for (i, line) in text.lines().enumerate() {
            let line_no = i + 1;
            let broken = |reason: String| Ok(ChainCheck::Broken { line: line_no, reason });
            let r: Record = match serde_json::from_str(line) {
                Ok(r) => r,
                Err(e) => return broken(format!("not a record: {e}")),
            };
            let want = r.compute_hash();
            if r.hash.as_deref() != Some(want.as_str()) {
                return broken(format!(
                    "record {} was edited: its hash does not match its content",
                    r.seq
                ));
            }
            if r.prev != prev {
                return broken(format!(
                    "record {} does not follow the record before it (a record was deleted, inserted or reordered)",
                    r.seq
                ));
            }
            if r.seq != n as u64 + 1 {
                return broken(format!(
                    "record {} is numbered out of order (expected {})",
                    r.seq,
                    n + 1
                ));
            }
            prev = want;
            n += 1;
        }
        if !text.is_empty() && !text.ends_with('\n') {
            return Ok(ChainCheck::Broken {
                line: n + 1,
                reason: "the log ends in a partial record".into(),
            });
        }
        Ok(ChainCheck::Intact { records: n, head: prev })
    }
}

/// What `pack` writes beside a bundle (`FILE.receipt.json`), to match against the audit log on
/// the other side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    pub bundle: String,
    pub bundle_sha256: String,
    pub manifest_sha256: String,
    pub created: String,
    pub packer: String,
    pub releases: Vec<String>,
}

impl Receipt {
    /// The receipt's path for a bundle path.
    pub fn path_for(bundle: &Path) -> PathBuf {
        let mut p = bundle.as_os_str().to_owned();
        p.push(".receipt.json");
        PathBuf::from(p)
    }

    pub fn read(path: &Path) -> Result<Receipt, AuditError> {
        let bytes = std::fs::read(path).map_err(|e| AuditError::Receipt {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        serde_json::from_slice(&bytes).map_err(|e| AuditError::Receipt {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
    }

    /// One line of JSON plus a newline.
    pub fn to_line(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec(self).expect("a receipt serializes");
        v.push(b'\n');
        v
    }
}

/// How a receipt compares with the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum ReceiptMatch {
    /// A successful emit or apply of exactly this bundle, with every release.
    ImportedAsPacked { seq: u64, time: String, action: String },
    /// Records of this bundle exist, but not a successful import of all its releases.
    Differs { details: Vec<String> },
    /// No record of this bundle at all.
    NotImported,
}

/// Match a receipt against the records.
pub fn match_receipt(receipt: &Receipt, records: &[Record]) -> ReceiptMatch {
    let mine: Vec<&Record> = records
        .iter()
        .filter(|r| r.bundle_sha256.as_deref() == Some(receipt.bundle_sha256.as_str()))
        .collect();
    if mine.is_empty() {
        return ReceiptMatch::NotImported;
    }
    let want: std::collections::BTreeSet<&str> = receipt.releases.iter().map(String::as_str).collect();
    let mut details = Vec::new();
    for r in &mine {
        let got: std::collections::BTreeSet<&str> = r.releases.iter().map(|x| x.digest.as_str()).collect();
        let imported = matches!(r.action.as_str(), "emit" | "apply") && r.outcome == "ok";
        if imported && got == want {
            return ReceiptMatch::ImportedAsPacked {
                seq: r.seq,
                time: r.time.clone(),
                action: r.action.clone(),
            };
        }
        if r.outcome != "ok" {
            details.push(format!(
                "record {}: {} {}: {}",
                r.seq,
                r.action,
                r.outcome,
                r.problems.join("; ")
            ));
        } else if got != want {
            let missing: Vec<&&str> = want.difference(&got).collect();
            let extra: Vec<&&str> = got.difference(&want).collect();
            details.push(format!(
                "record {}: {} carried other releases (missing {missing:?}, extra {extra:?})",
                r.seq, r.action
            ));
        } else {
            details.push(format!("record {}: only {} (not emitted or applied)", r.seq, r.action));
        }
    }
    ReceiptMatch::Differs { details }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(action: &'static str) -> NewRecord {
        NewRecord {
            action,
            outcome: "ok",
            bundle: "b.tar.zst".into(),
            bundle_sha256: Some("ab".repeat(32)),
            packer: None,
            releases: vec![RecordRelease {
                digest: "sha256:x".into(),
                signatures: vec!["cd".repeat(32)],
            }],
            destination: None,
            problems: vec![],
        }
    }

    #[test]
    fn chain_detects_edit_delete_reorder() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::new(dir.path().join("state/audit.log"));
        for a in ["verify", "emit", "apply"] {
            log.append(rec(a)).unwrap();
        }
        let ChainCheck::Intact { records: 3, head } = log.check().unwrap() else {
            panic!()
        };
        assert_eq!(Some(head), log.read_all().unwrap()[2].hash);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&log.path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let text = std::fs::read_to_string(&log.path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let write = |ls: &[&str]| std::fs::write(&log.path, ls.join("\n") + "\n").unwrap();
        // Edit the last record.
        let edited = lines[2].replace("\"apply\"", "\"verify\"");
        write(&[lines[0], lines[1], &edited]);
        assert!(matches!(log.check().unwrap(), ChainCheck::Broken { line: 3, .. }));
        // Delete the middle one.
        write(&[lines[0], lines[2]]);
        assert!(matches!(log.check().unwrap(), ChainCheck::Broken { line: 2, .. }));
        // Swap two.
        write(&[lines[1], lines[0], lines[2]]);
        assert!(matches!(log.check().unwrap(), ChainCheck::Broken { line: 1, .. }));
    }
}
