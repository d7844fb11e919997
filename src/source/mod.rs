//! Where an object's bytes come from, behind one small trait: S3 ([`S3Store`]), or memory
//! ([`MemoryStore`], for tests and embedding).
//!
//! [`ObjectStore::open`] returns the body as a blocking [`std::io::Read`] (to be used on a
//! blocking thread, as the pipeline does): bytes are pulled as the reader consumes them,
//! never buffered whole.

use std::future::Future;
use std::io::Read;

mod memory;
mod object;
mod s3;

pub use memory::MemoryStore;
pub use object::{decode_key, KeyLayout, ObjectRef, S3Url};
pub use s3::S3Store;

/// A store of objects: S3, or a stand-in.
pub trait ObjectStore: Send + Sync {
    /// Starts reading `object`. Must be called inside the Tokio runtime; the body is read on a
    /// blocking thread.
    fn open(&self, object: &ObjectRef) -> impl Future<Output = Result<Opened, ObjectError>> + Send;

    /// One page of the objects under `request.prefix`, in key order.
    fn list(
        &self,
        request: &ListRequest,
    ) -> impl Future<Output = Result<Listing, ObjectError>> + Send;
}

/// What to list: the `ListObjectsV2` parameters that matter here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListRequest {
    pub bucket: String,
    pub prefix: String,
    /// Group keys by the part after the prefix up to this character (S3's `delimiter`): the
    /// groups come back as `prefixes`, not as objects.
    pub delimiter: Option<char>,
    /// Only keys after this one.
    pub start_after: Option<String>,
    /// The `next` of the previous page.
    pub continuation: Option<String>,
}

/// One page of a listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    /// Objects, in key order, with their sizes.
    pub objects: Vec<ObjectRef>,
    /// Common prefixes (with a delimiter), in order.
    pub prefixes: Vec<String>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<String>,
}

/// Why an object could not be read: decides whether trying again can help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    NotFound,
    AccessDenied,
    /// Throttling, 5xx, network: what the SDK's own retries did not overcome.
    Transient,
    Other,
}

/// An object that could not be opened or listed, with the reason the store gave.
#[derive(Debug, thiserror::Error)]
#[error("{object}: {reason}")]
pub struct ObjectError {
    pub object: String,
    pub failure: Failure,
    pub reason: String,
}

/// An opened object: its body and what S3 said about it.
pub struct Opened {
    pub body: Box<dyn Read + Send>,
    /// The object as read, with the key that worked and the size and version S3 returned.
    pub object: ObjectRef,
}
