"""Minimal OpenPGP writer for the differential campaign (RFC 4880 subset).

Everything here is written to make *variants*: every header, length, MPI and subpacket
encoding can be chosen by the caller, including encodings that RFC 4880 forbids or
discourages. Nothing here parses OpenPGP except the tiny splitter used to take real
signatures apart. Key generation is deterministic from a random.Random instance.
"""

from __future__ import annotations

import base64
import bz2
import hashlib
import hmac
import random
import struct
import zlib

from cryptography.hazmat.primitives import hashes as chashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils

# ---------------------------------------------------------------------------------------
# constants

TAG_PKESK, TAG_SIG, TAG_SKESK, TAG_OPS, TAG_SECKEY, TAG_PUBKEY, TAG_SECSUB = 1, 2, 3, 4, 5, 6, 7
TAG_COMP, TAG_SED, TAG_MARKER, TAG_LIT, TAG_TRUST, TAG_UID, TAG_PUBSUB = 8, 9, 10, 11, 12, 13, 14
TAG_UAT, TAG_SEIPD, TAG_MDC = 17, 18, 19

ALG_RSA, ALG_RSA_E, ALG_RSA_S, ALG_ELG, ALG_DSA, ALG_ECDH, ALG_ECDSA, ALG_EDDSA = 1, 2, 3, 16, 17, 18, 19, 22

H_MD5, H_SHA1, H_RIPEMD160, H_SHA256, H_SHA384, H_SHA512, H_SHA224 = 1, 2, 3, 8, 9, 10, 11
HASH_NAMES = {1: "md5", 2: "sha1", 3: "ripemd160", 8: "sha256", 9: "sha384", 10: "sha512", 11: "sha224"}
DIGESTINFO = {
    1: bytes.fromhex("3020300c06082a864886f70d020505000410"),
    2: bytes.fromhex("3021300906052b0e03021a05000414"),
    3: bytes.fromhex("3021300906052b2403020105000414"),
    8: bytes.fromhex("3031300d060960864801650304020105000420"),
    9: bytes.fromhex("3041300d060960864801650304020205000430"),
    10: bytes.fromhex("3051300d060960864801650304020305000440"),
    11: bytes.fromhex("302d300d06096086480165030402040500041c"),
}
CRYPTO_HASH = {1: chashes.MD5, 2: chashes.SHA1, 8: chashes.SHA256, 9: chashes.SHA384,
               10: chashes.SHA512, 11: chashes.SHA224}

SP_CREATED, SP_SIG_EXPIRY, SP_KEY_EXPIRY, SP_ISSUER = 2, 3, 9, 16
SP_NOTATION, SP_PREF_HASH, SP_PRIMARY_UID, SP_KEY_FLAGS, SP_REVOCATION_REASON = 20, 21, 25, 27, 29
SP_FEATURES, SP_EMBEDDED, SP_ISSUER_FPR = 30, 32, 33

OID = {
    "p256": bytes.fromhex("2a8648ce3d030107"),
    "p384": bytes.fromhex("2b81040022"),
    "p521": bytes.fromhex("2b81040023"),
    "ed25519": bytes.fromhex("2b06010401da470f01"),
    "cv25519": bytes.fromhex("2b060104019755010501"),
}
CURVES = {"p256": ec.SECP256R1, "p384": ec.SECP384R1, "p521": ec.SECP521R1}


def hash_new(hid: int):
    return hashlib.new(HASH_NAMES[hid])


def digest(hid: int, data: bytes) -> bytes:
    h = hash_new(hid)
    h.update(data)
    return h.digest()


# ---------------------------------------------------------------------------------------
# lengths and headers


def new_len(n: int, form: int | None = None) -> bytes:
    """New-format body length; form 1, 2 or 5 bytes (None: the shortest)."""
    if form is None:
        form = 1 if n < 192 else 2 if n < 8384 else 5
    if form == 1:
        assert n < 192
        return bytes([n])
    if form == 2:
        assert 192 <= n < 8384
        n -= 192
        return bytes([192 + (n >> 8), n & 0xFF])
    return b"\xff" + struct.pack(">I", n)


