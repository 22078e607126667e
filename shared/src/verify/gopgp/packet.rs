//! OpenPGP packets as `x/crypto/openpgp/packet` reads them: the header, each packet type's
//! fields and its errors, unknown packet types skipped, and the packet reader's stack of
//! streams (a compressed packet pushes its decompressed body, at most 32 deep).

use std::rc::Rc;

use super::bzip2;
use super::crypto::{self, curve_for_oid, ec_point_valid, HashAlgo, SigHash};
use super::flate::{inflater, ZlibReader};
use super::io::{
    consume_all, packet_read_full, read_all, read_full, read_length, share, Budget, Bufio, GoErr, PartialLengthReader,
    Shared, SpanReader,
};

/// Largest body a `UserId`, `UserAttribute` or private key packet may have in a message (its
/// bytes come from the message or its decompressed body, both bounded already).
const MAX_READ_ALL: usize = 8 << 20;

/// A multiprecision integer as read: its bytes and the bit count the packet claimed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mpi {
    pub bytes: Vec<u8>,
    pub bit_length: u16,
}

/// `readMPI`: the bit count, then `(bits + 7) / 8` bytes (leading zeros and all).
fn read_mpi(r: &Shared) -> Result<Mpi, GoErr> {
    let mut b = [0u8; 2];
    packet_read_full(r, &mut b)?;
    let bit_length = u16::from_be_bytes(b);
    let mut bytes = vec![0u8; usize::from(bit_length).div_ceil(8)];
    packet_read_full(r, &mut bytes)?;
    Ok(Mpi { bytes, bit_length })
}

fn write_mpi(out: &mut Vec<u8>, m: &Mpi) {
    out.extend_from_slice(&m.bit_length.to_be_bytes());
    out.extend_from_slice(&m.bytes);
}

pub const ALGO_RSA: u8 = 1;
pub const ALGO_RSA_ENCRYPT_ONLY: u8 = 2;
pub const ALGO_RSA_SIGN_ONLY: u8 = 3;
pub const ALGO_ELGAMAL: u8 = 16;
pub const ALGO_DSA: u8 = 17;
pub const ALGO_ECDH: u8 = 18;
pub const ALGO_ECDSA: u8 = 19;

/// The key material of a v4 public key.
#[derive(Debug, Clone)]
pub enum KeyMaterial {
    Rsa {
        n: Mpi,
        e: Mpi,
    },
    Dsa {
        p: Mpi,
        q: Mpi,
        g: Mpi,
        y: Mpi,
    },
    ElGamal {
        p: Mpi,
        g: Mpi,
        y: Mpi,
    },
    Ecdsa {
        oid: Vec<u8>,
        point: Mpi,
    },
    Ecdh {
        oid: Vec<u8>,
        point: Mpi,
        kdf_hash: u8,
        kdf_algo: u8,
    },
}

/// A v4 public key (`packet.PublicKey`).
#[derive(Debug, Clone)]
pub struct PublicKey {
    pub creation_time: u32,
    pub algo: u8,
    pub material: KeyMaterial,
    pub fingerprint: [u8; 20],
    pub key_id: u64,
    pub is_subkey: bool,
    /// `SerializeSignaturePrefix` and `serializeWithoutHeaders`: what key signatures hash.
    pub hashed_form: Vec<u8>,
}

