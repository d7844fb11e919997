//! The name of an object to read, in every spelling it arrives in: an S3 notification's
//! form-encoded key, an `s3://bucket/key` URL, a listing entry.

use std::fmt;

use percent_encoding::percent_decode_str;

/// An S3 object to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRef {
    pub bucket: String,
    pub key: String,
    pub version_id: Option<String>,
    /// Size as the notification gave it.
    pub size: Option<u64>,
    /// Another spelling of the key to try if `key` does not exist (see
    /// the trigger module: EventBridge keys whose encoding AWS does not document).
    pub alt_key: Option<String>,
}

impl ObjectRef {
    pub fn new(bucket: impl Into<String>, key: impl Into<String>) -> Self {
        ObjectRef {
            bucket: bucket.into(),
            key: key.into(),
            version_id: None,
            size: None,
            alt_key: None,
        }
    }

    /// `s3://bucket/key`: how findings name their log file. [`S3Url::parse`] reads it back.
    pub fn url(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }

    /// Why this object is not a CloudTrail log file to read, judged by its key and size.
    pub fn skip_reason(&self) -> Option<&'static str> {
        if self.key.ends_with('/') {
            Some("a folder marker, not a log file")
        } else if self.size == Some(0) {
            Some("empty (zero bytes)")
        } else if self.key.contains("/CloudTrail-Digest/") {
            Some("a CloudTrail digest file, not a log file")
        } else if self.key.contains("/CloudTrail-Insight/") {
            Some("a CloudTrail Insights file, not a log file")
        } else {
            None
        }
    }
}

/// `s3://bucket/key (version v, n bytes)`: how errors name an object.
impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)?;
        match (&self.version_id, self.size) {
            (Some(v), Some(n)) => write!(f, " (version {v}, {n} bytes)"),
            (Some(v), None) => write!(f, " (version {v})"),
            (None, Some(n)) => write!(f, " ({n} bytes)"),
            (None, None) => Ok(()),
        }
    }
}

/// An `s3://` URL as a user gives it: one object, or every object under a prefix (a URL that
/// ends in `/`, or names only the bucket).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum S3Url {
    Object(ObjectRef),
    Prefix { bucket: String, prefix: String },
}

impl S3Url {
    /// Parses `s3://BUCKET/KEY` or `s3://BUCKET/PREFIX/`; `None` when `url` is not one.
    pub fn parse(url: &str) -> Option<Self> {
        let rest = url.strip_prefix("s3://")?;
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return None;
        }
        Some(if key.is_empty() || key.ends_with('/') {
            S3Url::Prefix {
                bucket: bucket.to_owned(),
                prefix: key.to_owned(),
            }
        } else {
            S3Url::Object(ObjectRef::new(bucket, key))
        })
    }
}

/// Decodes an S3 event notification key: form-URL encoding, where `+` is a space and `%XX` a
/// byte (a literal `+` arrives as `%2B`). A key that does not decode to UTF-8 is kept as is.
pub fn decode_key(encoded: &str) -> String {
    let spaced = encoded.replace('+', " ");
    match percent_decode_str(&spaced).decode_utf8() {
        Ok(key) => key.into_owned(),
        Err(_) => encoded.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_decode_as_forms_do() {
        assert_eq!(decode_key("Happy%20Face.jpg"), "Happy Face.jpg");
        assert_eq!(decode_key("red+flower.jpg"), "red flower.jpg");
        assert_eq!(
            decode_key("c%2B%2B+notes%3A1.json.gz"),
            "c++ notes:1.json.gz"
        );
        assert_eq!(decode_key("caf%C3%A9/x"), "café/x");
        assert_eq!(decode_key("plain/key.json.gz"), "plain/key.json.gz");
        // Not UTF-8 once decoded: keep what was given.
        assert_eq!(decode_key("bad%FF"), "bad%FF");
    }

    #[test]
    fn what_is_not_a_log_file() {
        let base = "AWSLogs/111122223333/";
        let mut o = ObjectRef::new(
            "b",
            format!("{base}CloudTrail-Digest/us-east-1/2024/x.json.gz"),
        );
        assert!(o.skip_reason().unwrap().contains("digest"));
        o.key = format!("{base}CloudTrail-Insight/us-east-1/2024/x.json.gz");
        assert!(o.skip_reason().unwrap().contains("Insights"));
        o.key = format!("{base}CloudTrail/");
        assert!(o.skip_reason().unwrap().contains("folder"));
        o.key = format!("{base}CloudTrail/us-east-1/2024/01/01/x.json.gz");
        assert_eq!(o.skip_reason(), None);
        o.size = Some(0);
        assert!(o.skip_reason().unwrap().contains("zero"));
    }

    #[test]
    fn objects_are_named_with_version_and_size() {
        let mut o = ObjectRef::new("trail", "a b/c.json.gz");
        assert_eq!(o.to_string(), "s3://trail/a b/c.json.gz");
        o.version_id = Some("v1".into());
        o.size = Some(42);
        assert_eq!(
            o.to_string(),
            "s3://trail/a b/c.json.gz (version v1, 42 bytes)"
        );
    }

    #[test]
    fn s3_urls_read_back_what_url_writes() {
        let object = ObjectRef::new("trail", "AWSLogs/1/x.json.gz");
        assert_eq!(S3Url::parse(&object.url()), Some(S3Url::Object(object)));
        assert_eq!(
            S3Url::parse("s3://trail/AWSLogs/"),
            Some(S3Url::Prefix {
                bucket: "trail".into(),
                prefix: "AWSLogs/".into()
            })
        );
        assert_eq!(
            S3Url::parse("s3://trail"),
            Some(S3Url::Prefix {
                bucket: "trail".into(),
                prefix: String::new()
            })
        );
        assert_eq!(S3Url::parse("s3:///key"), None);
        assert_eq!(S3Url::parse("/local/file"), None);
    }
}
