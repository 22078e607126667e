//! The two DER readers Go uses on this path, and the public-key formats built on them.
//!
//! - [`Lax`] follows `encoding/asn1.Unmarshal` into a struct: minimal tags and lengths, minimal
//!   INTEGERs (negative ones allowed), extra elements at the end of a SEQUENCE ignored, bytes
//!   after the outer value returned to the caller.
//! - [`strict`] follows `golang.org/x/crypto/cryptobyte` (`ReadASN1`, `ReadASN1Integer`):
//!   single-byte tags, DER lengths of at most four bytes.
//!
//! Keys: `x509.ParsePKIXPublicKey` (the `PUBLIC KEY` PEM type) and `x509.ParsePKCS1PublicKey`
//! (`RSA PUBLIC KEY`), giving the key material Go's verifiers then use ([`KeyMaterial`]).

/// One element read by `encoding/asn1`'s `parseTagAndLength`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tlv<'a> {
    pub class: u8,
    pub constructed: bool,
    pub tag: u32,
    /// The content octets.
    pub content: &'a [u8],
    /// Header and content.
    pub full: &'a [u8],
}

/// `encoding/asn1`'s element reader.
pub(crate) struct Lax;

impl Lax {
    /// `parseBase128Int`: at most four continuation groups' worth (fits an int32), minimal.
    fn base128(b: &[u8], mut off: usize) -> Option<(u32, usize)> {
        let mut ret: u64 = 0;
        let mut shifted = 0;
        while off < b.len() {
            if shifted == 5 {
                return None;
            }
            let c = b[off];
            if shifted == 0 && c == 0x80 {
                return None;
            }
            ret = (ret << 7) | u64::from(c & 0x7f);
            off += 1;
            if c & 0x80 == 0 {
                return u32::try_from(ret)
                    .ok()
                    .filter(|&v| v <= i32::MAX as u32)
                    .map(|v| (v, off));
            }
            shifted += 1;
        }
        None
    }

    /// `parseTagAndLength` followed by the bounds check `parseField` makes.
    pub(crate) fn read(b: &[u8], start: usize) -> Option<(Tlv<'_>, usize)> {
        let mut off = start;
        let first = *b.get(off)?;
        off += 1;
        let class = first >> 6;
        let constructed = first & 0x20 != 0;
        let mut tag = u32::from(first & 0x1f);
        if tag == 0x1f {
            let (t, o) = Lax::base128(b, off)?;
            if t < 0x1f {
                return None;
            }
            tag = t;
            off = o;
        }
        let lb = *b.get(off)?;
        off += 1;
        let length = if lb & 0x80 == 0 {
            usize::from(lb & 0x7f)
        } else {
            let n = usize::from(lb & 0x7f);
            if n == 0 {
                return None;
            }
            let mut len: usize = 0;
            for _ in 0..n {
                let c = *b.get(off)?;
                off += 1;
                if len >= 1 << 23 {
                    return None;
                }
                len = (len << 8) | usize::from(c);
                if len == 0 {
                    return None;
                }
            }
            if len < 0x80 {
                return None;
            }
            len
        };
        let end = off.checked_add(length)?;
        if end > b.len() {
            return None;
        }
        Some((
            Tlv {
                class,
                constructed,
                tag,
                content: &b[off..end],
                full: &b[start..end],
            },
            end,
        ))
    }

    /// Read an element that must be universal `tag`, constructed or not.
    pub(crate) fn expect(b: &[u8], off: usize, tag: u32, constructed: bool) -> Option<(Tlv<'_>, usize)> {
        let (t, end) = Lax::read(b, off)?;
        (t.class == 0 && t.tag == tag && t.constructed == constructed).then_some((t, end))
    }

    /// `checkInteger`: non-empty and minimally encoded.
    pub(crate) fn integer_ok(b: &[u8]) -> bool {
        match b {
            [] => false,
            [_] => true,
            [0, n, ..] if n & 0x80 == 0 => false,
            [0xff, n, ..] if n & 0x80 != 0 => false,
            _ => true,
        }
    }

