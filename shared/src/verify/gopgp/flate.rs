//! Go's `compress/flate` decompressor and `compress/zlib` reader, ported: the same Huffman-table
//! checks (an incomplete or over-full code is corrupt input), the same bytes consumed from the
//! source (one `ReadByte` per byte of bits needed, so the packet after an indeterminate-length
//! compressed packet starts where Go's does), and the same `Read` results (output handed out when
//! the 32 KiB window fills or the last block ends, an error after the bytes decoded before it).

use std::rc::Rc;

use super::io::{read_full, share, Budget, ByteSource, GoErr, GoReader, ReadResult, Shared};

const MAX_CODE_LEN: usize = 16;
const MAX_NUM_LIT: usize = 286;
const MAX_NUM_DIST: usize = 30;
const NUM_CODES: usize = 19;
const CHUNK_BITS: u32 = 9;
const NUM_CHUNKS: usize = 1 << CHUNK_BITS;
const COUNT_MASK: u32 = 15;
const VALUE_SHIFT: u32 = 4;
const WINDOW: usize = 32 * 1024;
const END_BLOCK_MARKER: usize = 256;
const CODE_ORDER: [usize; 19] = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

#[derive(Clone)]
struct Huffman {
    min: u32,
    chunks: Vec<u32>,
    links: Vec<Vec<u32>>,
    link_mask: u32,
}

impl Huffman {
    fn empty() -> Huffman {
        Huffman {
            min: 0,
            chunks: vec![0; NUM_CHUNKS],
            links: Vec::new(),
            link_mask: 0,
        }
    }

    /// `huffmanDecoder.init`: false for a code that is neither complete nor a single code of
    /// length 1.
    fn init(&mut self, lengths: &[usize]) -> bool {
        if self.min != 0 {
            *self = Huffman::empty();
        }
        let mut count = [0usize; MAX_CODE_LEN];
        let (mut min, mut max) = (0usize, 0usize);
        for &n in lengths {
            if n == 0 {
                continue;
            }
            if min == 0 || n < min {
                min = n;
            }
            if n > max {
                max = n;
            }
            count[n] += 1;
        }
        if max == 0 {
            return true;
        }
        let mut code = 0usize;
        let mut nextcode = [0usize; MAX_CODE_LEN];
        for i in min..=max {
            code <<= 1;
            nextcode[i] = code;
            code += count[i];
        }
        if code != 1 << max && !(code == 1 && max == 1) {
            return false;
        }
        self.min = min as u32;
        if max > CHUNK_BITS as usize {
            let num_links = 1usize << (max - CHUNK_BITS as usize);
            self.link_mask = (num_links - 1) as u32;
            let link = nextcode[CHUNK_BITS as usize + 1] >> 1;
            self.links = vec![Vec::new(); NUM_CHUNKS - link];
            for j in link..NUM_CHUNKS {
                let reverse = (j as u16).reverse_bits() as usize >> (16 - CHUNK_BITS);
                let off = j - link;
                self.chunks[reverse] = ((off as u32) << VALUE_SHIFT) | (CHUNK_BITS + 1);
                self.links[off] = vec![0; num_links];
            }
        }
        for (i, &n) in lengths.iter().enumerate() {
            if n == 0 {
                continue;
            }
            let code = nextcode[n];
            nextcode[n] += 1;
            let chunk = ((i as u32) << VALUE_SHIFT) | n as u32;
            let reverse = (code as u16).reverse_bits() as usize >> (16 - n);
            if n <= CHUNK_BITS as usize {
                let mut off = reverse;
                while off < NUM_CHUNKS {
                    self.chunks[off] = chunk;
                    off += 1 << n;
                }
            } else {
                let j = reverse & (NUM_CHUNKS - 1);
                let value = (self.chunks[j] >> VALUE_SHIFT) as usize;
                let linktab = &mut self.links[value];
                let mut off = reverse >> CHUNK_BITS;
                while off < linktab.len() {
                    linktab[off] = chunk;
                    off += 1 << (n - CHUNK_BITS as usize);
                }
            }
        }
        true
    }
}

fn fixed_huffman() -> Huffman {
    let mut bits = [0usize; 288];
    bits[..144].fill(8);
    bits[144..256].fill(9);
    bits[256..280].fill(7);
    bits[280..].fill(8);
    let mut h = Huffman::empty();
    h.init(&bits);
    h
}

