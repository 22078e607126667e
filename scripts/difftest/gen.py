#!/usr/bin/env python3
"""Signature-variant generator for the CVO differential campaign.

Writes, under OUT (keep it outside the repository):
  OUT/keys/...                         keyring files (and a ConfigMap YAML for multi-entry groups)
  OUT/stores/<group>/sha256=<hex>/signature-N
  OUT/cases.tsv                        id, class, group, entries, digest, transport, description
  OUT/groups.tsv                       group, transport, entries, configmap (or -)

Deterministic for a given --seed (GnuPG-made signatures use a faked, frozen clock).
See README.md beside this file for what each class covers.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pgp import *  # noqa: E402,F401,F403
from deep import DeepClasses  # noqa: E402

NOW_T = 1700000000          # creation time used by default (2023-11-14)
KEY_T = 1600000000          # key creation time (2020-09-13)
IDENTS = [
    "quay.io/openshift-release-dev/ocp-release:4.15.0-x86_64",
    "quay.io/openshift-release-dev/ocp-release:4.16.3-aarch64",
    "registry.ci.openshift.org/ocp/release:4.17.0-0.nightly-2024-06-01-000000",
    "quay.io/okd/scos-release:4.16.0-okd-scos.0",
]


# a well-formed user attribute packet body: one image subpacket (JPEG header, 4 bytes of "image")
UAT_BODY = b"\x15\x01" + b"\x10\x00\x01\x01" + b"\0" * 12 + b"\xff\xd8\xff\xe0"


def P(tag, body, fr=None):
    return ("pkt", tag, body, fr or {"fmt": "new"})


def C(algo, children, fr=None, **copts):
    return ("comp", algo, children, fr or {"fmt": "old-indet"}, copts)


def R(b):
    return ("raw", b)


def frame(tag: int, body: bytes, fr: dict) -> bytes:
    body = body + fr.get("trailing", b"")
    fmt = fr.get("fmt", "new")
    if fmt == "partial":
        ch = fr.get("chunks", "go")
        if ch == "go":
            return pkt(tag, body, "partial")
        if isinstance(ch, str) and ch.startswith("size:"):
            ch = chunks_for(len(body), int(ch[5:]))
        return pkt(tag, body, "partial", form=fr.get("form"), chunks=ch, final_empty=fr.get("final_empty", False)
                   and sum(ch) == len(body))
    hb = fr.get("hdr_tag_override")
    out = pkt(tag, body, fmt, form=fr.get("form"))
    if hb is not None:
        out = bytes([hb]) + out[1:]
    return out


def render(nodes) -> bytes:
    out = b""
    for n in nodes:
        if n[0] == "raw":
            out += n[1]
        elif n[0] == "pkt":
            out += frame(n[1], n[2], n[3])
        else:
            _, algo, children, fr, co = n
            parts = [render([c]) for c in children]
            inner = b"".join(parts)
            if co.get("raw_inner") is not None:
                inner = co["raw_inner"]
            kw = {}
            if algo in (1, 2):
                if co.get("flush_each"):
                    offs, acc = [], 0
                    for p_ in parts[:-1]:
                        acc += len(p_)
                        offs.append(-acc if co.get("full_flush") else acc)
                    kw["flush_points"] = offs
                for k in ("level", "strategy", "finish"):
                    if k in co:
                        kw[k] = co[k]
                if "flush_points" in co:
                    kw["flush_points"] = co["flush_points"]
            stream = compress(algo, inner, **kw) if algo in (1, 2, 3) else inner
            if co.get("cut") is not None:
                stream = stream[:co["cut"]] if co["cut"] >= 0 else stream[:len(stream) + co["cut"]]
            if co.get("flip") is not None:
                b = bytearray(stream)
                b[co["flip"]] ^= 0xFF
                stream = bytes(b)
            stream += co.get("append", b"")
            body = b"" if co.get("empty") else bytes([algo]) + stream
            out += frame(8, body, fr)
    return out


class GPG:
    """GnuPG in a temporary home, with the campaign's secret keys imported, clock frozen."""

    def __init__(self, secret_certs: bytes, tmp: str):
        self.home = tempfile.mkdtemp(prefix="gnupg-", dir=tmp)
        os.chmod(self.home, 0o700)
        with open(os.path.join(self.home, "sec.gpg"), "wb") as f:
            f.write(secret_certs)
        r = subprocess.run(["gpg", "--homedir", self.home, "--batch", "--import", os.path.join(self.home, "sec.gpg")],
                           capture_output=True)
        if r.returncode not in (0, 2):
            raise RuntimeError(r.stderr.decode())
        self.n = 0

    def sign(self, key: Key, payload: bytes, opts: list[str], t: int = NOW_T, mode="--sign") -> bytes | None:
        self.n += 1
        fn = os.path.join(self.home, "payload.json")
        with open(fn, "wb") as f:
            f.write(payload)
        os.utime(fn, (t, t))
        cmd = ["gpg", "--homedir", self.home, "--batch", "--yes", "--no-tty", "--pinentry-mode", "loopback",
               "--passphrase", "", "--faked-system-time", f"{t}!", "-u", key.fingerprint.hex() + "!",
               "--no-auto-key-locate", "--no-emit-version"] + opts + [mode, "-o", "-", fn]
        r = subprocess.run(cmd, capture_output=True)
        if r.returncode != 0:
            return None
        return r.stdout

    def close(self):
        subprocess.run(["gpgconf", "--homedir", self.home, "--kill", "all"], capture_output=True)
        shutil.rmtree(self.home, ignore_errors=True)