    /// An INTEGER as `*big.Int`: (negative?, magnitude bytes of the two's-complement value).
    pub(crate) fn big_int(b: &[u8], off: usize) -> Option<(bool, Vec<u8>, usize)> {
        let (t, end) = Lax::expect(b, off, 2, false)?;
        if !Lax::integer_ok(t.content) {
            return None;
        }
        let neg = t.content[0] & 0x80 != 0;
        Some((neg, magnitude(t.content), end))
    }

    /// An INTEGER as a Go `int` (64 bits): at most 8 bytes.
    pub(crate) fn int64(b: &[u8], off: usize) -> Option<(i64, usize)> {
        let (t, end) = Lax::expect(b, off, 2, false)?;
        if t.content.len() > 8 || !Lax::integer_ok(t.content) {
            return None;
        }
        Some((signed(t.content), end))
    }

    /// `parseObjectIdentifier`: the content must be a valid, minimal OID encoding.
    pub(crate) fn oid(b: &[u8], off: usize) -> Option<(&[u8], usize)> {
        let (t, end) = Lax::expect(b, off, 6, false)?;
        let c = t.content;
        if c.is_empty() {
            return None;
        }
        let mut o = 0;
        while o < c.len() {
            let (_, n) = Lax::base128(c, o)?;
            o = n;
        }
        Some((c, end))
    }
}

/// The value of a big-endian two's-complement integer, as a sign-less magnitude.
fn magnitude(c: &[u8]) -> Vec<u8> {
    if c.first().is_some_and(|b| b & 0x80 != 0) {
        // Negative: magnitude = two's complement negation.
        let mut v: Vec<u8> = c.iter().map(|b| !b).collect();
        for byte in v.iter_mut().rev() {
            let (s, carry) = byte.overflowing_add(1);
            *byte = s;
            if !carry {
                break;
            }
        }
        strip(&v)
    } else {
        strip(c)
    }
}

fn strip(v: &[u8]) -> Vec<u8> {
    let n = v.iter().position(|&b| b != 0).unwrap_or(v.len());
    v[n..].to_vec()
}

fn signed(c: &[u8]) -> i64 {
    let mut v: i64 = if c[0] & 0x80 != 0 { -1 } else { 0 };
    for &b in c {
        v = (v << 8) | i64::from(b);
    }
    v
}

/// cryptobyte's readers.
pub(crate) mod strict {
    /// `ReadASN1`: an element whose (single-byte) tag is `tag`; (content, rest).
    pub(crate) fn read(s: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
        if s.len() < 2 {
            return None;
        }
        let (t, len_byte) = (s[0], s[1]);
        if t & 0x1f == 0x1f || t != tag {
            return None;
        }
        let (header, length) = if len_byte & 0x80 == 0 {
            (2usize, usize::from(len_byte))
        } else {
            let n = usize::from(len_byte & 0x7f);
            if n == 0 || n > 4 || s.len() < 2 + n {
                return None;
            }
            let mut len: u32 = 0;
            for &b in &s[2..2 + n] {
                len = (len << 8) | u32::from(b);
            }
            if len < 128 || len >> ((n - 1) * 8) == 0 {
                return None;
            }
            (2 + n, len as usize)
        };
        let end = header.checked_add(length)?;
        if end > s.len() {
            return None;
        }
        Some((&s[header..end], &s[end..]))
    }

    /// `ReadASN1Integer` into `*[]byte`: minimal, non-negative; leading zeros stripped.
    pub(crate) fn unsigned_int(s: &[u8]) -> Option<(&[u8], &[u8])> {
        let (c, rest) = read(s, 0x02)?;
        if !super::Lax::integer_ok(c) || c[0] & 0x80 != 0 {
            return None;
        }
        let n = c.iter().take(c.len() - 1).take_while(|&&b| b == 0).count();
        Some((&c[n..], rest))
    }

