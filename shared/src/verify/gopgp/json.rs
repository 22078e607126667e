//! The signed payload as library-go decodes it: `json.NewDecoder(r)` with
//! `DisallowUnknownFields()` and one `Decode` into its `signature` struct. So: only the first JSON
//! value counts (what follows it is never read); field names match exactly or, failing that,
//! case-insensitively by Go's folding (`K` also matches U+212A, `S` also U+017F); a repeated key
//! decodes again into the same field (the last string wins, objects merge); `null` leaves a field
//! as it was; invalid UTF-8 in a string becomes U+FFFD, byte by byte; `optional.timestamp` must be
//! an integer literal that fits in 64 bits; an unknown field or a wrong type anywhere rejects the
//! payload, after the whole value was read.

/// Why the payload was refused, as Go reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonError {
    /// Not a JSON value (or nothing at all).
    Syntax(String),
    /// `json: unknown field "…"`.
    UnknownField(String),
    /// `json: cannot unmarshal … into …`.
    WrongType(String),
}

impl std::fmt::Display for JsonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JsonError::Syntax(s) | JsonError::WrongType(s) => write!(f, "{s}"),
            JsonError::UnknownField(k) => write!(f, "json: unknown field {k:?}"),
        }
    }
}

/// The decoded payload (Go's zero values where a field was absent).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Payload {
    pub kind: String,
    pub digest: String,
    pub identity: String,
    pub creator: String,
    pub timestamp: i64,
}

/// Go's scanner allows this many nested arrays and objects.
const MAX_DEPTH: usize = 10_000;

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn skip_space(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && is_space(b[i]) {
        i += 1;
    }
    i
}

fn unexpected_eof() -> JsonError {
    JsonError::Syntax("unexpected EOF".into())
}

/// The scanner's `invalid character … <ctx>` error.
fn invalid(c: u8, ctx: &str) -> JsonError {
    JsonError::Syntax(format!("invalid character {:?} {ctx}", c as char))
}

/// Where the scanner stands inside an object or an array.
#[derive(Clone, Copy, PartialEq)]
enum Frame {
    ObjKeyOrEnd,
    ObjKey,
    ObjColon,
    ObjValue,
    ObjCommaOrEnd,
    ArrValueOrEnd,
    ArrValue,
    ArrCommaOrEnd,
}

/// Scan the first JSON value after leading whitespace as Go's scanner does; its byte range.
fn scan_first_value(b: &[u8]) -> Result<(usize, usize), JsonError> {
    let mut i = skip_space(b, 0);
    if i == b.len() {
        return Err(JsonError::Syntax("EOF".into()));
    }
    let start = i;
    let mut stack: Vec<Frame> = Vec::new();
    loop {
        i = begin_value(b, skip_space(b, i), &mut stack)?;
        match end_value(b, i, &mut stack)? {
            After::Value(next) => i = next,
            After::End(end) => return Ok((start, end)),
        }
    }
}

/// `stateBeginValue`: a value (or the opening bracket of one) at `b[i]`; the index after it.
fn begin_value(b: &[u8], mut i: usize, stack: &mut Vec<Frame>) -> Result<usize, JsonError> {
    let Some(&c) = b.get(i) else {
        return Err(unexpected_eof());
    };
    match c {
        b'{' | b'[' => {
            if stack.len() >= MAX_DEPTH {
                return Err(JsonError::Syntax("exceeded max depth".into()));
            }
            i += 1;
            stack.push(if c == b'{' {
                Frame::ObjKeyOrEnd
            } else {
                Frame::ArrValueOrEnd
            });
        }
        b'"' => i = scan_string(b, i)?,
        b'-' | b'0'..=b'9' => {
            i = scan_number(b, i)?;
        }
        b't' | b'f' | b'n' => {
            let lit: &[u8] = match c {
                b't' => b"true",
                b'f' => b"false",
                _ => b"null",
            };
            for (k, &want) in lit.iter().enumerate() {
                match b.get(i + k) {
                    None => return Err(unexpected_eof()),
                    Some(&got) if got != want => return Err(invalid(got, "in literal")),
                    _ => {}
                }
            }
            i += lit.len();
        }
        _ => return Err(invalid(c, "looking for beginning of value")),
    }
    Ok(i)
}

