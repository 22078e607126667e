//! The hash functions and signature checks of the cluster's Go build: which hashes exist
//! (`crypto.Hash.Available()`: MD5, SHA-1, SHA-224/256/384/512, not RIPEMD-160, which the CVO
//! does not link), RSA PKCS #1 v1.5 as Go 1.25's `crypto/rsa` checks it (keys of 1024 bits or
//! more, odd modulus and exponent, the signature exactly the modulus' length once left-padded,
//! the whole encoded block compared), DSA as `crypto/dsa` and ECDSA on P-256/384/521 as
//! `crypto/ecdsa`. The arithmetic is OpenSSL's; the rules are Go's.

use std::cell::RefCell;

use openssl::bn::{BigNum, BigNumContext, BigNumRef};
use openssl::ec::{EcGroup, EcKey, EcPoint};
use openssl::ecdsa::EcdsaSig;
use openssl::hash::{Hasher, MessageDigest};
use openssl::nid::Nid;
use openssl::pkey::{PKey, Public};
use openssl::pkey_ctx::PkeyCtx;
use openssl::rsa::{Padding, Rsa};

use super::io::GoErr;

/// An OpenPGP hash algorithm id that Go's `s2k.HashIdToHash` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAlgo {
    Md5,
    Sha1,
    Ripemd160,
    Sha256,
    Sha384,
    Sha512,
    Sha224,
}

impl HashAlgo {
    /// `s2k.HashIdToHash`.
    pub fn from_id(id: u8) -> Option<HashAlgo> {
        Some(match id {
            1 => HashAlgo::Md5,
            2 => HashAlgo::Sha1,
            3 => HashAlgo::Ripemd160,
            8 => HashAlgo::Sha256,
            9 => HashAlgo::Sha384,
            10 => HashAlgo::Sha512,
            11 => HashAlgo::Sha224,
            _ => return None,
        })
    }

    /// The OpenPGP id.
    pub fn id(self) -> u8 {
        match self {
            HashAlgo::Md5 => 1,
            HashAlgo::Sha1 => 2,
            HashAlgo::Ripemd160 => 3,
            HashAlgo::Sha256 => 8,
            HashAlgo::Sha384 => 9,
            HashAlgo::Sha512 => 10,
            HashAlgo::Sha224 => 11,
        }
    }

    /// Go's `crypto.Hash.Available()` in the cluster-version operator's binary.
    pub fn available(self) -> bool {
        self != HashAlgo::Ripemd160
    }

    /// Go's name for the hash (`crypto.Hash.String()`).
    pub fn name(self) -> &'static str {
        match self {
            HashAlgo::Md5 => "MD5",
            HashAlgo::Sha1 => "SHA-1",
            HashAlgo::Ripemd160 => "RIPEMD-160",
            HashAlgo::Sha256 => "SHA-256",
            HashAlgo::Sha384 => "SHA-384",
            HashAlgo::Sha512 => "SHA-512",
            HashAlgo::Sha224 => "SHA-224",
        }
    }

    fn size(self) -> usize {
        match self {
            HashAlgo::Md5 => 16,
            HashAlgo::Sha1 | HashAlgo::Ripemd160 => 20,
            HashAlgo::Sha224 => 28,
            HashAlgo::Sha256 => 32,
            HashAlgo::Sha384 => 48,
            HashAlgo::Sha512 => 64,
        }
    }

    fn digest(self) -> MessageDigest {
        match self {
            HashAlgo::Md5 => MessageDigest::md5(),
            HashAlgo::Sha1 => MessageDigest::sha1(),
            HashAlgo::Ripemd160 => MessageDigest::ripemd160(),
            HashAlgo::Sha256 => MessageDigest::sha256(),
            HashAlgo::Sha384 => MessageDigest::sha384(),
            HashAlgo::Sha512 => MessageDigest::sha512(),
            HashAlgo::Sha224 => MessageDigest::sha224(),
        }
    }

    /// The DER DigestInfo prefix of PKCS #1 v1.5 (Go's `hashPrefixes`).
    fn pkcs1_prefix(self) -> &'static [u8] {
        match self {
            HashAlgo::Md5 => &[
                0x30, 0x20, 0x30, 0x0c, 0x06, 0x08, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x05, 0x05, 0x00, 0x04,
                0x10,
            ],
            HashAlgo::Sha1 => &[
                0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14,
            ],
            HashAlgo::Sha224 => &[
                0x30, 0x2d, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x04, 0x05, 0x00,
                0x04, 0x1c,
            ],
            HashAlgo::Sha256 => &[
                0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00,
                0x04, 0x20,
            ],
            HashAlgo::Sha384 => &[
                0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00,
                0x04, 0x30,
            ],
            HashAlgo::Sha512 => &[
                0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00,
                0x04, 0x40,
            ],
            HashAlgo::Ripemd160 => &[
                0x30, 0x20, 0x30, 0x08, 0x06, 0x06, 0x28, 0xcf, 0x06, 0x03, 0x00, 0x31, 0x04, 0x14,
            ],
        }
    }
}

