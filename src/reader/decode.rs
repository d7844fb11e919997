//! From the source's bytes to JSON text: gzip detected by its magic bytes (any number of
//! members) and, past its first chunk, inflated on a second thread, so that inflating and
//! splitting overlap.

use std::io::{self, BufReader, Cursor, Read};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use super::gzip::MultiGz;
use super::READ_SIZE;

/// Compressed bytes read at a time from the source.
const GZIP_INPUT: usize = 64 * 1024;

/// The input with the bytes read to detect its format put back in front.
type Sniffed<R> = io::Chain<Cursor<Vec<u8>>, R>;

/// The input, inflated if it starts with the gzip magic bytes.
pub(super) enum Decoded<R: Read> {
    Gzip(Box<MultiGz<BufReader<Sniffed<R>>>>),
    Plain(Sniffed<R>),
}

impl<R: Read> Decoded<R> {
    pub(super) fn new(mut input: R) -> io::Result<Self> {
        let mut magic = [0u8; 2];
        let mut n = 0;
        while n < magic.len() {
            match input.read(&mut magic[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let gzip = magic[..n] == [0x1f, 0x8b];
        let input = Cursor::new(magic[..n].to_vec()).chain(input);
        Ok(if gzip {
            Decoded::Gzip(Box::new(MultiGz::new(BufReader::with_capacity(
                GZIP_INPUT, input,
            ))))
        } else {
            Decoded::Plain(input)
        })
    }
}

/// Chunks inflated ahead of the splitter: enough to keep both threads busy, few enough that
/// memory stays flat (`AHEAD + 2` buffers of [`READ_SIZE`]).
const AHEAD: usize = 4;

/// Runs `f` with a reader of `input` that is filled by a second thread, so that producing the
/// bytes (inflating) and consuming them overlap. Buffers go back to the producer for reuse.
/// When `f` returns early the producer stops at its next chunk.
///
/// The first chunk is read on this thread, and an input that ends within it gets no second
/// thread: most CloudTrail files inflate to less than [`READ_SIZE`], and for them starting a
/// thread and handing chunks across costs more than the overlap saves (a scan of many small
/// objects at once is already parallel across objects).
pub(super) fn read_ahead<R: Read + Send, T>(mut input: R, f: impl FnOnce(&mut dyn Read) -> T) -> T {
    let (full_tx, full_rx) = sync_channel::<io::Result<Vec<u8>>>(AHEAD);
    let (empty_tx, empty_rx) = sync_channel::<Vec<u8>>(AHEAD + 2);
    let mut first = Vec::new();
    let first_end = fill(&mut input, &mut first);
    let mut reader = ChannelReader {
        full: full_rx,
        empty: empty_tx,
        chunk: first,
        pos: 0,
        done: false,
    };
    if let Some(end) = first_end {
        // The whole input is in the first chunk: the end (or the error) is all that follows.
        let _ = full_tx.send(end);
        return f(&mut reader);
    }
    std::thread::scope(|scope| {
        // Moved in, so that it is dropped before the scope joins the producer (below).
        let mut reader = reader;
        scope.spawn(move || loop {
            let mut chunk = empty_rx.try_recv().unwrap_or_default();
            let end = fill(&mut input, &mut chunk);
            // The bytes before an error or the end go first; then the error, or an empty
            // chunk for the end.
            if !chunk.is_empty() && full_tx.send(Ok(chunk)).is_err() {
                return;
            }
            if let Some(end) = end {
                let _ = full_tx.send(end);
                return;
            }
        });
        f(&mut reader)
        // `reader` is dropped here, before the scope joins the producer: a producer blocked
        // on a full channel then sees it closed and ends.
    })
}

/// Replaces `chunk` with the next [`READ_SIZE`] bytes of `input` (fewer at its end or before
/// an error). Returns what comes after them when that is not more bytes: `Ok` of an empty chunk
/// for the end, or the error. The buffer grows with what is read (`read_to_end` initialises
/// only what it reads into), so a small input costs a small buffer.
fn fill(input: &mut impl Read, chunk: &mut Vec<u8>) -> Option<io::Result<Vec<u8>>> {
    chunk.clear();
    match input.take(READ_SIZE as u64).read_to_end(chunk) {
        Ok(n) if n < READ_SIZE => Some(Ok(Vec::new())),
        Ok(_) => None,
        Err(e) => Some(Err(e)),
    }
}

/// The consuming end of [`read_ahead`].
struct ChannelReader {
    full: Receiver<io::Result<Vec<u8>>>,
    empty: SyncSender<Vec<u8>>,
    chunk: Vec<u8>,
    pos: usize,
    done: bool,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.chunk.len() {
            if self.done {
                return Ok(0);
            }
            match self.full.recv() {
                Ok(Ok(chunk)) if chunk.is_empty() => self.done = true,
                Ok(Ok(chunk)) => {
                    let used = std::mem::replace(&mut self.chunk, chunk);
                    let _ = self.empty.try_send(used);
                    self.pos = 0;
                }
                Ok(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                Err(_) => {
                    self.done = true;
                    return Err(io::Error::other("the inflating thread ended early"));
                }
            }
        }
        let n = buf.len().min(self.chunk.len() - self.pos);
        buf[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fails every read: what comes after the good bytes of a cut stream.
    struct Broken;

    impl Read for Broken {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::other("cut"))
        }
    }

    fn bytes(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 % 251) as u8).collect()
    }

    /// What `read_ahead` hands on: every byte read, then the error if there is one.
    fn through_read_ahead(input: impl Read + Send) -> (Vec<u8>, Option<String>) {
        read_ahead(input, |reader| {
            let mut out = Vec::new();
            let mut buf = [0; 10_000];
            loop {
                match reader.read(&mut buf) {
                    Ok(0) => return (out, None),
                    Ok(n) => out.extend_from_slice(&buf[..n]),
                    Err(e) => return (out, Some(e.to_string())),
                }
            }
        })
    }

    /// Around the size where the second thread starts: inputs read on this thread alone and
    /// inputs read ahead give the same bytes, and an error after them.
    #[test]
    fn every_byte_then_the_end_or_the_error_whether_read_here_or_ahead() {
        for len in [
            0,
            1,
            READ_SIZE - 1,
            READ_SIZE,
            READ_SIZE + 1,
            5 * READ_SIZE + 3,
        ] {
            let data = bytes(len);
            assert_eq!(
                through_read_ahead(io::Cursor::new(data.clone())),
                (data.clone(), None),
                "{len} bytes"
            );
            assert_eq!(
                through_read_ahead(io::Cursor::new(data.clone()).chain(Broken)),
                (data, Some("cut".to_string())),
                "{len} bytes, then an error"
            );
        }
    }

    /// A consumer that stops early does not wait for the rest of a large input.
    #[test]
    fn an_early_return_stops_the_producer() {
        let endless = io::repeat(b'x');
        let first = read_ahead(endless, |reader| {
            let mut buf = [0; 100];
            reader.read_exact(&mut buf).map(|_| buf[0])
        });
        assert_eq!(first.unwrap(), b'x');
    }
}