/// What follows a value.
enum After {
    /// A frame wants a value, which starts here (after whitespace).
    Value(usize),
    /// The top-level value ends here.
    End(usize),
}

/// After a value (or after an opening bracket): walk the frames until one wants a value or
/// the top-level value has ended.
fn end_value(b: &[u8], mut i: usize, stack: &mut Vec<Frame>) -> Result<After, JsonError> {
    loop {
        let Some(top) = stack.last_mut() else {
            return Ok(After::End(i));
        };
        i = skip_space(b, i);
        let Some(&c) = b.get(i) else {
            return Err(unexpected_eof());
        };
        match *top {
            Frame::ObjKeyOrEnd | Frame::ObjKey => {
                if c == b'}' && *top == Frame::ObjKeyOrEnd {
                    i += 1;
                    stack.pop();
                    continue;
                }
                if c != b'"' {
                    return Err(invalid(c, "looking for beginning of object key string"));
                }
                i = scan_string(b, i)?;
                *top = Frame::ObjColon;
            }
            Frame::ObjColon => {
                if c != b':' {
                    return Err(invalid(c, "after object key"));
                }
                *top = Frame::ObjValue;
                return Ok(After::Value(i + 1));
            }
            Frame::ObjValue => *top = Frame::ObjCommaOrEnd,
            Frame::ObjCommaOrEnd => {
                i = comma_or_end(c, i, stack, b'}', Frame::ObjKey, "after object key:value pair")?;
            }
            Frame::ArrValueOrEnd => {
                if c == b']' {
                    i += 1;
                    stack.pop();
                    continue;
                }
                *top = Frame::ArrCommaOrEnd;
                return Ok(After::Value(i));
            }
            Frame::ArrValue => {
                *top = Frame::ArrCommaOrEnd;
                return Ok(After::Value(i));
            }
            Frame::ArrCommaOrEnd => {
                i = comma_or_end(c, i, stack, b']', Frame::ArrValue, "after array element")?;
            }
        }
    }
}

/// After an object's pair or an array's element: `,` (the top frame becomes `next`) or the
/// closing bracket `close` (the frame ends); the index after it.
fn comma_or_end(
    c: u8,
    i: usize,
    stack: &mut Vec<Frame>,
    close: u8,
    next: Frame,
    ctx: &str,
) -> Result<usize, JsonError> {
    if c == b',' {
        if let Some(top) = stack.last_mut() {
            *top = next;
        }
    } else if c == close {
        stack.pop();
    } else {
        return Err(invalid(c, ctx));
    }
    Ok(i + 1)
}

/// A string literal starting at `b[i] == '"'`; the index after its closing quote.
fn scan_string(b: &[u8], mut i: usize) -> Result<usize, JsonError> {
    i += 1;
    loop {
        let Some(&c) = b.get(i) else {
            return Err(unexpected_eof());
        };
        match c {
            b'"' => return Ok(i + 1),
            b'\\' => {
                let Some(&e) = b.get(i + 1) else {
                    return Err(unexpected_eof());
                };
                match e {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => i += 2,
                    b'u' => {
                        for k in 0..4 {
                            match b.get(i + 2 + k) {
                                None => return Err(unexpected_eof()),
                                Some(h) if h.is_ascii_hexdigit() => {}
                                Some(&h) => return Err(invalid(h, "in \\u hexadecimal character escape")),
                            }
                        }
                        i += 6;
                    }
                    _ => return Err(invalid(e, "in string escape code")),
                }
            }
            c if c < 0x20 => return Err(invalid(c, "in string literal")),
            _ => i += 1,
        }
    }
}

/// A number literal at `b[i]`; the index after it. At the end of the input a complete number
/// ends there; an incomplete one is an unexpected end.
fn scan_number(b: &[u8], mut i: usize) -> Result<usize, JsonError> {
    if b[i] == b'-' {
        i += 1;
        match b.get(i) {
            None => return Err(unexpected_eof()),
            Some(c) if c.is_ascii_digit() => {}
            Some(&c) => return Err(invalid(c, "in numeric literal")),
        }
    }
    if b[i] == b'0' {
        i += 1;
    } else {
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
    }
    if b.get(i) == Some(&b'.') {
        i = scan_digits(b, i + 1, "after decimal point in numeric literal")?;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        i = scan_digits(b, i, "in exponent of numeric literal")?;
    }
    Ok(i)
}