/// A running hash, optionally in OpenPGP text mode (Go's `canonicalTextHash`: a lone `\n` is
/// hashed as `\r\n`; the byte after any `\r` is passed through unexamined).
pub struct SigHash {
    h: Hasher,
    text: bool,
    after_cr: bool,
}

impl SigHash {
    /// `hashForSignature`: a hash of an available algorithm, in binary or text mode.
    pub fn new(algo: HashAlgo, text: bool) -> Result<SigHash, GoErr> {
        if !algo.available() {
            return Err(GoErr::Unsupported(format!("hash not available: {}", algo.name())));
        }
        let h = Hasher::new(algo.digest()).map_err(|e| GoErr::Other(e.to_string()))?;
        Ok(SigHash {
            h,
            text,
            after_cr: false,
        })
    }

    /// Hash the literal data (through the text-mode wrapper when there is one).
    pub fn write_data(&mut self, buf: &[u8]) {
        if !self.text {
            self.write_raw(buf);
            return;
        }
        let mut start = 0;
        for (i, &c) in buf.iter().enumerate() {
            if self.after_cr {
                self.after_cr = false;
            } else if c == b'\r' {
                self.after_cr = true;
            } else if c == b'\n' {
                self.write_raw(&buf[start..i]);
                self.write_raw(b"\r\n");
                start = i + 1;
            }
        }
        self.write_raw(&buf[start..]);
    }

    /// Hash bytes as they are (the signature's trailer, key material).
    pub fn write_raw(&mut self, buf: &[u8]) {
        // Hasher::update fails only on a broken OpenSSL; a wrong digest then fails the check.
        let _ = self.h.update(buf);
    }

    /// The digest.
    pub fn finish(mut self) -> Vec<u8> {
        self.h.finish().map(|d| d.to_vec()).unwrap_or_default()
    }
}

/// An RSA public key as parsed (the modulus and exponent bytes as they were read).
pub struct RsaKey<'a> {
    pub n: &'a [u8],
    pub e: &'a [u8],
}

fn strip(b: &[u8]) -> &[u8] {
    let z = b.iter().take_while(|&&x| x == 0).count();
    &b[z..]
}

fn bit_len(b: &[u8]) -> usize {
    let b = strip(b);
    match b.first() {
        None => 0,
        Some(&top) => (b.len() - 1) * 8 + (8 - top.leading_zeros() as usize),
    }
}

/// A cached RSA verification context: the stripped modulus and exponent it was built for.
type CachedRsa = (Vec<u8>, Vec<u8>, PkeyCtx<Public>);

thread_local! {
    /// RSA contexts built once per thread and key: building one costs about a fifth of an
    /// RSA-4096 verification (Montgomery constants of the modulus).
    static RSA_CTX: RefCell<Vec<CachedRsa>> = const { RefCell::new(Vec::new()) };
}

/// `s^e mod n` as `k` bytes, through a cached OpenSSL context (raw RSA, no padding).
fn rsa_public_op(n: &[u8], e: &[u8], sig: &[u8], k: usize) -> Option<Vec<u8>> {
    RSA_CTX.with(|cell| {
        let mut cache = cell.borrow_mut();
        let at = match cache.iter().position(|(cn, ce, _)| cn == n && ce == e) {
            Some(i) => i,
            None => {
                let rsa = Rsa::from_public_components(BigNum::from_slice(n).ok()?, BigNum::from_slice(e).ok()?).ok()?;
                let key = PKey::from_rsa(rsa).ok()?;
                let mut ctx = PkeyCtx::new(&key).ok()?;
                ctx.verify_recover_init().ok()?;
                ctx.set_rsa_padding(Padding::NONE).ok()?;
                if cache.len() >= 64 {
                    cache.remove(0);
                }
                cache.push((n.to_vec(), e.to_vec(), ctx));
                cache.len() - 1
            }
        };
        let mut out = vec![0u8; k];
        let len = cache[at].2.verify_recover(sig, Some(&mut out)).ok()?;
        if len != k {
            return None;
        }
        Some(out)
    })
}

/// `s^e mod n` with plain big numbers (keys OpenSSL's RSA refuses, e.g. over 16384 bits).
fn rsa_public_op_bn(n: &BigNumRef, e: &BigNumRef, sig: &[u8], k: usize) -> Option<Vec<u8>> {
    let s = BigNum::from_slice(sig).ok()?;
    let mut out = BigNum::new().ok()?;
    let mut ctx = BigNumContext::new().ok()?;
    out.mod_exp(&s, e, n, &mut ctx).ok()?;
    out.to_vec_padded(k as i32).ok()
}

