#!/usr/bin/env python3
"""Differential test cases for sigbundle's sigstore verifier (shared/src/sigstore/).

Writes OUT/cases/<name>/case.json (+ the .sig manifest, the blobs) and OUT/keys/*.pub, then asks
the oracle (/work/skopeo-oracle/bin/sigstore-verify: upstream containers/image driven from
files, real prSigstoreSigned.isRunningImageAllowed with the image manifest bytes) for each case
and records its verdict in case.json ("oracle": accept, class, message).

Every rule of /work/notes/sigstore-rules.md 7-27 has a family of hand-made cases; seeded random
mutations of payloads, manifests, Content-Types, identities, base64 and DER come on top.

Usage: gen.py OUT [--oracle PATH] [--seed N] [--jobs N]
Needs Python `cryptography` (/work/skopeo-oracle/venv/bin/python has it). See run.sh.
"""
import argparse
import base64
import concurrent.futures
import hashlib
import json
import os
import random
import secrets
import shutil
import subprocess
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, padding, rsa, x25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

OCI = "application/vnd.oci.image.manifest.v1+json"
SIMPLE = "application/vnd.dev.cosign.simplesigning.v1+json"
ANN = "dev.cosignproject.cosign/signature"
TYPE = "cosign container image signature"
R = "quay.io/openshift-release-dev/ocp-release"
MiB4 = 4 * 1024 * 1024

ORDERS = {
    "p224": 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFF16A2E0B8F03E13DD29455C5C2A3D,
    "p256": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
    "p384": 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973,
    "p521": 6864797660130609714981900799081393217269435300143305409394463459185543183397655394245057746333217197532963996371363321113864768612440380340372808892707005449,
}
CURVES = {"p224": ec.SECP224R1(), "p256": ec.SECP256R1(), "p384": ec.SECP384R1(), "p521": ec.SECP521R1()}
WIDTH = {"p224": 28, "p256": 32, "p384": 48, "p521": 66}
ED_L = 2**252 + 27742317777372353535851937790883648493


def slug(text, n=48):
    """A file-name-safe hint of a string."""
    out = "".join(c if c.isascii() and (c.isalnum() or c in ".+=") else "_" for c in text.replace(OCI, "OCI").replace(R, "R"))
    return out[:n]


def sha(b, alg="sha256"):
    return alg + ":" + hashlib.new(alg, b).hexdigest()


def compact(o):
    return json.dumps(o, separators=(",", ":"), ensure_ascii=False).encode()


# ----------------------------------------------------------------------------- DER and RSA by hand

def der_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def tlv(tag, content):
    return bytes([tag]) + der_len(len(content)) + content


def der_int(v):
    if v == 0:
        return tlv(2, b"\0")
    n = (v.bit_length() + 8) // 8 if v > 0 else ((-v - 1).bit_length() + 8) // 8
    return tlv(2, v.to_bytes(n, "big", signed=True))


def seq(*items):
    return tlv(0x30, b"".join(items))


OID_RSA = tlv(6, bytes.fromhex("2a864886f70d010101"))
NULL = b"\x05\x00"


def nonminimal_seq(inner):
    """A SEQUENCE whose length is not in its shortest form (BER, not DER)."""
    n = len(inner)
    if n < 0x80:
        return b"\x30\x81" + bytes([n]) + inner
    return b"\x30\x82" + n.to_bytes(2, "big") + inner


def pem(kind, der, crlf=False, width=64):
    b = base64.b64encode(der).decode()
    lines = [b[i:i + width] for i in range(0, len(b), width)]
    nl = "\r\n" if crlf else "\n"
    return (f"-----BEGIN {kind}-----{nl}" + nl.join(lines) + f"{nl}-----END {kind}-----{nl}").encode()


def rsa_spki(n, e, params=NULL, extra=b"", trailing=b""):
    alg = seq(OID_RSA + params)
    return seq(alg + tlv(3, b"\0" + seq(der_int(n), der_int(e))) + extra) + trailing


def rsa_pkcs1(n, e):
    return seq(der_int(n), der_int(e))


def is_probable_prime(n, rnd):
    if n < 2:
        return False
    for p in (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37):
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for _ in range(24):
        a = rnd.randrange(2, n - 1)
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def gen_prime(bits, e, rnd):
    while True:
        p = rnd.getrandbits(bits) | (3 << (bits - 2)) | 1
        if (p - 1) % e != 0 and is_probable_prime(p, rnd):
            return p