impl PublicKey {
    fn parse(r: &Shared, is_subkey: bool) -> Result<PublicKey, GoErr> {
        let mut buf = [0u8; 6];
        packet_read_full(r, &mut buf)?;
        if buf[0] != 4 {
            return Err(GoErr::Unsupported("public key version".into()));
        }
        let creation_time = u32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]);
        let algo = buf[5];
        let material = match algo {
            ALGO_RSA | ALGO_RSA_ENCRYPT_ONLY | ALGO_RSA_SIGN_ONLY => {
                let n = read_mpi(r)?;
                let e = read_mpi(r)?;
                if e.bytes.len() > 3 {
                    return Err(GoErr::Unsupported("large public exponent".into()));
                }
                KeyMaterial::Rsa { n, e }
            }
            ALGO_DSA => KeyMaterial::Dsa {
                p: read_mpi(r)?,
                q: read_mpi(r)?,
                g: read_mpi(r)?,
                y: read_mpi(r)?,
            },
            ALGO_ELGAMAL => KeyMaterial::ElGamal {
                p: read_mpi(r)?,
                g: read_mpi(r)?,
                y: read_mpi(r)?,
            },
            ALGO_ECDSA => {
                let (oid, point) = parse_ec(r)?;
                check_ec(&oid, &point)?;
                KeyMaterial::Ecdsa { oid, point }
            }
            ALGO_ECDH => {
                let (oid, point) = parse_ec(r)?;
                let mut l = [0u8; 1];
                packet_read_full(r, &mut l)?;
                if l[0] < 3 {
                    return Err(GoErr::Unsupported(format!("Unsupported ECDH KDF length: {}", l[0])));
                }
                let mut kdf = vec![0u8; usize::from(l[0])];
                packet_read_full(r, &mut kdf)?;
                if kdf[0] != 1 {
                    return Err(GoErr::Unsupported(format!(
                        "Unsupported KDF reserved field: {}",
                        kdf[0]
                    )));
                }
                check_ec(&oid, &point)?;
                KeyMaterial::Ecdh {
                    oid,
                    point,
                    kdf_hash: kdf[1],
                    kdf_algo: kdf[2],
                }
            }
            other => return Err(GoErr::Unsupported(format!("public key type: {other}"))),
        };
        let mut key = PublicKey {
            creation_time,
            algo,
            material,
            fingerprint: [0; 20],
            key_id: 0,
            is_subkey,
            hashed_form: Vec::new(),
        };
        key.hashed_form = key.serialize_for_hash();
        let fp = openssl::sha::sha1(&key.hashed_form);
        key.fingerprint = fp;
        key.key_id = u64::from_be_bytes(fp[12..20].try_into().unwrap_or_default());
        Ok(key)
    }

    fn serialize_for_hash(&self) -> Vec<u8> {
        let mut body = vec![4];
        body.extend_from_slice(&self.creation_time.to_be_bytes());
        body.push(self.algo);
        // Go computes the length from the parsed fields, in 16 bits.
        let mut p_len: u16 = 6;
        let mut mpis = |ms: &[&Mpi], body: &mut Vec<u8>| {
            for m in ms {
                p_len = p_len.wrapping_add(2).wrapping_add(m.bytes.len() as u16);
                write_mpi(body, m);
            }
        };
        match &self.material {
            KeyMaterial::Rsa { n, e } => mpis(&[n, e], &mut body),
            KeyMaterial::Dsa { p, q, g, y } => mpis(&[p, q, g, y], &mut body),
            KeyMaterial::ElGamal { p, g, y } => mpis(&[p, g, y], &mut body),
            KeyMaterial::Ecdsa { oid, point } | KeyMaterial::Ecdh { oid, point, .. } => {
                p_len = p_len.wrapping_add((1 + oid.len() + 2 + point.bytes.len()) as u16);
                body.push(oid.len() as u8);
                body.extend_from_slice(oid);
                write_mpi(&mut body, point);
                if let KeyMaterial::Ecdh { kdf_hash, kdf_algo, .. } = &self.material {
                    p_len = p_len.wrapping_add(4);
                    body.extend_from_slice(&[3, 1, *kdf_hash, *kdf_algo]);
                }
            }
        }
        let mut out = vec![0x99];
        out.extend_from_slice(&p_len.to_be_bytes());
        out.extend_from_slice(&body);
        out
    }

    /// `PublicKey.CanSign()`.
    pub fn can_sign(&self) -> bool {
        self.algo != ALGO_RSA_ENCRYPT_ONLY && self.algo != ALGO_ELGAMAL
    }

    /// The fingerprint in uppercase hex.
    pub fn fingerprint_hex(&self) -> String {
        hex::encode_upper(self.fingerprint)
    }

    /// `VerifySignature` (v4): the hash tag, the algorithms, then the signature itself.
    pub fn verify_signature(&self, mut h: SigHash, sig: &Signature) -> Result<(), GoErr> {
        if !self.can_sign() {
            return Err(GoErr::InvalidArgument("public key cannot generate signatures".into()));
        }
        h.write_raw(&sig.hash_suffix);
        let hashed = h.finish();
        self.check(&hashed, sig.hash_tag, sig.pubkey_algo, sig.hash, &sig.mpis)
    }

    /// `VerifySignatureV3`.
    pub fn verify_signature_v3(&self, mut h: SigHash, sig: &SignatureV3) -> Result<(), GoErr> {
        if !self.can_sign() {
            return Err(GoErr::InvalidArgument("public key cannot generate signatures".into()));
        }
        let mut suffix = vec![sig.sig_type];
        suffix.extend_from_slice(&sig.creation_time.to_be_bytes());
        h.write_raw(&suffix);
        let hashed = h.finish();
        self.check(&hashed, sig.hash_tag, sig.pubkey_algo, sig.hash, &sig.mpis)
    }

    fn check(&self, hashed: &[u8], tag: [u8; 2], sig_algo: u8, hash: HashAlgo, mpis: &SigMpis) -> Result<(), GoErr> {
        if hashed.len() < 2 || hashed[0] != tag[0] || hashed[1] != tag[1] {
            return Err(GoErr::Signature("hash tag doesn't match".into()));
        }
        if self.algo != sig_algo {
            return Err(GoErr::InvalidArgument(
                "public key and signature use different algorithms".into(),
            ));
        }
        match (&self.material, mpis) {
            (KeyMaterial::Rsa { n, e }, SigMpis::Rsa(s)) => crypto::verify_rsa(
                &crypto::RsaKey {
                    n: &n.bytes,
                    e: &e.bytes,
                },
                hash,
                hashed,
                &s.bytes,
            ),
            (KeyMaterial::Dsa { p, q, g, y }, SigMpis::Two(r, s)) => crypto::verify_dsa(
                &crypto::DsaKey {
                    p: &p.bytes,
                    q: &q.bytes,
                    g: &g.bytes,
                    y: &y.bytes,
                },
                hashed,
                &r.bytes,
                &s.bytes,
            ),
            (KeyMaterial::Ecdsa { oid, point }, SigMpis::Two(r, s)) => match curve_for_oid(oid) {
                Some(nid) => crypto::verify_ecdsa(nid, &point.bytes, hashed, &r.bytes, &s.bytes),
                None => Err(GoErr::Signature("ECDSA verification failure".into())),
            },
            _ => Err(GoErr::Signature(
                "Unsupported public key algorithm used in signature".into(),
            )),
        }
    }

    /// A hash over this key's hashed form and `other`'s (`keySignatureHash`).
    pub fn key_signature_hash(&self, other: &PublicKey, hash: HashAlgo) -> Result<SigHash, GoErr> {
        if !hash.available() {
            return Err(GoErr::Unsupported("hash function".into()));
        }
        let mut h = SigHash::new(hash, false)?;
        h.write_raw(&self.hashed_form);
        h.write_raw(&other.hashed_form);
        Ok(h)
    }

    /// `VerifyKeySignature`: a subkey binding, and for a signing subkey its cross-signature.
    pub fn verify_key_signature(&self, signed: &PublicKey, sig: &Signature) -> Result<(), GoErr> {
        let h = self.key_signature_hash(signed, sig.hash)?;
        self.verify_signature(h, sig)?;
        if sig.flag_sign {
            let Some(emb) = &sig.embedded else {
                return Err(GoErr::Structural("signing subkey is missing cross-signature".into()));
            };
            let h = self
                .key_signature_hash(signed, emb.hash)
                .map_err(|e| GoErr::Structural(format!("error while hashing for cross-signature: {e}")))?;
            signed
                .verify_signature(h, emb)
                .map_err(|e| GoErr::Structural(format!("error while verifying cross-signature: {e}")))?;
        }
        Ok(())
    }

    /// `VerifyRevocationSignature`.
    pub fn verify_revocation_signature(&self, sig: &Signature) -> Result<(), GoErr> {
        if !sig.hash.available() {
            return Err(GoErr::Unsupported("hash function".into()));
        }
        let mut h = SigHash::new(sig.hash, false)?;
        h.write_raw(&self.hashed_form);
        self.verify_signature(h, sig)
    }

    /// `VerifyUserIdSignature` with this key as signer and `pk` as the key the id belongs to.
    pub fn verify_user_id_signature(&self, id: &[u8], pk: &PublicKey, sig: &Signature) -> Result<(), GoErr> {
        if !sig.hash.available() {
            return Err(GoErr::Unsupported("hash function".into()));
        }
        let mut h = SigHash::new(sig.hash, false)?;
        h.write_raw(&pk.hashed_form);
        h.write_raw(&[0xb4]);
        h.write_raw(&(id.len() as u32).to_be_bytes());
        h.write_raw(id);
        self.verify_signature(h, sig)
    }
}

