//! Source encodings: UTF-8, and the PEP 263 `coding` declarations Python honours.
//!
//! Python reads a file as UTF-8 unless line 1 or 2 says otherwise
//! (`# -*- coding: latin-1 -*-`); line 2 counts only when line 1 is blank or a comment, as in
//! CPython's tokenizer. The gardener decodes the declared single-byte encodings teams still
//! have (latin-1 and cp1252; ASCII is valid UTF-8 already) without a codec library, because each
//! is one table lookup per byte. Decoding keeps every line break where it was and turns one
//! byte into one character, so lines and columns computed on the decoded text are those of the
//! file. `fix` never writes a decoded file back (see [`crate::fix`]): the edits are computed on
//! the UTF-8 text, and re-encoding is a second way to lose a byte.

use std::borrow::Cow;

use crate::lines::LineIndex;

/// A source file's text, ready for the parsers.
#[derive(Debug)]
pub struct Source<'a> {
    /// The text, as UTF-8.
    pub text: Cow<'a, str>,
    /// The declared encoding it was decoded from, when it was not UTF-8 (its name as
    /// written), with the 1-based line of the declaration.
    pub declared: Option<(String, usize)>,
}

/// Why a file's bytes could not be turned into text: its position and a plain message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undecodable {
    /// 1-based line of the first byte that could not be read (or of the declaration).
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong and what to do about it.
    pub message: String,
}

/// Decodes `bytes` as Python would: UTF-8 when they are UTF-8, else the PEP 263 declared
/// encoding if the gardener knows it.
pub fn decode(bytes: &[u8]) -> Result<Source<'_>, Undecodable> {
    let error = match std::str::from_utf8(bytes) {
        Ok(text) => {
            return Ok(Source {
                text: Cow::Borrowed(text),
                declared: None,
            });
        }
        Err(e) => e,
    };
    let bad = error.valid_up_to();
    let (line, column) = LineIndex::new(bytes).position(bytes, bad);
    let byte = bytes.get(bad).copied().unwrap_or(0);
    let Some((name, declared_on)) = declaration(bytes) else {
        return Err(Undecodable {
            line,
            column,
            message: format!(
                "not UTF-8 and no coding declaration (byte 0x{byte:02x}); save it as UTF-8 or \
                 declare its encoding on line 1, such as `# -*- coding: latin-1 -*-`"
            ),
        });
    };
    let decoded = match normalise(&name).as_str() {
        "latin-1" | "latin1" | "iso-8859-1" | "iso8859-1" | "8859" | "cp819" | "l1"
        | "iso-latin-1" => Some(bytes.iter().map(|&b| char::from(b)).collect::<String>()),
        "cp1252" | "windows-1252" => cp1252(bytes),
        "utf-8" | "utf8" | "utf-8-sig" | "utf8-sig" | "ascii" | "us-ascii" => {
            return Err(Undecodable {
                line,
                column,
                message: format!(
                    "line {declared_on} declares `{name}` but the file is not in it (byte \
                     0x{byte:02x}); Python cannot read it either"
                ),
            });
        }
        _ => {
            return Err(Undecodable {
                line: declared_on,
                column: 1,
                message: format!(
                    "line {declared_on} declares `{name}`, which the gardener does not read \
                     (it reads UTF-8, latin-1 and cp1252); save it as UTF-8 to have it checked"
                ),
            });
        }
    };
    match decoded {
        Some(text) => Ok(Source {
            text: Cow::Owned(text),
            declared: Some((name, declared_on)),
        }),
        None => Err(Undecodable {
            line,
            column,
            message: format!(
                "line {declared_on} declares `{name}` but the file has bytes it does not define"
            ),
        }),
    }
}

/// Reads `bytes` as UTF-8 only, as Rust source must be.
pub fn utf8(bytes: &[u8]) -> Result<&str, Undecodable> {
    std::str::from_utf8(bytes).map_err(|e| {
        let bad = e.valid_up_to();
        let (line, column) = LineIndex::new(bytes).position(bytes, bad);
        let byte = bytes.get(bad).copied().unwrap_or(0);
        Undecodable {
            line,
            column,
            message: format!("not UTF-8 (byte 0x{byte:02x}); Rust source must be UTF-8"),
        }
    })
}

/// The encoding a PEP 263 comment on line 1 or 2 declares, with its line.
pub fn declaration(bytes: &[u8]) -> Option<(String, usize)> {
    let mut lines = bytes.split(|&b| b == b'\n');
    let first = lines.next()?;
    if let Some(name) = coding_of(first) {
        return Some((name, 1));
    }
    let first = first.trim_ascii();
    if !(first.is_empty() || first.starts_with(b"#")) {
        return None;
    }
    coding_of(lines.next()?).map(|name| (name, 2))
}