def gen_rsa(bits, e, rnd):
    """(n, e, d) with n of exactly `bits` bits; e must be odd."""
    while True:
        p = gen_prime((bits + 1) // 2, e, rnd)
        q = gen_prime(bits // 2, e, rnd)
        n = p * q
        if n.bit_length() != bits or p == q:
            continue
        phi = (p - 1) * (q - 1)
        try:
            d = pow(e, -1, phi)
        except ValueError:
            continue
        return n, e, d


DIGEST_INFO = {
    "sha256": bytes.fromhex("3031300d060960864801650304020105000420"),
    "sha384": bytes.fromhex("3041300d060960864801650304020205000430"),
    "sha512": bytes.fromhex("3051300d060960864801650304020305000440"),
    "sha1": bytes.fromhex("3021300906052b0e03021a05000414"),
    "sha256-no-null": bytes.fromhex("302f300b0609608648016503040201" + "0420"),
}


def pkcs1_em(k, data, hashname="sha256", bt=1, ps_byte=0xFF, prehash=True):
    alg = hashname.split("-")[0]
    h = hashlib.new(alg, data).digest() if prehash else data
    t = DIGEST_INFO[hashname] + h
    return bytes([0, bt]) + bytes([ps_byte]) * (k - len(t) - 3) + b"\0" + t


def rsa_raw_sign(n, d, em):
    k = (n.bit_length() + 7) // 8
    return pow(int.from_bytes(em, "big"), d, n).to_bytes(k, "big")


# ----------------------------------------------------------------------------- the generator

class Gen:
    def __init__(self, out, seed):
        self.out = out
        self.rnd = random.Random(seed)
        self.cases = []
        self.keys = {}  # name -> dict(kind=..., ...)
        os.makedirs(f"{out}/cases")
        os.makedirs(f"{out}/keys")
        os.makedirs(f"{out}/images")
        self.images = {}
        for name, extra in [("img1", ""), ("img2", ',"annotations":{"n":"2"}')]:
            body = ('{"schemaVersion":2,"mediaType":"%s","config":{"mediaType":"application/vnd.oci.image.config.v1+json",'
                    '"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]%s}'
                    % (OCI, extra)).encode()
            open(f"{out}/images/{name}.manifest", "wb").write(body)
            self.images[name] = sha(body)

    # ---- keys
    def add_key(self, name, pem_bytes, **signer):
        open(f"{self.out}/keys/{name}.pub", "wb").write(pem_bytes)
        self.keys[name] = signer

    def make_keys(self):
        rnd = self.rnd
        for bits in (2048, 3072, 4096):
            k = rsa.generate_private_key(65537, bits)
            nums = k.private_numbers()
            self.add_key(f"rsa{bits}", k.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
                         kind="rsa", priv=k, n=nums.public_numbers.n, e=nums.public_numbers.e, d=nums.d)
        k = rsa.generate_private_key(65537, 2048)
        nums = k.private_numbers()
        self.add_key("rsa2048b", k.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
                     kind="rsa", priv=k, n=nums.public_numbers.n, e=nums.public_numbers.e, d=nums.d)
        # Hand-made RSA keys: sizes and exponents Go treats specially.
        for bits, e in [(1024, 65537), (1023, 65537), (1000, 65537), (768, 65537), (1025, 65537), (2047, 65537),
                        (2048, 3), (2048, 5), (2048, 2**31 - 1), (2048, 2**31 + 11), (2048, 2**33 + 17), (1536, 65537)]:
            n, e2, d = gen_rsa(bits, e, rnd)
            name = f"rsa{bits}-e{e}"
            self.add_key(name, pem("PUBLIC KEY", rsa_spki(n, e2)), kind="rsa-raw", n=n, e=e2, d=d)
        n, e, d = self.keys["rsa2048"]["n"], 65537, self.keys["rsa2048"]["d"]
        self.add_key("rsa2048-pkcs1", pem("RSA PUBLIC KEY", rsa_pkcs1(n, e)), **self.keys["rsa2048"])
        self.add_key("rsa2048-e1", pem("PUBLIC KEY", rsa_spki(n, 1)), kind="rsa-raw", n=n, e=1, d=1)
        self.add_key("rsa2048-even-e", pem("PUBLIC KEY", rsa_spki(n, 65536)), kind="rsa-raw", n=n, e=65536, d=d)
        self.add_key("rsa-even-n", pem("PUBLIC KEY", rsa_spki(n * 2, 65537)), kind="rsa-raw", n=n * 2, e=65537, d=d)
        self.add_key("rsa2048-neg-e", pem("PUBLIC KEY", rsa_spki(n, -65537)), kind="rsa-raw", n=n, e=65537, d=d)
        self.add_key("rsa2048-pkcs1-big-e", pem("RSA PUBLIC KEY", rsa_pkcs1(n, 2**31 + 11)), kind="rsa-raw", n=n, e=65537, d=d)
        self.add_key("rsa2048-no-null", pem("PUBLIC KEY", rsa_spki(n, e, params=b"")), **self.keys["rsa2048"])
        self.add_key("rsa2048-extra-elem", pem("PUBLIC KEY", rsa_spki(n, e, extra=der_int(7))), **self.keys["rsa2048"])
        self.add_key("rsa2048-alg-extra", pem("PUBLIC KEY", seq(seq(OID_RSA + NULL + der_int(1)) + tlv(3, b"\0" + rsa_pkcs1(n, e)))), **self.keys["rsa2048"])
        self.add_key("rsa2048-trailing", pem("PUBLIC KEY", rsa_spki(n, e, trailing=b"\0")), **self.keys["rsa2048"])
        self.add_key("rsa2048-inner-trailing", pem("PUBLIC KEY", seq(seq(OID_RSA + NULL) + tlv(3, b"\0" + rsa_pkcs1(n, e) + b"\1\2"))), **self.keys["rsa2048"])
        spki = rsa_spki(n, e)
        assert spki[1] == 0x82
        self.add_key("rsa2048-nonminimal-len", pem("PUBLIC KEY", b"\x30\x83\x00" + spki[2:]), **self.keys["rsa2048"])
        self.add_key("rsa2048-pkcs1-as-spki-type", pem("PUBLIC KEY", rsa_pkcs1(n, e)), **self.keys["rsa2048"])
        self.add_key("rsa2048-spki-as-pkcs1-type", pem("RSA PUBLIC KEY", spki), **self.keys["rsa2048"])
        pubpem = pem("PUBLIC KEY", spki)
        self.add_key("rsa2048-text-before", b"This is Red Hat's key.\nComment: x\n" + pubpem, **self.keys["rsa2048"])
        self.add_key("rsa2048-crlf", pem("PUBLIC KEY", spki, crlf=True), **self.keys["rsa2048"])
        self.add_key("rsa2048-width76", pem("PUBLIC KEY", spki, width=76), **self.keys["rsa2048"])
        self.add_key("rsa2048-headers", pubpem.replace(b"-----\n", b"-----\nComment: hello\nX-Y: z\n\n", 1), **self.keys["rsa2048"])
        self.add_key("rsa2048-spaces", pubpem.replace(b"\nMII", b"\n  MII", 1).replace(b"\n", b" \t\n"), **self.keys["rsa2048"])
        self.add_key("rsa2048-no-final-newline", pubpem.rstrip(b"\n"), **self.keys["rsa2048"])
        self.add_key("rsa2048-indented", b"  " + pubpem, **self.keys["rsa2048"])
        self.add_key("rsa2048-junk-after-end", pubpem.rstrip(b"\n") + b" junk\n", **self.keys["rsa2048"])
        self.add_key("rsa2048-end-mismatch", pubpem.replace(b"END PUBLIC KEY", b"END RSA PUBLIC KEY"), **self.keys["rsa2048"])
        self.add_key("rsa2048-bad-base64", pubpem.replace(b"\nMII", b"\nM!I", 1), **self.keys["rsa2048"])
        self.add_key("rsa2048-certificate-type", pubpem.replace(b"PUBLIC KEY", b"CERTIFICATE"), **self.keys["rsa2048"])
        otherpem = open(f"{self.out}/keys/rsa2048b.pub", "rb").read()
        self.add_key("two-blocks-good-first", pubpem + otherpem, **self.keys["rsa2048"])
        self.add_key("two-blocks-good-second", otherpem + pubpem, **self.keys["rsa2048"])
        self.add_key("broken-block-then-good", pubpem.replace(b"END PUBLIC KEY", b"END X") + pubpem, **self.keys["rsa2048"])
        nb = n.to_bytes((n.bit_length() + 7) // 8, "big")
        self.add_key("rsa-n-nonminimal", pem("PUBLIC KEY", seq(seq(OID_RSA + NULL) + tlv(3, b"\0" + seq(tlv(2, b"\0\0" + nb), der_int(e))))), **self.keys["rsa2048"])
        self.add_key("rsa-n-negative", pem("PUBLIC KEY", seq(seq(OID_RSA + NULL) + tlv(3, b"\0" + seq(tlv(2, nb), der_int(e))))), **self.keys["rsa2048"])
        self.add_key("rsa-pkcs1-n-negative", pem("RSA PUBLIC KEY", seq(tlv(2, nb), der_int(e))), **self.keys["rsa2048"])
        self.add_key("rsa-pkcs1-extra-elem", pem("RSA PUBLIC KEY", seq(der_int(n), der_int(e), der_int(1))), **self.keys["rsa2048"])
        self.add_key("rsa-pkcs1-trailing", pem("RSA PUBLIC KEY", seq(der_int(n), der_int(e)) + b"\0"), **self.keys["rsa2048"])
        self.add_key("rsa-bitstring-pad1", pem("PUBLIC KEY", seq(seq(OID_RSA + NULL) + tlv(3, b"\1" + rsa_pkcs1(n, e) + b"\0"))), **self.keys["rsa2048"])
        self.add_key("rsa-e-9-bytes", pem("PUBLIC KEY", seq(seq(OID_RSA + NULL) + tlv(3, b"\0" + seq(der_int(n), tlv(2, b"\0" + (65537).to_bytes(8, "big")))))), **self.keys["rsa2048"])
        self.add_key("rsa-seq-long-form", pem("PUBLIC KEY", nonminimal_seq(seq(OID_RSA + NULL) + tlv(3, b"\0" + rsa_pkcs1(n, e)))), **self.keys["rsa2048"])
        self.add_key("garbage", b"this is not a key\n", kind="none")
        self.add_key("empty-pem", b"-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n", kind="none")
        for c, curve in CURVES.items():
            k = ec.generate_private_key(curve)
            self.add_key(c, k.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo), kind="ec", priv=k, curve=c)
        k = ec.generate_private_key(ec.SECP256R1())
        self.add_key("p256b", k.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo), kind="ec", priv=k, curve="p256")
        p256 = self.keys["p256"]
        pt = p256["priv"].public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint)
        spki_ec = p256["priv"].public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        alg = spki_ec[2:2 + 2 + spki_ec[3]]
        self.add_key("p256-compressed", pem("PUBLIC KEY", seq(alg + tlv(3, b"\0" + pt))), **p256)
        self.add_key("p256-point-off-curve", pem("PUBLIC KEY", spki_ec[:-1] + bytes([spki_ec[-1] ^ 1])), **p256)
        self.add_key("p256-infinity", pem("PUBLIC KEY", seq(alg + tlv(3, b"\0\0"))), **p256)
        self.add_key("p256-hybrid", pem("PUBLIC KEY", seq(alg + tlv(3, b"\0" + bytes([6 | (spki_ec[-1] & 1)]) + spki_ec[-64:]))), **p256)
        self.add_key("p256-x-plus-p", pem("PUBLIC KEY", seq(alg + tlv(3, b"\0\x04" + (int.from_bytes(spki_ec[-64:-32], "big") + 2**256 - 2**224 + 2**192 + 2**96 - 1).to_bytes(33, "big")[1:] + spki_ec[-32:]))), **p256)
        self.add_key("p256-params-null", pem("PUBLIC KEY", seq(seq(tlv(6, bytes.fromhex("2a8648ce3d0201")) + NULL) + tlv(3, b"\0" + spki_ec[-65:]))), **p256)
        self.add_key("p256-as-p384-oid", pem("PUBLIC KEY", seq(seq(tlv(6, bytes.fromhex("2a8648ce3d0201")) + tlv(6, bytes.fromhex("2b81040022"))) + tlv(3, b"\0" + spki_ec[-65:]))), **p256)
        k1 = ec.generate_private_key(ec.SECP256K1())
        self.add_key("secp256k1", k1.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo), kind="ec", priv=k1, curve="p256")
        ed = ed25519.Ed25519PrivateKey.generate()
        self.add_key("ed25519", ed.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo), kind="ed", priv=ed)
        raw = ed.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.add_key("ed25519-params", pem("PUBLIC KEY", seq(seq(tlv(6, bytes.fromhex("2b6570")) + NULL) + tlv(3, b"\0" + raw))), kind="ed", priv=ed)
        self.add_key("ed25519-short", pem("PUBLIC KEY", seq(seq(tlv(6, bytes.fromhex("2b6570"))) + tlv(3, b"\0" + raw[:31]))), kind="ed", priv=ed)
        ed2 = ed25519.Ed25519PrivateKey.generate()
        self.add_key("ed25519b", ed2.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo), kind="ed", priv=ed2)
        xk = x25519.X25519PrivateKey.generate()
        self.add_key("x25519", xk.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo), kind="none")
        dk = dsa.generate_private_key(1024)
        self.add_key("dsa", dk.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo), kind="none")

    # ---- signing
    def sign(self, key, data, mode="default"):
        k = self.keys[key]
        kind = k["kind"]
        if kind == "rsa" and mode == "default":
            return k["priv"].sign(data, padding.PKCS1v15(), hashes.SHA256())
        if kind in ("rsa", "rsa-raw"):
            n, d = k["n"], k["d"]
            kk = (n.bit_length() + 7) // 8
            if mode == "default":
                return rsa_raw_sign(n, d, pkcs1_em(kk, data))
            if mode == "pss":
                return k["priv"].sign(data, padding.PSS(padding.MGF1(hashes.SHA256()), padding.PSS.MAX_LENGTH), hashes.SHA256())
            if mode == "pss-digest-len":
                return k["priv"].sign(data, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())
            if mode in ("sha384", "sha512", "sha1", "sha256-no-null"):
                return rsa_raw_sign(n, d, pkcs1_em(kk, data, mode))
            if mode == "bt2":
                return rsa_raw_sign(n, d, pkcs1_em(kk, data, bt=2))
            if mode == "ps00":
                return rsa_raw_sign(n, d, pkcs1_em(kk, data, ps_byte=0))
            if mode == "prehashed":
                return rsa_raw_sign(n, d, pkcs1_em(kk, hashlib.sha256(data).digest()))
            raise ValueError(mode)
        if kind == "ec":
            h = {"default": hashes.SHA256(), "sha384": hashes.SHA384(), "sha512": hashes.SHA512(), "sha1": hashes.SHA1()}[mode]
            return k["priv"].sign(data, ec.ECDSA(h))
        if kind == "ed":
            return k["priv"].sign(data)
        raise ValueError(kind)

    # ---- artifacts
    def payload(self, digest=None, ref=None, optional=None, img="img1"):
        o = {"critical": {"identity": {"docker-reference": ref or (R + ":4.99.0-x86_64")},
                          "image": {"docker-manifest-digest": digest or self.images[img]},
                          "type": TYPE},
             "optional": optional if optional is not None else {"creator": "sigstore-difftest", "timestamp": 1795945253}}
        return compact(o)

    def layer(self, pl, sig=None, key="rsa2048", mode="default", mt=SIMPLE, b64=None, digest=None, ann=None, size=None, drop_ann=False):
        if b64 is None:
            if sig is None:
                sig = self.sign(key, pl, mode)
            b64 = base64.b64encode(sig).decode()
        a = {} if drop_ann else {ANN: b64}
        if ann:
            a.update(ann)
        lay = {"mediaType": mt, "digest": digest or sha(pl), "size": len(pl) if size is None else size}
        if not drop_ann or ann:
            lay["annotations"] = a
        return lay

    def manifest(self, layers, **over):
        m = {"schemaVersion": 2, "mediaType": OCI,
             "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha(b'{"architecture":"","os":"","rootfs":{"type":"layers","diff_ids":[]}}'), "size": 58},
             "layers": layers}
        m.update(over)
        return compact(m)

    def case(self, family, name, sig_manifest, blobs, keys=("rsa2048",), ct=OCI, ref=None, img="img1", identity=None):
        idx = len(self.cases)
        cname = f"{idx:05d}-{family}-{name}"[:120]
        cdir = f"{self.out}/cases/{cname}"
        os.makedirs(cdir)
        c = {"name": cname, "family": family, "content_type": ct, "keys": [f"../../keys/{k}.pub" for k in keys],
             "reference": ref or f"{R}@{self.images[img]}", "manifest_digest": self.images[img],
             "image_manifest": f"../../images/{img}.manifest", "blobs": []}
        if identity:
            c["identity"] = identity
        if sig_manifest is not None:
            open(f"{cdir}/sig.manifest", "wb").write(sig_manifest)
            c["sig_manifest"] = "sig.manifest"
        for i, b in enumerate(blobs):
            open(f"{cdir}/blob{i}", "wb").write(b)
            c["blobs"].append(f"blob{i}")
        json.dump(c, open(f"{cdir}/case.json", "w"), indent=1)
        self.cases.append(cdir)

    def simple(self, family, name, pl=None, key="rsa2048", mode="default", keys=None, ct=OCI, ref=None, img="img1", identity=None, **lk):
        pl = self.payload(img=img) if pl is None else pl
        lay = self.layer(pl, key=key, mode=mode, **lk)
        self.case(family, name, self.manifest([lay]), [pl], keys=keys or (key,), ct=ct, ref=ref, img=img, identity=identity)