thread_local! {
    /// The fixed literal/length code, built once per thread.
    static FIXED: Rc<Huffman> = Rc::new(fixed_huffman());
}

/// `dictDecoder`: the sliding window the output is written into.
struct Dict {
    hist: Vec<u8>,
    wr: usize,
    rd: usize,
    full: bool,
}

impl Dict {
    fn hist_size(&self) -> usize {
        if self.full {
            self.hist.len()
        } else {
            self.wr
        }
    }
    fn avail_read(&self) -> usize {
        self.wr - self.rd
    }
    fn avail_write(&self) -> usize {
        self.hist.len() - self.wr
    }
    fn write_byte(&mut self, c: u8) {
        self.hist[self.wr] = c;
        self.wr += 1;
    }
    fn write_copy(&mut self, dist: usize, length: usize) -> usize {
        let base = self.wr;
        let mut dst = base;
        let end = (dst + length).min(self.hist.len());
        let mut src;
        if dst < dist {
            src = dst + self.hist.len() - dist;
            // copy(hist[dst:end], hist[src:])
            let n = (end - dst).min(self.hist.len() - src);
            self.hist.copy_within(src..src + n, dst);
            dst += n;
            src = 0;
        } else {
            src = dst - dist;
        }
        dst = self.copy_before(src, dst, end);
        self.wr = dst;
        dst - base
    }
    fn try_write_copy(&mut self, dist: usize, length: usize) -> usize {
        let mut dst = self.wr;
        let end = dst + length;
        if dst < dist || end > self.hist.len() {
            return 0;
        }
        let base = dst;
        dst = self.copy_before(dst - dist, dst, end);
        self.wr = dst;
        dst - base
    }
    /// The possibly overlapping section before the destination, as `writeCopy` and
    /// `tryWriteCopy` copy it: `copy(hist[dst:end], hist[src:dst])` until `end`; the new `dst`.
    fn copy_before(&mut self, src: usize, mut dst: usize, end: usize) -> usize {
        while dst < end {
            let n = (end - dst).min(dst - src);
            self.hist.copy_within(src..src + n, dst);
            dst += n;
        }
        dst
    }
    fn read_flush(&mut self) -> Vec<u8> {
        let out = self.hist[self.rd..self.wr].to_vec();
        self.rd = self.wr;
        if self.wr == self.hist.len() {
            self.wr = 0;
            self.rd = 0;
            self.full = true;
        }
        out
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Step {
    NextBlock,
    HuffmanInit,
    HuffmanDict,
    CopyData,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Table {
    Fixed,
    Dynamic,
}

/// Go's `flate` decompressor over a byte source.
pub struct Inflater {
    r: ByteSource,
    b: u32,
    nb: u32,
    h1: Huffman,
    h2: Huffman,
    fixed: Rc<Huffman>,
    bits: Vec<usize>,
    codebits: [usize; NUM_CODES],
    dict: Dict,
    step: Step,
    final_block: bool,
    err: Option<GoErr>,
    to_read: Vec<u8>,
    to_read_at: usize,
    hl: Table,
    has_hd: bool,
    copy_len: usize,
    copy_dist: usize,
    budget: Budget,
}

fn corrupt() -> GoErr {
    GoErr::Other("flate: corrupt input".into())
}

fn no_eof(e: GoErr) -> GoErr {
    if e == GoErr::Eof {
        GoErr::UnexpectedEof
    } else {
        e
    }
}

impl Inflater {
    /// `flate.NewReader(r)` (with `dict` for zlib's preset dictionary).
    pub fn new(r: Shared, budget: Budget) -> Inflater {
        Inflater {
            r: ByteSource::over(r),
            b: 0,
            nb: 0,
            h1: Huffman::empty(),
            h2: Huffman::empty(),
            fixed: FIXED.with(Rc::clone),
            bits: vec![0; MAX_NUM_LIT + MAX_NUM_DIST],
            codebits: [0; NUM_CODES],
            dict: Dict {
                hist: vec![0; WINDOW],
                wr: 0,
                rd: 0,
                full: false,
            },
            step: Step::NextBlock,
            final_block: false,
            err: None,
            to_read: Vec::new(),
            to_read_at: 0,
            hl: Table::Fixed,
            has_hd: false,
            copy_len: 0,
            copy_dist: 0,
            budget,
        }
    }

    fn set_to_read(&mut self, v: Vec<u8>) {
        if let Err(e) = self.budget.take(v.len()) {
            self.err = Some(e);
            self.to_read = Vec::new();
        } else {
            self.to_read = v;
        }
        self.to_read_at = 0;
    }

    fn more_bits(&mut self) -> Result<(), GoErr> {
        let c = self.r.read_byte().map_err(no_eof)?;
        self.b |= u32::from(c).wrapping_shl(self.nb);
        self.nb += 8;
        Ok(())
    }

    /// `huffSym` with the literal/length table (`dist` false) or the distance table.
    fn huff_sym(&mut self, table: Table, dist: bool) -> Result<usize, GoErr> {
        let h: &Huffman = match (dist, table) {
            (true, _) => &self.h2,
            (false, Table::Fixed) => &self.fixed,
            (false, Table::Dynamic) => &self.h1,
        };
        let mut n = h.min;
        let (mut nb, mut b) = (self.nb, self.b);
        loop {
            while nb < n {
                match self.r.read_byte() {
                    Ok(c) => {
                        b |= u32::from(c).wrapping_shl(nb & 31);
                        nb += 8;
                    }
                    Err(e) => {
                        self.b = b;
                        self.nb = nb;
                        return Err(no_eof(e));
                    }
                }
            }
            let mut chunk = h.chunks[(b as usize) & (NUM_CHUNKS - 1)];
            n = chunk & COUNT_MASK;
            if n > CHUNK_BITS {
                chunk = h.links[(chunk >> VALUE_SHIFT) as usize][((b >> CHUNK_BITS) & h.link_mask) as usize];
                n = chunk & COUNT_MASK;
            }
            if n <= nb {
                if n == 0 {
                    self.b = b;
                    self.nb = nb;
                    return Err(corrupt());
                }
                self.b = b.wrapping_shr(n & 31);
                self.nb = nb - n;
                return Ok((chunk >> VALUE_SHIFT) as usize);
            }
        }
    }

    fn next_block(&mut self) {
        while self.nb < 3 {
            if let Err(e) = self.more_bits() {
                self.err = Some(e);
                return;
            }
        }
        self.final_block = self.b & 1 == 1;
        self.b >>= 1;
        let typ = self.b & 3;
        self.b >>= 2;
        self.nb -= 3;
        match typ {
            0 => self.data_block(),
            1 => {
                self.hl = Table::Fixed;
                self.has_hd = false;
                self.step = Step::HuffmanInit;
                self.huffman_block();
            }
            2 => {
                if let Err(e) = self.read_huffman() {
                    self.err = Some(e);
                    return;
                }
                self.hl = Table::Dynamic;
                self.has_hd = true;
                self.step = Step::HuffmanInit;
                self.huffman_block();
            }
            _ => self.err = Some(corrupt()),
        }
    }

    fn read_huffman(&mut self) -> Result<(), GoErr> {
        while self.nb < 14 {
            self.more_bits()?;
        }
        let nlit = (self.b & 0x1f) as usize + 257;
        if nlit > MAX_NUM_LIT {
            return Err(corrupt());
        }
        self.b >>= 5;
        let ndist = (self.b & 0x1f) as usize + 1;
        if ndist > MAX_NUM_DIST {
            return Err(corrupt());
        }
        self.b >>= 5;
        let nclen = (self.b & 0xf) as usize + 4;
        self.b >>= 4;
        self.nb -= 14;
        for &c in CODE_ORDER.iter().take(nclen) {
            self.codebits[c] = self.take_bits(3)?;
        }
        for &c in CODE_ORDER.iter().skip(nclen) {
            self.codebits[c] = 0;
        }
        let codebits = self.codebits;
        if !self.h1.init(&codebits) {
            return Err(corrupt());
        }
        let n = nlit + ndist;
        let mut i = 0;
        while i < n {
            let x = self.huff_sym(Table::Dynamic, false)?;
            if x < 16 {
                self.bits[i] = x;
                i += 1;
                continue;
            }
            let (mut rep, nb, b) = match x {
                16 => {
                    if i == 0 {
                        return Err(corrupt());
                    }
                    (3usize, 2u32, self.bits[i - 1])
                }
                17 => (3, 3, 0),
                18 => (11, 7, 0),
                _ => return Err(GoErr::Other("flate: internal error: unexpected length code".into())),
            };
            rep += self.take_bits(nb)?;
            if i + rep > n {
                return Err(corrupt());
            }
            for _ in 0..rep {
                self.bits[i] = b;
                i += 1;
            }
        }
        let (lit, dist) = self.bits[..n].split_at(nlit);
        let (lit, dist) = (lit.to_vec(), dist.to_vec());
        if !self.h1.init(&lit) || !self.h2.init(&dist) {
            return Err(corrupt());
        }
        let eob = self.bits[END_BLOCK_MARKER] as u32;
        if self.h1.min < eob {
            self.h1.min = eob;
        }
        Ok(())
    }

    /// `huffmanBlock`: literals and copies until the window fills, a copy is left unfinished
    /// or the block ends.
    fn huffman_block(&mut self) {
        if self.step == Step::HuffmanDict && self.copy_history() {
            return;
        }
        loop {
            match self.huffman_symbol() {
                Ok(false) => {}
                Ok(true) => return,
                Err(e) => {
                    self.err = Some(e);
                    return;
                }
            }
        }
    }

    /// One step of `huffmanBlock` from `readLiteral`: a literal byte, the end of the block, or
    /// a length and distance copied from history. True when the step returns.
    fn huffman_symbol(&mut self) -> Result<bool, GoErr> {
        let v = self.huff_sym(self.hl, false)?;
        let (mut length, n): (usize, u32) = match v {
            0..=255 => {
                self.dict.write_byte(v as u8);
                if self.dict.avail_write() == 0 {
                    let out = self.dict.read_flush();
                    self.set_to_read(out);
                    self.step = Step::HuffmanInit;
                    return Ok(true);
                }
                return Ok(false);
            }
            256 => {
                self.finish_block();
                return Ok(true);
            }
            257..=264 => (v - (257 - 3), 0),
            265..=268 => (v * 2 - (265 * 2 - 11), 1),
            269..=272 => (v * 4 - (269 * 4 - 19), 2),
            273..=276 => (v * 8 - (273 * 8 - 35), 3),
            277..=280 => (v * 16 - (277 * 16 - 67), 4),
            281..=284 => (v * 32 - (281 * 32 - 131), 5),
            285 => (258, 0),
            _ => return Err(corrupt()),
        };
        if n > 0 {
            length += self.take_bits(n)?;
        }
        let dist = self.read_distance()?;
        if dist > self.dict.hist_size() {
            return Err(corrupt());
        }
        self.copy_len = length;
        self.copy_dist = dist;
        Ok(self.copy_history())
    }

    /// `huffmanBlock`'s distance: five reversed bits (fixed code) or a symbol of the distance
    /// table, then its extra bits.
    fn read_distance(&mut self) -> Result<usize, GoErr> {
        let dist = if !self.has_hd {
            while self.nb < 5 {
                self.more_bits()?;
            }
            let dist = ((((self.b & 0x1f) << 3) as u8).reverse_bits()) as usize;
            self.b >>= 5;
            self.nb -= 5;
            dist
        } else {
            self.huff_sym(Table::Dynamic, true)?
        };
        match dist {
            0..=3 => Ok(dist + 1),
            4..=29 => {
                let nb = ((dist - 2) >> 1) as u32;
                let extra = (dist & 1) << nb;
                let extra = extra | self.take_bits(nb)?;
                Ok((1 << (nb + 1)) + 1 + extra)
            }
            _ => Err(corrupt()),
        }
    }

    /// The next `n` bits, read into the bit buffer as needed.
    fn take_bits(&mut self, n: u32) -> Result<usize, GoErr> {
        while self.nb < n {
            self.more_bits()?;
        }
        let v = (self.b & ((1u32 << n) - 1)) as usize;
        self.b >>= n;
        self.nb -= n;
        Ok(v)
    }

    /// The `copyHistory` label; true when the step returns (output to hand out).
    fn copy_history(&mut self) -> bool {
        let mut cnt = self.dict.try_write_copy(self.copy_dist, self.copy_len);
        if cnt == 0 {
            cnt = self.dict.write_copy(self.copy_dist, self.copy_len);
        }
        self.copy_len -= cnt;
        if self.dict.avail_write() == 0 || self.copy_len > 0 {
            let out = self.dict.read_flush();
            self.set_to_read(out);
            self.step = Step::HuffmanDict;
            return true;
        }
        self.step = Step::HuffmanInit;
        false
    }

    fn data_block(&mut self) {
        self.nb = 0;
        self.b = 0;
        let mut buf = [0u8; 4];
        let (_, err) = read_full(self.r.shared(), &mut buf);
        if let Some(e) = err {
            self.err = Some(no_eof(e));
            return;
        }
        let n = usize::from(buf[0]) | usize::from(buf[1]) << 8;
        let nn = usize::from(buf[2]) | usize::from(buf[3]) << 8;
        if nn as u16 != !(n as u16) {
            self.err = Some(corrupt());
            return;
        }
        if n == 0 {
            let out = self.dict.read_flush();
            self.set_to_read(out);
            self.finish_block();
            return;
        }
        self.copy_len = n;
        self.copy_data();
    }

    fn copy_data(&mut self) {
        let want = self.dict.avail_write().min(self.copy_len);
        let start = self.dict.wr;
        let mut tmp = vec![0u8; want];
        let (cnt, err) = read_full(self.r.shared(), &mut tmp);
        self.dict.hist[start..start + cnt].copy_from_slice(&tmp[..cnt]);
        self.copy_len -= cnt;
        self.dict.wr += cnt;
        if let Some(e) = err {
            self.err = Some(no_eof(e));
            return;
        }
        if self.dict.avail_write() == 0 || self.copy_len > 0 {
            let out = self.dict.read_flush();
            self.set_to_read(out);
            self.step = Step::CopyData;
            return;
        }
        self.finish_block();
    }

    fn finish_block(&mut self) {
        if self.final_block {
            if self.dict.avail_read() > 0 {
                let out = self.dict.read_flush();
                self.set_to_read(out);
            }
            if self.err.is_none() {
                self.err = Some(GoErr::Eof);
            }
        }
        self.step = Step::NextBlock;
    }

    fn run_step(&mut self) {
        match self.step {
            Step::NextBlock => self.next_block(),
            Step::HuffmanInit | Step::HuffmanDict => self.huffman_block(),
            Step::CopyData => self.copy_data(),
        }
    }
}

impl GoReader for Inflater {
    fn read(&mut self, p: &mut [u8]) -> ReadResult {
        loop {
            if self.to_read_at < self.to_read.len() {
                let n = p.len().min(self.to_read.len() - self.to_read_at);
                p[..n].copy_from_slice(&self.to_read[self.to_read_at..self.to_read_at + n]);
                self.to_read_at += n;
                if self.to_read_at == self.to_read.len() {
                    return (n, self.err.clone());
                }
                return (n, None);
            }
            if let Some(e) = &self.err {
                return (0, Some(e.clone()));
            }
            self.run_step();
            if self.err.is_some() && self.to_read_at >= self.to_read.len() {
                let out = self.dict.read_flush();
                self.set_to_read(out);
            }
        }
    }
}

/// Go's `compress/zlib` reader over an inflater.
pub struct ZlibReader {
    r: Shared,
    inflater: Inflater,
    adler: (u32, u32),
    err: Option<GoErr>,
}

impl ZlibReader {
    /// `zlib.NewReader(r)`: reads and checks the two-byte header (and a preset-dictionary id,
    /// which only the empty dictionary's matches, as Go passes none).
    pub fn new(r: Shared, budget: Budget) -> Result<ZlibReader, GoErr> {
        let src = ByteSource::over(r);
        let r = src.shared().clone();
        let mut h = [0u8; 2];
        match read_full(&r, &mut h) {
            (_, None) => {}
            (_, Some(e)) => return Err(no_eof(e)),
        }
        let check = u16::from_be_bytes(h);
        if h[0] & 0x0f != 8 || h[0] >> 4 > 7 || check % 31 != 0 {
            return Err(GoErr::Other("zlib: invalid header".into()));
        }
        if h[1] & 0x20 != 0 {
            let mut d = [0u8; 4];
            if let (_, Some(e)) = read_full(&r, &mut d) {
                return Err(no_eof(e));
            }
            if u32::from_be_bytes(d) != 1 {
                return Err(GoErr::Other("zlib: invalid dictionary".into()));
            }
        }
        Ok(ZlibReader {
            inflater: Inflater::new(r.clone(), budget),
            r,
            adler: (1, 0),
            err: None,
        })
    }
}

impl GoReader for ZlibReader {
    fn read(&mut self, p: &mut [u8]) -> ReadResult {
        if let Some(e) = &self.err {
            return (0, Some(e.clone()));
        }
        let (n, err) = self.inflater.read(p);
        for &c in &p[..n] {
            self.adler.0 = (self.adler.0 + u32::from(c)) % 65521;
            self.adler.1 = (self.adler.1 + self.adler.0) % 65521;
        }
        self.err = err;
        if self.err != Some(GoErr::Eof) {
            return (n, self.err.clone());
        }
        let mut sum = [0u8; 4];
        if let (_, Some(e)) = read_full(&self.r, &mut sum) {
            self.err = Some(no_eof(e));
            return (n, self.err.clone());
        }
        if u32::from_be_bytes(sum) != (self.adler.1 << 16) | self.adler.0 {
            self.err = Some(GoErr::Other("zlib: invalid checksum".into()));
            return (n, self.err.clone());
        }
        (n, Some(GoErr::Eof))
    }
}

/// `flate.NewReader(r)` as a shared reader.
pub fn inflater(r: Shared, budget: Budget) -> Shared {
    share(Inflater::new(r, budget))
}

#[cfg(test)]
mod tests {
    use super::super::io::{read_all, BytesReader};
    use super::*;
    use std::io::Write;

    fn deflate(data: &[u8], level: u32) -> Vec<u8> {
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(level));
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn inflates_what_zlib_deflates_and_stops_at_the_stream_end() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8 ^ (i / 1000) as u8).collect();
        for level in [0, 1, 6, 9] {
            let mut z = deflate(&data, level);
            z.extend_from_slice(b"TRAILER");
            let src = share(BytesReader::new(Rc::from(z.as_slice())));
            let f = inflater(src.clone(), Budget::new());
            assert_eq!(read_all(&f, 1 << 20).unwrap(), data, "level {level}");
            // The source is left right after the deflate stream.
            assert_eq!(read_all(&src, 100).unwrap(), b"TRAILER", "level {level}");
        }
    }

    #[test]
    fn corrupt_and_truncated_streams_fail_after_what_decoded() {
        let data = b"hello hello hello hello".repeat(50);
        let z = deflate(&data, 6);
        let cut = share(BytesReader::new(Rc::from(&z[..z.len() / 2])));
        assert_eq!(
            read_all(&inflater(cut, Budget::new()), 1 << 20).unwrap_err(),
            GoErr::UnexpectedEof
        );
        // Block type 3 is reserved.
        let bad = share(BytesReader::new(Rc::from(&[0x07u8][..])));
        assert!(matches!(
            read_all(&inflater(bad, Budget::new()), 100),
            Err(GoErr::Other(_))
        ));
    }

    #[test]
    fn the_budget_stops_a_bomb() {
        let z = deflate(&vec![0u8; 8 << 20], 9);
        let src = share(BytesReader::new(Rc::from(z.as_slice())));
        assert!(matches!(
            read_all(&inflater(src, Budget::new()), usize::MAX),
            Err(GoErr::Limit(_))
        ));
    }

    #[test]
    fn zlib_checks_header_and_checksum() {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(b"payload").unwrap();
        let good = e.finish().unwrap();
        let r = ZlibReader::new(share(BytesReader::new(Rc::from(good.as_slice()))), Budget::new()).unwrap();
        assert_eq!(read_all(&share(r), 100).unwrap(), b"payload");
        let mut bad = good.clone();
        *bad.last_mut().unwrap() ^= 1;
        let r = ZlibReader::new(share(BytesReader::new(Rc::from(bad.as_slice()))), Budget::new()).unwrap();
        assert!(read_all(&share(r), 100).is_err());
        assert!(ZlibReader::new(share(BytesReader::new(Rc::from(&b"\x78\x00"[..]))), Budget::new()).is_err());
    }
}
