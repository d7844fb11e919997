//! Hunting history: the key-layout walk lists only the prefixes the filters can match, and S3
//! Batch Operations tasks are answered one by one with the result code their outcome deserves.
//! (The object store here is the in-memory one, which counts requests as S3 would bill them;
//! tests/backfill_s3.rs runs `scan s3://` against S3 itself.)

use serde_json::{json, Value};
use snapshot_share_detector::cli::layout::{self, Day, Filters, Walked};
use snapshot_share_detector::config::Settings;
use snapshot_share_detector::lambda::{Handler, Response};
use snapshot_share_detector::pipeline::Pipeline;
use snapshot_share_detector::sink::Memory;
use snapshot_share_detector::source::{
    Failure, ListRequest, Listing, MemoryStore, ObjectError, ObjectRef, ObjectStore, Opened,
};
use snapshot_share_detector::trigger::s3_batch::ResultCode;
use tokio::sync::mpsc;

const BUCKET: &str = "log-archive";
const ACCOUNTS: [&str; 3] = ["111122223333", "444455556666", "777788889999"];
const REGIONS: [&str; 3] = ["eu-west-1", "us-east-1", "us-west-2"];

/// An organization trail's bucket: 3 accounts x 3 regions x 5 days (2024-08-01..05) x 2
/// files, plus digest files and a folder marker.
fn org_bucket() -> MemoryStore {
    org_bucket_paged(1000)
}

