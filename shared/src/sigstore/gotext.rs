//! Small text formats exactly as the Go code on a node reads them: `base64.StdEncoding`
//! ([`std_base64`]), `mime.ParseMediaType` as containers/image's `simplifyContentType` uses it
//! ([`simplify_content_type`]), go-digest's `Digest.Validate` ([`validate_digest`]) and
//! `encoding/pem.Decode` ([`pem_decode`]).

use super::gojson::decode_rune;

// ---------------------------------------------------------------------------------------------
// encoding/base64

fn b64_value(c: u8) -> Option<u32> {
    match c {
        b'A'..=b'Z' => Some(u32::from(c - b'A')),
        b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
        b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// Go's `base64.StdEncoding.DecodeString`: the standard alphabet, `=` padding required, `\r`
/// and `\n` skipped anywhere, nothing but them after the padding, and non-zero trailing bits
/// tolerated (the encoding is not `Strict()`). The error is the offset Go reports.
pub(crate) fn std_base64(src: &[u8]) -> Result<Vec<u8>, usize> {
    let mut out = Vec::with_capacity(src.len() / 4 * 3);
    let mut si = 0;
    // decodeQuantum, repeated until the input is used up.
    while si < src.len() {
        let mut dbuf = [0u32; 4];
        let mut dlen = 4;
        let mut j = 0;
        while j < 4 {
            if si == src.len() {
                if j == 0 {
                    return Ok(out);
                }
                // j == 1, or any partial quantum: padding is required.
                return Err(si - j);
            }
            let c = src[si];
            si += 1;
            if let Some(v) = b64_value(c) {
                dbuf[j] = v;
                j += 1;
                continue;
            }
            if c == b'\n' || c == b'\r' {
                continue;
            }
            if c != b'=' {
                return Err(si - 1);
            }
            // Padding.
            match j {
                0 | 1 => return Err(si - 1),
                2 => {
                    while si < src.len() && (src[si] == b'\n' || src[si] == b'\r') {
                        si += 1;
                    }
                    if si == src.len() {
                        return Err(src.len());
                    }
                    if src[si] != b'=' {
                        return Err(si - 1);
                    }
                    si += 1;
                }
                _ => {}
            }
            while si < src.len() && (src[si] == b'\n' || src[si] == b'\r') {
                si += 1;
            }
            if si < src.len() {
                return Err(si);
            }
            dlen = j;
            break;
        }
        let val = (dbuf[0] << 18) | (dbuf[1] << 12) | (dbuf[2] << 6) | dbuf[3];
        let bytes = [(val >> 16) as u8, (val >> 8) as u8, val as u8];
        out.extend_from_slice(&bytes[..dlen - 1]);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// mime.ParseMediaType

/// Go's `mime` `isTokenChar`: printable ASCII except space and the tspecials.
fn is_token_char(c: u8) -> bool {
    (0x21..0x7f).contains(&c) && !b"()<>@,;:\\\"/[]?=".contains(&c)
}

fn is_tspecial(c: u8) -> bool {
    b"()<>@,;:\\\"/[]?=".contains(&c)
}

/// Go's `unicode.IsSpace` for one rune (the same set as Rust's `char::is_whitespace`).
fn is_space(c: Option<char>) -> bool {
    c.is_some_and(char::is_whitespace)
}

/// `strings.TrimLeftFunc(s, unicode.IsSpace)` on a Go string (invalid UTF-8 is not space).
fn trim_left_space(mut s: &[u8]) -> &[u8] {
    loop {
        let (c, n) = decode_rune(s);
        if n == 0 || !is_space(c) {
            return s;
        }
        s = &s[n..];
    }
}

/// `utf8.DecodeLastRune`: the last rune of a Go string and its width.
fn decode_last_rune(s: &[u8]) -> (Option<char>, usize) {
    let end = s.len();
    if end == 0 {
        return (None, 0);
    }
    if s[end - 1] < 0x80 {
        return (Some(s[end - 1] as char), 1);
    }
    let lim = end.saturating_sub(4);
    let mut start = end - 1;
    while start > lim && s[start] & 0xc0 == 0x80 {
        start -= 1;
    }
    let (c, n) = decode_rune(&s[start..end]);
    if start + n != end {
        return (None, 1);
    }
    (c, n)
}

/// `strings.TrimSpace`.
fn trim_space(s: &[u8]) -> &[u8] {
    let mut s = trim_left_space(s);
    loop {
        let (c, n) = decode_last_rune(s);
        if n == 0 || !is_space(c) {
            return s;
        }
        s = &s[..s.len() - n];
    }
}

/// `strings.ToLower` of a Go string: simple lowercase mapping by rune; invalid UTF-8 becomes
/// U+FFFD. Only two non-ASCII runes map into ASCII: U+0130 to `i` and U+212A (KELVIN) to `k`.
fn go_to_lower(s: &[u8]) -> String {
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let (c, n) = decode_rune(&s[i..]);
        let c = match c {
            Some('\u{0130}') => 'i',
            Some('\u{212A}') => 'k',
            Some(c) if c.is_ascii() => c.to_ascii_lowercase(),
            Some(c) => c.to_lowercase().next().filter(|l| !l.is_ascii()).unwrap_or(c),
            None => '\u{FFFD}',
        };
        out.push(c);
        i += n;
    }
    out
}

fn consume_token(v: &[u8]) -> (&[u8], &[u8]) {
    let n = v.iter().position(|&c| !is_token_char(c)).unwrap_or(v.len());
    v.split_at(n)
}

/// `consumeValue`: a token or a quoted string; `None` where Go returns `("", v)`.
fn consume_value(v: &[u8]) -> (Vec<u8>, &[u8]) {
    if v.is_empty() {
        return (Vec::new(), v);
    }
    if v[0] != b'"' {
        let (t, rest) = consume_token(v);
        return (t.to_vec(), rest);
    }
    let mut buf = Vec::new();
    let mut i = 1;
    while i < v.len() {
        let r = v[i];
        if r == b'"' {
            return (buf, &v[i + 1..]);
        }
        if r == b'\\' && i + 1 < v.len() && is_tspecial(v[i + 1]) {
            buf.push(v[i + 1]);
            i += 2;
            continue;
        }
        if r == b'\r' || r == b'\n' {
            return (Vec::new(), v);
        }
        buf.push(r);
        i += 1;
    }
    (Vec::new(), v)
}

/// `consumeMediaParam`: `None` where Go returns an empty parameter name.
fn consume_media_param(v: &[u8]) -> Option<(Vec<u8>, Vec<u8>, &[u8])> {
    let rest = trim_left_space(v);
    let rest = rest.strip_prefix(b";")?;
    let rest = trim_left_space(rest);
    let (param, rest) = consume_token(rest);
    if param.is_empty() {
        return None;
    }
    let param = param.to_ascii_lowercase();
    let rest = trim_left_space(rest);
    let rest = rest.strip_prefix(b"=")?;
    let rest = trim_left_space(rest);
    let (value, rest2) = consume_value(rest);
    if value.is_empty() && rest2.len() == rest.len() {
        return None;
    }
    Some((param, value, rest2))
}

/// `checkMediaTypeDisposition`.
fn check_media_type(s: &str) -> bool {
    let b = s.as_bytes();
    let (typ, rest) = consume_token(b);
    if typ.is_empty() {
        return false;
    }
    if rest.is_empty() {
        return true;
    }
    let Some(rest) = rest.strip_prefix(b"/") else {
        return false;
    };
    let (sub, rest) = consume_token(rest);
    !sub.is_empty() && rest.is_empty()
}

/// Parameters as (name, value) pairs in order.
type Params = Vec<(Vec<u8>, Vec<u8>)>;

/// `mime.ParseMediaType(v)`: the lowercased media type, or `None` on any error (including a
/// malformed or conflicting parameter, where Go also returns an error).
pub(crate) fn parse_media_type(v: &[u8]) -> Option<String> {
    let base_len = v.iter().position(|&c| c == b';').unwrap_or(v.len());
    let (base, mut rest) = v.split_at(base_len);
    let lowered = go_to_lower(base);
    let mediatype = String::from_utf8_lossy(trim_space(lowered.as_bytes())).into_owned();
    if !check_media_type(&mediatype) {
        return None;
    }
    // Parameters: only whether they parse matters. Names with `*` (RFC 2231) live in their own
    // map per base name; a repeated name with a different value is an error.
    let mut params: Params = Vec::new();
    let mut continuation: Vec<(Vec<u8>, Params)> = Vec::new();
    while !rest.is_empty() {
        rest = trim_left_space(rest);
        if rest.is_empty() {
            break;
        }
        let Some((key, value, next)) = consume_media_param(rest) else {
            if trim_space(rest) == b";" {
                break;
            }
            return None;
        };
        let pmap = match key.iter().position(|&c| c == b'*') {
            Some(star) => {
                let base = key[..star].to_vec();
                let idx = match continuation.iter().position(|(b, _)| *b == base) {
                    Some(i) => i,
                    None => {
                        continuation.push((base, Vec::new()));
                        continuation.len() - 1
                    }
                };
                &mut continuation[idx].1
            }
            None => &mut params,
        };
        if let Some((_, old)) = pmap.iter().find(|(k, _)| *k == key) {
            if *old != value {
                return None;
            }
        } else {
            pmap.push((key, value));
        }
        rest = next;
    }
    Some(mediatype)
}

/// containers/image `simplifyContentType`: the media type without parameters, or `""` when the
/// header is empty or does not parse.
pub(crate) fn simplify_content_type(content_type: &[u8]) -> String {
    if content_type.is_empty() {
        return String::new();
    }
    parse_media_type(content_type).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// go-digest

/// A digest algorithm go-digest has registered (and that containers/image makes available).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DigestAlgorithm {
    Sha256,
    Sha384,
    Sha512,
}

impl DigestAlgorithm {
    pub(crate) fn name(self) -> &'static str {
        match self {
            DigestAlgorithm::Sha256 => "sha256",
            DigestAlgorithm::Sha384 => "sha384",
            DigestAlgorithm::Sha512 => "sha512",
        }
    }

    fn hex_len(self) -> usize {
        match self {
            DigestAlgorithm::Sha256 => 64,
            DigestAlgorithm::Sha384 => 96,
            DigestAlgorithm::Sha512 => 128,
        }
    }

    /// `Algorithm.FromBytes(b).String()`.
    pub(crate) fn digest_of(self, b: &[u8]) -> String {
        let md = match self {
            DigestAlgorithm::Sha256 => openssl::hash::MessageDigest::sha256(),
            DigestAlgorithm::Sha384 => openssl::hash::MessageDigest::sha384(),
            DigestAlgorithm::Sha512 => openssl::hash::MessageDigest::sha512(),
        };
        // Hashing in memory cannot fail short of an OpenSSL malfunction.
        let h = openssl::hash::hash(md, b).expect("OpenSSL hash");
        format!("{}:{}", self.name(), hex::encode(h))
    }
}

/// go-digest `Digest.Validate` (what `digest.Parse` also runs): the algorithm before the first
/// `:` must be registered (sha256, sha384, sha512) and the rest exactly its length of lowercase
/// hex. Returns the algorithm, or Go's reason.
pub(crate) fn validate_digest(d: &str) -> Result<DigestAlgorithm, &'static str> {
    let b = d.as_bytes();
    let Some(i) = b.iter().position(|&c| c == b':') else {
        return Err("invalid checksum digest format");
    };
    if i == 0 || i + 1 == b.len() {
        return Err("invalid checksum digest format");
    }
    let (alg, enc) = (&b[..i], &b[i + 1..]);
    let alg = match alg {
        b"sha256" => DigestAlgorithm::Sha256,
        b"sha384" => DigestAlgorithm::Sha384,
        b"sha512" => DigestAlgorithm::Sha512,
        _ => return Err("unsupported digest algorithm"),
    };
    if enc.len() != alg.hex_len() {
        return Err("invalid checksum digest length");
    }
    if !enc.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')) {
        return Err("invalid checksum digest format");
    }
    Ok(alg)
}

