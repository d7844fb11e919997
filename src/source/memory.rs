//! Objects kept in memory: the store of unit tests (no emulator needed to exercise skips,
//! read errors and partial batch failures) and of programs that embed the detector.

use std::collections::BTreeMap;
use std::io::Cursor;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use super::{Failure, ListRequest, Listing, ObjectError, ObjectRef, ObjectStore, Opened};

/// Objects by bucket and key, and failures to answer instead of some of them.
#[derive(Debug)]
pub struct MemoryStore {
    objects: Mutex<BTreeMap<(String, String), Vec<u8>>>,
    failures: Mutex<BTreeMap<(String, String), Failure>>,
    /// Page size of listings, at least 1.
    page: usize,
    lists: AtomicU64,
    opens: AtomicU64,
}

/// Listings page as S3's do: at most 1,000 entries each.
impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore::with_page_size(1000)
    }
}

impl MemoryStore {
    pub fn new() -> Self {
        MemoryStore::default()
    }

    /// Listings of at most `page` entries (at least 1), to exercise paging.
    pub fn with_page_size(page: usize) -> Self {
        MemoryStore {
            objects: Mutex::default(),
            failures: Mutex::default(),
            page: page.max(1),
            lists: AtomicU64::default(),
            opens: AtomicU64::default(),
        }
    }

    pub fn put(&self, bucket: &str, key: &str, body: impl Into<Vec<u8>>) {
        lock(&self.objects).insert((bucket.to_owned(), key.to_owned()), body.into());
    }

    /// Requests so far: (LIST, GET), as S3 would bill them.
    pub fn requests(&self) -> (u64, u64) {
        (
            self.lists.load(Ordering::Relaxed),
            self.opens.load(Ordering::Relaxed),
        )
    }

    /// Opening `bucket/key` fails with `failure` from now on.
    pub fn fail(&self, bucket: &str, key: &str, failure: Failure) {
        lock(&self.failures).insert((bucket.to_owned(), key.to_owned()), failure);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl ObjectStore for MemoryStore {
    async fn open(&self, object: &ObjectRef) -> Result<Opened, ObjectError> {
        self.opens.fetch_add(1, Ordering::Relaxed);
        let name = (object.bucket.clone(), object.key.clone());
        let error = |failure, reason: &str| ObjectError {
            object: object.to_string(),
            failure,
            reason: reason.to_owned(),
        };
        if let Some(&failure) = lock(&self.failures).get(&name) {
            return Err(error(failure, &format!("GetObject failed: {failure:?}")));
        }
        let mut opened = object.clone();
        let mut body = lock(&self.objects).get(&name).cloned();
        if body.is_none() {
            // The other spelling of the key, as the S3 adapter tries it; like the adapter, the
            // object opened is named by the key that was found.
            if let Some(alt) = &object.alt_key {
                body = lock(&self.objects)
                    .get(&(object.bucket.clone(), alt.clone()))
                    .cloned();
                if body.is_some() {
                    opened.key = alt.clone();
                }
            }
        }
        let body = body.ok_or_else(|| error(Failure::NotFound, "GetObject failed: NoSuchKey"))?;
        opened.size = Some(body.len() as u64);
        opened.alt_key = None;
        Ok(Opened {
            body: Box::new(Cursor::new(body)),
            object: opened,
        })
    }

    async fn list(&self, request: &ListRequest) -> Result<Listing, ObjectError> {
        self.lists.fetch_add(1, Ordering::Relaxed);
        let objects = lock(&self.objects);
        let after = request
            .continuation
            .clone()
            .or(request.start_after.clone())
            .unwrap_or_default();
        let mut listing = Listing::default();
        let mut last = None;
        for ((bucket, key), body) in objects.iter() {
            if bucket != &request.bucket || !key.starts_with(&request.prefix) || *key <= after {
                continue;
            }
            if listing.objects.len() + listing.prefixes.len() == self.page {
                listing.next = last;
                break;
            }
            let rest = &key[request.prefix.len()..];
            match request.delimiter.and_then(|d| rest.find(d).map(|i| (d, i))) {
                Some((d, i)) => {
                    let group = format!("{}{}{d}", request.prefix, &rest[..i]);
                    if listing.prefixes.last() != Some(&group) {
                        listing.prefixes.push(group.clone());
                    }
                    // The whole group is one entry: the next page starts after it.
                    last = Some(format!("{group}\u{10FFFF}"));
                }
                None => {
                    let mut object = ObjectRef::new(bucket, key);
                    object.size = Some(body.len() as u64);
                    listing.objects.push(object);
                    last = Some(key.clone());
                }
            }
        }
        Ok(listing)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    /// A default store pages as S3 does; a page size of 0 would list nothing at all.
    #[tokio::test]
    async fn a_default_store_lists_its_objects() {
        let store = MemoryStore::default();
        store.put("trail", "AWSLogs/a.json", b"{}".to_vec());
        store.put("trail", "AWSLogs/b.json", b"{}".to_vec());
        store.put("other", "AWSLogs/c.json", b"{}".to_vec());
        let request = ListRequest {
            bucket: "trail".to_owned(),
            prefix: "AWSLogs/".to_owned(),
            ..ListRequest::default()
        };
        let listing = store.list(&request).await.unwrap();
        let keys: Vec<&str> = listing.objects.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(keys, ["AWSLogs/a.json", "AWSLogs/b.json"]);
        assert_eq!(listing.next, None);
    }

    /// As the S3 adapter does: the other spelling of a key is tried when the first is missing,
    /// and the object opened is named by the key that was found.
    #[tokio::test]
    async fn the_other_spelling_is_tried_and_named() {
        let store = MemoryStore::new();
        store.put("trail", "AWSLogs/a b.json", b"{}".to_vec());
        let mut object = ObjectRef::new("trail", "AWSLogs/a+b.json");
        object.alt_key = Some("AWSLogs/a b.json".to_owned());

        let mut opened = store.open(&object).await.unwrap();
        assert_eq!(opened.object.key, "AWSLogs/a b.json");
        assert_eq!(opened.object.alt_key, None);
        let mut body = String::new();
        opened.body.read_to_string(&mut body).unwrap();
        assert_eq!(body, "{}");

        object.alt_key = Some("AWSLogs/neither.json".to_owned());
        let error = store.open(&object).await.err().unwrap();
        assert_eq!(error.failure, Failure::NotFound);
        assert_eq!(error.object, "s3://trail/AWSLogs/a+b.json");
    }
}
