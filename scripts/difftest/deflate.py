"""A tiny DEFLATE *encoder* for the differential campaign: stored, fixed and dynamic blocks
built token by token, so that streams no ordinary compressor writes can be made: empty stored
blocks, a final block followed by more bytes, code lengths that do not make a complete code
(incomplete, over-subscribed, a lone code of length 1 or 2), length codes 286/287 and distance
codes 30/31 in fixed blocks, distances beyond the history, matches reaching back across the
32 KiB window, any HLIT/HDIST/HCLEN, bad stored-block lengths.

Blocks are described as dicts and written by `stream()`; `tokens()` turns bytes into
literals and matches (greedy LZ77 over a 32 KiB window).
"""

from __future__ import annotations

import heapq
import zlib

CL_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]

LEN_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115,
            131, 163, 195, 227, 258]
LEN_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
DIST_BASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
             2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
DIST_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]


class BitWriter:
    """LSB-first bit writer."""

    def __init__(self):
        self.out = bytearray()
        self.acc = 0
        self.n = 0

    def bits(self, v: int, n: int):
        self.acc |= (v & ((1 << n) - 1)) << self.n
        self.n += n
        while self.n >= 8:
            self.out.append(self.acc & 0xFF)
            self.acc >>= 8
            self.n -= 8

    def code(self, c: int, n: int):
        """A Huffman code: its bits most significant first."""
        r = 0
        for i in range(n):
            r = (r << 1) | ((c >> i) & 1)
        self.bits(r, n)

    def align(self):
        if self.n:
            self.bits(0, 8 - self.n)

    def flush(self) -> bytes:
        self.align()
        return bytes(self.out)


def len_code(length: int) -> tuple[int, int, int]:
    """(symbol, extra bits count, extra value) for a match length 3..258."""
    if length == 258:
        return 285, 0, 0
    for i in range(len(LEN_BASE) - 2, -1, -1):
        if LEN_BASE[i] <= length:
            return 257 + i, LEN_EXTRA[i], length - LEN_BASE[i]
    raise ValueError(length)


def dist_code(d: int) -> tuple[int, int, int]:
    for i in range(len(DIST_BASE) - 1, -1, -1):
        if DIST_BASE[i] <= d:
            return i, DIST_EXTRA[i], d - DIST_BASE[i]
    raise ValueError(d)


def tokens(data: bytes, window: int = 32768, min_match=3, max_chain=64, lazy_lits=0.0, rng=None) -> list:
    """Greedy LZ77: [('L', byte) | ('M', length, dist)]. lazy_lits: probability (with rng) of
    emitting a literal where a match was possible."""
    out = []
    heads: dict[bytes, list[int]] = {}
    i = 0
    n = len(data)
    while i < n:
        best_len, best_d = 0, 0
        if i + min_match <= n:
            key = data[i:i + 3]
            cands = heads.get(key, [])
            for j in reversed(cands[-max_chain:]):
                d = i - j
                if d > window:
                    break
                l = 0
                while l < 258 and i + l < n and data[j + l] == data[i + l]:
                    l += 1
                if l > best_len:
                    best_len, best_d = l, d
                    if l == 258:
                        break
        if best_len >= min_match and not (rng and rng.random() < lazy_lits):
            out.append(("M", best_len, best_d))
            step = best_len
        else:
            out.append(("L", data[i]))
            step = 1
        for k in range(i, min(i + step, n - 2)):
            heads.setdefault(data[k:k + 3], []).append(k)
        i += step
    return out