fn parse_ec(r: &Shared) -> Result<(Vec<u8>, Mpi), GoErr> {
    let mut l = [0u8; 1];
    packet_read_full(r, &mut l)?;
    if l[0] > 8 {
        return Err(GoErr::Unsupported(format!("invalid oid length: {}", l[0])));
    }
    let mut oid = vec![0u8; usize::from(l[0])];
    packet_read_full(r, &mut oid)?;
    Ok((oid, read_mpi(r)?))
}

/// `ecdsaKey.newECDSA`: a NIST curve and a valid uncompressed point.
fn check_ec(oid: &[u8], point: &Mpi) -> Result<(), GoErr> {
    let nid = curve_for_oid(oid).ok_or_else(|| GoErr::Unsupported(format!("unsupported oid: {}", hex::encode(oid))))?;
    if !ec_point_valid(nid, &point.bytes) {
        return Err(GoErr::Unsupported("failed to parse EC point".into()));
    }
    Ok(())
}

/// A v2/v3 public key (`packet.PublicKeyV3`): parsed, never usable for verification.
#[derive(Debug, Clone)]
pub struct PublicKeyV3 {
    pub key_id: u64,
}

impl PublicKeyV3 {
    fn parse(r: &Shared) -> Result<PublicKeyV3, GoErr> {
        let mut buf = [0u8; 8];
        packet_read_full(r, &mut buf)?;
        if buf[0] < 2 || buf[0] > 3 {
            return Err(GoErr::Unsupported("public key version".into()));
        }
        match buf[7] {
            ALGO_RSA | ALGO_RSA_ENCRYPT_ONLY | ALGO_RSA_SIGN_ONLY => {}
            other => return Err(GoErr::Unsupported(format!("public key type: {other}"))),
        }
        let n = read_mpi(r)?;
        let e = read_mpi(r)?;
        if n.bytes.len() < 8 {
            return Err(GoErr::Structural("v3 public key modulus is too short".into()));
        }
        if e.bytes.len() > 3 {
            return Err(GoErr::Unsupported("large public exponent".into()));
        }
        let tail: [u8; 8] = n.bytes[n.bytes.len() - 8..].try_into().unwrap_or_default();
        Ok(PublicKeyV3 {
            key_id: u64::from_be_bytes(tail),
        })
    }
}

/// The signature values.
#[derive(Debug, Clone)]
pub enum SigMpis {
    Rsa(Mpi),
    /// DSA or ECDSA: r and s.
    Two(Mpi, Mpi),
}

/// A v4 signature (`packet.Signature`), with the subpackets Go reads.
#[derive(Debug, Clone)]
pub struct Signature {
    pub sig_type: u8,
    pub pubkey_algo: u8,
    pub hash: HashAlgo,
    pub hash_suffix: Vec<u8>,
    pub hash_tag: [u8; 2],
    pub creation_time: Option<u32>,
    pub sig_lifetime: Option<u32>,
    pub key_lifetime: Option<u32>,
    pub issuer_key_id: Option<u64>,
    pub is_primary_id: Option<bool>,
    pub flags_valid: bool,
    pub flag_certify: bool,
    pub flag_sign: bool,
    pub flag_encrypt_communications: bool,
    pub flag_encrypt_storage: bool,
    pub revocation_reason: Option<u8>,
    pub embedded: Option<Box<Signature>>,
    pub mpis: SigMpis,
}

pub const SIG_BINARY: u8 = 0x00;
pub const SIG_TEXT: u8 = 0x01;
pub const SIG_GENERIC_CERT: u8 = 0x10;
pub const SIG_POSITIVE_CERT: u8 = 0x13;
pub const SIG_SUBKEY_BINDING: u8 = 0x18;
pub const SIG_PRIMARY_KEY_BINDING: u8 = 0x19;
pub const SIG_KEY_REVOCATION: u8 = 0x20;
pub const SIG_SUBKEY_REVOCATION: u8 = 0x28;