    /// `ReadASN1Integer` into `*big.Int`: (negative?, magnitude).
    pub(crate) fn big_int(s: &[u8]) -> Option<(bool, Vec<u8>, &[u8])> {
        let (c, rest) = read(s, 0x02)?;
        if !super::Lax::integer_ok(c) {
            return None;
        }
        Some((c[0] & 0x80 != 0, super::magnitude(c), rest))
    }

    /// `ReadASN1Integer` into `*int` (int64).
    pub(crate) fn int64(s: &[u8]) -> Option<(i64, &[u8])> {
        let (c, rest) = read(s, 0x02)?;
        if !super::Lax::integer_ok(c) || c.len() > 8 {
            return None;
        }
        Some((super::signed(c), rest))
    }

    /// `ReadASN1ObjectIdentifier`: the content bytes of a valid, minimal OID.
    pub(crate) fn oid(s: &[u8]) -> Option<&[u8]> {
        let (c, _) = read(s, 0x06)?;
        if c.is_empty() {
            return None;
        }
        let mut i = 0;
        while i < c.len() {
            // readBase128Int: minimal, fits 31 bits.
            let mut v: u32 = 0;
            let mut first = true;
            loop {
                let b = *c.get(i)?;
                i += 1;
                if first && b == 0x80 {
                    return None;
                }
                first = false;
                if v >= 1 << (31 - 7) {
                    return None;
                }
                v = (v << 7) | u32::from(b & 0x7f);
                if b & 0x80 == 0 {
                    break;
                }
            }
        }
        Some(c)
    }
}

/// The ECDSA curves Go's x509 knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Curve {
    P224,
    P256,
    P384,
    P521,
}

impl Curve {
    pub fn name(self) -> &'static str {
        match self {
            Curve::P224 => "P-224",
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
            Curve::P521 => "P-521",
        }
    }

    /// Bytes of one coordinate.
    pub(crate) fn byte_len(self) -> usize {
        match self {
            Curve::P224 => 28,
            Curve::P256 => 32,
            Curve::P384 => 48,
            Curve::P521 => 66,
        }
    }

    pub(crate) fn nid(self) -> openssl::nid::Nid {
        use openssl::nid::Nid;
        match self {
            Curve::P224 => Nid::SECP224R1,
            Curve::P256 => Nid::X9_62_PRIME256V1,
            Curve::P384 => Nid::SECP384R1,
            Curve::P521 => Nid::SECP521R1,
        }
    }
}

/// A public key as Go's x509 returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeyMaterial {
    /// `*rsa.PublicKey`: the modulus (positive, big-endian, no leading zeros) and exponent.
    Rsa { n: Vec<u8>, e: i64 },
    /// `*ecdsa.PublicKey`: the uncompressed point `04 || X || Y`, checked on the curve.
    Ecdsa { curve: Curve, point: Vec<u8> },
    /// `ed25519.PublicKey`.
    Ed25519([u8; 32]),
    /// A key x509 parses but sigstore cannot verify with (`*dsa.PublicKey`, `*ecdh.PublicKey`).
    Unsupported(&'static str),
}

const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];
const OID_X25519: &[u8] = &[0x2b, 0x65, 0x6e];
const OID_DSA: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x01];
const OID_P224: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x21];
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
const OID_P521: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x23];

/// `elliptic.Unmarshal`: uncompressed form only, coordinates below p, on the curve.
fn ec_point_ok(curve: Curve, point: &[u8]) -> bool {
    use openssl::bn::{BigNum, BigNumContext};
    use openssl::ec::{EcGroup, EcPoint};
    let l = curve.byte_len();
    if point.len() != 1 + 2 * l || point[0] != 4 {
        return false;
    }
    let check = || -> Result<bool, openssl::error::ErrorStack> {
        let group = EcGroup::from_curve_name(curve.nid())?;
        let mut ctx = BigNumContext::new()?;
        let (mut p, mut a, mut b) = (BigNum::new()?, BigNum::new()?, BigNum::new()?);
        group.components_gfp(&mut p, &mut a, &mut b, &mut ctx)?;
        let x = BigNum::from_slice(&point[1..1 + l])?;
        let y = BigNum::from_slice(&point[1 + l..])?;
        if x >= p || y >= p {
            return Ok(false);
        }
        let pt = EcPoint::from_bytes(&group, point, &mut ctx)?;
        pt.is_on_curve(&group, &mut ctx)
    };
    check().unwrap_or(false)
}

