//! Go's `compress/bzip2` reader, ported: the same Huffman trees (built by Go's own method, so
//! malformed code lengths decode as Go decodes them), the same refusals (randomised blocks,
//! selectors, repeats, `origPtr`), the block checksum checked when a block's output is used up,
//! the stream checksum at its end, then either the end of the input or another `BZ` stream; the
//! input is read a byte at a time as bits are needed, so an indeterminate-length packet reads as
//! far as Go's does, and output comes out block by block as Go's does.

use super::io::{Budget, ByteSource, GoErr, GoReader, ReadResult, Shared};

const BLOCK_MAGIC: u64 = 0x3141_5926_5359;
const FINAL_MAGIC: u64 = 0x1772_4538_5090;
const INVALID_NODE: u16 = 0xffff;

fn structural(s: &str) -> GoErr {
    GoErr::Structural(format!("bzip2 data invalid: {s}"))
}

/// `bitReader`: big-endian bits from a byte reader; an error sticks and reads give zeros.
struct BitReader {
    r: ByteSource,
    n: u64,
    bits: u32,
    err: Option<GoErr>,
}

impl BitReader {
    fn read_bits64(&mut self, bits: u32) -> u64 {
        while bits > self.bits {
            match self.r.read_byte() {
                Ok(b) => {
                    self.n = (self.n << 8) | u64::from(b);
                    self.bits += 8;
                }
                Err(e) => {
                    self.err = Some(if e == GoErr::Eof { GoErr::UnexpectedEof } else { e });
                    return 0;
                }
            }
        }
        let n = (self.n >> (self.bits - bits)) & ((1u64 << bits) - 1);
        self.bits -= bits;
        n
    }

    fn read_bits(&mut self, bits: u32) -> usize {
        self.read_bits64(bits) as usize
    }

    fn read_bit(&mut self) -> bool {
        self.read_bits(1) != 0
    }
}

#[derive(Clone, Copy, Default)]
struct Node {
    left: u16,
    right: u16,
    left_value: u16,
    right_value: u16,
}

struct Tree {
    nodes: Vec<Node>,
    next: usize,
}

#[derive(Clone, Copy)]
struct Code {
    code: u32,
    value: u16,
}

impl Tree {
    /// `newHuffmanTree`.
    fn new(lengths: &[u8]) -> Result<Tree, GoErr> {
        let mut pairs: Vec<(u8, u16)> = lengths.iter().enumerate().map(|(i, &l)| (l, i as u16)).collect();
        pairs.sort();
        let mut code: u32 = 0;
        let mut length: u8 = 32;
        let mut codes = vec![Code { code: 0, value: 0 }; pairs.len()];
        for i in (0..pairs.len()).rev() {
            if length > pairs[i].0 {
                length = pairs[i].0;
            }
            codes[i] = Code {
                code,
                value: pairs[i].1,
            };
            code = code.wrapping_add(1u32.wrapping_shl(32 - u32::from(length)));
        }
        // Go's sort is not stable; codes are distinct here unless the lengths are bad, and then
        // ties hold equal codes, whose order does not change the tree built below.
        codes.sort_by_key(|c| c.code);
        let mut t = Tree {
            nodes: vec![Node::default(); codes.len()],
            next: 0,
        };
        t.build(&codes, 0)?;
        Ok(t)
    }

    /// `buildHuffmanNode`.
    fn build(&mut self, codes: &[Code], level: u32) -> Result<u16, GoErr> {
        let test = 1u32 << (31 - level);
        let first_right = codes.iter().position(|c| c.code & test != 0).unwrap_or(codes.len());
        let (left, right) = codes.split_at(first_right);
        if left.is_empty() || right.is_empty() {
            if codes.len() < 2 {
                return Err(structural("empty Huffman tree"));
            }
            if level == 31 {
                return Err(structural("equal symbols in Huffman tree"));
            }
            return if left.is_empty() {
                self.build(right, level + 1)
            } else {
                self.build(left, level + 1)
            };
        }
        let index = self.next;
        self.next += 1;
        if left.len() == 1 {
            self.nodes[index].left = INVALID_NODE;
            self.nodes[index].left_value = left[0].value;
        } else {
            self.nodes[index].left = self.build(left, level + 1)?;
        }
        if right.len() == 1 {
            self.nodes[index].right = INVALID_NODE;
            self.nodes[index].right_value = right[0].value;
        } else {
            self.nodes[index].right = self.build(right, level + 1)?;
        }
        Ok(index as u16)
    }

