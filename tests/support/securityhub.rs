//! Security Hub on moto, for the tests of the Security Hub output: a hub in a region of the
//! test's own, what it holds, and the answer moto cannot give (`BatchUpdateFindings`), as the
//! API reference documents it, for the test proxy to give instead.

use std::collections::BTreeMap;

use aws_config::Region;
use aws_sdk_securityhub::types::AwsSecurityFinding;

use super::moto::{moto, sdk_config};
use super::proxy::Proxy;

/// `BatchUpdateFindings` as the API reference documents its answer.
pub const UPDATED: &str = r#"{"ProcessedFindings": [], "UnprocessedFindings": []}"#;

/// The request that sets a workflow (`BatchUpdateFindings`), as the proxy hears it.
pub const BATCH_UPDATE: &str = "PATCH /findings/batchupdate";

/// Makes `proxy` answer `BatchUpdateFindings`, which moto lacks.
pub fn answer_batch_update(proxy: &Proxy) {
    proxy.answer_as(&[BATCH_UPDATE], 200, "application/json", UPDATED);
}

/// The Security Hub client of the tests, on moto, in `region`, the hub enabled.
pub async fn hub(region: &str) -> aws_sdk_securityhub::Client {
    let sdk = sdk_config(&moto().endpoint).await;
    let config = aws_sdk_securityhub::config::Builder::from(&sdk)
        .region(Region::new(region.to_owned()))
        .build();
    let client = aws_sdk_securityhub::Client::from_conf(config);
    client.enable_security_hub().send().await.unwrap();
    client
}

/// Every finding of the hub, by id. The SDK's ASFF types are large: reading them takes more
/// stack than a test thread has in a debug build, so the call runs on a thread of its own.
pub async fn imported(
    client: &aws_sdk_securityhub::Client,
) -> BTreeMap<String, AwsSecurityFinding> {
    let client = client.clone();
    let read = std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let pages = client.get_findings().into_paginator().items().send();
                let all: Vec<AwsSecurityFinding> = pages.collect::<Result<_, _>>().await.unwrap();
                all
            })
        })
        .unwrap();
    let all = tokio::task::block_in_place(|| read.join().unwrap());
    all.into_iter()
        .map(|f| (f.id().unwrap().to_owned(), f))
        .collect()
}

/// A finding's record state and workflow status: (`ACTIVE`, `NEW`), (`ARCHIVED`, `RESOLVED`).
pub fn state(f: &AwsSecurityFinding) -> (String, String) {
    (
        f.record_state().map_or("", |s| s.as_str()).to_owned(),
        f.workflow()
            .and_then(|w| w.status())
            .map_or("", |s| s.as_str())
            .to_owned(),
    )
}
