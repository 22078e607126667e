//! The signature checks of sigstore's verifiers as containers/image loads them
//! (`LoadVerifier(key, crypto.SHA256)`), over Go 1.25's crypto, computed with OpenSSL:
//!
//! - RSA: `rsa.VerifyPKCS1v15(pub, SHA256, sha256(payload), sig)`. Go refuses keys under 1024
//!   bits, an even modulus, an exponent below 2, even or above 2³¹−1; the signature must be
//!   exactly the modulus length and below the modulus; the recovered block must equal the
//!   PKCS #1 v1.5 encoding of the SHA-256 DigestInfo byte for byte (so PSS, other hashes and a
//!   DigestInfo without the NULL parameter all fail).
//! - ECDSA (`ECDSAVerifier.VerifySignature`): SHA-256 whatever the curve. If `asn1.Unmarshal`
//!   into `struct{R, S *big.Int}` succeeds (lax: trailing bytes and extra elements allowed), the
//!   signature goes to `ecdsa.VerifyASN1` (strict DER, nothing after it); otherwise it is read as
//!   IEEE P1363 `r‖s`: 1..=132 bytes, even, split in half, no check of the curve size. r and s
//!   must be in [1, n−1]; high S is fine.
//! - Ed25519: `ed25519.Verify` over the payload bytes (a 64-byte signature, canonical S).

use openssl::bn::{BigNum, BigNumContext};
use openssl::ec::{EcGroup, EcKey, EcPoint};
use openssl::ecdsa::EcdsaSig;
use openssl::pkey::{Id, PKey};
use openssl::sign::Verifier;

use super::der::{strict, Curve, KeyMaterial, Lax};

/// The DER prefix of a SHA-256 DigestInfo (`pkcs1v15ConstructEM`'s `hashPrefixes["SHA-256"]`).
const SHA256_DIGEST_INFO: &[u8] = &[
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20,
];

fn sha256(b: &[u8]) -> [u8; 32] {
    openssl::sha::sha256(b)
}

/// Verify `sig` over `payload` with `key`; the error is Go's message.
pub(crate) fn verify(key: &KeyMaterial, payload: &[u8], sig: &[u8]) -> Result<(), String> {
    match key {
        KeyMaterial::Rsa { n, e } => verify_rsa(n, *e, payload, sig),
        KeyMaterial::Ecdsa { curve, point } => verify_ecdsa(*curve, point, payload, sig),
        KeyMaterial::Ed25519(k) => verify_ed25519(k, payload, sig),
        KeyMaterial::Unsupported(_) => Err("unsupported public key type".into()),
    }
}

fn ossl<T>(r: Result<T, openssl::error::ErrorStack>) -> Result<T, String> {
    r.map_err(|e| format!("OpenSSL: {e}"))
}

fn verify_rsa(n: &[u8], e: i64, payload: &[u8], sig: &[u8]) -> Result<(), String> {
    let modulus = ossl(BigNum::from_slice(n))?;
    let bits = modulus.num_bits() as usize;
    if bits < 1024 {
        return Err(format!(
            "crypto/rsa: {bits}-bit keys are insecure (see https://go.dev/pkg/crypto/rsa#hdr-Minimum_key_size)"
        ));
    }
    if !modulus.is_bit_set(0) {
        return Err("crypto/rsa: public modulus is even".into());
    }
    if e < 2 {
        return Err("crypto/rsa: public exponent too small or negative".into());
    }
    if e & 1 == 0 {
        return Err("crypto/rsa: public exponent is even".into());
    }
    if e > i64::from(i32::MAX) {
        return Err("crypto/rsa: public exponent too large".into());
    }
    let verification_error = || Err("crypto/rsa: verification error".to_string());
    let k = bits.div_ceil(8);
    if sig.len() != k {
        return verification_error();
    }
    let s = ossl(BigNum::from_slice(sig))?;
    if s >= modulus {
        return verification_error();
    }
    let exponent = ossl(BigNum::from_dec_str(&e.to_string()))?;
    let mut m = ossl(BigNum::new())?;
    let mut ctx = ossl(BigNumContext::new())?;
    ossl(m.mod_exp(&s, &exponent, &modulus, &mut ctx))?;
    let em = ossl(m.to_vec_padded(k as i32))?;
    let t_len = SHA256_DIGEST_INFO.len() + 32;
    if k < t_len + 11 {
        return verification_error();
    }
    let mut expected = Vec::with_capacity(k);
    expected.extend_from_slice(&[0x00, 0x01]);
    expected.resize(k - t_len - 1, 0xff);
    expected.push(0x00);
    expected.extend_from_slice(SHA256_DIGEST_INFO);
    expected.extend_from_slice(&sha256(payload));
    if em != expected {
        return verification_error();
    }
    Ok(())
}