    /// `huffmanTree.Decode`.
    fn decode(&self, br: &mut BitReader) -> u16 {
        let mut index = 0u16;
        loop {
            let node = self.nodes[usize::from(index)];
            let bit = if br.bits > 0 {
                br.bits -= 1;
                ((br.n >> (br.bits & 63)) & 1) as u16
            } else {
                br.read_bits(1) as u16
            };
            index = if bit == 1 { node.left } else { node.right };
            if index == INVALID_NODE {
                return if bit == 1 { node.left_value } else { node.right_value };
            }
        }
    }
}

fn crc_table() -> [u32; 256] {
    let mut t = [0u32; 256];
    for (i, slot) in t.iter_mut().enumerate() {
        let mut crc = (i as u32) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 {
                (crc << 1) ^ 0x04C1_1DB7
            } else {
                crc << 1
            };
        }
        *slot = crc;
    }
    t
}

fn update_crc(table: &[u32; 256], val: u32, b: &[u8]) -> u32 {
    let mut crc = !val;
    for &v in b {
        crc = table[usize::from((crc >> 24) as u8 ^ v)] ^ (crc << 8);
    }
    !crc
}

/// Go's bzip2 `reader`.
pub struct Bzip2Reader {
    br: BitReader,
    file_crc: u32,
    block_crc: u32,
    want_block_crc: u32,
    setup_done: bool,
    eof: bool,
    block_size: usize,
    c: [usize; 256],
    tt: Vec<u32>,
    tpos: u32,
    pre_rle_len: usize,
    pre_rle_used: usize,
    last_byte: i32,
    byte_repeats: u32,
    repeats: u32,
    crc_table: [u32; 256],
    budget: Budget,
}

impl Bzip2Reader {
    /// `bzip2.NewReader(r)`.
    pub fn new(r: Shared, budget: Budget) -> Bzip2Reader {
        Bzip2Reader {
            br: BitReader {
                r: ByteSource::over(r),
                n: 0,
                bits: 0,
                err: None,
            },
            file_crc: 0,
            block_crc: 0,
            want_block_crc: 0,
            setup_done: false,
            eof: false,
            block_size: 0,
            c: [0; 256],
            tt: Vec::new(),
            tpos: 0,
            pre_rle_len: 0,
            pre_rle_used: 0,
            last_byte: -1,
            byte_repeats: 0,
            repeats: 0,
            crc_table: crc_table(),
            budget,
        }
    }

    fn setup(&mut self, need_magic: bool) -> Result<(), GoErr> {
        if need_magic && self.br.read_bits(16) != 0x425a {
            return Err(structural("bad magic value"));
        }
        if self.br.read_bits(8) != usize::from(b'h') {
            return Err(structural("non-Huffman entropy encoding"));
        }
        let level = self.br.read_bits(8);
        if !(usize::from(b'1')..=usize::from(b'9')).contains(&level) {
            return Err(structural("invalid compression level"));
        }
        self.file_crc = 0;
        self.block_size = 100 * 1000 * (level - usize::from(b'0'));
        Ok(())
    }

