"""The second campaign's variant classes (mixed into gen.py's Campaign).

random          seeded random mutations of valid messages of every style (byte/bit flips by region,
                truncations, insertions, deletions, duplicated/swapped/removed packets, bytes
                appended/prepended), on the outer bytes or on the packets inside the compressed
                packet (recompressed afterwards); real Red Hat signatures mutated the same way
indeterminate   old-format indeterminate-length packets of every type at every position and nesting
                level; the 4 KiB bufio read-ahead of an indeterminate signature/public key packet;
                compressed packets with bytes after their stream (definite, partial, indeterminate);
                compressed-in-compressed; empty packets whose parse ends in a clean EOF
deflate-shapes  hand-built deflate (deflate.py): block sequences, empty stored blocks, garbage after
                the final block, incomplete/over-subscribed codes, distances beyond the history,
                length codes 286/287, the 32 KiB window wrapping, zlib FDICT and Adler-32 variants
bzip2-shapes    hand-built bzip2 (bzip2enc.py) and libbzip2 streams: truncated packets, read errors
                under the bzip2 stream, concatenated streams and block boundaries under an
                indeterminate packet, indeterminate compressed packets inside bzip2, randomised
                blocks, incomplete Huffman codes (Go's tree vs canonical codes), RLE1 corner cases,
                selectors/tables/origPtr/CRC variants
encrypted       PKESK/SKESK/SE/SEIPD packets in front of (and inside) messages, keyrings holding
                secret keys (in the clear and passphrase-protected), gpg-encrypted signed messages
json-deep       every field name in every case-fold form, escapes and surrogates, timestamp number
                forms, nesting depth at 10,000, long strings, null and duplicates, whitespace
keyring-deep    several user ids whose self-signatures disagree (judged 5 times: Go picks from a
                map), subkey binding orders, MPIs with leading zeros, odd RSA/DSA/ECDSA keys, secret
                keys Go 1.25's rsa.Validate refuses, armour base64 quirks
"""

from __future__ import annotations

import base64
import bz2
import json
import math
import os
import random
import struct
import subprocess
import zlib

from pgp import *  # noqa: F401,F403
import bzip2enc
import deflate as dfl

NOW_T = 1700000000
KEY_T = 1600000000

TAGNAME = {1: "pkesk", 2: "sig", 3: "skesk", 4: "ops", 5: "seckey", 6: "pubkey", 7: "secsub", 8: "comp",
           9: "sed", 10: "marker", 11: "lit", 12: "trust", 13: "uid", 14: "pubsub", 17: "uat", 18: "seipd",
           19: "mdc"}


# ------------------------------------------------------------------------------------------
# labelled packet bytes (for mutations aimed at a region)


def _body_labels(tag: int, body: bytes) -> list[str]:
    n = len(body)
    name = TAGNAME.get(tag, f"t{tag}")
    lab = [f"{name}-body"] * n
    try:
        if tag == 2 and n and body[0] == 4:
            hl = struct.unpack(">H", body[4:6])[0]
            ul = struct.unpack(">H", body[6 + hl:8 + hl])[0]
            p = 0
            for label, ln in (("sig-head", 6), ("sig-hashed", hl), ("sig-unhashed-len", 2), ("sig-unhashed", ul),
                              ("sig-hashtag", 2), ("sig-mpi-len", 2)):
                for k in range(p, min(n, p + ln)):
                    lab[k] = label
                p += ln
            for k in range(p, n):
                lab[k] = "sig-mpi"
            if p + 2 < n:
                lab[p] = "sig-mpi-first"
                lab[n - 1] = "sig-mpi-last"
        elif tag == 2 and n:
            for k in range(min(n, 19)):
                lab[k] = "sig3-head"
            for k in range(19, n):
                lab[k] = "sig-mpi"
        elif tag == 4:
            names = ["ops-ver", "ops-type", "ops-hash", "ops-algo"] + ["ops-keyid"] * 8 + ["ops-last"]
            for k in range(n):
                lab[k] = names[k] if k < 13 else "ops-extra"
        elif tag == 11 and n >= 2:
            fl = body[1]
            for k in range(n):
                if k == 0:
                    lab[k] = "lit-fmt"
                elif k == 1:
                    lab[k] = "lit-namelen"
                elif k < 2 + fl:
                    lab[k] = "lit-name"
                elif k < 6 + fl:
                    lab[k] = "lit-date"
                elif k < 6 + fl + 24:
                    lab[k] = "lit-payload-head"
                elif k >= n - 8:
                    lab[k] = "lit-payload-tail"
                else:
                    lab[k] = "lit-payload"
        elif tag == 8 and n:
            lab[0] = "comp-algo"
            for k in range(1, n):
                lab[k] = "comp-stream-head" if k < 13 else "comp-stream-tail" if k >= n - 12 else "comp-stream"
    except Exception:
        pass
    return lab


def label_packets(data: bytes) -> tuple[list[str], list[tuple[int, int, int]]]:
    """Per-byte region labels of a packet sequence, and the packets (tag, start, end)."""
    lab = ["junk"] * len(data)
    pk = []
    i = 0
    n = len(data)
    while i < n:
        b = data[i]
        if not b & 0x80:
            break
        start = i
        body_pos: list[int] = []
        hdr: list[int] = [i]
        partlen: list[int] = []
        try:
            if b & 0x40:
                tag = b & 0x3F
                j = i + 1
                while True:
                    o = data[j]
                    if o < 192:
                        ln, hl = o, 1
                    elif o < 224:
                        ln, hl = ((o - 192) << 8) + data[j + 1] + 192, 2
                    elif o == 255:
                        ln, hl = struct.unpack(">I", data[j + 1:j + 5])[0], 5
                    else:
                        ln, hl = 1 << (o & 0x1F), 1
                    (hdr if not body_pos and not partlen and j == i + 1 else partlen).extend(range(j, j + hl))
                    j += hl
                    body_pos.extend(range(j, min(n, j + ln)))
                    j += ln
                    if not (224 <= o < 255) or j >= n:
                        break
                end = min(j, n)
            else:
                tag = (b >> 2) & 0xF
                lt = b & 3
                if lt == 3:
                    body_pos = list(range(i + 1, n))
                    end = n
                else:
                    nb = 1 << lt
                    hdr.extend(range(i + 1, i + 1 + nb))
                    ln = int.from_bytes(data[i + 1:i + 1 + nb], "big")
                    body_pos = list(range(i + 1 + nb, min(n, i + 1 + nb + ln)))
                    end = min(n, i + 1 + nb + ln)
        except (IndexError, struct.error):
            break
        name = TAGNAME.get(tag, f"t{tag}")
        for k in hdr:
            if k < n:
                lab[k] = f"{name}-hdr"
        for k in partlen:
            if k < n:
                lab[k] = f"{name}-partlen"
        body = bytes(data[k] for k in body_pos)
        bl = _body_labels(tag, body)
        for k, l in zip(body_pos, bl):
            lab[k] = l
        pk.append((tag, start, end))
        if end <= i:
            break
        i = end
    return lab, pk


def _decompress(algo: int, stream: bytes) -> bytes | None:
    try:
        if algo == 1:
            return zlib.decompressobj(-15).decompress(stream)
        if algo == 2:
            return zlib.decompressobj().decompress(stream)
        if algo == 3:
            return bz2.BZ2Decompressor().decompress(stream)
    except Exception:
        return None
    return None


class Mutator:
    """Random mutations of bytes, aimed at labelled regions."""

    OPS = ["flip-byte", "flip-bit", "set-special", "add-one", "truncate", "insert", "delete", "dup-packet",
           "swap-packets", "drop-packet", "dup-range", "append", "prepend", "replace-range"]

    def __init__(self, rng: random.Random):
        self.rng = rng

    def pick_pos(self, lab: list[str]) -> tuple[str, int]:
        regions = sorted(set(lab))
        r = self.rng.choice(regions)
        pos = [k for k, l in enumerate(lab) if l == r]
        return r, self.rng.choice(pos)

    def mutate(self, data: bytes, op: str | None = None) -> tuple[bytes, str]:
        rng = self.rng
        if not data:
            return bytes([rng.randrange(256)]), "empty->1 byte"
        lab, pk = label_packets(data)
        op = op or rng.choice(self.OPS)
        b = bytearray(data)
        if op in ("dup-packet", "swap-packets", "drop-packet") and len(pk) < (2 if op == "swap-packets" else 1):
            op = "flip-byte"
        if op == "flip-byte":
            r, p = self.pick_pos(lab)
            x = rng.randrange(1, 256)
            b[p] ^= x
            return bytes(b), f"xor {x:#04x} at {r}@{p}"
        if op == "flip-bit":
            r, p = self.pick_pos(lab)
            bit = rng.randrange(8)
            b[p] ^= 1 << bit
            return bytes(b), f"flip bit {bit} at {r}@{p}"
        if op == "set-special":
            r, p = self.pick_pos(lab)
            v = rng.choice([0x00, 0xFF, 0x80, 0x7F, 0x01, 0xC0, 0xE0, 0xFE])
            b[p] = v
            return bytes(b), f"set {v:#04x} at {r}@{p}"
        if op == "add-one":
            r, p = self.pick_pos(lab)
            d = rng.choice([1, -1, 2, -2, 0x10, -0x10])
            b[p] = (b[p] + d) & 0xFF
            return bytes(b), f"add {d} at {r}@{p}"
        if op == "truncate":
            r, p = self.pick_pos(lab)
            if rng.random() < 0.3:
                p = len(b) - rng.randint(1, min(16, len(b)))
                r = "end"
            return bytes(b[:p]), f"truncate at {r}@{p} (of {len(b)})"
        if op == "insert":
            r, p = self.pick_pos(lab)
            k = rng.randint(1, 8)
            ins = rng.choice([bytes(rng.randrange(256) for _ in range(k)), bytes([b[p]]) * k, b"\0" * k, b"\xff" * k])
            return bytes(b[:p] + ins + b[p:]), f"insert {ins.hex()} at {r}@{p}"
        if op == "delete":
            r, p = self.pick_pos(lab)
            k = rng.randint(1, 8)
            return bytes(b[:p] + b[p + k:]), f"delete {k} at {r}@{p}"
        if op == "dup-packet":
            t, s, e = rng.choice(pk)
            at = rng.choice([s, e, 0, len(b)] + [x[1] for x in pk])
            return bytes(b[:at] + b[s:e] + b[at:]), f"duplicate packet {TAGNAME.get(t, t)}[{s}:{e}] to {at}"
        if op == "swap-packets":
            i, j = sorted(rng.sample(range(len(pk)), 2))
            (ti, si, ei), (tj, sj, ej) = pk[i], pk[j]
            out = b[:si] + b[sj:ej] + b[ei:sj] + b[si:ei] + b[ej:]
            return bytes(out), f"swap packets {TAGNAME.get(ti, ti)} and {TAGNAME.get(tj, tj)}"
        if op == "drop-packet":
            t, s, e = rng.choice(pk)
            return bytes(b[:s] + b[e:]), f"drop packet {TAGNAME.get(t, t)}[{s}:{e}]"
        if op == "dup-range":
            s = rng.randrange(len(b))
            e = min(len(b), s + rng.randint(1, 64))
            at = rng.randrange(len(b) + 1)
            return bytes(b[:at] + b[s:e] + b[at:]), f"duplicate bytes [{s}:{e}] to {at}"
        if op == "replace-range":
            r, p = self.pick_pos(lab)
            k = rng.randint(1, 8)
            rep = bytes(rng.randrange(256) for _ in range(k))
            return bytes(b[:p] + rep + b[p + k:]), f"overwrite {k} at {r}@{p}"
        if op == "append":
            k = rng.randint(1, 64)
            ext = rng.choice([bytes(rng.randrange(256) for _ in range(k)), b"\0" * k, pkt(TAG_MARKER, b"PGP"),
                              bytes([0xA3]) + bytes(rng.randrange(256) for _ in range(k))])
            return bytes(b + ext), f"append {ext[:16].hex()}.. ({len(ext)})"
        if op == "prepend":
            k = rng.randint(1, 64)
            ext = rng.choice([bytes(rng.randrange(256) for _ in range(k)), pkt(TAG_MARKER, b"PGP"),
                              pkt(60, bytes(k)), b"\0" * k])
            return bytes(ext + b), f"prepend {ext[:16].hex()}.. ({len(ext)})"
        raise ValueError(op)


def recompress_like(orig: bytes, inner: bytes, rng: random.Random | None = None) -> bytes | None:
    """Re-frame `inner` the way the first (compressed) packet of `orig` was framed."""
    if not orig or not orig[0] & 0x80:
        return None
    b = orig[0]
    if b & 0x40:
        tag = b & 0x3F
    else:
        tag = (b >> 2) & 0xF
    if tag != 8:
        return None
    lab, pk = label_packets(orig)
    t, s, e = pk[0]
    body_idx = [k for k in range(s, e) if lab[k].startswith("comp-")]
    if not body_idx:
        return None
    algo = orig[body_idx[0]]
    stream = {1: lambda d: deflate_raw(d), 2: lambda d: deflate_raw(d, wbits=15), 3: lambda d: bz2.compress(d, 9)}.get(algo)
    if stream is None:
        return None
    body = bytes([algo]) + stream(inner)
    if b & 0x40:
        hdr_fr = {"fmt": "new"}
        if len(orig) > 1 and 224 <= orig[1] < 255:
            hdr_fr = {"fmt": "partial"}
        packet = pkt(8, body, "partial") if hdr_fr["fmt"] == "partial" else pkt(8, body)
    else:
        lt = b & 3
        packet = pkt(8, body, "old-indet") if lt == 3 else pkt(8, body, "old")
    return packet + orig[e:]


# ------------------------------------------------------------------------------------------