// ---------------------------------------------------------------------------------------------
// encoding/pem

/// `getLine`: the line without its end (`\n` or `\r\n`) and trailing spaces and tabs, the rest,
/// and how many bytes were consumed.
fn get_line(data: &[u8]) -> (&[u8], &[u8], usize) {
    let (mut i, j) = match data.iter().position(|&c| c == b'\n') {
        None => (data.len(), data.len()),
        Some(i) => (i, i + 1),
    };
    if j > i && i > 0 && data[i - 1] == b'\r' {
        i -= 1;
    }
    let mut line = &data[..i];
    while let Some((&last, head)) = line.split_last() {
        if last == b' ' || last == b'\t' {
            line = head;
        } else {
            break;
        }
    }
    (line, &data[j..], j)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

/// Go's `pem.Decode`: the first well-formed PEM block (its type and decoded bytes). Text before
/// it is skipped; a malformed candidate is skipped and the search goes on after its END line.
pub(crate) fn pem_decode(data: &[u8]) -> Option<(String, Vec<u8>)> {
    const PEM_START: &[u8] = b"\n-----BEGIN ";
    const PEM_END: &[u8] = b"\n-----END ";
    const EOL: &[u8] = b"-----";
    let mut rest: &[u8] = data;
    let mut end_trailer_index: isize = 0;
    loop {
        if end_trailer_index < 0 || end_trailer_index as usize > rest.len() {
            return None;
        }
        rest = &rest[end_trailer_index as usize..];
        let end_index = find(rest, PEM_END)?;
        end_trailer_index = (end_index + PEM_END.len()) as isize;
        let Some(begin_index) = rfind(&rest[..end_index], &PEM_START[1..]) else {
            continue;
        };
        if begin_index > 0 && rest[begin_index - 1] != b'\n' {
            continue;
        }
        let skip = begin_index + PEM_START.len() - 1;
        rest = &rest[skip..];
        let mut end_index = end_index as isize - skip as isize;
        end_trailer_index -= skip as isize;

        let (type_line, r, consumed) = get_line(rest);
        rest = r;
        end_index -= consumed as isize;
        end_trailer_index -= consumed as isize;
        let Some(type_line) = type_line.strip_suffix(EOL) else {
            continue;
        };

        let mut headers = 0usize;
        loop {
            if rest.is_empty() {
                return None;
            }
            let (line, next, consumed) = get_line(rest);
            if !line.contains(&b':') {
                break;
            }
            headers += 1;
            rest = next;
            end_index -= consumed as isize;
            end_trailer_index -= consumed as isize;
        }
        if headers > 0 && end_index < 0 {
            continue;
        }
        if end_trailer_index < 0 || end_trailer_index as usize > rest.len() {
            continue;
        }
        let end_trailer = &rest[end_trailer_index as usize..];
        let end_trailer_len = type_line.len() + EOL.len();
        if end_trailer.len() < end_trailer_len {
            continue;
        }
        let (end_trailer, rest_of_end_line) = end_trailer.split_at(end_trailer_len);
        if !end_trailer.starts_with(type_line) || !end_trailer.ends_with(EOL) {
            continue;
        }
        if !get_line(rest_of_end_line).0.is_empty() {
            continue;
        }
        let mut bytes = Vec::new();
        if end_index > 0 {
            let b64: Vec<u8> = rest[..end_index as usize]
                .iter()
                .copied()
                .filter(|&c| c != b' ' && c != b'\t')
                .collect();
            match std_base64(&b64) {
                Ok(b) => bytes = b,
                Err(_) => continue,
            }
        }
        return Some((String::from_utf8_lossy(type_line).into_owned(), bytes));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_is_go_std_encoding() {
        assert_eq!(std_base64(b"").unwrap(), b"");
        assert_eq!(std_base64(b"QUJD").unwrap(), b"ABC");
        assert_eq!(std_base64(b"QUI=").unwrap(), b"AB");
        assert_eq!(std_base64(b"QQ==").unwrap(), b"A");
        assert_eq!(std_base64(b"Q\nU\r\nI=\n").unwrap(), b"AB");
        assert_eq!(std_base64(b"QQ=\n=").unwrap(), b"A");
        // Trailing bits tolerated.
        assert_eq!(std_base64(b"QR==").unwrap(), b"A");
        assert!(std_base64(b"QUI").is_err());
        assert!(std_base64(b"QQ").is_err());
        assert!(std_base64(b"Q").is_err());
        assert!(std_base64(b"QQ=").is_err());
        assert!(std_base64(b"QQ==QQ==").is_err());
        assert!(std_base64(b"QQ== ").is_err());
        assert!(std_base64(b" QQ==").is_err());
        assert!(std_base64(b"-_8=").is_err());
        assert!(std_base64(b"=").is_err());
        assert!(std_base64(b"Q===").is_err());
    }

    #[test]
    fn media_type_like_go() {
        let oci = "application/vnd.oci.image.manifest.v1+json";
        let p = |s: &str| parse_media_type(s.as_bytes());
        assert_eq!(p(oci).as_deref(), Some(oci));
        assert_eq!(p(&oci.to_uppercase()).as_deref(), Some(oci));
        assert_eq!(p(&format!(" {oci} ; charset=utf-8")).as_deref(), Some(oci));
        assert_eq!(p(&format!("{oci};")).as_deref(), Some(oci));
        assert_eq!(p(&format!("{oci}; ")).as_deref(), Some(oci));
        assert_eq!(p(&format!("{oci};;")), None);
        assert_eq!(p(&format!("{oci}; a=b; a=c")), None);
        assert_eq!(p(&format!("{oci}; a=b; a=b")).as_deref(), Some(oci));
        assert_eq!(p(&format!("{oci}; a=\"x y\"")).as_deref(), Some(oci));
        assert_eq!(p(&format!("{oci}; a=\"x")), None);
        assert_eq!(p(&format!("{oci}; a=")), None);
        assert_eq!(p(&format!("{oci}; a")), None);
        assert_eq!(p(&format!("{oci}; a=b c")), None);
        assert_eq!(p(&format!("\u{a0}{oci}\u{85}")).as_deref(), Some(oci));
        assert_eq!(p(&format!("{oci}\u{3000}")).as_deref(), Some(oci));
        assert_eq!(p(&format!("{oci}\u{fffd}")), None);
        assert_eq!(
            p("appl\u{130}cation/vnd.oci.\u{130}mage.man\u{130}fest.v1+json").as_deref(),
            Some(oci)
        );
        assert_eq!(p("application"), Some("application".into()));
        assert_eq!(p("application/"), None);
        assert_eq!(p("a/b/c"), None);
        assert_eq!(p(""), None);
        assert_eq!(simplify_content_type(b""), "");
    }

    #[test]
    fn digests_like_go_digest() {
        let h = "a".repeat(64);
        assert_eq!(validate_digest(&format!("sha256:{h}")), Ok(DigestAlgorithm::Sha256));
        assert!(validate_digest(&format!("sha256:{}", "A".repeat(64))).is_err());
        assert!(validate_digest(&format!("sha256:{}", "a".repeat(63))).is_err());
        assert!(validate_digest(&format!("sha512:{}", "0".repeat(128))).is_ok());
        assert!(validate_digest(&format!("sha384:{}", "0".repeat(96))).is_ok());
        assert!(validate_digest(&format!("md5:{}", "0".repeat(32))).is_err());
        assert!(validate_digest(":abc").is_err());
        assert!(validate_digest("sha256:").is_err());
        assert!(validate_digest("").is_err());
    }

    #[test]
    fn pem_like_go() {
        let body = "MDAwMA==";
        let (t, b) = pem_decode(format!("-----BEGIN X-----\n{body}\n-----END X-----\n").as_bytes()).unwrap();
        assert_eq!((t.as_str(), b.as_slice()), ("X", b"0000".as_slice()));
        let (t, _) = pem_decode(format!("junk\n-----BEGIN Y-----\n{body}\n-----END Y-----").as_bytes()).unwrap();
        assert_eq!(t, "Y");
        // Mismatched END: skipped, the next block is taken.
        let two = format!("-----BEGIN A-----\n{body}\n-----END B-----\n-----BEGIN C-----\n{body}\n-----END C-----\n");
        assert_eq!(pem_decode(two.as_bytes()).unwrap().0, "C");
        // Headers are allowed.
        let h = format!("-----BEGIN X-----\nProc-Type: 4\n\n{body}\n-----END X-----\n");
        assert_eq!(pem_decode(h.as_bytes()).unwrap().1, b"0000");
        assert!(pem_decode(b"no pem here").is_none());
        assert!(pem_decode(format!("-----BEGIN X-----\n{body}!\n-----END X-----\n").as_bytes()).is_none());
        // BEGIN not at the start of a line.
        assert!(pem_decode(format!("x-----BEGIN X-----\n{body}\n-----END X-----\n").as_bytes()).is_none());
    }
}
