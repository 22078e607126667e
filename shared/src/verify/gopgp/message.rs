//! A release signature read as library-go's `verifySignatureWithKeyring` reads it with
//! `openpgp.ReadMessage`: the packets before the message (session keys make it fail; others are
//! skipped), compressed packets opened as they come, each one-pass signature packet choosing the
//! hash and — through `KeysByIdUsage` — the key (a one-pass packet that is not the last is
//! "nested signatures"), the literal data hashed as it is read, and then exactly one packet after
//! it, which must be the signature. Whatever follows is never read.

use std::rc::Rc;

use super::crypto::SigHash;
use super::io::{read, share, Budget, BytesReader, GoErr};
use super::keys::{KeyRef, KeyRing};
use super::packet::{self, Packet, Signature, SignatureV3, SIG_BINARY, SIG_TEXT};

/// The largest literal (the signed payload) read: Red Hat's are a few hundred bytes.
pub const MAX_LITERAL: usize = 1 << 20;

/// Why the message was refused, in the order library-go checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// `could not read the message: …` (`ReadMessage` failed).
    Read(GoErr),
    /// `not signed`: no one-pass signature packet before the literal data.
    NotSigned,
    /// Reading the literal data failed.
    Body(GoErr),
    /// `signature error: …`: the packet after the literal is not a good signature by the key.
    Signature(GoErr),
    /// `invalid signature`: no usable key of the keyring has the one-pass packet's key id.
    UnknownKey { key_id: u64 },
    /// The signature has expired (its creation time plus its lifetime is past).
    Expired { at: u64 },
    /// The cluster's choice of key depends on Go's map order (see `KeyRing::signing_keys_by_id`).
    Ambiguous { key: String },
}

/// A signature the keyring verified: the payload and who signed it, when.
#[derive(Debug, Clone)]
pub struct Verified {
    pub content: Vec<u8>,
    /// Fingerprint of the signing key (uppercase hex).
    pub signer: String,
    /// Fingerprint of its certificate's primary key.
    pub signer_cert: String,
    pub created: u32,
    /// The hash algorithm and key algorithm ids, for `--strict`.
    pub hash_id: u8,
    pub pubkey_algo: u8,
    pub v3: bool,
}

enum Sig {
    V4(Box<Signature>),
    V3(Box<SignatureV3>),
}

/// What `readSignedMessage` found before the literal data (Go's `MessageDetails`).
struct MessageDetails<'a> {
    is_signed: bool,
    signed_by_key_id: u64,
    /// The hash the one-pass packet chose, fed the literal as it is read.
    hash: Option<SigHash>,
    signed_by: Option<KeyRef<'a>>,
    literal: packet::Literal,
}

/// `verifySignatureWithKeyring(bytes, keyring)` at time `now` (seconds since the epoch).
pub fn verify_with_keyring(data: &[u8], ring: &KeyRing, now: u64) -> Result<Verified, Refusal> {
    let budget = Budget::new();
    let mut packets = packet::Reader::new(share(BytesReader::new(Rc::from(data))), budget);
    // ReadMessage: the packets before the signed message, then readSignedMessage.
    read_key_packets(&mut packets, ring)?;
    let md = read_signed_message(&mut packets, ring)?;

    // verifySignatureWithKeyring.
    if !md.is_signed {
        return Err(Refusal::NotSigned);
    }
    let (Some(signer), Some(hash)) = (md.signed_by, md.hash) else {
        // The body is read (and may fail) before "invalid signature" is decided.
        super::io::read_all(&md.literal.body, MAX_LITERAL).map_err(Refusal::Body)?;
        return Err(Refusal::UnknownKey {
            key_id: md.signed_by_key_id,
        });
    };
    let (content, sig) = signature_check_reader(&mut packets, &md.literal, signer, hash)?;
    let (created, hash_id, pubkey_algo, v3) = signature_facts(&sig, now)?;
    Ok(Verified {
        content,
        signer: signer.key.fingerprint_hex(),
        signer_cert: signer.entity.primary.fingerprint_hex(),
        created,
        hash_id,
        pubkey_algo,
        v3,
    })
}

/// `ReadMessage`'s `ParsePackets` loop: the packets before the signed message (session keys
/// make it fail; others are skipped), up to the first compressed, literal or one-pass packet,
/// which is put back.
fn read_key_packets(packets: &mut packet::Reader, ring: &KeyRing) -> Result<(), Refusal> {
    let mut session_keys = 0usize;
    let mut plain_secret = false;
    loop {
        let p = packets.next_packet().map_err(Refusal::Read)?;
        match p {
            Packet::SymmetricKeyEncrypted => session_keys += 1,
            Packet::EncryptedKey { key_id, algo } => {
                if matches!(
                    algo,
                    packet::ALGO_RSA | packet::ALGO_RSA_ENCRYPT_ONLY | packet::ALGO_ELGAMAL
                ) {
                    // Key id 0 asks for every decryption key (secret subkeys) of the keyring.
                    if key_id == 0 {
                        session_keys += ring.decryption_key_count();
                        plain_secret |= ring.plain_decryption_key();
                    } else {
                        session_keys += ring.count_by_id(key_id);
                        plain_secret |= ring.plain_secret_by_id(key_id);
                    }
                }
            }
            // An encrypted message: without a secret key in the clear nothing can decrypt it, and
            // sigbundle does not decrypt messages even when the trust configuration holds one.
            Packet::SymmetricallyEncrypted => {
                return Err(Refusal::Read(if plain_secret {
                    GoErr::Unsupported(
                        "an encrypted message to a key whose secret part the trust configuration holds: sigbundle does not decrypt messages".into(),
                    )
                } else {
                    GoErr::KeyIncorrect
                }))
            }
            p @ (Packet::Compressed(_) | Packet::Literal(_) | Packet::OnePass(_)) => {
                if session_keys != 0 {
                    return Err(Refusal::Read(GoErr::Structural(
                        "key material not followed by encrypted message".into(),
                    )));
                }
                packets.unread(p);
                return Ok(());
            }
            _ => {}
        }
    }
}