# ----------------------------------------------------------------------------- families

def fam_content_type(g):
    cts = [OCI, OCI.upper(), "Application/Vnd.Oci.Image.Manifest.V1+Json", OCI + "; charset=utf-8", OCI + ";charset=utf-8",
           OCI + " ; charset=utf-8", OCI + ";", OCI + "; ", OCI + ";;", OCI + "; ;", OCI + "; a=b; a=b", OCI + "; a=b; a=c",
           OCI + "; a=b; A=b", OCI + "; a=b; A=c", OCI + '; a="x y"', OCI + '; a="x', OCI + "; a=", OCI + "; a", OCI + "; =b",
           OCI + "; a=b c", OCI + '; a="\\"q\\""', OCI + '; a="x\\y"', OCI + "; a*=utf-8''x; a*=utf-8''y", OCI + "; a*0=x; a*1=y",
           OCI + "; a*=x; a=y", OCI + "; a=\u00e9", OCI + '; a="\u00e9"', " " + OCI, OCI + " ", "\t" + OCI + "\t", "\u00a0" + OCI,
           OCI + "\u0085", OCI + "\u3000", "\u2028" + OCI, OCI + "\ufffd", "appl\u0130cation/vnd.oci.\u0130mage.man\u0130fest.v1+json",
           "appl\u0131cation/vnd.oci.image.manifest.v1+json", OCI.replace("s", "\u017f"), "", "application/json", "text/plain",
           "application/vnd.docker.distribution.manifest.v2+json", "application/vnd.oci.image.index.v1+json",
           "application/vnd.docker.distribution.manifest.list.v2+json", "application/vnd.docker.distribution.manifest.v1+prettyjws",
           OCI + "/x", OCI + " x", "application /vnd.oci.image.manifest.v1+json", "application/ vnd.oci.image.manifest.v1+json",
           "application/vnd.oci.image.manifest.v1+json,application/json", OCI + "\n", OCI + "; a=b\n", OCI.replace("+", " "),
           OCI + '; a=""', OCI + "; a=b;", OCI + "; a=b;;", "application/vnd.oci.image.manifest.v1", "application/*", "*/*",
           OCI + "; a=(x)", OCI + "; a=\"(x)\"", OCI + "; (=x", OCI + "; a=b\x7f", OCI + '; a="b;c"', OCI + '; a="b;c"; d=e',
           OCI + "; a*0=x; a*0=y", OCI + "; a*0=x; a*0=x", OCI + "; a*=x; a*=y", OCI + "; a=x; a*=y; a*=y", OCI + "; \u0130=x",
           OCI + "; a=\u0130", OCI + ";\u00a0a=b", OCI + "; a=b\u00a0", OCI + "\u00a0; a=b", OCI + "; a=\"\\\"", OCI + '; a="\r"',
           OCI + "; a='b'", OCI + "; a=b=c", OCI + "; a=b; ", OCI + ";\t", OCI + "; a=\"\"; a=\"\"", OCI + "; A=b; a=b",
           OCI + "; a=b ; c=d", OCI + ";a=b;c=d", OCI + "; a = b", OCI + "; a= b", OCI + "; a =b"]
    for i, ct in enumerate(cts):
        g.simple("content-type", f"ct{i}-{slug(ct)}", ct=ct)
    for i in range(60):
        s = list(OCI + g.rnd.choice(["", "; charset=utf-8", '; a="b"']))
        for _ in range(g.rnd.randint(1, 3)):
            op = g.rnd.randrange(3)
            pos = g.rnd.randrange(len(s) + 1)
            ch = g.rnd.choice(list(";= \t\",/\\()A-Z\u00a0\u0130\u212aa1*'%"))
            if op == 0:
                s.insert(pos, ch)
            elif op == 1 and pos < len(s):
                del s[pos]
            elif pos < len(s):
                s[pos] = s[pos].upper() if g.rnd.random() < 0.5 else ch
        g.simple("content-type-fuzz", f"f{i}", ct="".join(s))


