//! Reading RESP2 replies: a resumable scanner that finds where a reply ends, and a parser for
//! a reply known to be complete.
//!
//! Splitting the two keeps both simple and keeps reading linear: bytes arrive in chunks, and
//! the scanner remembers how far it got (including where it is inside nested arrays), so a
//! large reply that trickles in is scanned once, not once per chunk. Bulk payloads are skipped
//! by their length, never looked at. Only once a reply is known to be whole does the parser
//! build its [`Value`], with no checks for running out of bytes.
//!
//! Error replies (`-CODE text`) are handed to redis-rs's own parser, so they become exactly the
//! `ServerError` values redis-rs would make (that type has no public constructor); errors are
//! rare, so this costs nothing on the hot path.

use redis::Value;

/// How deep arrays may nest in a reply (Redis itself never goes near this).
const MAX_DEPTH: usize = 256;

/// The reply stream is not RESP2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProtocolError(pub(crate) String);

/// Finds the end of one reply in a growing buffer, resuming where it stopped.
#[derive(Debug, Default)]
pub(crate) struct Scanner {
    /// Where the scan stands, from the start of the reply.
    pos: usize,
    /// Elements still to come in each array opened so far.
    open: Vec<usize>,
}

impl Scanner {
    /// Scans `buf` (the reply starts at 0; more bytes may have been appended since the last
    /// call). `Some(len)`: the reply is `buf[..len]`, and the scanner is ready for the next.
    pub(crate) fn scan(&mut self, buf: &[u8]) -> Result<Option<usize>, ProtocolError> {
        loop {
            let Some(end) = self.element(buf)? else {
                return Ok(None);
            };
            self.pos = end;
            // One element done: close every array it completed.
            loop {
                match self.open.last_mut() {
                    None => {
                        let len = self.pos;
                        self.pos = 0;
                        return Ok(Some(len));
                    }
                    Some(0) => {
                        self.open.pop();
                    }
                    Some(n) => {
                        *n -= 1;
                        if *n == 0 {
                            self.open.pop();
                            continue;
                        }
                        break;
                    }
                }
            }
        }
    }

    /// Scans the element at `self.pos`: its end, or `None` if it is not all there. An array
    /// header is "done" once read: it opens a level and its elements follow.
    fn element(&mut self, buf: &[u8]) -> Result<Option<usize>, ProtocolError> {
        let Some(line_end) = find_crlf(buf, self.pos + 1) else {
            return Ok(None);
        };
        let Some(&kind) = buf.get(self.pos) else {
            return Ok(None);
        };
        let line = &buf[self.pos + 1..line_end];
        let after = line_end + 2;
        match kind {
            b'+' | b'-' | b':' => Ok(Some(after)),
            b'$' => match number(line)? {
                n if n < 0 => Ok(Some(after)),
                n => {
                    let end = after + n as usize + 2;
                    Ok((buf.len() >= end).then_some(end))
                }
            },
            b'*' => {
                let n = number(line)?;
                if n > 0 {
                    if self.open.len() >= MAX_DEPTH {
                        return Err(ProtocolError("arrays nested too deep".into()));
                    }
                    self.open.push(n as usize);
                    // The header itself counts as nothing: its elements come next.
                    self.pos = after;
                    return self.element(buf);
                }
                // An empty or nil array is a whole element.
                Ok(Some(after))
            }
            other => Err(ProtocolError(format!(
                "unexpected reply type byte {other:#04x}"
            ))),
        }
    }
}

/// Parses one whole reply (as delimited by [`Scanner::scan`]).
pub(crate) fn parse(buf: &[u8]) -> Result<Value, ProtocolError> {
    let (value, used) = parse_at(buf, 0, 0)?;
    if used != buf.len() {
        return Err(ProtocolError("trailing bytes after a reply".into()));
    }
    Ok(value)
}

fn parse_at(buf: &[u8], at: usize, depth: usize) -> Result<(Value, usize), ProtocolError> {
    let truncated = || ProtocolError("a reply ended early".into());
    let line_end = find_crlf(buf, at + 1).ok_or_else(truncated)?;
    let line = &buf[at + 1..line_end];
    let after = line_end + 2;
    match buf.get(at).copied().ok_or_else(truncated)? {
        b'+' => {
            let value = if line == b"OK" {
                Value::Okay
            } else {
                Value::SimpleString(
                    std::str::from_utf8(line)
                        .map_err(|_| ProtocolError("a status line is not UTF-8".into()))?
                        .to_string(),
                )
            };
            Ok((value, after))
        }
        b':' => Ok((Value::Int(number(line)?), after)),
        b'-' => {
            let value = redis::parse_redis_value(&buf[at..after])
                .map_err(|e| ProtocolError(format!("bad error reply: {e}")))?;
            Ok((value, after))
        }
        b'$' => match number(line)? {
            n if n < 0 => Ok((Value::Nil, after)),
            n => {
                let end = after + n as usize;
                let data = buf.get(after..end).ok_or_else(truncated)?.to_vec();
                if buf.get(end..end + 2) != Some(b"\r\n") {
                    return Err(ProtocolError(
                        "a bulk string is not followed by CRLF".into(),
                    ));
                }
                Ok((Value::BulkString(data), end + 2))
            }
        },
        b'*' => match number(line)? {
            n if n < 0 => Ok((Value::Nil, after)),
            n => {
                if depth >= MAX_DEPTH {
                    return Err(ProtocolError("arrays nested too deep".into()));
                }
                let mut items = Vec::with_capacity((n as usize).min(1024));
                let mut pos = after;
                for _ in 0..n {
                    let (item, next) = parse_at(buf, pos, depth + 1)?;
                    items.push(item);
                    pos = next;
                }
                Ok((Value::Array(items), pos))
            }
        },
        other => Err(ProtocolError(format!(
            "unexpected reply type byte {other:#04x}"
        ))),
    }
}

