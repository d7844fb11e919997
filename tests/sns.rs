//! The Lambda handler on EventBridge events, publishing to a real SNS topic (moto) through the
//! real SDK; what was published is read back from an SQS queue subscribed to the topic.

mod support;

use serde_json::json;
use snapshot_share_detector::config::Settings;
use snapshot_share_detector::lambda::Handler;
use snapshot_share_detector::pipeline::Pipeline;
use snapshot_share_detector::rule::TrustedAccounts;
use snapshot_share_detector::sink::SnsSink;
use snapshot_share_detector::source::S3Store;
use support::moto::{clients, handle, moto, receive, topic, Clients, Topic};
use support::records::{json_file, sample_share};

fn handler(c: &Clients, topic_arn: &str, settings: Settings) -> Handler<SnsSink, S3Store> {
    let sink = SnsSink::new(c.sns.clone(), topic_arn);
    Handler::new(Pipeline::new(sink, None, settings), 4)
}

async fn setup(fifo: bool) -> (Clients, Topic) {
    let c = clients(moto()).await;
    let t = topic(&c, fifo).await;
    (c, t)
}

#[tokio::test]
async fn aws_a_foreign_share_is_published_with_its_attributes() {
    let (c, t) = setup(false).await;
    let h = handler(&c, &t.arn, Settings::default());
    let event = json_file("events/eventbridge-share-foreign-account.json");
    let (response, summary) = handle(&h, event).await;
    assert!(response.is_ok(), "{response:?}");
    assert_eq!((summary.tally.findings, summary.tally.published), (1, 1));

    let got = receive(&c, &t, 1).await;
    assert_eq!(got.len(), 1, "exactly one message");
    let m = &got[0];
    assert_eq!(m.finding.user_id, "098797384747");
    assert_eq!(
        m.finding.resource.id.as_deref(),
        Some("snap-041993b54a9b3af6f")
    );
    assert_eq!(m.raw_message["rule"]["risk_score"], json!(21));
    assert_eq!(m.raw_message["rule"]["severity"], "low");
    assert_eq!(m.raw_message["cloud"]["account"]["id"], "756680937392");
    assert_eq!(m.raw_message["source"]["ip"], "253.76.43.253");
    assert_eq!(
        m.raw_message["aws"]["cloudtrail"]["user_identity"]["access_key_id"],
        "AKIAYLJU0B35TFSNKCS2"
    );
    assert_eq!(
        m.subject.as_deref(),
        Some("[low] EBS snapshot snap-041993b54a9b3af6f shared with 098797384747")
    );
    let attr = |name: &str| m.attributes.get(name).cloned().unwrap_or_default();
    assert_eq!(attr("severity"), ("String".into(), "low".into()));
    assert_eq!(attr("risk_score"), ("Number".into(), "21".into()));
    assert_eq!(
        attr("rule_id"),
        (
            "String".into(),
            "4182e486-fc61-11ee-a05d-f661ea17fbce".into()
        )
    );
    assert_eq!(
        attr("event_action"),
        ("String".into(), "ModifySnapshotAttribute".into())
    );
    assert_eq!(
        attr("target_account"),
        ("String".into(), "098797384747".into())
    );
    assert_eq!(attr("public"), ("String".into(), "false".into()));
    assert_eq!(m.group_id, None);
}

#[tokio::test]
async fn aws_only_the_shares_attempts_and_resolutions_of_the_sample_events_are_published() {
    let (c, t) = setup(false).await;
    let h = handler(&c, &t.arn, Settings::default());
    for (file, findings) in [
        ("eventbridge-share-foreign-account.json", 1),
        ("eventbridge-share-public.json", 1),
        ("eventbridge-share-self.json", 0),
        ("eventbridge-share-failed.json", 1),
        ("eventbridge-share-removed.json", 1),
    ] {
        let (response, summary) = handle(&h, json_file(&format!("events/{file}"))).await;
        assert!(response.is_ok(), "{file}: {response:?}");
        assert_eq!(summary.tally.findings, findings, "{file}");
    }
    let mut got: Vec<(String, String, String)> = receive(&c, &t, 4)
        .await
        .into_iter()
        .map(|m| {
            let kind = m.attributes["finding_kind"].1.clone();
            let status = &m.attributes["status"].1;
            (
                format!("{kind} {status}"),
                m.finding.user_id,
                m.attributes["public"].1.clone(),
            )
        })
        .collect();
    got.sort();
    // The failed public share is an attempt, the removal a resolution of the foreign share:
    // subscribers filter them by their kind and status.
    let want = [
        ("attempt open", "all", "true"),
        ("share open", "098797384747", "false"),
        ("share open", "all", "true"),
        ("share resolved", "098797384747", "false"),
    ];
    let want: Vec<(String, String, String)> = want
        .iter()
        .map(|(k, u, p)| (k.to_string(), u.to_string(), p.to_string()))
        .collect();
    assert_eq!(got, want);
}

