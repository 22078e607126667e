//! Text for people: an error chain on one line, and escaping of anything read from a file or the
//! network before it reaches a terminal (control, bidirectional and invisible characters), and
//! cutting text only between characters.

/// An error and its sources on one line.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        let t = inner.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        src = inner.source();
    }
    s
}

/// Whether a character must not reach a terminal as it is: a control character (C0, DEL, C1),
/// a bidirectional override, embedding, isolate or mark (which reorder what follows, U+202E
/// say), or an invisible one (zero-width characters, word joiners, the BOM, tag characters,
/// interlinear annotations).
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{061C}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{17B4}'
                | '\u{17B5}'
                | '\u{180B}'..='\u{180F}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{FFF9}'..='\u{FFFB}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0000}'..='\u{E0FFF}'
        )
}

/// Escape control, bidirectional and invisible characters (and backslashes) so that a name read
/// from untrusted input can be printed to a terminal without its escape sequences taking
/// effect or its text being reordered or hidden.
pub fn escape_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            c if is_unsafe_char(c) => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    out
}

/// Escape raw bytes (possibly not UTF-8) for printing, as [`escape_name`] does.
pub fn escape_bytes(name: &[u8]) -> String {
    let mut out = String::with_capacity(name.len());
    for chunk in name.utf8_chunks() {
        out.push_str(&escape_name(chunk.valid()));
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// The last line of defence before text reaches a terminal: escape the characters
/// [`is_unsafe_char`] names, leaving everything else (backslashes included, so text escaped
/// once already is unchanged). Everything the binaries print goes through this.
pub fn terminal_safe(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(|c| is_unsafe_char(c) && c != '\n') {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_unsafe_char(c) && c != '\n' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// JSON text with every character [`is_unsafe_char`] names written as a `\uXXXX` escape
/// (serde_json leaves DEL, C1 controls and bidirectional overrides as they are). Such
/// characters only occur inside strings, so the JSON means the same.
pub fn json_terminal_safe(json: String) -> String {
    if !json.chars().any(|c| is_unsafe_char(c) && c != '\n') {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 16);
    let mut units = [0u16; 2];
    for c in json.chars() {
        if is_unsafe_char(c) && c != '\n' {
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// At most `max` characters of `s` (never cut inside a character), with `…` when cut.
pub fn truncate_chars(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match s.char_indices().nth(max) {
        None => std::borrow::Cow::Borrowed(s),
        Some((at, _)) => std::borrow::Cow::Owned(format!("{}…", s.get(..at).unwrap_or_default())),
    }
}

/// The last `n` characters of `s` (never cut inside a character).
pub fn tail_chars(s: &str, n: usize) -> &str {
    let count = s.chars().count();
    let skip = count.saturating_sub(n);
    s.char_indices()
        .nth(skip)
        .map_or("", |(at, _)| s.get(at..).unwrap_or_default())
}

/// The first `n` characters of `s` (never cut inside a character).
pub fn head_chars(s: &str, n: usize) -> &str {
    s.char_indices()
        .nth(n)
        .map_or(s, |(at, _)| s.get(..at).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_control_characters() {
        assert_eq!(escape_name("a\x1b[31mb\n"), "a\\u{1b}[31mb\\n");
        assert_eq!(escape_bytes(b"x\xffy\0"), "x\\xffy\\u{0}");
        assert_eq!(escape_name("plain/name-1"), "plain/name-1");
        assert_eq!(escape_name("a\u{202e}b\u{200b}c\u{9b}"), "a\\u{202e}b\\u{200b}c\\u{9b}");
        assert_eq!(terminal_safe("x\\y\u{1b}z\n"), "x\\y\\u{1b}z\n");
        assert_eq!(terminal_safe(&escape_name("\u{1b}")), escape_name("\u{1b}"));
        let j = json_terminal_safe(serde_json::json!({"k": "a\u{202e}\u{7f}\u{e0041}"}).to_string());
        assert_eq!(j, r#"{"k":"a\u202e\u007f\udb40\udc41"}"#);
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&j).unwrap()["k"],
            "a\u{202e}\u{7f}\u{e0041}"
        );
    }

    #[test]
    fn cuts_only_between_characters() {
        assert_eq!(tail_chars("ab\u{e9}\u{e9}", 2), "\u{e9}\u{e9}");
        assert_eq!(tail_chars("ab", 16), "ab");
        assert_eq!(head_chars("\u{e9}\u{e9}x", 1), "\u{e9}");
        assert_eq!(truncate_chars("\u{e9}\u{e9}x", 2), "\u{e9}\u{e9}…");
        assert_eq!(truncate_chars("ab", 2), "ab");
    }
}
