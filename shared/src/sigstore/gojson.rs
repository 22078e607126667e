//! Go's `encoding/json`, as far as containers/image's sigstore code depends on it: `json.Unmarshal`
//! first checks that the whole input is exactly one JSON value (`checkValid`: whitespace around it
//! is fine, nesting deeper than 10,000 is not), then decodes it. [`parse`] does the first step and
//! keeps the value as a tree with every object member in document order, duplicates included, so
//! that the decoders in `manifest` and `payload` can replay Go's decoding rules on it.
//!
//! Strings are unquoted as Go's `unquote` does: invalid UTF-8 becomes U+FFFD byte by byte, a `\u`
//! escape of a lone surrogate becomes U+FFFD. Numbers are kept as written; Go converts them only
//! when it decodes them into a typed field ([`parse_int64`], [`parse_uint8`], [`parse_float64`]).

/// Go's scanner refuses nesting deeper than this (`maxNestingDepth`).
pub(crate) const MAX_DEPTH: usize = 10_000;

/// One JSON value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Null,
    Bool(bool),
    /// The number literal exactly as written.
    Number(String),
    /// The unquoted string.
    String(String),
    /// Element indexes into [`Doc::nodes`].
    Array(Vec<usize>),
    /// Members in document order, duplicates kept; values are indexes into [`Doc::nodes`].
    Object(Vec<(String, usize)>),
}

/// A parsed JSON document: nodes in an arena (no recursion to build or to drop it).
#[derive(Debug, Clone)]
pub(crate) struct Doc {
    nodes: Vec<Node>,
    root: usize,
}

impl Doc {
    pub(crate) fn root(&self) -> usize {
        self.root
    }

    pub(crate) fn node(&self, i: usize) -> &Node {
        &self.nodes[i]
    }

    /// Whether Go can decode the value at `i` into an `interface{}`: every number in it must fit
    /// a float64 (`strconv.ParseFloat` fails on overflow; `1e400` is an error, `1e-400` is 0).
    pub(crate) fn decodes_as_any(&self, i: usize) -> bool {
        let mut todo = vec![i];
        while let Some(i) = todo.pop() {
            match &self.nodes[i] {
                Node::Number(n) => {
                    if parse_float64(n).is_none() {
                        return false;
                    }
                }
                Node::Array(items) => todo.extend(items.iter().copied()),
                Node::Object(members) => todo.extend(members.iter().map(|(_, v)| *v)),
                Node::Null | Node::Bool(_) | Node::String(_) => {}
            }
        }
        true
    }
}

/// Go's `strconv.ParseInt(s, 10, 64)` on a JSON number literal (`1.0` and `1e3` are errors).
pub(crate) fn parse_int64(lit: &str) -> Option<i64> {
    lit.parse::<i64>().ok()
}

/// Go's `strconv.ParseUint(s, 10, 64)` followed by the overflow check for a `uint8`.
pub(crate) fn parse_uint8(lit: &str) -> Option<u8> {
    lit.parse::<u64>().ok().and_then(|v| u8::try_from(v).ok())
}

/// Go's `strconv.ParseFloat(s, 64)`: correctly rounded; a value that rounds to infinity is an
/// error (Rust's parser is also correctly rounded and returns infinity there).
pub(crate) fn parse_float64(lit: &str) -> Option<f64> {
    lit.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// Whether a JSON object key selects a Go struct field of the ASCII name `field`: Go's
/// `encoding/json` tries the exact name, then a case-insensitive match by Unicode simple folding
/// (`foldName`), under which `k` also matches U+212A (KELVIN SIGN) and `s` also U+017F (LONG S).
pub(crate) fn field_matches(key: &str, field: &str) -> bool {
    let mut f = field.bytes();
    for c in key.chars() {
        let Some(want) = f.next() else { return false };
        let got = match c {
            '\u{212A}' => b'K',
            '\u{017F}' => b'S',
            c if c.is_ascii() => (c as u8).to_ascii_uppercase(),
            _ => return false,
        };
        if got != want.to_ascii_uppercase() {
            return false;
        }
    }
    f.next().is_none()
}

/// Decode one rune as Go's `utf8.DecodeRune`: `None` (U+FFFD, width 1) for any invalid or
/// truncated sequence.
pub(crate) fn decode_rune(b: &[u8]) -> (Option<char>, usize) {
    let Some(&lead) = b.first() else { return (None, 0) };
    let want = match lead {
        0x00..=0x7f => return (Some(lead as char), 1),
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => return (None, 1),
    };
    match b.get(..want).map(std::str::from_utf8) {
        Some(Ok(s)) => (s.chars().next(), want),
        _ => (None, 1),
    }
}

fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r')
}

