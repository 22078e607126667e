//! A keyring as the cluster reads one `verifier-public-key-*` entry: the first ASCII-armoured
//! block (Go's `armor.Decode`, with its 100-byte line reader), else binary packets; entities as
//! `openpgp.ReadEntity` builds them (a broken or unsupported entity is skipped, not fatal); and
//! `KeysByIdUsage`, which decides which key a one-pass signature packet names.

use std::rc::Rc;

use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;

use super::io::{share, Budget, BytesReader, GoErr};
use super::packet::{
    self, Packet, PublicKey, Secret, Signature, SIG_GENERIC_CERT, SIG_KEY_REVOCATION, SIG_POSITIVE_CERT,
    SIG_SUBKEY_BINDING, SIG_SUBKEY_REVOCATION,
};

/// A self-signature of a user id.
#[derive(Debug, Clone)]
pub struct Identity {
    pub name: Vec<u8>,
    pub self_signature: Signature,
}

/// A subkey and the binding (or revocation) signature Go keeps for it.
#[derive(Debug, Clone)]
pub struct Subkey {
    pub key: PublicKey,
    pub sig: Signature,
    /// The keyring held the secret part too (a secret subkey packet).
    pub secret: Option<Secret>,
}

/// `openpgp.Entity`.
#[derive(Debug, Clone)]
pub struct Entity {
    pub primary: PublicKey,
    /// The keyring held the primary key's secret part too.
    pub primary_secret: Option<Secret>,
    /// By name, as Go's map holds them (a later id of the same name replaces the earlier).
    pub identities: Vec<Identity>,
    pub revocations: Vec<Signature>,
    pub subkeys: Vec<Subkey>,
}

/// A usable key: the entity it belongs to and the key itself.
#[derive(Debug, Clone, Copy)]
pub struct KeyRef<'a> {
    pub entity: &'a Entity,
    pub key: &'a PublicKey,
}

/// Why a key the message names cannot be chosen the way the cluster would.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ambiguous {
    pub key: String,
}

/// `openpgp.EntityList`.
#[derive(Debug, Clone, Default)]
pub struct KeyRing {
    pub entities: Vec<Entity>,
}

/// Whether a key's self-signature allows signing (`KeysByIdUsage` with `KeyFlagSign`).
fn usable_for_signing(sig: &Signature) -> bool {
    if sig.revocation_reason.is_some() {
        return false;
    }
    !sig.flags_valid || sig.flag_sign
}

impl KeyRing {
    /// `KeysById(id)`: how many keys carry this id (primary keys and subkeys).
    pub fn count_by_id(&self, id: u64) -> usize {
        self.entities
            .iter()
            .map(|e| usize::from(e.primary.key_id == id) + e.subkeys.iter().filter(|s| s.key.key_id == id).count())
            .sum()
    }