def fam_manifest(g):
    pl = g.payload()
    good = g.layer(pl)
    gl = json.dumps(good, separators=(",", ":"))
    base = g.manifest([good]).decode()
    def raw(name, text, blobs=None, **kw):
        g.case("manifest", name, text.encode() if isinstance(text, str) else text, blobs if blobs is not None else [pl], **kw)
    raw("baseline", base)
    raw("pretty", json.dumps(json.loads(base), indent=3))
    raw("crlf-pretty", json.dumps(json.loads(base), indent=1).replace("\n", "\r\n"))
    for k in ["Layers", "LAYERS", "lAyErS", "\\u006cayers", "layerS", "layer\u017f", "\u212aayers", "layers\\u0000"]:
        raw(f"key-{k}", base.replace('"layers"', f'"{k}"'))
    for old, new in [("mediaType", "MEDIATYPE"), ("mediaType", "mediatype"), ("digest", "DIGEST"), ("digest", "dige\u017ft"),
                     ("digest", "Digest"), ("annotations", "ANNOTATIONS"), ("annotations", "annotation\u017f"),
                     ("annotations", "Annotations"), ("mediaType", "med\u0130aType"), ("digest", "d\u0131gest"),
                     ("annotations", "annotat\u0131ons"), ("layers", "\u006c\u0061yers")]:
        raw(f"layerkey-{old}-{new.encode('unicode_escape').decode()}", base.replace(gl, gl.replace(f'"{old}"', f'"{new}"', 1)))
    raw("ann-key-escaped-slash", base.replace(ANN, ANN.replace("/", "\\/")))
    raw("ann-key-unicode-escape", base.replace(ANN, "\\u0064ev.cosignproject.cosign/signature"))
    raw("ann-key-upper", base.replace(ANN, ANN.upper()))
    raw("ann-key-invalid-utf8", base.encode().replace(ANN.encode(), ANN.encode() + b"\xff"))
    raw("mt-escaped", base.replace(SIMPLE, "\\u0061pplication/vnd.dev.cosign.simplesigning.v1+json"))
    raw("mt-escaped-slash", base.replace(SIMPLE, SIMPLE.replace("/", "\\/")))
    # duplicated keys
    raw("dup-layers-empty-then-good", base.replace('"layers":[', '"layers":[],"layers":['))
    raw("dup-layers-good-then-empty", base[:-1] + ',"layers":[]}')
    raw("dup-layers-good-then-null", base[:-1] + ',"layers":null}')
    raw("dup-layers-null-then-good", base.replace('"layers":[', '"layers":null,"layers":['))
    raw("dup-layers-good-then-null-elem", base[:-1] + ',"layers":[null]}')
    raw("dup-layers-good-then-empty-obj", base[:-1] + ',"layers":[{}]}')
    raw("dup-layers-good-then-digest-only", base[:-1] + ',"layers":[{"digest":"%s"}]}' % sha(pl))
    raw("dup-layers-good-then-mt-other", base[:-1] + ',"layers":[{"mediaType":"x/y"}]}')
    raw("dup-layers-two-then-one-then-two", base.replace('"layers":[%s]' % gl, '"layers":[{},%s],"layers":[{}],"layers":[{},{}]' % gl))
    raw("dup-layers-case-variant-last", base[:-1] + ',"LAYERS":[]}')
    raw("dup-layers-ann-merge", base.replace('"layers":[', '"layers":[{"annotations":{"x":"y"}}],"layers":['))
    raw("dup-mt-good-then-null", base.replace(gl, gl[:-1] + ',"mediaType":null}'))
    raw("dup-mt-good-then-other", base.replace(gl, gl[:-1] + ',"mediaType":"x/y"}'))
    raw("dup-mt-other-then-good", base.replace(gl, '{"mediaType":"x/y",' + gl[1:]))
    raw("dup-mt-case-other-last", base.replace(gl, gl[:-1] + ',"MediaType":"x/y"}'))
    raw("dup-digest-other-then-good", base.replace(gl, '{"digest":"sha256:%s",' % ("0" * 64) + gl[1:]))
    raw("dup-digest-good-then-bad", base.replace(gl, gl[:-1] + ',"digest":"sha256:zz"}'))
    sig = good["annotations"][ANN]
    raw("dup-ann-key-bad-then-good", base.replace('"annotations":{', '"annotations":{"%s":"AAAA",' % ANN))
    raw("dup-ann-key-good-then-bad", base.replace('"%s":"%s"' % (ANN, sig), '"%s":"%s","%s":"AAAA"' % (ANN, sig, ANN)))
    raw("dup-ann-key-good-then-null", base.replace('"%s":"%s"' % (ANN, sig), '"%s":"%s","%s":null' % (ANN, sig, ANN)))
    raw("dup-annotations-objects-merge", base.replace('"annotations":{', '"annotations":{"a":"b"},"annotations":{'))
    raw("dup-annotations-then-null", base.replace(gl, gl[:-1] + ',"annotations":null}'))
    raw("dup-annotations-null-then-good", base.replace('"annotations":{', '"annotations":null,"annotations":{'))
    raw("dup-annotations-good-then-other", base.replace(gl, gl[:-1] + ',"annotations":{"x":"y"}}'))
    # extra and odd fields
    for name, extra in [("subject", '"subject":{"mediaType":"x","digest":"sha256:%s","size":1}' % ("1" * 64)), ("subject-null", '"subject":null'),
                        ("subject-num", '"subject":5'), ("artifactType", '"artifactType":"application/x"'), ("artifactType-num", '"artifactType":1'),
                        ("annotations", '"annotations":{"org.example":"x"}'), ("annotations-num", '"annotations":{"a":1}'),
                        ("annotations-null-val", '"annotations":{"a":null}'), ("annotations-arr", '"annotations":[]'),
                        ("unknown-deep", '"x":{"y":[1,2,{"z":null}],"w":"\\ud800"}'), ("unknown-huge-num", '"x":1e400'),
                        ("unknown-nested-huge", '"x":{"y":[1e999]}'), ("schemaVersion-3", '"schemaVersion":3'),
                        ("schemaVersion-str", '"schemaVersion":"2"'), ("schemaVersion-float", '"schemaVersion":2.0'),
                        ("schemaVersion-null", '"schemaVersion":null'), ("schemaVersion-big", '"schemaVersion":99999999999999999999'),
                        ("schemaVersion-neg", '"schemaVersion":-1'), ("mediaType-docker", '"mediaType":"application/vnd.docker.distribution.manifest.v2+json"'),
                        ("mediaType-num", '"mediaType":2'), ("mediaType-null", '"mediaType":null'), ("config-null", '"config":null'),
                        ("config-arr", '"config":[]'), ("config-str", '"config":"x"'), ("config-bad-size", '"config":{"size":"1"}'),
                        ("config-huge-num", '"config":{"x":1e400}'), ("config-unknown", '"config":{"x":{"y":1}}'),
                        ("config-bad-data", '"config":{"data":"!!"}'), ("config-data", '"config":{"data":"e30="}'),
                        ("manifests", '"manifests":[]'), ("manifests-null", '"manifests":null'), ("manifests-obj", '"manifests":{}'),
                        ("Manifests", '"Manifests":[]'), ("manifest\u017f", '"manifest\u017f":0'), ("fsLayers", '"fsLayers":[]'),
                        ("FSLAYERS", '"FSLAYERS":[]'), ("fsLayers-null", '"fsLayers":null'), ("history", '"history":[]'),
                        ("hi\u017ftory", '"hi\u017ftory":""'), ("history-false", '"history":false'), ("history-null", '"history":null'),
                        ("manifests-then-null", '"manifests":[1],"manifests":null'), ("manifests-null-then-set", '"manifests":null,"manifests":0'),
                        ("manifests-huge-num", '"manifests":null,"x":1'), ("hist-huge", '"history":1e400')]:
        raw(f"extra-{name}", base[:-1] + "," + extra + "}")
    raw("config-missing", compact({k: v for k, v in json.loads(base).items() if k != "config"}).decode())
    raw("schemaVersion-missing", compact({k: v for k, v in json.loads(base).items() if k != "schemaVersion"}).decode())
    raw("mediaType-missing", compact({k: v for k, v in json.loads(base).items() if k != "mediaType"}).decode())
    raw("only-layers", '{"layers":[%s]}' % gl)
    raw("layers-null", base.replace('"layers":[%s]' % gl, '"layers":null'))
    raw("layers-empty", base.replace('"layers":[%s]' % gl, '"layers":[]'))
    raw("layers-obj", base.replace('"layers":[%s]' % gl, '"layers":{}'))
    raw("layers-str", base.replace('"layers":[%s]' % gl, '"layers":"x"'))
    raw("layers-null-elem", base.replace('"layers":[%s]' % gl, '"layers":[null]'))
    raw("layers-null-elem-then-good", base.replace('"layers":[%s]' % gl, '"layers":[null,%s]' % gl))
    raw("layers-num-elem", base.replace('"layers":[%s]' % gl, '"layers":[1,%s]' % gl))
    for name, lay in [("size-wrong", dict(good, size=12345)), ("size-zero", dict(good, size=0)), ("size-neg", dict(good, size=-1)),
                      ("size-null", dict(good, size=None)), ("size-str", dict(good, size="1")), ("size-float", dict(good, size=1.5)),
                      ("size-huge", dict(good, size=10**30)), ("size-bool", dict(good, size=True)), ("urls-empty", dict(good, urls=[])),
                      ("urls", dict(good, urls=["https://example.invalid/blob"])), ("urls-num", dict(good, urls=[1])),
                      ("urls-str", dict(good, urls="x")), ("data", dict(good, data="e30=")), ("data-bad", dict(good, data="e30")),
                      ("data-arr", dict(good, data=[1, 2, 255])), ("data-arr-bad", dict(good, data=[256])),
                      ("data-arr-neg", dict(good, data=[-1])), ("data-null", dict(good, data=None)),
                      ("platform", dict(good, platform={"os": "linux", "architecture": "amd64", "os.features": ["x"]})),
                      ("platform-bad", dict(good, platform={"os": 1})), ("platform-features-bad", dict(good, platform={"os.features": "x"})),
                      ("platform-null", dict(good, platform=None)), ("platform-arr", dict(good, platform=[])),
                      ("artifactType", dict(good, artifactType="x")), ("artifactType-bad", dict(good, artifactType=[])),
                      ("mt-null", dict(good, mediaType=None)), ("mt-num", dict(good, mediaType=5)), ("digest-null", dict(good, digest=None)),
                      ("digest-num", dict(good, digest=5)), ("ann-null", dict(good, annotations=None)),
                      ("ann-num-val", dict(good, annotations={ANN: sig, "x": 1})), ("ann-bool-val", dict(good, annotations={ANN: sig, "x": True})),
                      ("ann-obj-val", dict(good, annotations={ANN: sig, "x": {}})), ("ann-null-val", dict(good, annotations={ANN: sig, "x": None})),
                      ("ann-sig-null", dict(good, annotations={ANN: None})), ("ann-sig-num", dict(good, annotations={ANN: 1})),
                      ("ann-extra-cosign", dict(good, annotations={ANN: sig, "dev.sigstore.cosign/certificate": "garbage",
                                                                   "dev.sigstore.cosign/chain": "x", "dev.sigstore.cosign/bundle": "{not json"})),
                      ("unknown-in-layer", dict(good, x={"y": [1, 2]})), ("unknown-in-layer-huge", dict(good, x=1e300))]:
        raw(f"layer-{name}", g.manifest([lay]))
    raw("layer-unknown-1e400", base.replace(gl, gl[:-1] + ',"x":1e400}'))
    raw("layer-size-1e2", base.replace('"size":%d' % len(pl), '"size":1e2'))
    raw("layer-size-neg0", base.replace('"size":%d' % len(pl), '"size":-0'))
    raw("top-null", "null", blobs=[])
    raw("top-array", "[]")
    raw("top-string", '"x"')
    raw("top-number", "2")
    raw("empty-object", "{}")
    raw("empty", "")
    raw("not-json", "not json")
    raw("trailing-garbage", base + "x")
    raw("trailing-whitespace", base + " \n\t\r")
    raw("two-objects", base + base)
    raw("bom", b"\xef\xbb\xbf" + base.encode())
    raw("leading-whitespace", "\n\n  " + base)
    raw("invalid-utf8-unknown", base.encode()[:-1] + b',"x":"\xff\xfe"}')
    raw("control-char-in-string", base[:-1] + ',"x":"a\x01"}')
    raw("truncated", base[:-5])
    raw("deep-10000-unknown", base[:-1] + ',"x":' + "[" * 9999 + "]" * 9999 + "}")
    raw("deep-10001-unknown", base[:-1] + ',"x":' + "[" * 10000 + "]" * 10000 + "}")
    raw("deep-10000-in-layer", base.replace(gl, gl[:-1] + ',"x":' + "[" * 9997 + "]" * 9997 + "}"))
    raw("deep-10001-in-layer", base.replace(gl, gl[:-1] + ',"x":' + "[" * 9998 + "]" * 9998 + "}"))
    raw("lone-surrogate-key", base[:-1] + ',"\\ud800":1}')
    raw("number-forms", base[:-1] + ',"x":[-0,0.0,1E+2,1e-400,-1.5e-3]}')
    raw("bad-number", base[:-1] + ',"x":01}')
    raw("single-quote", base.replace('"schemaVersion"', "'schemaVersion'"))


def fam_sizes(g):
    pl = g.payload()
    lay = g.layer(pl)
    base = g.manifest([lay])
    g.case("size", "manifest-exactly-4MiB", base + b" " * (MiB4 - len(base)), [pl])
    g.case("size", "manifest-4MiB-plus-1", base + b" " * (MiB4 + 1 - len(base)), [pl])
    g.case("size", "manifest-4MiB-minus-1", base + b" " * (MiB4 - 1 - len(base)), [pl])
    for n, name in [(MiB4, "payload-exactly-4MiB"), (MiB4 + 1, "payload-4MiB-plus-1"), (MiB4 - 1, "payload-4MiB-minus-1")]:
        big = pl + b" " * (n - len(pl))
        g.case("size", name, g.manifest([g.layer(big)]), [big])
    other = b"x" * (MiB4 + 1)
    g.case("size", "other-layer-4MiB-plus-1-after-good", g.manifest([lay, {"mediaType": "application/x-big", "digest": sha(other), "size": 1}]), [pl, other])
    g.case("size", "other-layer-4MiB-plus-1-before-good", g.manifest([{"mediaType": "application/x-big", "digest": sha(other), "size": 1}, lay]), [pl, other])
    ok = b"x" * MiB4
    g.case("size", "other-layer-exactly-4MiB", g.manifest([{"mediaType": "application/x-big", "digest": sha(ok), "size": 1}, lay]), [pl, ok])
    many = [lay] * 3000
    g.case("size", "3000-identical-layers", g.manifest(many), [pl])