    fn read_from_block(&mut self, buf: &mut [u8]) -> usize {
        let mut n = 0;
        while (self.repeats > 0 || self.pre_rle_used < self.pre_rle_len) && n < buf.len() {
            if self.repeats > 0 {
                buf[n] = self.last_byte as u8;
                n += 1;
                self.repeats -= 1;
                if self.repeats == 0 {
                    self.last_byte = -1;
                }
                continue;
            }
            self.tpos = self.tt[self.tpos as usize];
            let b = self.tpos as u8;
            self.tpos >>= 8;
            self.pre_rle_used += 1;
            if self.byte_repeats == 3 {
                self.repeats = u32::from(b);
                self.byte_repeats = 0;
                continue;
            }
            if self.last_byte == i32::from(b) {
                self.byte_repeats += 1;
            } else {
                self.byte_repeats = 0;
            }
            self.last_byte = i32::from(b);
            buf[n] = b;
            n += 1;
        }
        n
    }

    fn read_inner(&mut self, buf: &mut [u8]) -> ReadResult {
        loop {
            let n = self.read_from_block(buf);
            if n > 0 || buf.is_empty() {
                self.block_crc = update_crc(&self.crc_table, self.block_crc, &buf[..n]);
                return (n, None);
            }
            if self.block_crc != self.want_block_crc {
                let e = structural("block checksum mismatch");
                self.br.err = Some(e.clone());
                return (0, Some(e));
            }
            match self.br.read_bits64(48) {
                BLOCK_MAGIC => {
                    if let Err(e) = self.read_block() {
                        return (0, Some(e));
                    }
                }
                FINAL_MAGIC => {
                    let want = self.br.read_bits64(32) as u32;
                    if let Some(e) = &self.br.err {
                        return (0, Some(e.clone()));
                    }
                    if self.file_crc != want {
                        let e = structural("file checksum mismatch");
                        self.br.err = Some(e.clone());
                        return (0, Some(e));
                    }
                    if !self.br.bits.is_multiple_of(8) {
                        let rest = self.br.bits % 8;
                        self.br.read_bits(rest);
                    }
                    let b = match self.br.r.read_byte() {
                        Ok(b) => b,
                        Err(GoErr::Eof) => {
                            self.br.err = Some(GoErr::Eof);
                            self.eof = true;
                            return (0, Some(GoErr::Eof));
                        }
                        Err(e) => {
                            self.br.err = Some(e.clone());
                            return (0, Some(e));
                        }
                    };
                    let z = match self.br.r.read_byte() {
                        Ok(z) => z,
                        Err(e) => {
                            let e = if e == GoErr::Eof { GoErr::UnexpectedEof } else { e };
                            self.br.err = Some(e.clone());
                            return (0, Some(e));
                        }
                    };
                    if b != b'B' || z != b'Z' {
                        return (0, Some(structural("bad magic value in continuation file")));
                    }
                    if let Err(e) = self.setup(false) {
                        return (0, Some(e));
                    }
                }
                _ => return (0, Some(structural("bad magic value found"))),
            }
        }
    }

    /// `readBlock`: the block header, the symbol map, the tree selectors and the trees, the
    /// symbols, then the inverse BWT that readies the block's output.
    fn read_block(&mut self) -> Result<(), GoErr> {
        let br = &mut self.br;
        self.want_block_crc = br.read_bits64(32) as u32;
        self.block_crc = 0;
        self.file_crc = self.file_crc.rotate_left(1) ^ self.want_block_crc;
        if br.read_bits(1) != 0 {
            return Err(structural("deprecated randomized files"));
        }
        let orig_ptr = br.read_bits(24);
        let symbols = read_symbol_map(br)?;
        let (num_trees, tree_indexes) = read_tree_selectors(br)?;
        // RUNA and RUNB besides the symbols.
        let trees = read_trees(br, num_trees, symbols.len() + 2)?;
        let buf_index = self.read_symbols(&trees, &tree_indexes, symbols)?;
        if orig_ptr >= buf_index {
            return Err(structural("origPtr out of bounds"));
        }
        self.inverse_bwt(orig_ptr, buf_index);
        Ok(())
    }