    /// `KeysByIdUsage(id, KeyFlagSign)`, in Go's order. Go picks a primary key's self-signature
    /// from a map, so with several user ids (none, or more than one, marked primary) the choice is
    /// random; when that choice changes the answer, the cluster's verdict is not determined and
    /// this says so.
    pub fn signing_keys_by_id(&self, id: u64) -> Result<Vec<KeyRef<'_>>, Ambiguous> {
        let mut keys = Vec::new();
        for e in &self.entities {
            if e.primary.key_id == id {
                let primaries: Vec<&Identity> = e
                    .identities
                    .iter()
                    .filter(|i| i.self_signature.is_primary_id == Some(true))
                    .collect();
                let candidates: Vec<&Identity> = if primaries.is_empty() {
                    e.identities.iter().collect()
                } else {
                    primaries
                };
                let verdicts: Vec<bool> = candidates
                    .iter()
                    .map(|i| usable_for_signing(&i.self_signature))
                    .collect();
                let usable = verdicts.first().copied().unwrap_or(false);
                if verdicts.iter().any(|&v| v != usable) {
                    return Err(Ambiguous {
                        key: e.primary.fingerprint_hex(),
                    });
                }
                if e.revocations.is_empty() && usable {
                    keys.push(KeyRef {
                        entity: e,
                        key: &e.primary,
                    });
                }
            }
            for s in &e.subkeys {
                if s.key.key_id == id && e.revocations.is_empty() && usable_for_signing(&s.sig) {
                    keys.push(KeyRef { entity: e, key: &s.key });
                }
            }
        }
        Ok(keys)
    }

    /// `DecryptionKeys()`: secret subkeys whose flags allow encryption (or carry none).
    pub fn decryption_key_count(&self) -> usize {
        self.entities
            .iter()
            .flat_map(|e| &e.subkeys)
            .filter(|s| {
                s.secret.is_some()
                    && (!s.sig.flags_valid || s.sig.flag_encrypt_storage || s.sig.flag_encrypt_communications)
            })
            .count()
    }

    /// Whether a decryption key has its secret part in the clear.
    pub fn plain_decryption_key(&self) -> bool {
        self.entities.iter().flat_map(|e| &e.subkeys).any(|s| {
            s.secret == Some(Secret::Plain)
                && (!s.sig.flags_valid || s.sig.flag_encrypt_storage || s.sig.flag_encrypt_communications)
        })
    }

    /// Whether a key with this id has its secret part in the clear (Go would try to decrypt
    /// with it).
    pub fn plain_secret_by_id(&self, id: u64) -> bool {
        self.entities.iter().any(|e| {
            (e.primary.key_id == id && e.primary_secret == Some(Secret::Plain))
                || e.subkeys
                    .iter()
                    .any(|s| s.key.key_id == id && s.secret == Some(Secret::Plain))
        })
    }

    /// Whether the keyring holds a secret key in the clear (one the cluster could decrypt with).
    pub fn has_plain_secret(&self) -> bool {
        self.entities.iter().any(|e| {
            e.primary_secret == Some(Secret::Plain) || e.subkeys.iter().any(|s| s.secret == Some(Secret::Plain))
        })
    }

    /// Whether the keyring holds any secret key material.
    pub fn has_secret(&self) -> bool {
        self.entities
            .iter()
            .any(|e| e.primary_secret.is_some() || e.subkeys.iter().any(|s| s.secret.is_some()))
    }

    /// Whether any key with this id exists but is revoked (for a clearer refusal).
    pub fn revoked_key(&self, id: u64) -> Option<String> {
        for e in &self.entities {
            let revoked_primary = e.primary.key_id == id && !e.revocations.is_empty();
            if revoked_primary {
                return Some(e.primary.fingerprint_hex());
            }
            for s in &e.subkeys {
                if s.key.key_id == id && (!e.revocations.is_empty() || s.sig.sig_type == SIG_SUBKEY_REVOCATION) {
                    return Some(s.key.fingerprint_hex());
                }
            }
        }
        None
    }
}

/// Why a keyring could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRingError {
    /// Neither the armoured nor the binary reading gave a keyring.
    Unreadable { armored: String, binary: String },
}

impl std::fmt::Display for KeyRingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyRingError::Unreadable { armored, binary } => write!(
                f,
                "unable to read keyring with armor ({armored}) or without armor ({binary})"
            ),
        }
    }
}

/// `loadArmoredOrUnarmoredGPGKeyRing`: the first armoured block, else the bytes as binary packets.
pub fn load(data: &[u8]) -> Result<KeyRing, KeyRingError> {
    let armored = read_armored_key_ring(data);
    let armored_err = match armored {
        Ok(k) => return Ok(k),
        Err(e) => e,
    };
    match read_key_ring(Rc::from(data), GoErr::Eof) {
        Ok(k) => Ok(k),
        Err(e) => Err(KeyRingError::Unreadable {
            armored: armored_err.to_string(),
            binary: e.to_string(),
        }),
    }
}

/// How many ASCII-armoured blocks `data` holds (the cluster reads only the first).
pub fn armored_blocks(data: &[u8]) -> usize {
    data.split(|&b| b == b'\n')
        .filter(|l| {
            let t = l.trim_ascii();
            t.starts_with(b"-----BEGIN ") && t.len() > 16
        })
        .count()
}