class Campaign(DeepClasses):
    def __init__(self, out: str, seed: int, vectors: str, scale: float):
        self.out = out
        self.seed = seed
        self.vectors = vectors
        self.scale = scale
        self.rng = random.Random(f"{seed}-cases")
        self.groups: dict[str, dict] = {}
        self.cases: list[tuple] = []
        self.count = collections.Counter()
        self.used_digests: set[str] = set()
        self.tmp = tempfile.mkdtemp(prefix="difftest-gen-")
        self.make_keys()

    # ------------------------------------------------------------------------------- keys
    def make_keys(self):
        t0 = time.time()
        kr = random.Random(f"{self.seed}-keys")
        K = self.K = {}
        K["A"] = Key.rsa(kr, 2048, KEY_T)
        K["T2"] = Key.rsa(kr, 2048, KEY_T + 10)
        K["U"] = Key.rsa(kr, 2048, KEY_T + 20)
        K["B"] = Key.rsa(kr, 4096, KEY_T + 30)
        K["R1024"] = Key.rsa(kr, 1024, KEY_T + 40)
        K["R3072"] = Key.rsa(kr, 3072, KEY_T + 50)
        K["Re3"] = Key.rsa(kr, 2048, KEY_T + 60, e=3)
        K["Ralg3"] = Key.rsa(kr, 2048, KEY_T + 70, algo=ALG_RSA_S)
        K["D1024"] = Key.dsa(kr, 1024, 160, KEY_T + 80)
        K["D2048"] = Key.dsa(kr, 2048, 256, KEY_T + 90)
        K["E256"] = Key.ecdsa(kr, "p256", KEY_T + 100)
        K["E384"] = Key.ecdsa(kr, "p384", KEY_T + 110)
        K["E521"] = Key.ecdsa(kr, "p521", KEY_T + 120)
        K["ED"] = Key.ed25519(kr, KEY_T + 130)
        K["ELG"] = Key.elgamal(kr, K["D2048"], KEY_T + 140)
        K["ECDH"] = Key.ecdsa(kr, "p256", KEY_T + 150, algo=ALG_ECDH)
        # keys for the keyring groups: primaries and subkeys
        for i in range(1, 9):
            K[f"P{i}"] = Key.rsa(kr, 2048, KEY_T + 200 + i)
            K[f"S{i}"] = Key.rsa(kr, 2048, KEY_T + 300 + i)
        K["Bold"] = Key.rsa(kr, 2048, 1262304000)   # created 2010
        self.uid = b"Difftest Signer <difftest@example.com>"
        os.makedirs(os.path.join(self.out, "keys"), exist_ok=True)
        self.main_keyring = self.write_key("main.asc", armor(cert(K["A"], self.uid) + cert(K["T2"]) + cert(K["B"])))
        sec = b""
        for name in ("A", "T2", "U", "B", "D1024", "D2048", "E256", "E384", "E521", "ED", "R1024", "R3072"):
            sec += cert(K[name], self.uid, secret=True)
        self.gpg = GPG(sec, self.tmp)
        print(f"keys made in {time.time() - t0:.1f}s", file=sys.stderr)

    def write_key(self, name: str, data: bytes) -> str:
        path = os.path.join("keys", name)
        with open(os.path.join(self.out, path), "wb") as f:
            f.write(data)
        return path

    # ------------------------------------------------------------------------------- groups
    def group(self, name: str, entries: list[tuple[str, str]], transport="file", configmap: str | None = None):
        if name not in self.groups:
            self.groups[name] = {"entries": entries, "transport": transport, "configmap": configmap, "n": 0}
        return name

    def mgroup(self, cls: str, transport="file") -> str:
        return self.group(f"m-{cls}" + ("-http" if transport == "http" else ""),
                          [("verifier-public-key-test", self.main_keyring)], transport)

    def digest(self) -> str:
        while True:
            d = "sha256:" + self.rng.randbytes(32).hex()
            if d not in self.used_digests:
                self.used_digests.add(d)
                return d

    def add(self, cls: str, group: str, desc: str, digest: str, sigs, cid: str | None = None):
        """sigs: bytes (signature-1), a list (signature-1..), or a dict {N: bytes}."""
        g = self.groups[group]
        if isinstance(sigs, (bytes, bytearray)):
            sigs = {1: bytes(sigs)}
        elif isinstance(sigs, list):
            sigs = {i + 1: s for i, s in enumerate(sigs)}
        self.count[cls] += 1
        cid = cid or f"{cls}-{self.count[cls]:05d}"
        d = os.path.join(self.out, "stores", group, digest.replace(":", "="))
        assert not os.path.exists(d), (group, digest)
        os.makedirs(d)
        for n, b in sigs.items():
            if b is None:
                continue
            with open(os.path.join(d, f"signature-{n}"), "wb") as f:
                f.write(b)
        g["n"] += 1
        ent = ";".join(f"{n}={p}" for n, p in g["entries"])
        self.cases.append((cid, cls, group, ent, digest, g["transport"], desc.replace("\t", " ").replace("\n", " ")))
        return cid

    def n(self, base: int) -> int:
        return max(1, int(base * self.scale))

    # ------------------------------------------------------------------------------- payloads
    def payload(self, digest: str, *, ident=None, creator="difftest", ts=None, fmt="compact") -> bytes:
        ident = ident if ident is not None else self.rng.choice(IDENTS)
        opt = {}
        if creator is not None:
            opt["creator"] = creator
        if ts is not None:
            opt["timestamp"] = ts
        doc = {"critical": {"identity": {"docker-reference": ident}, "image": {"docker-manifest-digest": digest},
                            "type": "atomic container signature"}, "optional": opt}
        if fmt == "compact":
            return json.dumps(doc, separators=(",", ":")).encode()
        if fmt == "redhat":
            return json.dumps(doc).encode()
        if fmt == "indent":
            return json.dumps(doc, indent=2).encode()
        if fmt == "indent-crlf":
            return json.dumps(doc, indent=2).replace("\n", "\r\n").encode()
        raise ValueError(fmt)

    # ------------------------------------------------------------------------------- messages
    def parts(self, payload: bytes, key: Key | None = None, style="go", *, sigtype=0x00, hid=H_SHA256,
              created=NOW_T, canon=None, ops=None, lit=None, **sigkw):
        """(ops_body, lit_body, sig_body) of a correctly signed message; ops/lit: field overrides."""
        key = key or self.K["A"]
        data = payload
        if sigtype == 0x01:
            data = (canon or canonical_text_go)(payload)
        if style in ("go", "goc"):
            sigkw.setdefault("hashed", sp_created(created) + sp_issuer(key))
            sigkw.setdefault("mpi_mode", "go" if style == "go" else "canon")
            lk = dict(fmt=b"t", name=b"", date=0)
        else:
            sigkw.setdefault("hashed", sp_issuer_fpr(key) + sp_created(created))
            sigkw.setdefault("unhashed", sp_issuer(key))
            lk = dict(fmt=b"b", name=b"payload.json", date=created)
        lk.update(lit or {})
        s = sig_v4(key, data, sigtype=sigtype, hid=hid, created=created, **sigkw)
        ok = dict(sigtype=sigtype, hid=hid, pkalgo=key.algo, keyid=key.keyid, last=1, version=3)
        ok.update(ops or {})
        return ops_body(**ok), lit_body(payload, **lk), s.body

    def std_nodes(self, o, l, s, style="go"):
        if style in ("go", "goc"):
            return [P(TAG_OPS, o), P(TAG_LIT, l, {"fmt": "partial"}), P(TAG_SIG, s)]
        return [C(1, [P(TAG_OPS, o, {"fmt": "old"}), P(TAG_LIT, l, {"fmt": "old"}), P(TAG_SIG, s, {"fmt": "old"})])]

    def msg(self, digest: str, key=None, style="go", payload=None, **kw) -> bytes:
        payload = payload if payload is not None else self.payload(digest)
        o, l, s = self.parts(payload, key, style, **kw)
        return render(self.std_nodes(o, l, s, style))

    def style(self):
        """go: Go's writer exactly (MPI bit count 8*len, so ~half have a non-canonical MPI);
        goc: Go's layout with canonical MPIs; gpg: GnuPG's layout (compressed, canonical)."""
        r = self.rng.random()
        return "go" if r < 0.2 else "goc" if r < 0.55 else "gpg"

    # =============================================================================== classes
    def cls_framing(self):
        cls = "framing"
        g = self.mgroup(cls)
        A = self.K["A"]
        FR = [
            ("new1", {"fmt": "new", "form": 1}), ("new2", {"fmt": "new", "form": 2}), ("new5", {"fmt": "new", "form": 5}),
            ("old1", {"fmt": "old", "form": 0}), ("old2", {"fmt": "old", "form": 1}), ("old4", {"fmt": "old", "form": 2}),
            ("old-indet", {"fmt": "old-indet"}), ("partial-go", {"fmt": "partial"}),
            ("partial-1byte", {"fmt": "partial", "chunks": "size:1"}),
            ("partial-1byte-finalempty", {"fmt": "partial", "chunks": "size:1", "final_empty": True}),
            ("partial-2", {"fmt": "partial", "chunks": "size:2"}),
            ("partial-16", {"fmt": "partial", "chunks": "size:16"}),
            ("partial-64", {"fmt": "partial", "chunks": "size:64"}),
            ("partial-256", {"fmt": "partial", "chunks": "size:256"}),
            ("partial-512", {"fmt": "partial", "chunks": "size:512"}),
            ("partial-first1", {"fmt": "partial", "chunks": [1]}),
            ("partial-first1-final5", {"fmt": "partial", "chunks": [1], "form": 5}),
            ("partial-first8", {"fmt": "partial", "chunks": [8]}),
            ("partial-first256", {"fmt": "partial", "chunks": [256]}),
            ("partial-final5", {"fmt": "partial", "chunks": [4], "form": 5}),
            ("partial-none-final5", {"fmt": "partial", "chunks": [], "form": 5}),
        ]

        def ok(fr, n):
            f = fr.get("fmt")
            if f == "new" and fr.get("form") == 1 and n >= 192:
                return False
            if f == "new" and fr.get("form") == 2 and not 192 <= n < 8384:
                return False
            if f == "old" and fr.get("form") == 0 and n >= 256:
                return False
            if f == "partial" and isinstance(fr.get("chunks"), list) and sum(fr["chunks"]) > n:
                return False
            if f == "partial" and fr.get("chunks") == "size:512" and n < 512:
                return False
            return True

        def fr_for(n):
            while True:
                name, fr = self.rng.choice(FR)
                if ok(fr, n):
                    return name, dict(fr)

        # 1: one packet's framing varied at a time, at every nesting level
        names = ["ops", "lit", "sig", "comp"]
        levels = [0, 1, 2, 3]
        for pi, who in enumerate(names):
            for lvl in levels:
                if who == "comp" and lvl == 0:
                    continue
                for fname, fr in FR:
                    for algo in ([1, 2] if lvl else [0]):
                        d = self.digest()
                        pl = self.payload(d, fmt=self.rng.choice(["compact", "indent"]))
                        o, l, s = self.parts(pl, A, "goc")
                        ln = {"ops": len(o), "lit": len(l), "sig": len(s)}.get(who, 400)
                        if not ok(fr, ln):
                            continue
                        base = {"fmt": "new"}
                        fo, fl, fs = dict(base), {"fmt": "partial"}, dict(base)
                        if who == "ops":
                            fo = fr
                        elif who == "lit":
                            fl = fr
                        elif who == "sig":
                            fs = fr
                        nodes = [P(TAG_OPS, o, fo), P(TAG_LIT, l, fl), P(TAG_SIG, s, fs)]
                        # an indeterminate packet that is not last swallows what follows:
                        # keep those as they are (the verdict shows the swallow)
                        for k in range(lvl):
                            cfr = fr if (who == "comp" and k == 0) else {"fmt": "old-indet" if k % 2 else "new"}
                            nodes = [C(algo, nodes, cfr)]
                        self.add(cls, g, f"{who} framed {fname} at nesting {lvl} (comp algo {algo}, goc-style)", d,
                                 render(nodes))
        # 2: random framing of every packet, random nesting
        target = self.n(2600)
        while self.count[cls] < target:
            d = self.digest()
            st = self.style()
            pl = self.payload(d, fmt=self.rng.choice(["compact", "indent", "redhat"]))
            key = A if self.rng.random() < 0.85 else self.K["B"]
            o, l, s = self.parts(pl, key, st)
            (no, fo), (nl, fl), (ns, fs) = fr_for(len(o)), fr_for(len(l)), fr_for(len(s))
            desc = []
            for nm, fr, bodylen in (("ops", fo, len(o)), ("sig", fs, len(s))):
                if self.rng.random() < 0.12:
                    tr = self.rng.choice([b"\x00", b"\xff", b"\x00\x00\x00\x00", b"\xa8\x03PGP", b"\xca\x03PGP",
                                          self.rng.randbytes(self.rng.randint(1, 20)), b"\xd0\x00", b"\xfc\x02ab"])
                    fr["trailing"] = tr
                    desc.append(f"{nm}+trailing:{tr.hex()}")
            nodes = [P(TAG_OPS, o, fo), P(TAG_LIT, l, fl), P(TAG_SIG, s, fs)]
            depth = self.rng.choice([0, 0, 1, 1, 2, 3])
            cdesc = []
            for k in range(depth):
                algo = self.rng.choice([1, 1, 2, 3])
                nc, fc = fr_for(500)
                if self.rng.random() < 0.1:
                    fc["trailing"] = b""
                nodes = [C(algo, nodes, fc)]
                cdesc.append(f"C{algo}:{nc}")
            self.add(cls, g, f"{st}-signed ops:{no} lit:{nl} sig:{ns} comp:[{','.join(cdesc)}] {' '.join(desc)}",
                     d, render(nodes))

    def cls_order(self):
        cls = "order"
        g = self.mgroup(cls)
        A, U, T2 = self.K["A"], self.K["U"], self.K["T2"]
        marker = pkt(TAG_MARKER, b"PGP")
        layouts = []

        def L(name, fn):
            layouts.append((name, fn))

        # fn(o, l, s, extra) -> list of raw packets/bytes (already framed); extra gives helpers
        L("no-ops", lambda x: [x.l, x.s])
        L("ops-after-literal", lambda x: [x.l, x.o, x.s])
        L("sig-before-literal", lambda x: [x.o, x.s, x.l])
        L("sig-before-and-after-literal", lambda x: [x.o, x.s, x.l, x.s])
        L("sig-first-then-normal", lambda x: [x.s, x.o, x.l, x.s])
        L("sig-only", lambda x: [x.s])
        L("two-ops-last1", lambda x: [x.o, x.o, x.l, x.s])
        L("two-ops-last1-two-sigs", lambda x: [x.o, x.o, x.l, x.s, x.s])
        L("ops-untrusted-then-signer", lambda x: [x.oU, x.o, x.l, x.s])
        L("ops-signer-then-untrusted", lambda x: [x.o, x.oU, x.l, x.s])
        L("ops-signer-then-trusted-other", lambda x: [x.o, x.oT, x.l, x.s])
        L("ops-trusted-other-then-signer", lambda x: [x.oT, x.o, x.l, x.s])
        L("nested-ops-first-not-last", lambda x: [x.o0, x.o, x.l, x.s, x.s])
        L("nested-ops-second-not-last", lambda x: [x.o, x.o0, x.l, x.s, x.s])
        L("ops-not-last-only", lambda x: [x.o0, x.l, x.s])
        L("two-sigs-good-first", lambda x: [x.o, x.l, x.s, x.sU])
        L("two-sigs-bad-first", lambda x: [x.o, x.l, x.sU, x.s])
        L("two-sigs-corrupt-first", lambda x: [x.o, x.l, x.sbad, x.s])
        L("two-literals", lambda x: [x.o, x.l, x.l, x.s])
        L("literal-after-sig", lambda x: [x.o, x.l, x.s, x.l])
        L("empty", lambda x: [])
        L("only-literal", lambda x: [x.l])
        L("only-ops", lambda x: [x.o])
        L("ops-literal-no-sig", lambda x: [x.o, x.l])
        L("ops-sig-no-literal", lambda x: [x.o, x.s])
        L("two-messages", lambda x: [x.o, x.l, x.s, x.o, x.l, x.s])
        L("two-messages-first-bad", lambda x: [x.o, x.l, x.sbad, x.o, x.l, x.s])
        L("two-messages-second-untrusted", lambda x: [x.o, x.l, x.s, x.oU, x.l, x.sU])
        L("untrusted-message-then-good", lambda x: [x.oU, x.l, x.sU, x.o, x.l, x.s])
        L("pkesk-unknown-key-first", lambda x: [x.pkesk, x.o, x.l, x.s])
        L("skesk-first", lambda x: [x.skesk, x.o, x.l, x.s])
        L("sed-first", lambda x: [x.sed, x.o, x.l, x.s])
        L("seipd-after", lambda x: [x.o, x.l, x.s, x.sed])
        L("pubkey-first", lambda x: [x.pub, x.o, x.l, x.s])
        L("uid-first", lambda x: [x.uidp, x.o, x.l, x.s])
        L("uid-between-ops-literal", lambda x: [x.o, x.uidp, x.l, x.s])
        L("uid-between-literal-sig", lambda x: [x.o, x.l, x.uidp, x.s])
        L("trust-between-literal-sig", lambda x: [x.o, x.l, pkt(TAG_TRUST, b"\x00\x00", "old"), x.s])
        L("userattr-between-ops-literal", lambda x: [x.o, pkt(TAG_UAT, UAT_BODY), x.l, x.s])
        L("malformed-userattr-between-ops-literal", lambda x: [x.o, pkt(TAG_UAT, b"\x05\x01\x10\x00\x01\x01" + b"\0" * 12), x.l, x.s])
        L("mdc-between-literal-sig", lambda x: [x.o, x.l, pkt(TAG_MDC, b"\0" * 20), x.s])
        L("compressed-then-plain-sig", lambda x: [render([C(1, [R(x.o), R(x.l)], {"fmt": "new"})]), x.s])
        L("ops-after-compressed-literal", lambda x: [render([C(1, [R(x.l)], {"fmt": "new"})]), x.o, x.s])
        L("sig-in-second-compressed", lambda x: [render([C(1, [R(x.o), R(x.l)], {"fmt": "new"})]),
                                                  render([C(2, [R(x.s)], {"fmt": "new"})])])
        L("garbage-after", lambda x: [x.o, x.l, x.s, x.garbage])
        L("zeros-after", lambda x: [x.o, x.l, x.s, b"\0" * x.rng.randint(1, 300)])
        L("ff-after", lambda x: [x.o, x.l, x.s, b"\xff" * x.rng.randint(1, 300)])
        L("truncated-packet-after", lambda x: [x.o, x.l, x.s, x.s[:x.rng.randint(1, len(x.s) - 1)]])
        L("armored-copy-after", lambda x: [x.o, x.l, x.s, armor(x.o + x.l + x.s, "PGP MESSAGE")])
        L("message-then-same-again-untrusted", lambda x: [x.o, x.l, x.s, x.oU, x.l, x.sU])
        L("literal-first-then-message", lambda x: [x.l, x.o, x.l, x.s])
        L("ops-untrusted-only-but-trusted-sig", lambda x: [x.oU, x.l, x.s])
        L("ops-trusted-other-and-sig-by-signer", lambda x: [x.oT, x.l, x.s])

        insert_pkts = [
            ("marker", lambda: pkt(TAG_MARKER, b"PGP", "old")),
            ("marker-new", lambda: pkt(TAG_MARKER, b"PGP")),
            ("marker-bad-content", lambda: pkt(TAG_MARKER, b"XYZ")),
            ("marker-empty", lambda: pkt(TAG_MARKER, b"")),
            ("tag0-old", lambda: pkt(0, b"\x01\x02", "old")),
            ("tag0-new", lambda: pkt(0, b"\x01\x02")),
            ("tag15", lambda: pkt(15, b"hello", "old")),
            ("tag16", lambda: pkt(16, b"hello")),
            ("tag20", lambda: pkt(20, b"hello")),
            ("tag21-padding", lambda: pkt(21, b"\0" * 32)),
            ("tag39", lambda: pkt(39, b"x")),
            ("tag40", lambda: pkt(40, b"x")),
            ("tag60", lambda: pkt(60, b"private")),
            ("tag61", lambda: pkt(61, b"")),
            ("tag62", lambda: pkt(62, b"\xff" * 200)),
            ("tag63", lambda: pkt(63, b"private63")),
            ("tag63-partial", lambda: pkt(63, b"p" * 40, "partial", chunks=[1, 8])),
            ("tag12-trust", lambda: pkt(TAG_TRUST, b"\x00\x3c", "old")),
            ("tag60-big", lambda: pkt(60, b"\0" * 9000)),
        ]
        positions = ["start", "after-ops", "after-literal", "end", "in-comp-start", "in-comp-after-ops",
                     "in-comp-after-literal", "in-comp-end", "after-comp"]

        class X:
            pass

        def mk(d, st):
            x = X()
            x.rng = self.rng
            pl = self.payload(d)
            o, l, s = self.parts(pl, A, st)
            _, _, su = self.parts(pl, U, st)
            ff = {"fmt": "new"} if st in ("go", "goc") else {"fmt": "old"}
            x.o = frame(TAG_OPS, o, ff)
            x.o0 = frame(TAG_OPS, o[:-1] + b"\x00", ff)
            x.oU = frame(TAG_OPS, ops_body(0, H_SHA256, ALG_RSA, U.keyid), ff)
            x.oT = frame(TAG_OPS, ops_body(0, H_SHA256, ALG_RSA, T2.keyid), ff)
            x.l = frame(TAG_LIT, l, {"fmt": "partial"} if st in ("go", "goc") else ff)
            x.s = frame(TAG_SIG, s, ff)
            x.sU = frame(TAG_SIG, su, ff)
            x.sbad = frame(TAG_SIG, corrupt_sig_value(s), ff)
            x.pkesk = pkt(TAG_PKESK, b"\x03" + self.rng.randbytes(8) + b"\x01" + mpi(self.rng.getrandbits(2040)))
            x.skesk = pkt(TAG_SKESK, b"\x04\x09\x03\x08" + self.rng.randbytes(8) + b"\x60")
            x.sed = pkt(TAG_SEIPD, b"\x01" + self.rng.randbytes(64))
            x.pub = pkt(TAG_PUBKEY, A.body(), "old")
            x.uidp = pkt(TAG_UID, b"Someone <someone@example.com>", "old")
            x.garbage = self.rng.randbytes(self.rng.randint(1, 200))
            return x

        for name, fn in layouts:
            for rep in range(self.n(14)):
                d = self.digest()
                st = ("go", "goc", "gpg")[rep % 3]
                x = mk(d, st)
                seq = fn(x)
                if rep % 4 == 3:
                    data = render([C(1, [R(p) for p in seq], {"fmt": "old-indet"})]) if seq else b""
                    where = "inside compressed"
                else:
                    data = b"".join(seq)
                    where = "top level"
                self.add(cls, g, f"{name} ({st}-style, {where})", d, data)
        target = self.n(2100)
        while self.count[cls] < target:
            d = self.digest()
            st = self.style()
            x = mk(d, st)
            iname, ifn = self.rng.choice(insert_pkts)
            pos = self.rng.choice(positions)
            seq = {"start": [ifn(), x.o, x.l, x.s], "after-ops": [x.o, ifn(), x.l, x.s],
                   "after-literal": [x.o, x.l, ifn(), x.s], "end": [x.o, x.l, x.s, ifn()]}
            if pos in seq:
                data = b"".join(seq[pos])
            else:
                inner = {"in-comp-start": [ifn(), x.o, x.l, x.s], "in-comp-after-ops": [x.o, ifn(), x.l, x.s],
                         "in-comp-after-literal": [x.o, x.l, ifn(), x.s], "in-comp-end": [x.o, x.l, x.s, ifn()],
                         "after-comp": [x.o, x.l, x.s]}[pos]
                data = render([C(self.rng.choice([1, 2]), [R(p) for p in inner], {"fmt": "new"})])
                if pos == "after-comp":
                    data += ifn()
            self.add(cls, g, f"{iname} packet at {pos} ({st}-style)", d, data)

    def cls_ops(self):
        cls = "ops"
        g = self.mgroup(cls)
        A, U, T2, B = self.K["A"], self.K["U"], self.K["T2"], self.K["B"]
        variants = []
        for v in (0, 1, 2, 4, 5, 0xFF):
            variants.append((f"version={v}", dict(version=v)))
        for nm, k in (("untrusted", U), ("trusted-T2", T2), ("trusted-B", B)):
            variants.append((f"keyid={nm}", dict(keyid=k.keyid)))
        variants.append(("keyid=0", dict(keyid=b"\0" * 8)))
        variants.append(("keyid=ff", dict(keyid=b"\xff" * 8)))
        variants.append(("keyid=fpr-prefix", dict(keyid=A.fingerprint[:8])))
        for h in (1, 2, 3, 9, 10, 11, 0, 4, 7, 12, 100):
            variants.append((f"hash={h} (sig sha256)", dict(hid=h)))
        for t in (0x01, 0x02, 0x10, 0x13, 0x1F, 0x20, 0x40, 0xFF):
            variants.append((f"sigtype={t:#x} (sig binary)", dict(sigtype=t)))
        for a in (2, 3, 16, 17, 19, 22, 0, 99):
            variants.append((f"pkalgo={a}", dict(pkalgo=a)))
        for last in (0, 2, 0x80, 0xFF):
            variants.append((f"is-last={last}", dict(last=last)))
        # OPS and signature both changed consistently
        for rep in range(self.n(26)):
            for name, ov in variants:
                d = self.digest()
                st = ("go", "goc", "gpg")[rep % 3]
                pl = self.payload(d, fmt="indent" if rep % 3 == 0 else "compact")
                o, l, s = self.parts(pl, A, st, ops=ov)
                self.add(cls, g, f"OPS {name} ({st}-style, payload {'with' if rep % 3 == 0 else 'without'} newlines)",
                         d, render(self.std_nodes(o, l, s, st)))
        # OPS disagreeing with a signature of another kind (sig text, ops binary; sig sha512, ops sha256 ...)
        combos = [("sig text, ops binary", dict(sigtype=1), dict(sigtype=0)),
                  ("sig binary, ops text", dict(sigtype=0), dict(sigtype=1)),
                  ("sig sha512, ops sha256", dict(hid=10), dict(hid=8)),
                  ("sig sha1, ops sha256", dict(hid=2), dict(hid=8)),
                  ("sig 0x10, ops binary", dict(sigtype=0x10), dict(sigtype=0)),
                  ("sig 0x13, ops binary", dict(sigtype=0x13), dict(sigtype=0)),
                  ("sig 0x02 standalone, ops binary", dict(sigtype=0x02), dict(sigtype=0)),
                  ("sig 0x1f, ops binary", dict(sigtype=0x1F), dict(sigtype=0))]
        for rep in range(self.n(14)):
            for name, skw, okw in combos:
                for fmt in ("compact", "indent"):
                    d = self.digest()
                    pl = self.payload(d, fmt=fmt)
                    st = self.style()
                    key = A
                    data = canonical_text_go(pl) if skw.get("sigtype") == 1 else pl
                    hashed = sp_created(NOW_T) + sp_issuer(key)
                    sig = sig_v4(key, data, sigtype=skw.get("sigtype", 0), hid=skw.get("hid", 8), hashed=hashed,
                                 mpi_mode="go" if st == "go" else "canon")
                    o = ops_body(okw.get("sigtype", 0), okw.get("hid", 8), key.algo, key.keyid)
                    l = lit_body(pl, b"t")
                    self.add(cls, g, f"{name} ({fmt} payload)", d, render(self.std_nodes(o, l, sig.body, st)))

    def cls_compression(self):
        cls = "compression"
        g = self.mgroup(cls)
        A = self.K["A"]
        Z = zlib

        def base(d, st=None):
            st = st or self.style()
            pl = self.payload(d, fmt=self.rng.choice(["compact", "indent", "redhat"]))
            o, l, s = self.parts(pl, A, st)
            return st, [P(TAG_OPS, o), P(TAG_LIT, l, {"fmt": "partial"} if st in ("go", "goc") else {"fmt": "old"}),
                        P(TAG_SIG, s)]

        V = []
        for algo in (1, 2, 3):
            V.append((f"algo {algo} all inside", lambda n, a=algo: [C(a, n)]))
            V.append((f"algo {algo} new-format header", lambda n, a=algo: [C(a, n, {"fmt": "new"})]))
            V.append((f"algo {algo} partial header", lambda n, a=algo: [C(a, n, {"fmt": "partial"})]))
            V.append((f"algo {algo} ops outside", lambda n, a=algo: [n[0], C(a, n[1:])]))
            V.append((f"algo {algo} sig outside", lambda n, a=algo: [C(a, n[:2], {"fmt": "new"}), n[2]]))
            V.append((f"algo {algo} only ops inside", lambda n, a=algo: [C(a, n[:1], {"fmt": "new"}), n[1], n[2]]))
            V.append((f"algo {algo} only literal inside", lambda n, a=algo: [n[0], C(a, n[1:2], {"fmt": "new"}), n[2]]))
            V.append((f"algo {algo} only sig inside", lambda n, a=algo: [n[0], n[1], C(a, n[2:], {"fmt": "new"})]))
            V.append((f"algo {algo} each packet its own", lambda n, a=algo: [C(a, [x], {"fmt": "new"}) for x in n]))
            V.append((f"algo {algo} indet, sig outside (swallowed)", lambda n, a=algo: [C(a, n[:2]), n[2]]))
        for depth in (2, 3, 4, 8, 30, 31, 32, 33):
            def nest(n, dd=depth):
                for k in range(dd):
                    n = [C(1 + k % 2, n, {"fmt": "new"})]
                return n
            V.append((f"nested {depth} levels", nest))
        for depth in (2, 3):
            V.append((f"nested {depth} bzip2 levels", lambda n, dd=depth: (lambda f: f(f, n, dd))(
                lambda f, m, k: m if k == 0 else f(f, [C(3, m, {"fmt": "new"})], k - 1))))
        for a in (0, 4, 5, 10, 11, 99, 100, 110, 255):
            V.append((f"unknown algo {a}", lambda n, a=a: [C(a, n, {"fmt": "new"})]))
        V.append(("algo 0 (uncompressed per RFC)", lambda n: [C(0, n, {"fmt": "new"})]))
        V.append(("empty compressed packet (no algo byte) then message", lambda n: [C(1, [], {"fmt": "new"}, empty=True)] + n))
        V.append(("empty compressed packet after message", lambda n: n + [C(1, [], {"fmt": "new"}, empty=True)]))
        V.append(("empty deflate stream then message", lambda n: [C(1, [], {"fmt": "new"})] + n))
        V.append(("compressed empty algo-only", lambda n: [C(1, [], {"fmt": "new"}, raw_inner=b"", cut=0)] + n))
        for lvl, strat, nm in ((0, Z.Z_DEFAULT_STRATEGY, "stored"), (9, Z.Z_FIXED, "fixed"), (9, Z.Z_DEFAULT_STRATEGY, "dynamic"),
                               (1, Z.Z_HUFFMAN_ONLY, "huffman-only"), (6, Z.Z_RLE, "rle")):
            for a in (1, 2):
                V.append((f"algo {a} {nm} blocks", lambda n, a=a, l=lvl, s=strat: [C(a, n, level=l, strategy=s)]))
                V.append((f"algo {a} {nm} multi-block (sync flush per packet)",
                          lambda n, a=a, l=lvl, s=strat: [C(a, n, level=l, strategy=s, flush_each=True)]))
                V.append((f"algo {a} {nm} multi-block (full flush per packet)",
                          lambda n, a=a, l=lvl, s=strat: [C(a, n, level=l, strategy=s, flush_each=True, full_flush=True)]))
        V.append(("deflate many small blocks", lambda n: [C(1, n, flush_points=list(range(7, 900, 7)))]))
        for a in (1, 2):
            V.append((f"algo {a} no final block (stream ends after sync flush)", lambda n, a=a: [C(a, n, finish=False, flush_each=True)]))
            V.append((f"algo {a} truncated by 1 byte", lambda n, a=a: [C(a, n, cut=-1)]))
            V.append((f"algo {a} truncated by 4 bytes", lambda n, a=a: [C(a, n, cut=-4)]))
            V.append((f"algo {a} truncated by 8 bytes", lambda n, a=a: [C(a, n, cut=-8)]))
            V.append((f"algo {a} truncated in the middle", lambda n, a=a: [C(a, n, cut=-200)]))
            V.append((f"algo {a} sync-flushed, truncated after the signature (final block missing, garbage)",
                      lambda n, a=a: [C(a, n, finish=False, flush_each=True, append=b"\xff\xff\xff")]))
            V.append((f"algo {a} trailing garbage after stream inside packet", lambda n, a=a: [C(a, n, {"fmt": "new"}, append=b"garbage!")]))
            V.append((f"algo {a} trailing zeros after stream inside packet", lambda n, a=a: [C(a, n, {"fmt": "new"}, append=b"\0" * 64)]))
            V.append((f"algo {a} trailing marker packet after stream inside packet",
                      lambda n, a=a: [C(a, n, {"fmt": "new"}, append=pkt(TAG_MARKER, b"PGP"))]))
            V.append((f"algo {a} trailing garbage, indet header", lambda n, a=a: [C(a, n, append=b"garbage!")]))
            V.append((f"algo {a} corrupt byte near end", lambda n, a=a: [C(a, n, flip=-3)]))
            V.append((f"algo {a} corrupt first byte of stream", lambda n, a=a: [C(a, n, flip=0)]))
        V.append(("zlib bad adler32", lambda n: [C(2, n, flip=-1)]))
        V.append(("zlib bad adler32 (2 bytes)", lambda n: [C(2, n, flip=-2)]))
        V.append(("zlib adler32 missing", lambda n: [C(2, n, cut=-4)]))
        V.append(("zlib bad adler32, sig outside", lambda n: [C(2, n[:2], {"fmt": "new"}, flip=-1), n[2]]))
        V.append(("zlib bad header check", lambda n: [C(2, n, flip=1)]))
        V.append(("zlib header with preset dictionary", lambda n: [C(2, n, raw_inner=None)]))  # replaced below
        V.append(("zlib header level bits changed", lambda n: [C(2, n)]))  # replaced below
        V.append(("bzip2 bad block crc", lambda n: [C(3, n, flip=-6)]))
        V.append(("bzip2 truncated 4 bytes", lambda n: [C(3, n, cut=-4)]))
        V.append(("bzip2 trailing garbage", lambda n: [C(3, n, {"fmt": "new"}, append=b"junk")]))
        V.append(("bzip2 level 1", lambda n: [C(3, n, level=1)]))
        V.append(("compressed literal then literal outside (two literals)", lambda n: [n[0], C(1, [n[1]], {"fmt": "new"}), n[1], n[2]]))
        V.append(("two compressed messages", lambda n: [C(1, n, {"fmt": "new"}), C(2, n, {"fmt": "new"})]))
        V.append(("compressed, then uncompressed copy", lambda n: [C(1, n, {"fmt": "new"})] + n))
        V.append(("compression inside compressed with sig outside both", lambda n: [C(1, [C(2, n[:2], {"fmt": "new"})], {"fmt": "new"}), n[2]]))
        V.append(("ops, compressed(literal, sig)", lambda n: [n[0], C(2, n[1:], {"fmt": "new"})]))

        target = self.n(2600)
        i = 0
        while self.count[cls] < target:
            name, fn = V[i % len(V)]
            i += 1
            d = self.digest()
            st, nodes = base(d)
            out_nodes = fn(nodes)
            data = render(out_nodes)
            if name == "zlib header with preset dictionary":
                inner = render(nodes)
                zs = bytearray(compress(2, inner))
                zs[1] |= 0x20
                # fix FCHECK
                cmf_flg = (zs[0] << 8) | (zs[1] & 0xE0)
                zs[1] = (zs[1] & 0xE0) | (31 - cmf_flg % 31) % 31
                data = frame(8, b"\x02" + bytes(zs[:2]) + b"\0\0\0\1" + bytes(zs[2:]), {"fmt": "new"})
            elif name == "zlib header level bits changed":
                inner = render(nodes)
                zs = bytearray(compress(2, inner))
                zs[1] = (zs[1] & 0x3F) ^ 0xC0
                cmf_flg = (zs[0] << 8) | (zs[1] & 0xE0)
                zs[1] = (zs[1] & 0xE0) | (31 - cmf_flg % 31) % 31
                data = frame(8, b"\x02" + bytes(zs), {"fmt": "new"})
            self.add(cls, g, f"{name} ({st}-style)", d, data)

    def cls_armour(self):
        cls = "armour"
        g = self.mgroup(cls)
        A = self.K["A"]
        target = self.n(320)
        kinds = ["armored", "armored-nocrc", "armored-badcrc", "armored-crlf", "armored-headers", "armored-width76",
                 "armored-signature-type", "armored-leading-text", "clearsign-crafted", "gpg-armor", "gpg-clearsign",
                 "binary-then-armored", "armored-then-binary", "base64-only", "armored-whitespace-before"]
        i = 0
        while self.count[cls] < target:
            k = kinds[i % len(kinds)]
            i += 1
            d = self.digest()
            pl = self.payload(d)
            st = self.style()
            bin_ = self.msg(d, A, st, payload=pl)
            if k == "armored":
                data = armor(bin_, "PGP MESSAGE")
            elif k == "armored-nocrc":
                data = armor(bin_, "PGP MESSAGE", crc=False)
            elif k == "armored-badcrc":
                data = armor(bin_, "PGP MESSAGE", bad_crc=True)
            elif k == "armored-crlf":
                data = armor(bin_, "PGP MESSAGE", eol="\r\n")
            elif k == "armored-headers":
                data = armor(bin_, "PGP MESSAGE", headers=[("Version", "GnuPG v2"), ("Comment", "x")])
            elif k == "armored-width76":
                data = armor(bin_, "PGP MESSAGE", width=76)
            elif k == "armored-signature-type":
                data = armor(bin_, "PGP SIGNATURE")
            elif k == "armored-leading-text":
                data = b"some text\n\n" + armor(bin_, "PGP MESSAGE")
            elif k == "armored-whitespace-before":
                data = b"\n \n" + armor(bin_, "PGP MESSAGE")
            elif k == "clearsign-crafted":
                text = pl
                s = sig_v4(A, canonical_text_rfc(text), sigtype=0x01,
                           hashed=sp_created(NOW_T) + sp_issuer(A))
                data = (b"-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n" + text + b"\n" +
                        armor(pkt(TAG_SIG, s.body), "PGP SIGNATURE"))
            elif k == "gpg-armor":
                data = self.gpg.sign(A, pl, ["--armor", "--compress-algo", self.rng.choice(["none", "zip", "zlib"])])
            elif k == "gpg-clearsign":
                data = self.gpg.sign(A, pl, [], mode="--clearsign")
            elif k == "binary-then-armored":
                data = bin_ + armor(bin_, "PGP MESSAGE")
            elif k == "armored-then-binary":
                data = armor(bin_, "PGP MESSAGE") + bin_
            elif k == "base64-only":
                data = base64.b64encode(bin_)
            if data is None:
                continue
            self.add(cls, g, f"{k} ({st}-style inside)", d, data)

    def find_leading_zero_sig(self, key: Key, pl: bytes, zeros=1, base_t=NOW_T, style="go"):
        """Vary the creation time until the RSA value has `zeros` leading zero bytes."""
        t = base_t
        while True:
            t += 1
            hashed = sp_created(t) + sp_issuer(key) if style == "go" else sp_issuer_fpr(key) + sp_created(t)
            data = pl
            head = bytes([4, 0, key.algo, 8]) + struct.pack(">H", len(hashed)) + hashed
            dg = digest(8, data + head + b"\x04\xff" + struct.pack(">I", len(head)))
            v = key.sign_digest(8, dg)[0]
            if v[:zeros] == b"\0" * zeros and (zeros == 0 or v[zeros] != 0 or zeros >= 2):
                return t, hashed, v

    def cls_mpi(self):
        cls = "mpi"
        g = self.mgroup(cls)
        A = self.K["A"]
        # leading-zero signatures: Go-style and canonical twins
        nlz = self.n(110)
        for i in range(nlz):
            d = self.digest()
            pl = self.payload(d)
            st = "go" if i % 2 == 0 else "gpg"
            t, hashed, v = self.find_leading_zero_sig(A, pl, 1, NOW_T + i * 1000, st)
            un = b"" if st == "go" else sp_issuer(A)
            for mode, nm in (("go", "leading zero kept, bits=8*len (Go writer)"), ("canon", "canonical twin (zeros stripped)"),
                             ("bits", "leading zero kept, exact bit count"), ("raw8k-8", "leading zero kept, bits=8*(len-1)")):
                d2 = d if mode == "go" else self.digest()
                pl2 = pl if mode == "go" else self.payload(d2)
                if mode != "go":
                    t2, hashed2, v2 = self.find_leading_zero_sig(A, pl2, 1, NOW_T + 500000 + i * 1000 + len(nm), st)
                else:
                    t2, hashed2, v2 = t, hashed, v
                head = bytes([4, 0, A.algo, 8]) + struct.pack(">H", len(hashed2)) + hashed2
                dg = digest(8, pl2 + head + b"\x04\xff" + struct.pack(">I", len(head)))
                if mode == "raw8k-8":
                    m = mpi(v2, "raw", 8 * (len(v2) - 1))
                else:
                    m = mpi(v2, mode)
                body = head + struct.pack(">H", len(un)) + un + dg[:2] + m
                o = ops_body(0, 8, A.algo, A.keyid)
                l = lit_body(pl2, b"t" if st == "go" else b"b")
                self.add(cls, g, f"RSA value with a leading zero byte: {nm} ({st}-style)", d2,
                         render(self.std_nodes(o, l, body, st)))
        # two leading zero bytes (rare: 1/65536) -- search a few
        for i in range(1 if self.scale >= 0.5 else 0):
            d = self.digest()
            pl = self.payload(d)
            t, hashed, v = self.find_leading_zero_sig(A, pl, 2, NOW_T + 10 ** 7 + i * 10 ** 6)
            for mode in ("go",):
                dd = d if mode == "go" else self.digest()
                if mode != "go":
                    pl = self.payload(dd)
                    t, hashed, v = self.find_leading_zero_sig(A, pl, 2, NOW_T + 2 * 10 ** 7 + i * 10 ** 6)
                head = bytes([4, 0, A.algo, 8]) + struct.pack(">H", len(hashed)) + hashed
                dg = digest(8, pl + head + b"\x04\xff" + struct.pack(">I", len(head)))
                body = head + b"\0\0" + dg[:2] + mpi(v, mode)
                o = ops_body(0, 8, A.algo, A.keyid)
                self.add(cls, g, f"RSA value with two leading zero bytes ({mode})", dd,
                         render(self.std_nodes(o, lit_body(pl, b"t"), body, "go")))
        # bit-count variants on ordinary signatures
        deltas = [1, 2, 7, 8, 9, 16, -1, -2, -7, -8, -9, -100, -2047, 100]
        keys = [("A", A), ("B", self.K["B"])]
        target = self.n(1500)
        i = 0
        while self.count[cls] < target:
            kind = i % 9
            i += 1
            d = self.digest()
            pl = self.payload(d)
            kn, key = keys[0] if self.rng.random() < 0.8 else keys[1]
            st = self.style()
            if kind in (0, 1, 2):
                delta = self.rng.choice(deltas)
                o, l, s = self.parts(pl, key, st, mpi_mode="bits", mpi_delta=delta)
                self.add(cls, g, f"RSA bit count off by {delta:+d} (key {kn}, {st}-style)", d,
                         render(self.std_nodes(o, l, s, st)))
            elif kind == 3:
                o, l, s = self.parts(pl, key, st, mpi_mode="raw", mpi_delta=8 * ((key.n.bit_length() + 7) // 8))
                self.add(cls, g, f"RSA bit count = 8*modulus bytes (key {kn}, {st}-style)", d,
                         render(self.std_nodes(o, l, s, st)))
            elif kind == 4:
                o, l, s = self.parts(pl, key, st, tweak_value=lambda v: [b"\0" + v[0]], mpi_mode="go")
                self.add(cls, g, f"RSA value longer than modulus (extra zero byte, bits 8*len) (key {kn})", d,
                         render(self.std_nodes(o, l, s, st)))
            elif kind == 5:
                o, l, s = self.parts(pl, key, st, tweak_value=lambda v: [b"\0" + v[0]], mpi_mode="bits")
                self.add(cls, g, f"RSA value with extra zero byte, exact bit count (key {kn})", d,
                         render(self.std_nodes(o, l, s, st)))
            elif kind == 6:
                def plus_n(v, key=key):
                    x = int.from_bytes(v[0], "big") + key.n
                    return [x.to_bytes((x.bit_length() + 7) // 8, "big")]
                o, l, s = self.parts(pl, key, st, tweak_value=plus_n, mpi_mode="canon")
                self.add(cls, g, f"RSA value s+n (>= modulus) (key {kn})", d, render(self.std_nodes(o, l, s, st)))
            elif kind == 7:
                o, l, s = self.parts(pl, key, st, mpi_mode="raw", mpi_delta=0, tweak_value=lambda v: [b""])
                self.add(cls, g, f"RSA value empty MPI (key {kn})", d, render(self.std_nodes(o, l, s, st)))
            else:
                def minus_n(v, key=key):
                    x = key.n - int.from_bytes(v[0], "big")
                    return [x.to_bytes((key.n.bit_length() + 7) // 8, "big")]
                o, l, s = self.parts(pl, key, st, tweak_value=minus_n, mpi_mode="go")
                self.add(cls, g, f"RSA value n-s (wrong value) (key {kn})", d, render(self.std_nodes(o, l, s, st)))

    def cls_hash(self):
        cls = "hash"
        g = self.mgroup(cls)
        A = self.K["A"]
        target = self.n(820)
        V = []
        for h in (1, 2, 3, 8, 9, 10, 11):
            V.append((f"crafted {HASH_NAMES[h]}", "craft", h))
            V.append((f"gpg --digest-algo {HASH_NAMES[h]}", "gpg", h))
        for h in (0, 4, 5, 6, 7, 12, 13, 14, 100, 110, 255):
            V.append((f"unknown hash id {h} in ops and sig", "unknown", h))
        for which in ("tag0", "tag1", "both", "swap"):
            V.append((f"wrong hash tag ({which})", "tag", which))
        V.append(("ops sha1, sig ripemd160 DigestInfo over a sha1 hash", "same-size", None))
        V.append(("ops sha1, sig ripemd160 (honest ripemd160)", "ops-sha1-sig-rmd", None))
        V.append(("sha256 digest signed with sha512 DigestInfo", "prefix", (8, 10)))
        V.append(("sha256 hash under sha224 DigestInfo label", "prefix", (8, 11)))
        V.append(("sig says sha512, computed sha256 with sha256 DigestInfo", "label", None))
        gpgname = {1: "MD5", 2: "SHA1", 3: "RIPEMD160", 8: "SHA256", 9: "SHA384", 10: "SHA512", 11: "SHA224"}
        i = 0
        while self.count[cls] < target:
            name, kind, arg = V[i % len(V)]
            i += 1
            d = self.digest()
            pl = self.payload(d)
            st = self.style()
            if kind == "craft":
                data = self.msg(d, A, st, payload=pl, hid=arg)
            elif kind == "gpg":
                data = self.gpg.sign(A, pl, ["--digest-algo", gpgname[arg], "--compress-algo",
                                             self.rng.choice(["none", "zip", "zlib", "bzip2"])])
                if data is None:
                    continue
            elif kind == "unknown":
                o, l, s = self.parts(pl, A, st, hid=8)
                s = s[:3] + bytes([arg]) + s[4:]
                o = ops_body(0, arg, A.algo, A.keyid)
                data = render(self.std_nodes(o, l, s, st))
            elif kind == "tag":
                o, l, s = self.parts(pl, A, st)
                # locate hash tag: after hashed and unhashed areas
                hl = struct.unpack(">H", s[4:6])[0]
                ul = struct.unpack(">H", s[6 + hl:8 + hl])[0]
                p = 8 + hl + ul
                b = bytearray(s)
                if arg == "tag0":
                    b[p] ^= 1
                elif arg == "tag1":
                    b[p + 1] ^= 0x80
                elif arg == "both":
                    b[p] ^= 0xFF
                    b[p + 1] ^= 0xFF
                else:
                    b[p], b[p + 1] = b[p + 1], b[p]
                    if b[p] == b[p + 1]:
                        b[p] ^= 1
                data = render(self.std_nodes(o, l, bytes(b), st))
            elif kind == "same-size":
                o, l, s = self.parts(pl, A, st, hid=3, hash_hid=2, prefix_hid=3, ops=dict(hid=2))
                data = render(self.std_nodes(o, l, s, st))
            elif kind == "ops-sha1-sig-rmd":
                o, l, s = self.parts(pl, A, st, hid=3, ops=dict(hid=2))
                data = render(self.std_nodes(o, l, s, st))
            elif kind == "prefix":
                hh, pre = arg
                o, l, s = self.parts(pl, A, st, hid=hh, prefix_hid=pre)
                data = render(self.std_nodes(o, l, s, st))
            else:
                o, l, s = self.parts(pl, A, st, hid=10, hash_hid=8, prefix_hid=8, ops=dict(hid=10))
                data = render(self.std_nodes(o, l, s, st))
            self.add(cls, g, f"{name} ({st}-style)", d, data)

    def cls_keyalgo(self):
        cls = "keyalgo"
        K = self.K
        specs = [
            ("rsa1024", [K["R1024"]], K["R1024"]), ("rsa2048", [K["A"]], K["A"]), ("rsa3072", [K["R3072"]], K["R3072"]),
            ("rsa4096", [K["B"]], K["B"]), ("rsa-e3", [K["Re3"]], K["Re3"]), ("rsa-algo3-signonly", [K["Ralg3"]], K["Ralg3"]),
            ("dsa1024", [K["D1024"]], K["D1024"]), ("dsa2048", [K["D2048"]], K["D2048"]),
            ("ecdsa-p256", [K["E256"]], K["E256"]), ("ecdsa-p384", [K["E384"]], K["E384"]), ("ecdsa-p521", [K["E521"]], K["E521"]),
            ("ed25519-only", [K["ED"]], K["ED"]), ("ed25519-beside-rsa", [K["ED"], K["A"]], K["ED"]),
            ("rsa-beside-ed25519", [K["ED"], K["A"]], K["A"]),
        ]
        per = self.n(70)
        for gname, keys, signer in specs:
            kr = b""
            for k in keys:
                kr += cert(k, self.uid)
            path = self.write_key(f"alg-{gname}.asc", armor(kr))
            g = self.group(f"alg-{gname}", [("verifier-public-key-alg", path)])
            hids = [8, 2, 10, 9, 11, 1]
            if signer.kind == "ecdsa":
                hids = [8, 9, 10, 2, 11]
            for i in range(per):
                d = self.digest()
                pl = self.payload(d)
                st = ("go", "goc", "gpg")[i % 3]
                hid = hids[i % len(hids)]
                kind = i % 7
                if kind in (0, 1, 2) or signer.kind == "eddsa":
                    data = self.msg(d, signer, st, payload=pl, hid=hid,
                                    mpi_mode="go" if st == "go" else "canon")
                    desc = f"{st}-style, {HASH_NAMES[hid]}"
                elif kind == 3 and signer.kind in ("rsa", "dsa"):
                    s = sig_v3(signer, pl, hid=hid)
                    o = ops_body(0, hid, signer.algo, signer.keyid)
                    data = render(self.std_nodes(o, lit_body(pl), s.body, st))
                    desc = f"v3 signature, {HASH_NAMES[hid]}"
                elif kind == 4 and signer.kind in ("dsa", "ecdsa"):
                    # r and s padded to the group size (Go writes 8*len bit counts)
                    size = (signer.q.bit_length() + 7) // 8 if signer.kind == "dsa" else \
                        {"p256": 32, "p384": 48, "p521": 66}[signer.curve]

                    def pad(v, size=size):
                        return [x.to_bytes(size, "big") for x in v]
                    data = self.msg(d, signer, st, payload=pl, hid=hid, tweak_value=pad, mpi_mode="go")
                    desc = f"r,s padded to {size} bytes, bits=8*len, {HASH_NAMES[hid]}"
                elif kind == 5:
                    o, l, s = self.parts(pl, signer, st, pkalgo=ALG_RSA if signer.algo != ALG_RSA else ALG_RSA_S,
                                         ops=dict(pkalgo=signer.algo))
                    data = render(self.std_nodes(o, l, s, st))
                    desc = "signature packet names another public-key algorithm"
                else:
                    gh = {8: "SHA256", 2: "SHA1", 10: "SHA512", 9: "SHA384", 11: "SHA224", 1: "MD5"}[hid]
                    data = self.gpg.sign(signer, pl, ["--digest-algo", gh, "--compress-algo",
                                                      self.rng.choice(["none", "zip", "zlib"])]) \
                        if signer is not K["Re3"] and signer is not K["Ralg3"] else None
                    desc = f"gpg-signed, {gh}"
                    if data is None:
                        data = self.msg(d, signer, st, payload=pl, hid=8)
                        desc = f"{st}-style, sha256"
                self.add(cls, g, f"{gname}: {desc}", d, data)
        # ElGamal / ECDH subkeys beside a signing primary (signature by the primary)
        for gname, prim, sub in (("dsa+elgamal-subkey", K["D2048"], K["ELG"]), ("ecdsa+ecdh-subkey", K["E256"], K["ECDH"])):
            path = self.write_key(f"alg-{gname}.asc", armor(cert(prim, self.uid, subkeys=[(sub, dict(flags=0x0C, cross=False))])))
            g = self.group(f"alg-{gname}", [("verifier-public-key-alg", path)])
            for i in range(per):
                d = self.digest()
                st = ("go", "goc", "gpg")[i % 3]
                if i % 5 == 4:
                    # OPS naming the encryption subkey
                    pl = self.payload(d)
                    o, l, s = self.parts(pl, prim, st, ops=dict(keyid=sub.keyid))
                    self.add(cls, g, f"{gname}: OPS names the encryption subkey", d, render(self.std_nodes(o, l, s, st)))
                else:
                    self.add(cls, g, f"{gname}: signed by primary ({st}-style)", d, self.msg(d, prim, st))

    def cls_subpackets(self):
        cls = "subpackets"
        g = self.mgroup(cls)
        A, U = self.K["A"], self.K["U"]
        iss, fpr = sp_issuer(A), sp_issuer_fpr(A)
        c = sp_created
        V = [
            ("no creation time", lambda: (iss, b"")),
            ("creation time only in unhashed area", lambda: (iss, c(NOW_T))),
            ("creation time in hashed and unhashed", lambda: (c(NOW_T) + iss, c(NOW_T))),
            ("creation time twice (same)", lambda: (c(NOW_T) + c(NOW_T) + iss, b"")),
            ("creation time twice (different, later last)", lambda: (c(NOW_T) + c(NOW_T + 99) + iss, b"")),
            ("creation time twice, expired first", lambda: (c(1500000000) + sp(SP_SIG_EXPIRY, struct.pack(">I", 10)) + c(NOW_T) + iss, b"")),
            ("creation time 0", lambda: (c(0) + iss, b"")),
            ("creation time 1", lambda: (c(1) + iss, b"")),
            ("creation time 0xffffffff", lambda: (c(0xFFFFFFFF) + iss, b"")),
            ("creation time before key creation", lambda: (c(KEY_T - 86400 * 365) + iss, b"")),
            ("creation time in the future (2100)", lambda: (c(4102444800) + iss, b"")),
            ("creation time 3 bytes", lambda: (sp(SP_CREATED, b"\x65\x00\x00") + iss, b"")),
            ("creation time 5 bytes", lambda: (sp(SP_CREATED, b"\x00\x65\x00\x00\x00") + iss, b"")),
            ("creation time critical", lambda: (c(NOW_T, critical=True) + iss, b"")),
            ("sig expiry in the past", lambda: (c(1500000000) + sp(SP_SIG_EXPIRY, struct.pack(">I", 86400)) + iss, b"")),
            ("sig expiry in the past (critical)", lambda: (c(1500000000) + sp(SP_SIG_EXPIRY, struct.pack(">I", 86400), True) + iss, b"")),
            ("sig expiry in the future", lambda: (c(NOW_T) + sp(SP_SIG_EXPIRY, struct.pack(">I", 86400 * 365 * 50)) + iss, b"")),
            ("sig expiry in the future (critical)", lambda: (c(NOW_T) + sp(SP_SIG_EXPIRY, struct.pack(">I", 86400 * 365 * 50), True) + iss, b"")),
            ("sig expiry zero (never, per RFC)", lambda: (c(NOW_T) + sp(SP_SIG_EXPIRY, b"\0\0\0\0") + iss, b"")),
            ("sig expiry zero, critical", lambda: (c(NOW_T) + sp(SP_SIG_EXPIRY, b"\0\0\0\0", True) + iss, b"")),
            ("sig expiry past, only in unhashed area", lambda: (c(1500000000) + iss, sp(SP_SIG_EXPIRY, struct.pack(">I", 86400)))),
            ("sig expiry 0xffffffff", lambda: (c(NOW_T) + sp(SP_SIG_EXPIRY, b"\xff\xff\xff\xff") + iss, b"")),
            ("sig expiry wraps past 2106", lambda: (c(0xF0000000) + sp(SP_SIG_EXPIRY, b"\x20\x00\x00\x00") + iss, b"")),
            ("sig expiry 3 bytes", lambda: (c(NOW_T) + sp(SP_SIG_EXPIRY, b"\0\0\1") + iss, b"")),
            ("sig expiry before creation time subpacket", lambda: (sp(SP_SIG_EXPIRY, struct.pack(">I", 86400 * 365 * 50)) + c(NOW_T) + iss, b"")),
            ("sig expiry twice (past last)", lambda: (c(1500000000) + sp(SP_SIG_EXPIRY, struct.pack(">I", 2 ** 31)) + sp(SP_SIG_EXPIRY, struct.pack(">I", 10)) + iss, b"")),
            ("sig expiry twice (future last)", lambda: (c(1500000000) + sp(SP_SIG_EXPIRY, struct.pack(">I", 10)) + sp(SP_SIG_EXPIRY, struct.pack(">I", 2 ** 31)) + iss, b"")),
            ("key expiry in a message signature (past)", lambda: (c(NOW_T) + sp(SP_KEY_EXPIRY, struct.pack(">I", 1)) + iss, b"")),
            ("issuer missing", lambda: (c(NOW_T), b"")),
            ("issuer only unhashed", lambda: (c(NOW_T), iss)),
            ("issuer fingerprint only", lambda: (c(NOW_T) + fpr, b"")),
            ("issuer fingerprint only, unhashed", lambda: (c(NOW_T), fpr)),
            ("issuer of an untrusted key (ops names signer)", lambda: (c(NOW_T) + sp_issuer(U), b"")),
            ("issuer fingerprint of an untrusted key", lambda: (c(NOW_T) + sp_issuer_fpr(U) + iss, b"")),
            ("issuer 7 bytes", lambda: (c(NOW_T) + sp(SP_ISSUER, A.keyid[:7]), b"")),
            ("issuer 9 bytes", lambda: (c(NOW_T) + sp(SP_ISSUER, A.keyid + b"\0"), b"")),
            ("issuer critical", lambda: (c(NOW_T) + sp_issuer(A, critical=True), b"")),
            ("issuer twice, untrusted last", lambda: (c(NOW_T) + iss + sp_issuer(U), b"")),
            ("issuer fingerprint v5 length", lambda: (c(NOW_T) + sp(SP_ISSUER_FPR, b"\x05" + b"\x11" * 32) + iss, b"")),
            ("critical notation", lambda: (c(NOW_T) + iss + sp(SP_NOTATION, b"\x80\0\0\0\0\x04\0\x04testabcd", True), b"")),
            ("non-critical notation", lambda: (c(NOW_T) + iss + sp(SP_NOTATION, b"\x80\0\0\0\0\x04\0\x04testabcd"), b"")),
            ("critical notation in unhashed area", lambda: (c(NOW_T) + iss, sp(SP_NOTATION, b"\x80\0\0\0\0\x04\0\x04testabcd", True))),
            ("unknown type 100 critical", lambda: (c(NOW_T) + iss + sp(100, b"x", True), b"")),
            ("unknown type 100 non-critical", lambda: (c(NOW_T) + iss + sp(100, b"x"), b"")),
            ("unknown type 100 critical, unhashed", lambda: (c(NOW_T) + iss, sp(100, b"x", True))),
            ("unknown type 110 critical", lambda: (c(NOW_T) + iss + sp(110, b"", True), b"")),
            ("type 0 non-critical", lambda: (c(NOW_T) + iss + sp(0, b"abc"), b"")),
            ("type 127 critical", lambda: (c(NOW_T) + iss + sp(127, b"abc", True), b"")),
            ("trust signature (5) critical", lambda: (c(NOW_T) + iss + sp(5, b"\x01\x78", True), b"")),
            ("regexp (6) critical", lambda: (c(NOW_T) + iss + sp(6, b"abc\0", True), b"")),
            ("revocable (7) critical", lambda: (c(NOW_T) + iss + sp(7, b"\0", True), b"")),
            ("exportable (4) critical", lambda: (c(NOW_T) + iss + sp(4, b"\1", True), b"")),
            ("policy URI (26) critical", lambda: (c(NOW_T) + iss + sp(26, b"https://x", True), b"")),
            ("signer's uid (28) critical", lambda: (c(NOW_T) + iss + sp(28, b"a@b", True), b"")),
            ("signature target (31) critical", lambda: (c(NOW_T) + iss + sp(31, b"\x01\x08" + b"\0" * 32, True), b"")),
            ("intended recipient (35) critical", lambda: (c(NOW_T) + iss + sp(35, b"\x04" + b"\0" * 20, True), b"")),
            ("key flags (no sign) in a message signature", lambda: (c(NOW_T) + iss + sp(SP_KEY_FLAGS, b"\x0c"), b"")),
            ("empty key flags", lambda: (c(NOW_T) + iss + sp(SP_KEY_FLAGS, b""), b"")),
            ("features critical", lambda: (c(NOW_T) + iss + sp(SP_FEATURES, b"\x01", True), b"")),
            ("preferred hash critical", lambda: (c(NOW_T) + iss + sp(SP_PREF_HASH, b"\x08", True), b"")),
            ("primary uid bad length", lambda: (c(NOW_T) + iss + sp(SP_PRIMARY_UID, b"\x01\x01"), b"")),
            ("revocation reason in a message signature", lambda: (c(NOW_T) + iss + sp(SP_REVOCATION_REASON, b"\x02x"), b"")),
            ("zero-length subpacket", lambda: (c(NOW_T) + iss + b"\x00", b"")),
            ("subpacket length beyond area", lambda: (c(NOW_T) + iss + b"\x09\x64abc", b"")),
            ("subpacket 2-byte length for small", lambda: (sp(SP_CREATED, struct.pack(">I", NOW_T), form=2) + iss, b"")),
            ("subpacket 5-byte length for small", lambda: (sp(SP_CREATED, struct.pack(">I", NOW_T), form=5) + sp_issuer(A, form=5), b"")),
            ("big hashed area (8000 bytes of notations)", lambda: (c(NOW_T) + iss + b"".join(sp(SP_NOTATION, b"\x80\0\0\0\0\x04\x03\xe0note" + b"x" * 992) for _ in range(8)), b"")),
            ("big unhashed area (30000 bytes)", lambda: (c(NOW_T) + iss, b"".join(sp(101, b"y" * 2999) for _ in range(10)))),
            ("embedded signature (0x19) in message signature", lambda: (c(NOW_T) + iss + sp(SP_EMBEDDED, sig_v4(A, b"x", sigtype=0x19).body), b"")),
            ("embedded signature (0x00) in message signature", lambda: (c(NOW_T) + iss + sp(SP_EMBEDDED, sig_v4(A, b"x", sigtype=0x00).body), b"")),
            ("embedded signature in unhashed (0x19)", lambda: (c(NOW_T) + iss, sp(SP_EMBEDDED, sig_v4(A, b"x", sigtype=0x19).body))),
            ("embedded signature garbage, non-critical", lambda: (c(NOW_T) + iss + sp(SP_EMBEDDED, b"\x04garbage"), b"")),
            ("two embedded signatures", lambda: (c(NOW_T) + iss + sp(SP_EMBEDDED, sig_v4(A, b"x", sigtype=0x19).body) * 2, b"")),
            ("unhashed area full of issuers of other keys", lambda: (c(NOW_T), sp_issuer(U) * 5 + iss)),
        ]
        target = self.n(1500)
        i = 0
        while self.count[cls] < target:
            name, fn = V[i % len(V)]
            i += 1
            d = self.digest()
            pl = self.payload(d)
            st = self.style()
            h, u = fn()
            o, l, s = self.parts(pl, A, st, hashed=h, unhashed=u)
            self.add(cls, g, f"{name} ({st}-style)", d, render(self.std_nodes(o, l, s, st)))

    def cls_sigversion(self):
        cls = "sigversion"
        g = self.mgroup(cls)
        A = self.K["A"]
        V = ["v3-rsa", "v2-rsa", "v3-hashedlen-4", "v3-hashedlen-6", "v3-other-keyid", "v3-text", "v3-0x10",
             "v4-binary", "v4-text-lf", "v4-text-crlf", "v4-text-crlf-rfc", "v4-text-crcrlf-go", "v4-text-crcrlf-rfc",
             "v4-text-lone-cr", "v4-text-trailing-ws", "v4-0x10", "v4-0x1f", "v4-0x02", "v4-0x13", "v4-0x18", "v4-0x20",
             "v4-0x40", "v5", "v6", "v0", "v255", "gpg-textmode", "gpg-textmode-crlf", "gpg-textmode-indent",
             "v3-sig-v4-ops", "v4-ops-version3-v3sig-dsa"]
        target = self.n(820)
        i = 0
        while self.count[cls] < target:
            k = V[i % len(V)]
            i += 1
            d = self.digest()
            st = self.style()
            fmt = "compact"
            if "lf" in k or k in ("gpg-textmode-indent", "v4-text-trailing-ws"):
                fmt = "indent"
            if "crlf" in k or "cr" in k:
                fmt = "indent-crlf"
            pl = self.payload(d, fmt=fmt)
            if k == "v4-text-crcrlf-go" or k == "v4-text-crcrlf-rfc":
                pl = pl.replace(b"\r\n", b"\r\r\n")
            if k == "v4-text-lone-cr":
                pl = pl.replace(b"\r\n", b"\r")
            if k == "v4-text-trailing-ws":
                pl = pl.replace(b"\n", b"  \n")
            o = ops_body(0, 8, A.algo, A.keyid)
            if k.startswith("v3") or k.startswith("v2"):
                kw = {}
                if k == "v2-rsa":
                    kw["version"] = 2
                if k == "v3-hashedlen-4":
                    kw["hashed_len"] = 4
                if k == "v3-hashedlen-6":
                    kw["hashed_len"] = 6
                if k == "v3-other-keyid":
                    kw["keyid"] = self.K["U"].keyid
                stype = 1 if k == "v3-text" else 0x10 if k == "v3-0x10" else 0
                s = sig_v3(A, canonical_text_go(pl) if stype == 1 else pl, sigtype=stype, **kw)
                o = ops_body(stype if stype != 0x10 else 0, 8, A.algo, A.keyid)
                data = render(self.std_nodes(o, lit_body(pl), s.body, st))
            elif k == "v4-ops-version3-v3sig-dsa":
                D = self.K["D1024"]
                s = sig_v3(D, pl, hid=2)
                o = ops_body(0, 2, D.algo, D.keyid)
                data = render(self.std_nodes(o, lit_body(pl), s.body, st))  # D1024 is not in the main keyring
            elif k.startswith("v4-text"):
                canon = canonical_text_rfc if k.endswith("rfc") else canonical_text_go
                ob, lb, sb = self.parts(pl, A, st, sigtype=1, canon=canon)
                data = render(self.std_nodes(ob, lb, sb, st))
            elif k.startswith("v4-0x"):
                t = int(k[5:], 16)
                ob, lb, sb = self.parts(pl, A, st, sigtype=t, ops=dict(sigtype=0))
                data = render(self.std_nodes(ob, lb, sb, st))
            elif k == "v4-binary":
                data = self.msg(d, A, st, payload=pl)
            elif k in ("v5", "v6", "v0", "v255"):
                ver = {"v5": 5, "v6": 6, "v0": 0, "v255": 255}[k]
                ob, lb, sb = self.parts(pl, A, st, version=ver)
                data = render(self.std_nodes(ob, lb, sb, st))
            elif k.startswith("gpg-textmode"):
                data = self.gpg.sign(A, pl, ["--textmode", "--compress-algo", self.rng.choice(["none", "zip"])])
                if data is None:
                    continue
            elif k == "v3-sig-v4-ops":
                s = sig_v3(A, pl)
                data = render(self.std_nodes(o, lit_body(pl), s.body, st))
            self.add(cls, g, f"{k} ({st}-style, payload {fmt})", d, data)

    def cls_literal(self):
        cls = "literal"
        g = self.mgroup(cls)
        A = self.K["A"]
        V = []
        for f in (b"b", b"t", b"u", b"m", b"l", b"1", b"\0", b"\xff", b"B"):
            V.append((f"format {f!r}", dict(fmt=f)))
        for n in (0, 1, 16, 100, 254, 255):
            V.append((f"file name of {n} bytes", dict(name=(b"n" * n))))
        V.append(("file name _CONSOLE", dict(name=b"_CONSOLE")))
        V.append(("file name with NUL", dict(name=b"a\0b")))
        V.append(("file name not UTF-8", dict(name=b"\xff\xfe")))
        V.append(("file name with slash", dict(name=b"../../etc/passwd")))
        for t in (1, NOW_T, 0x7FFFFFFF, 0xFFFFFFFF):
            V.append((f"date {t}", dict(date=t)))
        V.append(("format t with CRLF payload, binary sig", "crlf"))
        V.append(("format u with non-UTF-8 payload bytes", "nonutf8"))
        V.append(("empty literal body (empty payload signed)", "empty"))
        V.append(("literal header: name length beyond body", "namelen"))
        V.append(("literal truncated after format byte", "trunc1"))
        V.append(("literal body of 100000 bytes (payload + whitespace)", "big"))
        target = self.n(820)
        i = 0
        while self.count[cls] < target:
            name, ov = V[i % len(V)]
            i += 1
            d = self.digest()
            st = self.style()
            pl = self.payload(d)
            if isinstance(ov, dict):
                o, l, s = self.parts(pl, A, st, lit=ov)
                data = render(self.std_nodes(o, l, s, st))
            elif ov == "crlf":
                pl = self.payload(d, fmt="indent-crlf")
                o, l, s = self.parts(pl, A, st, lit=dict(fmt=b"t"))
                data = render(self.std_nodes(o, l, s, st))
            elif ov == "nonutf8":
                pl = pl.replace(b'"difftest"', b'"diff\xfftest"')
                o, l, s = self.parts(pl, A, st, lit=dict(fmt=b"u"))
                data = render(self.std_nodes(o, l, s, st))
            elif ov == "empty":
                o, l, s = self.parts(b"", A, st)
                data = render(self.std_nodes(o, l, s, st))
            elif ov == "namelen":
                o, l, s = self.parts(pl, A, st)
                data = render([P(TAG_OPS, o), P(TAG_LIT, b"b\xff" + b"x" * 10), P(TAG_SIG, s)])
            elif ov == "trunc1":
                o, l, s = self.parts(pl, A, st)
                data = render([P(TAG_OPS, o), P(TAG_LIT, b"b"), P(TAG_SIG, s)])
            else:
                pl = pl + b" " * 100000
                o, l, s = self.parts(pl, A, st)
                data = render(self.std_nodes(o, l, s, st))
            self.add(cls, g, f"literal {name} ({st}-style)", d, data)

    def json_variants(self):
        """(name, fn(digest) -> payload bytes)."""
        T = "atomic container signature"
        ID = "quay.io/openshift-release-dev/ocp-release:4.15.0-x86_64"

        class J(str):
            """raw JSON text (not a string value to be quoted)"""

        def q(v):
            return str(v) if isinstance(v, J) else json.dumps(v)

        def doc(dg, crit=None, opt=None, typ=T, ident=ID, extra_top="", extra_crit="", extra_img="", extra_id="",
                extra_opt=""):
            img = f'{{"docker-manifest-digest":"{dg}"{extra_img}}}'
            idn = f'{{"docker-reference":{q(ident)}{extra_id}}}'
            c = crit or f'{{"type":{q(typ)},"image":{img},"identity":{idn}{extra_crit}}}'
            o = opt if opt is not None else f'{{"creator":"difftest","timestamp":1700000000{extra_opt}}}'
            return f'{{"critical":{c},"optional":{o}{extra_top}}}'.encode()

        V = []

        def v(name, fn):
            V.append((name, fn))
        v("baseline compact", lambda dg: doc(dg))
        v("baseline with spaces (Red Hat style)", lambda dg: json.dumps(json.loads(doc(dg))).encode())
        v("trailing second JSON value", lambda dg: doc(dg) + b"\n" + doc("sha256:" + "0" * 64))
        v("trailing second JSON value, no separator", lambda dg: doc(dg) + doc("sha256:" + "0" * 64))
        v("trailing garbage", lambda dg: doc(dg) + b"garbage")
        v("trailing garbage right after }", lambda dg: doc(dg) + b"}")
        v("trailing NUL bytes", lambda dg: doc(dg) + b"\0" * 8)
        v("trailing comma", lambda dg: doc(dg) + b",")
        v("trailing newline", lambda dg: doc(dg) + b"\n")
        v("trailing invalid UTF-8", lambda dg: doc(dg) + b"\xff\xfe")
        v("duplicate critical, last right", lambda dg: doc(dg, extra_top="").replace(b'{"critical":', b'{"critical":{"type":"x"},"critical":', 1))
        v("duplicate critical, last wrong digest", lambda dg: doc(dg)[:-1] + b',"critical":' + doc("sha256:" + "1" * 64)[12:-1].split(b',"optional"')[0] + b"}")
        v("duplicate critical, last partial (merge keeps digest)", lambda dg: doc(dg)[:-1] + b',"critical":{"type":"' + T.encode() + b'"}}')
        v("duplicate docker-manifest-digest, last right", lambda dg: doc(dg, extra_img="").replace(b'"docker-manifest-digest"', b'"docker-manifest-digest":"sha256:' + b"2" * 64 + b'","docker-manifest-digest"'))
        v("duplicate docker-manifest-digest, last wrong", lambda dg: doc(dg, extra_img=f',"docker-manifest-digest":"sha256:{"3" * 64}"'))
        v("duplicate type, last wrong", lambda dg: doc(dg, extra_crit=',"type":"other"'))
        v("duplicate type, last right", lambda dg: doc(dg, typ="other", extra_crit=f',"type":"{T}"'))
        v("duplicate identity, last empty", lambda dg: doc(dg, extra_crit=',"identity":{"docker-reference":""}'))
        v("duplicate identity, last object without reference (merge)", lambda dg: doc(dg, extra_crit=',"identity":{}'))
        v("key Critical", lambda dg: doc(dg).replace(b'"critical"', b'"Critical"'))
        v("key CRITICAL", lambda dg: doc(dg).replace(b'"critical"', b'"CRITICAL"'))
        v("key DOCKER-MANIFEST-DIGEST", lambda dg: doc(dg).replace(b'"docker-manifest-digest"', b'"DOCKER-MANIFEST-DIGEST"'))
        v("key Type", lambda dg: doc(dg).replace(b'"type"', b'"Type"'))
        v("key Docker-Reference", lambda dg: doc(dg).replace(b'"docker-reference"', b'"Docker-Reference"'))
        v("key OPTIONAL / TIMESTAMP", lambda dg: doc(dg).replace(b'"optional"', b'"OPTIONAL"').replace(b'"timestamp"', b'"TIMESTAMP"'))
        v("key with Kelvin sign (U+212A) for k", lambda dg: doc(dg).replace(b'"docker-manifest-digest"', '"doc\u212aer-manifest-digest"'.encode()))
        v("key with long s (U+017F) for s", lambda dg: doc(dg).replace(b'"docker-manifest-digest"', '"docker-manife\u017ft-dige\u017ft"'.encode()))
        v("key critical with Kelvin-free fold (U+0130)", lambda dg: doc(dg).replace(b'"critical"', '"cr\u0130tical"'.encode()))
        v("key with unicode escape crit\\u0069cal", lambda dg: doc(dg).replace(b'"critical"', b'"crit\\u0069cal"'))
        v("key with escape \\u0074ype", lambda dg: doc(dg).replace(b'"type"', b'"\\u0074ype"'))
        v("key with escaped Kelvin \\u212a", lambda dg: doc(dg).replace(b'"docker-manifest-digest"', b'"doc\\u212aer-manifest-digest"'))
        v("key with escape \\/ in name", lambda dg: doc(dg).replace(b'"docker-manifest-digest"', b'"docker-manifest\\/digest"'))
        v("invalid UTF-8 in identity", lambda dg: doc(dg).replace(b"quay.io", b"qu\xffay.io"))
        v("invalid UTF-8 in type", lambda dg: doc(dg).replace(b"atomic", b"at\xffomic"))
        v("invalid UTF-8 in creator", lambda dg: doc(dg).replace(b"difftest", b"diff\xc3test"))
        v("invalid UTF-8 in a name", lambda dg: doc(dg).replace(b'"creator"', b'"creat\xffor"'))
        v("invalid UTF-8 overlong encoding in identity", lambda dg: doc(dg).replace(b"quay.io", b"quay\xc0\xaeio"))
        v("lone surrogate escape in identity", lambda dg: doc(dg).replace(b"quay.io", b"quay\\ud800.io"))
        v("lone surrogate escape in name", lambda dg: doc(dg).replace(b'"creator"', b'"creator\\ud800"'))
        v("UTF-8 BOM", lambda dg: b"\xef\xbb\xbf" + doc(dg))
        v("UTF-16LE BOM + UTF-16", lambda dg: b"\xff\xfe" + doc(dg).decode().encode("utf-16-le"))
        v("leading whitespace", lambda dg: b" \t\r\n" + doc(dg))
        v("leading form feed", lambda dg: b"\x0c" + doc(dg))
        v("leading NBSP", lambda dg: "\u00a0".encode() + doc(dg))
        v("leading NUL", lambda dg: b"\0" + doc(dg))
        v("null critical", lambda dg: doc(dg, crit="null"))
        v("null optional", lambda dg: doc(dg, opt="null"))
        v("null type", lambda dg: doc(dg, typ=J("null")))
        v("null identity object", lambda dg: doc(dg).replace(b'"identity":{"docker-reference":"' + ID.encode() + b'"}', b'"identity":null'))
        v("null docker-reference", lambda dg: doc(dg, ident=J("null")))
        v("null creator", lambda dg: doc(dg, opt='{"creator":null}'))
        v("null timestamp", lambda dg: doc(dg, opt='{"timestamp":null}'))
        v("null image", lambda dg: doc(dg).replace(b'"image":{"docker-manifest-digest":"' + dg.encode() + b'"}', b'"image":null'))
        v("whole document null", lambda dg: b"null")
        v("whole document array", lambda dg: b"[" + doc(dg) + b"]")
        v("whole document string", lambda dg: json.dumps(doc(dg).decode()).encode())
        v("type as array", lambda dg: doc(dg, typ=J(f'["{T}"]')))
        v("type as number", lambda dg: doc(dg, typ=J("1")))
        v("critical as array", lambda dg: doc(dg, crit="[]"))
        v("optional as array", lambda dg: doc(dg, opt="[]"))
        v("optional as string", lambda dg: doc(dg, opt='"x"'))
        v("identity as string", lambda dg: doc(dg).replace(b'"identity":{"docker-reference":"' + ID.encode() + b'"}', b'"identity":"' + ID.encode() + b'"'))
        v("docker-reference as number", lambda dg: doc(dg, ident=J("42")))
        v("docker-reference as object", lambda dg: doc(dg, ident=J("{}")))
        v("digest as array", lambda dg: doc(dg).replace(f'"{dg}"'.encode(), f'["{dg}"]'.encode()))
        v("unknown field at top", lambda dg: doc(dg, extra_top=',"extra":1'))
        v("unknown field in critical", lambda dg: doc(dg, extra_crit=',"extra":1'))
        v("unknown field in image", lambda dg: doc(dg, extra_img=',"extra":1'))
        v("unknown field in identity", lambda dg: doc(dg, extra_id=',"extra":1'))
        v("unknown field in optional", lambda dg: doc(dg, extra_opt=',"extra":1'))
        v("unknown null field in optional", lambda dg: doc(dg, extra_opt=',"extra":null'))
        v("unknown field with empty name", lambda dg: doc(dg, extra_top=',"":1'))
        v("deeply nested unknown field (depth 50)", lambda dg: doc(dg, extra_top=',"extra":' + "[" * 50 + "]" * 50))
        v("deeply nested unknown field (depth 10001)", lambda dg: doc(dg, extra_top=',"extra":' + "[" * 10001 + "]" * 10001))
        v("deeply nested unknown object in optional", lambda dg: doc(dg, extra_opt=',"x":' + '{"a":' * 30 + "1" + "}" * 30))
        v("known field with deep nested value (critical.type as deep array)", lambda dg: doc(dg, typ=J("[" * 30 + "]" * 30)))
        for ts in ("1", "-1", "0", "-0", "1.0", "1e3", "1E3", "1.5", "9223372036854775807", "9223372036854775808",
                   "-9223372036854775808", "-9223372036854775809", "18446744073709551616", '"1"', "null", "true", "[]", "{}",
                   "01", "+1", "0x10", "1e-3", "100000000000000000000000"):
            v(f"optional.timestamp {ts}", lambda dg, ts=ts: doc(dg, opt=f'{{"creator":"x","timestamp":{ts}}}'))
        for cr in ("1", "true", "[]", "{}", '"ok"', '""'):
            v(f"optional.creator {cr}", lambda dg, cr=cr: doc(dg, opt=f'{{"creator":{cr}}}'))
        v("optional empty object", lambda dg: doc(dg, opt="{}"))
        v("missing optional", lambda dg: f'{{"critical":{json.loads(doc(dg))["critical"] and json.dumps(json.loads(doc(dg))["critical"], separators=(",", ":"))}}}'.encode())
        v("missing critical", lambda dg: b'{"optional":{"creator":"x"}}')
        v("critical empty object", lambda dg: doc(dg, crit="{}"))
        v("empty identity", lambda dg: doc(dg, ident=""))
        v("missing identity", lambda dg: doc(dg, crit=f'{{"type":"{T}","image":{{"docker-manifest-digest":"{dg}"}}}}'))
        v("identity without docker-reference", lambda dg: doc(dg).replace(b'{"docker-reference":"' + ID.encode() + b'"}', b"{}"))
        v("identity single space", lambda dg: doc(dg, ident=" "))
        v("identity NUL", lambda dg: doc(dg, ident="\u0000"))
        v("identity not a reference (UPPERCASE)", lambda dg: doc(dg, ident="UPPERCASEISINVALID"))
        v("identity with digest", lambda dg: doc(dg, ident=f"quay.io/x@{dg}"))
        v("missing image", lambda dg: doc(dg, crit=f'{{"type":"{T}","identity":{{"docker-reference":"{ID}"}}}}'))
        for t in ("Atomic container signature", "ATOMIC CONTAINER SIGNATURE", "atomic container signature ",
                  " atomic container signature", "atomic  container signature", "atomic container signature\u0000",
                  "cosign container image signature", "atomic\u00a0container signature", ""):
            v(f"type {t!r}", lambda dg, t=t: doc(dg, typ=t))
        v("type with escapes \\u0061tomic", lambda dg: doc(dg, typ=J('"\\u0061tomic container signature"')))
        v("type with escaped slash-free chars \\u0020", lambda dg: doc(dg, typ=J('"atomic\\u0020container\\u0020signature"')))
        v("digest uppercase hex", lambda dg: doc(dg.upper().replace("SHA256", "sha256")))
        v("digest SHA256: prefix", lambda dg: doc("SHA256" + dg[6:]))
        v("digest with escaped characters", lambda dg: doc(dg).replace(dg.encode(), ("".join(f"\\u{ord(c):04x}" if i % 3 == 0 else c for i, c in enumerate(dg))).encode()))
        v("digest fully escaped", lambda dg: doc(dg).replace(dg.encode(), "".join(f"\\u{ord(c):04x}" for c in dg).encode()))
        v("digest with trailing space", lambda dg: doc(dg + " "))
        v("digest with trailing newline escape", lambda dg: doc(dg).replace(dg.encode(), dg.encode() + b"\\n"))
        v("digest of another release", lambda dg: doc("sha256:" + "4" * 64))
        v("digest without algorithm", lambda dg: doc(dg[7:]))
        v("digest sha512 form", lambda dg: doc("sha512:" + dg[7:] * 2))
        v("digest with full-width colon", lambda dg: doc(dg.replace(":", "\uff1a")))
        v("huge whitespace padding (40 KB) inside object", lambda dg: doc(dg).replace(b'{"critical"', b"{" + b" " * 40000 + b'"critical"'))
        v("huge whitespace padding (60 KB) after document", lambda dg: doc(dg) + b" " * 60000)
        v("whitespace everywhere", lambda dg: json.dumps(json.loads(doc(dg)), indent=8).replace("\n", "\n\t \r\n").encode())
        v("tab and CR between tokens", lambda dg: doc(dg).replace(b":", b"\t:\r").replace(b",", b"\r,\t"))
        v("keys reordered (optional first)", lambda dg: json.dumps({"optional": {"creator": "x"}, "critical": json.loads(doc(dg))["critical"]}).encode())
        v("comment before document", lambda dg: b"// c\n" + doc(dg))
        v("single quotes", lambda dg: doc(dg).replace(b'"', b"'"))
        v("raw control character in identity", lambda dg: doc(dg).replace(b"quay.io", b"quay\x01io"))
        v("raw newline in identity", lambda dg: doc(dg).replace(b"quay.io", b"quay\nio"))
        v("raw DEL in identity", lambda dg: doc(dg).replace(b"quay.io", b"quay\x7fio"))
        v("bad escape \\x in identity", lambda dg: doc(dg).replace(b"quay.io", b"quay\\x41io"))
        v("escaped NUL in type", lambda dg: doc(dg, typ=J('"atomic container signature\\u0000"')))
        v("unterminated object", lambda dg: doc(dg)[:-1])
        v("empty payload", lambda dg: b"")
        v("whitespace-only payload", lambda dg: b"   \n")
        v("duplicate optional.timestamp (int then float)", lambda dg: doc(dg, opt='{"timestamp":1,"timestamp":1.5}'))
        v("duplicate optional.timestamp (float then int)", lambda dg: doc(dg, opt='{"timestamp":1.5,"timestamp":1}'))
        v("unknown field after type error", lambda dg: doc(dg, opt='{"creator":1,"zzz":1}'))
        v("number with exponent in unknown-free position: timestamp 1.0e0", lambda dg: doc(dg, opt='{"timestamp":1.0e0}'))
        v("critical key duplicated with different case (Critical wrong last)", lambda dg: doc(dg)[:-1] + b',"Critical":{"type":"x"}}')
        v("critical key duplicated with different case (Critical right last)", lambda dg: doc("sha256:" + "5" * 64)[:-1] + b',"Critical":' + json.dumps(json.loads(doc(dg))["critical"], separators=(",", ":")).encode() + b"}")
        return V

    def cls_payload(self):
        cls = "payload"
        g = self.mgroup(cls)
        A = self.K["A"]
        V = self.json_variants()
        target = self.n(3600)
        i = 0
        while self.count[cls] < target:
            name, fn = V[i % len(V)]
            i += 1
            d = self.digest()
            pl = fn(d)
            r = self.rng.random()
            if r < 0.1:
                data = self.gpg.sign(A, pl, ["--compress-algo", self.rng.choice(["zip", "zlib", "none"])])
                how = "gpg"
                if data is None:
                    continue
            else:
                how = self.style()
                data = self.msg(d, A, how, payload=pl)
                how += "-style"
            self.add(cls, g, f"{name} ({how})", d, data)

    # ------------------------------------------------------------------------------- keyrings
    def cls_keyring(self):
        cls = "keyring"
        K = self.K
        uid = self.uid
        per = self.n(12)
        gi = [0]

        def kgroup(name, data, entries=None, configmap=None, files=None):
            gi[0] += 1
            if entries is None:
                path = self.write_key(f"kr-{name}.{ 'asc' if data[:5] == b'-----' else 'gpg'}", data)
                entries = [("verifier-public-key-kr", path)]
            return self.group(f"kr-{name}", entries, configmap=configmap)

        def cases(g, name, signers, extra=None):
            """signers: list of (label, key, opskeyid-key)"""
            for i in range(per):
                for label, key in signers:
                    d = self.digest()
                    st = ("goc", "gpg")[i % 2]
                    self.add(cls, g, f"{name}: signed by {label} ({st}-style)", d, self.msg(d, key, st))
            for label, fn in (extra or []):
                for i in range(max(1, per // 2)):
                    d = self.digest()
                    self.add(cls, g, f"{name}: {label}", d, fn(d))

        P1, S1, P2, S2, P3, S3 = K["P1"], K["S1"], K["P2"], K["S2"], K["P3"], K["S3"]
        P4, S4, P5, S5, P6, S6, P7, S7, P8, S8 = K["P4"], K["S4"], K["P5"], K["S5"], K["P6"], K["S6"], K["P7"], K["S7"], K["P8"], K["S8"]

        def c(primary, **kw):
            return cert(primary, uid, **kw)

        def revoke(certb, primary, **kw):
            # insert the key revocation right after the primary key packet
            kp = pkt(TAG_PUBKEY, primary.body(), "old")
            assert certb.startswith(kp)
            return kp + pkt(TAG_SIG, key_revocation(primary, **kw), "old") + certb[len(kp):]

        good_sub = (S1, dict(flags=0x02))
        # revocations
        g = kgroup("revoked-primary", armor(revoke(c(P1, subkeys=[good_sub]), P1)))
        cases(g, "revoked primary (reason given)", [("primary", P1), ("signing subkey", S1)])
        g = kgroup("revoked-primary-no-reason", armor(revoke(c(P1, subkeys=[good_sub]), P1, reason=None)))
        cases(g, "revoked primary (no reason subpacket)", [("primary", P1), ("signing subkey", S1)])
        g = kgroup("revoked-primary-bad-revsig", armor(revoke(c(P1, subkeys=[good_sub]), P1, bad=True)))
        cases(g, "primary with an invalid revocation signature", [("primary", P1), ("signing subkey", S1)])
        g = kgroup("revoked-primary-beside-good", armor(revoke(c(P1), P1) + c(P2)))
        cases(g, "revoked key beside a good key", [("revoked key", P1), ("good key", P2)])

        def sub_rev(primary, sub, reason):
            data = primary.keyhash_prefix() + sub.keyhash_prefix()
            h = sp_created(sub.created + 500)
            if reason is not None:
                h += sp(SP_REVOCATION_REASON, bytes([reason]) + b"compromised")
            h += sp_issuer(primary)
            return pkt(TAG_SIG, sig_v4(primary, data, sigtype=0x28, hashed=h).body, "old")

        for nm, reason, after in (("revoked-subkey", 2, True), ("revoked-subkey-no-reason", None, True),
                                  ("revoked-subkey-before-binding", 2, False)):
            base = c(P2, subkeys=[(S2, dict(flags=0x02))])
            sb = pkt(TAG_SIG, subkey_binding(P2, S2, flags=0x02), "old")
            rv = sub_rev(P2, S2, reason)
            assert base.endswith(sb)
            data = base + rv if after else base[:-len(sb)] + rv + sb
            g = kgroup(nm, armor(data))
            cases(g, nm.replace("-", " "), [("primary", P2), ("revoked subkey", S2)])
        # cross-signatures
        for nm, kw in (("subkey-cross-signed", dict(flags=0x02)), ("subkey-no-cross-sig", dict(flags=0x02, cross=False)),
                       ("subkey-bad-cross-sig", dict(flags=0x02, cross_bad=True)),
                       ("subkey-cross-sig-unhashed", dict(flags=0x02, cross_unhashed=True)),
                       ("subkey-cross-sig-wrong-type", dict(flags=0x02, cross_type=0x18)),
                       ("subkey-encrypt-only-flags", dict(flags=0x0C, cross=False)),
                       ("subkey-no-flags-no-cross", dict(flags=None, cross=False)),
                       ("subkey-no-flags-cross", dict(flags=None)),
                       ("subkey-binding-bad", dict(flags=0x02, bad=True)),
                       ("subkey-expired", dict(flags=0x02, key_expiry=86400)),
                       ("subkey-auth-flag-only", dict(flags=0x20, cross=False)),
                       ("subkey-certify-sign", dict(flags=0x03))):
            g = kgroup(nm, armor(c(P3, subkeys=[(S3, kw)])))
            cases(g, nm.replace("-", " "), [("primary", P3), ("subkey", S3)])
        g = kgroup("two-subkey-bindings-newer-nosign", armor(c(P4, subkeys=[(S4, dict(flags=0x02))]) +
                                                             pkt(TAG_SIG, subkey_binding(P4, S4, flags=0x0C, created=S4.created + 100, cross=False), "old")))
        cases(g, "subkey with two bindings, newer without sign flag", [("primary", P4), ("subkey", S4)])
        g = kgroup("two-subkey-bindings-older-last", armor(c(P4, subkeys=[(S4, dict(flags=0x0C, cross=False, created=S4.created + 100))]) +
                                                           pkt(TAG_SIG, subkey_binding(P4, S4, flags=0x02), "old")))
        cases(g, "subkey with two bindings, older (sign) last", [("primary", P4), ("subkey", S4)])
        # flags on the primary
        for nm, kw in (("primary-certify-only", dict(flags=0x01)), ("primary-no-flags", dict(flags=None)),
                       ("primary-encrypt-only-flags", dict(flags=0x0C)), ("primary-flags-zero", dict(flags=0x00)),
                       ("primary-sign-only-flag", dict(flags=0x02)),
                       ("primary-expired", dict(key_expiry=86400)), ("primary-expired-no-flags", dict(key_expiry=86400, flags=None)),
                       ("selfsig-issuer-unhashed", dict(issuer="unhashed")), ("selfsig-issuer-fpr-only", dict(issuer="fpr-only")),
                       ("selfsig-generic-cert-0x10", dict(sigtype=0x10)), ("selfsig-casual-0x12", dict(sigtype=0x12)),
                       ("selfsig-bad", dict(bad=True)), ("selfsig-sha1", dict(hid=H_SHA1)),
                       ("selfsig-critical-unknown", dict(extra_hashed=sp(100, b"x", True))),
                       ("selfsig-by-other-key", dict(sign_key=K["U"]))):
            g = kgroup(nm, armor(c(P5, **kw)))
            cases(g, nm.replace("-", " "), [("primary", P5)])
        # primary without sign flag but with a signing subkey
        g = kgroup("primary-certify-only-with-signing-subkey", armor(c(P5, flags=0x01, subkeys=[(S5, dict(flags=0x02))])))
        cases(g, "certify-only primary with signing subkey", [("primary", P5), ("subkey", S5)])
        # user IDs
        uidA, uidB = b"First <first@example.com>", b"Second <second@example.com>"

        def multi_uid(primary, specs, revoke_uid=None):
            out = pkt(TAG_PUBKEY, primary.body(), "old")
            for u, kw in specs:
                out += pkt(TAG_UID, u, "old") + pkt(TAG_SIG, self_sig(primary, u, **kw), "old")
                if revoke_uid == u:
                    out += pkt(TAG_SIG, uid_revocation(primary, u), "old")
            return out
        for nm, specs, ru in (
                ("uids-primary-flag-on-sign-uid", [(uidA, dict(flags=0x01)), (uidB, dict(flags=0x03, primary_uid=True))], None),
                ("uids-primary-flag-on-certify-uid", [(uidA, dict(flags=0x03)), (uidB, dict(flags=0x01, primary_uid=True))], None),
                ("uids-both-sign-no-primary", [(uidA, dict(flags=0x03)), (uidB, dict(flags=0x03))], None),
                ("uids-both-sign-primary-revoked", [(uidA, dict(flags=0x03, primary_uid=True)), (uidB, dict(flags=0x03))], uidA),
                ("uids-sign-uid-revoked-primary", [(uidA, dict(flags=0x03, primary_uid=True)), (uidB, dict(flags=0x01))], uidA),
                ("uids-primary-false-flag", [(uidA, dict(flags=0x03, primary_uid=False)), (uidB, dict(flags=0x03))], None),
                ("uid-only-revoked", [(uidA, dict(flags=0x03))], uidA)):
            g = kgroup(nm, armor(multi_uid(P6, specs, ru)))
            cases(g, nm.replace("-", " "), [("primary", P6)])
        g = kgroup("uid-two-selfsigs-last-nosign", armor(multi_uid(P6, [(uidA, dict(flags=0x03))]) +
                                                         pkt(TAG_SIG, self_sig(P6, uidA, flags=0x01, created=P6.created + 50), "old")))
        cases(g, "uid with two self-sigs, last (newer) without sign flag", [("primary", P6)])
        g = kgroup("uid-two-selfsigs-last-older-sign", armor(multi_uid(P6, [(uidA, dict(flags=0x01, created=P6.created + 50))]) +
                                                             pkt(TAG_SIG, self_sig(P6, uidA, flags=0x03), "old")))
        cases(g, "uid with two self-sigs, last (older) with sign flag", [("primary", P6)])
        g = kgroup("no-uid", armor(pkt(TAG_PUBKEY, P6.body(), "old")))
        cases(g, "key without user id", [("primary", P6)])
        g = kgroup("direct-key-sig-certify-only", armor(pkt(TAG_PUBKEY, P6.body(), "old") + pkt(TAG_SIG, direct_key_sig(P6, 0x01), "old") +
                                                        pkt(TAG_UID, uidA, "old") + pkt(TAG_SIG, self_sig(P6, uidA, flags=None), "old")))
        cases(g, "direct-key signature with certify-only flags", [("primary", P6)])
        g = kgroup("user-attribute-and-trust", armor(c(P6) + pkt(TAG_UAT, UAT_BODY) +
                                                     pkt(TAG_TRUST, b"\x00\x3c", "old") + pkt(TAG_MARKER, b"PGP", "old")))
        cases(g, "keyring with user attribute, trust and marker packets", [("primary", P6)])
        # armored blocks
        block1, block2 = armor(c(P7)), armor(c(P8))
        g = kgroup("two-blocks-signer-first", block1 + block2)
        cases(g, "two armored blocks", [("key in first block", P7), ("key in second block", P8)])
        g = kgroup("two-blocks-text-between", block1 + b"\nsome text\n\n" + block2)
        cases(g, "two armored blocks with text between", [("key in first block", P7), ("key in second block", P8)])
        g = kgroup("one-block-two-keys", armor(c(P7) + c(P8)))
        cases(g, "one armored block with two keys", [("first key", P7), ("second key", P8)])
        g = kgroup("binary-keyring", c(P7) + c(P8))
        cases(g, "binary keyring", [("first key", P7), ("second key", P8)])
        g = kgroup("armored-leading-text", b"This is my key:\n\n" + armor(c(P7)))
        cases(g, "armored keyring after some text", [("key", P7)])
        g = kgroup("armored-no-crc", armor(c(P7), crc=False))
        cases(g, "armored keyring without CRC", [("key", P7)])
        g = kgroup("armored-bad-crc", armor(c(P7), bad_crc=True))
        cases(g, "armored keyring with bad CRC", [("key", P7)])
        g = kgroup("armored-crlf", armor(c(P7), eol="\r\n"))
        cases(g, "armored keyring with CRLF", [("key", P7)])
        g = kgroup("armored-long-lines", armor(c(P7), width=100))
        cases(g, "armored keyring with 100-char lines", [("key", P7)])
        g = kgroup("armored-signature-type", armor(c(P7), "PGP SIGNATURE"))
        cases(g, "key block armored as PGP SIGNATURE", [("key", P7)])
        g = kgroup("armored-private-key-block", armor(cert(P7, uid, secret=True), "PGP PRIVATE KEY BLOCK"))
        cases(g, "secret key block as keyring", [("key", P7)])
        g = kgroup("binary-secret-keyring", cert(P7, uid, secret=True))
        cases(g, "binary secret keyring", [("key", P7)])
        # unsupported keys beside good ones
        g = kgroup("ed25519-then-rsa", armor(cert(K["ED"], uid) + c(P7)))
        cases(g, "ed25519 key before an RSA key", [("rsa key", P7), ("ed25519 key", K["ED"])])
        g = kgroup("rsa-then-ed25519", armor(c(P7) + cert(K["ED"], uid)))
        cases(g, "RSA key before an ed25519 key", [("rsa key", P7), ("ed25519 key", K["ED"])])
        big_e = Key("rsa", P8.created, ALG_RSA, n=P8.n, e=2 ** 32 + 15, p=P8.p, q=P8.q, d=P8.d, bits=2048)
        kp = pkt(TAG_PUBKEY, big_e.body(), "old") + pkt(TAG_UID, uid, "old")
        g = kgroup("rsa-large-exponent-beside-good", armor(kp + c(P7)))
        cases(g, "RSA key with a 5-byte exponent beside a good key", [("good key", P7)])
        v3key = b"\x03" + struct.pack(">I", P8.created) + b"\x00\x00" + bytes([1]) + mpi(P8.n) + mpi(P8.e)
        g = kgroup("v3-key-beside-good", armor(pkt(TAG_PUBKEY, v3key, "old") + pkt(TAG_UID, uid, "old") + c(P7)))
        cases(g, "v3 key beside a good key", [("good key", P7)])
        g = kgroup("rsa-key-mpi-leading-zero", armor(pkt(TAG_PUBKEY, b"\x04" + struct.pack(">I", P8.created) + b"\x01" +
                                                           mpi(b"\0" + i2b(P8.n), "go") + mpi(P8.e), "old") + pkt(TAG_UID, uid, "old") + c(P7)))
        cases(g, "RSA key whose modulus MPI has a leading zero (no valid self-sig) beside good key", [("good key", P7), ("odd key", P8)])
        g = kgroup("subkey-only-entity-beside-good", armor(pkt(TAG_PUBSUB, S8.body(), "old") + c(P7)))
        cases(g, "stray subkey packet before a good key", [("good key", P7)])
        g = kgroup("good-key-then-garbage", armor(c(P7) + b"\x00garbage"))
        cases(g, "good key followed by garbage", [("good key", P7)])
        g = kgroup("good-key-then-unknown-packet", armor(c(P7) + pkt(60, b"private")))
        cases(g, "good key followed by an unknown packet", [("good key", P7)])
        g = kgroup("dsa-primary-elgamal-sub", armor(cert(K["D2048"], uid, subkeys=[(K["ELG"], dict(flags=0x0C, cross=False))])))
        cases(g, "DSA primary with ElGamal subkey", [("DSA primary", K["D2048"])])
        g = kgroup("rsa-with-ecdh-and-elgamal-subs", armor(c(P7, subkeys=[(K["ECDH"], dict(flags=0x0C, cross=False)),
                                                                          (K["ELG"], dict(flags=0x0C, cross=False))])))
        cases(g, "RSA primary with ECDH and ElGamal subkeys", [("primary", P7)])
        g = kgroup("old-key-2010", armor(c(K["Bold"])))
        cases(g, "key created 2010", [("key", K["Bold"])], extra=[
            ("signature made before the key existed (2005)", lambda d: self.msg(d, K["Bold"], "go", created=1104537600))])
        g = kgroup("real-redhat-and-test-key", armor(dearmor(open(os.path.join(self.vectors, "keys", "redhat-release-key-2.asc"), "rb").read()) + c(P7)))
        cases(g, "Red Hat key and a test key in one block", [("test key", P7)])
        # --------------------------- several entries (each must be satisfied)
        e1 = self.write_key("entry-P7.asc", armor(c(P7)))
        e2 = self.write_key("entry-P8.asc", armor(c(P8)))
        e12 = self.write_key("entry-P7-P8.asc", armor(c(P7) + c(P8)))
        cm = self.write_configmap("two-entries", [("verifier-public-key-a", e1), ("verifier-public-key-b", e2)])
        g = self.group("kr-two-entries", [("verifier-public-key-a", e1), ("verifier-public-key-b", e2)], configmap=cm)
        for i in range(self.n(30)):
            st = ("goc", "gpg")[i % 2]
            d = self.digest()
            self.add(cls, g, f"two entries: only entry a satisfied (one sig by P7) ({st})", d, self.msg(d, P7, st))
            d = self.digest()
            self.add(cls, g, f"two entries: only entry b satisfied (one sig by P8) ({st})", d, self.msg(d, P8, st))
            d = self.digest()
            self.add(cls, g, f"two entries: sig-1 by P7, sig-2 by P8 ({st})", d, [self.msg(d, P7, st), self.msg(d, P8, st)])
            d = self.digest()
            self.add(cls, g, f"two entries: sig-1 by P8, sig-2 by P7 ({st})", d, [self.msg(d, P8, st), self.msg(d, P7, st)])
            d = self.digest()
            self.add(cls, g, f"two entries: sig-1 by P7, sig-2 by untrusted ({st})", d, [self.msg(d, P7, st), self.msg(d, K["U"], st)])
            d = self.digest()
            self.add(cls, g, f"two entries: sig-1 P7, sig-2 garbage, sig-3 P8 ({st})", d,
                     [self.msg(d, P7, st), b"garbage", self.msg(d, P8, st)])
            d = self.digest()
            pl = self.payload(d)
            self.add(cls, g, f"two entries: one message with two signatures (P7, P8) ({st})", d,
                     render([P(TAG_OPS, ops_body(0, 8, 1, P8.keyid, last=0)), P(TAG_OPS, ops_body(0, 8, 1, P7.keyid)),
                             P(TAG_LIT, lit_body(pl)),
                             P(TAG_SIG, sig_v4(P7, pl).body), P(TAG_SIG, sig_v4(P8, pl).body)]))
        cm = self.write_configmap("two-entries-shared-key", [("verifier-public-key-a", e1), ("verifier-public-key-b", e12)])
        g = self.group("kr-two-entries-shared-key", [("verifier-public-key-a", e1), ("verifier-public-key-b", e12)], configmap=cm)
        for i in range(self.n(30)):
            st = ("goc", "gpg")[i % 2]
            d = self.digest()
            self.add(cls, g, f"two entries sharing key P7: one sig by P7 satisfies both ({st})", d, self.msg(d, P7, st))
            d = self.digest()
            self.add(cls, g, f"two entries sharing key P7: one sig by P8 satisfies only b ({st})", d, self.msg(d, P8, st))
        cm = self.write_configmap("same-file-twice", [("verifier-public-key-a", e1), ("verifier-public-key-b", e1)])
        g = self.group("kr-same-file-twice", [("verifier-public-key-a", e1), ("verifier-public-key-b", e1)], configmap=cm)
        for i in range(self.n(20)):
            d = self.digest()
            self.add(cls, g, "two entries with the same key: one sig", d, self.msg(d, P7, ("goc", "gpg")[i % 2]))
        # three entries: the real default (Red Hat one entry) + two test entries
        cm = self.write_configmap("three-entries", [("verifier-public-key-a", e1), ("verifier-public-key-b", e2),
                                                    ("verifier-public-key-c", e12)])
        g = self.group("kr-three-entries", [("verifier-public-key-a", e1), ("verifier-public-key-b", e2),
                                            ("verifier-public-key-c", e12)], configmap=cm)
        for i in range(self.n(20)):
            st = ("goc", "gpg")[i % 2]
            d = self.digest()
            self.add(cls, g, "three entries: sigs by P7 and P8", d, [self.msg(d, P7, st), self.msg(d, P8, st)])
            d = self.digest()
            self.add(cls, g, "three entries: sig by P7 only", d, self.msg(d, P7, st))

    def write_configmap(self, name: str, entries: list[tuple[str, str]]) -> str:
        lines = ["apiVersion: v1", "kind: ConfigMap", "metadata:", "  name: release-verification",
                 "  namespace: openshift-config-managed", "  labels:", "    release.openshift.io/verification-config-map: \"\"",
                 "data:"]
        for n, p in entries:
            text = open(os.path.join(self.out, p), "rb").read().decode()
            lines.append(f"  {n}: |")
            lines += ["    " + l for l in text.splitlines()]
        return self.write_key(f"configmap-{name}.yaml", ("\n".join(lines) + "\n").encode())

    # ------------------------------------------------------------------------------- stores
    def cls_store(self):
        cls = "store"
        A, U = self.K["A"], self.K["U"]
        for transport in ("http", "file"):
            g = self.mgroup(cls, transport)
            reps = self.n(14) if transport == "http" else self.n(7)
            for i in range(reps):
                st = ("goc", "gpg")[i % 2]

                def good(d):
                    return self.msg(d, A, st)

                def bad(d):
                    return self.msg(d, U, st)
                T = transport
                d = self.digest()
                self.add(cls, g, f"[{T}] signature-1 untrusted, signature-2 valid", d, [bad(d), good(d)])
                d = self.digest()
                self.add(cls, g, f"[{T}] signature-1 garbage, signature-2 valid", d, [b"garbage", good(d)])
                d = self.digest()
                self.add(cls, g, f"[{T}] signature-1 empty file, signature-2 valid", d, [b"", good(d)])
                d = self.digest()
                self.add(cls, g, f"[{T}] signature-1 valid only", d, [good(d)])
                d = self.digest()
                self.add(cls, g, f"[{T}] signature-1 missing, signature-2 valid", d, {2: good(d)})
                d = self.digest()
                self.add(cls, g, f"[{T}] signatures 1..8 invalid, 9 valid", d, [bad(d)] * 8 + [good(d)])
                d = self.digest()
                self.add(cls, g, f"[{T}] signatures 1..9 invalid, 10 valid", d, [bad(d)] * 9 + [good(d)])
                d = self.digest()
                self.add(cls, g, f"[{T}] signatures 1..9 garbage, 10 valid", d, [b"x"] * 9 + [good(d)])
                d = self.digest()
                self.add(cls, g, f"[{T}] signatures 1..10 invalid, 11 valid", d, [bad(d)] * 10 + [good(d)])
                d = self.digest()
                self.add(cls, g, f"[{T}] signatures 1..9 empty, 10 valid", d, [b""] * 9 + [good(d)])
                d = self.digest()
                self.add(cls, g, f"[{T}] signatures 1..8 empty, 9 valid", d, [b""] * 8 + [good(d)])
                d = self.digest()
                self.add(cls, g, f"[{T}] signature for another digest, then valid", d, [good(self.digest()), good(d)])
                d = self.digest()
                gm = good(d)
                self.add(cls, g, f"[{T}] valid message then padding to 60000 bytes", d, gm + b"\0" * (60000 - len(gm)))
                d = self.digest()
                gm = good(d)
                self.add(cls, g, f"[{T}] valid message then padding to exactly 51200 bytes", d, gm + b"\0" * (51200 - len(gm)))
                d = self.digest()
                gm = good(d)
                self.add(cls, g, f"[{T}] valid message then padding to 51201 bytes", d, gm + b"\0" * (51201 - len(gm)))
                d = self.digest()
                self.add(cls, g, f"[{T}] valid message preceded by 52000 bytes of marker packets", d,
                         pkt(TAG_MARKER, b"PGP", "old") * (52000 // 5) + good(d))
                d = self.digest()
                self.add(cls, g, f"[{T}] valid message preceded by one 60000-byte unknown packet (tag 60)", d,
                         pkt(60, b"\0" * 60000) + good(d))
                d = self.digest()
                self.add(cls, g, f"[{T}] valid message preceded by 51100 bytes of unknown packet", d,
                         pkt(61, b"\0" * 51100) + good(d))
                d = self.digest()
                pl = self.payload(d)[:-1] + b"," + b'"x":1' * 0 + b"}"
                pl = self.payload(d) + b" " * 52000
                o, l, s = self.parts(pl, A, st)
                self.add(cls, g, f"[{T}] valid message whose literal is 52 KB (payload + whitespace)", d,
                         render(self.std_nodes(o, l, s, st)))
                d = self.digest()
                pl = self.payload(d) + b" " * 52000
                o, l, s = self.parts(pl, A, "gpg")
                self.add(cls, g, f"[{T}] compressed valid message whose literal is 52 KB (small on the wire)", d,
                         render(self.std_nodes(o, l, s, "gpg")))
                d = self.digest()
                self.add(cls, g, f"[{T}] 9 valid signatures", d, [good(d)] * 9)
                d = self.digest()
                self.add(cls, g, f"[{T}] no signature at all", d, {})

    # ------------------------------------------------------------------------------- real signatures
    def cls_redhat(self):
        cls = "redhat"
        v = self.vectors
        rh = os.path.join(v, "stores")
        sigs = []  # (digest, bytes, label)
        for sub in ("redhat", "redhat-more", "redhat-v3", "openshift-ci"):
            for dd in sorted(os.listdir(os.path.join(rh, sub))):
                data = open(os.path.join(rh, sub, dd, "signature-1"), "rb").read()
                sigs.append((dd.replace("=", ":"), data, f"{sub}/{dd[:19]}"))
        kr = b""
        for f in ("redhat-release-key-2.asc", "redhat-beta-key-2.asc", "openshift-ci-2019.asc"):
            kr += dearmor(open(os.path.join(v, "keys", f), "rb").read())
        path = self.write_key("redhat-and-ci.asc", armor(kr))

        def unpack(data):
            ps = split_packets(data)
            if ps[0][0] == 8:
                body = ps[0][2]
                inner = zlib.decompressobj(-15).decompress(body[1:])
                return True, split_packets(inner)
            return False, ps

        def fr_of(tag, body, fmt):
            return frame(tag, body, fmt)

        M = []

        def m(name, fn):
            M.append((name, fn))
        # fn(ops, lit, sig, was_compressed) -> bytes
        m("unchanged", None)
        m("uncompressed", lambda o, l, s: pkt(4, o, "old") + pkt(11, l, "old") + pkt(2, s, "old"))
        m("uncompressed new-format", lambda o, l, s: pkt(4, o) + pkt(11, l) + pkt(2, s))
        m("uncompressed go framing", lambda o, l, s: pkt(4, o) + pkt(11, l, "partial") + pkt(2, s))
        for a in (1, 2, 3):
            m(f"recompressed algo {a}", lambda o, l, s, a=a: render([C(a, [P(4, o), P(11, l), P(2, s)])]))
            m(f"recompressed algo {a} new-format partial", lambda o, l, s, a=a: render([C(a, [P(4, o), P(11, l, {"fmt": "partial", "chunks": "size:1"}), P(2, s)], {"fmt": "partial"})]))
        m("recompressed stored blocks", lambda o, l, s: render([C(1, [P(4, o), P(11, l), P(2, s)], level=0)]))
        m("nested compression x3", lambda o, l, s: render([C(1, [C(2, [C(3, [P(4, o), P(11, l), P(2, s)])])])]))
        m("literal format t", lambda o, l, s: render([C(1, [P(4, o), P(11, b"t" + l[1:]), P(2, s)])]))
        m("literal format u", lambda o, l, s: render([C(1, [P(4, o), P(11, b"u" + l[1:]), P(2, s)])]))
        m("literal renamed and redated", lambda o, l, s: render([C(1, [P(4, o), P(11, lit_body(l[2 + l[1] + 4:], b"b", b"x" * 200, 12345)), P(2, s)])]))
        m("ops is-last 2", lambda o, l, s: render([C(1, [P(4, o[:-1] + b"\x02"), P(11, l), P(2, s)])]))
        m("ops is-last 0 (nested)", lambda o, l, s: render([C(1, [P(4, o[:-1] + b"\x00"), P(11, l), P(2, s)])]))
        m("ops sigtype text", lambda o, l, s: render([C(1, [P(4, o[:1] + b"\x01" + o[2:]), P(11, l), P(2, s)])]))
        m("ops pkalgo 3", lambda o, l, s: render([C(1, [P(4, o[:3] + b"\x03" + o[4:]), P(11, l), P(2, s)])]))
        m("ops hash sha512", lambda o, l, s: render([C(1, [P(4, o[:2] + b"\x0a" + o[3:]), P(11, l), P(2, s)])]))
        m("ops missing", lambda o, l, s: render([C(1, [P(11, l), P(2, s)])]))
        m("ops twice", lambda o, l, s: render([C(1, [P(4, o), P(4, o), P(11, l), P(2, s)])]))
        m("marker before", lambda o, l, s: pkt(10, b"PGP", "old") + render([C(1, [P(4, o), P(11, l), P(2, s)])]))
        m("marker inside between literal and sig", lambda o, l, s: render([C(1, [P(4, o), P(11, l), P(10, b"PGP"), P(2, s)])]))
        m("unknown tag 60 before", lambda o, l, s: pkt(60, b"x") + render([C(1, [P(4, o), P(11, l), P(2, s)])]))
        m("trailing garbage", lambda o, l, s: render([C(1, [P(4, o), P(11, l), P(2, s)], {"fmt": "new"})]) + b"garbage")
        m("concatenated twice", lambda o, l, s: render([C(1, [P(4, o), P(11, l), P(2, s)], {"fmt": "new"})]) * 2)
        m("armored", lambda o, l, s: armor(render([C(1, [P(4, o), P(11, l), P(2, s)])]), "PGP MESSAGE"))

        def sig_edit(fn):
            return lambda o, l, s: render([C(1, [P(4, o), P(11, l), P(2, fn(s))])])

        def v4_unhashed_add(extra, replace=False):
            def f(s):
                if s[0] != 4:
                    return s
                hl = struct.unpack(">H", s[4:6])[0]
                ul = struct.unpack(">H", s[6 + hl:8 + hl])[0]
                un = s[8 + hl:8 + hl + ul]
                un = extra if replace else un + extra
                return s[:6 + hl] + struct.pack(">H", len(un)) + un + s[8 + hl + ul:]
            return f

        def mpi_edit(kind):
            def f(s):
                # RSA MPI is at the end of the packet in both v3 and v4
                if s[0] == 4:
                    hl = struct.unpack(">H", s[4:6])[0]
                    ul = struct.unpack(">H", s[6 + hl:8 + hl])[0]
                    p = 8 + hl + ul + 2
                else:
                    p = 19
                bits = struct.unpack(">H", s[p:p + 2])[0]
                val = s[p + 2:]
                if kind == "go":
                    return s[:p] + struct.pack(">H", 8 * len(val)) + val
                if kind == "plus7":
                    nb = bits + (7 - (bits - 1) % 8) if (bits - 1) % 8 != 7 else bits
                    return s[:p] + struct.pack(">H", nb) + val
                if kind == "minus1":
                    return s[:p] + struct.pack(">H", bits - 1) + val
                if kind == "leadzero":
                    return s[:p] + struct.pack(">H", 8 * (len(val) + 1)) + b"\0" + val
                if kind == "flip":
                    return s[:-1] + bytes([s[-1] ^ 1])
                if kind == "hashtag":
                    return s[:p - 2] + bytes([s[p - 2] ^ 0xFF]) + s[p - 1:]
                raise ValueError(kind)
            return f
        m("unhashed: add unknown non-critical subpacket", sig_edit(v4_unhashed_add(sp(100, b"hello"))))
        m("unhashed: add unknown critical subpacket", sig_edit(v4_unhashed_add(sp(100, b"hello", True))))
        m("unhashed: add creation time", sig_edit(v4_unhashed_add(sp_created(NOW_T))))
        m("unhashed: add sig expiry in the past", sig_edit(v4_unhashed_add(sp(SP_SIG_EXPIRY, b"\0\0\0\1"))))
        m("unhashed: remove issuer", sig_edit(v4_unhashed_add(b"", replace=True)))
        m("unhashed: issuer of another key", sig_edit(v4_unhashed_add(sp_issuer(self.K["U"]), replace=True)))
        m("unhashed: add embedded 0x00 signature", sig_edit(v4_unhashed_add(sp(SP_EMBEDDED, sig_v4(self.K["U"], b"x").body))))
        m("mpi: bit count 8*len", sig_edit(mpi_edit("go")))
        m("mpi: bit count rounded up within the byte", sig_edit(mpi_edit("plus7")))
        m("mpi: bit count minus 1", sig_edit(mpi_edit("minus1")))
        m("mpi: leading zero byte added", sig_edit(mpi_edit("leadzero")))
        m("mpi: value changed", sig_edit(mpi_edit("flip")))
        m("hash tag changed", sig_edit(mpi_edit("hashtag")))
        m("sig trailing bytes inside packet", sig_edit(lambda s: s + b"\0\0"))
        for mi, (name, fn) in enumerate(M):
            g = self.group(f"rh-{mi:02d}", [("verifier-public-key-redhat", path)])
            for dg, data, label in sigs:
                if fn is None:
                    out = data
                else:
                    comp, ps = unpack(data)
                    o, l, s = (ps[0][2], ps[1][2], ps[2][2])
                    out = fn(o, l, s)
                self.add(cls, g, f"real {label}: {name}", dg, out)

    # =============================================================================== main
    def run(self, only=None):
        steps = [("framing", self.cls_framing), ("order", self.cls_order), ("ops", self.cls_ops),
                 ("compression", self.cls_compression), ("armour", self.cls_armour), ("mpi", self.cls_mpi),
                 ("hash", self.cls_hash), ("keyalgo", self.cls_keyalgo), ("subpackets", self.cls_subpackets),
                 ("sigversion", self.cls_sigversion), ("literal", self.cls_literal), ("payload", self.cls_payload),
                 ("keyring", self.cls_keyring), ("store", self.cls_store), ("redhat", self.cls_redhat),
                 # second campaign (deep.py)
                 ("random", self.cls_random), ("indeterminate", self.cls_indeterminate),
                 ("deflate-shapes", self.cls_deflate_shapes), ("bzip2-shapes", self.cls_bzip2_shapes),
                 ("encrypted", self.cls_encrypted), ("json-deep", self.cls_json_deep),
                 ("keyring-deep", self.cls_keyring_deep)]
        for name, fn in steps:
            if only and name not in only:
                continue
            t = time.time()
            self.rng = random.Random(f"{self.seed}-{name}")
            fn()
            print(f"{name}: {self.count[name]} cases in {time.time() - t:.1f}s", file=sys.stderr)
        self.gpg.close()
        with open(os.path.join(self.out, "cases.tsv"), "w") as f:
            f.write("case\tclass\tgroup\tentries\tdigest\ttransport\tdescription\n")
            for c in self.cases:
                f.write("\t".join(c) + "\n")
        with open(os.path.join(self.out, "groups.tsv"), "w") as f:
            f.write("group\ttransport\tentries\tconfigmap\tcases\n")
            for n, gr in self.groups.items():
                ent = ";".join(f"{a}={b}" for a, b in gr["entries"])
                f.write(f"{n}\t{gr['transport']}\t{ent}\t{gr['configmap'] or '-'}\t{gr['n']}\n")
        shutil.rmtree(self.tmp, ignore_errors=True)
        print(f"total: {len(self.cases)} cases in {len(self.groups)} groups", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="output directory (outside the repository); replaced")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--vectors", default=os.environ.get("SIGBUNDLE_VECTORS", "/work/shared/vectors"),
                    help="the shared vectors folder (real Red Hat signatures and keys)")
    ap.add_argument("--scale", type=float, default=1.0, help="multiply case counts (0.05 for a quick run)")
    ap.add_argument("--only", nargs="*", help="only these classes")
    a = ap.parse_args()
    if os.path.exists(a.out):
        shutil.rmtree(a.out)
    os.makedirs(a.out)
    Campaign(a.out, a.seed, a.vectors, a.scale).run(a.only)


if __name__ == "__main__":
    main()