    /// `readBlock`'s main loop: the symbols, Huffman-decoded with the tree each selector
    /// names for 50 symbols, run-length (RUNA/RUNB) and move-to-front decoded into `tt`,
    /// counted by byte in `c`; how many there are.
    fn read_symbols(&mut self, trees: &[Tree], tree_indexes: &[u8], mut mtf: Vec<u8>) -> Result<usize, GoErr> {
        let num_symbols = mtf.len() + 2;
        if tree_indexes.is_empty() {
            return Err(structural("no tree selectors given"));
        }
        if usize::from(tree_indexes[0]) >= trees.len() {
            return Err(structural("tree selector out of range"));
        }
        let mut current = usize::from(tree_indexes[0]);
        let mut selector_index = 1usize;
        let mut buf_index = 0usize;
        let mut repeat = 0usize;
        let mut repeat_power = 0usize;
        self.c = [0; 256];
        self.tt.clear();
        let mut decoded = 0;
        loop {
            if decoded == 50 {
                if selector_index >= tree_indexes.len() {
                    return Err(structural("insufficient selector indices for number of symbols"));
                }
                if usize::from(tree_indexes[selector_index]) >= trees.len() {
                    return Err(structural("tree selector out of range"));
                }
                current = usize::from(tree_indexes[selector_index]);
                selector_index += 1;
                decoded = 0;
            }
            let v = usize::from(trees[current].decode(&mut self.br));
            decoded += 1;
            if v < 2 {
                if repeat == 0 {
                    repeat_power = 1;
                }
                repeat += repeat_power << v;
                repeat_power <<= 1;
                if repeat > 2 * 1024 * 1024 {
                    return Err(structural("repeat count too large"));
                }
                continue;
            }
            if repeat > 0 {
                if repeat > self.block_size - buf_index {
                    return Err(structural("repeats past end of block"));
                }
                let b = mtf[0];
                for _ in 0..repeat {
                    self.tt.push(u32::from(b));
                    self.c[usize::from(b)] += 1;
                }
                buf_index += repeat;
                repeat = 0;
            }
            if v == num_symbols - 1 {
                return Ok(buf_index);
            }
            // MTF decode of v-1 (Go panics on an index past the table; it cannot be: the tree
            // only holds values below num_symbols).
            let i = v - 1;
            let b = mtf[i];
            mtf.copy_within(0..i, 1);
            mtf[0] = b;
            if buf_index >= self.block_size {
                return Err(structural("data exceeds block size"));
            }
            self.tt.push(u32::from(b));
            self.c[usize::from(b)] += 1;
            buf_index += 1;
        }
    }

    /// `inverseBWT` over the block's `buf_index` symbols, and the RLE state reset for its output.
    fn inverse_bwt(&mut self, orig_ptr: usize, buf_index: usize) {
        let mut sum = 0usize;
        for c in self.c.iter_mut() {
            sum += *c;
            *c = sum - *c;
        }
        for i in 0..buf_index {
            let b = (self.tt[i] & 0xff) as usize;
            let at = self.c[b];
            self.tt[at] |= (i as u32) << 8;
            self.c[b] += 1;
        }
        self.tpos = self.tt[orig_ptr] >> 8;
        self.pre_rle_len = buf_index;
        self.pre_rle_used = 0;
        self.last_byte = -1;
        self.byte_repeats = 0;
        self.repeats = 0;
    }
}

/// The two-level 16x16 bitmap of the byte values the block uses: those values in order (the
/// move-to-front decoder's initial table).
fn read_symbol_map(br: &mut BitReader) -> Result<Vec<u8>, GoErr> {
    let used = br.read_bits(16);
    let mut present = [false; 256];
    let mut num_symbols = 0usize;
    for range in 0..16 {
        if used & (1 << (15 - range)) != 0 {
            let bits = br.read_bits(16);
            for symbol in 0..16 {
                if bits & (1 << (15 - symbol)) != 0 {
                    present[16 * range + symbol] = true;
                    num_symbols += 1;
                }
            }
        }
    }
    if num_symbols == 0 {
        return Err(structural("no symbols in input"));
    }
    Ok((0..=255u8).filter(|&i| present[usize::from(i)]).collect())
}