def fam_digests(g):
    pl = g.payload()
    lay = g.layer(pl)
    h = hashlib.sha256(pl).hexdigest()
    for name, d in [("sha512", sha(pl, "sha512")), ("sha384", sha(pl, "sha384")), ("upper-hex", "sha256:" + h.upper()),
                    ("upper-alg", "SHA256:" + h), ("short", "sha256:" + h[:-1]), ("long", "sha256:" + h + "0"),
                    ("md5", sha(pl, "md5")), ("sha1", sha(pl, "sha1")), ("no-colon", "sha256" + h), ("empty", ""), ("alg-only", "sha256:"),
                    ("hex-only", ":" + h), ("two-colons", "sha256:" + h[:10] + ":" + h[11:]), ("space-before", " sha256:" + h),
                    ("space-after", "sha256:" + h + " "), ("newline-after", "sha256:" + h + "\n"), ("blake3", "blake3:" + h),
                    ("sha256-of-other", sha(b"other")), ("sha512-upper", "sha512:" + hashlib.sha512(pl).hexdigest().upper()),
                    ("non-hex", "sha256:" + "g" * 64), ("sha256+b64", "sha256+b64:" + h), ("unicode-digit", "sha256:" + h[:-1] + "\u0661")]:
        g.case("digest", name, g.manifest([dict(lay, digest=d)]), [pl])
    other = b"another blob"
    g.case("digest", "missing-blob-other-layer", g.manifest([lay, {"mediaType": "application/x-gone", "digest": sha(other), "size": 1}]), [pl])
    g.case("digest", "missing-blob-other-layer-first", g.manifest([{"mediaType": "application/x-gone", "digest": sha(other), "size": 1}, lay]), [pl])
    g.case("digest", "invalid-digest-second-layer", g.manifest([lay, {"mediaType": "x", "digest": "sha256:bad"}]), [pl])
    g.case("digest", "invalid-digest-first-layer", g.manifest([{"mediaType": "x", "digest": "md5:" + "0" * 32}, lay]), [pl])
    g.case("digest", "other-layer-sha512", g.manifest([{"mediaType": "x", "digest": sha(other, "sha512")}, lay]), [pl, other])
    g.case("digest", "missing-blob-sig-layer", g.manifest([lay]), [])


def fam_base64(g):
    pl = g.payload()
    sig = g.sign("rsa2048", pl)
    b = base64.b64encode(sig).decode()
    wrap = lambda s, w, nl="\n": nl.join(s[i:i + w] for i in range(0, len(s), w))
    variants = [("std", b), ("wrap64", wrap(b, 64)), ("wrap76-crlf", wrap(b, 76, "\r\n")), ("wrap1", wrap(b, 1)), ("trailing-nl", b + "\n"),
                ("leading-nl", "\n" + b), ("cr-only", wrap(b, 10, "\r")), ("unpadded", b.rstrip("=")), ("urlsafe", base64.urlsafe_b64encode(sig).decode()),
                ("space-lead", " " + b), ("space-trail", b + " "), ("space-mid", b[:10] + " " + b[10:]), ("tab", b[:10] + "\t" + b[10:]),
                ("garbage-after-pad", b + "AAAA"), ("extra-pad", b + "="), ("pad-nl-pad", b[:-1] + "\n=" if b.endswith("==") else b + "\n"),
                ("empty", ""), ("only-pad", "===="), ("invalid-char", b[:5] + "!" + b[6:]), ("nul", b + "\0"),
                ("vertical-tab", b[:4] + "\v" + b[4:]), ("two-sigs", b + b)]
    # trailing bits: the last significant char changed so decoding gives the same bytes
    alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    if b.endswith("=="):
        variants.append(("trailing-bits", b[:-3] + alpha[alpha.index(b[-3]) | 15] + "=="))
    elif b.endswith("="):
        variants.append(("trailing-bits", b[:-2] + alpha[alpha.index(b[-2]) | 3] + "="))
    for name, v in variants:
        g.simple("base64", name, pl=pl, b64=v)
    # An ECDSA signature (shorter) with padding variants.
    s2 = g.sign("p256", pl)
    b2 = base64.b64encode(s2).decode()
    for name, v in [("ec-std", b2), ("ec-unpadded", b2.rstrip("=")), ("ec-wrap", wrap(b2, 8, "\n"))]:
        g.simple("base64", name, pl=pl, key="p256", b64=v)
    for i in range(80):
        s = list(g.rnd.choice([b, b2]))
        key = "rsa2048" if len(s) > 200 else "p256"
        for _ in range(g.rnd.randint(1, 2)):
            pos = g.rnd.randrange(len(s) + 1)
            ch = g.rnd.choice(["\n", "\r", " ", "=", "-", "_", "A", "/", "+", "\r\n", "==", ""])
            if g.rnd.random() < 0.7:
                s.insert(pos, ch)
            elif pos < len(s):
                del s[pos]
        g.simple("base64-fuzz", f"f{i}", pl=pl, key=key, b64="".join(s))


def fam_rsa(g):
    pl = g.payload()
    for key in ["rsa2048", "rsa3072", "rsa4096", "rsa1024-e65537", "rsa1023-e65537", "rsa1000-e65537", "rsa768-e65537",
                "rsa1025-e65537", "rsa2047-e65537", "rsa1536-e65537", "rsa2048-e3", "rsa2048-e5", f"rsa2048-e{2**31 - 1}",
                f"rsa2048-e{2**31 + 11}", f"rsa2048-e{2**33 + 17}", "rsa2048-pkcs1", "rsa2048-e1", "rsa2048-even-e", "rsa-even-n",
                "rsa2048-neg-e", "rsa2048-pkcs1-big-e"]:
        g.simple("rsa-key", key, pl=pl, key=key)
    for mode in ["pss", "pss-digest-len", "sha384", "sha512", "sha1", "sha256-no-null", "bt2", "ps00", "prehashed"]:
        g.simple("rsa-mode", mode, pl=pl, key="rsa2048", mode=mode)
        g.simple("rsa-mode", mode + "-4096", pl=pl, key="rsa4096", mode=mode)
    g.simple("rsa-mode", "other-key", pl=pl, key="rsa2048b", keys=["rsa2048"])
    k = g.keys["rsa2048"]
    n, d = k["n"], k["d"]
    sig = g.sign("rsa2048", pl)
    kk = len(sig)
    for name, s in [("extra-leading-zero", b"\0" + sig), ("truncated", sig[:-1]), ("zeros", b"\0" * kk), ("one", (1).to_bytes(kk, "big")),
                    ("equals-n", n.to_bytes(kk, "big")), ("n-minus-1", (n - 1).to_bytes(kk, "big")), ("all-ff", b"\xff" * kk),
                    ("plus-n", ((int.from_bytes(sig, "big") + n).to_bytes(kk, "big") if int.from_bytes(sig, "big") + n < 2 ** (8 * kk) else n.to_bytes(kk, "big"))),
                    ("flipped-bit", sig[:-1] + bytes([sig[-1] ^ 1])), ("empty", b"")]:
        g.simple("rsa-sig", name, pl=pl, sig=s)
    # Leading zero byte: find a payload whose signature starts with 0x00.
    for i in range(4000):
        p = g.payload(optional={"n": i})
        s = rsa_raw_sign(n, d, pkcs1_em(kk, p))
        if s[0] == 0:
            g.simple("rsa-sig", "leading-zero-kept", pl=p, sig=s)
            g.simple("rsa-sig", "leading-zero-stripped", pl=p, sig=s[1:])
            g.simple("rsa-sig", "leading-zero-doubled", pl=p, sig=b"\0" + s)
            break
    # Multi-key trusts.
    g.simple("rsa-trust", "other-then-good", pl=pl, key="rsa2048", keys=["rsa2048b", "rsa2048"])
    g.simple("rsa-trust", "good-then-other", pl=pl, key="rsa2048", keys=["rsa2048", "rsa2048b"])
    g.simple("rsa-trust", "rsa-and-ec-ec-signs", pl=pl, key="p256", keys=["rsa2048", "p256"])
    g.simple("rsa-trust", "good-and-dsa", pl=pl, key="rsa2048", keys=["rsa2048", "dsa"])
    g.simple("rsa-trust", "x25519-and-good", pl=pl, key="rsa2048", keys=["x25519", "rsa2048"])
    g.simple("rsa-trust", "good-and-garbage", pl=pl, key="rsa2048", keys=["rsa2048", "garbage"])
    g.simple("rsa-trust", "small-then-good", pl=pl, key="rsa2048", keys=["rsa768-e65537", "rsa2048"])
    g.simple("rsa-trust", "same-key-twice", pl=pl, key="rsa2048", keys=["rsa2048", "rsa2048"])


def fam_keys(g):
    pl = g.payload()
    for key in ["rsa2048-no-null", "rsa2048-extra-elem", "rsa2048-alg-extra", "rsa2048-trailing", "rsa2048-inner-trailing",
                "rsa2048-nonminimal-len", "rsa2048-pkcs1-as-spki-type", "rsa2048-spki-as-pkcs1-type", "rsa2048-text-before",
                "rsa2048-crlf", "rsa2048-width76", "rsa2048-headers", "rsa2048-spaces", "rsa2048-no-final-newline", "rsa2048-indented",
                "rsa2048-junk-after-end", "rsa2048-end-mismatch", "rsa2048-bad-base64", "rsa2048-certificate-type",
                "two-blocks-good-first", "two-blocks-good-second", "broken-block-then-good", "garbage", "empty-pem", "dsa", "x25519",
                "p256-compressed", "p256-point-off-curve", "secp256k1", "ed25519-params", "ed25519-short", "rsa-n-nonminimal",
                "rsa-n-negative", "rsa-pkcs1-n-negative", "rsa-pkcs1-extra-elem", "rsa-pkcs1-trailing", "rsa-bitstring-pad1", "rsa-e-9-bytes",
                "rsa-seq-long-form", "p256-infinity", "p256-hybrid", "p256-x-plus-p", "p256-params-null", "p256-as-p384-oid"]:
        signer = key if g.keys[key]["kind"] != "none" else "rsa2048"
        g.simple("key", key, pl=pl, key=signer, keys=[key])
    g.simple("key", "no-layers-with-garbage-key", pl=pl, key="rsa2048", keys=["garbage"], mt="x/not-a-signature")


