//! Go's `io.Reader` semantics, which the cluster's OpenPGP parser runs on: readers return a
//! count *and* an error, `io.ReadFull` drops an error that came with enough bytes, `bufio` reads
//! ahead, a packet's body is a view on its parent stream. Where the cluster's verdict depends on
//! which bytes a reader consumed (an indeterminate-length packet, a compressed packet with bytes
//! after its stream), only the same reads give the same verdict, so they are modelled here as Go
//! performs them.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// The errors Go's readers and `x/crypto/openpgp` return, by kind (the verdict only needs the
/// kind and a message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GoErr {
    /// `io.EOF`.
    Eof,
    /// `io.ErrUnexpectedEOF`.
    UnexpectedEof,
    /// `errors.StructuralError`.
    Structural(String),
    /// `errors.UnsupportedError`.
    Unsupported(String),
    /// `errors.UnknownPacketTypeError`: skipped by the packet reader.
    UnknownPacketType(u8),
    /// `errors.SignatureError`.
    Signature(String),
    /// `errors.InvalidArgumentError`.
    InvalidArgument(String),
    /// `errors.ErrKeyIncorrect`.
    KeyIncorrect,
    /// Any other error (a corrupt compressed stream, a bad checksum, `bufio`'s no-progress).
    Other(String),
    /// Not Go's: a resource bound of sigbundle's was reached (the cluster has none).
    Limit(String),
}

impl std::fmt::Display for GoErr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GoErr::Eof => write!(f, "EOF"),
            GoErr::UnexpectedEof => write!(f, "unexpected EOF"),
            GoErr::Structural(s) => write!(f, "openpgp: invalid data: {s}"),
            GoErr::Unsupported(s) => write!(f, "openpgp: unsupported feature: {s}"),
            GoErr::UnknownPacketType(t) => write!(f, "openpgp: unknown packet type: {t}"),
            GoErr::Signature(s) => write!(f, "openpgp: invalid signature: {s}"),
            GoErr::InvalidArgument(s) => write!(f, "openpgp: invalid argument: {s}"),
            GoErr::KeyIncorrect => write!(f, "openpgp: incorrect key"),
            GoErr::Other(s) | GoErr::Limit(s) => write!(f, "{s}"),
        }
    }
}

/// A Go `Read` result: bytes read and, possibly at the same time, an error.
pub type ReadResult = (usize, Option<GoErr>);

/// Go's `io.Reader`, and `io.ByteReader` for the readers that implement it (`bytes.Reader`,
/// `bufio.Reader`): `compress/flate` reads a byte-reader directly and wraps anything else in a
/// `bufio.Reader`, which reads ahead.
pub trait GoReader {
    /// `Read(p)`.
    fn read(&mut self, p: &mut [u8]) -> ReadResult;
    /// `ReadByte()`, for byte readers; `None` for readers that are not.
    fn read_byte(&mut self) -> Option<Result<u8, GoErr>> {
        None
    }
    /// Whether this reader implements `io.ByteReader`.
    fn is_byte_reader(&self) -> bool {
        false
    }
}

/// A reader shared between the packet reader's stack and the packet bodies that view it.
pub type Shared = Rc<RefCell<dyn GoReader>>;

/// Wrap a reader for sharing.
pub fn share<R: GoReader + 'static>(r: R) -> Shared {
    Rc::new(RefCell::new(r))
}

/// A read through a shared reader.
pub fn read(r: &Shared, p: &mut [u8]) -> ReadResult {
    r.borrow_mut().read(p)
}

/// `io.ReadFull`: an error that comes with enough bytes is dropped; `EOF` after some bytes is
/// `ErrUnexpectedEOF`.
pub fn read_full(r: &Shared, buf: &mut [u8]) -> ReadResult {
    let mut n = 0;
    let mut err = None;
    while n < buf.len() && err.is_none() {
        let (m, e) = read(r, &mut buf[n..]);
        n += m;
        err = e;
    }
    if n >= buf.len() {
        err = None;
    } else if n > 0 && err == Some(GoErr::Eof) {
        err = Some(GoErr::UnexpectedEof);
    }
    (n, err)
}

