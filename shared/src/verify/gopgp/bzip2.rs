//! A BZIP2-compressed packet's body as Go's `compress/bzip2` reads it: one or more concatenated
//! streams that must run to the end of the packet (anything after the last stream that is not
//! another `BZ` stream is an error), handing out what decoded before any error.
//!
//! Go's reader pulls its input to the end of the packet before it can say the stream is over, so
//! the input is read whole here and decoded with libbzip2's algorithm (the `bzip2` crate); only
//! the point where an error surfaces matters to the verdict, and it is the same: after the
//! output decoded before it.

use std::rc::Rc;

use super::io::{read_all, share, Budget, BytesReader, GoErr, Shared};

/// `bzip2.NewReader(r)` as a shared reader over the decoded bytes.
pub fn reader(contents: Shared, budget: &Budget, max_input: usize) -> Shared {
    let (input, read_err) = match read_all(&contents, max_input) {
        Ok(v) => (v, None),
        Err(GoErr::Limit(m)) => return share(BytesReader::ending(Rc::from(&[][..]), GoErr::Limit(m))),
        Err(e) => (Vec::new(), Some(e)),
    };
    let (out, err) = decode(&input, budget);
    // An error reading the packet itself surfaces where the stream ran out.
    let end = match (err, read_err) {
        (GoErr::Eof, Some(e)) => e,
        (e, _) => e,
    };
    share(BytesReader::ending(Rc::from(out.as_slice()), end))
}

fn structural(s: &str) -> GoErr {
    GoErr::Structural(format!("bzip2 data invalid: {s}"))
}

/// Decode concatenated streams; the error (or `EOF`) that follows the output.
fn decode(input: &[u8], budget: &Budget) -> (Vec<u8>, GoErr) {
    let mut out = Vec::new();
    let mut at = 0;
    let mut first = true;
    loop {
        if !first {
            // After a stream: EOF, or another stream starting with "BZ".
            match input.get(at..) {
                Some([]) | None => return (out, GoErr::Eof),
                Some([_]) => return (out, GoErr::UnexpectedEof),
                Some([b'B', b'Z', ..]) => {}
                Some(_) => return (out, structural("bad magic value in continuation file")),
            }
        }
        first = false;
        if input.len() - at < 4 {
            return (out, GoErr::UnexpectedEof);
        }
        if &input[at..at + 2] != b"BZ" {
            return (out, structural("bad magic value"));
        }
        if input[at + 2] != b'h' {
            return (out, structural("non-Huffman entropy encoding"));
        }
        if !(b'1'..=b'9').contains(&input[at + 3]) {
            return (out, structural("invalid compression level"));
        }
        let mut d = bzip2::Decompress::new(false);
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let before_in = d.total_in();
            let before_out = d.total_out();
            let status = d.decompress(&input[at + before_in as usize..], &mut buf);
            let produced = (d.total_out() - before_out) as usize;
            if let Err(e) = budget.take(produced) {
                return (out, e);
            }
            out.extend_from_slice(&buf[..produced]);
            match status {
                Ok(bzip2::Status::StreamEnd) => {
                    at += d.total_in() as usize;
                    break;
                }
                Ok(_) => {
                    if d.total_in() == before_in && produced == 0 {
                        // No progress: the input ended inside the stream.
                        return (out, GoErr::UnexpectedEof);
                    }
                }
                Err(e) => return (out, structural(&e.to_string())),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn bz(data: &[u8]) -> Vec<u8> {
        let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn concatenated_streams_and_trailers() {
        let mut two = bz(b"one ");
        two.extend(bz(b"two"));
        assert_eq!(decode(&two, &Budget::new()), (b"one two".to_vec(), GoErr::Eof));
        let mut trailing = bz(b"x");
        trailing.extend_from_slice(b"zz");
        let (out, err) = decode(&trailing, &Budget::new());
        assert_eq!(out, b"x");
        assert!(matches!(err, GoErr::Structural(_)));
        let whole = bz(b"abc");
        let (_, err) = decode(&whole[..whole.len() - 3], &Budget::new());
        assert_ne!(err, GoErr::Eof);
    }
}
