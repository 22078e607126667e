//! The append-only audit log of what crossed the air gap: one JSON line per `verify`, `emit`
//! and `apply`, each carrying its own sha256 and the previous record's (a hash chain), appended
//! under an exclusive file lock; and the pack receipts it is matched against.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The `prev` of the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Problems one record keeps (the rest are counted in one more line).
pub const MAX_RECORD_PROBLEMS: usize = 20;
/// Characters one recorded problem keeps.
pub const MAX_PROBLEM_CHARS: usize = 500;
/// Characters a recorded path or name keeps.
pub const MAX_FIELD_CHARS: usize = 4096;
/// The most a record of a refused or failed step may take (its releases are dropped first).
/// A successful record lists every release it verified, whatever its size.
pub const MAX_REFUSED_RECORD_BYTES: usize = 64 << 10;
/// The longest line the log readers accept.
pub const MAX_LINE_BYTES: u64 = 64 << 20;

/// Why the audit log could not be used.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("audit log {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("audit log {path}: line {line}: {reason}")]
    Corrupt { path: PathBuf, line: usize, reason: String },
    #[error(
        "audit log {path}: {reason}; nothing was done (check it with `unpack audit --check`, then repair or move it)"
    )]
    Tail { path: PathBuf, reason: String },
    #[error("receipt {path}: {reason}")]
    Receipt { path: PathBuf, reason: String },
    #[error("no audit log at {path}: nothing was recorded there (or --audit-log names another file)")]
    Missing { path: PathBuf },
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
    /// A cluster, through its API. Fields added after the first release are left out when
    /// empty, so older records keep their bytes (and hashes).
    Cluster {
        /// The API server the requests went to; absent for a client dry run, which contacts none.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        server: Option<String>,
        /// The kubeconfig context; null when none was used (`--server` alone, a client dry run).
        context: Option<String>,
        /// The kubeconfig user whose credentials were sent; null when none were.
        user: Option<String>,
        namespace: String,
        dry_run: bool,
        /// `server` or `client` for a dry run (absent in records older than `--dry-run=client`,
        /// which were server dry runs).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        dry_run_mode: Option<String>,
        /// `--token` when a token from the command line was sent instead of the user's
        /// credentials.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        credentials: Option<String>,
        /// The user acted as (`Impersonate-User`); `user`/`credentials` say who asked to.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        impersonate: Option<String>,
        /// The groups acted as (`Impersonate-Group`).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        impersonate_groups: Vec<String>,
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
    /// The other trusted packers who signed the manifest (`pack cosign`); absent when none, so
    /// records of single-signer bundles keep their bytes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cosigners: Vec<String>,
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
        crate::digest::sha256_hex(&bytes)
    }
}

/// The step a record is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Verify,
    Emit,
    Apply,
}

impl Action {
    /// The name in the log.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Verify => "verify",
            Action::Emit => "emit",
            Action::Apply => "apply",
        }
    }

    /// The action a logged name stands for (a log is anyone's who can write it: `None` for a
    /// name sigbundle does not write).
    pub fn parse(s: &str) -> Option<Action> {
        [Action::Verify, Action::Emit, Action::Apply]
            .into_iter()
            .find(|a| a.as_str() == s)
    }
}

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It did what was asked.
    Ok,
    /// The bundle was refused (it did not verify): nothing was done.
    Refused,
    /// The bundle verified but the step failed (I/O, the cluster).
    Failed,
    /// `apply` left keys that hold other bytes in the cluster as they were.
    Conflict,
}

impl Outcome {
    /// The name in the log.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Refused => "refused",
            Outcome::Failed => "failed",
            Outcome::Conflict => "conflict",
        }
    }
}

/// What a caller records; the log fills in seq, time, tool, prev and hash.
#[derive(Debug, Clone)]
pub struct NewRecord {
    pub action: Action,
    pub outcome: Outcome,
    pub bundle: String,
    pub bundle_sha256: Option<String>,
    pub packer: Option<String>,
    pub cosigners: Vec<String>,
    pub releases: Vec<RecordRelease>,
    pub destination: Option<Destination>,
    pub problems: Vec<String>,
}