/// `readFull` of `x/crypto/openpgp/packet`: `io.ReadFull` with `EOF` turned into
/// `ErrUnexpectedEOF`.
pub fn packet_read_full(r: &Shared, buf: &mut [u8]) -> Result<(), GoErr> {
    match read_full(r, buf) {
        (_, None) => Ok(()),
        (_, Some(GoErr::Eof)) => Err(GoErr::UnexpectedEof),
        (_, Some(e)) => Err(e),
    }
}

/// `io.ReadAll`, refusing to hold more than `cap` bytes.
pub fn read_all(r: &Shared, cap: usize) -> Result<Vec<u8>, GoErr> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let (n, err) = read(r, &mut buf);
        if out.len() + n > cap {
            return Err(GoErr::Limit(format!("more than {cap} bytes")));
        }
        out.extend_from_slice(&buf[..n]);
        match err {
            None => {}
            Some(GoErr::Eof) => return Ok(out),
            Some(e) => return Err(e),
        }
    }
}

/// `consumeAll` of `x/crypto/openpgp/packet`: read to the end, 1 KiB at a time; the first error
/// other than `EOF`.
pub fn consume_all(r: &Shared) -> Result<(), GoErr> {
    let mut buf = [0u8; 1024];
    loop {
        match read(r, &mut buf).1 {
            None => {}
            Some(GoErr::Eof) => return Ok(()),
            Some(e) => return Err(e),
        }
    }
}

/// `bytes.Reader` over a message (or a decoded armour body, or a whole decompressed stream),
/// with the error a reader of that source reports at its end (`EOF` unless the source was cut
/// short by an error).
pub struct BytesReader {
    data: Rc<[u8]>,
    pos: usize,
    end_err: GoErr,
}

impl BytesReader {
    /// A reader over `data` ending in `EOF`.
    pub fn new(data: Rc<[u8]>) -> BytesReader {
        BytesReader::ending(data, GoErr::Eof)
    }

    /// A reader over `data` ending in `end_err`.
    pub fn ending(data: Rc<[u8]>, end_err: GoErr) -> BytesReader {
        BytesReader { data, pos: 0, end_err }
    }
}

impl GoReader for BytesReader {
    fn read(&mut self, p: &mut [u8]) -> ReadResult {
        if self.pos >= self.data.len() {
            return (0, Some(self.end_err.clone()));
        }
        let n = p.len().min(self.data.len() - self.pos);
        p[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        (n, None)
    }

    fn read_byte(&mut self) -> Option<Result<u8, GoErr>> {
        if self.pos >= self.data.len() {
            return Some(Err(self.end_err.clone()));
        }
        self.pos += 1;
        Some(Ok(self.data[self.pos - 1]))
    }

    fn is_byte_reader(&self) -> bool {
        true
    }
}

/// `spanReader`: the body of a packet with a definite length.
pub struct SpanReader {
    pub r: Shared,
    pub n: i64,
}

impl GoReader for SpanReader {
    fn read(&mut self, p: &mut [u8]) -> ReadResult {
        if self.n <= 0 {
            return (0, Some(GoErr::Eof));
        }
        let want = p.len().min(usize::try_from(self.n).unwrap_or(usize::MAX));
        let (n, mut err) = read(&self.r, &mut p[..want]);
        self.n -= n as i64;
        if self.n > 0 && err == Some(GoErr::Eof) {
            err = Some(GoErr::UnexpectedEof);
        }
        (n, err)
    }
}

/// `readLength` of `x/crypto/openpgp/packet`: a new-format length, and whether it is partial.
pub fn read_length(r: &Shared) -> Result<(i64, bool), GoErr> {
    let mut b = [0u8; 4];
    packet_read_full(r, &mut b[..1])?;
    Ok(match b[0] {
        0..=191 => (i64::from(b[0]), false),
        192..=223 => {
            let hi = i64::from(b[0] - 192) << 8;
            packet_read_full(r, &mut b[..1])?;
            (hi + i64::from(b[0]) + 192, false)
        }
        224..=254 => (1i64 << (b[0] & 0x1f), true),
        255 => {
            packet_read_full(r, &mut b)?;
            (i64::from(u32::from_be_bytes(b)), false)
        }
    })
}

/// `partialLengthReader`: the body of a packet framed with partial lengths.
pub struct PartialLengthReader {
    pub r: Shared,
    pub remaining: i64,
    pub is_partial: bool,
}

impl GoReader for PartialLengthReader {
    fn read(&mut self, p: &mut [u8]) -> ReadResult {
        while self.remaining == 0 {
            if !self.is_partial {
                return (0, Some(GoErr::Eof));
            }
            match read_length(&self.r) {
                Ok((len, partial)) => {
                    self.remaining = len;
                    self.is_partial = partial;
                }
                Err(e) => return (0, Some(e)),
            }
        }
        let want = p.len().min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        let (n, mut err) = read(&self.r, &mut p[..want]);
        self.remaining -= n as i64;
        if n < want && err == Some(GoErr::Eof) {
            err = Some(GoErr::UnexpectedEof);
        }
        (n, err)
    }
}

/// `bufio.Reader` (4096 bytes by default): `Read`, `ReadByte` and `Peek` as Go implements them,
/// reading ahead from the underlying reader.
pub struct Bufio {
    rd: Shared,
    buf: Vec<u8>,
    r: usize,
    w: usize,
    err: Option<GoErr>,
}

impl Bufio {
    /// `bufio.NewReaderSize(rd, size)` (Go raises sizes under 16 to 16).
    pub fn new(rd: Shared, size: usize) -> Bufio {
        Bufio {
            rd,
            buf: vec![0; size.max(16)],
            r: 0,
            w: 0,
            err: None,
        }
    }