#[tokio::test]
async fn aws_many_targets_are_published_in_batches_of_ten() {
    let (c, t) = setup(false).await;
    let h = handler(&c, &t.arn, Settings::default());
    let targets: Vec<String> = (0..25)
        .map(|i| format!("{:012}", 200_000_000_000u64 + i))
        .collect();
    let (response, summary) = handle(&h, sample_share(&targets)).await;
    assert!(response.is_ok(), "{response:?}");
    assert_eq!((summary.tally.findings, summary.tally.published), (25, 25));
    let got = receive(&c, &t, 25).await;
    assert_eq!(got.len(), 25);
    let mut ids: Vec<String> = got.iter().map(|m| m.finding.finding_id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 25, "every finding has its own id");
}

#[tokio::test]
async fn aws_a_fifo_topic_gets_group_and_deduplication_ids() {
    let (c, t) = setup(true).await;
    let h = handler(&c, &t.arn, Settings::default());
    let (response, _) = h
        .handle(json_file("events/eventbridge-share-public.json"))
        .await;
    assert!(response.is_ok(), "{response:?}");
    let got = receive(&c, &t, 1).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].group_id.as_deref(), Some("snap-1111"));
    assert_eq!(
        got[0].dedup_id.as_deref(),
        Some(got[0].finding.finding_id.as_str())
    );
}

#[tokio::test]
async fn aws_a_retry_sends_the_same_finding_ids() {
    let (c, t) = setup(false).await;
    let h = handler(&c, &t.arn, Settings::default());
    let event = json_file("events/eventbridge-share-foreign-account.json");
    h.handle(event.clone()).await.0.unwrap();
    h.handle(event).await.0.unwrap();
    let got = receive(&c, &t, 2).await;
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].finding.finding_id, got[1].finding.finding_id);
    assert_eq!(got[0].finding, got[1].finding);
}

#[tokio::test]
async fn aws_trusted_accounts_are_not_published() {
    let (c, t) = setup(false).await;
    let settings = Settings {
        trusted: TrustedAccounts::parse("098797384747"),
        ..Settings::default()
    };
    let h = handler(&c, &t.arn, settings);
    let (response, summary) = h
        .handle(json_file("events/eventbridge-share-foreign-account.json"))
        .await;
    assert!(response.is_ok());
    assert_eq!(summary.tally.findings, 0);
    assert!(receive(&c, &t, 0).await.is_empty());
}

#[tokio::test]
async fn aws_a_missing_topic_fails_the_invocation_with_a_clear_error() {
    let (c, _) = setup(false).await;
    let missing = "arn:aws:sns:us-east-1:123456789012:no-such-topic";
    let h = handler(&c, missing, Settings::default());
    let (response, summary) = h
        .handle(json_file("events/eventbridge-share-public.json"))
        .await;
    let error = response.unwrap_err().to_string();
    // Everything but moto's own wording of the 404.
    let (ours, moto_message) = error
        .split_once(": NotFound: ")
        .unwrap_or_else(|| panic!("no NotFound: {error}"));
    assert_eq!(
        ours,
        format!(
            "1 findings undelivered; 1 of 1 units failed: 1 of 1 findings could not be \
             published: topic {missing}"
        )
    );
    assert!(moto_message.ends_with(" (HTTP 404)"), "{error}");
    assert_eq!(
        (
            summary.tally.findings,
            summary.tally.published,
            summary.tally.undelivered
        ),
        (1, 0, 1)
    );
}

#[tokio::test]
async fn aws_unrecognised_payloads_end_successfully_without_findings() {
    let (c, t) = setup(false).await;
    let h = handler(&c, &t.arn, Settings::default());
    for payload in [
        json_file("tests/fixtures/envelopes/eventbridge-non-cloudtrail_aws-lambda-rust-runtime_example-eventbridge-event-obj.json"),
        json!({"hello": "world"}),
        json!([1, 2, 3]),
        json!("text"),
    ] {
        let (response, summary) = handle(&h, payload.clone()).await;
        assert!(response.is_ok(), "{payload}: {response:?}");
        assert_eq!(summary.tally.findings, 0);
        assert_eq!(summary.trigger.as_str(), "unrecognised", "{payload}");
    }
    assert!(receive(&c, &t, 0).await.is_empty());
}