/// Go's `bufio.Reader.ReadLine` with a 100-byte buffer over `data`.
struct LineReader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> LineReader<'a> {
    /// A line (without its end), whether it was cut at the buffer size, or `None` at the end.
    fn read_line(&mut self) -> Option<(&'a [u8], bool)> {
        let rest = &self.data[self.pos..];
        if rest.is_empty() {
            return None;
        }
        let window = &rest[..rest.len().min(100)];
        if let Some(i) = window.iter().position(|&b| b == b'\n') {
            self.pos += i + 1;
            let mut line = &window[..i];
            if line.last() == Some(&b'\r') {
                line = &line[..line.len() - 1];
            }
            return Some((line, false));
        }
        if window.len() == 100 {
            let mut line = window;
            if line.last() == Some(&b'\r') {
                line = &line[..99];
            }
            self.pos += line.len();
            return Some((line, true));
        }
        self.pos += window.len();
        Some((window, false))
    }
}

fn armor_corrupt() -> GoErr {
    GoErr::Structural("armor invalid".into())
}

/// A decoded armour block: its type, its body, and the error its reader ends in (if not EOF).
type ArmorBlock = (Vec<u8>, Vec<u8>, Option<GoErr>);

/// `armor.Decode` of the first block: its type and its body (or the error its reader ends in).
fn decode_armor(data: &[u8]) -> Result<ArmorBlock, GoErr> {
    let mut lr = LineReader { data, pos: 0 };
    let mut ignore_next = false;
    // TryNextBlock.
    loop {
        let block_type = find_armor_start(&mut lr, &mut ignore_next)?;
        if !read_armor_headers(&mut lr)? {
            continue;
        }
        let (body, end_err) = read_armor_body(&mut lr);
        return Ok((block_type, body, end_err));
    }
}

/// `armor.Decode` skipping leading garbage: the type named by the first `-----BEGIN ` line (a
/// line cut at the reader's buffer size, and the line after it, are passed over).
fn find_armor_start(lr: &mut LineReader<'_>, ignore_next: &mut bool) -> Result<Vec<u8>, GoErr> {
    loop {
        let ignore_this = *ignore_next;
        let Some((line, prefix)) = lr.read_line() else {
            return Err(GoErr::Eof);
        };
        *ignore_next = prefix;
        if *ignore_next || ignore_this {
            continue;
        }
        let line = line.trim_ascii();
        if line.len() > 16 && line.starts_with(b"-----BEGIN ") {
            return Ok(line[11..line.len() - 5].to_vec());
        }
    }
}

/// `armor.Decode`'s headers, up to an empty line; `false` when a line is not `Key: value`
/// (the search for a block starts again).
fn read_armor_headers(lr: &mut LineReader<'_>) -> Result<bool, GoErr> {
    let mut next_is_continuation = false;
    loop {
        let is_continuation = next_is_continuation;
        let Some((line, prefix)) = lr.read_line() else {
            return Err(GoErr::Eof);
        };
        next_is_continuation = prefix;
        if is_continuation {
            continue;
        }
        let line = line.trim_ascii();
        if line.is_empty() {
            return Ok(true);
        }
        if !line.windows(2).any(|w| w == b": ") {
            return Ok(false);
        }
    }
}

/// The body of an armour block: base64 lines up to "-----END ", an optional "=CRC24" line
/// before it, and the error its reader ends in (if not EOF).
/// Go's base64 stream decoder takes a line at a time (the armour line reader hands out one
/// line per read), decodes the whole quanta it has and keeps the rest for the next line:
/// padding is accepted at the end of what it decodes at once, CR and LF are skipped.
fn read_armor_body(lr: &mut LineReader<'_>) -> (Vec<u8>, Option<GoErr>) {
    let mut body = Vec::new();
    let mut pending: Vec<u8> = Vec::new();
    let mut crc: Option<u32> = None;
    let end_err = loop {
        let line = match armor_body_line(lr, &mut crc) {
            ArmorLine::Data(line) => line,
            ArmorLine::Nothing => continue,
            ArmorLine::End(e) => break e,
        };
        pending.extend(line.iter().filter(|&&c| c != b'\r' && c != b'\n'));
        if pending.len() >= 4 {
            let whole = pending.len() / 4 * 4;
            if let Err(e) = go_decode_chunk(&pending[..whole], &mut body) {
                return (body, Some(e));
            }
            pending.drain(..whole);
        }
    };
    if !pending.is_empty() && matches!(end_err, None | Some(GoErr::Eof)) {
        // A partial quantum at the end of the stream.
        return (body, Some(GoErr::UnexpectedEof));
    }
    if let (Some(want), None) = (crc, &end_err) {
        if crc24(&body) != want {
            return (body, Some(armor_corrupt()));
        }
    }
    (body, end_err)
}