impl Signature {
    fn parse(r: &Shared) -> Result<Signature, GoErr> {
        let mut buf = [0u8; 5];
        packet_read_full(r, &mut buf[..1])?;
        if buf[0] != 4 {
            return Err(GoErr::Unsupported(format!("signature packet version {}", buf[0])));
        }
        packet_read_full(r, &mut buf)?;
        let pubkey_algo = buf[1];
        if !matches!(pubkey_algo, ALGO_RSA | ALGO_RSA_SIGN_ONLY | ALGO_DSA | ALGO_ECDSA) {
            return Err(GoErr::Unsupported(format!("public key algorithm {pubkey_algo}")));
        }
        let hash = HashAlgo::from_id(buf[2]).ok_or_else(|| GoErr::Unsupported(format!("hash function {}", buf[2])))?;
        let hashed_len = usize::from(buf[3]) << 8 | usize::from(buf[4]);
        let l = 6 + hashed_len;
        let mut hash_suffix = vec![0u8; l + 6];
        hash_suffix[0] = 4;
        hash_suffix[1..6].copy_from_slice(&buf);
        packet_read_full(r, &mut hash_suffix[6..l])?;
        hash_suffix[l..].copy_from_slice(&[4, 0xff, (l >> 24) as u8, (l >> 16) as u8, (l >> 8) as u8, l as u8]);
        let mut sig = Signature {
            sig_type: buf[0],
            pubkey_algo,
            hash,
            hash_suffix: Vec::new(),
            hash_tag: [0; 2],
            creation_time: None,
            sig_lifetime: None,
            key_lifetime: None,
            issuer_key_id: None,
            is_primary_id: None,
            flags_valid: false,
            flag_certify: false,
            flag_sign: false,
            flag_encrypt_communications: false,
            flag_encrypt_storage: false,
            revocation_reason: None,
            embedded: None,
            mpis: SigMpis::Rsa(Mpi::default()),
        };
        let hashed = hash_suffix[6..l].to_vec();
        sig.hash_suffix = hash_suffix;
        sig.parse_subpackets(&hashed, true)?;
        let mut b = [0u8; 2];
        packet_read_full(r, &mut b)?;
        let mut unhashed = vec![0u8; usize::from(u16::from_be_bytes(b))];
        packet_read_full(r, &mut unhashed)?;
        sig.parse_subpackets(&unhashed, false)?;
        packet_read_full(r, &mut sig.hash_tag)?;
        sig.mpis = match pubkey_algo {
            ALGO_RSA | ALGO_RSA_SIGN_ONLY => SigMpis::Rsa(read_mpi(r)?),
            _ => {
                let first = read_mpi(r)?;
                SigMpis::Two(first, read_mpi(r)?)
            }
        };
        Ok(sig)
    }

    fn parse_subpackets(&mut self, mut sub: &[u8], hashed: bool) -> Result<(), GoErr> {
        while !sub.is_empty() {
            sub = self.parse_subpacket(sub, hashed)?;
        }
        if self.creation_time.is_none() {
            return Err(GoErr::Structural("no creation time in signature".into()));
        }
        Ok(())
    }

    /// `parseSignatureSubpacket`: one subpacket's header, then its contents by type; the rest.
    fn parse_subpacket<'a>(&mut self, sub: &'a [u8], hashed: bool) -> Result<&'a [u8], GoErr> {
        let truncated = || GoErr::Structural("signature subpacket truncated".into());
        let (length, body) = subpacket_length(sub).ok_or_else(truncated)?;
        if length > body.len() {
            return Err(truncated());
        }
        let (packet, rest) = body.split_at(length);
        if packet.is_empty() {
            return Err(GoErr::Structural("zero length signature subpacket".into()));
        }
        let typ = packet[0] & 0x7f;
        let critical = packet[0] & 0x80 != 0;
        self.read_subpacket(typ, critical, &packet[1..], hashed)?;
        Ok(rest)
    }

    /// The `switch packetType` of `parseSignatureSubpacket`: the contents `p` of a subpacket.
    fn read_subpacket(&mut self, typ: u8, critical: bool, p: &[u8], hashed: bool) -> Result<(), GoErr> {
        match typ {
            2 => {
                if !hashed {
                    return Err(GoErr::Structural("signature creation time in non-hashed area".into()));
                }
                self.creation_time = Some(four_byte_subpacket(p, "signature creation time not four bytes")?);
            }
            3 => {
                if hashed {
                    self.sig_lifetime = Some(four_byte_subpacket(p, "expiration subpacket with bad length")?);
                }
            }
            9 => {
                if hashed {
                    self.key_lifetime = Some(four_byte_subpacket(p, "key expiration subpacket with bad length")?);
                }
            }
            11 | 21 | 22 | 30 => {}
            16 => {
                if p.len() != 8 {
                    return Err(GoErr::Structural("issuer subpacket with bad length".into()));
                }
                self.issuer_key_id = Some(u64::from_be_bytes(p.try_into().unwrap_or_default()));
            }
            25 => {
                if hashed {
                    if p.len() != 1 {
                        return Err(GoErr::Structural("primary user id subpacket with bad length".into()));
                    }
                    self.is_primary_id = Some(p[0] > 0);
                }
            }
            27 => {
                if hashed {
                    self.read_key_flags(p)?;
                }
            }
            29 => {
                if hashed {
                    if p.is_empty() {
                        return Err(GoErr::Structural("empty revocation reason subpacket".into()));
                    }
                    self.revocation_reason = Some(p[0]);
                }
            }
            32 => self.read_embedded_signature(p)?,
            _ => {
                if critical {
                    return Err(GoErr::Unsupported(format!(
                        "unknown critical signature subpacket type {typ}"
                    )));
                }
            }
        }
        Ok(())
    }

    /// The key flags subpacket (in the hashed area).
    fn read_key_flags(&mut self, p: &[u8]) -> Result<(), GoErr> {
        if p.is_empty() {
            return Err(GoErr::Structural("empty key flags subpacket".into()));
        }
        self.flags_valid = true;
        self.flag_certify |= p[0] & 1 != 0;
        self.flag_sign |= p[0] & 2 != 0;
        self.flag_encrypt_communications |= p[0] & 4 != 0;
        self.flag_encrypt_storage |= p[0] & 8 != 0;
        Ok(())
    }

    /// The embedded signature subpacket: one, a primary key binding (a cross-signature).
    fn read_embedded_signature(&mut self, p: &[u8]) -> Result<(), GoErr> {
        if self.embedded.is_some() {
            return Err(GoErr::Structural("Cannot have multiple embedded signatures".into()));
        }
        let inner = share(super::io::BytesReader::new(Rc::from(p)));
        let emb = Signature::parse(&inner)?;
        if emb.sig_type != SIG_PRIMARY_KEY_BINDING {
            return Err(GoErr::Structural(format!(
                "cross-signature has unexpected type {}",
                emb.sig_type
            )));
        }
        self.embedded = Some(Box::new(emb));
        Ok(())
    }

    /// The issuer key id in hex, when there is one.
    pub fn issuer_hex(&self) -> Option<String> {
        self.issuer_key_id.map(|id| format!("{id:016X}"))
    }
}