/// The number of Huffman trees (2 to 6), and the tree selectors: unary numbers, move-to-front
/// decoded.
fn read_tree_selectors(br: &mut BitReader) -> Result<(usize, Vec<u8>), GoErr> {
    let num_trees = br.read_bits(3);
    if !(2..=6).contains(&num_trees) {
        return Err(structural("invalid number of Huffman trees"));
    }
    let num_selectors = br.read_bits(15);
    let mut tree_indexes = vec![0u8; num_selectors];
    let mut mtf_tree: Vec<u8> = (0..num_trees as u8).collect();
    for slot in tree_indexes.iter_mut() {
        let mut c = 0usize;
        while br.read_bits(1) != 0 {
            c += 1;
        }
        if c >= num_trees {
            return Err(structural("tree index too large"));
        }
        let v = mtf_tree[c];
        mtf_tree.copy_within(0..c, 1);
        mtf_tree[0] = v;
        *slot = v;
    }
    Ok((num_trees, tree_indexes))
}

/// The code lengths of each of `num_trees` trees over `num_symbols` symbols (delta encoded from
/// a 5-bit base), and the trees built from them.
fn read_trees(br: &mut BitReader, num_trees: usize, num_symbols: usize) -> Result<Vec<Tree>, GoErr> {
    let mut trees = Vec::with_capacity(num_trees);
    let mut lengths = vec![0u8; num_symbols];
    for _ in 0..num_trees {
        let mut length = br.read_bits(5) as i64;
        for slot in lengths.iter_mut() {
            loop {
                if !(1..=20).contains(&length) {
                    return Err(structural("Huffman length out of range"));
                }
                if !br.read_bit() {
                    break;
                }
                if br.read_bit() {
                    length -= 1;
                } else {
                    length += 1;
                }
            }
            *slot = length as u8;
        }
        trees.push(Tree::new(&lengths)?);
    }
    Ok(trees)
}

impl GoReader for Bzip2Reader {
    fn read(&mut self, buf: &mut [u8]) -> ReadResult {
        if self.eof {
            return (0, Some(GoErr::Eof));
        }
        if !self.setup_done {
            let r = self.setup(true);
            let err = self.br.err.clone().or(r.err());
            if let Some(e) = err {
                return (0, Some(e));
            }
            self.setup_done = true;
        }
        let (n, mut err) = self.read_inner(buf);
        if let Some(e) = &self.br.err {
            err = Some(e.clone());
        }
        if let Err(e) = self.budget.take(n) {
            self.br.err = Some(e.clone());
            return (0, Some(e));
        }
        (n, err)
    }
}

#[cfg(test)]
mod tests {
    use super::super::io::{read_all, share, BytesReader};
    use super::*;
    use std::io::Write;
    use std::rc::Rc;

    fn bz(data: &[u8]) -> Vec<u8> {
        let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn decode(input: &[u8]) -> Result<Vec<u8>, GoErr> {
        let r = Bzip2Reader::new(share(BytesReader::new(Rc::from(input))), Budget::new());
        read_all(&share(r), 1 << 24)
    }

    #[test]
    fn decodes_what_libbzip2_writes() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 7 + (i / 5000) % 3) as u8).collect();
        assert_eq!(decode(&bz(&data)).unwrap(), data);
        assert_eq!(decode(&bz(b"aaaaaaaaaaaaaaaaaaaab")).unwrap(), b"aaaaaaaaaaaaaaaaaaaab");
    }

    #[test]
    fn concatenated_streams_and_trailers() {
        let mut two = bz(b"one ");
        two.extend(bz(b"two"));
        assert_eq!(decode(&two).unwrap(), b"one two");
        let mut trailing = bz(b"x");
        trailing.extend_from_slice(b"zz");
        assert!(matches!(decode(&trailing), Err(GoErr::Structural(_))));
        let whole = bz(b"abc");
        assert!(decode(&whole[..whole.len() - 3]).is_err());
        let mut bad = bz(b"payload payload");
        let at = bad.len() / 2;
        bad[at] ^= 0x40;
        assert!(decode(&bad).is_err());
    }
}