/// What the armour's `lineReader` makes of one line of the body.
enum ArmorLine<'a> {
    /// Base64 characters for the decoder.
    Data(&'a [u8]),
    /// Nothing for this line; read on.
    Nothing,
    /// The body ends, with this error (`None`: at the end line, the checksum to be checked).
    End(Option<GoErr>),
}

/// `lineReader.Read` of one line: the end line, the checksum line (which must be followed by
/// the end line), or base64 data of at most 96 characters.
fn armor_body_line<'a>(lr: &mut LineReader<'a>, crc: &mut Option<u32>) -> ArmorLine<'a> {
    let Some((line, prefix)) = lr.read_line() else {
        return ArmorLine::End(Some(GoErr::Eof));
    };
    if prefix {
        return ArmorLine::End(Some(armor_corrupt()));
    }
    if line.starts_with(b"-----END ") {
        return ArmorLine::End(None);
    }
    if line.len() == 5 && line[0] == b'=' {
        return match go_base64().decode(&line[1..]) {
            Ok(b) if b.len() == 3 => {
                *crc = Some(u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]));
                let next = lr.read_line();
                if !next.is_some_and(|(l, _)| l.starts_with(b"-----END ")) {
                    ArmorLine::End(Some(armor_corrupt()))
                } else {
                    ArmorLine::End(None)
                }
            }
            // Go's reader returns nothing for this line and reads on.
            Ok(_) => ArmorLine::Nothing,
            Err(e) => ArmorLine::End(Some(GoErr::Other(format!("illegal base64 data: {e}")))),
        };
    }
    if line.len() > 96 {
        return ArmorLine::End(Some(armor_corrupt()));
    }
    ArmorLine::Data(line)
}

/// `Encoding.Decode` of `base64.StdEncoding` over one chunk (a multiple of four characters):
/// padding ends the chunk (anything after it is an error), non-zero trailing bits are accepted.
fn go_decode_chunk(src: &[u8], out: &mut Vec<u8>) -> Result<(), GoErr> {
    let corrupt = |at: usize| GoErr::Other(format!("illegal base64 data at input byte {at}"));
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut si = 0;
    while si < src.len() {
        let mut quad = [0u32; 4];
        let mut len = 4;
        for j in 0..4 {
            if si == src.len() {
                return Err(corrupt(si - j));
            }
            let c = src[si];
            si += 1;
            if let Some(v) = value(c) {
                quad[j] = v;
                continue;
            }
            if c != b'=' || j < 2 {
                return Err(corrupt(si - 1));
            }
            if j == 2 {
                if si == src.len() {
                    return Err(corrupt(src.len()));
                }
                if src[si] != b'=' {
                    return Err(corrupt(si - 1));
                }
                si += 1;
            }
            if si < src.len() {
                // Data after the padding: what was decoded is handed out, then the error.
                let v = quad[0] << 18 | quad[1] << 12 | quad[2] << 6 | quad[3];
                out.extend_from_slice(&[(v >> 16) as u8, (v >> 8) as u8, v as u8][..j - 1]);
                return Err(corrupt(si));
            }
            len = j;
            break;
        }
        let v = quad[0] << 18 | quad[1] << 12 | quad[2] << 6 | quad[3];
        out.extend_from_slice(&[(v >> 16) as u8, (v >> 8) as u8, v as u8][..len - 1]);
    }
    Ok(())
}

/// Go's `base64.StdEncoding`: padding required, non-zero trailing bits accepted.
fn go_base64() -> GeneralPurpose {
    GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
    )
}

fn crc24(d: &[u8]) -> u32 {
    let mut crc: u32 = 0xb704ce;
    for &b in d {
        crc ^= u32::from(b) << 16;
        for _ in 0..8 {
            crc <<= 1;
            if crc & 0x100_0000 != 0 {
                crc ^= 0x186_4cfb;
            }
        }
    }
    crc & 0xff_ffff
}