/// [`org_bucket`], listed in pages of `page` entries.
fn org_bucket_paged(page: usize) -> MemoryStore {
    let store = MemoryStore::with_page_size(page);
    for account in ACCOUNTS {
        for region in REGIONS {
            for day in 1..=5 {
                for n in 0..2 {
                    let key = format!(
                        "AWSLogs/o-exampleorg1/{account}/CloudTrail/{region}/2024/08/0{day}/\
                         {account}_CloudTrail_{region}_202408{day:02}T12{n}0Z_x.json.gz"
                    );
                    store.put(BUCKET, &key, br#"{"Records":[]}"#.to_vec());
                }
            }
            let digest = format!(
                "AWSLogs/o-exampleorg1/{account}/CloudTrail-Digest/{region}/2024/08/01/d.json.gz"
            );
            store.put(BUCKET, &digest, b"{}".to_vec());
        }
    }
    store
}

async fn walk(store: &MemoryStore, prefix: &str, filters: &Filters) -> (Vec<String>, u64) {
    let (keys, walked) = walk_at(store, prefix, filters, 8).await;
    (keys, walked.unwrap().pruned)
}

/// The keys a walk with `bound` LISTs at once hands out, and how it ended.
async fn walk_at<T: ObjectStore>(
    store: &T,
    prefix: &str,
    filters: &Filters,
    bound: usize,
) -> (Vec<String>, Result<Walked, ObjectError>) {
    let (tx, mut rx) = mpsc::channel::<ObjectRef>(8);
    let collect = async {
        let mut keys = Vec::new();
        while let Some(o) = rx.recv().await {
            keys.push(o.key);
        }
        keys
    };
    let (walked, keys) = tokio::join!(
        async move { layout::walk(store, BUCKET, prefix, filters, bound, &tx).await },
        collect
    );
    (keys, walked)
}

#[tokio::test]
async fn without_filters_everything_under_the_prefix_is_listed_in_key_order() {
    let store = org_bucket();
    let (keys, pruned) = walk(&store, "AWSLogs/", &Filters::default()).await;
    assert_eq!(keys.len(), 3 * 3 * 5 * 2 + 9, "log files and digest files");
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    assert_eq!(pruned, 0);
    // One listing of 99 keys: one LIST.
    assert_eq!(store.requests(), (1, 0));
}

#[tokio::test]
async fn filters_list_only_the_matching_accounts_regions_and_days() {
    let store = org_bucket();
    let filters = Filters {
        since: Some(Day::parse("2024-08-02").unwrap()),
        until: Some(Day::parse("2024-08-03").unwrap()),
        accounts: vec!["444455556666".into()],
        regions: vec!["us-east-1".into()],
    };
    let (keys, pruned) = walk(&store, "AWSLogs/", &filters).await;
    let want: Vec<String> = ["02", "03"]
        .iter()
        .flat_map(|d| {
            (0..2).map(move |n| {
                format!(
                    "AWSLogs/o-exampleorg1/444455556666/CloudTrail/us-east-1/2024/08/{d}/\
                     444455556666_CloudTrail_us-east-1_202408{d}T12{n}0Z_x.json.gz"
                )
            })
        })
        .collect();
    assert_eq!(keys, want);
    // LIST: AWSLogs/ (the organization), o-exampleorg1/ (its accounts), then one per matching
    // day; the account's CloudTrail/ and the region are named, not listed. The other two
    // accounts are skipped unlisted. Each key handed out is one GET for the scanner.
    assert_eq!(store.requests(), (1 + 1 + 2, 0));
    assert_eq!(pruned, 2);
}

#[tokio::test]
async fn an_open_date_range_lists_years_months_and_days_and_prunes_by_them() {
    let store = org_bucket();
    let filters = Filters {
        since: Some(Day::parse("2024-08-04").unwrap()),
        regions: vec!["eu-west-1".into()],
        ..Filters::default()
    };
    let (keys, pruned) = walk(&store, "AWSLogs/o-exampleorg1/", &filters).await;
    assert_eq!(keys.len(), 3 * 2 * 2, "3 accounts, days 04 and 05, 2 files");
    assert!(keys.iter().all(|k| k.contains("/eu-west-1/2024/08/0")));
    // Days 01..03 of each account's region: pruned after listing the month.
    assert_eq!(pruned, 3 * 3);
    let (lists, gets) = store.requests();
    // Accounts (1), then per account: years (1), months (1), days (1), each kept day (2).
    assert_eq!((lists, gets), (1 + 3 * (1 + 1 + 1 + 2), 0));
}

/// The filters of the tests above, and none.
fn every_filter() -> Vec<(&'static str, Filters)> {
    let day = |d| Some(Day::parse(d).unwrap());
    vec![
        ("AWSLogs/", Filters::default()),
        (
            "AWSLogs/",
            Filters {
                since: day("2024-08-02"),
                until: day("2024-08-04"),
                accounts: vec!["444455556666".into(), "111122223333".into()],
                regions: vec!["us-east-1".into(), "eu-west-1".into()],
            },
        ),
        (
            "AWSLogs/o-exampleorg1/",
            Filters {
                since: day("2024-08-04"),
                ..Filters::default()
            },
        ),
        (
            "",
            Filters {
                until: day("2024-08-02"),
                regions: vec!["us-west-2".into()],
                ..Filters::default()
            },
        ),
    ]
}

/// Many LISTs at once change nothing but the time: the same keys in the same order, the same
/// LISTs and skipped prefixes, whether listings come in pages of 1,000 or of 1.
#[tokio::test]
async fn any_bound_lists_the_same_keys_in_the_same_order_with_the_same_requests() {
    for (prefix, filters) in every_filter() {
        for page in [1000, 2, 1] {
            let mut first = None;
            for bound in [1, 3, 64] {
                let store = org_bucket_paged(page);
                let (keys, walked) = walk_at(&store, prefix, &filters, bound).await;
                let walked = walked.unwrap();
                assert_eq!(walked.lists, store.requests().0);
                let mut sorted = keys.clone();
                sorted.sort();
                assert_eq!(keys, sorted, "{prefix} {filters:?}");
                assert!(!keys.is_empty(), "{prefix} {filters:?}");
                let seen = first.get_or_insert_with(|| (keys.clone(), walked));
                assert_eq!(
                    (&keys, &walked),
                    (&seen.0, &seen.1),
                    "{prefix} {filters:?} page {page} bound {bound}"
                );
            }
        }
    }
}

/// A store whose LISTs of one prefix fail.
struct FailingList {
    store: MemoryStore,
    prefix: &'static str,
}

impl ObjectStore for FailingList {
    async fn open(&self, object: &ObjectRef) -> Result<Opened, ObjectError> {
        self.store.open(object).await
    }

    async fn list(&self, request: &ListRequest) -> Result<Listing, ObjectError> {
        if request.prefix == self.prefix {
            return Err(ObjectError {
                object: format!("s3://{BUCKET}/{}", request.prefix),
                failure: Failure::AccessDenied,
                reason: "ListObjectsV2 failed: AccessDenied".into(),
            });
        }
        self.store.list(request).await
    }
}

/// A LIST that fails ends the walk where a sequential walk would have: the keys before it are
/// handed out, none after it, though later prefixes were listed at the same time.
#[tokio::test]
async fn a_failed_list_ends_the_walk_in_its_place() {
    let failing = "AWSLogs/o-exampleorg1/444455556666/CloudTrail/us-east-1/2024/08/03/";
    let filters = &every_filter()[1].1;
    let (all, _) = walk_at(&org_bucket(), "AWSLogs/", filters, 1).await;
    for bound in [1, 4, 64] {
        let store = FailingList {
            store: org_bucket(),
            prefix: failing,
        };
        let (keys, walked) = walk_at(&store, "AWSLogs/", filters, bound).await;
        let error = walked.unwrap_err();
        assert!(error.object.ends_with(failing), "{error}");
        let before: Vec<&String> = all.iter().take_while(|k| k.as_str() < failing).collect();
        assert!(!before.is_empty() && before.len() < all.len());
        assert_eq!(keys.iter().collect::<Vec<_>>(), before, "bound {bound}");
    }
}

/// A receiver that goes away ends the walk early, and well: no error, and the LISTs stop.
#[tokio::test]
async fn the_walk_ends_when_its_receiver_goes_away() {
    let filters = &every_filter()[1].1;
    let (all, walked) = walk_at(&org_bucket_paged(1), "AWSLogs/", filters, 1).await;
    let all_lists = walked.unwrap().lists;
    let store = org_bucket_paged(1);
    let (tx, mut rx) = mpsc::channel::<ObjectRef>(1);
    let first_three = async move {
        let mut keys = Vec::new();
        while keys.len() < 3 {
            keys.push(rx.recv().await.unwrap().key);
        }
        keys
    };
    let (walked, keys) = tokio::join!(
        layout::walk(&store, BUCKET, "AWSLogs/", filters, 4, &tx),
        first_three
    );
    assert_eq!(keys, all[..3]);
    let lists = walked.unwrap().lists;
    assert!(lists < all_lists, "{lists} LISTs of {all_lists}");
}

#[test]
fn dates_are_checked() {
    assert_eq!(
        Day::parse("2024-02-29").unwrap(),
        Day {
            year: 2024,
            month: 2,
            day: 29
        }
    );
    for bad in [
        "2023-02-29",
        "2024-13-01",
        "2024-1-01",
        "yesterday",
        "2024-08-32",
    ] {
        assert!(Day::parse(bad).unwrap_err().contains(bad), "{bad}");
    }
}

fn batch_event(schema: &str, tasks: &[(&str, &str)]) -> Value {
    let tasks: Vec<Value> = tasks
        .iter()
        .map(|(id, key)| match schema {
            "1.0" => json!({"taskId": id, "s3Key": key, "s3VersionId": null,
                            "s3BucketArn": format!("arn:aws:s3:::{BUCKET}")}),
            _ => json!({"taskId": id, "s3Key": key, "s3VersionId": null, "s3Bucket": BUCKET}),
        })
        .collect();
    json!({"invocationSchemaVersion": schema, "invocationId": "inv-1",
           "job": {"id": "job-1"}, "tasks": tasks})
}

#[tokio::test]
async fn batch_tasks_get_the_result_code_their_outcome_deserves() {
    for schema in ["1.0", "2.0"] {
        let store = MemoryStore::new();
        let log =
            std::fs::read("tests/fixtures/corpus/all-corpus-records.Records.json.gz").unwrap();
        store.put(BUCKET, "AWSLogs/good log.json.gz", log);
        store.put(BUCKET, "AWSLogs/throttled.json.gz", b"{}".to_vec());
        store.fail(BUCKET, "AWSLogs/throttled.json.gz", Failure::Transient);
        store.put(BUCKET, "AWSLogs/labels.json", br#"{"labels":[]}"#.to_vec());
        let handler = Handler::new(
            Pipeline::new(Memory::default(), Some(store), Settings::default()),
            4,
        );
        // Schema 1.0 URL-encodes keys; 2.0 gives them as they are.
        let good = if schema == "1.0" {
            "AWSLogs/good+log.json.gz"
        } else {
            "AWSLogs/good log.json.gz"
        };
        let event = batch_event(
            schema,
            &[
                ("t-good", good),
                ("t-missing", "AWSLogs/missing.json.gz"),
                ("t-throttled", "AWSLogs/throttled.json.gz"),
                ("t-foreign", "AWSLogs/labels.json"),
            ],
        );
        let (response, summary) = handler.handle(event).await;
        let Ok(Response::S3Batch(answer)) = response else {
            panic!("{schema}: {response:?}");
        };
        assert_eq!(answer.invocation_schema_version, schema);
        assert_eq!(answer.invocation_id, "inv-1");
        let codes: Vec<(&str, ResultCode)> = answer
            .results
            .iter()
            .map(|r| (r.task_id.as_str(), r.result_code))
            .collect();
        assert_eq!(
            codes,
            [
                ("t-good", ResultCode::Succeeded),
                ("t-missing", ResultCode::PermanentFailure),
                ("t-throttled", ResultCode::TemporaryFailure),
                ("t-foreign", ResultCode::PermanentFailure),
            ],
            "{schema}"
        );
        assert_eq!(
            answer.results[0].result_string,
            "892 records, 14 findings, 14 published"
        );
        assert!(answer.results[1].result_string.contains("NoSuchKey"));
        assert!(answer.results[3].result_string.contains("not CloudTrail"));
        // Findings are published before Succeeded is said: the corpus log file's 5 snapshot
        // shares, 1 use, 4 AMI and 2 RDS shares and 2 failed attempts.
        assert_eq!(handler.pipeline().sink().take().len(), 14);
        assert_eq!(summary.failed_units, 3);
    }
}