def new_hdr(tag: int, n: int, form: int | None = None) -> bytes:
    return bytes([0xC0 | tag]) + new_len(n, form)


def old_hdr(tag: int, n: int | None, ltype: int | None = None) -> bytes:
    """Old-format header; ltype 0/1/2 = 1/2/4 length bytes, 3 = indeterminate (n ignored)."""
    assert tag < 16
    if ltype is None:
        ltype = 0 if n < 256 else 1 if n < 65536 else 2
    b = bytes([0x80 | (tag << 2) | ltype])
    if ltype == 3:
        return b
    return b + n.to_bytes(1 << ltype, "big")


def go_partial_chunks(n: int) -> list[int]:
    """Chunk sizes x/crypto/openpgp's partialLengthWriter emits for one buffered write."""
    out = []
    while n > 0:
        p = min(30, n.bit_length() - 1)
        out.append(1 << p)
        n -= 1 << p
    return out


def partial_body(body: bytes, chunks: list[int] | None = None, final_form: int | None = None,
                 final_empty: bool = False) -> bytes:
    """New-format partial body lengths. chunks: powers of two for the partial parts; the rest
    of the body goes in a final normal-length chunk. chunks None = Go's writer (descending
    powers of two, then a zero-length final chunk)."""
    out = bytearray()
    pos = 0
    if chunks is None:
        chunks = go_partial_chunks(len(body))
        final_empty = True
    for c in chunks:
        p = c.bit_length() - 1
        assert c == 1 << p and p <= 30
        out.append(224 + p)
        out += body[pos:pos + c]
        pos += c
    rest = body[pos:]
    if final_empty:
        assert not rest
        out += new_len(0, final_form)
    else:
        out += new_len(len(rest), final_form)
        out += rest
    return bytes(out)


def chunks_for(n: int, size: int, rng: random.Random | None = None) -> list[int]:
    """Partial chunks of a fixed power-of-two size (or random powers if rng), leaving >= 0."""
    out = []
    left = n
    while True:
        c = size if rng is None else 1 << rng.randrange(0, max(1, min(10, left.bit_length())))
        if c > left:
            break
        out.append(c)
        left -= c
        if rng is not None and rng.random() < 0.15:
            break
    return out


def pkt(tag: int, body: bytes, fmt: str = "new", form=None, chunks=None, final_empty=False) -> bytes:
    """One packet. fmt: 'new' | 'old' | 'old-indet' | 'partial'."""
    if fmt == "new":
        return new_hdr(tag, len(body), form) + body
    if fmt == "old":
        return old_hdr(tag, len(body), form) + body
    if fmt == "old-indet":
        return old_hdr(tag, None, 3) + body
    if fmt == "partial":
        return bytes([0xC0 | tag]) + partial_body(body, chunks, form, final_empty)
    raise ValueError(fmt)


# ---------------------------------------------------------------------------------------
# MPIs