/// The name in `coding[:=] name` of a comment-only line (`^[ \t\f]*#.*?coding[:=][ \t]*[-\w.]+`).
fn coding_of(line: &[u8]) -> Option<String> {
    let start = line
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\x0c'))?;
    if line[start] != b'#' {
        return None;
    }
    let comment = &line[start..];
    let at = comment.windows(6).position(|w| w == b"coding")?;
    let rest = comment.get(at + 6..)?;
    let rest = rest
        .strip_prefix(b":")
        .or_else(|| rest.strip_prefix(b"="))?;
    let rest = rest.trim_ascii_start();
    let end = rest
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')))
        .unwrap_or(rest.len());
    (end > 0).then(|| String::from_utf8_lossy(&rest[..end]).into_owned())
}

/// Lower case with `_` as `-`, as Python's codec lookup compares names.
fn normalise(name: &str) -> String {
    name.to_ascii_lowercase().replace('_', "-")
}

/// Windows-1252: latin-1 except 0x80..0x9f; the five bytes it leaves undefined are an error,
/// as in Python.
fn cp1252(bytes: &[u8]) -> Option<String> {
    const HIGH: [Option<char>; 32] = [
        Some('€'),
        None,
        Some('‚'),
        Some('ƒ'),
        Some('„'),
        Some('…'),
        Some('†'),
        Some('‡'),
        Some('ˆ'),
        Some('‰'),
        Some('Š'),
        Some('‹'),
        Some('Œ'),
        None,
        Some('Ž'),
        None,
        None,
        Some('\u{2018}'),
        Some('\u{2019}'),
        Some('\u{201c}'),
        Some('\u{201d}'),
        Some('•'),
        Some('–'),
        Some('—'),
        Some('˜'),
        Some('™'),
        Some('š'),
        Some('›'),
        Some('œ'),
        None,
        Some('ž'),
        Some('Ÿ'),
    ];
    bytes
        .iter()
        .map(|&b| match b {
            0x80..=0x9f => HIGH[usize::from(b - 0x80)],
            _ => Some(char::from(b)),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_declaration_counts_on_line_one_or_on_line_two_after_a_comment() {
        assert_eq!(
            declaration(b"# -*- coding: latin-1 -*-\nx = 1\n"),
            Some(("latin-1".to_owned(), 1))
        );
        assert_eq!(
            declaration(b"#!/usr/bin/env python\n# vim: set fileencoding=cp1252 :\n"),
            Some(("cp1252".to_owned(), 2))
        );
        assert_eq!(declaration(b"x = 1\n# coding: latin-1\n"), None);
        assert_eq!(declaration(b"x = '# coding: latin-1'\n"), None);
    }

    #[test]
    fn latin1_and_cp1252_decode_one_character_per_byte() {
        let latin = decode(b"# coding: iso_8859_1\ns = '\xe9'\n").unwrap();
        assert_eq!(latin.text, "# coding: iso_8859_1\ns = '\u{e9}'\n");
        assert_eq!(latin.declared, Some(("iso_8859_1".to_owned(), 1)));
        let windows = decode(b"# coding=cp1252\ns = '\x80\x96'\n").unwrap();
        assert_eq!(windows.text, "# coding=cp1252\ns = '\u{20ac}\u{2013}'\n");
    }

    #[test]
    fn undeclared_misdeclared_and_unknown_encodings_are_refused_in_plain_words() {
        assert_eq!(
            decode(b"x = 1\ns = '\xe9'\n").unwrap_err(),
            Undecodable {
                line: 2,
                column: 6,
                message: "not UTF-8 and no coding declaration (byte 0xe9); save it as UTF-8 or \
                          declare its encoding on line 1, such as `# -*- coding: latin-1 -*-`"
                    .to_owned()
            }
        );
        assert_eq!(
            decode(b"# coding: utf-8\ns = '\xe9'\n")
                .unwrap_err()
                .message,
            "line 1 declares `utf-8` but the file is not in it (byte 0xe9); Python cannot read \
             it either"
        );
        assert_eq!(
            decode(b"# coding: shift_jis\ns = '\x82\xa0'\n").unwrap_err(),
            Undecodable {
                line: 1,
                column: 1,
                message: "line 1 declares `shift_jis`, which the gardener does not read (it \
                          reads UTF-8, latin-1 and cp1252); save it as UTF-8 to have it checked"
                    .to_owned()
            }
        );
        assert_eq!(
            decode(b"# coding: cp1252\ns = '\x81'\n")
                .unwrap_err()
                .message,
            "line 1 declares `cp1252` but the file has bytes it does not define"
        );
    }
}
