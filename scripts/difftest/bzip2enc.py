"""A tiny BZIP2 *encoder* for the differential campaign, written to make streams that a normal
encoder never makes: blocks of any size split anywhere (even inside an RLE1 run), the
"randomised" flag, Huffman code lengths that do not make a complete code (written either the
way Go's `compress/bzip2` builds its tree or the way libbzip2 assigns canonical codes), any
number of tables and selectors, any origPtr, wrong CRCs, concatenated streams.

The caller gives each block's bytes *after* the first run-length stage (RLE1), so that
sequences libbzip2's encoder never emits (a run of four followed by a zero count and the same
byte again, a block ending inside a run) can be written; `rle1()` makes the ordinary encoding.
Slow (naive BWT): meant for blocks of a few kilobytes.
"""

from __future__ import annotations

BLOCK_MAGIC = 0x314159265359
FINAL_MAGIC = 0x177245385090

# libbzip2's BZ2_rNums (randomised blocks); only the first entries are ever reached here.
RNUMS = [
    619, 720, 127, 481, 931, 816, 813, 233, 566, 247, 985, 724, 205, 454, 863, 491, 741, 242, 949,
    214, 733, 859, 335, 708, 621, 574, 73, 654, 730, 472, 419, 436, 278, 496, 867, 210, 399, 680,
    480, 51, 878, 465, 811, 169, 869, 675, 611, 697, 867, 561, 862, 687, 507, 283, 482, 129, 807,
    591, 733, 623, 150, 238, 59, 379, 684, 877, 625, 169, 643, 105, 170, 607, 520, 932, 727, 476,
]


def _crc_table():
    t = []
    for i in range(256):
        c = i << 24
        for _ in range(8):
            c = ((c << 1) ^ 0x04C11DB7) if c & 0x80000000 else (c << 1)
        t.append(c & 0xFFFFFFFF)
    return t


CRC_TAB = _crc_table()


def crc32(data: bytes) -> int:
    c = 0xFFFFFFFF
    for b in data:
        c = (CRC_TAB[((c >> 24) ^ b) & 0xFF] ^ (c << 8)) & 0xFFFFFFFF
    return c ^ 0xFFFFFFFF


class BitWriter:
    def __init__(self):
        self.out = bytearray()
        self.acc = 0
        self.n = 0

    def bits(self, v: int, n: int):
        for i in range(n - 1, -1, -1):
            self.acc = (self.acc << 1) | ((v >> i) & 1)
            self.n += 1
            if self.n == 8:
                self.out.append(self.acc)
                self.acc = 0
                self.n = 0

    def bitstr(self, s: str):
        for ch in s:
            self.bits(1 if ch == "1" else 0, 1)

    def flush(self) -> bytes:
        if self.n:
            self.out.append((self.acc << (8 - self.n)) & 0xFF)
            self.acc = 0
            self.n = 0
        return bytes(self.out)


def rle1(data: bytes) -> bytes:
    """libbzip2's first run-length stage: runs of 4..259 become 4 bytes + (run - 4)."""
    out = bytearray()
    i = 0
    while i < len(data):
        c = data[i]
        j = i
        while j < len(data) and data[j] == c and j - i < 255:
            j += 1
        run = j - i
        if run >= 4:
            out += bytes([c]) * 4 + bytes([run - 4])
        else:
            out += bytes([c]) * run
        i = j
    return bytes(out)


def unrle1_go(t: bytes) -> bytes:
    """What Go's readFromBlock makes of one block's RLE1 bytes."""
    out = bytearray()
    last, reps = -1, 0
    i = 0
    while i < len(t):
        b = t[i]
        i += 1
        if reps == 3:
            out += bytes([last]) * b
            if b:
                last = -1
            reps = 0
            continue
        reps = reps + 1 if last == b else 0
        last = b
        out.append(b)
    return bytes(out)


def rand_mask_positions(n: int) -> list[int]:
    """Positions (0-based, in the block's RLE1 bytes) that a randomised block XORs with 1."""
    pos = []
    togo, tpos = 0, 0
    for i in range(n):
        if togo == 0:
            togo = RNUMS[tpos % len(RNUMS)]
            tpos += 1
        togo -= 1
        if togo == 1:
            pos.append(i)
    return pos