def fam_ecdsa(g):
    pl = g.payload()
    for c in ["p224", "p256", "p384", "p521"]:
        n = ORDERS[c]
        w = WIDTH[c]
        der = g.sign(c, pl)
        r, s = decode_dss_signature(der)
        raw = lambda a, b, wa=w, wb=w: a.to_bytes(wa, "big") + b.to_bytes(wb, "big")
        cases = [("der", der), ("der-high-s", encode_dss_signature(r, n - s)), ("p1363", raw(r, s)), ("p1363-high-s", raw(r, n - s)),
                 ("p1363-pad1", raw(r, s, w + 1, w + 1)), ("p1363-pad-to-66", raw(r, s, 66, 66)), ("p1363-pad-to-67", raw(r, s, 67, 67)),
                 ("p1363-uneven", raw(r, s, w, w + 2)), ("p1363-odd", raw(r, s) + b"\0"), ("p1363-swapped", raw(s, r)),
                 ("der-swapped", encode_dss_signature(s, r)), ("der-trailing-byte", der + b"\0"), ("der-trailing-2", der + b"\0\0"),
                 ("der-extra-int", seq(der_int(r), der_int(s), der_int(1))), ("der-r-zero", encode_dss_signature(0, s)),
                 ("der-r-n", encode_dss_signature(n, s)), ("der-s-n", encode_dss_signature(r, n)), ("der-r-plus-n", encode_dss_signature(r + n, s)),
                 ("der-s-zero", encode_dss_signature(r, 0)), ("der-neg-s", seq(der_int(r), der_int(-s))),
                 ("der-neg-r", seq(der_int(-r), der_int(s))), ("der-nonminimal-int", seq(tlv(2, b"\0\0" + r.to_bytes(w, "big")), der_int(s))),
                 ("der-set", tlv(0x31, der_int(r) + der_int(s))),
                 ("der-long-form-len", nonminimal_seq(der_int(r) + der_int(s))),
                 ("der-in-octet-string", tlv(4, der)), ("der-only-r", seq(der_int(r))), ("der-empty-seq", b"\x30\x00"),
                 ("sha384", g.sign(c, pl, "sha384")), ("sha512", g.sign(c, pl, "sha512")), ("sha1", g.sign(c, pl, "sha1")),
                 ("empty", b""), ("one-byte", b"\x30"), ("two-zero", b"\0\0"), ("132-zero", b"\0" * 132), ("134-zero", b"\0" * 134),
                 ("p1363-r-zero", raw(0, s)), ("p1363-r-n", raw(n, s) if n.bit_length() <= 8 * w else raw(r, s, w, w)),
                 ("prehashed", g.keys[c]["priv"].sign(hashlib.sha256(pl).digest(), ec.ECDSA(hashes.SHA256())))]
        for name, sig in cases:
            g.simple("ecdsa", f"{c}-{name}", pl=pl, key=c, sig=sig)
        g.simple("ecdsa", f"{c}-other-key", pl=pl, key="p256b", keys=[c])
    # DER fuzz
    der = g.sign("p256", pl)
    for i in range(80):
        s = bytearray(der)
        for _ in range(g.rnd.randint(1, 2)):
            op = g.rnd.randrange(4)
            pos = g.rnd.randrange(len(s))
            if op == 0:
                s[pos] ^= 1 << g.rnd.randrange(8)
            elif op == 1:
                s.insert(pos, g.rnd.randrange(256))
            elif op == 2:
                del s[pos]
            else:
                s[pos] = g.rnd.choice([0x00, 0x30, 0x02, 0x80, 0x81, 0xff, 0x7f])
        g.simple("ecdsa-fuzz", f"f{i}", pl=pl, key="p256", sig=bytes(s))


def fam_ed25519(g):
    pl = g.payload()
    sig = g.sign("ed25519", pl)
    R_, S = sig[:32], int.from_bytes(sig[32:], "little")
    for name, s in [("valid", sig), ("flip-r", bytes([sig[0] ^ 1]) + sig[1:]), ("flip-s", sig[:40] + bytes([sig[40] ^ 1]) + sig[41:]),
                    ("s-plus-l", R_ + (S + ED_L).to_bytes(32, "little")), ("top-bits", sig[:63] + bytes([sig[63] | 0x80])),
                    ("short", sig[:63]), ("long", sig + b"\0"), ("empty", b""), ("zeros", b"\0" * 64), ("other-key", g.sign("ed25519b", pl)),
                    ("prehashed", g.keys["ed25519"]["priv"].sign(hashlib.sha512(pl).digest())), ("s-l", R_ + ED_L.to_bytes(32, "little"))]:
        g.simple("ed25519", name, pl=pl, key="ed25519", sig=s)
    g.simple("ed25519", "rsa-sig-on-ed-key", pl=pl, key="rsa2048", keys=["ed25519"])


def fam_payload(g):
    D = g.images["img1"]
    base = {"critical": {"identity": {"docker-reference": R + ":4.99.0-x86_64"}, "image": {"docker-manifest-digest": D}, "type": TYPE},
            "optional": {"creator": "c", "timestamp": 1795945253}}
    P = compact(base).decode()
    def one(name, text, **kw):
        g.simple("payload", name, pl=text.encode() if isinstance(text, str) else text, **kw)
    one("baseline", P)
    one("pretty", json.dumps(base, indent=2))
    one("trailing-ws", P + " \n\t\r")
    one("leading-ws", "\n " + P)
    one("trailing-garbage", P + "x")
    one("two-objects", P + P)
    one("bom", b"\xef\xbb\xbf" + P.encode())
    one("empty", "")
    one("null", "null")
    one("array", "[" + P + "]")
    one("string", '"x"')
    one("empty-object", "{}")
    for k, v in [("critical", "Critical"), ("critical", "\\u0063ritical"), ("optional", "Optional"), ("optional", "\\u006fptional"),
                 ("type", "Type"), ("type", "\\u0074ype"), ("image", "IMAGE"), ("identity", "identit\\u0079"),
                 ("docker-manifest-digest", "Docker-manifest-digest"), ("docker-manifest-digest", "docker-manifest-digest\\u0000"),
                 ("docker-reference", "docker\\u002dreference"), ("docker-reference", "docker_reference"), ("creator", "Creator"),
                 ("timestamp", "Timestamp"), ("critical", "critica\u0142"), ("type", "\u0074ype")]:
        one(f"key-{k}-as-{v.encode('unicode_escape').decode()}", P.replace(f'"{k}"', f'"{v}"', 1))
    one("dup-critical", P.replace('{"critical":', '{"critical":{},"critical":', 1))
    one("dup-critical-escaped", P.replace('{"critical":', '{"\\u0063ritical":{},"critical":', 1))
    one("dup-optional", P[:-1] + ',"optional":null}')
    one("dup-type", P.replace('"type":', '"type":"x","type":', 1))
    one("dup-image", P.replace('"image":', '"image":{},"image":', 1))
    one("dup-identity", P.replace('"identity":', '"identity":{},"identity":', 1))
    one("dup-digest", P.replace('"docker-manifest-digest":', '"docker-manifest-digest":"x","docker-manifest-digest":', 1))
    one("dup-reference", P.replace('"docker-reference":', '"docker-reference":"x","docker-reference":', 1))
    one("dup-creator", P.replace('"creator":', '"creator":"x","creator":', 1))
    one("dup-timestamp", P.replace('"timestamp":', '"timestamp":1,"timestamp":', 1))
    one("dup-unknown-optional", P.replace('"creator":', '"u":1,"u":2,"creator":', 1))
    one("dup-inside-unknown", P.replace('"creator":', '"z":{"a":1,"a":2},"creator":', 1))
    one("top-unknown", P[:-1] + ',"x":1}')
    one("critical-unknown", P.replace('"type":', '"x":1,"type":', 1))
    one("image-unknown", P.replace('"docker-manifest-digest":', '"x":1,"docker-manifest-digest":', 1))
    one("identity-unknown", P.replace('"docker-reference":', '"x":1,"docker-reference":', 1))
    for path in [("critical",), ("optional",), ("critical", "type"), ("critical", "image"), ("critical", "identity"),
                 ("critical", "image", "docker-manifest-digest"), ("critical", "identity", "docker-reference"),
                 ("optional", "creator"), ("optional", "timestamp")]:
        o = json.loads(P)
        t = o
        for p in path[:-1]:
            t = t[p]
        del t[path[-1]]
        one("missing-" + "-".join(path), compact(o).decode())
    for name, val in [("null", None), ("empty", {}), ("array", []), ("string", "x"), ("number", 5), ("true", True),
                      ("unknown-any", {"foo": [1, {"a": None}], "bar": True, "baz": "q"}), ("unknown-huge", {"x": 1e308}),
                      ("creator-null", {"creator": None}), ("creator-num", {"creator": 5}), ("creator-obj", {"creator": {}}),
                      ("creator-empty", {"creator": ""}), ("creator-arr", {"creator": ["x"]}), ("ts-neg", {"timestamp": -5}),
                      ("ts-zero", {"timestamp": 0}), ("ts-null", {"timestamp": None}), ("ts-str", {"timestamp": "1"}),
                      ("ts-true", {"timestamp": True}), ("ts-arr", {"timestamp": []}), ("ts-obj", {"timestamp": {}}),
                      ("ts-frac", {"timestamp": 1.5}), ("ts-float-int", {"timestamp": 2.0})]:
        one(f"optional-{name}", compact(dict(base, optional=val)).decode())
    for lit in ["1e9", "1.795945253e9", "1E9", "1e+9", "17959452530e-1", "1e19", "-1e19", "9223372036854775807", "9223372036854775808",
                "9223372036854775296", "9223372036854776832", "-9223372036854775808", "-9223372036854775809", "-9223372036854777856",
                "-9223372036854774784", "1e400", "-1e400", "1e-400", "-0", "-0.0", "0.5", "1.0000000000000002", "4.9e-324",
                "123456789012345678901234567890", "0.1e1", "100e-2", "1.7976931348623157e308", "1.8e308"]:
        one(f"ts-{lit}", P.replace("1795945253", lit))
    for name, val in [("unknown-1e400", "1e400"), ("unknown-neg-1e400", "-1e400"), ("unknown-nested-1e400", '{"a":[1e400]}'),
                      ("unknown-1e-400", "1e-400"), ("unknown-deep-ok", "[" * 9990 + "]" * 9990), ("unknown-deep-over", "[" * 10001 + "]" * 10001)]:
        one(f"optional-{name}", P.replace('"creator":', f'"u":{val},"creator":', 1))
    for name, t in [("trailing-space", TYPE + " "), ("upper", TYPE.upper()), ("atomic", "atomic container signature"), ("empty", ""),
                    ("escaped", TYPE.replace("c", "\\u0063", 1))]:
        one(f"type-{name}", P.replace(f'"{TYPE}"', json.dumps(t).replace("\\\\u0063", "\\u0063"), 1))
    for name, lit in [("null", "null"), ("number", "5"), ("object", "{}"), ("array", "[]"), ("true", "true")]:
        one(f"type-{name}", P.replace(f'"{TYPE}"', lit, 1))
    h = D.split(":")[1]
    for name, lit in [("upper", '"sha256:' + h.upper() + '"'), ("upper-alg", '"SHA256:' + h + '"'), ("sha512-of-manifest",
                      '"' + sha(open(f"{g.out}/images/img1.manifest", "rb").read(), "sha512") + '"'), ("sha384-zeros", '"sha384:' + "0" * 96 + '"'),
                      ("md5", '"md5:' + "0" * 32 + '"'), ("other-image", '"' + g.images["img2"] + '"'), ("null", "null"), ("number", "5"),
                      ("empty", '""'), ("short", '"sha256:' + h[:-1] + '"'), ("escaped", '"sha256:' + h[:-1] + "\\u00" + hex(ord(h[-1]))[2:] + '"'),
                      ("object", "{}"), ("array", '["' + D + '"]'), ("trailing-space", '"' + D + ' "')]:
        one(f"digest-{name}", P.replace(f'"{D}"', lit, 1))
    for name, lit in [("image-null", "null"), ("image-array", "[]"), ("image-string", '"x"'), ("image-number", "1")]:
        one(name, P.replace('{"docker-manifest-digest":"%s"}' % D, lit, 1))
    for name, lit in [("identity-null", "null"), ("identity-array", "[]"), ("identity-string", '"x"')]:
        one(name, P.replace('{"docker-reference":"%s:4.99.0-x86_64"}' % R, lit, 1))
    for name, lit in [("ref-null", "null"), ("ref-number", "5"), ("ref-object", "{}"), ("ref-empty", '""')]:
        one(name, P.replace(f'"{R}:4.99.0-x86_64"', lit, 1))
    one("invalid-utf8-creator", P.encode().replace(b'"c"', b'"c\xff\xfe"'))
    one("invalid-utf8-in-key", P.encode().replace(b'"creator"', b'"creator\xff"'))
    one("invalid-utf8-keys-collide", P.encode().replace(b'"creator":', b'"u\xff":1,"u\xfe":2,"creator":', 1))
    one("invalid-utf8-keys-collide-2", P.encode().replace(b'"creator":', b'"u\xe2\x82":1,"u\xff\xff":2,"creator":', 1))
    one("invalid-utf8-in-ref", P.encode().replace(b"4.99.0", b"4.99\xff0"))
    one("nul-escape-creator", P.replace('"c"', '"c\\u0000"'))
    one("lone-surrogate-unknown", P.replace('"creator":', '"\\ud800":1,"creator":', 1))
    one("surrogate-keys-collide", P.replace('"creator":', '"\\ud800":1,"\\udfff":2,"creator":', 1))
    one("control-in-string", P.replace('"c"', '"c\x01"'))
    one("optional-first", compact({"optional": base["optional"], "critical": base["critical"]}).decode())
    one("critical-reordered", compact({"critical": {"type": TYPE, "image": base["critical"]["image"], "identity": base["critical"]["identity"]},
                                       "optional": base["optional"]}).decode())
    # Payload fuzz: random edits, then signed (so only the payload rules decide).
    alphabet = list('{}[]":,\\ \n\tnul0123456789.eE-+abcxyzABC') + ["\u0130", "\u017f", "\\u0063", "null", '"x"', "\xff"]
    for i in range(400):
        s = list(P)
        for _ in range(g.rnd.randint(1, 3)):
            pos = g.rnd.randrange(len(s) + 1)
            op = g.rnd.randrange(4)
            if op == 0:
                s.insert(pos, g.rnd.choice(alphabet))
            elif op == 1 and pos < len(s):
                del s[pos]
            elif op == 2 and pos < len(s):
                s[pos] = g.rnd.choice(alphabet)
            else:
                a = g.rnd.randrange(len(s))
                b = min(len(s), a + g.rnd.randint(1, 20))
                s[pos:pos] = s[a:b]
        text = "".join(s).encode("utf-8", "surrogatepass").replace("\xff".encode(), b"\xff")
        one(f"fuzz{i}", text)