enum Open {
    Array(Vec<usize>),
    Object(Vec<(String, usize)>, String),
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
    nodes: Vec<Node>,
}

impl Parser<'_> {
    fn err<T>(&self, what: &str) -> Result<T, String> {
        if self.i >= self.b.len() {
            Err("unexpected end of JSON input".into())
        } else {
            Err(format!("invalid character at offset {} {what}", self.i))
        }
    }

    fn skip_ws(&mut self) {
        while self.i < self.b.len() && is_ws(self.b[self.i]) {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn push(&mut self, n: Node) -> usize {
        self.nodes.push(n);
        self.nodes.len() - 1
    }

    fn literal(&mut self, word: &[u8], node: Node) -> Result<usize, String> {
        if self.b.get(self.i..self.i + word.len()) == Some(word) {
            self.i += word.len();
            Ok(self.push(node))
        } else {
            self.err("in literal")
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        self.i - start
    }

    fn number(&mut self) -> Result<usize, String> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek() {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return self.err("in numeric literal"),
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return self.err("after decimal point in numeric literal");
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if self.digits() == 0 {
                return self.err("in exponent of numeric literal");
            }
        }
        // Only ASCII digits and signs were consumed.
        let lit = String::from_utf8_lossy(&self.b[start..self.i]).into_owned();
        Ok(self.push(Node::Number(lit)))
    }

    /// A string literal starting at the opening quote; returns the unquoted text.
    fn string(&mut self) -> Result<String, String> {
        debug_assert_eq!(self.peek(), Some(b'"'));
        self.i += 1;
        let start = self.i;
        loop {
            match self.peek() {
                None => return self.err("in string literal"),
                Some(b'"') => break,
                Some(b'\\') => {
                    self.i += 1;
                    match self.peek() {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => self.i += 1,
                        Some(b'u') => {
                            self.i += 1;
                            for _ in 0..4 {
                                if !self.peek().is_some_and(|c| c.is_ascii_hexdigit()) {
                                    return self.err("in \\u hexadecimal character escape");
                                }
                                self.i += 1;
                            }
                        }
                        _ => return self.err("in string escape code"),
                    }
                }
                Some(c) if c < 0x20 => return self.err("in string literal"),
                Some(_) => self.i += 1,
            }
        }
        let raw = &self.b[start..self.i];
        self.i += 1;
        Ok(unquote(raw))
    }

    fn key(&mut self) -> Result<String, String> {
        if self.peek() != Some(b'"') {
            return self.err("looking for beginning of object key string");
        }
        let k = self.string()?;
        self.skip_ws();
        if self.peek() != Some(b':') {
            return self.err("after object key");
        }
        self.i += 1;
        self.skip_ws();
        Ok(k)
    }
}

/// Four hex digits after `\u` (Go's `getu4`), or `None`.
fn getu4(b: &[u8]) -> Option<u32> {
    if b.len() < 6 || b[0] != b'\\' || b[1] != b'u' {
        return None;
    }
    let s = std::str::from_utf8(&b[2..6]).ok()?;
    u32::from_str_radix(s, 16).ok()
}

/// Go's `unquote` of the bytes between the quotes of a string literal the scanner accepted.
fn unquote(raw: &[u8]) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut r = 0;
    while r < raw.len() {
        let c = raw[r];
        if c == b'\\' {
            let e = raw[r + 1];
            r += 2;
            match e {
                b'b' => out.push('\u{8}'),
                b'f' => out.push('\u{c}'),
                b'n' => out.push('\n'),
                b'r' => out.push('\r'),
                b't' => out.push('\t'),
                b'u' => {
                    let rr = getu4(&raw[r - 2..]).unwrap_or(0xFFFD);
                    r += 4;
                    if (0xD800..0xE000).contains(&rr) {
                        if let Some(rr1) = getu4(&raw[r..]) {
                            if (0xD800..0xDC00).contains(&rr) && (0xDC00..0xE000).contains(&rr1) {
                                let cp = 0x10000 + ((rr - 0xD800) << 10) + (rr1 - 0xDC00);
                                out.push(char::from_u32(cp).unwrap_or('\u{FFFD}'));
                                r += 6;
                                continue;
                            }
                        }
                        out.push('\u{FFFD}');
                    } else {
                        out.push(char::from_u32(rr).unwrap_or('\u{FFFD}'));
                    }
                }
                other => out.push(other as char),
            }
        } else {
            let (ch, n) = decode_rune(&raw[r..]);
            out.push(ch.unwrap_or('\u{FFFD}'));
            r += n;
        }
    }
    out
}

