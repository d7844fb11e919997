//! Remediation against moto: the function built from its configuration as in production
//! (`sink::build`), run once per EventBridge event, removes the share a finding reports through
//! the SDK's EC2 and RDS clients, in an account of the test's own entered by assuming the
//! remediation role (moto gives each account its own resources); what was published is read
//! back from an SQS queue subscribed to the findings topic, and what is shared afterwards is
//! read with the SDK. moto implements every call used here (`Describe`/`Modify` of snapshot,
//! image and DB snapshot attributes, the removal included); an IAM denial, which moto does not
//! enforce, is answered by the test proxy as EC2 documents it.

mod support;

use std::collections::{BTreeSet, HashMap};

use aws_config::SdkConfig;
use aws_sdk_ec2::types::{
    ImageAttributeName, LaunchPermission, LaunchPermissionModifications, OperationType,
    PermissionGroup, SnapshotAttributeName,
};
use serde_json::{json, Value};
use snapshot_share_detector::config::Config;
use snapshot_share_detector::finding::{Finding, Outcome, Status};
use snapshot_share_detector::lambda::Handler;
use snapshot_share_detector::metrics::{emf_line, Summary};
use snapshot_share_detector::pipeline::Pipeline;
use snapshot_share_detector::sink::{self, Lines, Sink};
use snapshot_share_detector::source::S3Store;
use support::moto::{clients, handle, moto, receive, topic, unique, Clients, Topic};
use support::proxy::Proxy;
use support::records::json_file;
use support::seed::{account, db_snapshot, enter, image, snapshot};

const FOREIGN: &str = "222222222222";
const TRUSTED: &str = "333333333333";
const ROLE: &str = "snapshot-share-detector-remediation";
const REGION: &str = "us-east-1";

/// The kinds of resource remediation narrows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Snapshot,
    Image,
    DbSnapshot,
    ClusterSnapshot,
}

/// The function as the Lambda runtime builds it, from `vars` on top of a findings topic, the
/// remediation role and one trusted account; its AWS calls go to `endpoint` (moto, or the
/// proxy in front of it).
async fn function(
    endpoint: &str,
    topic: &Topic,
    vars: &[(&str, &str)],
) -> Handler<Box<dyn Sink>, S3Store> {
    let mut env: HashMap<&str, &str> = HashMap::from([
        ("FINDINGS_TOPIC_ARN", topic.arn.as_str()),
        ("REMEDIATION_ROLE_NAME", ROLE),
        ("TRUSTED_ACCOUNT_IDS", TRUSTED),
    ]);
    env.extend(vars.iter().copied());
    let config = Config::from_lookup(|k| env.get(k).map(|v| (*v).to_owned())).unwrap();
    let sdk = support::moto::sdk_config(endpoint).await;
    let sink = sink::build(
        &config.outputs,
        Some(&sdk),
        &config.clients,
        true,
        false,
        Lines::Json,
    );
    Handler::new(Pipeline::new(sink, None, config.settings), 4)
}

async fn setup() -> (Clients, Topic) {
    let c = clients(moto()).await;
    let t = topic(&c, false).await;
    (c, t)
}

