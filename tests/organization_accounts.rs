//! Organization-aware targets against moto's Organizations, SNS and SQS with the real SDK
//! clients: each finding says whether its target is a member account, SNS carries a matching
//! message attribute, and shares inside the organization can be suppressed (public ones never).

mod support;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use snapshot_share_detector::aws::{self, ClientSettings};
use snapshot_share_detector::config::Settings;
use snapshot_share_detector::lambda::Handler;
use snapshot_share_detector::org::Organization;
use snapshot_share_detector::pipeline::Pipeline;
use snapshot_share_detector::sink::{Org, SnsSink};
use snapshot_share_detector::source::S3Store;
use support::moto::{clients, handle, moto, receive, sdk_config, topic, unique, Clients, Topic};
use support::records::sample_share;

struct Env {
    c: Clients,
    topic: Topic,
    endpoint: String,
}

async fn setup() -> Env {
    let moto = moto();
    let c = clients(moto).await;
    let topic = topic(&c, false).await;
    Env {
        c,
        topic,
        endpoint: moto.endpoint.clone(),
    }
}

impl Env {
    /// The function's Organizations client as production builds it.
    async fn organizations(&self) -> aws_sdk_organizations::Client {
        let settings = ClientSettings {
            endpoint_url: Some(self.endpoint.clone()),
            ..ClientSettings::default()
        };
        aws::organizations_from(&sdk_config(&self.endpoint).await, &settings)
    }

    /// Creates the organization (once per server) and a member account; returns its id.
    async fn member_account(&self) -> String {
        let org = self.organizations().await;
        if let Err(e) = org
            .create_organization()
            .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
            .send()
            .await
        {
            let already = e
                .as_service_error()
                .is_some_and(|e| e.is_already_in_organization_exception());
            assert!(already, "{e:?}");
        }
        let name = unique("member");
        let created = org
            .create_account()
            .account_name(&name)
            .email(format!("{name}@example.com"))
            .send()
            .await
            .unwrap();
        let status = created.create_account_status().unwrap();
        match status.account_id() {
            Some(id) => id.to_owned(),
            None => org
                .describe_create_account_status()
                .create_account_request_id(status.id().unwrap())
                .send()
                .await
                .unwrap()
                .create_account_status()
                .and_then(|s| s.account_id())
                .unwrap()
                .to_owned(),
        }
    }

    fn handler(&self, org: Organization, suppress: bool) -> Handler<Org<SnsSink>, S3Store> {
        let sink = Org::new(
            SnsSink::new(self.c.sns.clone(), &self.topic.arn),
            Some(Arc::new(org)),
            suppress,
        );
        Handler::new(Pipeline::new(sink, None, Settings::default()), 4)
    }
}

/// The sample share, to `targets` (account ids, or `all`).
fn share(event_id: &str, targets: &[&str]) -> Value {
    let mut event = sample_share(targets);
    event["detail"]["eventID"] = json!(event_id);
    event
}

/// target account → (organization_member in the finding, the message attribute).
async fn received(env: &Env, n: usize) -> Vec<(String, Option<bool>, Option<String>)> {
    let mut got: Vec<_> = receive(&env.c, &env.topic, n)
        .await
        .into_iter()
        .map(|m| {
            (
                m.finding.user_id.clone(),
                m.finding.target.and_then(|t| t.organization_member),
                m.attributes.get("organization_member").map(|a| {
                    assert_eq!(a.0, "String");
                    a.1.clone()
                }),
            )
        })
        .collect();
    got.sort();
    got
}

#[tokio::test]
async fn aws_auto_reads_the_accounts_and_marks_each_target() {
    let env = setup().await;
    let member = env.member_account().await;
    let org = Organization::auto(env.organizations().await, Duration::from_secs(3600));
    let h = env.handler(org, false);
    let event = share(&unique("auto"), &[&member, "098797384747", "all"]);
    let (response, summary) = handle(&h, event).await;
    assert!(response.is_ok(), "{response:?}");
    assert_eq!((summary.tally.published, summary.tally.suppressed), (3, 0));
    // Sorted as `received` sorts: moto makes up the member's id.
    let mut want = vec![
        (
            "098797384747".to_owned(),
            Some(false),
            Some("false".to_owned()),
        ),
        (member.clone(), Some(true), Some("true".to_owned())),
        ("all".to_owned(), None, None),
    ];
    want.sort();
    assert_eq!(received(&env, 3).await, want);
}

#[tokio::test]
async fn aws_auto_is_cached_and_refreshed() {
    let env = setup().await;
    let first = env.member_account().await;
    let cached = Organization::auto(env.organizations().await, Duration::from_secs(3600));
    let refreshed = Organization::auto(env.organizations().await, Duration::ZERO);
    assert!(cached.accounts().await.unwrap().contains(&first));
    assert!(refreshed.accounts().await.unwrap().contains(&first));
    let second = env.member_account().await;
    assert!(
        !cached.accounts().await.unwrap().contains(&second),
        "read once an hour"
    );
    assert!(refreshed.accounts().await.unwrap().contains(&second));
}

#[tokio::test]
async fn aws_unreadable_accounts_mean_unknown_membership_and_nothing_suppressed() {
    let env = setup().await;
    let settings = ClientSettings {
        endpoint_url: Some("http://127.0.0.1:1".to_owned()),
        ..ClientSettings::default()
    };
    let client = aws::organizations_from(&sdk_config(&env.endpoint).await, &settings);
    let h = env.handler(Organization::auto(client, Duration::from_secs(3600)), true);
    let (response, summary) = handle(&h, share(&unique("unknown"), &["098797384747"])).await;
    assert!(response.is_ok(), "{response:?}");
    assert_eq!((summary.tally.published, summary.tally.suppressed), (1, 0));
    assert_eq!(
        received(&env, 1).await,
        [("098797384747".to_owned(), None, None)]
    );
}

#[tokio::test]
async fn aws_a_list_with_suppression_drops_member_shares_but_never_public_ones() {
    let env = setup().await;
    let org = Organization::list(["111122223333", "444455556666"]);
    let h = env.handler(org, true);
    let event = share(
        &unique("list"),
        &["111122223333", "444455556666", "098797384747", "all"],
    );
    let (response, summary) = handle(&h, event).await;
    assert!(response.is_ok(), "{response:?}");
    assert_eq!(
        (
            summary.tally.findings,
            summary.tally.published,
            summary.tally.suppressed
        ),
        (4, 2, 2)
    );
    assert_eq!(
        received(&env, 2).await,
        [
            (
                "098797384747".to_owned(),
                Some(false),
                Some("false".to_owned())
            ),
            ("all".to_owned(), None, None),
        ]
    );
}
