//! The name of an object to read, in every spelling it arrives in: an S3 notification's
//! form-encoded key, an `s3://bucket/key` URL, a listing entry.

use std::borrow::Cow;
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

    /// Why this object is not a CloudTrail log file to read, judged by its key and size, with
    /// the key layout of `TRAIL_KEY_LAYOUT` (the configuration's, in `Settings`).
    ///
    /// With [`KeyLayout::Aws`], a key whose layout (`…AWSLogs/[o-ORG/]ACCOUNT/FOLDER/…`, as AWS
    /// services write a log-archive bucket) puts it in another service's folder than
    /// `CloudTrail/` is skipped: AWS Config's history, snapshots and
    /// `ConfigWritabilityCheckFile`, load balancer or flow logs. A key under `CloudTrail/`, or
    /// one the layout says nothing about, is read: if it is not CloudTrail, it fails as such.
    pub fn skip_reason_in(&self, layout: KeyLayout) -> Option<Cow<'static, str>> {
        if self.key.ends_with('/') {
            Some("a folder marker, not a log file".into())
        } else if self.size == Some(0) {
            Some("empty (zero bytes)".into())
        } else if self.key.contains("/CloudTrail-Digest/") {
            Some("a CloudTrail digest file, not a log file".into())
        } else if self.key.contains("/CloudTrail-Insight/") {
            Some("a CloudTrail Insights file, not a log file".into())
        } else if layout == KeyLayout::Aws {
            other_service(&self.key)
        } else {
            None
        }
    }
}

/// How the keys of the trail bucket are laid out (`TRAIL_KEY_LAYOUT`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum KeyLayout {
    /// `aws`: the layout AWS services write, `[PREFIX/]AWSLogs/[o-ORG/]ACCOUNT/SERVICE/…`; a
    /// file in another service's folder than `CloudTrail/` is skipped.
    #[default]
    Aws,
    /// `any`: the folders say nothing (log files copied to a layout of one's own); every key
    /// is read, except digests, Insights files, folder markers and empty objects.
    Any,
}

impl KeyLayout {
    /// The environment variable that sets it.
    pub const VARIABLE: &'static str = "TRAIL_KEY_LAYOUT";

    /// `aws` or `any` (any case); `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "aws" => Some(KeyLayout::Aws),
            "any" => Some(KeyLayout::Any),
            _ => None,
        }
    }
}

/// The skip reason of a key that the AWS layout puts in another service's folder, naming it;
/// `None` for a key under `CloudTrail/` or one the layout does not describe.
///
/// Every place in the key where `AWSLogs/[o-ORG/]ACCOUNT/FOLDER/` followed by more is
/// looked at (a trail's own prefix may contain `AWSLogs/`, Control Tower's is
/// `o-ORG/AWSLogs/o-ORG/ACCOUNT/`): one naming `CloudTrail` makes the key a log file's.
fn other_service(key: &str) -> Option<Cow<'static, str>> {
    let segments: Vec<&str> = key.split('/').collect();
    let mut service = None;
    for (i, _) in segments
        .iter()
        .enumerate()
        .filter(|(_, s)| **s == "AWSLogs")
    {
        let mut at = i + 1;
        if segments.get(at).is_some_and(|s| is_organization_id(s)) {
            at += 1;
        }
        if !segments
            .get(at)
            .is_some_and(|s| crate::text::is_account_id(s))
        {
            continue;
        }
        // The folder, and something in it: a file directly under the account proves nothing.
        let Some(folder) = segments.get(at + 1).filter(|_| at + 2 < segments.len()) else {
            continue;
        };
        if folder.eq_ignore_ascii_case("CloudTrail") {
            return None;
        }
        service = Some(*folder);
    }
    let folder = service?;
    Some(match folder {
        "Config" => "an AWS Config file (folder Config/ of the AWS log layout), not a CloudTrail log file".into(),
        _ => format!(
            "a file of another service (folder {folder}/ of the AWS log layout), not a CloudTrail log file; \
             TRAIL_KEY_LAYOUT=any reads it"
        )
        .into(),
    })
}