/// The EventBridge event of the call that shared resource `id` of `owner` with `targets`
/// (account ids, or `all`), from the sample event of its kind.
fn shared(kind: Kind, owner: &str, id: &str, targets: &[&str]) -> Value {
    let items: Vec<Value> = targets
        .iter()
        .map(|t| match *t {
            "all" => json!({"group": "all"}),
            account => json!({"userId": account}),
        })
        .collect();
    let mut event = match kind {
        Kind::Snapshot => {
            let mut e = json_file("events/eventbridge-share-foreign-account.json");
            let p = &mut e["detail"]["requestParameters"];
            p["snapshotId"] = json!(id);
            p["createVolumePermission"]["add"]["items"] = json!(items);
            e
        }
        Kind::Image => {
            let mut e = json_file("events/eventbridge-ami-shared.json");
            let p = &mut e["detail"]["requestParameters"];
            p["imageId"] = json!(id);
            p["launchPermission"]["add"]["items"] = json!(items);
            e
        }
        Kind::DbSnapshot => {
            let mut e = json_file("events/eventbridge-rds-snapshot-shared.json");
            e["detail"]["requestParameters"]["dBSnapshotIdentifier"] = json!(id);
            e["detail"]["requestParameters"]["valuesToAdd"] = json!(targets);
            e["detail"]["responseElements"] = json!({"dBSnapshotIdentifier": id,
                "dBSnapshotAttributes": [{"attributeName": "restore", "attributeValues": targets}]});
            e
        }
        // The RDS sample as the cluster call records it: the same request, another identifier.
        Kind::ClusterSnapshot => {
            let mut e = json_file("events/eventbridge-rds-snapshot-shared.json");
            let d = &mut e["detail"];
            d["eventName"] = json!("ModifyDBClusterSnapshotAttribute");
            d["requestParameters"] = json!({"attributeName": "restore",
                "dBClusterSnapshotIdentifier": id, "valuesToAdd": targets});
            d["responseElements"] = json!({"dBClusterSnapshotAttributesResult": {
                "dBClusterSnapshotIdentifier": id,
                "dBClusterSnapshotAttributes": [{"attributeName": "restore", "attributeValues": targets}]}});
            e
        }
    };
    place(&mut event, owner);
    event
}

/// Puts the event in `owner`'s account and the test region, with an id of its own.
fn place(event: &mut Value, owner: &str) {
    event["account"] = json!(owner);
    event["region"] = json!(REGION);
    let d = &mut event["detail"];
    d["eventID"] = json!(unique("event"));
    d["awsRegion"] = json!(REGION);
    d["recipientAccountId"] = json!(owner);
    d["userIdentity"]["accountId"] = json!(owner);
    d["userIdentity"]["arn"] = json!(format!("arn:aws:iam::{owner}:user/christophe"));
}

/// Whom the resource is shared with now, read with the SDK (not with the code under test).
async fn shared_with(kind: Kind, config: &SdkConfig, id: &str) -> BTreeSet<String> {
    let ec2 = aws_sdk_ec2::Client::new(config);
    match kind {
        Kind::Snapshot => {
            let out = ec2
                .describe_snapshot_attribute()
                .snapshot_id(id)
                .attribute(SnapshotAttributeName::CreateVolumePermission)
                .send()
                .await
                .unwrap();
            out.create_volume_permissions()
                .iter()
                .map(|p| match p.group() {
                    Some(PermissionGroup::All) => "all".to_owned(),
                    _ => p.user_id().unwrap().to_owned(),
                })
                .collect()
        }
        Kind::Image => {
            let out = ec2
                .describe_image_attribute()
                .image_id(id)
                .attribute(ImageAttributeName::LaunchPermission)
                .send()
                .await
                .unwrap();
            out.launch_permissions()
                .iter()
                .map(|p| match p.group() {
                    Some(PermissionGroup::All) => "all".to_owned(),
                    _ => p.user_id().unwrap().to_owned(),
                })
                .collect()
        }
        Kind::ClusterSnapshot => {
            let out = aws_sdk_rds::Client::new(config)
                .describe_db_cluster_snapshot_attributes()
                .db_cluster_snapshot_identifier(id)
                .send()
                .await
                .unwrap();
            out.db_cluster_snapshot_attributes_result()
                .unwrap()
                .db_cluster_snapshot_attributes()
                .iter()
                .filter(|a| a.attribute_name() == Some("restore"))
                .flat_map(|a| a.attribute_values().iter().cloned())
                .collect()
        }
        Kind::DbSnapshot => {
            let out = aws_sdk_rds::Client::new(config)
                .describe_db_snapshot_attributes()
                .db_snapshot_identifier(id)
                .send()
                .await
                .unwrap();
            out.db_snapshot_attributes_result()
                .unwrap()
                .db_snapshot_attributes()
                .iter()
                .filter(|a| a.attribute_name() == Some("restore"))
                .flat_map(|a| a.attribute_values().iter().cloned())
                .collect()
        }
    }
}