/// One or more digits at `b[i]` (a fraction or an exponent; else the error names `ctx`); the
/// index after them.
fn scan_digits(b: &[u8], mut i: usize, ctx: &str) -> Result<usize, JsonError> {
    match b.get(i) {
        None => return Err(unexpected_eof()),
        Some(c) if c.is_ascii_digit() => {}
        Some(&c) => return Err(invalid(c, ctx)),
    }
    while b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    Ok(i)
}

/// Go's `unquote` of a scanned string literal (quotes included): escapes decoded, a lone or
/// mismatched surrogate escape and each invalid UTF-8 byte become U+FFFD.
fn unquote(lit: &[u8]) -> String {
    let s = &lit[1..lit.len() - 1];
    let mut out = String::with_capacity(s.len());
    let hex4 = |h: &[u8]| -> Option<u32> { u32::from_str_radix(std::str::from_utf8(h.get(..4)?).ok()?, 16).ok() };
    let mut r = 0;
    while r < s.len() {
        let c = s[r];
        if c == b'\\' {
            let e = s[r + 1];
            match e {
                b'u' => {
                    let rr = hex4(&s[r + 2..]).unwrap_or(0xfffd);
                    if (0xd800..0xe000).contains(&rr) {
                        let pair = (s.get(r + 6) == Some(&b'\\') && s.get(r + 7) == Some(&b'u'))
                            .then(|| hex4(&s[r + 8..]))
                            .flatten();
                        if let Some(lo) = pair {
                            if (0xd800..0xdc00).contains(&rr) && (0xdc00..0xe000).contains(&lo) {
                                let cp = 0x10000 + ((rr - 0xd800) << 10) + (lo - 0xdc00);
                                out.push(char::from_u32(cp).unwrap_or('\u{fffd}'));
                                r += 12;
                                continue;
                            }
                        }
                        out.push('\u{fffd}');
                    } else {
                        out.push(char::from_u32(rr).unwrap_or('\u{fffd}'));
                    }
                    r += 6;
                }
                _ => {
                    out.push(match e {
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        other => other as char,
                    });
                    r += 2;
                }
            }
            continue;
        }
        if c < 0x80 {
            out.push(c as char);
            r += 1;
            continue;
        }
        // One UTF-8 sequence, or U+FFFD for one invalid byte (utf8.DecodeRune).
        let end = (r + 4).min(s.len());
        let mut took = None;
        for len in 2..=end - r {
            if let Ok(t) = std::str::from_utf8(&s[r..r + len]) {
                took = Some((t, len));
                break;
            }
        }
        match took {
            Some((t, len)) => {
                out.push_str(t);
                r += len;
            }
            None => {
                out.push('\u{fffd}');
                r += 1;
            }
        }
    }
    out
}

/// Go's case folding of a JSON field name (`foldName`), for the ASCII names of the payload.
fn fold_matches(key: &str, name: &str) -> bool {
    let mut folded = String::with_capacity(key.len());
    for c in key.chars() {
        folded.push(match c {
            '\u{212a}' => 'K',
            '\u{17f}' => 'S',
            c if c.is_ascii() => c.to_ascii_uppercase(),
            _ => return false,
        });
    }
    folded == name.to_ascii_uppercase()
}

/// A cursor over a value known to be syntactically valid.
struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
    err: Option<JsonError>,
}

#[derive(Clone, Copy)]
enum Field {
    Critical,
    Optional,
    Type,
    Image,
    Identity,
    Digest,
    Reference,
    Creator,
    Timestamp,
}

impl<'a> Cursor<'a> {
    fn ws(&mut self) {
        while self.i < self.b.len() && is_space(self.b[self.i]) {
            self.i += 1;
        }
    }

    fn save(&mut self, e: JsonError) {
        if self.err.is_none() {
            self.err = Some(e);
        }
    }

