//! Everything printed: text for a terminal with hostile strings defanged
//! ([`sanitize_for_terminal`]), tables, and one-line JSON that is safe to `cat` as well.
//!
//! Agent-supplied strings (topics, reasons, principals, even job ids) are attacker-controlled:
//! an escape sequence could recolour, hide or rewrite what the reviewer reads, and a newline
//! could forge a line of output. Text output passes every such string through
//! [`sanitize_for_terminal`]; JSON output escapes what `serde_json` leaves raw.

use std::fmt::Write as _;
use std::io::Write;

use serde::Serialize;

/// Where and how a command prints.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    json: bool,
}

impl Output {
    pub fn new(json: bool) -> Self {
        Self { json }
    }

    pub fn is_json(&self) -> bool {
        self.json
    }

    /// One JSON document on one line of stdout.
    pub fn json<T: Serialize + ?Sized>(&self, value: &T) {
        match serde_json::to_string(value) {
            Ok(text) => print_line(&terminal_safe_json(&text)),
            // Only maps with non-string keys fail; none of the printed types has one.
            Err(error) => eprintln!("countersign-cli: cannot print JSON: {error}"),
        }
    }

    /// A line of text on stdout; the caller sanitized the hostile parts.
    pub fn line(&self, text: &str) {
        print_line(text);
    }

    /// A note for the person at the terminal (stderr, so stdout stays parseable).
    pub fn note(&self, text: &str) {
        eprintln!("{text}");
    }

    /// [`sanitize_for_terminal`], for callers outside this module.
    pub fn sanitize_line(text: &str) -> String {
        sanitize_for_terminal(text)
    }
}

fn print_line(text: &str) {
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (`| head`) is not worth an error message.
    let _ = writeln!(stdout, "{text}");
    let _ = stdout.flush();
}

/// Makes a hostile string safe to print on a terminal, on one line: escape sequences (CSI,
/// OSC, and two-byte `ESC x`, in their 7-bit and 8-bit forms) are removed whole, and every
/// other control character (newlines included) and bidirectional override is shown as a
/// visible escape (`\n`, `\u{1b}`), so a forged line or reordered text cannot pass as real.
pub fn sanitize_for_terminal(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(ch) = chars.next() {
        match ch {
            '\u{1b}' => match chars.next() {
                Some('[') => skip_csi(&mut chars),
                Some(']' | 'P' | 'X' | '^' | '_') => skip_string(&mut chars),
                // `ESC x`: one more character belongs to the sequence.
                Some(_) | None => {}
            },
            '\u{9b}' => skip_csi(&mut chars),
            '\u{9d}' | '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            ch if is_unsafe(ch) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(ch));
            }
            ch => out.push(ch),
        }
    }
    out
}

/// Control characters and the invisible characters that reorder text (Trojan Source).
fn is_unsafe(ch: char) -> bool {
    ch.is_control()
        || matches!(ch, '\u{200e}' | '\u{200f}' | '\u{061c}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// A CSI sequence: parameter and intermediate bytes, then one final byte in `@`..=`~`.
fn skip_csi(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while let Some(&ch) = chars.peek() {
        if (' '..='?').contains(&ch) {
            chars.next();
        } else {
            if ('@'..='~').contains(&ch) {
                chars.next();
            }
            // Anything else ends a malformed sequence and is printed (escaped) on its own.
            return;
        }
    }
}

/// An OSC/DCS-style string, ended by BEL, ST (`ESC \` or U+009C) or the end of the text.
fn skip_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while let Some(ch) = chars.next() {
        match ch {
            '\u{7}' | '\u{9c}' => return,
            '\u{1b}' => {
                if chars.peek() == Some(&'\\') {
                    chars.next();
                }
                return;
            }
            _ => {}
        }
    }
}

/// `serde_json` escapes C0 controls but leaves DEL, the C1 controls (U+009B is a CSI on some
/// terminals) and bidi overrides raw; those only occur inside JSON strings, where a `\u`
/// escape means the same character.
fn terminal_safe_json(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for ch in json.chars() {
        if is_unsafe(ch) {
            let _ = write!(out, "\\u{:04x}", u32::from(ch));
        } else {
            out.push(ch);
        }
    }
    out
}

/// Left-aligned columns, two spaces apart; cells are sanitized here.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|row| row.iter().map(|cell| sanitize_for_terminal(cell)).collect())
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let render = |cells: &mut dyn Iterator<Item = &str>| {
        let mut line = String::new();
        for (cell, width) in cells.zip(&widths) {
            let _ = write!(line, "{cell:<width$}  ");
        }
        line.trim_end().to_owned()
    };
    let mut text = render(&mut header.iter().copied());
    for row in &rows {
        text.push('\n');
        text.push_str(&render(&mut row.iter().map(String::as_str)));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_are_removed_whole() {
        assert_eq!(sanitize_for_terminal("\u{1b}[31mred\u{1b}[0m"), "red");
        assert_eq!(sanitize_for_terminal("a\u{1b}[2J\u{1b}[Hb"), "ab");
        // OSC 8 hyperlink and window title, ended by BEL or ST.
        assert_eq!(
            sanitize_for_terminal("\u{1b}]8;;https://evil\u{7}click\u{1b}]8;;\u{1b}\\"),
            "click"
        );
        assert_eq!(sanitize_for_terminal("\u{1b}]0;title\u{7}x"), "x");
        assert_eq!(sanitize_for_terminal("\u{9b}1mbold"), "bold");
        assert_eq!(sanitize_for_terminal("x\u{1b}"), "x");
        assert_eq!(sanitize_for_terminal("\u{1b}cafter reset"), "after reset");
    }

    #[test]
    fn control_characters_become_visible() {
        assert_eq!(
            sanitize_for_terminal("ok\nVerified: forged"),
            "ok\\nVerified: forged"
        );
        assert_eq!(sanitize_for_terminal("a\rb\tc"), "a\\rb\\tc");
        assert_eq!(
            sanitize_for_terminal("bell\u{7}del\u{7f}"),
            "bell\\u{7}del\\u{7f}"
        );
        assert_eq!(sanitize_for_terminal("pay\u{202e}evil"), "pay\\u{202e}evil");
        assert_eq!(sanitize_for_terminal("plain ünïcode ✓"), "plain ünïcode ✓");
    }

    #[test]
    fn json_stays_valid_and_inert() {
        let value = serde_json::json!({"t": "\u{1b}[31m\u{9b}x\u{7f}\u{202e}\n"});
        let text = terminal_safe_json(&serde_json::to_string(&value).expect("json"));
        assert!(text.chars().all(|c| !is_unsafe(c)), "{text}");
        let back: serde_json::Value = serde_json::from_str(&text).expect("still JSON");
        assert_eq!(back, value);
    }

    #[test]
    fn tables_align_and_sanitize() {
        let text = table(
            &["ID", "TOPIC"],
            &[
                vec!["j1".into(), "a\u{1b}[1mb".into()],
                vec!["job-22".into(), "c".into()],
            ],
        );
        assert_eq!(text, "ID      TOPIC\nj1      ab\njob-22  c");
    }
}