/// A v2/v3 signature (`packet.SignatureV3`).
#[derive(Debug, Clone)]
pub struct SignatureV3 {
    pub sig_type: u8,
    pub creation_time: u32,
    pub issuer_key_id: u64,
    pub pubkey_algo: u8,
    pub hash: HashAlgo,
    pub hash_tag: [u8; 2],
    pub mpis: SigMpis,
}

impl SignatureV3 {
    fn parse(r: &Shared) -> Result<SignatureV3, GoErr> {
        let mut buf = [0u8; 8];
        packet_read_full(r, &mut buf[..1])?;
        if buf[0] < 2 || buf[0] > 3 {
            return Err(GoErr::Unsupported(format!("signature packet version {}", buf[0])));
        }
        packet_read_full(r, &mut buf[..1])?;
        if buf[0] != 5 {
            return Err(GoErr::Unsupported(format!("invalid hashed material length {}", buf[0])));
        }
        packet_read_full(r, &mut buf[..5])?;
        let sig_type = buf[0];
        let creation_time = u32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]);
        packet_read_full(r, &mut buf)?;
        let issuer_key_id = u64::from_be_bytes(buf);
        packet_read_full(r, &mut buf[..2])?;
        let pubkey_algo = buf[0];
        if !matches!(pubkey_algo, ALGO_RSA | ALGO_RSA_SIGN_ONLY | ALGO_DSA) {
            return Err(GoErr::Unsupported(format!("public key algorithm {pubkey_algo}")));
        }
        let hash = HashAlgo::from_id(buf[1]).ok_or_else(|| GoErr::Unsupported(format!("hash function {}", buf[1])))?;
        let mut hash_tag = [0u8; 2];
        packet_read_full(r, &mut hash_tag)?;
        let mpis = if pubkey_algo == ALGO_DSA {
            let first = read_mpi(r)?;
            SigMpis::Two(first, read_mpi(r)?)
        } else {
            SigMpis::Rsa(read_mpi(r)?)
        };
        Ok(SignatureV3 {
            sig_type,
            creation_time,
            issuer_key_id,
            pubkey_algo,
            hash,
            hash_tag,
            mpis,
        })
    }
}

/// A one-pass signature packet.
#[derive(Debug, Clone)]
pub struct OnePass {
    pub sig_type: u8,
    pub hash: HashAlgo,
    pub pubkey_algo: u8,
    pub key_id: u64,
    pub is_last: bool,
}

impl OnePass {
    fn parse(r: &Shared) -> Result<OnePass, GoErr> {
        let mut buf = [0u8; 13];
        packet_read_full(r, &mut buf)?;
        // Go records a wrong version and still reads on; a hash it does not know wins.
        let version_err =
            (buf[0] != 3).then(|| GoErr::Unsupported(format!("one-pass-signature packet version {}", buf[0])));
        let hash = HashAlgo::from_id(buf[2]).ok_or_else(|| GoErr::Unsupported(format!("hash function: {}", buf[2])))?;
        if let Some(e) = version_err {
            return Err(e);
        }
        Ok(OnePass {
            sig_type: buf[1],
            hash,
            pubkey_algo: buf[3],
            key_id: u64::from_be_bytes(buf[4..12].try_into().unwrap_or_default()),
            is_last: buf[12] != 0,
        })
    }
}

/// A literal data packet: its header fields and its body, still to be read.
pub struct Literal {
    pub format: u8,
    pub file_name: Vec<u8>,
    pub time: u32,
    pub body: Shared,
}

/// The packets Go's reader produces (those the cluster's code never inspects keep no fields).
pub enum Packet {
    EncryptedKey { key_id: u64, algo: u8 },
    Signature(Box<Signature>),
    SignatureV3(Box<SignatureV3>),
    SymmetricKeyEncrypted,
    OnePass(OnePass),
    PrivateKey(Box<PublicKey>, Secret),
    PublicKey(Box<PublicKey>),
    PublicKeyV3(PublicKeyV3),
    Compressed(Shared),
    SymmetricallyEncrypted,
    Literal(Literal),
    UserId(Vec<u8>),
    UserAttribute,
}