    /// Skip one valid value (iteratively: nesting may be deep).
    fn skip(&mut self) {
        self.ws();
        let mut depth = 0usize;
        loop {
            self.ws();
            match self.b[self.i] {
                b'{' | b'[' => {
                    depth += 1;
                    self.i += 1;
                }
                b'}' | b']' => {
                    depth -= 1;
                    self.i += 1;
                }
                b'"' => self.i = scan_string(self.b, self.i).unwrap_or(self.b.len()),
                b',' | b':' => self.i += 1,
                b'-' | b'0'..=b'9' => self.i = scan_number(self.b, self.i).unwrap_or(self.b.len()),
                b't' | b'n' => self.i += 4,
                b'f' => self.i += 5,
                _ => self.i += 1,
            }
            if depth == 0 {
                return;
            }
        }
    }

    /// The kind of the next value: `{`, `[`, `"`, a number, `t`/`f`, or `n`.
    fn peek(&mut self) -> u8 {
        self.ws();
        self.b[self.i]
    }

    fn type_name(c: u8) -> &'static str {
        match c {
            b'{' => "object",
            b'[' => "array",
            b'"' => "string",
            b't' | b'f' => "bool",
            _ => "number",
        }
    }

    /// An object into a struct whose fields are `fields` (name, field).
    fn object(&mut self, fields: &[(&str, Field)], p: &mut Payload, go_type: &str) {
        match self.peek() {
            b'{' => {}
            b'n' => {
                self.i += 4;
                return;
            }
            c => {
                self.save(JsonError::WrongType(format!(
                    "json: cannot unmarshal {} into Go value of type {go_type}",
                    Self::type_name(c)
                )));
                self.skip();
                return;
            }
        }
        self.i += 1;
        loop {
            self.ws();
            match self.b[self.i] {
                b'}' => {
                    self.i += 1;
                    return;
                }
                b',' => {
                    self.i += 1;
                    continue;
                }
                _ => {}
            }
            let start = self.i;
            self.i = scan_string(self.b, self.i).unwrap_or(self.b.len());
            let key = unquote(&self.b[start..self.i]);
            self.ws();
            self.i += 1; // ':'
            let field = fields
                .iter()
                .find(|(n, _)| *n == key)
                .or_else(|| fields.iter().find(|(n, _)| fold_matches(&key, n)))
                .map(|(_, f)| *f);
            match field {
                None => {
                    self.save(JsonError::UnknownField(key));
                    self.skip();
                }
                Some(f) => self.field(f, p),
            }
        }
    }

    fn field(&mut self, f: Field, p: &mut Payload) {
        match f {
            Field::Critical => self.object(
                &[
                    ("type", Field::Type),
                    ("image", Field::Image),
                    ("identity", Field::Identity),
                ],
                p,
                "verify.criticalSignature",
            ),
            Field::Optional => self.object(
                &[("creator", Field::Creator), ("timestamp", Field::Timestamp)],
                p,
                "verify.optionalSignature",
            ),
            Field::Image => self.object(&[("docker-manifest-digest", Field::Digest)], p, "verify.criticalImage"),
            Field::Identity => self.object(&[("docker-reference", Field::Reference)], p, "verify.criticalIdentity"),
            Field::Type | Field::Digest | Field::Reference | Field::Creator => {
                let slot = match f {
                    Field::Type => &mut p.kind,
                    Field::Digest => &mut p.digest,
                    Field::Reference => &mut p.identity,
                    _ => &mut p.creator,
                };
                match self.peek() {
                    b'"' => {
                        let start = self.i;
                        self.i = scan_string(self.b, self.i).unwrap_or(self.b.len());
                        *slot = unquote(&self.b[start..self.i]);
                    }
                    b'n' => self.i += 4,
                    c => {
                        self.save(JsonError::WrongType(format!(
                            "json: cannot unmarshal {} into Go struct field of type string",
                            Self::type_name(c)
                        )));
                        self.skip();
                    }
                }
            }
            Field::Timestamp => match self.peek() {
                b'-' | b'0'..=b'9' => {
                    let start = self.i;
                    self.i = scan_number(self.b, self.i).unwrap_or(self.b.len());
                    let lit = std::str::from_utf8(&self.b[start..self.i]).unwrap_or("");
                    match lit.parse::<i64>() {
                        Ok(n) => p.timestamp = n,
                        Err(_) => self.save(JsonError::WrongType(format!(
                            "json: cannot unmarshal number {lit} into Go struct field signature.optional.timestamp of type int64"
                        ))),
                    }
                }
                b'n' => self.i += 4,
                c => {
                    self.save(JsonError::WrongType(format!(
                        "json: cannot unmarshal {} into Go struct field signature.optional.timestamp of type int64",
                        Self::type_name(c)
                    )));
                    self.skip();
                }
            },
        }
    }
}

