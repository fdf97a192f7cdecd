//! Strings from a record made safe to print. A record is a file anyone can
//! write: a label, a prompt, a host name or a notice may hold control
//! characters that a terminal obeys (clear the screen, set the window title,
//! move the cursor) or a newline that forges a line of the output.
//!
//! Every control character (C0 `U+0000`–`U+001F`, DEL `U+007F` and C1
//! `U+0080`–`U+009F`, Unicode's general category Cc) is replaced by a visible
//! escape, so a reader sees what the record holds: `\x1b` for C0 and DEL (two
//! hex digits, as in a shell), `\u{9b}` for C1. A backslash itself is kept as
//! it is: the escapes are for reading, not for decoding.
//!
//! [`line()`] is for a field printed on one line (a label, a warning, a cell):
//! a newline or tab is escaped too. [`text()`] is for text laid out in lines
//! (the run summary, an error message): newline and tab are kept.

use std::borrow::Cow;

/// `s` on one line: every control character escaped, newline and tab included.
pub fn line(s: &str) -> Cow<'_, str> {
    escape(s, |_| false)
}

/// `s` keeping its lines: every control character escaped but newline and tab.
pub fn text(s: &str) -> Cow<'_, str> {
    escape(s, |c| c == '\n' || c == '\t')
}

fn escape(s: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !s.chars().any(|c| c.is_control() && !keep(c)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            c if !c.is_control() || keep(c) => out.push(c),
            c if u32::from(c) < 0x80 => out.push_str(&format!("\\x{:02x}", u32::from(c))),
            c => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_escaped_visibly_and_the_rest_is_kept() {
        assert_eq!(
            line("\u{1b}[2Jok\u{7f}\u{9b}1m\u{0}"),
            "\\x1b[2Jok\\x7f\\u{9b}1m\\x00"
        );
        assert_eq!(line("a\nb\tc\rd"), "a\\x0ab\\x09c\\x0dd");
        assert_eq!(text("a\nb\tc\rd"), "a\nb\tc\\x0dd");
        // Printable text outside ASCII, and the first character after C1, stay.
        assert_eq!(line("café ü \u{a0}€ 電"), "café ü \u{a0}€ 電");
        assert!(matches!(line("plain"), Cow::Borrowed("plain")));
        // Escaping twice changes nothing more: the escapes are printable.
        let once = line("\u{1b}\n").into_owned();
        assert_eq!(line(&once), once);
        for c in (0u32..0x20).chain([0x7f]).chain(0x80..0xa0) {
            let c = char::from_u32(c).expect("a char");
            assert!(!line(&c.to_string()).chars().any(char::is_control), "{c:?}");
        }
    }
}