/// `readSignedMessage`: compressed packets opened as they come, each one-pass signature packet
/// choosing the hash and (through `KeysByIdUsage`) the key, up to the literal data.
fn read_signed_message<'a>(packets: &mut packet::Reader, ring: &'a KeyRing) -> Result<MessageDetails<'a>, Refusal> {
    let mut is_signed = false;
    let mut signed_by_key_id = 0u64;
    let mut hash: Option<SigHash> = None;
    let mut signed_by: Option<KeyRef<'a>> = None;
    let literal = loop {
        match packets.next_packet().map_err(Refusal::Read)? {
            Packet::Compressed(body) => packets.push(body).map_err(Refusal::Read)?,
            Packet::OnePass(ops) => {
                if !ops.is_last {
                    return Err(Refusal::Read(GoErr::Unsupported("nested signatures".into())));
                }
                if ops.sig_type != SIG_BINARY && ops.sig_type != SIG_TEXT && ops.hash.available() {
                    return Err(Refusal::Read(GoErr::Unsupported(format!(
                        "unsupported signature type: {}",
                        ops.sig_type
                    ))));
                }
                hash = Some(SigHash::new(ops.hash, ops.sig_type == SIG_TEXT).map_err(Refusal::Read)?);
                is_signed = true;
                signed_by_key_id = ops.key_id;
                let keys = ring
                    .signing_keys_by_id(ops.key_id)
                    .map_err(|a| Refusal::Ambiguous { key: a.key })?;
                if let Some(k) = keys.first() {
                    signed_by = Some(*k);
                }
            }
            Packet::Literal(l) => break l,
            _ => {}
        }
    };
    Ok(MessageDetails {
        is_signed,
        signed_by_key_id,
        hash,
        signed_by,
        literal,
    })
}

/// `signatureCheckReader`: hash the literal as read; at its end, read one more packet, which
/// must be a good signature by `signer`. The payload and that signature.
fn signature_check_reader(
    packets: &mut packet::Reader,
    literal: &packet::Literal,
    signer: KeyRef<'_>,
    mut hash: SigHash,
) -> Result<(Vec<u8>, Sig), Refusal> {
    let mut content = Vec::new();
    let mut buf = vec![0u8; 4096];
    loop {
        let (n, err) = read(&literal.body, &mut buf);
        if content.len() + n > MAX_LITERAL {
            return Err(Refusal::Body(GoErr::Limit(format!(
                "the signed payload is larger than {MAX_LITERAL} bytes"
            ))));
        }
        hash.write_data(&buf[..n]);
        content.extend_from_slice(&buf[..n]);
        match err {
            None => continue,
            Some(GoErr::Eof) => {}
            Some(e) => return Err(Refusal::Body(e)),
        }
        let sig = match packets.next_packet() {
            Err(e) => return Err(Refusal::Signature(e)),
            Ok(Packet::Signature(s)) => {
                signer.key.verify_signature(hash, &s).map_err(Refusal::Signature)?;
                Sig::V4(s)
            }
            Ok(Packet::SignatureV3(s)) => {
                signer.key.verify_signature_v3(hash, &s).map_err(Refusal::Signature)?;
                Sig::V3(s)
            }
            Ok(_) => {
                return Err(Refusal::Signature(GoErr::Structural(
                    "LiteralData not followed by Signature".into(),
                )))
            }
        };
        return Ok((content, sig));
    }
}

/// The verified signature's creation time, hash and key algorithm ids and whether it is v3; a
/// v4 signature whose lifetime has passed at `now` is refused.
fn signature_facts(sig: &Sig, now: u64) -> Result<(u32, u8, u8, bool), Refusal> {
    Ok(match sig {
        Sig::V4(s) => {
            let created = s.creation_time.unwrap_or(0);
            if let Some(life) = s.sig_lifetime {
                let expiry = u64::from(created) + u64::from(life);
                if now > expiry {
                    return Err(Refusal::Expired { at: expiry });
                }
            }
            (created, s.hash.id(), s.pubkey_algo, false)
        }
        Sig::V3(s) => (s.creation_time, s.hash.id(), s.pubkey_algo, true),
    })
}