def fam_identity(g):
    D = g.images["img1"]
    h = D.split(":")[1]
    sigrefs = [R + ":4.99.0-x86_64", R + ":other", R + "@" + D, R + "@sha256:" + "cd" * 32, R, R + ":4.99.0-x86_64@" + D,
               R + ":t@sha256:" + "cd" * 32, "quay.io/openshift-release-dev/ocp-v4.0-art-dev:x", "quay.io/openshift-release-dev/ocp-release-nightly:x",
               "mirror.example:5000/ocp/release:x", "quay.io/openshift-release-dev/OCP-release:x", "Quay.io/openshift-release-dev/ocp-release:x",
               "QUAY.IO/openshift-release-dev/ocp-release:x", "quay.io:443/openshift-release-dev/ocp-release:x", " " + R + ":x", R + ":x ",
               R + ":", R + "@", R + "@sha256:" + h[:-1], R + "@sha256:" + h.upper(), R + "@md5:" + "0" * 32, R + ":-x", R + ":" + "t" * 128,
               R + ":" + "t" * 129, R + ":t@sha512:" + "0" * 128, "quay.io/openshift-release-dev//ocp-release:x", "quay.io/openshift-release-dev/ocp-release/:x",
               "quay.io/openshift-release-dev/ocp..release:x", "quay.io/openshift-release-dev/ocp__release:x", "quay.io/openshift-release-dev/ocp---release:x",
               "quay.io/" + "a" * 250 + ":x", h, h + ":x", "", "ocp-release:x", "library/ocp-release:x", "docker.io/ocp-release:x",
               R.replace("quay.io", "quay.io.") + ":x", "https://" + R + ":x", R + ":x:y", R + "@sha256:" + h + ":x"]
    for i, sr in enumerate(sigrefs):
        pl = g.payload(ref=sr)
        g.simple("identity-digest-pull", f"i{i}-{slug(sr)}", pl=pl)
        g.simple("identity-tag-pull", f"i{i}-{slug(sr)}", pl=pl, ref=R + ":4.99.0-x86_64")
        g.simple("identity-tag-digest-pull", f"i{i}-{slug(sr)}", pl=pl, ref=R + ":4.99.0-x86_64@" + D)
    # Normalization: docker.io pulls.
    for i, (pull, sr) in enumerate([("busybox@" + D, "busybox:1"), ("docker.io/library/busybox@" + D, "busybox:1"),
                                    ("busybox@" + D, "index.docker.io/library/busybox:1"), ("busybox@" + D, "docker.io/busybox:1"),
                                    ("busybox@" + D, "library/busybox:1"), ("busybox:1", "docker.io/library/busybox:1"),
                                    ("busybox:1", "busybox:latest"), ("busybox:latest", "busybox"), ("foo/bar@" + D, "docker.io/foo/bar:x"),
                                    ("localhost/foo@" + D, "localhost/foo:x"), ("localhost:5000/foo@" + D, "localhost:5000/foo:x"),
                                    ("localhost:5000/foo@" + D, "localhost/foo:x"), ("a.b/foo@" + D, "a.b/foo:x"),
                                    ("index.docker.io/library/busybox@" + D, "busybox:x")]):
        g.simple("identity-normalize", f"n{i}-{slug(pull.split('@')[0])}-vs-{slug(sr)}", pl=g.payload(ref=sr), ref=pull)
    # remapIdentity.
    remaps = [("quay.io/openshift-release-dev", "registry.example/sig", "registry.example/sig/ocp-release:x"),
              ("quay.io/openshift-release-dev", "registry.example/sig", R + ":x"),
              ("quay.io/openshift-release", "registry.example/sig", "registry.example/sig-dev/ocp-release:x"),
              ("quay.io/openshift-release", "registry.example/sig", R + ":x"),
              (R, "registry.example/other", "registry.example/other:x"), ("quay.io", "registry.example", "registry.example/openshift-release-dev/ocp-release:x"),
              ("quay.io", "docker.io", "docker.io/openshift-release-dev/ocp-release:x"),
              ("quay.io/openshift-release-dev", "docker.io", "docker.io/library/ocp-release:x"),
              ("quay.io/openshift-release-dev", "docker.io", "docker.io/ocp-release:x"),
              ("quay.io/openshift-release-dev/ocp-release", "docker.io/library/x", "docker.io/library/x:y"),
              ("mirror.example:5000/ocp", "quay.io/openshift-release-dev", R + ":x"), ("quay.io:443", "registry.example", "registry.example/x:y"),
              ("quay.io/openshift-release-dev/", "registry.example/sig", "registry.example/sig/ocp-release:x"),
              ("openshift-release-dev", "registry.example/sig", "registry.example/sig/ocp-release:x"),
              ("quay.io/OPENSHIFT", "registry.example/sig", R + ":x"), ("quay.io/openshift-release-dev", "Registry.Example/sig", "Registry.Example/sig/ocp-release:x"),
              ("quay.io/openshift-release-dev", "registry.example/UP", R + ":x"), ("quay.io/openshift-release-dev", "registry.example/sig", "registry.example/sig/ocp-release")]
    for i, (pre, spre, sr) in enumerate(remaps):
        ident = {"type": "remapIdentity", "prefix": pre, "signedPrefix": spre}
        pl = g.payload(ref=sr)
        hint = slug(f"{pre}-to-{spre}-signed-{sr}", 90)
        g.simple("identity-remap", f"r{i}-digest-{hint}", pl=pl, identity=ident)
        g.simple("identity-remap", f"r{i}-tag-x-{hint}", pl=pl, identity=ident, ref=R + ":x")
    # The other signedIdentity rules (rule 27).
    rules = [{"type": "matchExact"}, {"type": "matchRepository"}, {"type": "matchRepoDigestOrExact"},
             {"type": "exactReference", "dockerReference": R + ":4.99.0-x86_64"}, {"type": "exactReference", "dockerReference": R + "@" + D},
             {"type": "exactReference", "dockerReference": R}, {"type": "exactReference", "dockerReference": "busybox:1"},
             {"type": "exactRepository", "dockerRepository": R}, {"type": "exactRepository", "dockerRepository": "busybox"},
             {"type": "exactRepository", "dockerRepository": R + ":tag"}, {"type": "exactRepository", "dockerRepository": "UPPER/x"}]
    for i, rule in enumerate(rules):
        for j, sr in enumerate([R + ":4.99.0-x86_64", R + "@" + D, R + ":other", R, "docker.io/library/busybox:1", "busybox"]):
            for pull in [None, R + ":4.99.0-x86_64"]:
                g.simple("identity-rules", f"{rule['type']}{i}-s{j}-{'tag' if pull else 'digest'}-pull", pl=g.payload(ref=sr), ref=pull, identity=rule)
    # Identity fuzz.
    for i in range(200):
        s = list(R + g.rnd.choice([":4.99.0-x86_64", "@" + D, ":x", ":4.99.0-x86_64@" + D]))
        for _ in range(g.rnd.randint(1, 2)):
            # Mostly near the tag or digest, sometimes anywhere.
            pos = g.rnd.randrange(len(s) + 1) if g.rnd.random() < 0.3 else g.rnd.randrange(len(R) - 12, len(s) + 1)
            ch = g.rnd.choice(list("/:@._-Aa0 +") + ["//", "..", "__", "---", "sha256:", "@sha256:" + "ab" * 32])
            if g.rnd.random() < 0.6:
                s.insert(pos, ch)
            elif pos < len(s):
                del s[pos]
        pl = g.payload(ref="".join(s))
        g.simple("identity-fuzz", f"f{i}", pl=pl, ref=g.rnd.choice([None, None, R + ":4.99.0-x86_64", R + ":x"]))
    # Name length limits: 255 characters of name (domain and path) and no more.
    for total in (254, 255, 256):
        name = "quay.io/" + "a" * (total - len("quay.io/"))
        g.simple("identity-length", f"name-{total}-digest", pl=g.payload(ref=name + ":x"), ref=f"{name}@{D}")
        g.simple("identity-length", f"name-{total}-tag", pl=g.payload(ref=name + ":x"), ref=f"{name}:x")