/// The index of the `\r\n` at or after `from`.
fn find_crlf(buf: &[u8], mut from: usize) -> Option<usize> {
    loop {
        let at = from + buf.get(from..)?.iter().position(|b| *b == b'\r')?;
        match buf.get(at + 1) {
            Some(b'\n') => return Some(at),
            None => return None,
            // A lone CR inside a line: keep looking after it.
            Some(_) => from = at + 1,
        }
    }
}

/// A length or integer line.
fn number(line: &[u8]) -> Result<i64, ProtocolError> {
    std::str::from_utf8(line)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| {
            ProtocolError(format!(
                "expected a number, got {:?}",
                String::from_utf8_lossy(line)
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Scans and parses every reply in `bytes`, fed `chunk` bytes at a time.
    fn read_all(bytes: &[u8], chunk: usize) -> Vec<Value> {
        let mut scanner = Scanner::default();
        let mut buf: Vec<u8> = Vec::new();
        let mut out = Vec::new();
        for piece in bytes.chunks(chunk.max(1)) {
            buf.extend_from_slice(piece);
            while let Some(len) = scanner.scan(&buf).unwrap() {
                out.push(parse(&buf[..len]).unwrap());
                buf.drain(..len);
            }
        }
        assert!(buf.is_empty(), "left over: {buf:?}");
        out
    }

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Nil),
            Just(Value::Okay),
            any::<i64>().prop_map(Value::Int),
            proptest::collection::vec(any::<u8>(), 0..40).prop_map(Value::BulkString),
            "[a-zA-Z0-9 ]{0,20}"
                .prop_filter("not OK", |s| s != "OK")
                .prop_map(Value::SimpleString),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            proptest::collection::vec(inner, 0..8).prop_map(Value::Array)
        })
    }

    fn encode(v: &Value, out: &mut Vec<u8>) {
        match v {
            Value::Nil => out.extend_from_slice(b"$-1\r\n"),
            Value::Okay => out.extend_from_slice(b"+OK\r\n"),
            Value::Int(n) => out.extend_from_slice(format!(":{n}\r\n").as_bytes()),
            Value::SimpleString(s) => out.extend_from_slice(format!("+{s}\r\n").as_bytes()),
            Value::BulkString(b) => {
                out.extend_from_slice(format!("${}\r\n", b.len()).as_bytes());
                out.extend_from_slice(b);
                out.extend_from_slice(b"\r\n");
            }
            Value::Array(items) => {
                out.extend_from_slice(format!("*{}\r\n", items.len()).as_bytes());
                items.iter().for_each(|i| encode(i, out));
            }
            other => panic!("not generated: {other:?}"),
        }
    }

    proptest! {
        #[test]
        fn any_reply_stream_reads_back_the_same_in_any_chunking(
            values in proptest::collection::vec(value(), 1..6),
            chunk in 1usize..64,
        ) {
            let mut bytes = Vec::new();
            values.iter().for_each(|v| encode(v, &mut bytes));
            prop_assert_eq!(&read_all(&bytes, chunk), &values);
            // And as redis-rs's own parser reads it.
            let mut scanner = Scanner::default();
            let len = scanner.scan(&bytes).unwrap().unwrap();
            prop_assert_eq!(parse(&bytes[..len]).unwrap(), redis::parse_redis_value(&bytes[..len]).unwrap());
        }
    }

    #[test]
    fn error_replies_are_redis_rs_server_errors() {
        let v = read_all(b"-WRONGTYPE Operation against a key\r\n", 3);
        match &v[0] {
            Value::ServerError(e) => {
                assert_eq!(e.code(), "WRONGTYPE");
                assert_eq!(e.details(), Some("Operation against a key"));
            }
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn nil_and_empty_arrays_and_nested_ones_end_where_they_should() {
        let bytes = b"*-1\r\n*0\r\n*2\r\n*1\r\n:1\r\n*0\r\n$0\r\n\r\n";
        assert_eq!(
            read_all(bytes, 1),
            vec![
                Value::Nil,
                Value::Array(vec![]),
                Value::Array(vec![
                    Value::Array(vec![Value::Int(1)]),
                    Value::Array(vec![])
                ]),
                Value::BulkString(vec![]),
            ]
        );
    }

    #[test]
    fn a_stream_that_is_not_resp2_is_a_protocol_error() {
        let mut s = Scanner::default();
        assert!(
            s.scan(b"%1\r\n+a\r\n+b\r\n").is_err(),
            "RESP3 maps are not spoken"
        );
        let mut s = Scanner::default();
        assert!(s.scan(b"$x\r\n").is_err());
    }
}
