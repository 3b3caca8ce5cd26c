//! Byte offsets to lines and columns.
//!
//! Tree-sitter gives byte offsets and zero-based rows; users want 1-based lines and columns that
//! count characters, as editors do. One small index per file converts between them and hands out
//! the text of a line (for messages and for fingerprints).

/// Start offsets of every line of one text.
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    /// Indexes `text`; the cost is one pass over its bytes.
    pub fn new(text: &[u8]) -> Self {
        let mut starts = Vec::with_capacity(text.len() / 32 + 1);
        starts.push(0);
        starts.extend(
            text.iter()
                .enumerate()
                .filter(|(_, b)| **b == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex { starts }
    }

    /// 1-based line and 1-based character column of a byte offset.
    pub fn position(&self, text: &[u8], offset: usize) -> (usize, usize) {
        let line = match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let start = self.starts[line];
        let end = offset.min(text.len()).max(start);
        let column = String::from_utf8_lossy(&text[start..end]).chars().count() + 1;
        (line + 1, column)
    }

    /// The text of 1-based `line`, without its line break; empty past the end.
    pub fn line_text<'a>(&self, text: &'a [u8], line: usize) -> &'a [u8] {
        let Some(&start) = self.starts.get(line.wrapping_sub(1)) else {
            return &[];
        };
        let end = self.starts.get(line).map_or(text.len(), |&e| e);
        let slice = &text[start..end];
        let slice = slice.strip_suffix(b"\n").unwrap_or(slice);
        slice.strip_suffix(b"\r").unwrap_or(slice)
    }
}

/// 1-based line and column of a byte offset, for one-off lookups (config errors).
pub fn position_of(text: &str, offset: usize) -> (usize, usize) {
    LineIndex::new(text.as_bytes()).position(text.as_bytes(), offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_and_count_characters() {
        let text = "ab\nçx = 1\n".as_bytes();
        let index = LineIndex::new(text);
        assert_eq!(index.position(text, 0), (1, 1));
        assert_eq!(index.position(text, 3), (2, 1));
        // 'ç' is two bytes, so byte 5 is the second character of line 2.
        assert_eq!(index.position(text, 5), (2, 2));
        assert_eq!(index.line_text(text, 2), "çx = 1".as_bytes());
        assert_eq!(index.line_text(text, 9), b"");
    }
}