impl Packet {
    /// The packet's name, for messages.
    pub fn name(&self) -> &'static str {
        match self {
            Packet::EncryptedKey { .. } => "public-key encrypted session key",
            Packet::Signature(_) | Packet::SignatureV3(_) => "signature",
            Packet::SymmetricKeyEncrypted => "symmetric-key encrypted session key",
            Packet::OnePass(_) => "one-pass signature",
            Packet::PrivateKey(..) => "secret key",
            Packet::PublicKey(_) | Packet::PublicKeyV3(_) => "public key",
            Packet::Compressed(_) => "compressed data",
            Packet::SymmetricallyEncrypted => "encrypted data",
            Packet::Literal(_) => "literal data",
            Packet::UserId(_) => "user id",
            Packet::UserAttribute => "user attribute",
        }
    }
}

/// `readHeader`: the tag and a reader for the packet's contents.
fn read_header(r: &Shared) -> Result<(u8, Shared), GoErr> {
    let mut b = [0u8; 4];
    // io.ReadFull, not the packet package's readFull: a clean EOF stays EOF.
    if let (_, Some(e)) = read_full(r, &mut b[..1]) {
        return Err(e);
    }
    if b[0] & 0x80 == 0 {
        return Err(GoErr::Structural("tag byte does not have MSB set".into()));
    }
    if b[0] & 0x40 == 0 {
        let tag = (b[0] & 0x3f) >> 2;
        let length_type = b[0] & 3;
        if length_type == 3 {
            return Ok((tag, r.clone()));
        }
        let n = 1usize << length_type;
        packet_read_full(r, &mut b[..n])?;
        let length = b[..n].iter().fold(0i64, |acc, &x| (acc << 8) | i64::from(x));
        return Ok((
            tag,
            share(SpanReader {
                r: r.clone(),
                n: length,
            }),
        ));
    }
    let tag = b[0] & 0x3f;
    let (length, partial) = read_length(r)?;
    if partial {
        return Ok((
            tag,
            share(PartialLengthReader {
                r: r.clone(),
                remaining: length,
                is_partial: true,
            }),
        ));
    }
    Ok((
        tag,
        share(SpanReader {
            r: r.clone(),
            n: length,
        }),
    ))
}

/// `peekVersion`: a `bufio.Reader` over the contents and the first byte.
fn peek_version(contents: Shared) -> Result<(Shared, u8), GoErr> {
    let mut b = Bufio::new(contents, 4096);
    let v = b.peek(1)?[0];
    Ok((share(b), v))
}

/// `packet.Read`: one packet (an unknown type is `UnknownPacketType`, its body consumed).
pub fn read(r: &Shared, budget: &Budget) -> Result<Packet, GoErr> {
    let (tag, contents) = read_header(r)?;
    let (contents, parsed) = match tag {
        1 => (contents.clone(), parse_encrypted_key(&contents)),
        2 => {
            let (c, v) = peek_version(contents)?;
            let p = if v < 4 {
                SignatureV3::parse(&c).map(|s| Packet::SignatureV3(Box::new(s)))
            } else {
                Signature::parse(&c).map(|s| Packet::Signature(Box::new(s)))
            };
            (c, p)
        }
        3 => (contents.clone(), parse_symmetric_key_encrypted(&contents)),
        4 => (contents.clone(), OnePass::parse(&contents).map(Packet::OnePass)),
        5 | 7 => (contents.clone(), parse_private_key(&contents, tag == 7)),
        6 | 14 => {
            let (c, v) = peek_version(contents)?;
            let p = if v < 4 {
                PublicKeyV3::parse(&c).map(Packet::PublicKeyV3)
            } else {
                PublicKey::parse(&c, tag == 14).map(|k| Packet::PublicKey(Box::new(k)))
            };
            (c, p)
        }
        8 => (contents.clone(), parse_compressed(&contents, budget)),
        9 => (contents.clone(), Ok(Packet::SymmetricallyEncrypted)),
        11 => (contents.clone(), parse_literal(&contents)),
        13 => (contents.clone(), read_all(&contents, MAX_READ_ALL).map(Packet::UserId)),
        17 => (contents.clone(), parse_user_attribute(&contents)),
        18 => {
            let mut v = [0u8; 1];
            let p = packet_read_full(&contents, &mut v).and_then(|()| {
                if v[0] != 1 {
                    Err(GoErr::Unsupported("unknown SymmetricallyEncrypted version".into()))
                } else {
                    Ok(Packet::SymmetricallyEncrypted)
                }
            });
            (contents.clone(), p)
        }
        other => (contents.clone(), Err(GoErr::UnknownPacketType(other))),
    };
    if parsed.is_err() {
        // Go drains the body of a packet it could not parse, and ignores how that went.
        let _ = consume_all(&contents);
    }
    parsed
}

fn parse_encrypted_key(r: &Shared) -> Result<Packet, GoErr> {
    let mut buf = [0u8; 10];
    packet_read_full(r, &mut buf)?;
    if buf[0] != 3 {
        return Err(GoErr::Unsupported(format!("unknown EncryptedKey version {}", buf[0])));
    }
    let key_id = u64::from_be_bytes(buf[1..9].try_into().unwrap_or_default());
    let algo = buf[9];
    match algo {
        ALGO_RSA | ALGO_RSA_ENCRYPT_ONLY => {
            read_mpi(r)?;
        }
        ALGO_ELGAMAL => {
            read_mpi(r)?;
            read_mpi(r)?;
        }
        _ => {}
    }
    consume_all(r)?;
    Ok(Packet::EncryptedKey { key_id, algo })
}

/// `s2k.Parse`: the string-to-key specifier (simple, salted or iterated), whose hash must exist.
fn s2k_parse(r: &Shared) -> Result<(), GoErr> {
    let mut s = [0u8; 9];
    if let (_, Some(e)) = read_full(r, &mut s[..2]) {
        return Err(e);
    }
    let hash = HashAlgo::from_id(s[1]).ok_or_else(|| GoErr::Unsupported(format!("hash for S2K function: {}", s[1])))?;
    if !hash.available() {
        return Err(GoErr::Unsupported("hash not available".into()));
    }
    let extra = match s[0] {
        0 => 0,
        1 => 8,
        3 => 9,
        other => return Err(GoErr::Unsupported(format!("S2K function: {other}"))),
    };
    if let (_, Some(e)) = read_full(r, &mut s[..extra]) {
        return Err(e);
    }
    Ok(())
}