/// Go 1.25's `rsa.VerifyPKCS1v15(pub, hash, hashed, padToKeySize(pub, sig))`.
pub fn verify_rsa(key: &RsaKey<'_>, hash: HashAlgo, hashed: &[u8], sig: &[u8]) -> Result<(), GoErr> {
    let fail = || GoErr::Signature("RSA verification failure".into());
    if hashed.len() != hash.size() {
        return Err(fail());
    }
    let n = strip(key.n);
    let e = strip(key.e);
    let bits = bit_len(n);
    // checkPublicKeySize: 1024 bits at least (Go 1.24+, GODEBUG rsa1024min).
    if bits < 1024 {
        return Err(fail());
    }
    // checkPublicKey: odd modulus; exponent odd, at least 2, under 2^31.
    let e_val = e.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    if n.last().is_none_or(|&b| b & 1 == 0) || e_val < 2 || e_val & 1 == 0 || e_val > (1 << 31) - 1 {
        return Err(fail());
    }
    let k = bits.div_ceil(8);
    // padToKeySize, then the signature must be exactly k bytes.
    if sig.len() > k {
        return Err(fail());
    }
    let mut s = vec![0u8; k - sig.len()];
    s.extend_from_slice(sig);
    // The signature as a number must be below the modulus.
    if s.as_slice() >= n {
        return Err(fail());
    }
    let prefix = hash.pkcs1_prefix();
    let t_len = prefix.len() + hashed.len();
    if k < t_len + 11 {
        return Err(fail());
    }
    let mut expected = vec![0u8; k];
    expected[1] = 1;
    expected[2..k - t_len - 1].fill(0xff);
    expected[k - t_len..k - hashed.len()].copy_from_slice(prefix);
    expected[k - hashed.len()..].copy_from_slice(hashed);
    let em = match rsa_public_op(n, e, &s, k) {
        Some(em) => em,
        None => {
            let (nb, eb) = (
                BigNum::from_slice(n).map_err(|_| fail())?,
                BigNum::from_slice(e).map_err(|_| fail())?,
            );
            rsa_public_op_bn(&nb, &eb, &s, k).ok_or_else(fail)?
        }
    };
    if em == expected {
        Ok(())
    } else {
        Err(fail())
    }
}

/// A DSA public key as parsed.
pub struct DsaKey<'a> {
    pub p: &'a [u8],
    pub q: &'a [u8],
    pub g: &'a [u8],
    pub y: &'a [u8],
}

/// The OpenPGP layer's DSA check: the hash cut to the subgroup's byte size, then Go's
/// `dsa.Verify`.
pub fn verify_dsa(key: &DsaKey<'_>, hashed: &[u8], r: &[u8], s: &[u8]) -> Result<(), GoErr> {
    let ok = (|| -> Option<bool> {
        let bn = |b: &[u8]| BigNum::from_slice(b).ok();
        let (p, q, g, y, r, s) = (bn(key.p)?, bn(key.q)?, bn(key.g)?, bn(key.y)?, bn(r)?, bn(s)?);
        let subgroup = (q.num_bits() as usize).div_ceil(8);
        let hashed = &hashed[..hashed.len().min(subgroup)];
        let zero = BigNum::new().ok()?;
        if p == zero {
            return Some(false);
        }
        if r < BigNum::from_u32(1).ok()? || r >= q || s < BigNum::from_u32(1).ok()? || s >= q {
            return Some(false);
        }
        let mut ctx = BigNumContext::new().ok()?;
        let mut w = BigNum::new().ok()?;
        if w.mod_inverse(&s, &q, &mut ctx).is_err() {
            return Some(false);
        }
        if q.num_bits() % 8 != 0 {
            return Some(false);
        }
        let z = bn(hashed)?;
        let mut u1 = BigNum::new().ok()?;
        u1.mod_mul(&z, &w, &q, &mut ctx).ok()?;
        let mut u2 = BigNum::new().ok()?;
        u2.mod_mul(&r, &w, &q, &mut ctx).ok()?;
        let mut v1 = BigNum::new().ok()?;
        v1.mod_exp(&g, &u1, &p, &mut ctx).ok()?;
        let mut v2 = BigNum::new().ok()?;
        v2.mod_exp(&y, &u2, &p, &mut ctx).ok()?;
        let mut v = BigNum::new().ok()?;
        v.mod_mul(&v1, &v2, &p, &mut ctx).ok()?;
        let mut vq = BigNum::new().ok()?;
        vq.nnmod(&v, &q, &mut ctx).ok()?;
        Some(vq == r)
    })();
    if ok == Some(true) {
        Ok(())
    } else {
        Err(GoErr::Signature("DSA verification failure".into()))
    }
}