def i2b(x: int, length: int | None = None) -> bytes:
    if length is None:
        length = max(1, (x.bit_length() + 7) // 8)
    return x.to_bytes(length, "big")


def mpi(x, mode: str = "canon", delta: int = 0) -> bytes:
    """x: int, or bytes (kept as given, leading zeros included).
    mode: canon (strip zeros, exact bit count), go (bytes as given, 8*len bits),
    bits (bytes as given, exact bit count + delta), raw (given bytes, bit count = delta)."""
    if isinstance(x, int):
        b = i2b(x) if x else b""
    else:
        b = bytes(x)
    if mode == "canon":
        b = b.lstrip(b"\0")
        bits = int.from_bytes(b, "big").bit_length() if b else 0
        return struct.pack(">H", bits) + b
    if mode == "go":
        return struct.pack(">H", 8 * len(b)) + b
    if mode == "bits":
        bits = int.from_bytes(b, "big").bit_length() + delta
        return struct.pack(">H", bits & 0xFFFF) + b
    if mode == "raw":
        return struct.pack(">H", delta & 0xFFFF) + b
    raise ValueError(mode)


# ---------------------------------------------------------------------------------------
# deterministic key generation

SMALL_PRIMES = [p for p in range(3, 2000) if all(p % q for q in range(2, int(p ** 0.5) + 1))]


def is_probable_prime(n: int, rng: random.Random, rounds: int = 24) -> bool:
    if n < 2:
        return False
    for p in SMALL_PRIMES:
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    for _ in range(rounds):
        a = rng.randrange(2, n - 2)
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def gen_prime(rng: random.Random, bits: int, e: int | None = None) -> int:
    while True:
        c = rng.getrandbits(bits) | (3 << (bits - 2)) | 1
        if e is not None and (c - 1) % e == 0:
            continue
        if is_probable_prime(c, rng):
            return c


def egcd_inv(a: int, m: int) -> int:
    return pow(a, -1, m)


class Key:
    """A v4 OpenPGP key (primary or subkey) with its secret half, made deterministically."""

    def __init__(self, kind: str, created: int, algo: int, **kw):
        self.kind = kind
        self.created = created
        self.algo = algo
        self.__dict__.update(kw)
        self._crypto = None

    # -- construction ------------------------------------------------------------------
    @classmethod
    def rsa(cls, rng, bits=2048, created=1600000000, e=65537, algo=ALG_RSA):
        while True:
            p = gen_prime(rng, bits // 2, e)
            q = gen_prime(rng, bits - bits // 2, e)
            n = p * q
            if p != q and n.bit_length() == bits:
                break
        if p > q:
            p, q = q, p  # OpenPGP secret keys want p < q
        d = pow(e, -1, (p - 1) * (q - 1))
        return cls("rsa", created, algo, n=n, e=e, p=p, q=q, d=d, bits=bits)

    @classmethod
    def dsa(cls, rng, L=2048, N=256, created=1600000000):
        q = gen_prime(rng, N)
        while True:
            m = rng.getrandbits(L - N) | (1 << (L - N - 1))
            m -= m % 2
            p = q * m + 1
            if p.bit_length() == L and is_probable_prime(p, rng):
                break
        h = 2
        while True:
            g = pow(h, (p - 1) // q, p)
            if g > 1:
                break
            h += 1
        x = rng.randrange(1, q)
        y = pow(g, x, p)
        return cls("dsa", created, ALG_DSA, p=p, q=q, g=g, x=x, y=y, bits=L)

    @classmethod
    def elgamal(cls, rng, base: "Key", created=1600000000):
        x = rng.randrange(2, base.q)
        return cls("elgamal", created, ALG_ELG, p=base.p, g=base.g, y=pow(base.g, x, base.p), x=x)

    @classmethod
    def ecdsa(cls, rng, curve="p256", created=1600000000, algo=ALG_ECDSA):
        ck = CURVES[curve]()
        order = {"p256": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
                 "p384": int("ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973", 16),
                 "p521": int("01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409", 16)}[curve]
        priv = rng.randrange(1, order)
        sk = ec.derive_private_key(priv, ck)
        pn = sk.public_key().public_numbers()
        size = (ck.key_size + 7) // 8
        point = b"\x04" + pn.x.to_bytes(size, "big") + pn.y.to_bytes(size, "big")
        k = cls("ecdsa" if algo == ALG_ECDSA else "ecdh", created, algo, curve=curve, point=point, priv=priv)
        k._crypto = sk
        return k

    @classmethod
    def ed25519(cls, rng, created=1600000000):
        seed = rng.randbytes(32)
        sk = ed25519.Ed25519PrivateKey.from_private_bytes(seed)
        from cryptography.hazmat.primitives import serialization as ser
        pub = sk.public_key().public_bytes(ser.Encoding.Raw, ser.PublicFormat.Raw)
        k = cls("eddsa", created, ALG_EDDSA, seed=seed, point=b"\x40" + pub)
        k._crypto = sk
        return k

    # -- serialization -----------------------------------------------------------------
    def material(self, mode="canon") -> bytes:
        if self.kind == "rsa":
            return mpi(self.n, mode) + mpi(self.e, mode)
        if self.kind == "dsa":
            return mpi(self.p) + mpi(self.q) + mpi(self.g) + mpi(self.y)
        if self.kind == "elgamal":
            return mpi(self.p) + mpi(self.g) + mpi(self.y)
        if self.kind in ("ecdsa", "eddsa"):
            oid = OID[getattr(self, "curve", "ed25519")]
            return bytes([len(oid)]) + oid + mpi(self.point)
        if self.kind == "ecdh":
            oid = OID[self.curve]
            hid = {"p256": H_SHA256, "p384": H_SHA384, "p521": H_SHA512}[self.curve]
            return bytes([len(oid)]) + oid + mpi(self.point) + bytes([3, 1, hid, 9])
        raise ValueError(self.kind)

    def body(self, mode="canon") -> bytes:
        return b"\x04" + struct.pack(">I", self.created) + bytes([self.algo]) + self.material(mode)

    @property
    def fingerprint(self) -> bytes:
        b = self.body()
        return hashlib.sha1(b"\x99" + struct.pack(">H", len(b)) + b).digest()

    @property
    def keyid(self) -> bytes:
        return self.fingerprint[12:]

    def keyhash_prefix(self) -> bytes:
        b = self.body()
        return b"\x99" + struct.pack(">H", len(b)) + b

    def secret_body(self) -> bytes:
        """Unprotected v4 secret key body (s2k usage 0 + MPIs + checksum)."""
        if self.kind == "rsa":
            u = pow(self.p, -1, self.q)
            sm = mpi(self.d) + mpi(self.p) + mpi(self.q) + mpi(u)
        elif self.kind in ("dsa", "elgamal"):
            sm = mpi(self.x)
        elif self.kind in ("ecdsa", "ecdh"):
            sm = mpi(self.priv)
        elif self.kind == "eddsa":
            sm = mpi(self.seed)
        else:
            raise ValueError(self.kind)
        return self.body() + b"\x00" + sm + struct.pack(">H", sum(sm) & 0xFFFF)

    # -- signing -------------------------------------------------------------------------
    def crypto_rsa(self):
        if self._crypto is None:
            pub = rsa.RSAPublicNumbers(self.e, self.n)
            self._crypto = rsa.RSAPrivateNumbers(
                self.p, self.q, self.d, self.d % (self.p - 1), self.d % (self.q - 1),
                pow(self.q, -1, self.p), pub).private_key(unsafe_skip_rsa_key_validation=True)
        return self._crypto

    def sign_digest(self, hid: int, dg: bytes, prefix_hid: int | None = None, rng=None) -> list:
        """Signature values over a hash digest. RSA: [k-byte string] (leading zeros kept);
        DSA/ECDSA/EdDSA: [r, s] ints (EdDSA: 32-byte strings)."""
        if self.kind == "rsa":
            k = (self.n.bit_length() + 7) // 8
            ph = hid if prefix_hid is None else prefix_hid
            if ph == hid and hid in CRYPTO_HASH and self.e == 65537 and len(dg) == CRYPTO_HASH[hid].digest_size:
                try:
                    s = self.crypto_rsa().sign(dg, padding.PKCS1v15(), utils.Prehashed(CRYPTO_HASH[hid]()))
                    return [s]
                except Exception:
                    pass
            t = DIGESTINFO[ph] + dg
            em = b"\x00\x01" + b"\xff" * (k - len(t) - 3) + b"\x00" + t
            m = int.from_bytes(em, "big")
            s1 = pow(m, self.d % (self.p - 1), self.p)
            s2 = pow(m, self.d % (self.q - 1), self.q)
            h = (pow(self.q, -1, self.p) * (s1 - s2)) % self.p
            s = s2 + h * self.q
            return [s.to_bytes(k, "big")]
        if self.kind == "dsa":
            qlen = (self.q.bit_length() + 7) // 8
            z = int.from_bytes(dg[:qlen], "big")
            # deterministic nonce (HMAC of key and digest), fine for test material
            kk = int.from_bytes(hmac.new(i2b(self.x), dg + b"k", hashlib.sha512).digest(), "big") % (self.q - 1) + 1
            r = pow(self.g, kk, self.p) % self.q
            s = pow(kk, -1, self.q) * (z + self.x * r) % self.q
            return [r, s]
        if self.kind == "ecdsa":
            # cryptography truncates the digest to the curve size as Go and RFC 6090 do
            hcls = {16: chashes.MD5, 20: chashes.SHA1, 28: chashes.SHA224, 32: chashes.SHA256,
                    48: chashes.SHA384, 64: chashes.SHA512}[len(dg)]
            der = self._crypto.sign(dg, ec.ECDSA(utils.Prehashed(hcls()), deterministic_signing=True))
            r, s = utils.decode_dss_signature(der)
            return [r, s]
        if self.kind == "eddsa":
            sig = self._crypto.sign(dg)
            return [sig[:32], sig[32:]]
        raise ValueError("cannot sign with " + self.kind)


def sig_mpis(key: Key, vals: list, mode="canon", delta=0) -> bytes:
    out = b""
    for v in vals:
        out += mpi(v, mode, delta)
    return out


# ---------------------------------------------------------------------------------------
# subpackets and signatures


def sub_len(n: int, form: int | None = None) -> bytes:
    if form is None:
        form = 1 if n < 192 else 2 if n < 16320 else 5
    if form == 1:
        return bytes([n])
    if form == 2:
        n -= 192
        return bytes([(n >> 8) + 192, n & 0xFF])
    return b"\xff" + struct.pack(">I", n)


def sp(typ: int, body: bytes, critical: bool = False, form: int | None = None) -> bytes:
    return sub_len(len(body) + 1, form) + bytes([typ | (0x80 if critical else 0)]) + body


def sp_created(t: int, **kw) -> bytes:
    return sp(SP_CREATED, struct.pack(">I", t & 0xFFFFFFFF), **kw)


def sp_issuer(key_or_id, **kw) -> bytes:
    kid = key_or_id.keyid if isinstance(key_or_id, Key) else key_or_id
    return sp(SP_ISSUER, kid, **kw)


def sp_issuer_fpr(key: Key, **kw) -> bytes:
    return sp(SP_ISSUER_FPR, b"\x04" + key.fingerprint, **kw)


def canonical_text_go(data: bytes) -> bytes:
    """x/crypto/openpgp NewCanonicalTextHash: LF not right after a CR becomes CRLF; the
    byte right after a CR is never examined."""
    out = bytearray()
    s = 0
    for c in data:
        if s == 0:
            if c == 0x0D:
                s = 1
                out.append(c)
            elif c == 0x0A:
                out += b"\r\n"
            else:
                out.append(c)
        else:
            s = 0
            out.append(c)
    return bytes(out)


def canonical_text_rfc(data: bytes) -> bytes:
    """RFC 4880 text canonicalization: every line ending (CRLF, LF, lone CR) becomes CRLF."""
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"\r\n")


class Sig:
    """Result of building a signature: the packet body plus what went into it."""

    def __init__(self, body, hid, sigtype, pkalgo, digest):
        self.body, self.hid, self.sigtype, self.pkalgo, self.digest = body, hid, sigtype, pkalgo, digest


def sig_v4(key: Key, data: bytes, *, sigtype=0x00, hid=H_SHA256, hashed: bytes | None = None,
           unhashed: bytes | None = None, created=1700000000, pkalgo=None, mpi_mode="canon",
           mpi_delta=0, hashtag: bytes | None = None, version=4, prefix_hid=None, sign_key: Key | None = None,
           hash_hid=None, tweak_value=None, trailing=b"", hashed_len_override=None) -> Sig:
    """A v4 signature over `data` (already canonicalized by the caller if needed).
    hashed/unhashed: subpacket bytes (default: creation time + issuer in hashed, as Go writes).
    hash_hid: hash actually computed (default hid). prefix_hid: DigestInfo used (default hash_hid).
    sign_key: key whose secret signs (default key; a different one makes a bad signature)."""
    if pkalgo is None:
        pkalgo = key.algo
    if hashed is None:
        hashed = sp_created(created) + sp_issuer(key)
    if unhashed is None:
        unhashed = b""
    hl = len(hashed) if hashed_len_override is None else hashed_len_override
    head = bytes([version, sigtype, pkalgo, hid]) + struct.pack(">H", hl) + hashed
    trailer = bytes([version, 0xFF]) + struct.pack(">I", len(head))
    hh = hid if hash_hid is None else hash_hid
    dg = digest(hh, data + head + trailer)
    signer = sign_key or key
    vals = signer.sign_digest(hh, dg, prefix_hid=prefix_hid)
    if tweak_value is not None:
        vals = tweak_value(vals)
    body = head + struct.pack(">H", len(unhashed)) + unhashed + (hashtag if hashtag is not None else dg[:2])
    body += sig_mpis(key, vals, mpi_mode, mpi_delta) + trailing
    return Sig(body, hid, sigtype, pkalgo, dg)


def sig_v3(key: Key, data: bytes, *, sigtype=0x00, hid=H_SHA256, created=1700000000, version=3,
           hashed_len=5, keyid=None, pkalgo=None, mpi_mode="canon", hashtag=None) -> Sig:
    hh = bytes([sigtype]) + struct.pack(">I", created)
    dg = digest(hid, data + hh)
    vals = key.sign_digest(hid, dg)
    body = bytes([version, hashed_len]) + hh + (keyid or key.keyid) + bytes([pkalgo or key.algo, hid])
    body += (hashtag if hashtag is not None else dg[:2]) + sig_mpis(key, vals, mpi_mode)
    return Sig(body, hid, sigtype, pkalgo or key.algo, dg)


def ops_body(sigtype=0, hid=H_SHA256, pkalgo=ALG_RSA, keyid=b"\0" * 8, last=1, version=3) -> bytes:
    return bytes([version, sigtype, hid, pkalgo]) + keyid + bytes([last])


def lit_body(payload: bytes, fmt=b"b", name=b"", date=0) -> bytes:
    return fmt + bytes([len(name)]) + name + struct.pack(">I", date) + payload


# ---------------------------------------------------------------------------------------
# key certificates


def pref_hid(key: Key) -> int:
    """A hash the key's algorithm is happy with (GnuPG wants >= the curve size for ECDSA)."""
    return {"p384": H_SHA384, "p521": H_SHA512}.get(getattr(key, "curve", ""), H_SHA256)


def uid_hash_data(primary: Key, uid: bytes) -> bytes:
    return primary.keyhash_prefix() + b"\xb4" + struct.pack(">I", len(uid)) + uid


def self_sig(primary: Key, uid: bytes, *, flags=0x03, primary_uid=None, created=None, key_expiry=None,
             sigtype=0x13, issuer="hashed", hid=None, extra_hashed=b"", bad=False, sign_key=None) -> bytes:
    created = primary.created if created is None else created
    hid = pref_hid(primary) if hid is None else hid
    h = sp_created(created)
    if key_expiry is not None:
        h += sp(SP_KEY_EXPIRY, struct.pack(">I", key_expiry))
    h += sp(SP_PREF_HASH, bytes([H_SHA256, H_SHA512, H_SHA1]))
    if flags is not None:
        h += sp(SP_KEY_FLAGS, bytes([flags]))
    if primary_uid is not None:
        h += sp(SP_PRIMARY_UID, bytes([1 if primary_uid else 0]))
    un = b""
    if issuer == "hashed":
        h += sp_issuer_fpr(primary) + sp_issuer(primary)
    elif issuer == "unhashed":
        un = sp_issuer(primary)
    elif issuer == "fpr-only":
        h += sp_issuer_fpr(primary)
    h += extra_hashed
    data = uid_hash_data(primary, uid)
    s = sig_v4(primary, data, sigtype=sigtype, hid=hid, hashed=h, unhashed=un, sign_key=sign_key)
    body = s.body
    if bad:
        body = corrupt_sig_value(body)
    return body


def corrupt_sig_value(body: bytes) -> bytes:
    b = bytearray(body)
    b[-5] ^= 0x40
    return bytes(b)


def subkey_binding(primary: Key, sub: Key, *, flags=0x02, created=None, cross=True, cross_bad=False,
                   key_expiry=None, sigtype=0x18, reason=None, bad=False, cross_type=0x19,
                   cross_unhashed=False) -> bytes:
    created = (sub.created if created is None else created)
    data = primary.keyhash_prefix() + sub.keyhash_prefix()
    hid = pref_hid(primary)
    h = sp_created(created)
    if key_expiry is not None:
        h += sp(SP_KEY_EXPIRY, struct.pack(">I", key_expiry))
    if flags is not None:
        h += sp(SP_KEY_FLAGS, bytes([flags]))
    if reason is not None:
        h += sp(SP_REVOCATION_REASON, bytes([reason]) + b"test")
    h += sp_issuer_fpr(primary) + sp_issuer(primary)
    un = b""
    if cross and sigtype == 0x18:
        cs = sig_v4(sub, data, sigtype=cross_type, hid=pref_hid(sub), hashed=sp_created(created) + sp_issuer(sub))
        cb = cs.body if not cross_bad else corrupt_sig_value(cs.body)
        if cross_unhashed:
            un += sp(SP_EMBEDDED, cb)
        else:
            h += sp(SP_EMBEDDED, cb)
    s = sig_v4(primary, data, sigtype=sigtype, hid=hid, hashed=h, unhashed=un)
    return corrupt_sig_value(s.body) if bad else s.body


def key_revocation(primary: Key, *, reason=0, created=None, bad=False) -> bytes:
    created = primary.created + 1000 if created is None else created
    h = sp_created(created)
    if reason is not None:
        h += sp(SP_REVOCATION_REASON, bytes([reason]) + b"revoked")
    h += sp_issuer_fpr(primary) + sp_issuer(primary)
    s = sig_v4(primary, primary.keyhash_prefix(), sigtype=0x20, hid=pref_hid(primary), hashed=h)
    return corrupt_sig_value(s.body) if bad else s.body


def uid_revocation(primary: Key, uid: bytes, created=None) -> bytes:
    created = primary.created + 1000 if created is None else created
    h = sp_created(created) + sp(SP_REVOCATION_REASON, b"\x20gone") + sp_issuer(primary)
    return sig_v4(primary, uid_hash_data(primary, uid), sigtype=0x30, hid=pref_hid(primary), hashed=h).body


def direct_key_sig(primary: Key, flags=0x01) -> bytes:
    h = sp_created(primary.created) + sp(SP_KEY_FLAGS, bytes([flags])) + sp_issuer(primary)
    return sig_v4(primary, primary.keyhash_prefix(), sigtype=0x1F, hid=pref_hid(primary), hashed=h).body


def cert(primary: Key, uid: bytes = b"Test Key <test@example.com>", *, flags=0x03, subkeys=(),
         secret=False, **kw) -> bytes:
    """Transferable public (or secret) key: primary, one UID + self-sig, subkeys with bindings.
    subkeys: list of (Key, dict-of-binding-kwargs)."""
    out = pkt(TAG_SECKEY if secret else TAG_PUBKEY, primary.secret_body() if secret else primary.body(), "old")
    out += pkt(TAG_UID, uid, "old") + pkt(TAG_SIG, self_sig(primary, uid, flags=flags, **kw), "old")
    for sk, bkw in subkeys:
        out += pkt(TAG_SECSUB if secret else TAG_PUBSUB, sk.secret_body() if secret else sk.body(), "old")
        out += pkt(TAG_SIG, subkey_binding(primary, sk, **bkw), "old")
    return out


# ---------------------------------------------------------------------------------------
# armour


def crc24(data: bytes) -> int:
    crc = 0xB704CE
    for b in data:
        crc ^= b << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1864CFB
    return crc & 0xFFFFFF


def armor(data: bytes, typ="PGP PUBLIC KEY BLOCK", *, crc=True, bad_crc=False, headers=(), width=64,
          eol="\n") -> bytes:
    b64 = base64.b64encode(data).decode()
    lines = [f"-----BEGIN {typ}-----"] + [f"{k}: {v}" for k, v in headers] + [""]
    lines += [b64[i:i + width] for i in range(0, len(b64), width)]
    if crc:
        c = crc24(data) ^ (0x000001 if bad_crc else 0)
        lines.append("=" + base64.b64encode(c.to_bytes(3, "big")).decode())
    lines.append(f"-----END {typ}-----")
    return (eol.join(lines) + eol).encode()


# ---------------------------------------------------------------------------------------
# compression


def deflate_raw(data: bytes, level=6, strategy=zlib.Z_DEFAULT_STRATEGY, flush_points=(), finish=True,
                wbits=-15) -> bytes:
    """Raw deflate (wbits -15) or zlib (wbits 15). flush_points: offsets where a Z_SYNC_FLUSH
    (or Z_FULL_FLUSH for negative offsets) is forced, making block boundaries."""
    c = zlib.compressobj(level, zlib.DEFLATED, wbits, 8, strategy)
    out = b""
    pos = 0
    for fp in flush_points:
        full = fp < 0
        fp = abs(fp)
        out += c.compress(data[pos:fp])
        out += c.flush(zlib.Z_FULL_FLUSH if full else zlib.Z_SYNC_FLUSH)
        pos = fp
    out += c.compress(data[pos:])
    if finish:
        out += c.flush(zlib.Z_FINISH)
    else:
        out += c.flush(zlib.Z_SYNC_FLUSH)
    return out


def compress(algo: int, data: bytes, **kw) -> bytes:
    if algo == 1:
        return deflate_raw(data, **kw)
    if algo == 2:
        return deflate_raw(data, wbits=15, **kw)
    if algo == 3:
        return bz2.compress(data, kw.get("level", 9))
    return data


def comp_body(algo: int, data: bytes, **kw) -> bytes:
    return bytes([algo]) + compress(algo, data, **kw)


# ---------------------------------------------------------------------------------------
# splitting real messages (only what is needed to mutate the real Red Hat signatures)


def split_packets(data: bytes) -> list[tuple[int, bytes, bytes]]:
    """[(tag, header, body)] of a sequence of definite-length packets."""
    out = []
    i = 0
    while i < len(data):
        b = data[i]
        assert b & 0x80, "not a packet"
        if b & 0x40:
            tag = b & 0x3F
            j = i + 1
            o = data[j]
            if o < 192:
                n, j = o, j + 1
            elif o < 224:
                n, j = ((o - 192) << 8) + data[j + 1] + 192, j + 2
            elif o == 255:
                n, j = struct.unpack(">I", data[j + 1:j + 5])[0], j + 5
            else:
                # partial lengths: gather the chunks; the header returned is the tag byte only
                body = bytearray()
                while True:
                    o = data[j]
                    if 224 <= o < 255:
                        c = 1 << (o & 0x1F)
                        body += data[j + 1:j + 1 + c]
                        j += 1 + c
                        continue
                    if o < 192:
                        n, j = o, j + 1
                    elif o < 224:
                        n, j = ((o - 192) << 8) + data[j + 1] + 192, j + 2
                    else:
                        n, j = struct.unpack(">I", data[j + 1:j + 5])[0], j + 5
                    body += data[j:j + n]
                    j += n
                    break
                out.append((tag, data[i:i + 1], bytes(body)))
                i = j
                continue
        else:
            tag = (b >> 2) & 0xF
            lt = b & 3
            if lt == 3:
                out.append((tag, data[i:i + 1], data[i + 1:]))
                break
            nb = 1 << lt
            n = int.from_bytes(data[i + 1:i + 1 + nb], "big")
            j = i + 1 + nb
        out.append((tag, data[i:j], data[j:j + n]))
        i = j + n
    return out


def dearmor(data: bytes) -> bytes:
    lines = data.decode().splitlines()
    i = next(k for k, l in enumerate(lines) if l.startswith("-----BEGIN"))
    i += 1
    while lines[i].strip():
        i += 1
    body = []
    for l in lines[i + 1:]:
        if l.startswith("=") or l.startswith("-----END"):
            break
        body.append(l.strip())
    return base64.b64decode("".join(body))