def huffman_lengths(freqs: list[int], maxlen: int) -> list[int]:
    """Code lengths for the symbols with a non-zero frequency (others 0), at most maxlen; a
    single used symbol gets length 1."""
    used = [i for i, f in enumerate(freqs) if f > 0]
    lengths = [0] * len(freqs)
    if not used:
        return lengths
    if len(used) == 1:
        lengths[used[0]] = 1
        return lengths
    f = {i: freqs[i] for i in used}
    while True:
        heap = [(w, i, (i,)) for i, w in f.items()]
        heapq.heapify(heap)
        depth = {i: 0 for i in used}
        k = len(freqs)
        while len(heap) > 1:
            w1, _, s1 = heapq.heappop(heap)
            w2, _, s2 = heapq.heappop(heap)
            for s in s1 + s2:
                depth[s] += 1
            heapq.heappush(heap, (w1 + w2, k, s1 + s2))
            k += 1
        if max(depth.values()) <= maxlen:
            for i, d in depth.items():
                lengths[i] = d
            return lengths
        f = {i: 1 + w // 2 for i, w in f.items()}


def canon(lengths: list[int]) -> list[tuple[int, int]]:
    """(code, length) per symbol, canonical (as RFC 1951 assigns and Go's decoder reads); works
    for incomplete and over-subscribed length sets too (codes then collide or leave gaps)."""
    maxl = max(lengths) if lengths else 0
    bl_count = [0] * (maxl + 2)
    for l in lengths:
        if l:
            bl_count[l] += 1
    code = 0
    next_code = [0] * (maxl + 2)
    for b in range(1, maxl + 1):
        code = (code + bl_count[b - 1]) << 1
        next_code[b] = code
    out = []
    for l in lengths:
        if l:
            out.append((next_code[l] & ((1 << l) - 1), l))
            next_code[l] += 1
        else:
            out.append((0, 0))
    return out


FIXED_LIT = [8] * 144 + [9] * 112 + [7] * 24 + [8] * 8
FIXED_DIST = [5] * 32


def _write_tokens(bw: BitWriter, toks, lit_codes, dist_codes):
    for t in toks:
        if t[0] == "L":
            c, n = lit_codes[t[1]]
            bw.code(c, n)
        elif t[0] == "M":
            sym, eb, ev = len_code(t[1])
            c, n = lit_codes[sym]
            bw.code(c, n)
            bw.bits(ev, eb)
            ds, deb, dev = dist_code(t[2])
            c, n = dist_codes[ds]
            bw.code(c, n)
            bw.bits(dev, deb)
        elif t[0] == "S":          # a raw literal/length symbol (e.g. 286/287), no extra bits
            c, n = lit_codes[t[1]]
            bw.code(c, n)
        elif t[0] == "SD":         # raw length symbol + raw distance symbol (30/31)
            c, n = lit_codes[t[1]]
            bw.code(c, n)
            sym = t[1]
            if 257 <= sym <= 284:
                bw.bits(0, LEN_EXTRA[sym - 257])
            c, n = dist_codes[t[2]]
            bw.code(c, n)
        elif t[0] == "BITS":       # raw bits
            bw.bits(t[1], t[2])
        else:
            raise ValueError(t)


def _rle_lengths(all_lengths: list[int], use_rle=True) -> list[tuple[int, int, int]]:
    """Code-length symbols: (sym, extra bits, extra value)."""
    out = []
    i = 0
    n = len(all_lengths)
    while i < n:
        l = all_lengths[i]
        j = i
        while j < n and all_lengths[j] == l:
            j += 1
        run = j - i
        if not use_rle:
            out += [(l, 0, 0)] * run
            i = j
            continue
        if l == 0:
            while run >= 11:
                k = min(run, 138)
                out.append((18, 7, k - 11))
                run -= k
            if run >= 3:
                out.append((17, 3, run - 3))
                run = 0
            out += [(0, 0, 0)] * run
        else:
            out.append((l, 0, 0))
            run -= 1
            while run >= 3:
                k = min(run, 6)
                out.append((16, 2, k - 3))
                run -= k
            out += [(l, 0, 0)] * run
        i = j
    return out


def block(bw: BitWriter, b: dict):
    """Write one block. b: {'type': 'stored'|'fixed'|'dynamic'|'reserved', 'final': bool, ...}
    stored: data, nlen_xor (corrupt NLEN), len_override
    fixed: toks (tokens, EOB added unless no_eob)
    dynamic: toks, lit_lengths/dist_lengths/cl_lengths overrides (lists), hlit/hdist/hclen
    overrides, cl_syms override (list of (sym, nbits, val)), no_rle."""
    final = 1 if b.get("final") else 0
    typ = b["type"]
    if typ == "stored":
        data = b.get("data", b"")
        bw.bits(final, 1)
        bw.bits(0, 2)
        bw.align()
        ln = b.get("len_override", len(data))
        bw.bits(ln, 16)
        bw.bits((~ln & 0xFFFF) ^ b.get("nlen_xor", 0), 16)
        for c in data:
            bw.bits(c, 8)
        return
    if typ == "reserved":
        bw.bits(final, 1)
        bw.bits(3, 2)
        return
    toks = list(b.get("toks", []))
    if not b.get("no_eob"):
        toks.append(("S", 256))
    if typ == "fixed":
        bw.bits(final, 1)
        bw.bits(1, 2)
        _write_tokens(bw, toks, canon(FIXED_LIT), canon(FIXED_DIST))
        return
    # dynamic
    lf = [0] * 286
    df = [0] * 30
    for t in toks:
        if t[0] == "L":
            lf[t[1]] += 1
        elif t[0] == "M":
            lf[len_code(t[1])[0]] += 1
            df[dist_code(t[2])[0]] += 1
        elif t[0] in ("S", "SD"):
            if t[1] < 286:
                lf[t[1]] += 1
    lit_l = b.get("lit_lengths") or huffman_lengths(lf, 15)
    dist_l = b.get("dist_lengths")
    if dist_l is None:
        dist_l = huffman_lengths(df, 15)
    hlit = b.get("hlit", max(257, max((i + 1 for i, l in enumerate(lit_l) if l), default=257)))
    hdist = b.get("hdist", max(1, max((i + 1 for i, l in enumerate(dist_l) if l), default=1)))
    lit_l = (list(lit_l) + [0] * 300)[:hlit]
    dist_l = (list(dist_l) + [0] * 40)[:hdist]
    cl_syms = b.get("cl_syms") or _rle_lengths(lit_l + dist_l, not b.get("no_rle"))
    clf = [0] * 19
    for s, _, _ in cl_syms:
        clf[s] += 1
    cl_l = b.get("cl_lengths") or huffman_lengths(clf, 7)
    hclen = b.get("hclen")
    if hclen is None:
        hclen = 4
        for k in range(19):
            if cl_l[CL_ORDER[k]]:
                hclen = max(hclen, k + 1)
    bw.bits(final, 1)
    bw.bits(2, 2)
    bw.bits(hlit - 257, 5)
    bw.bits(hdist - 1, 5)
    bw.bits(hclen - 4, 4)
    for k in range(hclen):
        bw.bits(cl_l[CL_ORDER[k]], 3)
    clc = canon(cl_l)
    for s, nb, v in cl_syms:
        c, n = clc[s]
        bw.code(c, n)
        if nb:
            bw.bits(v, nb)
    lit_codes = canon((lit_l + [0] * 300)[:288])
    dist_codes = canon((dist_l + [0] * 40)[:32])
    _write_tokens(bw, toks, lit_codes, dist_codes)


def stream(blocks: list[dict], trailer: bytes = b"") -> bytes:
    bw = BitWriter()
    for b in blocks:
        block(bw, b)
    return bw.flush() + trailer


def zlib_wrap(raw: bytes, data: bytes, *, fdict: int | None = None, adler: int | None = None,
              cmf: int = 0x78, level_bits: int = 2) -> bytes:
    """zlib header (FDICT with dictionary id `fdict` when given) + raw + Adler-32 of data."""
    flg = (level_bits << 6) | (0x20 if fdict is not None else 0)
    flg |= (31 - ((cmf << 8) | flg) % 31) % 31
    out = bytes([cmf, flg])
    if fdict is not None:
        out += fdict.to_bytes(4, "big")
    a = zlib.adler32(data) if adler is None else adler
    return out + raw + a.to_bytes(4, "big")


if __name__ == "__main__":
    import random
    r = random.Random(3)
    for n in (0, 1, 10, 300, 5000, 70000):
        d = bytes(r.choice(b"ab  {}\"x\n") for _ in range(n)) + b" " * r.randint(0, 40000)
        t = tokens(d)
        for typ in ("fixed", "dynamic"):
            s = stream([{"type": typ, "toks": t, "final": True}])
            assert zlib.decompress(s, -15) == d, (typ, n)
        s = stream([{"type": "stored", "data": d[:100]}, {"type": "stored", "data": b""},
                    {"type": "dynamic", "toks": tokens(d[100:]), "final": True}])
        assert zlib.decompress(s, -15) == d
        z = zlib_wrap(stream([{"type": "fixed", "toks": t, "final": True}]), d)
        assert zlib.decompress(z) == d
    print("ok")