impl NewRecord {
    /// The record cut to its bounds: at most [`MAX_RECORD_PROBLEMS`] problems of
    /// [`MAX_PROBLEM_CHARS`] characters each (and a count of the rest), paths of
    /// [`MAX_FIELD_CHARS`]; a record of a step that did not succeed also loses its releases
    /// when it would pass [`MAX_REFUSED_RECORD_BYTES`].
    pub fn bounded(mut self) -> NewRecord {
        use crate::text::truncate_chars;
        if self.problems.len() > MAX_RECORD_PROBLEMS {
            let more = self.problems.len() - MAX_RECORD_PROBLEMS;
            self.problems.truncate(MAX_RECORD_PROBLEMS);
            self.problems.push(format!("… and {more} more problem(s) not recorded"));
        }
        for p in &mut self.problems {
            if let std::borrow::Cow::Owned(cut) = truncate_chars(p, MAX_PROBLEM_CHARS) {
                *p = cut;
            }
        }
        let cut = |s: &mut String| {
            if let std::borrow::Cow::Owned(c) = truncate_chars(s, MAX_FIELD_CHARS) {
                *s = c;
            }
        };
        cut(&mut self.bundle);
        match &mut self.destination {
            Some(Destination::ConfigmapDir { path, .. }) | Some(Destination::StoreDir { path }) => cut(path),
            _ => {}
        }
        if self.outcome != Outcome::Ok {
            let size: usize = self
                .releases
                .iter()
                .map(|r| r.digest.len() + 70 * r.signatures.len() + 40)
                .sum::<usize>()
                + self.problems.iter().map(|p| p.len() + 4).sum::<usize>()
                + self.bundle.len();
            if size > MAX_REFUSED_RECORD_BYTES - 1024 && !self.releases.is_empty() {
                let n = self.releases.len();
                self.releases.clear();
                self.problems
                    .push(format!("{n} release(s) not recorded: the record would pass 64 KiB"));
            }
        }
        self
    }
}

