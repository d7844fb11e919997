//! From the source's bytes to JSON text: gzip detected by its magic bytes (any number of
//! members) and inflated on a second thread, so that inflating and splitting overlap.

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
pub(super) fn read_ahead<R: Read + Send, T>(mut input: R, f: impl FnOnce(&mut dyn Read) -> T) -> T {
    let (full_tx, full_rx) = sync_channel::<io::Result<Vec<u8>>>(AHEAD);
    let (empty_tx, empty_rx) = sync_channel::<Vec<u8>>(AHEAD + 2);
    std::thread::scope(|scope| {
        scope.spawn(move || loop {
            let mut chunk = empty_rx.try_recv().unwrap_or_default();
            chunk.resize(READ_SIZE, 0);
            let mut n = 0;
            let mut error = None;
            while n < READ_SIZE {
                match input.read(&mut chunk[n..]) {
                    Ok(0) => break,
                    Ok(k) => n += k,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        error = Some(e);
                        break;
                    }
                }
            }
            chunk.truncate(n);
            // The bytes before an error or the end go first; then the error, or an empty
            // chunk for the end.
            if n > 0 && full_tx.send(Ok(chunk)).is_err() {
                return;
            }
            if let Some(e) = error {
                let _ = full_tx.send(Err(e));
                return;
            }
            if n < READ_SIZE {
                let _ = full_tx.send(Ok(Vec::new()));
                return;
            }
        });
        let mut reader = ChannelReader {
            full: full_rx,
            empty: empty_tx,
            chunk: Vec::new(),
            pos: 0,
            done: false,
        };
        f(&mut reader)
        // `reader` is dropped here, before the scope joins the producer: a producer blocked
        // on a full channel then sees it closed and ends.
    })
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
