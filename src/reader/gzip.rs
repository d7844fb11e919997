//! Gzip decoding that hands over every byte inflated before a fault.
//!
//! `flate2`'s readers return an error from a `read` call that hits corrupt data and drop the
//! bytes that call had already inflated: up to a whole buffer of records that lay before the
//! fault, whose findings a detector must still report. This reader drives
//! [`flate2::Decompress`] (in gzip mode: header, CRC-32 and length are checked by zlib) itself,
//! returns what was inflated first, and the error on the next call. Members follow one another
//! (`cat a.gz b.gz`), as gzip allows.

use std::io::{self, BufRead, Read};

use flate2::{Decompress, FlushDecompress, Status};

/// Base-2 logarithm of the window: the largest gzip uses.
const WINDOW_BITS: u8 = 15;

/// Inflates gzip members from `input` until it ends.
pub struct MultiGz<R> {
    input: R,
    inflate: Decompress,
    /// Some bytes of the current member were consumed and its end was not reached.
    in_member: bool,
    /// The error to return once the bytes inflated before it are read.
    pending: Option<io::Error>,
}

impl<R: BufRead> MultiGz<R> {
    pub fn new(input: R) -> Self {
        MultiGz {
            input,
            inflate: Decompress::new_gzip(WINDOW_BITS),
            in_member: false,
            pending: None,
        }
    }
}

impl<R: BufRead> Read for MultiGz<R> {
    fn read(&mut self, dst: &mut [u8]) -> io::Result<usize> {
        if let Some(e) = self.pending.take() {
            return Err(e);
        }
        if dst.is_empty() {
            return Ok(0);
        }
        loop {
            let input = self.input.fill_buf()?;
            if input.is_empty() {
                return if self.in_member {
                    Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "gzip stream ends before its member does (truncated?)",
                    ))
                } else {
                    Ok(0)
                };
            }
            let (in_before, out_before) = (self.inflate.total_in(), self.inflate.total_out());
            let status = self.inflate.decompress(input, dst, FlushDecompress::None);
            let consumed = (self.inflate.total_in() - in_before) as usize;
            let written = (self.inflate.total_out() - out_before) as usize;
            self.input.consume(consumed);
            self.in_member |= consumed > 0;
            match status {
                Ok(Status::StreamEnd) => {
                    // The member's trailer checked out; another member may follow.
                    self.inflate = Decompress::new_gzip(WINDOW_BITS);
                    self.in_member = false;
                    if written > 0 {
                        return Ok(written);
                    }
                }
                Ok(_) if written == 0 => {
                    if consumed == 0 {
                        // No progress with input at hand: zlib wants more than the buffer
                        // holds, which a `BufRead` cannot give. Should not happen with a
                        // buffer larger than a gzip header; stop rather than spin.
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            "gzip decoder made no progress",
                        ));
                    }
                }
                Ok(_) => return Ok(written),
                Err(e) => {
                    let error = io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("corrupt gzip data: {e}"),
                    );
                    if written > 0 {
                        self.pending = Some(error);
                        return Ok(written);
                    }
                    return Err(error);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use flate2::Compression;
    use std::io::Write;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    /// Reads to the end or the first error, `chunk` bytes at a time.
    fn read_all(bytes: &[u8], chunk: usize) -> (Vec<u8>, Option<io::Error>) {
        let mut r = MultiGz::new(io::BufReader::with_capacity(64, bytes));
        let mut out = Vec::new();
        let mut buf = vec![0; chunk];
        loop {
            match r.read(&mut buf) {
                Ok(0) => return (out, None),
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) => return (out, Some(e)),
            }
        }
    }

    #[test]
    fn members_follow_one_another() {
        let mut bytes = gz(b"first ");
        bytes.extend(gz(b""));
        bytes.extend(gz(b"second"));
        for chunk in [1, 7, 4096] {
            let (out, err) = read_all(&bytes, chunk);
            assert!(err.is_none(), "{err:?}");
            assert_eq!(out, b"first second");
        }
    }

    #[test]
    fn truncation_is_an_error_after_the_bytes_before_it() {
        let data: Vec<u8> = (0..100_000u32).flat_map(|i| i.to_le_bytes()).collect();
        let bytes = gz(&data);
        let (out, err) = read_all(&bytes[..bytes.len() - 4], 1 << 20);
        assert_eq!(err.unwrap().kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(out, data, "only the length field was cut");
    }

    #[test]
    fn corruption_keeps_every_byte_inflated_before_it() {
        let data: Vec<u8> = (0..50_000u32)
            .flat_map(|i| format!("{{\"n\":{i}}}\n").into_bytes())
            .collect();
        let bytes = gz(&data);
        // Whatever the read size, the bytes handed over before the error are the same.
        let mut corrupt = bytes.clone();
        corrupt[bytes.len() / 2] ^= 0x55;
        let (one, err) = read_all(&corrupt, 1);
        assert!(err.is_some());
        let intact = one.iter().zip(&data).take_while(|(a, b)| a == b).count();
        assert!(intact > data.len() / 4, "{intact} bytes");
        for chunk in [3, 4096, 1 << 20] {
            let (out, err) = read_all(&corrupt, chunk);
            assert!(err.is_some(), "chunk {chunk}");
            assert!(
                out == one,
                "chunk {chunk}: {} bytes, not {}",
                out.len(),
                one.len()
            );
        }
        // A bad checksum is reported after all the data.
        let mut bad_crc = bytes.clone();
        let at = bad_crc.len() - 8;
        bad_crc[at] ^= 1;
        let (out, err) = read_all(&bad_crc, 1 << 20);
        assert!(err.is_some());
        assert_eq!(out, data);
    }

    #[test]
    fn garbage_after_a_member_is_an_error() {
        let mut bytes = gz(b"data");
        bytes.extend_from_slice(b"not gzip");
        let (out, err) = read_all(&bytes, 4096);
        assert_eq!(out, b"data");
        assert_eq!(err.unwrap().kind(), io::ErrorKind::InvalidData);
    }
}