/// `o-` and 10 to 32 lowercase letters or digits: an organization id.
fn is_organization_id(s: &str) -> bool {
    s.strip_prefix("o-").is_some_and(|id| {
        (10..=32).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
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
        assert!(o.skip_reason_in(KeyLayout::Aws).unwrap().contains("digest"));
        o.key = format!("{base}CloudTrail-Insight/us-east-1/2024/x.json.gz");
        assert!(o
            .skip_reason_in(KeyLayout::Aws)
            .unwrap()
            .contains("Insights"));
        o.key = format!("{base}CloudTrail/");
        assert!(o.skip_reason_in(KeyLayout::Aws).unwrap().contains("folder"));
        o.key = format!("{base}CloudTrail/us-east-1/2024/01/01/x.json.gz");
        assert_eq!(o.skip_reason_in(KeyLayout::Aws), None);
        o.size = Some(0);
        assert!(o.skip_reason_in(KeyLayout::Aws).unwrap().contains("zero"));
    }

    /// The folders of a log-archive bucket, as AWS services write them.
    #[test]
    fn the_aws_layout_says_which_service_a_file_belongs_to() {
        let account = "111122223333";
        let org = "o-a1b2c3d4e5";
        let layouts = [
            format!("AWSLogs/{account}/"),
            format!("AWSLogs/{org}/{account}/"),
            format!("my-prefix/AWSLogs/{account}/"),
            // Control Tower's organization trail, and its AWS Config files.
            format!("{org}/AWSLogs/{org}/{account}/"),
            format!("{org}/AWSLogs/{account}/"),
            // A trail whose own prefix is AWSLogs.
            format!("AWSLogs/AWSLogs/{org}/{account}/"),
        ];
        for base in &layouts {
            let skip = |rest: &str, layout| {
                let mut o = ObjectRef::new("b", format!("{base}{rest}"));
                o.size = Some(100);
                o.skip_reason_in(layout).map(|r| r.into_owned())
            };
            let log =
                "CloudTrail/us-east-1/2024/01/01/x_CloudTrail_us-east-1_20240101T0000Z_a.json.gz";
            assert_eq!(skip(log, KeyLayout::Aws), None, "{base}");
            for config in [
                "Config/ConfigWritabilityCheckFile",
                "Config/us-east-1/2024/1/1/ConfigHistory/x_Config_us-east-1_ConfigHistory_AWS::EC2::Volume_20240101T000000Z_20240101T060000Z_1.json.gz",
                "Config/us-east-1/2024/1/1/ConfigSnapshot/x_Config_us-east-1_ConfigSnapshot_20240101T000000Z_a.json.gz",
            ] {
                let why = skip(config, KeyLayout::Aws).unwrap_or_else(|| panic!("{base}{config}"));
                assert!(why.contains("AWS Config"), "{why}");
                assert_eq!(skip(config, KeyLayout::Any), None, "{base}{config}");
            }
            for (other, folder) in [
                (
                    "elasticloadbalancing/us-east-1/2024/01/01/x.log.gz",
                    "elasticloadbalancing/",
                ),
                ("vpcflowlogs/us-east-1/2024/01/01/x.log.gz", "vpcflowlogs/"),
                ("GuardDuty/us-east-1/2024/01/01/x.jsonl.gz", "GuardDuty/"),
            ] {
                let why = skip(other, KeyLayout::Aws).unwrap_or_else(|| panic!("{base}{other}"));
                assert!(
                    why.contains(folder) && why.contains("TRAIL_KEY_LAYOUT"),
                    "{why}"
                );
                assert_eq!(skip(other, KeyLayout::Any), None, "{base}{other}");
            }
            // Digests and Insights files are skipped whatever the layout.
            for layout in [KeyLayout::Aws, KeyLayout::Any] {
                let digest = skip("CloudTrail-Digest/us-east-1/2024/01/01/x.json.gz", layout);
                assert!(digest.unwrap().contains("digest"));
                let insight = skip("CloudTrail-Insight/us-east-1/2024/01/01/x.json.gz", layout);
                assert!(insight.unwrap().contains("Insights"));
            }
        }
    }

    /// What the layout does not prove belongs to another service is read (and fails, if it is
    /// not CloudTrail).
    #[test]
    fn the_layout_skips_only_what_it_proves() {
        let read = [
            // Under CloudTrail/: read, whatever it holds.
            "AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/01/not-a-trail-file.txt",
            "AWSLogs/111122223333/CloudTrail/x.json.gz",
            "AWSLogs/111122223333/cloudtrail/us-east-1/x.json.gz",
            // A prefix that looks like another service's folder, above the trail's own layout.
            "AWSLogs/111122223333/Archive/AWSLogs/111122223333/CloudTrail/us-east-1/x.json.gz",
            // Directly under the account: a folder is needed to say whose it is.
            "AWSLogs/111122223333/x.json.gz",
            // Not the layout: no AWSLogs, no account, a bad organization id.
            "trail/111122223333/Config/x.json.gz",
            "AWSLogs/1111/Config/x.json.gz",
            "AWSLogs/o-X/111122223333/Config/x.json.gz",
            "logs/x.json.gz",
        ];
        for key in read {
            let o = ObjectRef::new("b", key);
            assert_eq!(o.skip_reason_in(KeyLayout::Aws), None, "{key}");
        }
    }

    #[test]
    fn key_layouts_parse() {
        assert_eq!(KeyLayout::parse(" AWS "), Some(KeyLayout::Aws));
        assert_eq!(KeyLayout::parse("any"), Some(KeyLayout::Any));
        assert_eq!(KeyLayout::parse("custom"), None);
        assert_eq!(KeyLayout::default(), KeyLayout::Aws);
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