/// `ReadArmoredKeyRing`.
fn read_armored_key_ring(data: &[u8]) -> Result<KeyRing, GoErr> {
    let (block_type, body, end_err) = match decode_armor(data) {
        Err(GoErr::Eof) => return Err(GoErr::InvalidArgument("no armored data found".into())),
        Err(e) => return Err(e),
        Ok(x) => x,
    };
    if block_type != b"PGP PUBLIC KEY BLOCK" && block_type != b"PGP PRIVATE KEY BLOCK" {
        return Err(GoErr::InvalidArgument(format!(
            "expected public or private key block, got: {}",
            String::from_utf8_lossy(&block_type)
        )));
    }
    read_key_ring(Rc::from(body.as_slice()), end_err.unwrap_or(GoErr::Eof))
}

/// `ReadKeyRing`: every entity that reads; a broken or unsupported one is skipped up to the next
/// primary key; any other error loses the whole keyring.
fn read_key_ring(data: Rc<[u8]>, end_err: GoErr) -> Result<KeyRing, GoErr> {
    let mut packets = packet::Reader::new(share(BytesReader::ending(data, end_err)), Budget::new());
    let mut ring = KeyRing::default();
    let mut last_unsupported = None;
    loop {
        match read_entity(&mut packets) {
            Ok(e) => ring.entities.push(e),
            Err(err) => {
                let err = match err {
                    GoErr::Unsupported(_) | GoErr::Structural(_) => {
                        last_unsupported = Some(err);
                        match read_to_next_public_key(&mut packets) {
                            Ok(()) => continue,
                            Err(e) => e,
                        }
                    }
                    other => other,
                };
                if err == GoErr::Eof {
                    break;
                }
                return Err(err);
            }
        }
    }
    if ring.entities.is_empty() {
        if let Some(e) = last_unsupported {
            return Err(e);
        }
    }
    Ok(ring)
}

fn read_to_next_public_key(packets: &mut packet::Reader) -> Result<(), GoErr> {
    loop {
        match packets.next_packet() {
            Err(GoErr::Unsupported(_)) => continue,
            Err(e) => return Err(e),
            Ok(p @ Packet::PublicKey(_)) if matches!(&p, Packet::PublicKey(k) if !k.is_subkey) => {
                packets.unread(p);
                return Ok(());
            }
            Ok(_) => {}
        }
    }
}

/// `ReadEntity`.
fn read_entity(packets: &mut packet::Reader) -> Result<Entity, GoErr> {
    let (primary, primary_secret) = match packets.next_packet()? {
        Packet::PublicKey(k) => (*k, None),
        Packet::PrivateKey(k, secret) => (*k, Some(secret)),
        other => {
            packets.unread(other);
            return Err(GoErr::Structural("first packet was not a public/private key".into()));
        }
    };
    if !matches!(
        primary.algo,
        packet::ALGO_RSA | packet::ALGO_RSA_SIGN_ONLY | packet::ALGO_DSA | packet::ALGO_ECDSA
    ) {
        return Err(GoErr::Structural("primary key cannot be used for signatures".into()));
    }
    let mut e = Entity {
        primary,
        primary_secret,
        identities: Vec::new(),
        revocations: Vec::new(),
        subkeys: Vec::new(),
    };
    let mut revocations = Vec::new();
    loop {
        let p = match packets.next_packet() {
            Err(GoErr::Eof) => break,
            Err(err) => return Err(err),
            Ok(p) => p,
        };
        match p {
            Packet::UserId(id) => add_user_id(&mut e, packets, id)?,
            Packet::Signature(sig) if sig.sig_type == SIG_KEY_REVOCATION => revocations.push(*sig),
            Packet::PrivateKey(k, secret) => {
                if !k.is_subkey {
                    packets.unread(Packet::PrivateKey(k, secret));
                    break;
                }
                add_subkey(&mut e, packets, *k, Some(secret))?;
            }
            Packet::PublicKey(k) => {
                if !k.is_subkey {
                    packets.unread(Packet::PublicKey(k));
                    break;
                }
                add_subkey(&mut e, packets, *k, None)?;
            }
            _ => {}
        }
    }
    if e.identities.is_empty() {
        return Err(GoErr::Structural("entity without any identities".into()));
    }
    for r in revocations {
        if e.primary.verify_revocation_signature(&r).is_err() {
            return Err(GoErr::Structural("revocation signature signed by alternate key".into()));
        }
        e.revocations.push(r);
    }
    Ok(e)
}