    fn fill(&mut self) {
        if self.r > 0 {
            self.buf.copy_within(self.r..self.w, 0);
            self.w -= self.r;
            self.r = 0;
        }
        // Go tries 100 times before giving up with io.ErrNoProgress.
        for _ in 0..100 {
            let (n, err) = read(&self.rd, &mut self.buf[self.w..]);
            self.w += n;
            if err.is_some() {
                self.err = err;
                return;
            }
            if n > 0 {
                return;
            }
        }
        self.err = Some(GoErr::Other("multiple Read calls return no data or error".into()));
    }

    fn read_err(&mut self) -> Option<GoErr> {
        self.err.take()
    }

    /// `Peek(n)`: the next `n` bytes without consuming them, or an error.
    pub fn peek(&mut self, n: usize) -> Result<&[u8], GoErr> {
        while self.w - self.r < n && self.w - self.r < self.buf.len() && self.err.is_none() {
            self.fill();
        }
        if n > self.buf.len() {
            return Err(GoErr::Other("bufio: buffer full".into()));
        }
        if self.w - self.r < n {
            return Err(self
                .read_err()
                .unwrap_or_else(|| GoErr::Other("bufio: buffer full".into())));
        }
        Ok(&self.buf[self.r..self.r + n])
    }
}

impl GoReader for Bufio {
    fn read(&mut self, p: &mut [u8]) -> ReadResult {
        if p.is_empty() {
            if self.w > self.r {
                return (0, None);
            }
            return (0, self.read_err());
        }
        if self.r == self.w {
            if self.err.is_some() {
                return (0, self.read_err());
            }
            if p.len() >= self.buf.len() {
                // A large read into an empty buffer goes straight to the reader.
                let (n, err) = read(&self.rd, p);
                self.err = err;
                return (n, self.read_err());
            }
            self.r = 0;
            self.w = 0;
            let (n, err) = read(&self.rd, &mut self.buf);
            self.err = err;
            if n == 0 {
                return (0, self.read_err());
            }
            self.w += n;
        }
        let n = p.len().min(self.w - self.r);
        p[..n].copy_from_slice(&self.buf[self.r..self.r + n]);
        self.r += n;
        (n, None)
    }

    fn read_byte(&mut self) -> Option<Result<u8, GoErr>> {
        while self.r == self.w {
            if self.err.is_some() {
                return Some(Err(self.read_err().unwrap_or(GoErr::Eof)));
            }
            self.fill();
        }
        self.r += 1;
        Some(Ok(self.buf[self.r - 1]))
    }

