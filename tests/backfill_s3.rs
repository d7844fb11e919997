//! `scan s3://` against S3 itself (a moto server, the real SDK): many objects in flight, the
//! findings still in key order, the filters and the S3 Batch Operations manifest.

mod support;

use std::process::{Command, Output};

use aws_sdk_s3::primitives::ByteStream;
use support::moto::AtMoto;
use support::output::targets;
use support::records::{log_file, sample_share};

/// The real share record of the Stratus detonation, with a new event id and target per file.
fn share_log(n: usize) -> Vec<u8> {
    let target = format!("{:012}", 100_000_000_000u64 + n as u64);
    let mut record = sample_share(&[target])["detail"].clone();
    record["eventID"] = format!("00000000-0000-4000-8000-{n:012}").into();
    log_file(&[record])
}

fn scan(endpoint: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_snapshot-share-detector"))
        .arg("scan")
        .args(args)
        .env_remove("FINDINGS_TOPIC_ARN")
        .at_moto(endpoint)
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_a_concurrent_prefix_scan_prints_findings_in_key_order() {
    let moto = support::moto::moto();
    let c = support::moto::clients(moto).await;
    let bucket = support::moto::unique("backfill");
    c.s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let days = ["01", "02", "03"];
    let mut want = Vec::new();
    for (d, day) in days.iter().enumerate() {
        for i in 0..12 {
            let n = d * 100 + i;
            let key = format!(
                "AWSLogs/o-exampleorg1/111122223333/CloudTrail/us-east-1/2024/08/{day}/\
                 111122223333_CloudTrail_us-east-1_202408{day}T12{i:02}Z_x.json"
            );
            c.s3.put_object()
                .bucket(&bucket)
                .key(&key)
                .body(ByteStream::from(share_log(n)))
                .send()
                .await
                .unwrap();
            want.push(format!("{:012}", 100_000_000_000u64 + n as u64));
        }
    }
    let url = format!("s3://{bucket}/AWSLogs/");
    let wide = scan(&moto.endpoint, &["--concurrency", "16", &url]);
    let err = String::from_utf8_lossy(&wide.stderr);
    assert_eq!(wide.status.code(), Some(0), "{err}");
    assert_eq!(targets(&wide), want, "key order, whatever finished first");
    let narrow = scan(&moto.endpoint, &["--concurrency", "1", &url]);
    assert_eq!(
        wide.stdout, narrow.stdout,
        "the same bytes at any concurrency"
    );
    assert!(err.contains("scanned 36 inputs"), "{err}");

    // Filters: one day of the three, and the summary says what was skipped unlisted.
    let one_day = scan(
        &moto.endpoint,
        &[
            "--since",
            "2024-08-02",
            "--until",
            "2024-08-02",
            "--account",
            "111122223333",
            &url,
        ],
    );
    assert_eq!(targets(&one_day), want[12..24]);

    // The manifest of the same selection, for an S3 Batch Operations job.
    let manifest = scan(
        &moto.endpoint,
        &[
            "--manifest",
            "-",
            "--since",
            "2024-08-03",
            "--region",
            "us-east-1",
            &url,
        ],
    );
    let lines: Vec<String> = String::from_utf8_lossy(&manifest.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(lines.len(), 12, "{lines:?}");
    assert_eq!(
        lines[0],
        format!(
            "{bucket},AWSLogs/o-exampleorg1/111122223333/CloudTrail/us-east-1/2024/08/03/\
             111122223333_CloudTrail_us-east-1_20240803T1200Z_x.json"
        )
    );
}