/// `x509.ParsePKIXPublicKey`.
pub(crate) fn parse_pkix(der: &[u8]) -> Result<KeyMaterial, String> {
    let bad = |m: &str| Err(format!("x509: {m}"));
    // publicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier, publicKey BIT STRING, ... }
    let Some((outer, end)) = Lax::expect(der, 0, 16, true) else {
        return bad("malformed public key");
    };
    if end != der.len() {
        return bad("trailing data after ASN.1 of public-key");
    }
    let inner = outer.content;
    let Some((alg, off)) = Lax::expect(inner, 0, 16, true) else {
        return bad("malformed algorithm identifier");
    };
    let Some((oid, aoff)) = Lax::oid(alg.content, 0) else {
        return bad("malformed algorithm OID");
    };
    // Parameters: any one element, optional.
    let params: &[u8] = if aoff < alg.content.len() {
        match Lax::read(alg.content, aoff) {
            Some((p, _)) => p.full,
            None => return bad("malformed algorithm parameters"),
        }
    } else {
        &[]
    };
    let Some((bits, _)) = Lax::expect(inner, off, 3, false) else {
        return bad("malformed public key bit string");
    };
    let key = right_align(bits.content).ok_or("x509: invalid BIT STRING padding".to_string())?;
    match oid {
        o if o == OID_RSA => {
            if params != [0x05, 0x00] {
                return bad("RSA key missing NULL parameters");
            }
            let Some((seq, _)) = strict::read(&key, 0x30) else {
                return bad("invalid RSA public key");
            };
            let Some((neg, n, rest)) = strict::big_int(seq) else {
                return bad("invalid RSA modulus");
            };
            let Some((e, _)) = strict::int64(rest) else {
                return bad("invalid RSA public exponent");
            };
            if neg || n.is_empty() {
                return bad("RSA modulus is not a positive number");
            }
            if e <= 0 {
                return bad("RSA public exponent is not a positive number");
            }
            Ok(KeyMaterial::Rsa { n, e })
        }
        o if o == OID_EC => {
            let curve = match strict::oid(params) {
                None => return bad("invalid ECDSA parameters"),
                Some(c) if c == OID_P224 => Curve::P224,
                Some(c) if c == OID_P256 => Curve::P256,
                Some(c) if c == OID_P384 => Curve::P384,
                Some(c) if c == OID_P521 => Curve::P521,
                Some(_) => return bad("unsupported elliptic curve"),
            };
            if !ec_point_ok(curve, &key) {
                return bad("failed to unmarshal elliptic curve point");
            }
            Ok(KeyMaterial::Ecdsa { curve, point: key })
        }
        o if o == OID_ED25519 => {
            if !params.is_empty() {
                return bad("Ed25519 key encoded with illegal parameters");
            }
            let k: [u8; 32] = key
                .as_slice()
                .try_into()
                .map_err(|_| "x509: wrong Ed25519 public key size")?;
            Ok(KeyMaterial::Ed25519(k))
        }
        o if o == OID_X25519 => {
            if !params.is_empty() {
                return bad("X25519 key encoded with illegal parameters");
            }
            if key.len() != 32 {
                return Err("crypto/ecdh: invalid public key".into());
            }
            Ok(KeyMaterial::Unsupported("X25519"))
        }
        o if o == OID_DSA => {
            let y = strict::big_int(&key);
            let p = strict::read(params, 0x30).and_then(|(s, _)| {
                let (pn, p, r) = strict::big_int(s)?;
                let (qn, q, r) = strict::big_int(r)?;
                let (gn, g, _) = strict::big_int(r)?;
                Some([(pn, p), (qn, q), (gn, g)])
            });
            let Some((yn, y, _)) = y else {
                return bad("invalid DSA public key");
            };
            let Some(p) = p else {
                return bad("invalid DSA parameters");
            };
            if yn || y.is_empty() || p.iter().any(|(neg, v)| *neg || v.is_empty()) {
                return bad("zero or negative DSA parameter");
            }
            Ok(KeyMaterial::Unsupported("DSA"))
        }
        _ => bad("unknown public key algorithm"),
    }
}