    fn is_byte_reader(&self) -> bool {
        true
    }
}

/// A shared reader known to be a byte reader (used by the decompressors).
pub struct ByteSource(Shared);

impl ByteSource {
    /// The reader itself when it is a byte reader, else a `bufio.Reader` over it (as
    /// `compress/flate`, `compress/zlib` and `compress/bzip2` do).
    pub fn over(r: Shared) -> ByteSource {
        if r.borrow().is_byte_reader() {
            ByteSource(r)
        } else {
            ByteSource(share(Bufio::new(r, 4096)))
        }
    }

    /// `ReadByte()`.
    pub fn read_byte(&self) -> Result<u8, GoErr> {
        self.0
            .borrow_mut()
            .read_byte()
            .unwrap_or_else(|| Err(GoErr::Other("not a byte reader".into())))
    }

    /// The reader, for `io.ReadFull`.
    pub fn shared(&self) -> &Shared {
        &self.0
    }
}

/// How many bytes all decompressors of one message may produce together: a release signature's
/// payload is a few hundred bytes, so anything near this is a decompression bomb. The cluster has
/// no such bound; this is one of sigbundle's resource limits (see `docs/security.md`).
pub const MAX_INFLATED_TOTAL: u64 = 4 << 20;

/// The output budget shared by every decompressor of one message.
#[derive(Clone)]
pub struct Budget(Rc<Cell<u64>>);

impl Budget {
    /// A budget of [`MAX_INFLATED_TOTAL`] bytes.
    pub fn new() -> Budget {
        Budget(Rc::new(Cell::new(MAX_INFLATED_TOTAL)))
    }

    /// Take `n` bytes from the budget, or fail when it is spent.
    pub fn take(&self, n: usize) -> Result<(), GoErr> {
        let left = self.0.get();
        match left.checked_sub(n as u64) {
            Some(rest) => {
                self.0.set(rest);
                Ok(())
            }
            None => Err(GoErr::Limit(format!(
                "the message decompresses to more than {MAX_INFLATED_TOTAL} bytes"
            ))),
        }
    }
}

impl Default for Budget {
    fn default() -> Self {
        Budget::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(b: &[u8]) -> Shared {
        share(BytesReader::new(Rc::from(b)))
    }

    #[test]
    fn read_full_drops_an_error_that_came_with_enough_bytes() {
        struct Last;
        impl GoReader for Last {
            fn read(&mut self, p: &mut [u8]) -> ReadResult {
                p[0] = 7;
                (1, Some(GoErr::Other("late".into())))
            }
        }
        let r = share(Last);
        let mut b = [0u8; 1];
        assert_eq!(read_full(&r, &mut b), (1, None));
        let mut b = [0u8; 2];
        assert_eq!(read_full(&r, &mut b), (1, Some(GoErr::Other("late".into()))));
    }

    #[test]
    fn span_and_partial_lengths() {
        let r = bytes(b"abcdef");
        let span = share(SpanReader { r: r.clone(), n: 4 });
        assert_eq!(read_all(&span, 100).unwrap(), b"abcd");
        let mut rest = [0u8; 2];
        assert_eq!(read_full(&r, &mut rest), (2, None));
        // 0xe0 = partial chunk of 1 byte, then a final chunk of 2 bytes.
        let r = bytes(&[b'x', 2, b'y', b'z', b'!']);
        let body = share(PartialLengthReader {
            r: r.clone(),
            remaining: 1,
            is_partial: true,
        });
        assert_eq!(read_all(&body, 100).unwrap(), b"xyz");
        let span = share(SpanReader { r: bytes(b"ab"), n: 4 });
        assert_eq!(read_all(&span, 100).unwrap_err(), GoErr::UnexpectedEof);
    }

    #[test]
    fn bufio_reads_ahead_from_its_source() {
        let r = bytes(&[1u8; 5000]);
        let mut b = Bufio::new(r.clone(), 4096);
        assert_eq!(b.peek(1).unwrap(), &[1]);
        // The peek took a whole buffer from the source.
        let mut rest = vec![0u8; 5000];
        assert_eq!(read_full(&r, &mut rest).0, 904);
    }
}