def rsa_with_e(rng, bits, e, created):
    while True:
        p = gen_prime(rng, bits // 2)
        q = gen_prime(rng, bits - bits // 2)
        phi = (p - 1) * (q - 1)
        if p != q and (p * q).bit_length() == bits and math.gcd(e, phi) == 1:
            break
    if p > q:
        p, q = q, p
    d = pow(e, -1, phi) if e > 1 else 1
    return Key("rsa", created, ALG_RSA, n=p * q, e=e, p=p, q=q, d=d, bits=bits)


def rsa_close_primes(rng, bits, created, e=65537):
    """p and q closer than 2^(bits/2 - 100): Go 1.25's rsa.Validate refuses the secret key."""
    while True:
        p = gen_prime(rng, bits // 2, e)
        q = p + 2
        while not is_probable_prime(q, rng) or (q - 1) % e == 0:
            q += 2
        if (p * q).bit_length() == bits:
            break
    d = pow(e, -1, (p - 1) * (q - 1))
    return Key("rsa", created, ALG_RSA, n=p * q, e=e, p=p, q=q, d=d, bits=bits)


def rsa_square(rng, bits, created, e=65537):
    """n = p^2 (p == q): signs and verifies (d = e^-1 mod p(p-1)); Go's Validate refuses it."""
    while True:
        p = gen_prime(rng, bits // 2, e)
        if (p * p).bit_length() == bits and math.gcd(e, p * (p - 1)) == 1:
            break
    d = pow(e, -1, p * (p - 1))
    return RawRsaKey("rsa", created, ALG_RSA, n=p * p, e=e, p=p, q=p, d=d, bits=bits)


class RawRsaKey(Key):
    """An RSA key that signs with plain modular arithmetic (n = p^2 and other odd keys)."""

    def sign_digest(self, hid, dg, prefix_hid=None, rng=None):
        return rsa_sign_raw(self, prefix_hid or hid, dg)


class CustomKey(Key):
    """A Key whose public-key material is written as given (MPIs with leading zeros, odd bit
    counts, compressed EC points ...); signatures are still made with the real secret."""

    def __init__(self, base: Key, material: bytes, algo=None):
        self.__dict__.update(base.__dict__)
        self._material = material
        if algo is not None:
            self.algo = algo

    def material(self, mode="canon") -> bytes:
        return self._material

    def sign_digest(self, hid, dg, prefix_hid=None, rng=None):
        if self.kind == "rsa" and self.d == 1:
            # e = 1: the "signature" is the encoded message itself
            k = (self.n.bit_length() + 7) // 8
            t = DIGESTINFO[hid] + dg
            return [(b"\x00\x01" + b"\xff" * (k - len(t) - 3) + b"\x00" + t)]
        return Key.sign_digest(self, hid, dg, prefix_hid, rng)


def secret_body_any(k: Key) -> bytes:
    """Unprotected RSA secret key body even when p^-1 mod q does not exist (u written as 1)."""
    try:
        u = pow(k.p, -1, k.q)
    except ValueError:
        u = 1
    sm = mpi(k.d) + mpi(k.p) + mpi(k.q) + mpi(u)
    return k.body() + b"\x00" + sm + struct.pack(">H", sum(sm) & 0xFFFF)


def rsa_sign_raw(key: Key, hid: int, dg: bytes) -> list:
    """RSA PKCS#1 v1.5 with plain modular arithmetic (keys the cryptography package refuses)."""
    k = (key.n.bit_length() + 7) // 8
    t = DIGESTINFO[hid] + dg
    em = b"\x00\x01" + b"\xff" * (k - len(t) - 3) + b"\x00" + t
    s = pow(int.from_bytes(em, "big"), key.d, key.n)
    return [s.to_bytes(k, "big")]


def locked_secret_body(key: Key, rng: random.Random, cipher=9, usage=254, s2k=b"\x03\x08", extra=None) -> bytes:
    """A passphrase-protected v4 secret key body (the encrypted part is random bytes: Go never
    decrypts it while reading a keyring)."""
    if extra is None:
        extra = rng.randbytes(8) + b"\x60" if s2k[:1] == b"\x03" else rng.randbytes(8) if s2k[:1] == b"\x01" else b""
    block = 16 if cipher in (7, 8, 9) else 8
    return key.body() + bytes([usage, cipher]) + s2k + extra + rng.randbytes(block) + rng.randbytes(600)


class DeepClasses:
    """Mixin: the second campaign's classes (see the module docstring)."""

    # -------------------------------------------------------------------------- helpers
    def sparts(self, d, key=None, style="goc", payload=None, **kw):
        pl = payload if payload is not None else self.payload(d, fmt=self.rng.choice(["compact", "indent", "redhat"]))
        return self.parts(pl, key or self.K["A"], style, **kw)

    def framed(self, o, l, s, style="goc"):
        """(ops, literal, signature) packets framed the way the style frames them."""
        if style in ("go", "goc"):
            return pkt(TAG_OPS, o), pkt(TAG_LIT, l, "partial"), pkt(TAG_SIG, s)
        return pkt(TAG_OPS, o, "old"), pkt(TAG_LIT, l, "old"), pkt(TAG_SIG, s, "old")

    def comp_packet(self, algo: int, inner: bytes, fmt="new", stream: bytes | None = None, trailing=b"") -> bytes:
        if stream is None:
            stream = {1: lambda: deflate_raw(inner), 2: lambda: deflate_raw(inner, wbits=15),
                      3: lambda: bz2.compress(inner, 9)}[algo]() if algo in (1, 2, 3) else inner
        body = bytes([algo]) + stream + trailing
        return pkt(8, body, fmt)

    def real_sigs(self):
        rh = os.path.join(self.vectors, "stores")
        out = []
        for sub in ("redhat", "redhat-more", "redhat-v3", "openshift-ci"):
            for dd in sorted(os.listdir(os.path.join(rh, sub))):
                data = open(os.path.join(rh, sub, dd, "signature-1"), "rb").read()
                out.append((dd.replace("=", ":"), data, f"{sub}/{dd[:19]}"))
        return out

    def redhat_keyring(self) -> str:
        p = os.path.join(self.out, "keys", "redhat-and-ci.asc")
        if not os.path.exists(p):
            kr = b""
            for f in ("redhat-release-key-2.asc", "redhat-beta-key-2.asc", "openshift-ci-2019.asc"):
                kr += dearmor(open(os.path.join(self.vectors, "keys", f), "rb").read())
            self.write_key("redhat-and-ci.asc", armor(kr))
        return os.path.join("keys", "redhat-and-ci.asc")

    # ========================================================================== random
    def base_message(self, d, style):
        """(bytes, inner bytes or None, description) of a correctly signed message."""
        A = self.K["A"]
        if style in ("go", "goc"):
            o, l, s = self.sparts(d, A, style)
            return b"".join(self.framed(o, l, s, style)), None, f"{style}-style"
        if style.startswith("gpg-crafted"):
            algo = {"gpg-crafted": 1, "gpg-crafted-zlib": 2, "gpg-crafted-bzip2": 3}[style]
            o, l, s = self.sparts(d, A, "gpg")
            inner = b"".join(self.framed(o, l, s, "gpg"))
            fmt = self.rng.choice(["old-indet", "old-indet", "new", "old"])
            return self.comp_packet(algo, inner, fmt), inner, f"{style} ({fmt} compressed)"
        if style == "gpg-made":
            pl = self.payload(d, fmt=self.rng.choice(["compact", "redhat"]))
            ca = self.rng.choice(["zip", "zlib", "bzip2", "none"])
            data = self.gpg.sign(A, pl, ["--compress-algo", ca, "--digest-algo", self.rng.choice(["SHA256", "SHA512"])])
            if data is None:
                return self.base_message(d, "goc")
            inner = None
            if data[0] & 0x80:
                lab, pk = label_packets(data)
                if pk and pk[0][0] == 8:
                    body_idx = [k for k in range(pk[0][1], pk[0][2]) if lab[k].startswith("comp-")]
                    inner = _decompress(data[body_idx[0]], bytes(data[k] for k in body_idx[1:]))
            return data, inner, f"gpg-made (--compress-algo {ca})"
        raise ValueError(style)

    def cls_random(self):
        cls = "random"
        g = self.mgroup(cls)
        mut = Mutator(self.rng)
        styles = ["go", "goc", "gpg-crafted", "gpg-crafted-zlib", "gpg-crafted-bzip2", "gpg-made"]
        weights = [18, 22, 24, 12, 12, 12]
        target = self.n(8200)
        while self.count[cls] < target:
            d = self.digest()
            st = self.rng.choices(styles, weights)[0]
            data, inner, desc = self.base_message(d, st)
            nmut = self.rng.choices([1, 2, 3], [70, 22, 8])[0]
            where = "outer"
            if inner is not None and self.rng.random() < 0.45:
                where = "inner"
                notes = []
                for _ in range(nmut):
                    inner, note = mut.mutate(inner)
                    notes.append(note)
                out = recompress_like(data, inner)
                if out is None:
                    continue
                data = out
            else:
                notes = []
                for _ in range(nmut):
                    data, note = mut.mutate(data)
                    notes.append(note)
            self.add(cls, g, f"{desc}: {where}: " + "; ".join(notes), d, data)
        # real Red Hat / OpenShift CI signatures, mutated the same way (one group per round: each
        # real signature can appear once in a store)
        path = self.redhat_keyring()
        sigs = self.real_sigs()
        rounds = self.n(110)
        for r in range(rounds):
            gg = self.group(f"rnd-rh-{r:03d}", [("verifier-public-key-redhat", path)])
            for dg, data, label in sigs:
                nmut = self.rng.choices([1, 2], [80, 20])[0]
                notes = []
                where = "outer"
                inner = None
                lab, pk = label_packets(data)
                if pk and pk[0][0] == 8 and self.rng.random() < 0.45:
                    body_idx = [k for k in range(pk[0][1], pk[0][2]) if lab[k].startswith("comp-")]
                    inner = _decompress(data[body_idx[0]], bytes(data[k] for k in body_idx[1:]))
                if inner is not None:
                    where = "inner"
                    for _ in range(nmut):
                        inner, note = mut.mutate(inner)
                        notes.append(note)
                    out = recompress_like(data, inner) or data
                else:
                    out = data
                    for _ in range(nmut):
                        out, note = mut.mutate(out)
                        notes.append(note)
                self.add(cls, gg, f"real {label}: {where}: " + "; ".join(notes), dg, out)

    # ========================================================================== indeterminate
    def natural_bodies(self, o, l, s, pl):
        """(name, tag, body) of packets of every type, as they would appear in a message."""
        A, U, S1 = self.K["A"], self.K["U"], self.K["S1"]
        _, _, sU = self.parts(pl, U, "goc")
        return [
            ("sig", TAG_SIG, s), ("sig-untrusted", TAG_SIG, sU), ("ops", TAG_OPS, o),
            ("ops-untrusted", TAG_OPS, ops_body(0, H_SHA256, ALG_RSA, U.keyid)), ("lit", TAG_LIT, l),
            ("comp1", 8, b"\x01" + deflate_raw(pkt(TAG_MARKER, b"PGP"))),
            ("comp2", 8, b"\x02" + deflate_raw(pkt(TAG_MARKER, b"PGP"), wbits=15)),
            ("comp3", 8, b"\x03" + bz2.compress(pkt(TAG_MARKER, b"PGP"))),
            ("marker", TAG_MARKER, b"PGP"), ("uid", TAG_UID, b"Someone <someone@example.com>"),
            ("pubkey", TAG_PUBKEY, A.body()), ("pubsub", TAG_PUBSUB, S1.body()), ("trust", TAG_TRUST, b"\x00\x3c"),
            ("tag0", 0, b"\x01\x02"), ("tag15", 15, b"hello"),
            ("pkesk-unknown-key", TAG_PKESK, b"\x03" + U.keyid + b"\x01" + mpi(self.rng.getrandbits(2040))),
            ("skesk", TAG_SKESK, b"\x04\x09\x03\x08" + self.rng.randbytes(8) + b"\x60"),
            ("sed", TAG_SED, self.rng.randbytes(40)),
        ]

    def cls_indeterminate(self):
        cls = "indeterminate"
        g = self.mgroup(cls)
        A = self.K["A"]
        rng = self.rng

        def indet(tag, body):
            return bytes([0x80 | (tag << 2) | 3]) + body

        def cont(algo, inner, fmt):
            return self.comp_packet(algo, inner, fmt)

        fmts = ["new", "old", "partial", "old-indet"]
        # A: one indeterminate packet of each type at each position and level
        for rep in range(self.n(3)):
            st = ("goc", "go", "gpg")[rep % 3]
            nat_names = None
            for ki in range(18):
                for pos in range(4):
                    for level in ("top", "in-1", "in-2", "in-3", "outer-before", "outer-after"):
                        d = self.digest()
                        pl = self.payload(d, fmt=rng.choice(["compact", "indent"]))
                        o, l, s = self.parts(pl, A, st)
                        nat = self.natural_bodies(o, l, s, pl)
                        name, tag, body = nat[ki]
                        O, L, S = self.framed(o, l, s, st)
                        seq = [O, L, S]
                        if level == "top" or level.startswith("in-"):
                            ins = indet(tag, body)
                            msg = b"".join(seq[:pos]) + ins + b"".join(seq[pos:])
                            if level == "top":
                                data, where = msg, "top level"
                            else:
                                algo = int(level[3])
                                f = rng.choice(fmts)
                                data, where = cont(algo, msg, f), f"inside C{algo} ({f})"
                        else:
                            algo = rng.choice([1, 2, 3])
                            f = rng.choice(fmts)
                            c = cont(algo, b"".join(seq), f)
                            ins = indet(tag, body)
                            if level == "outer-before":
                                data, where = ins + c, f"before C{algo} ({f}) at the outer level"
                            else:
                                data, where = c + ins, f"after C{algo} ({f}) at the outer level"
                            if pos != 0:
                                # split the message: packets before `pos` stay outside, in front
                                c = cont(algo, b"".join(seq[pos:]), f)
                                pre = b"".join(seq[:pos])
                                data = pre + ins + c if level == "outer-before" else pre + c + ins
                                where += f", message split after packet {pos}"
                        self.add(cls, g, f"indeterminate {name} at position {pos} {where} ({st}-style)", d, data)
        # B: an indeterminate signature / public key packet before the literal: Go peeks its version
        # through a 4 KiB bufio.Reader over the stream, which reads ahead and loses what it read
        for rep in range(self.n(2)):
            for kind in ("sig", "sig-untrusted", "pubkey", "pubsub"):
                for level in ("top", "C1", "C2", "C3", "C1-syncflush-after-body", "C1-syncflush-after-filler",
                              "C1-indet", "C2-partial"):
                    for delta in (-3, -2, -1, 0, 1, 2, 5, None):
                        d = self.digest()
                        st = rng.choice(["goc", "gpg"])
                        pl = self.payload(d)
                        o, l, s = self.parts(pl, A, st)
                        nat = {n: (t, b) for n, t, b in self.natural_bodies(o, l, s, pl)}
                        tag, body = nat[kind]
                        O, L, S = self.framed(o, l, s, st)
                        filler_kind = rng.choice(["zeros", "random", "markers"])
                        if delta is None:
                            fill = b""
                        else:
                            nfill = 4096 + delta - len(body)
                            if filler_kind == "zeros":
                                fill = b"\0" * nfill
                            elif filler_kind == "random":
                                fill = rng.randbytes(nfill)
                            else:
                                fill = (pkt(TAG_MARKER, b"PGP", "old") * (nfill // 5 + 1))[:nfill]
                        head = O + indet(tag, body)
                        tail = fill + L + S
                        desc = f"indeterminate {kind} before the literal, filler {filler_kind} so that the literal starts at " \
                               f"{'no filler' if delta is None else f'4096{delta:+d}'} after the body start"
                        if level == "top":
                            data = head + tail
                        elif level in ("C1", "C2", "C3"):
                            data = cont(int(level[1]), head + tail, "new")
                        elif level == "C1-indet":
                            data = cont(1, head + tail, "old-indet")
                        elif level == "C2-partial":
                            data = cont(2, head + tail, "partial")
                        elif level == "C1-syncflush-after-body":
                            data = pkt(8, b"\x01" + deflate_raw(head + tail, flush_points=[len(head)]))
                        else:
                            data = pkt(8, b"\x01" + deflate_raw(head + tail, flush_points=[len(head) + len(fill)]))
                        self.add(cls, g, f"{desc} ({level}, {st}-style)", d, data)
        # C: compressed packets with bytes after the end of their stream, more packets outside
        for rep in range(self.n(3)):
            for algo in (1, 2, 3):
                for f in fmts:
                    for tail_kind in ("none", "junk1", "junk4", "junk100", "marker", "zeros8", "smuggle-2", "smuggle-1",
                                      "smuggle0", "smuggle+1", "smuggle+2", "smuggle-big"):
                        for layout in ("ops,lit | sig", "ops | lit | sig", "ops,lit,sig | -"):
                            d = self.digest()
                            st = rng.choice(["goc", "gpg"])
                            pl = self.payload(d)
                            o, l, s = self.parts(pl, A, st)
                            O, L, S = self.framed(o, l, s, st)
                            if layout == "ops,lit | sig":
                                inner, before, after = O + L, b"", S
                            elif layout == "ops | lit | sig":
                                inner, before, after = L, O, S
                            else:
                                inner, before, after = O + L + S, b"", b""
                            stream = {1: lambda: deflate_raw(inner), 2: lambda: deflate_raw(inner, wbits=15),
                                      3: lambda: bz2.compress(inner)}[algo]()
                            if tail_kind == "none":
                                tail = b""
                            elif tail_kind.startswith("junk"):
                                tail = rng.randbytes(int(tail_kind[4:]))
                            elif tail_kind == "marker":
                                tail = pkt(TAG_MARKER, b"PGP")
                            elif tail_kind == "zeros8":
                                tail = b"\0" * 8
                            elif tail_kind == "smuggle-big":
                                tail = rng.randbytes(9000) + S
                            else:
                                dd = int(tail_kind[7:])
                                # the bufio.Reader flate/zlib put over the packet body reads 4096 bytes:
                                # a signature placed right after them is read as the next outer packet
                                nj = max(0, 4096 - len(stream) + dd)
                                tail = b"\0" * nj + S
                            c = pkt(8, bytes([algo]) + stream + tail, f)
                            data = before + c + after
                            self.add(cls, g, f"C{algo} ({f}) holding [{layout.split(' | ')[0]}] with {tail_kind} after the "
                                              f"stream inside the packet, then [{' | '.join(layout.split(' | ')[1:])}] outside "
                                              f"({st}-style)", d, data)
        # D: a compressed packet inside a compressed packet, the signature after it in the outer stream
        for rep in range(self.n(4)):
            for oa in (1, 2, 3):
                for ia in (1, 2, 3):
                    for ifmt in ("old-indet", "new", "partial"):
                        for gap in ("none", "junk-4096", "junk-4096-1", "junk-4096+1", "markers-4096", "junk-100"):
                            d = self.digest()
                            st = rng.choice(["goc", "gpg"])
                            pl = self.payload(d)
                            o, l, s = self.parts(pl, A, st)
                            O, L, S = self.framed(o, l, s, st)
                            ic = cont(ia, O + L, ifmt)
                            if gap == "none":
                                gp = b""
                            elif gap == "junk-100":
                                gp = rng.randbytes(100)
                            elif gap.startswith("junk-4096"):
                                # a bufio.Reader over the outer stream (Go: whenever the outer reader is not
                                # an io.ByteReader) reads 4096 bytes past the start of the inner stream
                                dd = {"junk-4096": 0, "junk-4096-1": -1, "junk-4096+1": 1}[gap]
                                gp = b"\0" * max(0, 4096 - (len(ic) - 2) + dd)
                            else:
                                gp = (pkt(TAG_MARKER, b"PGP", "old") * 900)[:max(0, 4096 - (len(ic) - 2))]
                            data = cont(oa, ic + gp + S, rng.choice(["new", "old-indet"]))
                            self.add(cls, g, f"C{oa}[ C{ia} ({ifmt}) [ops, lit], gap {gap}, sig ] ({st}-style)", d, data)
        # E: empty packets (a parse that ends in a clean EOF pops the whole stream in Go)
        for rep in range(self.n(6)):
            for name, tag, body in (("sig", TAG_SIG, b""), ("pubkey", TAG_PUBKEY, b""), ("pubsub", TAG_PUBSUB, b""),
                                    ("seckey", TAG_SECKEY, b""), ("skesk-2-bytes", TAG_SKESK, b"\x04\x09"),
                                    ("skesk-3-bytes", TAG_SKESK, b"\x04\x09\x00"), ("ops", TAG_OPS, b""),
                                    ("lit", TAG_LIT, b""), ("uid", TAG_UID, b""), ("comp", 8, b""), ("marker", TAG_MARKER, b""),
                                    ("pkesk", TAG_PKESK, b""), ("seipd", TAG_SEIPD, b""), ("sed", TAG_SED, b""),
                                    ("uat", TAG_UAT, b""), ("sig-1-byte-v4", TAG_SIG, b"\x04")):
                for where in ("top, before the message", "inside C1 before the message", "inside C1, message after C1",
                              "inside C3, message after C3", "between ops and literal", "inside C2 after the ops, rest outside"):
                    d = self.digest()
                    st = rng.choice(["goc", "gpg"])
                    o, l, s = self.sparts(d, A, st)
                    O, L, S = self.framed(o, l, s, st)
                    e = pkt(tag, body, rng.choice(["new", "old"]) if tag < 16 else "new")
                    junk = rng.choice([b"", pkt(TAG_MARKER, b"PGP"), rng.randbytes(30)])
                    if where == "top, before the message":
                        data = e + O + L + S
                    elif where == "inside C1 before the message":
                        data = cont(1, e + O + L + S, "new")
                    elif where == "inside C1, message after C1":
                        data = cont(1, e + junk, "new") + O + L + S
                    elif where == "inside C3, message after C3":
                        data = cont(3, e + junk, "new") + O + L + S
                    elif where == "between ops and literal":
                        data = O + e + L + S
                    else:
                        data = cont(2, O + e + junk, "new") + L + S
                    self.add(cls, g, f"empty {name} packet {where} ({st}-style)", d, data)

    # ========================================================================== deflate-shapes
    def cls_deflate_shapes(self):
        cls = "deflate-shapes"
        g = self.mgroup(cls)
        A = self.K["A"]
        rng = self.rng

        def spans(toks):
            out, p = [], 0
            for t in toks:
                n = 1 if t[0] == "L" else t[1] if t[0] == "M" else 0
                out.append((p, p + n))
                p += n
            return out

        def stored_blocks(data, final=False):
            bl = [{"type": "stored", "data": data[i:i + 65535]} for i in range(0, max(1, len(data)), 65535)]
            bl[-1]["final"] = final
            return bl

        def segment(toks, data, k):
            """split tokens into k random runs, each a random block type"""
            cuts = sorted(rng.sample(range(1, len(toks)), min(k - 1, len(toks) - 1))) if len(toks) > 1 else []
            sp = spans(toks)
            out = []
            prev = 0
            for c in cuts + [len(toks)]:
                seg = toks[prev:c]
                typ = rng.choice(["stored", "fixed", "dynamic"])
                if typ == "stored":
                    a, b = sp[prev][0], sp[c - 1][1]
                    out += stored_blocks(data[a:b])
                else:
                    out.append({"type": typ, "toks": seg})
                prev = c
            return out

        def lit_lengths(toks):
            lf = [0] * 286
            for t in toks:
                if t[0] == "L":
                    lf[t[1]] += 1
                elif t[0] == "M":
                    lf[dfl.len_code(t[1])[0]] += 1
            lf[256] += 1
            return dfl.huffman_lengths(lf, 15)

        def dist_lengths(toks):
            df = [0] * 30
            for t in toks:
                if t[0] == "M":
                    df[dfl.dist_code(t[2])[0]] += 1
            return dfl.huffman_lengths(df, 15)

        def incomplete(ls):
            ls = list(ls)
            used = [i for i, l in enumerate(ls) if l]
            mx = max(ls[i] for i in used)
            cand = [i for i in used if ls[i] == mx and mx < 15]
            if not cand:
                return None
            ls[rng.choice(cand)] += 1
            return ls

        def oversub(ls):
            ls = list(ls)
            used = [i for i, l in enumerate(ls) if l > 1]
            if not used:
                return None
            ls[rng.choice(used)] -= 1
            return ls

        def one_dist(toks, data):
            """matches only at the distance code of the first match (others become literals)"""
            first = next((t for t in toks if t[0] == "M"), None)
            if first is None:
                return toks
            dc = dfl.dist_code(first[2])[0]
            out = []
            sp = spans(toks)
            for t, (a, b) in zip(toks, sp):
                if t[0] == "M" and dfl.dist_code(t[2])[0] != dc:
                    out += [("L", c) for c in data[a:b]]
                else:
                    out.append(t)
            return out

        def no_match(toks, data):
            out = []
            for t, (a, b) in zip(toks, spans(toks)):
                out += [("L", c) for c in data[a:b]] if t[0] == "M" else [t]
            return out

        V = []

        def v(name, fn, zlib_only=False):
            V.append((name, fn, zlib_only))
        v("fixed, one block", lambda t, d: [{"type": "fixed", "toks": t, "final": True}])
        v("dynamic, one block", lambda t, d: [{"type": "dynamic", "toks": t, "final": True}])
        v("stored, one block", lambda t, d: stored_blocks(d, True))
        v("literals only, dynamic", lambda t, d: [{"type": "dynamic", "toks": no_match(t, d), "final": True}])
        for k in (2, 3, 5, 8):
            v(f"{k} blocks of random types", lambda t, d, k=k: segment(t, d, k) + [{"type": "stored", "data": b"", "final": True}])
            v(f"{k} blocks of random types, last one final", lambda t, d, k=k: (lambda bl: bl[:-1] + [dict(bl[-1], final=True)])(segment(t, d, k)))
        v("empty stored block first", lambda t, d: [{"type": "stored", "data": b""}, {"type": "dynamic", "toks": t, "final": True}])
        v("empty stored blocks between every token run",
          lambda t, d: sum(([b, {"type": "stored", "data": b""}] for b in segment(t, d, 4)), []) + [{"type": "fixed", "toks": [], "final": True}])
        v("final empty stored block", lambda t, d: [{"type": "dynamic", "toks": t}, {"type": "stored", "data": b"", "final": True}])
        v("final empty fixed block", lambda t, d: [{"type": "dynamic", "toks": t}, {"type": "fixed", "toks": [], "final": True}])
        v("empty dynamic block (only EOB, one code of length 1) first",
          lambda t, d: [{"type": "dynamic", "toks": [], "dist_lengths": [0]}, {"type": "fixed", "toks": t, "final": True}])
        v("empty dynamic block with no distance codes and a match-free block",
          lambda t, d: [{"type": "dynamic", "toks": no_match(t, d), "dist_lengths": [0], "final": True}])
        v("no distance codes but a match", lambda t, d: [{"type": "dynamic", "toks": t, "dist_lengths": [0] * 30, "final": True}]
          if any(x[0] == "M" for x in t) else None)
        v("one distance code of length 1", lambda t, d: [{"type": "dynamic", "toks": one_dist(t, d), "final": True}])
        v("one distance code of length 2 (incomplete)", lambda t, d: (lambda tt: [{"type": "dynamic", "toks": tt, "final": True,
          "dist_lengths": [2 if x else 0 for x in dist_lengths(tt)]}])(one_dist(t, d)))
        v("two distance codes of length 1", lambda t, d: (lambda tt: [{"type": "dynamic", "toks": tt, "final": True,
          "dist_lengths": (lambda dl: [1 if i in (dl.index(1) if 1 in dl else 0, 29) else 0 for i in range(30)])(dist_lengths(tt))}])(one_dist(t, d)))
        v("incomplete literal/length code", lambda t, d: (lambda ll: ll and [{"type": "dynamic", "toks": t, "lit_lengths": ll, "final": True}])(incomplete(lit_lengths(t))))
        v("over-subscribed literal/length code", lambda t, d: (lambda ll: ll and [{"type": "dynamic", "toks": t, "lit_lengths": ll, "final": True}])(oversub(lit_lengths(t))))
        v("incomplete distance code", lambda t, d: (lambda dl: dl and [{"type": "dynamic", "toks": t, "dist_lengths": dl, "final": True}])(incomplete(dist_lengths(t))))
        v("over-subscribed distance code", lambda t, d: (lambda dl: dl and [{"type": "dynamic", "toks": t, "dist_lengths": dl, "final": True}])(oversub(dist_lengths(t))))
        v("incomplete code-length code", lambda t, d: [{"type": "dynamic", "toks": t, "final": True,
          "cl_lengths": [min(7, x + 1) if x == 7 or i == 18 else x for i, x in enumerate([4] * 19)]}])
        v("over-subscribed code-length code", lambda t, d: [{"type": "dynamic", "toks": t, "final": True, "cl_lengths": [3] * 19}])
        v("code-length code: all 19 of length 5 (over-full)", lambda t, d: [{"type": "dynamic", "toks": t, "final": True, "cl_lengths": [5] * 19, "hclen": 19}])
        v("code lengths without run-length codes", lambda t, d: [{"type": "dynamic", "toks": t, "final": True, "no_rle": True}])
        v("HCLEN 19 with trailing zero lengths", lambda t, d: [{"type": "dynamic", "toks": t, "final": True, "hclen": 19}])
        v("HLIT 286 (two unused codes)", lambda t, d: [{"type": "dynamic", "toks": t, "final": True, "hlit": 286}])
        v("HLIT 287 (beyond 286)", lambda t, d: [{"type": "dynamic", "toks": t, "final": True, "hlit": 287}])
        v("HLIT 288", lambda t, d: [{"type": "dynamic", "toks": t, "final": True, "hlit": 288}])
        v("HDIST 30", lambda t, d: [{"type": "dynamic", "toks": t, "final": True, "hdist": 30}])
        v("HDIST 31 (beyond 30)", lambda t, d: [{"type": "dynamic", "toks": t, "final": True, "hdist": 31}])
        v("HDIST 32", lambda t, d: [{"type": "dynamic", "toks": t, "final": True, "hdist": 32}])
        v("repeat code 16 first", lambda t, d: [{"type": "dynamic", "toks": t, "final": True, "cl_syms_first16": True}])
        v("EOB has no code", lambda t, d: (lambda ll: [{"type": "dynamic", "toks": t, "lit_lengths": ll, "final": True}])(
          (lambda ll: ll[:256] + [0] + ll[257:])(lit_lengths(t))))
        v("distance beyond the history at the start", lambda t, d: [{"type": "fixed", "toks": [("M", 3, 1)] + t, "final": True}])
        v("distance beyond the history after the message", lambda t, d: [{"type": "fixed", "toks": t + [("M", 10, len(d) + 1)], "final": True}])
        v("distance exactly the history after the message", lambda t, d: [{"type": "fixed", "toks": t + [("M", 10, len(d))], "final": True}])
        v("distance beyond the history, dynamic, mid-message", lambda t, d: (lambda i: [{"type": "dynamic", "toks": t[:i] + [("M", 4, spans(t)[i][0] + 5)] + t[i:], "final": True}])(len(t) // 2))
        v("length code 286 after the message (fixed)", lambda t, d: [{"type": "fixed", "toks": t + [("S", 286)], "final": True}])
        v("length code 287 after the message (fixed)", lambda t, d: [{"type": "fixed", "toks": t + [("S", 287)], "final": True}])
        v("length code 286 at the start (fixed)", lambda t, d: [{"type": "fixed", "toks": [("L", 0x20), ("S", 286)] + t, "final": True}])
        v("distance code 30 after the message (fixed)", lambda t, d: [{"type": "fixed", "toks": t + [("SD", 257, 30)], "final": True}])
        v("distance code 31 mid-message (fixed)", lambda t, d: (lambda i: [{"type": "fixed", "toks": t[:i] + [("SD", 257, 31)] + t[i:], "final": True}])(len(t) // 2))
        v("reserved block type after the message", lambda t, d: [{"type": "dynamic", "toks": t}, {"type": "reserved", "final": True}])
        v("reserved block type first", lambda t, d: [{"type": "reserved", "final": True}, {"type": "fixed", "toks": t, "final": True}])
        v("stored block with bad NLEN after the message", lambda t, d: [{"type": "fixed", "toks": t}, {"type": "stored", "data": b"x", "nlen_xor": 1, "final": True}])
        v("stored block with bad NLEN holding the message", lambda t, d: [{"type": "stored", "data": d, "nlen_xor": 0x100, "final": True}])
        v("stored block LEN beyond the stream", lambda t, d: [{"type": "fixed", "toks": t}, {"type": "stored", "data": b"xyz", "len_override": 500, "final": True}])
        v("no final block", lambda t, d: [{"type": "dynamic", "toks": t}])
        v("no final block, ends with an empty stored block", lambda t, d: [{"type": "dynamic", "toks": t}, {"type": "stored", "data": b""}])
        v("final block, then garbage", lambda t, d: [{"type": "dynamic", "toks": t, "final": True}, {"type": "TRAILER", "data": rng.randbytes(rng.randint(1, 40))}])
        v("final block, then another (valid) block", lambda t, d: [{"type": "fixed", "toks": t, "final": True}, {"type": "fixed", "toks": [("L", 65)], "final": True}])
        v("final block, then zeros", lambda t, d: [{"type": "fixed", "toks": t, "final": True}, {"type": "TRAILER", "data": b"\0" * 32}])
        v("many tiny blocks (one token each)", lambda t, d: [{"type": rng.choice(["fixed", "dynamic"]), "toks": [x]} for x in t[:400]] +
          [{"type": "fixed", "toks": t[400:], "final": True}])
        # zlib-only variants
        v("zlib FDICT with dictionary id 1 (adler32 of nothing)", lambda t, d: ("zlib", {"fdict": 1}), True)
        v("zlib FDICT with dictionary id 0", lambda t, d: ("zlib", {"fdict": 0}), True)
        v("zlib FDICT with another dictionary id", lambda t, d: ("zlib", {"fdict": zlib.adler32(b"dict")}), True)
        v("zlib bad Adler-32, signature last in the stream", lambda t, d: ("zlib", {"adler": zlib.adler32(d) ^ 1}), True)
        v("zlib bad Adler-32, marker packet after the signature", lambda t, d: ("zlib", {"adler_bad_marker": True}), True)
        v("zlib bad Adler-32, signature outside", lambda t, d: ("zlib", {"adler": 1, "sig_outside": True}), True)
        v("zlib Adler-32 missing", lambda t, d: ("zlib", {"no_adler": True}), True)
        v("zlib Adler-32 missing, signature outside", lambda t, d: ("zlib", {"no_adler": True, "sig_outside": True}), True)
        v("zlib CINFO 8 (64 KiB window)", lambda t, d: ("zlib", {"cmf": 0x88}), True)
        v("zlib CINFO 0", lambda t, d: ("zlib", {"cmf": 0x08}), True)
        v("zlib CM 9", lambda t, d: ("zlib", {"cmf": 0x79}), True)
        v("zlib FCHECK wrong", lambda t, d: ("zlib", {"fcheck_bad": True}), True)
        v("zlib level bits 0", lambda t, d: ("zlib", {"level_bits": 0}), True)
        v("zlib level bits 3", lambda t, d: ("zlib", {"level_bits": 3}), True)
        v("zlib, then bytes after the Adler-32 inside the packet", lambda t, d: ("zlib", {"after": rng.randbytes(7)}), True)

        target = self.n(2600)
        i = 0
        while self.count[cls] < target:
            name, fn, zonly = V[i % len(V)]
            i += 1
            d = self.digest()
            st = rng.choice(["goc", "gpg", "go"])
            big = rng.random() < 0.12
            pl = self.payload(d, fmt=rng.choice(["compact", "indent"]))
            if big:
                # a payload over 32 KiB: the window wraps (JSON whitespace after the document is never read)
                pad = rng.choice([32768 - 300, 33000, 40000, 70000])
                pl = pl + b" " * pad + (pl if rng.random() < 0.5 else b"")
            o, l, s = self.parts(pl, A, st)
            O, L, S = self.framed(o, l, s, st)
            sig_outside = False
            res = None
            inner = O + L + S
            toks = dfl.tokens(inner, lazy_lits=rng.choice([0.0, 0.0, 0.3, 0.9]), rng=rng)
            zopts = {}
            if zonly:
                kind, zopts = fn(toks, inner)
                if zopts.get("sig_outside"):
                    sig_outside = True
                    inner = O + L
                    toks = dfl.tokens(inner)
                if zopts.get("adler_bad_marker"):
                    inner = O + L + S + pkt(TAG_MARKER, b"PGP")
                    toks = dfl.tokens(inner)
                    zopts = {"adler": zlib.adler32(inner) ^ 0x10000}
                blocks = [{"type": rng.choice(["fixed", "dynamic"]), "toks": toks, "final": True}]
            else:
                blocks = fn(toks, inner)
                if blocks is None:
                    continue
                if any(b.get("cl_syms_first16") for b in blocks):
                    b0 = blocks[0]
                    ll = lit_lengths(toks)
                    dl = dist_lengths(toks)
                    hl = max(257, max(i2 + 1 for i2, x in enumerate(ll) if x))
                    hd = max(1, max((i2 + 1 for i2, x in enumerate(dl) if x), default=1))
                    syms = dfl._rle_lengths(ll[:hl] + dl[:hd])
                    b0.update(lit_lengths=ll, dist_lengths=dl, cl_syms=[(16, 2, 0)] + syms)
            trailer = b""
            if blocks and blocks[-1].get("type") == "TRAILER":
                trailer = blocks.pop()["data"]
            raw = dfl.stream(blocks) + trailer
            algo = 2 if zonly or rng.random() < 0.3 else 1
            if algo == 2:
                zo = dict(zopts)
                after = zo.pop("after", b"")
                if zo.pop("no_adler", False):
                    body = dfl.zlib_wrap(raw, inner)[:-4]
                else:
                    fcheck_bad = zo.pop("fcheck_bad", False)
                    zo.pop("sig_outside", None)
                    body = dfl.zlib_wrap(raw, inner, **zo)
                    if fcheck_bad:
                        body = bytes([body[0], body[1] ^ 1]) + body[2:]
                body += after
            else:
                body = raw
            f = rng.choice(["new", "old-indet", "partial", "old"])
            data = pkt(8, bytes([algo]) + body, f)
            if sig_outside:
                data += S
            self.add(cls, g, f"{name} (C{algo}, {f}, {st}-style{', payload over 32 KiB' if big else ''})", d, data)
        # megabytes of decompressed data before (skippable packets) or after the message
        for r in range(self.n(2)):
            for mib in (1, 3, 5):
                for where in ("before", "after"):
                    d = self.digest()
                    st = rng.choice(["goc", "gpg"])
                    o, l, s = self.sparts(d, A, st)
                    msg = b"".join(self.framed(o, l, s, st))
                    fill = pkt(60, b"\0" * ((mib << 20) - 16)) if where == "before" else b"\0" * (mib << 20)
                    inner = fill + msg if where == "before" else msg + fill
                    algo = rng.choice([1, 2])
                    data = pkt(8, bytes([algo]) + (deflate_raw(inner) if algo == 1 else deflate_raw(inner, wbits=15)),
                               rng.choice(["new", "old-indet"]))
                    what = "one unknown packet (tag 60)" if where == "before" else "zeros"
                    self.add(cls, g, f"{mib} MiB of {what} {where} the message inside C{algo} ({st}-style)", d, data)

    # ========================================================================== bzip2-shapes
    def cls_bzip2_shapes(self):
        cls = "bzip2-shapes"
        g = self.mgroup(cls)
        A = self.K["A"]
        rng = self.rng
        enc = bzip2enc

        def msg_parts(d, st=None, pl=None):
            st = st or rng.choice(["goc", "gpg"])
            pl = pl if pl is not None else self.payload(d, fmt=rng.choice(["compact", "indent"]))
            o, l, s = self.parts(pl, A, st)
            return st, self.framed(o, l, s, st)

        def indet(tag, body):
            return bytes([0x80 | (tag << 2) | 3]) + body

        reps = self.n(1)
        # 1: plain streams from the hand-written encoder (both should read these like libbzip2's)
        for r in range(self.n(40)):
            d = self.digest()
            st, (O, L, S) = msg_parts(d)
            inner = O + L + S
            nt = rng.randint(2, 6)
            bs = rng.choice([None, None, 97, 300, 1000])
            sel = rng.choice([None, "cycle", "random"])
            sf = None if sel is None else (lambda i, nt=nt: i % nt) if sel == "cycle" else (lambda i, nt=nt, rr=random.Random(r): rr.randrange(nt))
            extra = rng.choice([0, 0, 1, 7, 18010])
            try:
                stream = enc.compress(inner, block_size=bs, ntables=nt, selector_fn=sf, extra_selectors=extra,
                                      level=rng.choice([1, 9]))
            except enc.GoTreeError:
                continue
            f = rng.choice(["new", "old-indet", "partial"])
            self.add(cls, g, f"hand-made bzip2: {nt} tables, selectors {sel}, {extra} extra selectors, blocks of "
                              f"{bs or 'one'} RLE1 bytes (C3 {f}, {st}-style)", d, pkt(8, b"\x03" + stream, f))
        # 2: the packet is cut short (a read error under the bzip2 reader) -- the message ends inside
        # the bzip2 trailer (end-of-stream magic and CRC) or the last block
        for r in range(self.n(6)):
            for k in (1, 2, 3, 4, 5, 6, 8, 10, 11, 12, 14, 40):
                for how in ("file cut", "length claims more"):
                    d = self.digest()
                    st, (O, L, S) = msg_parts(d)
                    inner = O + L + S
                    stream = bz2.compress(inner, 9) if r % 2 == 0 else enc.compress(inner)
                    f = rng.choice(["new", "old", "partial"])
                    body = b"\x03" + stream
                    if how == "file cut":
                        data = pkt(8, body, f)[:-k]
                    else:
                        if f == "partial":
                            data = pkt(8, body + b"\0" * k, f)[:-k]
                        else:
                            data = pkt(8, body + b"\0" * k, f)[:-k]
                    self.add(cls, g, f"C3 ({f}) {how} by {k} bytes ({'libbzip2' if r % 2 == 0 else 'hand-made'}, {st}-style)", d, data)
        # 3: read errors from a compressed packet around the bzip2 packet
        for r in range(self.n(5)):
            for outer in ("zlib-bad-adler", "zlib-bad-adler-indet", "deflate-cut-inside-C3", "zlib-cut-inside-C3",
                          "bzip2-cut-inside-C3", "deflate-no-final-block", "deflate-cut-after-C3"):
                for ifmt in ("new", "old-indet", "partial"):
                    for k in (1, 4, 9):
                        d = self.digest()
                        st, (O, L, S) = msg_parts(d)
                        c3 = pkt(8, b"\x03" + bz2.compress(O + L + S), ifmt)
                        if outer.startswith("zlib-bad-adler"):
                            zs = bytearray(deflate_raw(c3, wbits=15))
                            zs[-1] ^= k
                            data = pkt(8, b"\x02" + bytes(zs), "old-indet" if outer.endswith("indet") else "new")
                        elif outer == "deflate-cut-inside-C3":
                            data = pkt(8, b"\x01" + deflate_raw(c3[:-k]), "new")
                        elif outer == "zlib-cut-inside-C3":
                            data = pkt(8, b"\x02" + deflate_raw(c3[:-k], wbits=15), "new")
                        elif outer == "bzip2-cut-inside-C3":
                            data = pkt(8, b"\x03" + bz2.compress(c3[:-k]), "new")
                        elif outer == "deflate-no-final-block":
                            data = pkt(8, b"\x01" + deflate_raw(c3, finish=False), "new")
                        else:
                            data = pkt(8, b"\x01" + deflate_raw(c3 + rng.randbytes(30))[:-k], "new")
                        self.add(cls, g, f"C3 ({ifmt}) inside {outer} (k={k}, {st}-style)", d, data)
        # 4: stream and block boundaries under an indeterminate signature / public key packet
        for r in range(self.n(4)):
            for kind in ("sig", "pubkey"):
                for how in ("two streams", "two blocks", "three streams"):
                    for delta in (0, 0, 1, -1, 5, None):
                        d = self.digest()
                        st, (O, L, S) = msg_parts(d)
                        sbody = (self.parts(self.payload(d), self.K["U"], "goc")[2]) if kind == "sig" else A.body()
                        head = O + indet(TAG_SIG if kind == "sig" else TAG_PUBKEY, sbody)
                        rest = L + S
                        if delta is None:
                            cut = len(head) + len(rest) // 2
                        else:
                            cut = len(head) + delta
                        whole = head + rest
                        p1, p2 = whole[:cut], whole[cut:]
                        if how == "two streams":
                            stream = bz2.compress(p1) + bz2.compress(p2)
                        elif how == "three streams":
                            stream = bz2.compress(p1) + bz2.compress(p2[:3]) + bz2.compress(p2[3:])
                        else:
                            stream = enc.stream([enc.rle1(p1), enc.rle1(p2)])
                        f = rng.choice(["new", "old-indet"])
                        self.add(cls, g, f"indeterminate {kind} packet before the literal, {how}, boundary at "
                                          f"{'mid-literal' if delta is None else f'body end{delta:+d}'} (C3 {f}, {st}-style)",
                                 d, pkt(8, b"\x03" + stream, f))
        # 5: an indeterminate compressed packet inside bzip2, followed by more packets
        for r in range(self.n(5)):
            for ia in (1, 2, 3):
                for layout in ("[ops,lit] sig", "[ops] lit sig", "[ops,lit] junk4096 sig", "[ops,lit] junk100 sig",
                               "[ops,lit] markers sig", "[ops,lit,sig] marker"):
                    for ifmt in ("old-indet", "old-indet", "new"):
                        d = self.digest()
                        st, (O, L, S) = msg_parts(d)
                        if layout.startswith("[ops] "):
                            ic = self.comp_packet(ia, O, ifmt)
                            inner = ic + L + S
                        elif layout.startswith("[ops,lit,sig]"):
                            ic = self.comp_packet(ia, O + L + S, ifmt)
                            inner = ic + pkt(TAG_MARKER, b"PGP")
                        else:
                            ic = self.comp_packet(ia, O + L, ifmt)
                            gap = b""
                            if "junk4096" in layout:
                                gap = b"\0" * max(0, 4096 - (len(ic) - 2))
                            elif "junk100" in layout:
                                gap = rng.randbytes(100)
                            elif "markers" in layout:
                                gap = pkt(TAG_MARKER, b"PGP") * rng.randint(1, 900)
                            inner = ic + gap + S
                        outer = rng.choice(["libbzip2", "hand-made"])
                        stream = bz2.compress(inner) if outer == "libbzip2" else enc.compress(inner)
                        self.add(cls, g, f"C3[ C{ia} ({ifmt}) {layout} ] ({outer}, {st}-style)", d,
                                 pkt(8, b"\x03" + stream, rng.choice(["new", "old-indet"])))
        # 6: randomised blocks (libbzip2 still reads them; Go refuses "deprecated randomized files")
        for r in range(self.n(40)):
            d = self.digest()
            st, (O, L, S) = msg_parts(d)
            inner = O + L + S
            pre = r % 4 != 3
            bs = rng.choice([None, None, 400])
            try:
                stream = enc.compress(inner, block_size=bs, randomised=True, pre_randomise=pre)
            except enc.GoTreeError:
                continue
            self.add(cls, g, f"randomised block{'s' if bs else ''} ({'pre-randomised so libbzip2 restores the data' if pre else 'not pre-randomised'}, "
                              f"{st}-style)", d, pkt(8, b"\x03" + stream, rng.choice(["new", "old-indet"])))
        # 7: Huffman code lengths that are not a complete code, written for Go's tree or for
        # libbzip2's canonical codes
        def lengths_variant(kind):
            def fn(freqs, alpha):
                ls = enc.huffman_lengths(freqs)
                if kind == "complete":
                    return ls
                if kind == "incomplete-longest+1":
                    mx = max(ls)
                    c = [i for i, x in enumerate(ls) if x == mx]
                    ls[rng.choice(c)] = min(20, mx + 1)
                    return ls
                if kind == "incomplete-all+1":
                    return [min(20, x + 1) for x in ls]
                if kind == "incomplete-one-shortest+2":
                    mn = min(ls)
                    c = [i for i, x in enumerate(ls) if x == mn]
                    ls[rng.choice(c)] = min(20, mn + 2)
                    return ls
                if kind == "all-20":
                    return [20] * len(ls)
                if kind == "oversubscribed-one-1":
                    c = [i for i, x in enumerate(ls) if x > 1]
                    if c:
                        ls[rng.choice(c)] -= 1
                    return ls
                if kind == "unused-symbol-longer":
                    unused = [i for i, f in enumerate(freqs) if f == 0]
                    if unused:
                        ls[rng.choice(unused)] = 20
                    return ls
                raise ValueError(kind)
            return fn
        for r in range(self.n(14)):
            for kind in ("complete", "incomplete-longest+1", "incomplete-all+1", "incomplete-one-shortest+2", "all-20",
                         "oversubscribed-one-1", "unused-symbol-longer"):
                for mode in ("go", "canon"):
                    d = self.digest()
                    st, (O, L, S) = msg_parts(d)
                    inner = O + L + S
                    try:
                        stream = enc.compress(inner, lengths_fn=lengths_variant(kind), code_mode=mode,
                                              ntables=rng.randint(2, 4))
                    except (enc.GoTreeError, IndexError, ValueError) as e:
                        continue
                    self.add(cls, g, f"Huffman lengths {kind}, coded for {'Go' if mode == 'go' else 'libbzip2 (canonical)'} "
                                      f"({st}-style)", d, pkt(8, b"\x03" + stream, rng.choice(["new", "old-indet"])))
        # 8: RLE1 corner cases
        for r in range(self.n(30)):
            for kind in ("count0-then-same-go", "count0-then-same-lib", "block-ends-in-run", "run-259", "run-260",
                         "count0-run-end"):
                d = self.digest()
                st = rng.choice(["goc", "gpg"])
                base = self.payload(d, fmt="compact")
                c = rng.choice([0x20, 0x0A, 0x09, 0x0D] if kind != "count0-then-same-lib" else [0x0A, 0x09, 0x0D])
                if kind in ("count0-then-same-go", "count0-then-same-lib"):
                    # Go keeps the run byte after a zero count: "    \0   X" is 7 + X spaces for Go,
                    # 7 spaces and the byte X for libbzip2
                    pl_go = b"{" + b" " * (7 + c) + base[1:]
                    pl_lib = b"{" + b" " * 7 + bytes([c]) + base[1:]
                    pl = pl_go if kind.endswith("go") else pl_lib
                    o, l, s = self.parts(pl, A, st)
                    O, L, S = self.framed(o, l, s, "gpg")
                    inner = O + L + S
                    at = inner.index(pl) + 1
                    run_len = (7 + c) if kind.endswith("go") else 7
                    after = at + run_len + (0 if kind.endswith("go") else 1)
                    t = enc.rle1(inner[:at]) + b"    \x00   " + bytes([c]) + enc.rle1(inner[after:])
                    out_go = enc.unrle1_go(t)
                    crc_of = inner if kind.endswith("lib") else out_go
                    stream = enc.stream([t], out_crc_of=crc_of)
                elif kind == "block-ends-in-run":
                    pl = b"{" + b" " * 5 + base[1:]
                    o, l, s = self.parts(pl, A, st)
                    O, L, S = self.framed(o, l, s, "gpg")
                    inner = O + L + S
                    at = inner.index(pl) + 1
                    t1 = enc.rle1(inner[:at]) + b"    "
                    t2 = b" " + enc.rle1(inner[at + 5:])
                    stream = enc.stream([t1, t2])
                elif kind in ("run-259", "run-260"):
                    n = int(kind[4:])
                    pl = b"{" + b" " * n + base[1:]
                    o, l, s = self.parts(pl, A, st)
                    O, L, S = self.framed(o, l, s, "gpg")
                    inner = O + L + S
                    stream = enc.compress(inner)
                else:
                    # a zero count at the very end of a block, the next block starting with the run byte
                    pl = b"{" + b" " * 8 + base[1:]
                    o, l, s = self.parts(pl, A, st)
                    O, L, S = self.framed(o, l, s, "gpg")
                    inner = O + L + S
                    at = inner.index(pl) + 1
                    t1 = enc.rle1(inner[:at]) + b"    \x00"
                    t2 = enc.rle1(inner[at + 4:])
                    stream = enc.stream([t1, t2])
                self.add(cls, g, f"RLE1 {kind} (C3, {st}-style)", d, pkt(8, b"\x03" + stream, rng.choice(["new", "old-indet"])))
        # 9: other fields
        for r in range(self.n(12)):
            for kind in ("nselectors-0", "nselectors-minus-1", "origptr+1", "origptr-1", "origptr-n", "block-crc-wrong",
                         "stream-crc-wrong", "level-0", "header-BZh-A", "header-BZ0", "empty-stream-then-message",
                         "two-streams-second-empty", "trailing-BZ", "trailing-BZh9", "trailing-junk", "block-crc-wrong-two-blocks"):
                d = self.digest()
                st, (O, L, S) = msg_parts(d)
                inner = O + L + S
                outside = b""
                try:
                    if kind == "nselectors-0":
                        stream = enc.compress(inner, nselectors_override=0)
                    elif kind == "nselectors-minus-1":
                        n_syms = len(enc.mtf_rle2(enc.bwt(enc.rle1(inner))[0])[1])
                        stream = enc.compress(inner, nselectors_override=(n_syms + 49) // 50 - 1)
                    elif kind.startswith("origptr"):
                        dd = {"origptr+1": 1, "origptr-1": -1, "origptr-n": len(enc.rle1(inner))}[kind]
                        stream = enc.compress(inner, orig_ptr_delta=dd)
                    elif kind == "block-crc-wrong":
                        stream = enc.compress(inner, block_crc=0x12345678)
                    elif kind == "block-crc-wrong-two-blocks":
                        t = enc.rle1(inner)
                        h = len(t) // 2
                        stream = enc.stream([t[:h], t[h:]], per_block=[{"block_crc": 0xDEADBEEF}, None])
                    elif kind == "stream-crc-wrong":
                        stream = enc.compress(inner, final_crc=0x0BADC0DE)
                    elif kind == "level-0":
                        stream = enc.compress(inner, header=b"BZh0")
                    elif kind == "header-BZh-A":
                        stream = enc.compress(inner, header=b"BZhA")
                    elif kind == "header-BZ0":
                        stream = enc.compress(inner, header=b"BZ09")
                    elif kind == "empty-stream-then-message":
                        stream = enc.stream([])
                        outside = inner
                    elif kind == "two-streams-second-empty":
                        stream = enc.compress(inner) + enc.stream([])
                    elif kind == "trailing-BZ":
                        stream = enc.compress(inner) + b"BZ"
                    elif kind == "trailing-BZh9":
                        stream = enc.compress(inner) + b"BZh9"
                    else:
                        stream = enc.compress(inner) + rng.randbytes(5)
                except enc.GoTreeError:
                    continue
                self.add(cls, g, f"bzip2 {kind} ({st}-style)", d,
                         pkt(8, b"\x03" + stream, rng.choice(["new", "old-indet", "partial"])) + outside)
        # 10: an indeterminate bzip2 packet inside a ZIP/ZLIB stream that goes on for megabytes after
        # it (zeros: a few KiB on the wire); Go never reads past the signature
        for r in range(self.n(2)):
            for outer in (1, 2):
                for mib in (1, 3, 5, 9):
                    for ifmt in ("old-indet", "new"):
                        d = self.digest()
                        st, (O, L, S) = msg_parts(d)
                        c3 = pkt(8, b"\x03" + bz2.compress(O + L + S), ifmt)
                        data = pkt(8, bytes([outer]) + (deflate_raw if outer == 1 else lambda x: deflate_raw(x, wbits=15))(
                            c3 + b"\0" * (mib << 20)), "new")
                        self.add(cls, g, f"C3 ({ifmt}) [ops, lit, sig] inside C{outer}, then {mib} MiB of zeros in the C{outer} "
                                          f"stream ({st}-style)", d, data)

    # ========================================================================== keys of the new classes
    def deep_keys(self):
        """Keys only the new classes use, from their own deterministic generator (so the first
        campaign's keys stay as they were)."""
        if getattr(self, "_deep_keys_done", False):
            return
        import time as _t
        t0 = _t.time()
        kr = random.Random(f"{self.seed}-keys-deep")
        K = self.K
        K["EA"] = Key.rsa(kr, 2048, KEY_T + 400)
        K["EE"] = Key.rsa(kr, 2048, KEY_T + 401)
        K["R1023"] = Key.rsa(kr, 1023, KEY_T + 402)
        K["Rffffff"] = rsa_with_e(kr, 2048, 0xFFFFFF, KEY_T + 403)
        K["Rclose"] = rsa_close_primes(kr, 2048, KEY_T + 404)
        K["Rpp"] = rsa_square(kr, 2048, KEY_T + 405)
        K["D161"] = Key.dsa(kr, 1024, 161, KEY_T + 406)
        K["D159"] = Key.dsa(kr, 1024, 159, KEY_T + 407)
        K["Re1"] = rsa_with_e(kr, 2048, 1, KEY_T + 408)
        for i in range(1, 5):
            K[f"Q{i}"] = Key.rsa(kr, 2048, KEY_T + 410 + i)
        self._deep_keys_done = True
        print(f"deep keys made in {_t.time() - t0:.1f}s", file=__import__("sys").stderr)


    # ========================================================================== encrypted
    def cls_encrypted(self):
        cls = "encrypted"
        self.deep_keys()
        K = self.K
        A, U, EA, EE = K["A"], K["U"], K["EA"], K["EE"]
        rng = self.rng
        uid = self.uid
        sub = [(EE, dict(flags=0x0C, cross=False))]
        pub_cert = cert(EA, uid, subkeys=sub)
        sec_cert = cert(EA, uid, subkeys=sub, secret=True)

        def locked_cert(cipher=9, usage=254, s2k=b"\x03\x08"):
            out = pkt(TAG_SECKEY, locked_secret_body(EA, rng, cipher, usage, s2k), "old")
            out += pkt(TAG_UID, uid, "old") + pkt(TAG_SIG, self_sig(EA, uid), "old")
            out += pkt(TAG_SECSUB, locked_secret_body(EE, rng, cipher, usage, s2k), "old")
            out += pkt(TAG_SIG, subkey_binding(EA, EE, flags=0x0C, cross=False), "old")
            return out
        groups = [
            ("main", self.mgroup(cls), A),
            ("public-with-encryption-subkey", self.group("enc-public-sub", [("verifier-public-key-enc", self.write_key(
                "enc-public-sub.asc", armor(pub_cert)))]), EA),
            ("secret-in-the-clear", self.group("enc-secret-plain", [("verifier-public-key-enc", self.write_key(
                "enc-secret-plain.asc", armor(sec_cert, "PGP PRIVATE KEY BLOCK")))]), EA),
            ("secret-passphrase-protected", self.group("enc-secret-locked", [("verifier-public-key-enc", self.write_key(
                "enc-secret-locked.asc", armor(locked_cert(), "PGP PRIVATE KEY BLOCK")))]), EA),
            ("secret-primary-in-the-clear-only", self.group("enc-secret-primary-only", [("verifier-public-key-enc", self.write_key(
                "enc-secret-primary-only.asc", armor(cert(EA, uid, secret=True), "PGP PRIVATE KEY BLOCK")))]), EA),
        ]

        def pkesk(keyid, algo=1, version=3, body="mpi"):
            b = bytes([version]) + keyid + bytes([algo])
            if body == "mpi":
                b += mpi(rng.getrandbits(2040) | (1 << 2039))
            elif body == "two-mpis":
                b += mpi(rng.getrandbits(1020)) + mpi(rng.getrandbits(1020))
            elif body == "truncated-mpi":
                b += struct.pack(">H", 2048) + rng.randbytes(40)
            elif body == "rsa-encrypted-for-EE":
                # a real PKCS#1 v1.5 encryption of a session key to EE (AES-256, checksum)
                skey = rng.randbytes(32)
                m = b"\x09" + skey + struct.pack(">H", sum(skey) & 0xFFFF)
                k = (EE.n.bit_length() + 7) // 8
                ps = bytes(rng.randrange(1, 256) for _ in range(k - len(m) - 3))
                em = int.from_bytes(b"\x00\x02" + ps + b"\x00" + m, "big")
                b += mpi(pow(em, EE.e, EE.n))
            return b

        def skesk(version=4, cipher=9, mode=3, hid=8, keylen=0):
            b = bytes([version, cipher, mode, hid])
            if mode == 1:
                b += rng.randbytes(8)
            elif mode == 3:
                b += rng.randbytes(8) + b"\x60"
            elif mode not in (0,):
                b += rng.randbytes(9)
            return b + rng.randbytes(keylen)

        kid_names = [("encryption subkey", lambda: EE.keyid), ("signing primary", lambda: EA.keyid),
                     ("untrusted key", lambda: U.keyid), ("key id 0", lambda: b"\0" * 8), ("main key A", lambda: A.keyid)]
        prefixes = []
        for kn, kf in kid_names:
            for algo in (1, 2, 16, 17, 18, 99):
                prefixes.append((f"PKESK v3 to {kn}, algo {algo}", lambda kf=kf, algo=algo: pkt(TAG_PKESK, pkesk(kf(), algo,
                                 body="two-mpis" if algo == 16 else "mpi"))))
        for kn, kf in kid_names[:4]:
            prefixes.append((f"PKESK v3 to {kn}, truncated MPI", lambda kf=kf: pkt(TAG_PKESK, pkesk(kf(), 1, body="truncated-mpi"))))
            for v in (2, 4, 0):
                prefixes.append((f"PKESK v{v} to {kn}", lambda kf=kf, v=v: pkt(TAG_PKESK, pkesk(kf(), 1, version=v))))
        prefixes.append(("PKESK with a real RSA encryption to the encryption subkey",
                         lambda: pkt(TAG_PKESK, pkesk(EE.keyid, 1, body="rsa-encrypted-for-EE"))))
        for mode in (0, 1, 3, 2, 100, 101):
            for hid in (2, 8, 3, 99):
                prefixes.append((f"SKESK s2k mode {mode} hash {hid}", lambda mode=mode, hid=hid: pkt(TAG_SKESK, skesk(mode=mode, hid=hid))))
        for cipher in (0, 1, 2, 3, 7, 8, 9, 10, 11):
            prefixes.append((f"SKESK cipher {cipher}", lambda cipher=cipher: pkt(TAG_SKESK, skesk(cipher=cipher))))
        for kl in (1, 16, 33, 63, 64, 100):
            prefixes.append((f"SKESK with a {kl}-byte session key", lambda kl=kl: pkt(TAG_SKESK, skesk(keylen=kl))))
        for ver in (5, 3):
            prefixes.append((f"SKESK version {ver}", lambda ver=ver: pkt(TAG_SKESK, skesk(version=ver))))
        prefixes.append(("SKESK of 2 bytes (s2k read hits EOF)", lambda: pkt(TAG_SKESK, b"\x04\x09")))
        prefixes.append(("SKESK of 3 bytes", lambda: pkt(TAG_SKESK, b"\x04\x09\x03")))
        followers = [
            ("then the signed message", lambda m: m),
            ("then SE (tag 9) data, then the message", lambda m: pkt(TAG_SED, rng.randbytes(64)) + m),
            ("then SEIPD v1, then the message", lambda m: pkt(TAG_SEIPD, b"\x01" + rng.randbytes(64)) + m),
            ("then SEIPD v2, then the message", lambda m: pkt(TAG_SEIPD, b"\x02" + rng.randbytes(64)) + m),
            ("then SEIPD of 0 bytes, then the message", lambda m: pkt(TAG_SEIPD, b"") + m),
            ("then an indeterminate SE packet holding the message", lambda m: bytes([0x80 | (TAG_SED << 2) | 3]) + m),
            ("then a compressed message holding SEIPD", lambda m: self.comp_packet(1, pkt(TAG_SEIPD, b"\x01" + rng.randbytes(30)) + m)),
        ]
        for gname, gg, signer in groups:
            reps = self.n(1) if gname == "main" else 1
            per_group_sample = 1.0 if gname == "main" else 0.5
            for rep in range(reps):
                for pname, pf in prefixes:
                    for fname, ff in followers:
                        if rng.random() > per_group_sample * (0.9 if gname == "main" else 1.0):
                            continue
                        d = self.digest()
                        st = rng.choice(["goc", "gpg"])
                        o, l, s = self.sparts(d, signer, st)
                        msg = b"".join(self.framed(o, l, s, st))
                        where = rng.choice(["top level", "top level", "inside C1", "two of them"])
                        pre = pf()
                        if where == "two of them":
                            pre = pre + pf()
                        data = ff(msg)
                        if where == "inside C1":
                            data = self.comp_packet(1, pre + data, rng.choice(["new", "old-indet"]))
                        else:
                            data = pre + data
                        self.add(cls, gg, f"[{gname} keyring] {pname}, {fname} ({where}, {st}-style)", d, data)
            # signed messages with nothing encrypted (the secret keyrings must still verify them)
            for i in range(self.n(12)):
                d = self.digest()
                st = ("goc", "gpg", "go")[i % 3]
                self.add(cls, gg, f"[{gname} keyring] plain signed message ({st}-style)", d, self.msg(d, signer, st))
        # messages encrypted to EE and signed by EA, made by gpg
        gh = self.gpg_encryptor(sec_cert)
        for gname, gg, signer in groups[1:]:
            for i in range(self.n(6)):
                for how in ("--encrypt --sign", "--encrypt --sign --compress-algo none", "--symmetric --sign",
                            "--encrypt --sign --throw-keyids", "--encrypt (not signed)"):
                    d = self.digest()
                    pl = self.payload(d)
                    data = gh(pl, how)
                    if data is None:
                        continue
                    known = " (KNOWN: Go decrypts with the secret key in the clear; sigbundle does not decrypt)" \
                        if gname.startswith("secret-in-the-clear") and how.startswith("--encrypt --sign") else ""
                    self.add(cls, gg, f"[{gname} keyring] gpg {how}{known}", d, data)

    def gpg_encryptor(self, sec_cert: bytes):
        """A function (payload, how) -> gpg's output, with EA (+EE) imported in a fresh home."""
        import tempfile
        home = tempfile.mkdtemp(prefix="gnupg-enc-", dir=self.tmp)
        os.chmod(home, 0o700)
        fn = os.path.join(home, "sec.gpg")
        with open(fn, "wb") as f:
            f.write(sec_cert)
        subprocess.run(["gpg", "--homedir", home, "--batch", "--import", fn], capture_output=True)
        EA = self.K["EA"]

        def run(pl: bytes, how: str):
            p = os.path.join(home, "payload.json")
            with open(p, "wb") as f:
                f.write(pl)
            os.utime(p, (NOW_T, NOW_T))
            cmd = ["gpg", "--homedir", home, "--batch", "--yes", "--no-tty", "--pinentry-mode", "loopback",
                   "--passphrase", "pw", "--faked-system-time", f"{NOW_T}!", "--trust-model", "always",
                   "-u", EA.fingerprint.hex() + "!", "--no-emit-version"]
            if how.startswith("--encrypt"):
                cmd += ["-r", EA.fingerprint.hex(), "--encrypt"]
                if "--sign" in how:
                    cmd += ["--sign"]
                if "none" in how:
                    cmd += ["--compress-algo", "none"]
                if "throw" in how:
                    cmd += ["--throw-keyids"]
            else:
                cmd += ["--symmetric", "--sign", "--s2k-count", "1024"]
            cmd += ["-o", "-", p]
            r = subprocess.run(cmd, capture_output=True)
            return r.stdout if r.returncode == 0 and r.stdout else None
        return run

    # ========================================================================== json-deep
    def json_deep_variants(self):
        T = "atomic container signature"
        ID = "quay.io/openshift-release-dev/ocp-release:4.15.0-x86_64"
        FIELDS = ["critical", "optional", "type", "image", "identity", "docker-manifest-digest", "docker-reference",
                  "creator", "timestamp"]
        rng = random.Random(f"{self.seed}-json-deep-variants")

        def q(s):
            return json.dumps(s, ensure_ascii=False)

        def build(dg, keys=None, vals=None, ws=lambda: "", extra=None):
            k = {f: q(f) for f in FIELDS}
            k.update(keys or {})
            v = {"type": q(T), "docker-manifest-digest": q(dg), "docker-reference": q(ID), "creator": q("difftest"),
                 "timestamp": "1700000000"}
            v.update(vals or {})
            ex = extra or {}
            w = ws

            def obj(pairs, where):
                parts = []
                for name, val in pairs:
                    parts.append(f"{w()}{k[name]}{w()}:{w()}{val}")
                parts += ex.get(where, [])
                return "{" + ",".join(parts) + w() + "}"
            img = v.get("image") or obj([("docker-manifest-digest", v["docker-manifest-digest"])], "image")
            idn = v.get("identity") or obj([("docker-reference", v["docker-reference"])], "identity")
            crit = v.get("critical") or obj([("type", v["type"]), ("image", img), ("identity", idn)], "critical")
            opt = v.get("optional") or obj([("creator", v["creator"]), ("timestamp", v["timestamp"])], "optional")
            return (w() + obj([("critical", crit), ("optional", opt)], "top") + w() + ex.get("after", "")).encode()

        def esc_all(s):
            return '"' + "".join(f"\\u{ord(c):04x}" if ord(c) < 0x10000 else c for c in s) + '"'

        def esc_some(s, which):
            return '"' + "".join(f"\\u{ord(c):04x}" if which(c) else c for c in s) + '"'

        V = []

        def v(name, fn):
            V.append((name, fn))
        # 1: every field name in every case-fold form
        forms = [
            ("UPPER", lambda s: s.upper()), ("Title", lambda s: s[:1].upper() + s[1:]), ("sWAPPED", lambda s: s.swapcase()),
            ("rAnDoM", lambda s: "".join(c.upper() if rng.random() < 0.5 else c for c in s)),
            ("k as U+212A", lambda s: s.replace("k", "\u212a")), ("K upper and U+212A", lambda s: s.upper().replace("K", "\u212a", 1)),
            ("s as U+017F", lambda s: s.replace("s", "\u017f")), ("S upper and U+017F", lambda s: s.upper().replace("S", "\u017f", 1)),
            ("i as dotless U+0131", lambda s: s.replace("i", "\u0131")), ("I as U+0130", lambda s: s.upper().replace("I", "\u0130")),
            ("fullwidth first letter", lambda s: chr(ord(s[0]) - 0x61 + 0xFF41) + s[1:]),
            ("trailing space", lambda s: s + " "), ("hyphen as U+2010", lambda s: s.replace("-", "\u2010")),
            ("hyphen as underscore", lambda s: s.replace("-", "_")), ("e as U+0435 (Cyrillic)", lambda s: s.replace("e", "\u0435", 1)),
            ("long s and Kelvin, rest upper", lambda s: s.upper().replace("S", "\u017f").replace("K", "\u212a")),
        ]
        for f in FIELDS:
            for fname, ff in forms:
                nm = ff(f)
                if nm == f and fname not in ("rAnDoM",):
                    continue
                for enc_name, enc in (("raw", q), ("escaped", esc_all), ("special chars escaped", lambda s: esc_some(s, lambda c: ord(c) > 127 or c.isupper()))):
                    v(f"field {f} written {fname} ({enc_name})", lambda dg, f=f, nm=nm, enc=enc: build(dg, keys={f: enc(nm)}))
        for fname, ff in forms[:8]:
            v(f"every field written {fname}", lambda dg, ff=ff: build(dg, keys={f: q(ff(f)) for f in FIELDS}))
        for f in FIELDS:
            v(f"field {f} exact and folded duplicate (folded last)", lambda dg, f=f: build(dg, extra={
                {"critical": "top", "optional": "top", "type": "critical", "image": "critical", "identity": "critical",
                 "docker-manifest-digest": "image", "docker-reference": "identity", "creator": "optional",
                 "timestamp": "optional"}[f]: [f"{q(f.upper())}:null"]}))
        # 2: escapes in names and values
        for name, raw in (("NUL", "\\u0000"), ("surrogate pair", "\\ud83d\\ude00"), ("lone high surrogate", "\\ud800"),
                          ("lone low surrogate", "\\udc00"), ("reversed pair", "\\udc00\\ud800"),
                          ("high surrogate then \\u0041", "\\ud800\\u0041"), ("high surrogate then letter", "\\ud800x"),
                          ("two high surrogates", "\\ud800\\ud800"), ("high then low then low", "\\ud83d\\ude00\\ude00"),
                          ("escaped slash", "\\/"), ("escaped U+FFFD", "\\ufffd"), ("escaped U+FEFF", "\\ufeff"),
                          ("all simple escapes", "\\b\\f\\n\\r\\t\\\"\\\\"), ("uppercase hex", "\\uD83D\\uDE00")):
            v(f"{name} in creator", lambda dg, raw=raw: build(dg, vals={"creator": f'"a{raw}b"'}))
            v(f"{name} in docker-reference", lambda dg, raw=raw: build(dg, vals={"docker-reference": f'"{ID}{raw}"'}))
            v(f"{name} as the whole docker-reference", lambda dg, raw=raw: build(dg, vals={"docker-reference": f'"{raw}"'}))
            v(f"{name} after type", lambda dg, raw=raw: build(dg, vals={"type": f'"{T}{raw}"'}))
            v(f"{name} appended to the key creator", lambda dg, raw=raw: build(dg, keys={"creator": f'"creator{raw}"'}))
        v("escaped key equal to timestamp", lambda dg: build(dg, keys={"timestamp": '"\\u0074imestamp"'}))
        v("escaped key equal to critical (all escaped)", lambda dg: build(dg, keys={"critical": esc_all("critical")}))
        v("escaped Kelvin in docker-reference key", lambda dg: build(dg, keys={"docker-reference": '"doc\\u212aer-reference"'}))
        v("escaped long s in timestamp key", lambda dg: build(dg, keys={"timestamp": '"time\\u017ftamp"'}))
        v("invalid UTF-8 in the creator key", lambda dg: build(dg, keys={"creator": '"creat\xffor"'}).replace("\xff".encode(), b"\xff"))
        v("invalid UTF-8 in creator value", lambda dg: build(dg, vals={"creator": '"a\xc3b"'}).replace("\xc3".encode(), b"\xc3"))
        # 3: timestamp numbers
        for ts in ("9223372036854775807", "-9223372036854775808", "9223372036854775808", "-9223372036854775809",
                   "-0", "0", "0e0", "0E0", "0e+0", "-0e-0", "0.0", "-0.0", "1E+2", "1e2", "100", "00", "-", "1.", ".5",
                   "0x10", "1e400", "-1e400", "123456789012345678901234567890", "-1", "4294967296", "18446744073709551615",
                   "1.0e0", "2e-1", "+0", "- 1", "1 ", " 1", "0000"):
            v(f"timestamp {ts!r}", lambda dg, ts=ts: build(dg, vals={"timestamp": ts}))
        # 4: nesting depth (Go's scanner allows 10,000 levels)
        for depth in (9997, 9998, 9999, 10000, 10001):
            for where in ("unknown field at top", "unknown field in optional", "creator value", "after the document",
                          "after the document, unterminated"):
                def fn(dg, depth=depth, where=where):
                    if where == "unknown field at top":
                        return build(dg, extra={"top": ['"x":' + "[" * (depth - 1) + "]" * (depth - 1)]})
                    if where == "unknown field in optional":
                        return build(dg, extra={"optional": ['"x":' + "[" * (depth - 2) + "]" * (depth - 2)]})
                    if where == "creator value":
                        return build(dg, vals={"creator": "[" * (depth - 2) + "]" * (depth - 2)})
                    if where == "after the document":
                        return build(dg) + ("[" * depth + "]" * depth).encode()
                    return build(dg) + ("[" * depth).encode()
                v(f"nesting: {depth} levels, {where}", fn)
        v("nesting 10001 objects deep in an unknown field", lambda dg: build(dg, extra={"top": ['"x":' + '{"a":' * 10000 + "1" + "}" * 10000]}))
        # 5: long strings
        for n in (70000, 300000, 900000):
            v(f"creator of {n} bytes", lambda dg, n=n: build(dg, vals={"creator": q("c" * n)}))
        v("docker-reference of 60000 bytes", lambda dg: build(dg, vals={"docker-reference": q("quay.io/x:" + "y" * 60000)}))
        v("payload just over 1 MiB (whitespace after the document)", lambda dg: build(dg) + b" " * (1 << 20))
        v("unknown field with a 200000-byte string", lambda dg: build(dg, extra={"top": ['"x":' + q("z" * 200000)]}))
        # 6: objects/arrays/other types as string values
        for f in ("type", "docker-manifest-digest", "docker-reference", "creator"):
            for val in ("{}", '{"a":1}', "[]", '["x"]', "true", "1", "1.5", '{"type":"x"}'):
                v(f"{f} = {val}", lambda dg, f=f, val=val: build(dg, vals={f: val}))
        for f in ("critical", "optional", "image", "identity"):
            for val in ('"x"', "1", "[]", "true", "[{}]"):
                v(f"{f} = {val}", lambda dg, f=f, val=val: build(dg, vals={f: val}))
        # 7: null everywhere, and duplicates whose last value is null
        for f in FIELDS:
            v(f"{f} null", lambda dg, f=f: build(dg, vals={f: "null"}))
            par = {"critical": "top", "optional": "top", "type": "critical", "image": "critical", "identity": "critical",
                   "docker-manifest-digest": "image", "docker-reference": "identity", "creator": "optional",
                   "timestamp": "optional"}[f]
            v(f"{f} repeated with null last", lambda dg, f=f, par=par: build(dg, extra={par: [f"{q(f)}:null"]}))
            v(f"{f} repeated (folded name) with null last", lambda dg, f=f, par=par: build(dg, extra={par: [f"{q(f.upper())}:null"]}))
        v("null critical before the real critical", lambda dg: build(dg, extra={"top": []}).replace(b'{"critical"', b'{"critical":null,"critical"', 1))
        # 8: duplicate objects merging partially
        v("critical split in three objects", lambda dg: b'{"critical":{"type":' + q(T).encode() + b'},"critical":{"image":{"docker-manifest-digest":'
          + q(dg).encode() + b'}},"critical":{"identity":{"docker-reference":' + q(ID).encode() + b'}},"optional":{}}')
        v("image twice, second empty", lambda dg: build(dg, extra={"critical": ['"image":{}']}))
        v("image twice, second with another digest", lambda dg: build(dg, extra={"critical": ['"image":{"docker-manifest-digest":"sha256:' + "0" * 64 + '"}']}))
        v("identity twice, second null reference", lambda dg: build(dg, extra={"critical": ['"identity":{"docker-reference":null}']}))
        v("identity twice, second empty reference", lambda dg: build(dg, extra={"critical": ['"identity":{"docker-reference":""}']}))
        v("CRITICAL with the image, critical without", lambda dg: b'{"critical":{"type":' + q(T).encode() + b',"identity":{"docker-reference":'
          + q(ID).encode() + b'}},"CRITICAL":{"IMAGE":{"DOCKER-MANIFEST-DIGEST":' + q(dg).encode() + b'}}}')
        v("optional twice, merged", lambda dg: build(dg, extra={"top": ['"optional":{"creator":"second"}']}))
        v("critical twice, second has an unknown field", lambda dg: build(dg, extra={"top": ['"critical":{"extra":1}']}))
        v("critical twice, second wrong type", lambda dg: build(dg, extra={"top": ['"critical":{"type":"x"}']}))
        v("critical then an array critical", lambda dg: build(dg, extra={"top": ['"critical":[]']}))
        # 9: whitespace
        for wname, chars in (("spaces", " "), ("tabs", "\t"), ("newlines", "\n"), ("CRs", "\r"), ("CRLF", "\r\n"),
                             ("mixed", " \t\r\n"), ("form feed", "\f"), ("vertical tab", "\v"), ("NBSP", "\u00a0"),
                             ("U+2028", "\u2028"), ("NUL", "\0"), ("U+FEFF", "\ufeff"), ("U+3000", "\u3000")):
            for density in (1.0, 0.1):
                v(f"{wname} between tokens ({'everywhere' if density == 1.0 else 'sometimes'})",
                  lambda dg, chars=chars, density=density: build(dg, ws=lambda: (chars if rng.random() < density else "")))
            v(f"{wname} before the document", lambda dg, chars=chars: chars.encode() + build(dg))
            v(f"{wname} after the document", lambda dg, chars=chars: build(dg) + chars.encode())
        return V

    def cls_json_deep(self):
        cls = "json-deep"
        g = self.mgroup(cls)
        A = self.K["A"]
        V = self.json_deep_variants()
        target = self.n(2500)
        i = 0
        while self.count[cls] < target:
            name, fn = V[i % len(V)]
            i += 1
            d = self.digest()
            pl = fn(d)
            big = len(pl) > 40000
            r = self.rng.random()
            if big:
                st = "gpg"
                data = self.msg(d, A, st, payload=pl)
                how = "gpg-style (compressed)"
            elif r < 0.06:
                data = self.gpg.sign(A, pl, ["--compress-algo", self.rng.choice(["zip", "zlib", "none"])])
                how = "gpg"
                if data is None:
                    continue
            else:
                st = self.style()
                data = self.msg(d, A, st, payload=pl)
                how = f"{st}-style"
            self.add(cls, g, f"{name} ({how})", d, data)

    # ========================================================================== keyring-deep
    def cls_keyring_deep(self):
        cls = "keyring-deep"
        self.deep_keys()
        K = self.K
        rng = self.rng
        uid = self.uid
        per = self.n(6)

        def kgroup(name, data):
            path = self.write_key(f"krd-{name}.{'asc' if data[:5] == b'-----' or data[:4] == b'This' else 'gpg'}", data)
            return self.group(f"krd-{name}", [("verifier-public-key-krd", path)])

        def cases(g, name, signers, x5=False, n=None):
            tag = " [x5]" if x5 else ""
            for i in range(n or per):
                for label, key in signers:
                    d = self.digest()
                    st = ("goc", "gpg", "go")[i % 3]
                    try:
                        data = self.msg(d, key, st)
                    except Exception as e:  # a key that cannot sign (e.g. DSA with odd q sizes)
                        data = b""
                    self.add(cls, g, f"{name}: signed by {label} ({st}-style){tag}", d, data)

        P1, P2, P3, P4 = K["Q1"], K["Q2"], K["Q3"], K["Q4"]
        S1, S2 = K["S1"], K["S2"]
        uA, uB, uC = b"Alpha <a@example.com>", b"Bravo <b@example.com>", b"Charlie <c@example.com>"

        def uids(primary, specs):
            out = pkt(TAG_PUBKEY, primary.body(), "old")
            for u, kw in specs:
                extra = kw.pop("extra_sigs", [])
                out += pkt(TAG_UID, u, "old") + pkt(TAG_SIG, self_sig(primary, u, **kw), "old")
                for e in extra:
                    out += pkt(TAG_SIG, e, "old")
            return out
        rr = sp(SP_REVOCATION_REASON, b"\x20gone")
        # 1: several user ids whose self-signatures disagree (Go picks one from a map)
        for nm, specs, x5 in (
                ("uids-none-primary-sign-vs-certify", [(uA, dict(flags=0x03)), (uB, dict(flags=0x01))], True),
                ("uids-both-primary-sign-vs-certify", [(uA, dict(flags=0x03, primary_uid=True)), (uB, dict(flags=0x01, primary_uid=True))], True),
                ("uids-three-none-primary", [(uA, dict(flags=0x01)), (uB, dict(flags=0x03)), (uC, dict(flags=0x0C))], True),
                ("uids-none-primary-one-with-revocation-reason", [(uA, dict(flags=0x03)), (uB, dict(flags=0x03, extra_hashed=rr))], True),
                ("uids-primary-false-vs-no-flag", [(uA, dict(flags=0x03, primary_uid=False)), (uB, dict(flags=0x01))], True),
                ("uids-none-primary-flags-vs-no-flags", [(uA, dict(flags=None)), (uB, dict(flags=0x01))], True),
                ("uids-none-primary-both-sign", [(uA, dict(flags=0x03)), (uB, dict(flags=0x02))], False),
                ("uids-one-primary-sign", [(uA, dict(flags=0x01)), (uB, dict(flags=0x03, primary_uid=True))], False),
                ("uids-one-primary-certify", [(uA, dict(flags=0x03)), (uB, dict(flags=0x01, primary_uid=True))], False),
                ("uids-same-name-twice-last-certify", [(uA, dict(flags=0x03)), (uA, dict(flags=0x01, created=K["Q1"].created + 10))], False),
                ("uids-same-name-twice-last-sign", [(uA, dict(flags=0x01)), (uA, dict(flags=0x03, created=K["Q1"].created + 10))], False),
                ("uids-two-primary-both-certify-third-sign", [(uA, dict(flags=0x01, primary_uid=True)), (uB, dict(flags=0x01, primary_uid=True)), (uC, dict(flags=0x03))], False),
                ("uids-many-none-primary-one-certify", [(bytes(f"U{i} <u{i}@example.com>", "ascii"), dict(flags=0x03 if i else 0x01)) for i in range(9)], True),
                ("uid-self-sig-then-newer-certify-only", [(uA, dict(flags=0x03, extra_sigs=[self_sig(K["Q1"], uA, flags=0x01, created=K["Q1"].created + 99)]))], False),
                ("uid-self-sig-then-older-certify-only", [(uA, dict(flags=0x03, created=K["Q1"].created + 99, extra_sigs=[self_sig(K["Q1"], uA, flags=0x01)]))], False)):
            specs = [(u, dict(kw)) for u, kw in specs]
            g = kgroup(nm, armor(uids(P1, specs)))
            cases(g, nm, [("primary", P1)], x5=x5, n=per + (4 if x5 else 0))
        # 2: subkey binding signatures in several orders
        def bind(sub, **kw):
            return pkt(TAG_SIG, subkey_binding(P2, sub, **kw), "old")

        def srev(sub, reason, created=None):
            h = sp_created(created or sub.created + 500)
            if reason is not None:
                h += sp(SP_REVOCATION_REASON, bytes([reason]) + b"x")
            h += sp_issuer(P2)
            return pkt(TAG_SIG, sig_v4(P2, P2.keyhash_prefix() + sub.keyhash_prefix(), sigtype=0x28, hashed=h).body, "old")
        base = pkt(TAG_PUBKEY, P2.body(), "old") + pkt(TAG_UID, uid, "old") + pkt(TAG_SIG, self_sig(P2, uid), "old")
        sk = pkt(TAG_PUBSUB, S1.body(), "old")
        t0 = S1.created
        for nm, sigs in (
                ("bind-sign-then-newer-certify", [bind(S1, flags=0x02), bind(S1, flags=0x01, created=t0 + 100, cross=False)]),
                ("bind-encrypt-newer-first-then-older-sign", [bind(S1, flags=0x0C, created=t0 + 100, cross=False), bind(S1, flags=0x02)]),
                ("bind-same-time-sign-then-encrypt", [bind(S1, flags=0x02), bind(S1, flags=0x0C, cross=False)]),
                ("bind-same-time-encrypt-then-sign", [bind(S1, flags=0x0C, cross=False), bind(S1, flags=0x02)]),
                ("revocation-with-reason-then-binding", [srev(S1, 2), bind(S1, flags=0x02, created=t0 + 1000)]),
                ("revocation-without-reason-then-binding", [srev(S1, None), bind(S1, flags=0x02, created=t0 + 1000)]),
                ("binding-then-revocation-without-reason", [bind(S1, flags=0x02), srev(S1, None)]),
                ("binding-then-revocation-with-reason", [bind(S1, flags=0x02), srev(S1, 1)]),
                ("binding-then-revocation-reason-0", [bind(S1, flags=0x02), srev(S1, 0)]),
                ("two-revocations-second-without-reason", [bind(S1, flags=0x02), srev(S1, 3), srev(S1, None)]),
                ("bind-no-flags-no-cross-sig", [bind(S1, flags=None, cross=False)]),
                ("bind-encrypt-then-newer-no-flags", [bind(S1, flags=0x0C, cross=False), bind(S1, flags=None, cross=False, created=t0 + 50)]),
                ("bind-sign-without-cross-sig-then-valid", [bind(S1, flags=0x02, cross=False), bind(S1, flags=0x02, created=t0 + 5)]),
                ("bind-valid-then-sign-without-cross-sig", [bind(S1, flags=0x02), bind(S1, flags=0x02, cross=False, created=t0 + 5)]),
                ("bind-older-then-newer-both-sign", [bind(S1, flags=0x02), bind(S1, flags=0x02, created=t0 + 5)]),
                ("subkey-twice", [bind(S1, flags=0x02), sk, bind(S1, flags=0x0C, cross=False)]),
                ("binding-then-direct-key-sig", [bind(S1, flags=0x02), pkt(TAG_SIG, direct_key_sig(P2), "old")]),
                ("binding-then-uid-cert", [bind(S1, flags=0x02), pkt(TAG_SIG, self_sig(P2, uid), "old")])):
            g = kgroup(nm, armor(base + sk + b"".join(sigs)))
            cases(g, nm, [("primary", P2), ("subkey", S1)])
        # 3: MPIs with leading zeros, odd bit counts
        def custom_cert(ck):
            return cert(ck, uid)
        A2 = K["Q3"]
        var = [
            ("rsa-n-leading-zero-byte", CustomKey(A2, mpi(b"\0" + i2b(A2.n), "go") + mpi(A2.e))),
            ("rsa-n-bitcount-plus-3", CustomKey(A2, mpi(i2b(A2.n), "raw", A2.n.bit_length() + 3) + mpi(A2.e))),
            ("rsa-n-bitcount-minus-1", CustomKey(A2, mpi(i2b(A2.n), "raw", A2.n.bit_length() - 1) + mpi(A2.e))),
            ("rsa-e-bitcount-24", CustomKey(A2, mpi(A2.n) + mpi(i2b(A2.e), "raw", 24))),
            ("rsa-e-leading-zero-byte", CustomKey(A2, mpi(A2.n) + mpi(b"\0" + i2b(A2.e), "go"))),
            ("rsa-e-two-leading-zero-bytes", CustomKey(A2, mpi(A2.n) + mpi(b"\0\0" + i2b(A2.e), "go"))),
            ("rsa-n-two-leading-zero-bytes", CustomKey(A2, mpi(b"\0\0" + i2b(A2.n), "go") + mpi(A2.e))),
        ]
        E = K["E256"]
        pt = E.point
        x = pt[1:33]
        ybit = pt[-1] & 1
        oid = OID["p256"]
        var += [
            ("ecdsa-point-bitcount-520", CustomKey(E, bytes([len(oid)]) + oid + mpi(pt, "go"))),
            ("ecdsa-point-compressed", CustomKey(E, bytes([len(oid)]) + oid + mpi(bytes([2 + ybit]) + x))),
            ("ecdsa-point-compressed-wrong-parity", CustomKey(E, bytes([len(oid)]) + oid + mpi(bytes([3 - ybit]) + x))),
            ("ecdsa-point-hybrid-06", CustomKey(E, bytes([len(oid)]) + oid + mpi(bytes([6 + ybit]) + pt[1:]))),
            ("ecdsa-point-leading-zero", CustomKey(E, bytes([len(oid)]) + oid + mpi(b"\0" + pt, "go"))),
            ("ecdsa-oid-9-bytes", CustomKey(E, bytes([9]) + oid + b"\x00" + mpi(pt))),
            ("ecdsa-point-x-only", CustomKey(E, bytes([len(oid)]) + oid + mpi(b"\x04" + x))),
        ]
        D = K["D1024"]
        var += [("dsa-p-leading-zero", CustomKey(D, mpi(b"\0" + i2b(D.p), "go") + mpi(D.q) + mpi(D.g) + mpi(D.y))),
                ("dsa-q-bitcount-plus-8", CustomKey(D, mpi(D.p) + mpi(i2b(D.q), "raw", D.q.bit_length() + 8) + mpi(D.g) + mpi(D.y)))]
        good = K["Q4"]
        for nm, ck in var:
            try:
                c = custom_cert(ck)
            except Exception:
                continue
            g = kgroup(nm, armor(c + cert(good, uid)))
            cases(g, nm, [("the odd key", ck), ("a good key beside it", good)])
        # 4: unusual RSA / DSA keys
        n_even = A2.n + 1
        odd_rsa = [
            ("rsa-1023-bits", K["R1023"]), ("rsa-1024-bits", K["R1024"]), ("rsa-e-ffffff", K["Rffffff"]),
            ("rsa-e-1", CustomKey(K["Re1"], mpi(K["Re1"].n) + mpi(1))),
            ("rsa-e-2^31+1", CustomKey(A2, mpi(A2.n) + mpi(2 ** 31 + 1))),
            ("rsa-e-even-3-bytes", CustomKey(A2, mpi(A2.n) + mpi(0x010000))),
            ("rsa-even-modulus", CustomKey(A2, mpi(n_even) + mpi(A2.e))),
            ("rsa-p-equals-q", K["Rpp"]), ("rsa-close-primes", K["Rclose"]),
            ("dsa-q-161-bits", K["D161"]), ("dsa-q-159-bits", K["D159"]),
        ]
        for nm, k in odd_rsa:
            for beside in ("alone", "beside a good key"):
                try:
                    c = custom_cert(k)
                except Exception:
                    continue
                data = c + (cert(good, uid) if beside != "alone" else b"")
                g = kgroup(f"{nm}-{beside.replace(' ', '-')}", armor(data))
                cases(g, f"{nm} ({beside})", [("the odd key", k)] + ([("the good key", good)] if beside != "alone" else []))
        # 5: secret keys (Go 1.25's rsa.Validate runs on every RSA secret key in the clear)
        def sec_with(k: Key, **over):
            kk = Key(k.kind, k.created, k.algo, **{a: getattr(k, a) for a in ("n", "e", "p", "q", "d", "bits")})
            kk.__dict__.update(over)
            return kk

        def sec_cert(k: Key, secret_body: bytes):
            return pkt(TAG_SECKEY, secret_body, "old") + pkt(TAG_UID, uid, "old") + pkt(TAG_SIG, self_sig(k, uid), "old")
        G = K["Q4"]
        lam = (G.p - 1) * (G.q - 1)
        secvars = [
            ("secret-plain", G, G.secret_body()),
            ("secret-d-plus-phi (d >= n)", G, sec_with(G, d=G.d + lam).secret_body()),
            ("secret-d-plus-2phi", G, sec_with(G, d=G.d + 2 * lam).secret_body()),
            ("secret-p-q-swapped", G, sec_with(G, p=G.q, q=G.p).secret_body()),
            ("secret-bad-checksum", G, G.secret_body()[:-2] + b"\x00\x00"),
            ("secret-no-checksum", G, G.secret_body()[:-2]),
            ("secret-d-wrong", G, sec_with(G, d=G.d + 2).secret_body()),
            ("secret-close-primes", K["Rclose"], K["Rclose"].secret_body()),
            ("secret-p-equals-q", K["Rpp"], secret_body_any(K["Rpp"])),
            ("secret-locked-aes256", G, locked_secret_body(G, rng)),
            ("secret-locked-cast5", G, locked_secret_body(G, rng, cipher=3)),
            ("secret-locked-idea", G, locked_secret_body(G, rng, cipher=1)),
            ("secret-locked-usage-255", G, locked_secret_body(G, rng, usage=255)),
            ("secret-locked-s2k-gnu-dummy", G, locked_secret_body(G, rng, s2k=b"\x65\x02", extra=b"GNU\x01")),
            ("secret-locked-s2k-simple-md5", G, locked_secret_body(G, rng, s2k=b"\x00\x01")),
            ("secret-locked-s2k-ripemd", G, locked_secret_body(G, rng, s2k=b"\x03\x03")),
            ("secret-usage-9-deprecated", G, G.body() + b"\x09" + rng.randbytes(300)),
            ("secret-truncated-mpi", G, G.secret_body()[:len(G.body()) + 40]),
        ]
        for nm, k, body in secvars:
            for layout in ("primary", "primary beside a good public key", "binary"):
                data = sec_cert(k, body)
                if layout == "primary beside a good public key":
                    data = cert(K["Q1"], uid) + data
                kd = data if layout == "binary" else armor(data, "PGP PRIVATE KEY BLOCK")
                g = kgroup(f"{nm.split(' ')[0]}-{layout.replace(' ', '-')}", kd)
                signers = [("the secret key's public part", k)] + ([("the good key", K["Q1"])] if "beside" in layout else [])
                cases(g, f"{nm} ({layout})", signers, n=max(2, per // 2))
        # a secret *subkey* Go's Validate refuses, beside a good primary
        for nm, subbody in (("secret-subkey-d-plus-phi", sec_with(S2, d=S2.d + (S2.p - 1) * (S2.q - 1)).secret_body()),
                            ("secret-subkey-plain", S2.secret_body())):
            data = (pkt(TAG_SECKEY, P3.secret_body(), "old") + pkt(TAG_UID, uid, "old") + pkt(TAG_SIG, self_sig(P3, uid), "old")
                    + pkt(TAG_SECSUB, subbody, "old") + pkt(TAG_SIG, subkey_binding(P3, S2, flags=0x02), "old"))
            g = kgroup(nm, armor(data, "PGP PRIVATE KEY BLOCK"))
            cases(g, nm, [("primary", P3), ("subkey", S2)], n=max(2, per // 2))
        # secret keyrings whose first entity is broken: Go's readToNextPublicKey only stops at a
        # *public* primary key packet, so the secret entities after a broken one are skipped too
        good_sec = pkt(TAG_SECKEY, K["Q1"].secret_body(), "old") + pkt(TAG_UID, uid, "old") + pkt(TAG_SIG, self_sig(K["Q1"], uid), "old")
        bad_sec = pkt(TAG_SECKEY, G.secret_body(), "old") + pkt(TAG_UID, uid, "old") + pkt(TAG_SIG, self_sig(G, uid, bad=True), "old")
        bad_pub = cert(G, uid, bad=True)
        for nm, data in (("secret-broken-then-good-secret", bad_sec + good_sec),
                         ("public-broken-then-good-secret", bad_pub + good_sec),
                         ("secret-broken-then-good-public", bad_sec + cert(K["Q1"], uid)),
                         ("secret-broken-then-good-secret-then-good-public", bad_sec + good_sec + cert(K["Q2"], uid))):
            g = kgroup(nm, armor(data, "PGP PRIVATE KEY BLOCK"))
            cases(g, nm, [("the first good key", K["Q1"])] + ([("the public key", K["Q2"])] if "then-good-public" in nm else []),
                  n=max(2, per // 2))
        # an ECDH secret key in the clear: x/crypto/openpgp has no case for it (panic("impossible"))
        ecdh = K["ECDH"]
        for nm, data in (("secret-ecdh-subkey-in-the-clear", pkt(TAG_SECKEY, K["Q1"].secret_body(), "old") + pkt(TAG_UID, uid, "old")
                          + pkt(TAG_SIG, self_sig(K["Q1"], uid), "old") + pkt(TAG_SECSUB, ecdh.secret_body(), "old")
                          + pkt(TAG_SIG, subkey_binding(K["Q1"], ecdh, flags=0x0C, cross=False), "old")),
                         ("public-key-then-secret-ecdh-subkey", cert(K["Q1"], uid) + pkt(TAG_SECSUB, ecdh.secret_body(), "old")
                          + pkt(TAG_SIG, subkey_binding(K["Q1"], ecdh, flags=0x0C, cross=False), "old"))):
            g = kgroup(nm, armor(data, "PGP PRIVATE KEY BLOCK"))
            cases(g, nm, [("the primary", K["Q1"])], n=max(2, per // 2))
        # 6: armour: Go decodes base64 line by line as it reads (padding may end any 4-aligned chunk,
        # CRs inside lines are dropped), the port's reader must do the same
        C = cert(K["Q1"], uid)
        b64 = base64.b64encode(C).decode()
        pk_list = label_packets(C)[1]

        def arm(lines, typ="PGP PUBLIC KEY BLOCK", crc=True, eol="\n", headers=()):
            out = [f"-----BEGIN {typ}-----"] + [f"{k}: {v}" for k, v in headers] + [""] + lines
            if crc:
                out.append("=" + base64.b64encode(crc24(C).to_bytes(3, "big")).decode())
            out.append(f"-----END {typ}-----")
            return (eol.join(out) + eol).encode()
        std = [b64[i:i + 64] for i in range(0, len(b64), 64)]
        per_packet = [l for _, s, e in pk_list for l in (lambda b: [b[i:i + 64] for i in range(0, len(b), 64)])(
            base64.b64encode(C[s:e]).decode())]
        chunks7 = [base64.b64encode(C[i:i + 7 * 3 + 1]).decode() for i in range(0, len(C), 22)]
        arms = [
            ("armor-standard", arm(std)),
            ("armor-one-base64-line-per-packet (padding at line ends)", arm(per_packet)),
            ("armor-padding-every-line (22-byte chunks)", arm(chunks7)),
            ("armor-padding-mid-line", arm([base64.b64encode(C[:10]).decode() + base64.b64encode(C[10:]).decode()[:40]]
                                           + [x for x in (lambda s: [s[i:i + 64] for i in range(0, len(s), 64)])(base64.b64encode(C[10:]).decode()[40:])])),
            ("armor-CR-inside-lines", arm([l[:10] + "\r" + l[10:] for l in std])),
            ("armor-CRCRLF-line-ends", arm(std, eol="\r\r\n")),
            ("armor-CRCRLF-line-ends-no-crc", arm(std, eol="\r\r\n", crc=False)),
            ("armor-CR-inside-lines-no-crc", arm([l[:10] + "\r" + l[10:] for l in std], crc=False)),
            ("armor-one-base64-block-per-packet-no-crc", arm(per_packet, crc=False)),
            ("armor-CRLF", arm(std, eol="\r\n")),
            ("armor-lone-CR-line-ends", arm(std, eol="\r")),
            ("armor-trailing-space-on-lines", arm([l + " " for l in std])),
            ("armor-trailing-tab-on-lines", arm([l + "\t" for l in std])),
            ("armor-96-char-lines", arm([b64[i:i + 96] for i in range(0, len(b64), 96)])),
            ("armor-97-char-lines", arm([b64[i:i + 97] for i in range(0, len(b64), 97)])),
            ("armor-99-char-lines", arm([b64[i:i + 99] for i in range(0, len(b64), 99)])),
            ("armor-100-char-lines", arm([b64[i:i + 100] for i in range(0, len(b64), 100)])),
            ("armor-98-chars-plus-CR", arm([b64[i:i + 98] for i in range(0, len(b64), 98)], eol="\r\n")),
            ("armor-lines-of-5-chars", arm([b64[i:i + 5] for i in range(0, len(b64), 5)])),
            ("armor-line-of-5-chars-starting-with-=", arm(std[:1] + ["=AAAA"] + std[1:])),
            ("armor-crc-line-invalid-base64", arm(std, crc=False).replace(b"-----END", b"=A*AA\n-----END")),
            ("armor-crc-line-then-more-data", arm(std).replace(b"\n-----END", b"\nAAAA\n-----END")),
            ("armor-crc-wrong", arm(std, crc=False).replace(b"-----END", b"=AAAA\n-----END")),
            ("armor-no-crc", arm(std, crc=False)),
            ("armor-long-header-continued", arm(std, headers=[("Comment", "x" * 150)])),
            ("armor-header-without-colon-space", arm(std, headers=[("Comment", "")]).replace(b"Comment: \n", b"Comment:x\n")),
            ("armor-blank-line-with-spaces", arm(std).replace(b"-----\n\n", b"-----\n   \n", 1)),
            ("armor-begin-with-spaces-around", arm(std).replace(b"-----BEGIN", b"  -----BEGIN", 1).replace(b"BLOCK-----\n", b"BLOCK-----  \n", 1)),
            ("armor-no-blank-line", arm(std).replace(b"-----\n\n", b"-----\n", 1)),
            ("armor-end-line-with-suffix", arm(std).replace(b"-----END PGP PUBLIC KEY BLOCK-----", b"-----END whatever")),
            ("armor-missing-end-line", arm(std).split(b"-----END")[0]),
            ("armor-base64-url-alphabet", arm([l.replace("+", "-").replace("/", "_") for l in std])),
            ("armor-base64-no-padding", arm([b64.rstrip("=")])),
            ("armor-base64-extra-padding", arm(std[:-1] + [std[-1] + "===="])),
            ("armor-base64-nonzero-trailing-bits", arm(std[:-1] + [std[-1][:-3] + chr(ord(std[-1][-3]) + 1) + std[-1][-2:]]
                                                       if std[-1].endswith("==") else std)),
            ("armor-empty-lines-in-body", arm(std[:2] + [""] + std[2:])),
            ("armor-line-with-only-CR", arm(std[:2] + ["\r"] + std[2:])),
            ("armor-type-private-key-block", arm(std, typ="PGP PRIVATE KEY BLOCK")),
            ("armor-type-message", arm(std, typ="PGP MESSAGE")),
        ]
        for nm, data in arms:
            g = kgroup(nm.split(" ")[0], data)
            cases(g, nm, [("the key", K["Q1"])], n=max(2, per // 2))