/// The NIST curves Go's OpenPGP knows, by OID.
pub fn curve_for_oid(oid: &[u8]) -> Option<Nid> {
    match oid {
        [0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07] => Some(Nid::X9_62_PRIME256V1),
        [0x2B, 0x81, 0x04, 0x00, 0x22] => Some(Nid::SECP384R1),
        [0x2B, 0x81, 0x04, 0x00, 0x23] => Some(Nid::SECP521R1),
        _ => None,
    }
}

/// `elliptic.Unmarshal`: an uncompressed point (`04 || x || y`) on the curve, or `None`.
pub fn ec_point_valid(nid: Nid, point: &[u8]) -> bool {
    (|| -> Option<bool> {
        let group = EcGroup::from_curve_name(nid).ok()?;
        let byte_len = (group.degree() as usize).div_ceil(8);
        if point.len() != 1 + 2 * byte_len || point[0] != 4 {
            return Some(false);
        }
        let mut ctx = BigNumContext::new().ok()?;
        let p = EcPoint::from_bytes(&group, point, &mut ctx).ok()?;
        Some(p.is_on_curve(&group, &mut ctx).unwrap_or(false))
    })()
    .unwrap_or(false)
}

/// Go's `ecdsa.Verify` on a NIST curve.
pub fn verify_ecdsa(nid: Nid, point: &[u8], hashed: &[u8], r: &[u8], s: &[u8]) -> Result<(), GoErr> {
    let ok = (|| -> Option<bool> {
        let group = EcGroup::from_curve_name(nid).ok()?;
        let mut ctx = BigNumContext::new().ok()?;
        let p = EcPoint::from_bytes(&group, point, &mut ctx).ok()?;
        let key = EcKey::from_public_key(&group, &p).ok()?;
        let (r, s) = (BigNum::from_slice(r).ok()?, BigNum::from_slice(s).ok()?);
        let zero = BigNum::new().ok()?;
        if r == zero || s == zero {
            return Some(false);
        }
        let sig = EcdsaSig::from_private_components(r, s).ok()?;
        Some(sig.verify(hashed, &key).unwrap_or(false))
    })();
    if ok == Some(true) {
        Ok(())
    } else {
        Err(GoErr::Signature("ECDSA verification failure".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_mode_hashes_lone_newlines_as_crlf() {
        let digest = |text: bool, parts: &[&[u8]]| {
            let mut h = SigHash::new(HashAlgo::Sha256, text).unwrap();
            for p in parts {
                h.write_data(p);
            }
            h.finish()
        };
        assert_eq!(digest(true, &[b"a\nb"]), digest(false, &[b"a\r\nb"]));
        assert_eq!(digest(true, &[b"a\r", b"\nb"]), digest(false, &[b"a\r\nb"]));
        // The byte after a CR is not examined: "\r\n" stays, "\r\r\n" becomes "\r\r\r\n".
        assert_eq!(digest(true, &[b"\r\r\n"]), digest(false, &[b"\r\r\r\n"]));
        assert!(SigHash::new(HashAlgo::Ripemd160, false).is_err());
    }

    #[test]
    fn rsa_follows_gos_rules() {
        let rsa = Rsa::generate(2048).unwrap();
        let (n, e) = (rsa.n().to_vec(), rsa.e().to_vec());
        let hashed = openssl::sha::sha256(b"data");
        let mut block = HashAlgo::Sha256.pkcs1_prefix().to_vec();
        block.extend_from_slice(&hashed);
        let mut sig = vec![0u8; 256];
        let len = rsa.private_encrypt(&block, &mut sig, Padding::PKCS1).unwrap();
        sig.truncate(len);
        let key = RsaKey { n: &n, e: &e };
        assert!(verify_rsa(&key, HashAlgo::Sha256, &hashed, &sig).is_ok());
        // Leading zero bytes stripped or added (within the modulus length) do not matter.
        let stripped = strip(&sig).to_vec();
        assert!(verify_rsa(&key, HashAlgo::Sha256, &hashed, &stripped).is_ok());
        let mut longer = vec![0u8];
        longer.extend_from_slice(&sig);
        assert!(verify_rsa(&key, HashAlgo::Sha256, &hashed, &longer).is_err());
        assert!(verify_rsa(&key, HashAlgo::Sha512, &hashed, &sig).is_err());
        let mut wrong = hashed;
        wrong[0] ^= 1;
        assert!(verify_rsa(&key, HashAlgo::Sha256, &wrong, &sig).is_err());
    }
}