/// What the cluster holds of a secret key: its key material is locked behind a passphrase, or
/// it is in the clear (and could decrypt messages encrypted to it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secret {
    Encrypted,
    Plain,
}

/// `PrivateKey.parse`: the public key, then the secret part (checked when in the clear).
fn parse_private_key(r: &Shared, is_subkey: bool) -> Result<Packet, GoErr> {
    let key = PublicKey::parse(r, is_subkey)?;
    let mut b = [0u8; 1];
    packet_read_full(r, &mut b)?;
    let cipher = match b[0] {
        0 => None,
        254 | 255 => {
            packet_read_full(r, &mut b)?;
            s2k_parse(r)?;
            Some(b[0])
        }
        _ => return Err(GoErr::Unsupported("deprecated s2k function in private key".into())),
    };
    if let Some(c) = cipher {
        let block = match c {
            2 | 3 => 8,
            7..=9 => 16,
            other => {
                return Err(GoErr::Unsupported(format!(
                    "unsupported cipher in private key: {other}"
                )))
            }
        };
        let mut iv = vec![0u8; block];
        packet_read_full(r, &mut iv)?;
    }
    let data = read_all(r, MAX_READ_ALL)?;
    if cipher.is_none() {
        check_private_material(&key, &data)?;
    }
    let secret = if cipher.is_some() {
        Secret::Encrypted
    } else {
        Secret::Plain
    };
    Ok(Packet::PrivateKey(Box::new(key), secret))
}

/// `parsePrivateKey` of a key in the clear: its numbers, and for RSA Go's `Validate`.
fn check_private_material(key: &PublicKey, data: &[u8]) -> Result<(), GoErr> {
    let r = share(super::io::BytesReader::new(Rc::from(data)));
    match &key.material {
        KeyMaterial::Rsa { n, e } => {
            let (d, p, q) = (read_mpi(&r)?, read_mpi(&r)?, read_mpi(&r)?);
            if rsa_private_key_valid([n, e, &d, &p, &q]) != Some(true) {
                return Err(GoErr::Other("crypto/rsa: invalid private key".into()));
            }
        }
        KeyMaterial::Dsa { .. } | KeyMaterial::ElGamal { .. } | KeyMaterial::Ecdsa { .. } => {
            read_mpi(&r)?;
        }
        // Go has no case for ECDH secret keys (it panics); no cluster can hold one.
        KeyMaterial::Ecdh { .. } => return Err(GoErr::Unsupported("ECDH secret key".into())),
    }
    Ok(())
}

/// Go 1.25's `rsa.PrivateKey.Validate` (precompute, then fips `checkPrivateKey`) of the numbers
/// n, e, d, p, q; `None` when OpenSSL's arithmetic failed.
fn rsa_private_key_valid([n, e, d, p, q]: [&Mpi; 5]) -> Option<bool> {
    use openssl::bn::{BigNum, BigNumContext};
    let bn = |b: &[u8]| BigNum::from_slice(b).ok();
    let (n, e, d, p, q) = (
        bn(&n.bytes)?,
        bn(&e.bytes)?,
        bn(&d.bytes)?,
        bn(&p.bytes)?,
        bn(&q.bytes)?,
    );
    let mut ctx = BigNumContext::new().ok()?;
    let one = BigNum::from_u32(1).ok()?;
    let two = BigNum::from_u32(2).ok()?;
    // Moduli above 1; d below N; p odd; p - 1 and q - 1 moduli above 1.
    if n <= one || p <= one || q <= one || d >= n || !p.is_bit_set(0) || q <= two {
        return Some(false);
    }
    let e_val = e.to_dec_str().ok()?.parse::<u64>().unwrap_or(0);
    if !n.is_bit_set(0) || e_val < 2 || e_val & 1 == 0 || e_val > (1 << 31) - 1 {
        return Some(false);
    }
    if p >= n || q >= n {
        return Some(false);
    }
    let modp = |x: &BigNum, m: &BigNum, ctx: &mut BigNumContext| -> Option<BigNum> {
        let mut r = BigNum::new().ok()?;
        r.nnmod(x, m, ctx).ok()?;
        Some(r)
    };
    let mut pq = BigNum::new().ok()?;
    pq.checked_mul(&p, &q, &mut ctx).ok()?;
    if modp(&pq, &n, &mut ctx)?.num_bits() != 0 {
        return Some(false);
    }
    for prime in [&p, &q] {
        let mut m1 = BigNum::new().ok()?;
        m1.checked_sub(prime, &one).ok()?;
        let dp = modp(&d, &m1, &mut ctx)?;
        let mut de = BigNum::new().ok()?;
        de.mod_mul(&e, &dp, &m1, &mut ctx).ok()?;
        if de != one {
            return Some(false);
        }
    }
    // qInv = q^(p-2) mod p, and qInv * q ≡ 1 mod p.
    let mut p2 = BigNum::new().ok()?;
    p2.checked_sub(&p, &two).ok()?;
    let qp = modp(&q, &p, &mut ctx)?;
    let mut qinv = BigNum::new().ok()?;
    qinv.mod_exp(&qp, &p2, &p, &mut ctx).ok()?;
    let mut check = BigNum::new().ok()?;
    check.mod_mul(&qp, &qinv, &p, &mut ctx).ok()?;
    if check != one {
        return Some(false);
    }
    // |p - q| > 2^(nlen/2 - 100), and d > 2^(nlen/2).
    if p == q {
        return Some(false);
    }
    let mut diff = BigNum::new().ok()?;
    diff.checked_sub(&p, &q).ok()?;
    diff.set_negative(false);
    let half = i64::from(n.num_bits()) / 2;
    if i64::from(diff.num_bits()) <= half - 100 || i64::from(d.num_bits()) <= half {
        return Some(false);
    }
    Some(true)
}