/// `asn1.Unmarshal(sig, &struct{R, S *big.Int}{})` succeeds.
fn parses_as_lax_asn1(sig: &[u8]) -> bool {
    let Some((seq, _)) = Lax::expect(sig, 0, 16, true) else {
        return false;
    };
    let Some((_, _, off)) = Lax::big_int(seq.content, 0) else {
        return false;
    };
    Lax::big_int(seq.content, off).is_some()
}

/// `ecdsa.VerifyASN1`'s `parseSignature`: one strict DER SEQUENCE of two non-negative INTEGERs.
fn parse_strict_der(sig: &[u8]) -> Option<(&[u8], &[u8])> {
    let (inner, rest) = strict::read(sig, 0x30)?;
    if !rest.is_empty() {
        return None;
    }
    let (r, inner) = strict::unsigned_int(inner)?;
    let (s, inner) = strict::unsigned_int(inner)?;
    inner.is_empty().then_some((r, s))
}

fn verify_ecdsa(curve: Curve, point: &[u8], payload: &[u8], sig: &[u8]) -> Result<(), String> {
    let (r, s, how) = if parses_as_lax_asn1(sig) {
        match parse_strict_der(sig) {
            Some((r, s)) => (r, s, "ASN.1"),
            None => return Err("invalid signature when validating ASN.1 encoded signature".into()),
        }
    } else {
        if sig.is_empty() || sig.len() > 132 || !sig.len().is_multiple_of(2) {
            return Err("ecdsa: Invalid IEEE_P1363 encoded bytes".into());
        }
        let (r, s) = sig.split_at(sig.len() / 2);
        (r, s, "IEEE_P1363")
    };
    let invalid = || Err(format!("invalid signature when validating {how} encoded signature"));
    let group = ossl(EcGroup::from_curve_name(curve.nid()))?;
    let mut ctx = ossl(BigNumContext::new())?;
    let mut order = ossl(BigNum::new())?;
    ossl(group.order(&mut order, &mut ctx))?;
    let (r, s) = (ossl(BigNum::from_slice(r))?, ossl(BigNum::from_slice(s))?);
    let zero = ossl(BigNum::new())?;
    if r <= zero || s <= zero || r >= order || s >= order {
        return invalid();
    }
    let pt = ossl(EcPoint::from_bytes(&group, point, &mut ctx))?;
    let key = ossl(EcKey::from_public_key(&group, &pt))?;
    let sig = ossl(EcdsaSig::from_private_components(r, s))?;
    // OpenSSL truncates the digest to the order's length as Go's hashToNat does.
    match sig.verify(&sha256(payload), &key) {
        Ok(true) => Ok(()),
        _ => invalid(),
    }
}

fn verify_ed25519(key: &[u8; 32], payload: &[u8], sig: &[u8]) -> Result<(), String> {
    let fail = || Err("failed to verify signature".to_string());
    if sig.len() != 64 || sig[63] & 0xe0 != 0 {
        return fail();
    }
    let pkey = ossl(PKey::public_key_from_raw_bytes(key, Id::ED25519))?;
    let mut v = ossl(Verifier::new_without_digest(&pkey))?;
    match v.verify_oneshot(sig, payload) {
        Ok(true) => Ok(()),
        _ => fail(),
    }
}