/// `BitString.RightAlign` after `parseBitString`'s checks.
fn right_align(b: &[u8]) -> Option<Vec<u8>> {
    let (&pad, data) = b.split_first()?;
    if pad > 7 || (data.is_empty() && pad > 0) {
        return None;
    }
    if let Some(&last) = data.last() {
        if last & ((1u8 << pad) - 1) != 0 {
            return None;
        }
    }
    if pad == 0 {
        return Some(data.to_vec());
    }
    let mut out = vec![0u8; data.len()];
    out[0] = data[0] >> pad;
    for i in 1..data.len() {
        out[i] = (data[i - 1] << (8 - pad)) | (data[i] >> pad);
    }
    Some(out)
}

/// `x509.ParsePKCS1PublicKey`.
pub(crate) fn parse_pkcs1(der: &[u8]) -> Result<KeyMaterial, String> {
    let Some((seq, end)) = Lax::expect(der, 0, 16, true) else {
        return Err("asn1: malformed RSA public key".into());
    };
    let Some((neg, n, off)) = Lax::big_int(seq.content, 0) else {
        return Err("asn1: malformed RSA modulus".into());
    };
    let Some((e, _)) = Lax::int64(seq.content, off) else {
        return Err("asn1: malformed RSA exponent".into());
    };
    if end != der.len() {
        return Err("asn1: trailing data".into());
    }
    if neg || n.is_empty() || e <= 0 {
        return Err("x509: public key contains zero or negative value".into());
    }
    if e > i64::from(i32::MAX) {
        return Err("x509: public key contains large public exponent".into());
    }
    Ok(KeyMaterial::Rsa { n, e })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lax_reader_rules() {
        // Non-minimal length.
        assert!(Lax::read(&[0x30, 0x81, 0x05, 0, 0, 0, 0, 0], 0).is_none());
        // Indefinite length.
        assert!(Lax::read(&[0x30, 0x80, 0, 0], 0).is_none());
        // Truncated.
        assert!(Lax::read(&[0x30, 0x05, 0], 0).is_none());
        let (t, end) = Lax::read(&[0x02, 0x01, 0x05, 0xff], 0).unwrap();
        assert_eq!((t.tag, t.content, end), (2, &[5u8][..], 3));
        assert!(!Lax::integer_ok(&[0, 1]));
        assert!(Lax::integer_ok(&[0, 0x80]));
        assert!(!Lax::integer_ok(&[0xff, 0x80]));
        assert_eq!(magnitude(&[0xff]), vec![1]);
        assert_eq!(signed(&[0xff, 0xfe]), -2);
    }

    #[test]
    fn strict_reader_rules() {
        assert!(strict::read(&[0x30, 0x81, 0x05, 0, 0, 0, 0, 0], 0x30).is_none());
        assert!(strict::unsigned_int(&[0x02, 0x01, 0x80]).is_none());
        assert_eq!(strict::unsigned_int(&[0x02, 0x02, 0x00, 0x80]).unwrap().0, &[0x80]);
        assert_eq!(strict::unsigned_int(&[0x02, 0x01, 0x00]).unwrap().0, &[0x00]);
    }

    #[test]
    fn bit_string_alignment() {
        assert_eq!(right_align(&[0, 1, 2]).unwrap(), vec![1, 2]);
        assert!(right_align(&[]).is_none());
        assert!(right_align(&[1]).is_none());
        assert!(right_align(&[1, 0x01]).is_none());
        assert_eq!(right_align(&[1, 0x02, 0x02]).unwrap(), vec![0x01, 0x01]);
    }
}