/// The result of checking the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum ChainCheck {
    Intact {
        records: usize,
        head: String,
    },
    Broken {
        line: usize,
        reason: String,
    },
    /// Every link holds, but the record whose hash was expected (`--expect-head`) is not in
    /// the log: records were removed from its end, or the log was replaced.
    HeadMissing {
        records: usize,
        head: String,
        expected: String,
    },
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

    /// Open the log for appending (creating it 0600, its folder 0700), locked.
    fn open_locked(&self) -> Result<File, AuditError> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if !dir.exists() {
                let mut b = std::fs::DirBuilder::new();
                b.recursive(true);
                #[cfg(unix)]
                std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
                b.create(dir).map_err(|e| self.io(e))?;
            }
        }
        if self.path.is_dir() {
            return Err(AuditError::Tail {
                path: self.path.clone(),
                reason: "it is a directory, not a file".into(),
            });
        }
        let mut opts = OpenOptions::new();
        opts.read(true).append(true).create(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let file = opts.open(&self.path).map_err(|e| self.io(e))?;
        file.lock().map_err(|e| self.io(e))?;
        Ok(file)
    }

    /// Check, before acting, that the log can take a record: it can be opened for appending
    /// and its last record is whole and readable. A step that could not be recorded is not
    /// taken.
    pub fn ready(&self) -> Result<(), AuditError> {
        let mut file = self.open_locked()?;
        let result = self.link(&mut file).map(drop);
        let _ = file.unlock();
        result
    }

    /// Append one record (cut to its bounds, [`NewRecord::bounded`]): under an exclusive lock,
    /// read the last record for its hash and seq, write one line, flush it to disk.
    pub fn append(&self, new: NewRecord) -> Result<Record, AuditError> {
        let mut file = self.open_locked()?;
        let result = self.append_locked(&mut file, new.bounded());
        let _ = file.unlock();
        result
    }

    /// The last line of the log (without its newline) and where it starts, read from the end
    /// backwards: appends cost the same however long the log is.
    fn last_line(&self, file: &mut File) -> Result<Option<(u64, Vec<u8>)>, AuditError> {
        let len = file.seek(SeekFrom::End(0)).map_err(|e| self.io(e))?;
        if len == 0 {
            return Ok(None);
        }
        let mut last = [0u8; 1];
        file.seek(SeekFrom::Start(len - 1)).map_err(|e| self.io(e))?;
        file.read_exact(&mut last).map_err(|e| self.io(e))?;
        // Walk back in chunks over [start, end) to the newline before the last line, looking
        // in each new chunk only; join the chunks once at the end.
        let end = if last[0] == b'\n' { len - 1 } else { len };
        let mut start = end;
        let mut chunks: Vec<Vec<u8>> = Vec::new();
        let mut taken = 0u64;
        while start > 0 {
            if taken > MAX_LINE_BYTES {
                return Err(AuditError::Tail {
                    path: self.path.clone(),
                    reason: format!("its last line is longer than {} MiB", MAX_LINE_BYTES >> 20),
                });
            }
            let step = start.min(64 * 1024);
            start -= step;
            taken += step;
            let mut chunk = vec![0u8; step as usize];
            file.seek(SeekFrom::Start(start)).map_err(|e| self.io(e))?;
            file.read_exact(&mut chunk).map_err(|e| self.io(e))?;
            let found = chunk.iter().rposition(|&b| b == b'\n');
            if let Some(nl) = found {
                chunk.drain(..=nl);
                start += nl as u64 + 1;
            }
            chunks.push(chunk);
            if found.is_some() {
                break;
            }
        }
        if last[0] != b'\n' {
            return Err(AuditError::Tail {
                path: self.path.clone(),
                reason: format!(
                    "it ends in a partial record ({} byte(s) after the last newline, at byte {start})",
                    len - start
                ),
            });
        }
        Ok(Some((start, chunks.into_iter().rev().flatten().collect())))
    }

    /// The seq and hash the next record links to.
    fn link(&self, file: &mut File) -> Result<(u64, String), AuditError> {
        Ok(match self.last_line(file)? {
            None => (1, GENESIS.to_string()),
            Some((at, last)) => {
                // Only the link is needed: the record's other fields (all its releases) are
                // skipped, not built.
                #[derive(Deserialize)]
                struct Link {
                    seq: u64,
                    hash: Option<String>,
                }
                let r: Link = serde_json::from_slice(&last).map_err(|e| AuditError::Tail {
                    path: self.path.clone(),
                    reason: format!(
                        "its last record (at byte {at}) is not a record: {}",
                        crate::text::escape_name(&e.to_string())
                    ),
                })?;
                (r.seq + 1, r.hash.unwrap_or_default())
            }
        })
    }

    fn append_locked(&self, file: &mut File, new: NewRecord) -> Result<Record, AuditError> {
        let (seq, prev) = self.link(file)?;
        let mut rec = Record {
            seq,
            time: crate::verify::rfc3339(crate::verify::unix(std::time::SystemTime::now())),
            action: new.action.as_str().to_string(),
            outcome: new.outcome.as_str().to_string(),
            bundle: new.bundle,
            bundle_sha256: new.bundle_sha256,
            packer: new.packer,
            cosigners: new.cosigners,
            releases: new.releases,
            destination: new.destination,
            problems: new.problems,
            tool: crate::manifest::TOOL_VERSION.to_string(),
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
        let file = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(self.io(e)),
        };
        parse_records(BufReader::new(file), &self.path)
    }

    /// Check every link of the chain and report the first broken one; with `expect_head`
    /// (a record hash written down elsewhere), also that the log still holds that record. A
    /// chain cannot see its own truncation: only a head kept outside the log can. A log that
    /// does not exist is an error, not an empty chain.
    pub fn check(&self, expect_head: Option<&str>) -> Result<ChainCheck, AuditError> {
        match File::open(&self.path) {
            Ok(f) => check_chain(BufReader::new(f), expect_head).map_err(|e| self.io(e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(AuditError::Missing {
                path: self.path.clone(),
            }),
            Err(e) => Err(self.io(e)),
        }
    }
}

/// One line of a log (without its newline), at most [`MAX_LINE_BYTES`]: `None` at the end,
/// `Some(Err(()))` for a line too long, and whether it ended in a newline.
fn next_line<R: BufRead>(r: &mut R, buf: &mut Vec<u8>) -> std::io::Result<Option<(Result<(), ()>, bool)>> {
    buf.clear();
    let n = r.by_ref().take(MAX_LINE_BYTES + 1).read_until(b'\n', buf)?;
    if n == 0 {
        return Ok(None);
    }
    let newline = buf.last() == Some(&b'\n');
    if newline {
        buf.pop();
    } else if buf.len() as u64 > MAX_LINE_BYTES {
        return Ok(Some((Err(()), false)));
    }
    Ok(Some((Ok(()), newline)))
}

/// The records of a log read from `r` (`path` names it in errors).
pub fn parse_records<R: BufRead>(mut r: R, path: &Path) -> Result<Vec<Record>, AuditError> {
    let mut out = Vec::new();
    let mut buf = Vec::new();
    let mut line = 0;
    let corrupt = |line: usize, reason: String| AuditError::Corrupt {
        path: path.to_path_buf(),
        line,
        reason,
    };
    while let Some((ok, _)) = next_line(&mut r, &mut buf).map_err(|source| AuditError::Io {
        path: path.to_path_buf(),
        source,
    })? {
        line += 1;
        if ok.is_err() {
            return Err(corrupt(line, format!("longer than {} MiB", MAX_LINE_BYTES >> 20)));
        }
        let rec = serde_json::from_slice(&buf).map_err(|e| corrupt(line, crate::text::escape_name(&e.to_string())))?;
        out.push(rec);
    }
    Ok(out)
}

/// Check the hash chain of a log read from `r`, and that it holds the record whose hash is
/// `expect_head` (if given; [`GENESIS`] is the empty log's head).
pub fn check_chain<R: BufRead>(mut r: R, expect_head: Option<&str>) -> std::io::Result<ChainCheck> {
    let mut found = expect_head.is_none_or(|h| h.eq_ignore_ascii_case(GENESIS));
    let mut prev = GENESIS.to_string();
    let mut n = 0usize;
    let mut buf = Vec::new();
    while let Some((ok, newline)) = next_line(&mut r, &mut buf)? {
        let line_no = n + 1;
        let broken = |reason: String| Ok(ChainCheck::Broken { line: line_no, reason });
        if ok.is_err() {
            return broken(format!("the line is longer than {} MiB", MAX_LINE_BYTES >> 20));
        }
        if !newline {
            return broken("the log ends in a partial record".into());
        }
        let r: Record = match serde_json::from_slice(&buf) {
            Ok(r) => r,
            Err(e) => return broken(format!("not a record: {}", crate::text::escape_name(&e.to_string()))),
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
        found |= expect_head.is_some_and(|h| h.eq_ignore_ascii_case(&want));
        prev = want;
        n += 1;
    }
    Ok(match expect_head {
        Some(expected) if !found => ChainCheck::HeadMissing {
            records: n,
            head: prev,
            expected: expected.to_ascii_lowercase(),
        },
        _ => ChainCheck::Intact { records: n, head: prev },
    })
}

/// Where a record's content went, in one short cell of the listing.
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
    /// Per release, the sha256 of each signature carried (`pack --exclude-carried` leaves them
    /// out next time); absent in receipts written before.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub signatures: std::collections::BTreeMap<String, Vec<String>>,
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

/// The `kind` of an inventory file.
pub const INVENTORY_KIND: &str = "sigbundle-inventory";

/// What the air-gapped side holds, from its audit log (`unpack audit --inventory`): every
/// release and signature a successful emit or apply (not a dry run) put in place, and the
/// log's head; carried back, `pack --exclude-carried` leaves it out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inventory {
    pub kind: String,
    /// When it was made (RFC 3339).
    pub created: String,
    /// The hash of the newest record it was made from (none in an empty log).
    pub audit_head: Option<String>,
    /// Per release digest, the sha256 of each signature in place.
    pub releases: std::collections::BTreeMap<String, Vec<String>>,
}

impl Inventory {
    /// The inventory of `records` (oldest first).
    pub fn of(records: &[Record]) -> Inventory {
        let mut releases: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> =
            std::collections::BTreeMap::new();
        let delivered = |r: &Record| {
            r.outcome == Outcome::Ok.as_str()
                && matches!(r.action.as_str(), "emit" | "apply")
                && !matches!(r.destination, Some(Destination::Cluster { dry_run: true, .. }))
        };
        for r in records.iter().filter(|r| delivered(r)) {
            for rel in &r.releases {
                releases
                    .entry(rel.digest.clone())
                    .or_default()
                    .extend(rel.signatures.iter().cloned());
            }
        }
        Inventory {
            kind: INVENTORY_KIND.to_string(),
            created: crate::verify::rfc3339(crate::verify::unix(std::time::SystemTime::now())),
            audit_head: records.last().and_then(|r| r.hash.clone()),
            releases: releases
                .into_iter()
                .map(|(d, s)| (d, s.into_iter().collect()))
                .collect(),
        }
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
        let ok = r.outcome == Outcome::Ok.as_str();
        let imported = matches!(Action::parse(&r.action), Some(Action::Emit | Action::Apply)) && ok;
        if imported && got == want {
            return ReceiptMatch::ImportedAsPacked {
                seq: r.seq,
                time: r.time.clone(),
                action: r.action.clone(),
            };
        }
        if !ok {
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

    fn rec(action: Action) -> NewRecord {
        NewRecord {
            action,
            outcome: Outcome::Ok,
            bundle: "b.tar.zst".into(),
            bundle_sha256: Some("ab".repeat(32)),
            packer: None,
            cosigners: vec![],
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
        for a in [Action::Verify, Action::Emit, Action::Apply] {
            log.append(rec(a)).unwrap();
        }
        let ChainCheck::Intact { records: 3, head } = log.check(None).unwrap() else {
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
        assert!(matches!(log.check(None).unwrap(), ChainCheck::Broken { line: 3, .. }));
        // Delete the middle one.
        write(&[lines[0], lines[2]]);
        assert!(matches!(log.check(None).unwrap(), ChainCheck::Broken { line: 2, .. }));
        // Swap two.
        write(&[lines[1], lines[0], lines[2]]);
        assert!(matches!(log.check(None).unwrap(), ChainCheck::Broken { line: 1, .. }));
    }
}