/// Decode a payload as library-go does.
pub fn decode(data: &[u8]) -> Result<Payload, JsonError> {
    let (start, end) = scan_first_value(data)?;
    let mut c = Cursor {
        b: &data[..end],
        i: start,
        err: None,
    };
    let mut p = Payload::default();
    c.object(
        &[("critical", Field::Critical), ("optional", Field::Optional)],
        &mut p,
        "verify.signature",
    );
    match c.err {
        Some(e) => Err(e),
        None => Ok(p),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:00";

    fn good(extra: &str) -> String {
        format!(
            r#"{{"critical":{{"type":"atomic container signature","image":{{"docker-manifest-digest":"{D}"}},"identity":{{"docker-reference":"a/b:1"}}}}{extra}}}"#
        )
    }

    #[test]
    fn gos_quirks() {
        let ok = |s: &str| decode(s.as_bytes()).unwrap();
        assert_eq!(ok(&good("")).digest, D);
        // Only the first value counts.
        assert_eq!(ok(&(good("") + "garbage {")).digest, D);
        assert_eq!(ok(&(good("") + &good(""))).digest, D);
        // Case-insensitive names, including the Kelvin sign for k.
        let p = ok(
            r#"{"CRITICAL":{"Type":"atomic container signature","IMAGE":{"doc\u212Aer-manifest-digest":"x"},"identity":{"docker-reference":"r"}}}"#,
        );
        assert_eq!(
            (p.kind.as_str(), p.digest.as_str()),
            ("atomic container signature", "x")
        );
        // The last duplicate wins; objects merge.
        let p = ok(
            r#"{"critical":{"type":"x","identity":{"docker-reference":"r"}},"critical":{"type":"atomic container signature"}}"#,
        );
        assert_eq!(
            (p.kind.as_str(), p.identity.as_str()),
            ("atomic container signature", "r")
        );
        // null leaves the field as it was.
        assert_eq!(ok(r#"{"critical":null,"optional":null}"#), Payload::default());
        // Invalid UTF-8 becomes U+FFFD byte by byte.
        let p = decode(b"{\"critical\":{\"identity\":{\"docker-reference\":\"a\xff\xfeb\"}}}").unwrap();
        assert_eq!(p.identity, "a\u{fffd}\u{fffd}b");
        assert_eq!(ok(r#"{"optional":{"timestamp":-0}}"#).timestamp, 0);
    }

    #[test]
    fn refusals() {
        let err = |s: &[u8]| decode(s).unwrap_err();
        assert!(matches!(err(b""), JsonError::Syntax(_)));
        assert!(matches!(err(b"\xef\xbb\xbf{}"), JsonError::Syntax(_)));
        assert!(matches!(err(br#"{"critical":{}"#), JsonError::Syntax(_)));
        assert!(matches!(err(br#"{"extra":1}"#), JsonError::UnknownField(_)));
        assert!(matches!(
            err(br#"{"critical":{"image":{"x":1}}}"#),
            JsonError::UnknownField(_)
        ));
        for ts in ["1.0", "1e3", "9223372036854775808", "\"1\"", "true"] {
            let s = format!(r#"{{"optional":{{"timestamp":{ts}}}}}"#);
            assert!(matches!(err(s.as_bytes()), JsonError::WrongType(_)), "{ts}");
        }
        assert!(matches!(err(br#"{"optional":{"creator":5}}"#), JsonError::WrongType(_)));
        assert!(matches!(err(br#"[]"#), JsonError::WrongType(_)));
        assert!(matches!(err(br#""x""#), JsonError::WrongType(_)));
        let deep = "[".repeat(10_001) + &"]".repeat(10_001);
        assert!(matches!(err(deep.as_bytes()), JsonError::Syntax(_)));
    }
}