fn parse_symmetric_key_encrypted(r: &Shared) -> Result<Packet, GoErr> {
    let mut buf = [0u8; 2];
    if let (_, Some(e)) = read_full(r, &mut buf) {
        return Err(if e == GoErr::Eof { GoErr::UnexpectedEof } else { e });
    }
    if buf[0] != 4 {
        return Err(GoErr::Unsupported("SymmetricKeyEncrypted version".into()));
    }
    if !matches!(buf[1], 2 | 3 | 7 | 8 | 9) {
        return Err(GoErr::Unsupported(format!("unknown cipher: {}", buf[1])));
    }
    s2k_parse(r)?;
    let mut key = [0u8; 64];
    let (n, err) = read_full(r, &mut key);
    match err {
        None | Some(GoErr::Eof) | Some(GoErr::UnexpectedEof) => {}
        Some(e) => return Err(e),
    }
    if n == 64 {
        return Err(GoErr::Unsupported("oversized encrypted session key".into()));
    }
    Ok(Packet::SymmetricKeyEncrypted)
}

fn parse_compressed(r: &Shared, budget: &Budget) -> Result<Packet, GoErr> {
    let mut a = [0u8; 1];
    packet_read_full(r, &mut a)?;
    match a[0] {
        1 => Ok(Packet::Compressed(inflater(r.clone(), budget.clone()))),
        2 => Ok(Packet::Compressed(share(ZlibReader::new(r.clone(), budget.clone())?))),
        3 => Ok(Packet::Compressed(share(bzip2::Bzip2Reader::new(
            r.clone(),
            budget.clone(),
        )))),
        other => Err(GoErr::Unsupported(format!("unknown compression algorithm: {other}"))),
    }
}

fn parse_literal(r: &Shared) -> Result<Packet, GoErr> {
    let mut buf = [0u8; 2];
    packet_read_full(r, &mut buf)?;
    let mut name = vec![0u8; usize::from(buf[1])];
    packet_read_full(r, &mut name)?;
    let mut t = [0u8; 4];
    packet_read_full(r, &mut t)?;
    Ok(Packet::Literal(Literal {
        format: buf[0],
        file_name: name,
        time: u32::from_be_bytes(t),
        body: r.clone(),
    }))
}

/// The value of a subpacket of four bytes (a time or a lifetime); `bad_length` when it has
/// another length.
fn four_byte_subpacket(p: &[u8], bad_length: &str) -> Result<u32, GoErr> {
    match p {
        [a, b, c, d] => Ok(u32::from_be_bytes([*a, *b, *c, *d])),
        _ => Err(GoErr::Structural(bad_length.into())),
    }
}

/// The length of the subpacket `sub` starts with (RFC 4880 5.2.3.1, as both
/// `parseSignatureSubpacket` and `OpaqueSubpackets` read it) and what follows the length;
/// `None` when the length itself is cut off. `sub` is not empty.
fn subpacket_length(sub: &[u8]) -> Option<(usize, &[u8])> {
    match sub[0] {
        0..=191 => Some((usize::from(sub[0]), &sub[1..])),
        192..=254 => {
            if sub.len() < 2 {
                return None;
            }
            Some(((usize::from(sub[0] - 192) << 8) + usize::from(sub[1]) + 192, &sub[2..]))
        }
        255 => {
            if sub.len() < 5 {
                return None;
            }
            Some((u32::from_be_bytes([sub[1], sub[2], sub[3], sub[4]]) as usize, &sub[5..]))
        }
    }
}

fn parse_user_attribute(r: &Shared) -> Result<Packet, GoErr> {
    let b = read_all(r, MAX_READ_ALL)?;
    let mut c = b.as_slice();
    let truncated = || GoErr::Structural("subpacket truncated".into());
    while !c.is_empty() {
        let (len, rest) = subpacket_length(c).ok_or_else(truncated)?;
        if len > rest.len() || len == 0 {
            return Err(truncated());
        }
        c = &rest[len..];
    }
    Ok(Packet::UserAttribute)
}

/// The packet reader (`packet.Reader`): a stack of streams and packets pushed back.
pub struct Reader {
    q: Vec<Packet>,
    readers: Vec<Shared>,
    budget: Budget,
}

impl Reader {
    /// A reader over one stream.
    pub fn new(r: Shared, budget: Budget) -> Reader {
        Reader {
            q: Vec::new(),
            readers: vec![r],
            budget,
        }
    }

    /// `Next`: the next packet, skipping unknown types and popping finished streams.
    pub fn next_packet(&mut self) -> Result<Packet, GoErr> {
        if let Some(p) = self.q.pop() {
            return Ok(p);
        }
        while let Some(top) = self.readers.last().cloned() {
            match read(&top, &self.budget) {
                Ok(p) => return Ok(p),
                Err(GoErr::Eof) => {
                    self.readers.pop();
                }
                Err(GoErr::UnknownPacketType(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Err(GoErr::Eof)
    }

    /// `Push`: read from `r` until it ends (at most 32 streams deep).
    pub fn push(&mut self, r: Shared) -> Result<(), GoErr> {
        if self.readers.len() >= 32 {
            return Err(GoErr::Structural("too many layers of packets".into()));
        }
        self.readers.push(r);
        Ok(())
    }

    /// `Unread`.
    pub fn unread(&mut self, p: Packet) {
        self.q.push(p);
    }
}