fn add_user_id(e: &mut Entity, packets: &mut packet::Reader, id: Vec<u8>) -> Result<(), GoErr> {
    loop {
        let p = match packets.next_packet() {
            Err(GoErr::Eof) => return Ok(()),
            Err(err) => return Err(err),
            Ok(p) => p,
        };
        let Packet::Signature(sig) = p else {
            packets.unread(p);
            return Ok(());
        };
        if (sig.sig_type == SIG_POSITIVE_CERT || sig.sig_type == SIG_GENERIC_CERT)
            && sig.issuer_key_id == Some(e.primary.key_id)
        {
            if let Err(err) = e.primary.verify_user_id_signature(&id, &e.primary, &sig) {
                return Err(GoErr::Structural(format!("user ID self-signature invalid: {err}")));
            }
            let identity = Identity {
                name: id.clone(),
                self_signature: *sig,
            };
            match e.identities.iter_mut().find(|i| i.name == id) {
                Some(slot) => *slot = identity,
                None => e.identities.push(identity),
            }
        }
    }
}

fn add_subkey(
    e: &mut Entity,
    packets: &mut packet::Reader,
    key: PublicKey,
    secret: Option<Secret>,
) -> Result<(), GoErr> {
    let mut chosen: Option<Signature> = None;
    loop {
        let p = match packets.next_packet() {
            Err(GoErr::Eof) => break,
            Err(err) => return Err(GoErr::Structural(format!("subkey signature invalid: {err}"))),
            Ok(p) => p,
        };
        let Packet::Signature(sig) = p else {
            packets.unread(p);
            break;
        };
        if sig.sig_type != SIG_SUBKEY_BINDING && sig.sig_type != SIG_SUBKEY_REVOCATION {
            return Err(GoErr::Structural("subkey signature with wrong type".into()));
        }
        if let Err(err) = e.primary.verify_key_signature(&key, &sig) {
            return Err(GoErr::Structural(format!("subkey signature invalid: {err}")));
        }
        if sig.sig_type == SIG_SUBKEY_REVOCATION {
            chosen = Some(*sig);
        } else {
            // shouldReplaceSubkeySig: never over a revocation; a newer binding replaces.
            let replace = match &chosen {
                None => true,
                Some(old) if old.sig_type == SIG_SUBKEY_REVOCATION => false,
                Some(old) => sig.creation_time > old.creation_time,
            };
            if replace {
                chosen = Some(*sig);
            }
        }
    }
    let Some(sig) = chosen else {
        return Err(GoErr::Structural("subkey packet not followed by signature".into()));
    };
    e.subkeys.push(Subkey { key, sig, secret });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../tests/fixtures/keys")
                .join(name),
        )
        .unwrap()
    }

    #[test]
    fn reads_red_hats_keys_as_the_cluster_does() {
        let ring = load(&fixture("redhat-release-key-2.asc")).unwrap();
        assert_eq!(ring.entities.len(), 1);
        assert_eq!(
            ring.entities[0].primary.fingerprint_hex(),
            "567E347AD0044ADE55BA8A5F199E2F91FD431D51"
        );
        let ring = load(&fixture("redhat-beta-key-2.asc")).unwrap();
        assert_eq!(
            ring.entities[0].primary.fingerprint_hex(),
            "B08B659EE86AF623BC90E8DB938A80CAF21541EB"
        );
    }

    #[test]
    fn only_the_first_armored_block_counts() {
        let mut two = fixture("redhat-release-key-2.asc");
        two.extend(fixture("redhat-beta-key-2.asc"));
        assert_eq!(armored_blocks(&two), 2);
        let ring = load(&two).unwrap();
        assert_eq!(ring.entities.len(), 1);
        assert_eq!(
            ring.entities[0].primary.fingerprint_hex(),
            "567E347AD0044ADE55BA8A5F199E2F91FD431D51"
        );
    }

    #[test]
    fn garbage_is_no_keyring() {
        assert!(load(b"not a key").is_err());
        assert!(load(b"").is_ok_and(|k| k.entities.is_empty()));
    }
}