def fam_layers(g):
    pl = g.payload()
    good = g.layer(pl)
    bad = g.layer(pl, key="rsa2048b")
    pl2 = g.payload(ref=R)  # name-only identity: refused
    nameonly = g.layer(pl2)
    other = b'{"other":1}'
    att = {"mediaType": "application/vnd.dsse.envelope.v1+json", "digest": sha(other), "size": len(other)}
    noann = g.layer(pl, drop_ann=True)
    for name, layers, blobs in [("bad-then-good", [bad, good], [pl]), ("good-then-bad", [good, bad], [pl]), ("bad-bad", [bad, bad], [pl]),
                                ("bad-nameonly", [bad, nameonly], [pl, pl2]), ("nameonly-only", [nameonly], [pl2]), ("zero", [], []),
                                ("attestation-only", [att], [other]), ("attestation-then-good", [att, good], [pl, other]),
                                ("good-then-attestation", [good, att], [pl, other]), ("noann-only", [noann], [pl]),
                                ("noann-then-good", [noann, good], [pl]), ("noann-then-bad", [noann, bad], [pl]),
                                ("empty-ann", [dict(good, annotations={ANN: ""})], [pl]), ("ann-null-map", [dict(good, annotations=None)], [pl]),
                                ("three-mixed", [att, bad, good], [pl, other]), ("same-good-twice", [good, good], [pl]),
                                ("mt-params", [dict(good, mediaType=SIMPLE + "; charset=utf-8")], [pl]), ("mt-upper", [dict(good, mediaType=SIMPLE.upper())], [pl]),
                                ("mt-space", [dict(good, mediaType=SIMPLE + " ")], [pl]), ("mt-empty", [dict(good, mediaType="")], [pl]),
                                ("mt-missing", [{k: v for k, v in good.items() if k != "mediaType"}], [pl]),
                                ("mt-other-then-good", [dict(good, mediaType="x"), good], [pl]), ("ten-bad-then-good", [bad] * 10 + [good], [pl]),
                                ("digest-mismatch-then-good", [g.layer(g.payload(img="img2")), good], [pl, g.payload(img="img2")])]:
        g.case("layers", name, g.manifest(layers), blobs)
    g.case("layers", "no-sig-tag", None, [pl])
    g.case("layers", "no-sig-tag-garbage-key", None, [pl], keys=["garbage"])
    g.simple("layers", "digest-mismatch-img2", pl=g.payload(img="img2"))
    g.simple("layers", "digest-other-image-pull-img2", pl=g.payload(img="img1"), img="img2")
    g.simple("layers", "img2-good", pl=g.payload(img="img2"), img="img2")


def fam_manifest_fuzz(g):
    pl = g.payload()
    base = g.manifest([g.layer(pl)]).decode()
    alphabet = list('{}[]":,\\ \n\tnul0123456789.eE-+') + ["S", "L", "\u017f", "\u212a", '"layers"', '"mediaType"', "null", "[]", "{}"]
    for i in range(400):
        s = list(base)
        for _ in range(g.rnd.randint(1, 3)):
            pos = g.rnd.randrange(len(s) + 1)
            op = g.rnd.randrange(5)
            if op == 0:
                s.insert(pos, g.rnd.choice(alphabet))
            elif op == 1 and pos < len(s):
                del s[pos]
            elif op == 2 and pos < len(s):
                s[pos] = s[pos].swapcase()
            elif op == 3 and pos < len(s):
                s[pos] = g.rnd.choice(alphabet)
            else:
                a = g.rnd.randrange(len(s))
                b = min(len(s), a + g.rnd.randint(1, 40))
                s[pos:pos] = s[a:b]
        g.case("manifest-fuzz", f"f{i}", "".join(s).encode(), [pl])


def fam_pem_fuzz(g):
    pl = g.payload()
    pem0 = open(f"{g.out}/keys/p256.pub", "rb").read()
    for i in range(120):
        s = bytearray(pem0)
        for _ in range(g.rnd.randint(1, 2)):
            pos = g.rnd.randrange(len(s) + 1)
            ch = g.rnd.choice([b"\n", b"\r", b" ", b"\t", b"-", b"=", b"A", b":", b"x", b"-----", b"\n\n", b"/", b"+"])
            if g.rnd.random() < 0.6:
                s[pos:pos] = ch
            elif pos < len(s):
                del s[pos]
        name = f"p256-fuzz{i}"
        g.add_key(name, bytes(s), **g.keys["p256"])
        g.simple("pem-fuzz", f"f{i}", pl=pl, key="p256", keys=[name])


def fam_numbers(g):
    D = g.images["img1"]
    P = compact({"critical": {"identity": {"docker-reference": R + ":4.99.0-x86_64"}, "image": {"docker-manifest-digest": D}, "type": TYPE},
                 "optional": {"creator": "c", "timestamp": 1795945253}}).decode()
    lits = ["1e308", "1.7976931348623158e308", "1.7976931348623159e308", "17976931348623157" + "0" * 292, "17976931348623159" + "0" * 292,
            "1e99999999999999999999", "1e-99999999999999999999", "0." + "0" * 400 + "1e400", "1" + "0" * 400 + "e-400",
            "-1e309", "2.2250738585072011e-308", "9007199254740993", "-9223372036854775807.5", "9.2233720368547758e18",
            "-9.2233720368547758e18", "9223372036854775807.0", "0e999999", "1e-324", "-1e-324"]
    for i, lit in enumerate(lits):
        g.simple("numbers", f"ts{i}", pl=P.replace("1795945253", lit).encode())
        g.simple("numbers", f"unknown{i}", pl=P.replace('"creator":', f'"u":{lit},"creator":', 1).encode())
        pl = g.payload()
        lay = g.layer(pl)
        base = g.manifest([lay]).decode()
        g.case("numbers", f"manifest-top{i}", (base[:-1] + f',"x":{lit}}}').encode(), [pl])
        g.case("numbers", f"manifest-config{i}", base.replace('"config":{', f'"config":{{"x":{lit},', 1).encode(), [pl])
        g.case("numbers", f"manifest-size{i}", base.replace('"size":%d' % len(pl), f'"size":{lit}', 1).encode(), [pl])


FAMILIES = [fam_content_type, fam_manifest, fam_sizes, fam_digests, fam_base64, fam_rsa, fam_keys, fam_ecdsa, fam_ed25519,
            fam_payload, fam_identity, fam_layers, fam_manifest_fuzz, fam_pem_fuzz, fam_numbers]


# ----------------------------------------------------------------------------- the oracle

def classify(accept, msg):
    """The oracle's message as one of the Rust verdict names."""
    if accept:
        return "valid"
    for prefix, cls in [("requirement:", "bad-policy"), ("image ref:", "bad-input"), ("reading manifest body: exceeded", "too-large"),
                        ("unexpected MIME type", "wrong-media-type"), ("parsing manifest", "bad-manifest"),
                        ("invalid digest", "invalid-digest"), ("fetching blob", "fetch-failed"), ("reading blob", "too-large"),
                        ("digest mismatch", "blob-digest-mismatch"), ("A signature was required", "no-signature"),
                        ("None of the signatures were accepted", "none-accepted"), ("parsing public key", "bad-key"),
                        ("missing dev.cosignproject.cosign/signature", "missing-annotation"), ("base64 decoding", "bad-encoding"),
                        ("unsupported public key type", "unsupported-key"), ("cryptographic signature verification failed", "bad-signature"),
                        ("Signature for digest", "digest-mismatch"), ("Signature for identity", "identity-mismatch"),
                        ("Manifest does not match", "reference-digest-mismatch"), ("Internal", "internal")]:
        if msg.startswith(prefix):
            return cls
    return "bad-payload"


def run_oracle(oracle, cdir):
    c = json.load(open(f"{cdir}/case.json"))
    req = {"type": "sigstoreSigned", "keyPaths": [os.path.abspath(os.path.join(cdir, k)) for k in c["keys"]]}
    if c.get("identity"):
        req["signedIdentity"] = c["identity"]
    args = [oracle, "-requirement", json.dumps(req), "-ref", c["reference"], "-manifest", os.path.join(cdir, c["image_manifest"]),
            "-content-type", c["content_type"]]
    if c.get("sig_manifest"):
        args += ["-sig-manifest", os.path.join(cdir, c["sig_manifest"])]
    for b in c["blobs"]:
        args += ["-blob", os.path.join(cdir, b)]
    r = subprocess.run(args, capture_output=True)
    out = r.stdout.decode("utf-8", "replace").strip()
    if r.returncode not in (0, 1):
        accept, msg = False, "USAGE: " + r.stderr.decode("utf-8", "replace").strip()
        cls = "oracle-error"
    else:
        accept = r.returncode == 0
        msg = out.split(": ", 1)[1] if ": " in out and not accept else out
        cls = classify(accept, msg)
    c["oracle"] = {"accept": accept, "class": cls, "message": msg[:2000]}
    json.dump(c, open(f"{cdir}/case.json", "w"), indent=1)
    return cls


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--oracle", default="/work/skopeo-oracle/bin/sigstore-verify")
    ap.add_argument("--seed", type=int, default=20260529)
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args()
    if os.path.exists(a.out):
        shutil.rmtree(a.out)
    g = Gen(a.out, a.seed)
    g.make_keys()
    for f in FAMILIES:
        before = len(g.cases)
        f(g)
        print(f"{f.__name__:20} {len(g.cases) - before:5} cases", file=sys.stderr)
    print(f"total {len(g.cases)} cases; asking the oracle", file=sys.stderr)
    with concurrent.futures.ThreadPoolExecutor(a.jobs) as ex:
        list(ex.map(lambda c: run_oracle(a.oracle, c), g.cases))
    print("done", file=sys.stderr)


if __name__ == "__main__":
    main()