def bwt(t: bytes) -> tuple[bytes, int]:
    n = len(t)
    doubled = t + t
    order = sorted(range(n), key=lambda i: doubled[i:i + n])
    last = bytes(t[(i - 1) % n] for i in order)
    return last, order.index(0)


def mtf_rle2(last: bytes):
    """(symbols in use, symbol list with RUNA=0/RUNB=1, EOB=len(used)+1)."""
    used = sorted(set(last))
    lst = list(used)
    syms = []
    zrun = 0

    def flush():
        nonlocal zrun
        r = zrun
        while r > 0:
            if r & 1:
                syms.append(0)
                r = (r - 1) >> 1
            else:
                syms.append(1)
                r = (r - 2) >> 1
        zrun = 0
    for b in last:
        k = lst.index(b)
        if k == 0:
            zrun += 1
            continue
        flush()
        lst.pop(k)
        lst.insert(0, b)
        syms.append(k + 1)
    flush()
    syms.append(len(used) + 1)
    return used, syms


def huffman_lengths(freqs: list[int], maxlen: int = 17) -> list[int]:
    """Plain Huffman code lengths (every symbol gets a code), limited like libbzip2 does."""
    import heapq
    f = [x if x > 0 else 1 for x in freqs]
    while True:
        heap = [(w, i, (i,)) for i, w in enumerate(f)]
        heapq.heapify(heap)
        depth = [0] * len(f)
        k = len(f)
        while len(heap) > 1:
            w1, _, s1 = heapq.heappop(heap)
            w2, _, s2 = heapq.heappop(heap)
            for s in s1 + s2:
                depth[s] += 1
            heapq.heappush(heap, (w1 + w2, k, s1 + s2))
            k += 1
        if max(depth) <= maxlen:
            return [max(1, d) for d in depth]
        f = [1 + x // 2 for x in f]


def canon_codes(lengths: list[int]) -> list[str]:
    """libbzip2's BZ2_hbAssignCodes."""
    codes = [""] * len(lengths)
    vec = 0
    for n in range(min(lengths), max(lengths) + 1):
        for i, l in enumerate(lengths):
            if l == n:
                codes[i] = format(vec, f"0{n}b")[-n:] if n else ""
                vec += 1
        vec <<= 1
    return codes


class GoTreeError(Exception):
    pass


def go_codes(lengths: list[int]) -> list[str | None]:
    """The bit string Go's compress/bzip2 tree decodes to each symbol (None: unreachable).
    Follows newHuffmanTree/buildHuffmanNode exactly (uint32 code arithmetic, levels with one
    side empty skipped without consuming a bit, bit 1 = left = code bit 0)."""
    pairs = sorted(((l, v) for v, l in enumerate(lengths)))
    code = 0
    length = 32
    codes = [None] * len(pairs)
    for i in range(len(pairs) - 1, -1, -1):
        if length > pairs[i][0]:
            length = pairs[i][0]
        codes[i] = (code, length, pairs[i][1])
        code = (code + (1 << (32 - length))) & 0xFFFFFFFF
    codes.sort(key=lambda c: c[0])
    paths: list[str | None] = [None] * len(lengths)

    def build(cs, level, prefix):
        test = 1 << (31 - level)
        fr = len(cs)
        for i, c in enumerate(cs):
            if c[0] & test:
                fr = i
                break
        left, right = cs[:fr], cs[fr:]
        if not left or not right:
            if len(cs) < 2:
                raise GoTreeError("empty Huffman tree")
            if level == 31:
                raise GoTreeError("equal symbols in Huffman tree")
            return build(right if not left else left, level + 1, prefix)
        # bit 1 -> left, bit 0 -> right
        if len(left) == 1:
            paths[left[0][2]] = prefix + "1"
        else:
            build(left, level + 1, prefix + "1")
        if len(right) == 1:
            paths[right[0][2]] = prefix + "0"
        else:
            build(right, level + 1, prefix + "0")
    build(codes, 0, "")
    return paths


def encode_block(bw: BitWriter, t: bytes, *, randomised=False, pre_randomise=True, ntables=2,
                 lengths_fn=None, code_mode="canon", block_crc=None, orig_ptr_delta=0,
                 extra_selectors=0, nselectors_override=None, selector_fn=None, out_crc_of=None):
    """Write one block whose RLE1 bytes are `t`. Returns the block CRC written.
    lengths_fn(freqs, alpha) -> lengths (default: Huffman); code_mode canon|go.
    out_crc_of: the decoded bytes the CRC is computed over (default: Go's reading of t)."""
    if randomised and pre_randomise:
        b = bytearray(t)
        for p in rand_mask_positions(len(b)):
            b[p] ^= 1
        t_enc = bytes(b)
    else:
        t_enc = t
    last, ptr = bwt(t_enc)
    used, syms = mtf_rle2(last)
    alpha = len(used) + 2
    freqs = [0] * alpha
    for s in syms:
        freqs[s] += 1
    lengths = (lengths_fn or (lambda f, a: huffman_lengths(f)))(freqs, alpha)
    if code_mode == "go":
        codes = go_codes(lengths)
        if any(c is None for c in (codes[s] for s in set(syms))):
            raise GoTreeError("a symbol in use is unreachable in Go's tree")
    else:
        codes = canon_codes(lengths)
    crc = crc32(out_crc_of if out_crc_of is not None else unrle1_go(t)) if block_crc is None else block_crc
    bw.bits(BLOCK_MAGIC, 48)
    bw.bits(crc, 32)
    bw.bits(1 if randomised else 0, 1)
    bw.bits((ptr + orig_ptr_delta) & 0xFFFFFF, 24)
    inuse16 = 0
    for r in range(16):
        if any(16 * r <= u < 16 * r + 16 for u in used):
            inuse16 |= 1 << (15 - r)
    bw.bits(inuse16, 16)
    for r in range(16):
        if inuse16 & (1 << (15 - r)):
            m = 0
            for u in used:
                if 16 * r <= u < 16 * r + 16:
                    m |= 1 << (15 - (u - 16 * r))
            bw.bits(m, 16)
    bw.bits(ntables, 3)
    nsel = (len(syms) + 49) // 50 + extra_selectors
    if nselectors_override is not None:
        nsel = nselectors_override
    bw.bits(nsel & 0x7FFF, 15)
    sels = [selector_fn(i) if selector_fn else 0 for i in range(nsel)]
    mtf = list(range(ntables))
    for s in sels:
        k = mtf.index(s)
        mtf.pop(k)
        mtf.insert(0, s)
        bw.bitstr("1" * k + "0")
    for _ in range(ntables):
        cur = lengths[0]
        bw.bits(cur, 5)
        for l in lengths:
            while cur < l:
                bw.bitstr("10")
                cur += 1
            while cur > l:
                bw.bitstr("11")
                cur -= 1
            bw.bitstr("0")
    for i, s in enumerate(syms):
        # every table holds the same lengths, so the selector does not change the code
        bw.bitstr(codes[s])
    return crc


def stream(blocks: list[bytes], *, level=9, final_crc=None, header=None, **kw) -> bytes:
    """A whole stream: `blocks` are RLE1 byte strings. kw go to every block (per-block options
    can be given as lists of dicts via kw['per_block'])."""
    per = kw.pop("per_block", None)
    bw = BitWriter()
    for ch in (header if header is not None else b"BZh" + bytes([ord("0") + level])):
        bw.bits(ch, 8)
    comb = 0
    for i, t in enumerate(blocks):
        o = dict(kw)
        if per:
            o.update(per[i] or {})
        c = encode_block(bw, t, **o)
        comb = (((comb << 1) | (comb >> 31)) & 0xFFFFFFFF) ^ c
    bw.bits(FINAL_MAGIC, 48)
    bw.bits(comb if final_crc is None else final_crc, 32)
    return bw.flush()


def compress(data: bytes, block_size: int | None = None, **kw) -> bytes:
    """data (before RLE1) in blocks of `block_size` RLE1 bytes (split anywhere)."""
    t = rle1(data)
    if block_size is None or block_size >= len(t):
        return stream([t], **kw)
    return stream([t[i:i + block_size] for i in range(0, len(t), block_size)], **kw)


if __name__ == "__main__":
    import bz2
    import random
    r = random.Random(1)
    for n in (1, 2, 5, 50, 300, 1000, 3000):
        for _ in range(5):
            d = bytes(r.choice(b"ab  \0{}\"x") for _ in range(n))
            s = compress(d)
            assert bz2.decompress(s) == d, n
            s = compress(d, block_size=max(1, n // 3))
            got = bz2.decompress(s)
            assert got == d or n < 4, (n, got[:40], d[:40])
            s = compress(d, randomised=True)
            assert bz2.decompress(s) == d
    print("ok")