/// A resource of `kind` in a new account, shared with `targets`: the account, its
/// configuration, the resource's id.
async fn seeded(kind: Kind, n: u64, targets: &[&str]) -> (String, SdkConfig, String) {
    let owner = account(n);
    let config = enter(&owner, REGION).await;
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let users: Vec<&str> = targets.iter().copied().filter(|t| *t != "all").collect();
    let public = targets.contains(&"all");
    let id = match kind {
        Kind::Snapshot => snapshot(&ec2, REGION, &users, public).await,
        Kind::Image => {
            let id = image(&ec2, &unique("ami"), &users).await;
            if public {
                ec2.modify_image_attribute()
                    .image_id(&id)
                    .launch_permission(
                        LaunchPermissionModifications::builder()
                            .add(
                                LaunchPermission::builder()
                                    .group(PermissionGroup::All)
                                    .build(),
                            )
                            .build(),
                    )
                    .send()
                    .await
                    .unwrap();
            }
            id
        }
        Kind::DbSnapshot => db_snapshot(&config, &unique("db"), targets).await,
        Kind::ClusterSnapshot => cluster_snapshot(&config, &unique("aurora"), targets).await,
    };
    (owner, config, id)
}

/// A manual Aurora cluster snapshot shared with `users`.
async fn cluster_snapshot(config: &SdkConfig, name: &str, users: &[&str]) -> String {
    let rds = aws_sdk_rds::Client::new(config);
    rds.create_db_cluster()
        .db_cluster_identifier(name)
        .engine("aurora-postgresql")
        .master_username("admin")
        .master_user_password("password-password")
        .send()
        .await
        .unwrap();
    let id = format!("{name}-snap");
    rds.create_db_cluster_snapshot()
        .db_cluster_identifier(name)
        .db_cluster_snapshot_identifier(&id)
        .send()
        .await
        .unwrap();
    rds.modify_db_cluster_snapshot_attribute()
        .db_cluster_snapshot_identifier(&id)
        .attribute_name("restore")
        .set_values_to_add(Some(users.iter().map(|u| (*u).to_owned()).collect()))
        .send()
        .await
        .unwrap();
    id
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// Each finding published, by target: (outcome, reason).
fn outcomes(findings: &[Finding]) -> HashMap<String, (Outcome, String)> {
    findings
        .iter()
        .map(|f| {
            let r = f
                .remediation
                .as_ref()
                .unwrap_or_else(|| panic!("no remediation in {}", f.to_json()));
            (f.user_id.clone(), (r.outcome, r.reason.clone()))
        })
        .collect()
}

async fn published(c: &Clients, t: &Topic, n: usize) -> Vec<Finding> {
    let got: Vec<Finding> = receive(c, t, n)
        .await
        .into_iter()
        .map(|m| m.finding)
        .collect();
    assert_eq!(got.len(), n, "{got:?}");
    got
}

/// `REMEDIATE=public` removes the public share and leaves the foreign account;
/// `REMEDIATE=untrusted` removes the untrusted account and keeps the trusted one (whose share
/// is no finding at all), for a resource of `kind`.
async fn both_modes(kind: Kind, n: u64) {
    let (c, t) = setup().await;
    let endpoint = &moto().endpoint;

    let (owner, config, id) = seeded(kind, n, &[FOREIGN, "all"]).await;
    let public = function(endpoint, &t, &[("REMEDIATE", "public")]).await;
    let (response, summary) = handle(&public, shared(kind, &owner, &id, &[FOREIGN, "all"])).await;
    assert!(response.is_ok(), "{response:?}");
    assert_eq!((summary.tally.published, summary.tally.remediated), (2, 1));
    let got = outcomes(&published(&c, &t, 2).await);
    assert_eq!(got["all"].0, Outcome::Done, "{got:?}");
    assert_eq!(got[FOREIGN].0, Outcome::NotAllowed, "{got:?}");
    assert!(got[FOREIGN].1.contains("public shares only"), "{got:?}");
    assert_eq!(shared_with(kind, &config, &id).await, set(&[FOREIGN]));

    let (owner, config, id) = seeded(kind, n + 1, &[FOREIGN, TRUSTED]).await;
    let untrusted = function(endpoint, &t, &[("REMEDIATE", "untrusted")]).await;
    let event = shared(kind, &owner, &id, &[FOREIGN, TRUSTED]);
    let (response, summary) = handle(&untrusted, event).await;
    assert!(response.is_ok(), "{response:?}");
    assert_eq!((summary.tally.published, summary.tally.remediated), (1, 1));
    let got = published(&c, &t, 1).await;
    let r = got[0].remediation.as_ref().unwrap();
    assert_eq!(
        (got[0].user_id.as_str(), r.outcome),
        (FOREIGN, Outcome::Done)
    );
    assert!(
        r.action.contains(FOREIGN),
        "the action names the target: {r:?}"
    );
    assert_eq!(shared_with(kind, &config, &id).await, set(&[TRUSTED]));
}

#[tokio::test]
async fn aws_an_ebs_snapshot_share_is_revoked_as_each_mode_says() {
    both_modes(Kind::Snapshot, 11).await;
}

#[tokio::test]
async fn aws_an_ami_share_is_revoked_as_each_mode_says() {
    both_modes(Kind::Image, 21).await;
}

#[tokio::test]
async fn aws_an_rds_snapshot_share_is_revoked_as_each_mode_says() {
    both_modes(Kind::DbSnapshot, 31).await;
}

#[tokio::test]
async fn aws_an_aurora_cluster_snapshot_share_is_revoked_as_each_mode_says() {
    both_modes(Kind::ClusterSnapshot, 121).await;
}

/// An AMI shared with another organization: removed under `untrusted` once `ORGANIZATION_ID`
/// says it is not ours; kept (`not_allowed`) while nothing says whose it is.
#[tokio::test]
async fn aws_an_ami_shared_with_a_foreign_organization_is_revoked_once_known_foreign() {
    let (c, t) = setup().await;
    let theirs = "arn:aws:organizations::222222222222:organization/o-theirs1234";
    let (owner, config, id) = seeded(Kind::Image, 131, &[]).await;
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let org = LaunchPermission::builder().organization_arn(theirs).build();
    let add = LaunchPermissionModifications::builder().add(org).build();
    ec2.modify_image_attribute()
        .image_id(&id)
        .launch_permission(add)
        .send()
        .await
        .unwrap();
    let mut event = shared(Kind::Image, &owner, &id, &[]);
    event["detail"]["requestParameters"]["launchPermission"]["add"]["items"] =
        json!([{ "organizationArn": theirs }]);
    let organizations = |ec2: aws_sdk_ec2::Client, id: String| async move {
        let out = ec2
            .describe_image_attribute()
            .image_id(id)
            .attribute(ImageAttributeName::LaunchPermission)
            .send()
            .await
            .unwrap();
        out.launch_permissions()
            .iter()
            .filter_map(|p| p.organization_arn().map(str::to_owned))
            .collect::<Vec<_>>()
    };

    let unknown = function(&moto().endpoint, &t, &[("REMEDIATE", "untrusted")]).await;
    handle(&unknown, event.clone()).await.0.unwrap();
    let r = published(&c, &t, 1).await.remove(0).remediation.unwrap();
    assert_eq!(r.outcome, Outcome::NotAllowed, "{r:?}");
    assert_eq!(organizations(ec2.clone(), id.clone()).await, [theirs]);

    let vars = [
        ("REMEDIATE", "untrusted"),
        ("ORGANIZATION_ID", "o-ours567890"),
    ];
    let known = function(&moto().endpoint, &t, &vars).await;
    event["detail"]["eventID"] = json!(unique("event"));
    handle(&known, event).await.0.unwrap();
    let r = published(&c, &t, 1).await.remove(0).remediation.unwrap();
    assert_eq!(r.outcome, Outcome::Done, "{r:?}");
    assert_eq!(
        r.action,
        format!("ModifyImageAttribute launchPermission remove organizationArn={theirs}")
    );
    assert!(organizations(ec2, id).await.is_empty());
}

#[tokio::test]
async fn aws_a_dry_run_changes_nothing_and_says_what_it_would_do() {
    let (c, t) = setup().await;
    let (owner, config, id) = seeded(Kind::Snapshot, 41, &[FOREIGN, "all"]).await;
    let vars = [("REMEDIATE", "untrusted"), ("REMEDIATE_DRY_RUN", "true")];
    let h = function(&moto().endpoint, &t, &vars).await;
    let (response, summary) =
        handle(&h, shared(Kind::Snapshot, &owner, &id, &[FOREIGN, "all"])).await;
    assert!(response.is_ok(), "{response:?}");
    assert_eq!(summary.tally.remediated, 0);
    let found = published(&c, &t, 2).await;
    for f in &found {
        let r = f.remediation.as_ref().unwrap();
        assert_eq!(r.outcome, Outcome::DryRun, "{r:?}");
        assert!(r.reason.contains("not removed"), "{r:?}");
        assert!(r
            .action
            .starts_with("ModifySnapshotAttribute createVolumePermission remove"));
    }
    assert_eq!(
        shared_with(Kind::Snapshot, &config, &id).await,
        set(&[FOREIGN, "all"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_a_removal_denied_by_iam_publishes_the_finding_as_failed_and_counts_it() {
    let (c, t) = setup().await;
    let (owner, config, id) = seeded(Kind::Snapshot, 51, &["all"]).await;
    let proxy = Proxy::start(moto().endpoint.trim_start_matches("http://")).await;
    // As EC2 refuses a call the role's policy does not allow.
    proxy.answer(
        &["Action=ModifySnapshotAttribute", "OperationType=remove"],
        403,
        "<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not \
         authorized to perform this operation.</Message></Error></Errors>\
         <RequestID>test-proxy</RequestID></Response>",
    );
    let h = function(&proxy.endpoint, &t, &[("REMEDIATE", "public")]).await;
    let (response, summary) = handle(&h, shared(Kind::Snapshot, &owner, &id, &["all"])).await;
    assert!(response.is_ok(), "the finding was delivered: {response:?}");
    assert_eq!(summary.tally.published, 1);
    assert_eq!(summary.tally.remediation_failures, 1);
    let found = published(&c, &t, 1).await;
    let r = found[0].remediation.as_ref().unwrap();
    assert_eq!(r.outcome, Outcome::Failed);
    assert!(r.reason.contains("UnauthorizedOperation"), "{r:?}");
    assert_eq!(
        shared_with(Kind::Snapshot, &config, &id).await,
        set(&["all"])
    );
    let metrics: Value = serde_json::from_str(&emf_line(&summary, "ns", "fn", 0)).unwrap();
    assert_eq!(metrics["RemediationFailures"], 1.0);
    let declared = metrics["_aws"]["CloudWatchMetrics"][0]["Metrics"].to_string();
    assert!(declared.contains("\"RemediationFailures\""), "{declared}");
}

#[tokio::test]
async fn aws_the_same_event_twice_removes_once_then_finds_it_gone() {
    let (c, t) = setup().await;
    let (owner, config, id) = seeded(Kind::Image, 61, &[FOREIGN, TRUSTED]).await;
    let h = function(&moto().endpoint, &t, &[("REMEDIATE", "untrusted")]).await;
    let event = shared(Kind::Image, &owner, &id, &[FOREIGN]);
    let mut seen = Vec::new();
    for _ in 0..2 {
        let (response, _) = handle(&h, event.clone()).await;
        assert!(response.is_ok(), "{response:?}");
        let f = published(&c, &t, 1).await.remove(0);
        seen.push(f.remediation.unwrap().outcome);
    }
    assert_eq!(seen, [Outcome::Done, Outcome::AlreadyGone]);
    assert_eq!(
        shared_with(Kind::Image, &config, &id).await,
        set(&[TRUSTED])
    );
}

#[tokio::test]
async fn aws_a_share_already_removed_by_a_person_is_left_as_it_is() {
    let (c, t) = setup().await;
    let (owner, config, id) = seeded(Kind::Snapshot, 71, &[FOREIGN, "all"]).await;
    aws_sdk_ec2::Client::new(&config)
        .modify_snapshot_attribute()
        .snapshot_id(&id)
        .attribute(SnapshotAttributeName::CreateVolumePermission)
        .operation_type(OperationType::Remove)
        .group_names("all")
        .send()
        .await
        .unwrap();
    let h = function(&moto().endpoint, &t, &[("REMEDIATE", "public")]).await;
    let (response, summary) = handle(&h, shared(Kind::Snapshot, &owner, &id, &["all"])).await;
    assert!(response.is_ok(), "{response:?}");
    assert_eq!(
        (summary.tally.remediated, summary.tally.remediation_failures),
        (0, 0)
    );
    let r = published(&c, &t, 1).await.remove(0).remediation.unwrap();
    assert_eq!(r.outcome, Outcome::AlreadyGone, "{r:?}");
    assert!(r.reason.contains("nothing removed"), "{r:?}");
    assert_eq!(
        shared_with(Kind::Snapshot, &config, &id).await,
        set(&[FOREIGN])
    );
}

/// The call remediation made comes back through the trail as a removal: the share rule reads it
/// as the resolution of the finding it closes (the same `share_id`), and a resolution is never
/// remediated itself.
#[tokio::test]
async fn aws_a_done_remediation_comes_back_as_the_resolution_of_its_finding() {
    let (c, t) = setup().await;
    let (owner, _, id) = seeded(Kind::Snapshot, 81, &["all"]).await;
    let h = function(&moto().endpoint, &t, &[("REMEDIATE", "public")]).await;
    handle(&h, shared(Kind::Snapshot, &owner, &id, &["all"]))
        .await
        .0
        .unwrap();
    let opened = published(&c, &t, 1).await.remove(0);
    assert_eq!(opened.remediation.as_ref().unwrap().outcome, Outcome::Done);

    // The record CloudTrail writes for the removal, made by the remediation role's session.
    let mut removal = json_file("events/eventbridge-share-removed.json");
    place(&mut removal, &owner);
    let d = &mut removal["detail"];
    d["requestParameters"]["snapshotId"] = json!(id);
    d["requestParameters"]["createVolumePermission"]["remove"]["items"] = json!([{"group": "all"}]);
    d["userIdentity"] = json!({"type": "AssumedRole", "accountId": owner,
        "arn": format!("arn:aws:sts::{owner}:assumed-role/{ROLE}/snapshot-share-detector-remediation")});
    let (response, summary) = handle(&h, removal).await;
    assert!(response.is_ok(), "{response:?}");
    assert_eq!(
        (summary.tally.remediated, summary.tally.remediation_failures),
        (0, 0)
    );
    let closed = published(&c, &t, 1).await.remove(0);
    assert_eq!(closed.status, Status::Resolved);
    assert_eq!(
        closed.share_id, opened.share_id,
        "it closes the finding it remediated"
    );
    assert_eq!(closed.remediation, None, "a resolution is never remediated");
}

/// What `summary` says remediation did: (done, failed).
fn counts(summary: &Summary) -> (u64, u64) {
    (summary.tally.remediated, summary.tally.remediation_failures)
}

#[tokio::test]
async fn aws_a_resource_of_another_account_without_a_role_is_not_touched() {
    let (c, t) = setup().await;
    let (owner, config, id) = seeded(Kind::DbSnapshot, 91, &["all"]).await;
    let h = function(
        &moto().endpoint,
        &t,
        &[("REMEDIATE", "public"), ("REMEDIATION_ROLE_NAME", "")],
    )
    .await;
    let (response, summary) = handle(&h, shared(Kind::DbSnapshot, &owner, &id, &["all"])).await;
    assert!(response.is_ok(), "{response:?}");
    assert_eq!(counts(&summary), (0, 0));
    let r = published(&c, &t, 1).await.remove(0).remediation.unwrap();
    assert_eq!(r.outcome, Outcome::NotAllowed, "{r:?}");
    assert!(r.reason.contains("REMEDIATION_ROLE_NAME"), "{r:?}");
    assert_eq!(
        shared_with(Kind::DbSnapshot, &config, &id).await,
        set(&["all"])
    );
}

/// The binary, pointed at `endpoint`, with remediation configured as the function's would be.
fn binary(endpoint: &str, topic: &Topic, args: &[&str]) -> std::process::Output {
    use support::moto::AtMoto;
    std::process::Command::new(env!("CARGO_BIN_EXE_snapshot-share-detector"))
        .args(args)
        .args(["--format", "json", "--quiet"])
        .at_moto(endpoint)
        .env("FINDINGS_TOPIC_ARN", &topic.arn)
        .env("REMEDIATE", "public")
        .env("REMEDIATION_ROLE_NAME", ROLE)
        .env_remove("AUDIT_ROLE_NAME")
        .env_remove("REMEDIATE_DRY_RUN")
        .output()
        .unwrap()
}

/// History is history: `scan --publish` publishes a past share as it was, and removes it only
/// when `--remediate` says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_scan_publish_remediates_only_with_remediate() {
    let (c, t) = setup().await;
    let (owner, config, id) = seeded(Kind::Snapshot, 101, &["all"]).await;
    let dir = std::env::temp_dir().join(unique("remediate-scan"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("share.json");
    let event = shared(Kind::Snapshot, &owner, &id, &["all"]);
    std::fs::write(&file, event.to_string()).unwrap();
    let path = file.to_str().unwrap().to_owned();
    let endpoint = moto().endpoint.clone();

    let (e, p, topic) = (endpoint.clone(), path.clone(), t.clone());
    let out = tokio::task::spawn_blocking(move || binary(&e, &topic, &["scan", &p, "--publish"]))
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let f = published(&c, &t, 1).await.remove(0);
    assert_eq!(
        f.remediation, None,
        "no --remediate: nothing done, nothing said"
    );
    assert_eq!(
        shared_with(Kind::Snapshot, &config, &id).await,
        set(&["all"])
    );

    let topic = t.clone();
    let out = tokio::task::spawn_blocking(move || {
        binary(
            &endpoint,
            &topic,
            &["scan", &path, "--publish", "--remediate"],
        )
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let f = published(&c, &t, 1).await.remove(0);
    assert_eq!(f.remediation.unwrap().outcome, Outcome::Done);
    assert!(shared_with(Kind::Snapshot, &config, &id).await.is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `audit --remediate` revokes what the audit finds exposed now, under the same mode, and
/// `--remediate` without a mode is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_audit_remediate_revokes_what_it_finds() {
    let (c, t) = setup().await;
    let (owner, config, public) = seeded(Kind::Snapshot, 111, &[FOREIGN, "all"]).await;
    let proxy = Proxy::start(moto().endpoint.trim_start_matches("http://")).await;
    support::seed::block_public_access(&proxy, &[(REGION, "unblocked")]);
    let (endpoint, topic) = (proxy.endpoint.clone(), t.clone());
    let args = [
        "audit",
        "--account",
        &owner,
        "--region",
        REGION,
        "--role-name",
        ROLE,
        "--publish",
        "--remediate",
    ]
    .map(str::to_owned);
    let out = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        binary(&endpoint, &topic, &args)
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = outcomes(&published(&c, &t, 2).await);
    assert_eq!(got["all"].0, Outcome::Done, "{got:?}");
    assert_eq!(got[FOREIGN].0, Outcome::NotAllowed, "{got:?}");
    assert_eq!(
        shared_with(Kind::Snapshot, &config, &public).await,
        set(&[FOREIGN])
    );

    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_snapshot-share-detector"))
        .args(["audit", "--remediate"])
        .env_remove("REMEDIATE")
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("--remediate needs REMEDIATE"), "{said}");
}

/// Block public access for snapshots switched off: with `REMEDIATE_BLOCK_PUBLIC_ACCESS` the
/// function reads the state and switches it back on. moto lacks both calls
/// (`GetSnapshotBlockPublicAccessState`, `EnableSnapshotBlockPublicAccess`): the test proxy
/// answers them as the EC2 API reference documents their responses, and counts the calls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_block_public_access_switched_off_is_switched_back_on_when_asked() {
    let (c, t) = setup().await;
    let owner = account(141);
    let proxy = Proxy::start(moto().endpoint.trim_start_matches("http://")).await;
    let read = ["Action=GetSnapshotBlockPublicAccessState"];
    let enable = [
        "Action=EnableSnapshotBlockPublicAccess",
        "State=block-all-sharing",
    ];
    proxy.answer(
        &read,
        200,
        "<GetSnapshotBlockPublicAccessStateResponse \
         xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>test-proxy</requestId>\
         <state>unblocked</state></GetSnapshotBlockPublicAccessStateResponse>",
    );
    proxy.answer(
        &enable,
        200,
        "<EnableSnapshotBlockPublicAccessResponse \
         xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>test-proxy</requestId>\
         <state>block-all-sharing</state></EnableSnapshotBlockPublicAccessResponse>",
    );
    let mut event = json_file("events/eventbridge-snapshot-block-public-access-disabled.json");
    place(&mut event, &owner);

    let not_asked = function(&proxy.endpoint, &t, &[("REMEDIATE", "public")]).await;
    handle(&not_asked, event.clone()).await.0.unwrap();
    assert_eq!(published(&c, &t, 1).await[0].remediation, None, "not asked");
    assert_eq!(proxy.answered(&read), 0);

    let vars = [
        ("REMEDIATE", "public"),
        ("REMEDIATE_BLOCK_PUBLIC_ACCESS", "block-all-sharing"),
        ("REMEDIATE_DRY_RUN", "true"),
    ];
    let dry = function(&proxy.endpoint, &t, &vars).await;
    handle(&dry, event.clone()).await.0.unwrap();
    let r = published(&c, &t, 1).await.remove(0).remediation.unwrap();
    assert_eq!(r.outcome, Outcome::DryRun, "{r:?}");
    assert_eq!((proxy.answered(&read), proxy.answered(&enable)), (1, 0));

    let on = function(&proxy.endpoint, &t, &vars[..2]).await;
    let (response, summary) = handle(&on, event).await;
    assert!(response.is_ok(), "{response:?}");
    assert_eq!(counts(&summary), (1, 0));
    let r = published(&c, &t, 1).await.remove(0).remediation.unwrap();
    assert_eq!(r.outcome, Outcome::Done, "{r:?}");
    assert_eq!(
        r.action,
        "EnableSnapshotBlockPublicAccess State=block-all-sharing"
    );
    assert!(r.reason.contains("was unblocked"), "{r:?}");
    assert_eq!((proxy.answered(&read), proxy.answered(&enable)), (2, 1));
}