/// `json.Unmarshal`'s validity check and a tree of the one value `data` holds.
pub(crate) fn parse(data: &[u8]) -> Result<Doc, String> {
    let mut p = Parser {
        b: data,
        i: 0,
        nodes: Vec::new(),
    };
    let mut stack: Vec<Open> = Vec::new();
    p.skip_ws();
    'value: loop {
        // Parse one value, or open a container.
        let mut done = match p.peek() {
            Some(b'{') | Some(b'[') => {
                let is_obj = p.peek() == Some(b'{');
                p.i += 1;
                if stack.len() >= MAX_DEPTH {
                    return Err("exceeded max depth".into());
                }
                p.skip_ws();
                if is_obj {
                    if p.peek() == Some(b'}') {
                        p.i += 1;
                        p.push(Node::Object(Vec::new()))
                    } else {
                        let k = p.key()?;
                        stack.push(Open::Object(Vec::new(), k));
                        continue 'value;
                    }
                } else if p.peek() == Some(b']') {
                    p.i += 1;
                    p.push(Node::Array(Vec::new()))
                } else {
                    stack.push(Open::Array(Vec::new()));
                    continue 'value;
                }
            }
            Some(b'"') => {
                let s = p.string()?;
                p.push(Node::String(s))
            }
            Some(b't') => p.literal(b"true", Node::Bool(true))?,
            Some(b'f') => p.literal(b"false", Node::Bool(false))?,
            Some(b'n') => p.literal(b"null", Node::Null)?,
            Some(b'-' | b'0'..=b'9') => p.number()?,
            _ => return p.err("looking for beginning of value"),
        };
        // Attach the finished value to its container; close containers as they end.
        loop {
            p.skip_ws();
            match stack.last_mut() {
                None => {
                    if p.i != p.b.len() {
                        return p.err("after top-level value");
                    }
                    return Ok(Doc {
                        nodes: p.nodes,
                        root: done,
                    });
                }
                Some(Open::Array(items)) => {
                    items.push(done);
                    match p.peek() {
                        Some(b',') => {
                            p.i += 1;
                            p.skip_ws();
                            continue 'value;
                        }
                        Some(b']') => {
                            p.i += 1;
                            let Some(Open::Array(items)) = stack.pop() else {
                                unreachable!()
                            };
                            done = p.push(Node::Array(items));
                        }
                        _ => return p.err("after array element"),
                    }
                }
                Some(Open::Object(members, key)) => {
                    members.push((std::mem::take(key), done));
                    match p.peek() {
                        Some(b',') => {
                            p.i += 1;
                            p.skip_ws();
                            let k = p.key()?;
                            if let Some(Open::Object(_, key)) = stack.last_mut() {
                                *key = k;
                            }
                            continue 'value;
                        }
                        Some(b'}') => {
                            p.i += 1;
                            let Some(Open::Object(members, _)) = stack.pop() else {
                                unreachable!()
                            };
                            done = p.push(Node::Object(members));
                        }
                        _ => return p.err("after object key:value pair"),
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(s: &[u8]) -> Node {
        let d = parse(s).unwrap();
        d.node(d.root()).clone()
    }

    #[test]
    fn one_value_with_whitespace() {
        assert_eq!(root(b" \r\n\t null \n"), Node::Null);
        assert!(parse(b"").is_err());
        assert!(parse(b"{} {}").is_err());
        assert!(parse(b"\xef\xbb\xbf{}").is_err());
        assert!(parse(b"{}x").is_err());
        assert!(parse(b"01").is_err());
        assert!(parse(b"1.").is_err());
        assert!(parse(b"-").is_err());
        assert!(parse(b"[1,]").is_err());
        assert!(parse(b"{\"a\":1,}").is_err());
        assert!(parse(b"\"a\x01\"").is_err());
        assert!(parse(b"\"\\x\"").is_err());
        assert!(parse(b"nul").is_err());
        assert_eq!(root(b"-0.5e+3"), Node::Number("-0.5e+3".into()));
    }

    #[test]
    fn depth_limit_is_go_s() {
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(ok.as_bytes()).is_ok());
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert!(parse(deep.as_bytes()).is_err());
    }

    #[test]
    fn strings_unquote_like_go() {
        assert_eq!(root(b"\"\\u0063a\\/\\n\""), Node::String("ca/\n".into()));
        assert_eq!(root(b"\"a\xffb\""), Node::String("a\u{FFFD}b".into()));
        // A truncated 3-byte sequence is two invalid bytes in Go.
        assert_eq!(root(b"\"\xe2\x82\""), Node::String("\u{FFFD}\u{FFFD}".into()));
        assert_eq!(root(b"\"\\ud83d\\ude00\""), Node::String("\u{1F600}".into()));
        assert_eq!(root(b"\"\\ud83dx\""), Node::String("\u{FFFD}x".into()));
        assert_eq!(root(b"\"\\ude00\\ud83d\""), Node::String("\u{FFFD}\u{FFFD}".into()));
    }

    #[test]
    fn duplicates_and_order_are_kept() {
        let d = parse(br#"{"a":1,"a":[true,false],"b":{}}"#).unwrap();
        let Node::Object(m) = d.node(d.root()) else { panic!() };
        assert_eq!(m.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(), ["a", "a", "b"]);
    }

    #[test]
    fn folding_matches_go() {
        assert!(field_matches("Layers", "layers"));
        assert!(field_matches("LAYERS", "layers"));
        assert!(field_matches("\u{017F}ize", "size"));
        assert!(field_matches("\u{212A}ey", "key"));
        assert!(!field_matches("med\u{0130}aType", "mediaType"));
        assert!(!field_matches("med\u{0131}aType", "mediaType"));
        assert!(!field_matches("layer", "layers"));
        assert!(!field_matches("layerss", "layers"));
    }

    #[test]
    fn numbers_convert_like_go() {
        assert_eq!(parse_int64("-0"), Some(0));
        assert_eq!(parse_int64("1.0"), None);
        assert_eq!(parse_int64("1e3"), None);
        assert_eq!(parse_int64("9223372036854775808"), None);
        assert_eq!(parse_float64("1e400"), None);
        assert_eq!(parse_float64("1e-400"), Some(0.0));
        assert_eq!(parse_uint8("255"), Some(255));
        assert_eq!(parse_uint8("256"), None);
        assert_eq!(parse_uint8("-0"), None);
    }
}
