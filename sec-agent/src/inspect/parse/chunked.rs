//! Chunked transfer coding (RFC 9112 section 7.1), decoded incrementally.

/// A chunk size line or trailer line longer than this is refused.
const MAX_LINE: usize = 4096;

/// Malformed chunked coding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkedError;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum State {
    #[default]
    Size,
    Data(u64),
    DataEnd,
    Trailers,
}

/// Decoder state between calls.
#[derive(Debug, Default)]
pub struct Chunked {
    state: State,
}

impl Chunked {
    /// Decodes from the front of `data`, passing chunk data to `sink`. Returns the bytes
    /// used and whether the body ended; unused bytes (an incomplete line) must be given
    /// again with what follows.
    pub fn feed(
        &mut self,
        data: &[u8],
        sink: &mut dyn FnMut(&[u8]),
    ) -> Result<(usize, bool), ChunkedError> {
        let mut pos = 0;
        loop {
            let rest = &data[pos..];
            match self.state {
                State::Size => match httparse::parse_chunk_size(rest) {
                    Ok(httparse::Status::Complete((used, 0))) => {
                        pos += used;
                        self.state = State::Trailers;
                    }
                    Ok(httparse::Status::Complete((used, size))) => {
                        pos += used;
                        self.state = State::Data(size);
                    }
                    Ok(httparse::Status::Partial) if rest.len() > MAX_LINE => {
                        return Err(ChunkedError);
                    }
                    Ok(httparse::Status::Partial) => return Ok((pos, false)),
                    Err(_) => return Err(ChunkedError),
                },
                State::Data(remaining) => {
                    let take = remaining.min(rest.len() as u64) as usize;
                    sink(&rest[..take]);
                    pos += take;
                    if take as u64 == remaining {
                        self.state = State::DataEnd;
                    } else {
                        self.state = State::Data(remaining - take as u64);
                        return Ok((pos, false));
                    }
                }
                State::DataEnd => {
                    if rest.len() < 2 {
                        return Ok((pos, false));
                    }
                    if &rest[..2] != b"\r\n" {
                        return Err(ChunkedError);
                    }
                    pos += 2;
                    self.state = State::Size;
                }
                State::Trailers => match rest.iter().position(|&b| b == b'\n') {
                    None if rest.len() > MAX_LINE => return Err(ChunkedError),
                    None => return Ok((pos, false)),
                    Some(nl) => {
                        pos += nl + 1;
                        if rest[..nl].trim_ascii().is_empty() {
                            return Ok((pos, true));
                        }
                    }
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_in_pieces(input: &[u8], piece: usize) -> Result<(Vec<u8>, usize), ChunkedError> {
        let mut c = Chunked::default();
        let mut out = Vec::new();
        let mut pending: Vec<u8> = Vec::new();
        let mut consumed_total = 0;
        for chunk in input.chunks(piece) {
            pending.extend_from_slice(chunk);
            let (used, done) = c.feed(&pending, &mut |b| out.extend_from_slice(b))?;
            consumed_total += used;
            pending.drain(..used);
            if done {
                return Ok((out, consumed_total));
            }
        }
        Err(ChunkedError)
    }

    #[test]
    fn decodes_whole_and_byte_by_byte() {
        let body: &[u8] =
            b"4\r\nWiki\r\n5;ext=1\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX-T: 1\r\n\r\nNEXT";
        for piece in [body.len(), 1, 3, 7] {
            let (out, used) = decode_in_pieces(body, piece).unwrap();
            assert_eq!(out, b"Wikipedia in\r\n\r\nchunks.", "piece {piece}");
            assert_eq!(&body[used..], b"NEXT", "piece {piece}");
        }
    }

    #[test]
    fn malformed_chunks_are_errors() {
        assert!(decode_in_pieces(b"zz\r\nab\r\n0\r\n\r\n", 100).is_err());
        assert!(decode_in_pieces(b"2\r\nabXX0\r\n\r\n", 100).is_err());
        let long = vec![b'1'; MAX_LINE + 10];
        assert!(decode_in_pieces(&long, 100).is_err());
    }
}
