//! The audit against moto: each account's snapshots, AMIs and RDS snapshots as they are shared
//! now, read through the SDK's EC2, RDS, STS and Organizations clients. moto lacks the block
//! public access state queries (`GetSnapshotBlockPublicAccessState`,
//! `GetImageBlockPublicAccessState`): the test proxy answers them as the EC2 API reference
//! documents their responses, per region. Each test works in accounts of its own, entered by
//! assuming a role as the audit does (moto gives each account its own resources).

mod support;

use std::collections::BTreeSet;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use aws_sdk_ec2::types::{
    LaunchPermission, LaunchPermissionModifications, OperationType, SnapshotAttributeName,
};
use support::audit::{
    account, bare_proxy, block_public_access, enter, proxy, snapshot, FOREIGN, ROLE, TRUSTED,
};
use support::moto::{moto, AtMoto};
use support::proxy::Proxy;

/// An AMI of a new instance, its launch permission given to `users`.
async fn image(ec2: &aws_sdk_ec2::Client, name: &str, users: &[&str]) -> String {
    let instance = ec2
        .run_instances()
        .image_id("ami-12c6146b")
        .min_count(1)
        .max_count(1)
        .send()
        .await
        .unwrap();
    let instance = instance.instances()[0].instance_id().unwrap().to_owned();
    let id = ec2
        .create_image()
        .instance_id(instance)
        .name(name)
        .send()
        .await
        .unwrap()
        .image_id
        .unwrap();
    if !users.is_empty() {
        let add = users
            .iter()
            .map(|u| LaunchPermission::builder().user_id(*u).build())
            .collect();
        ec2.modify_image_attribute()
            .image_id(&id)
            .launch_permission(
                LaunchPermissionModifications::builder()
                    .set_add(Some(add))
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
    id
}

/// A manual RDS snapshot shared with `users`.
async fn db_snapshot(config: &SdkConfig, name: &str, users: &[&str]) -> String {
    let rds = aws_sdk_rds::Client::new(config);
    rds.create_db_instance()
        .db_instance_identifier(name)
        .db_instance_class("db.t3.micro")
        .engine("postgres")
        .master_username("admin")
        .master_user_password("password-password")
        .allocated_storage(20)
        .send()
        .await
        .unwrap();
    let id = format!("{name}-snap");
    rds.create_db_snapshot()
        .db_instance_identifier(name)
        .db_snapshot_identifier(&id)
        .send()
        .await
        .unwrap();
    rds.modify_db_snapshot_attribute()
        .db_snapshot_identifier(&id)
        .attribute_name("restore")
        .set_values_to_add(Some(users.iter().map(|u| (*u).to_owned()).collect()))
        .send()
        .await
        .unwrap();
    id
}

/// `AssumeRole` of the audit role in `account` refused, as STS refuses it.
fn refuse_role(proxy: &Proxy, account: &str) {
    proxy.answer(
        &["Action=AssumeRole", &format!("iam%3A%3A{account}%3Arole")],
        403,
        &format!(
            "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error>\
             <Type>Sender</Type><Code>AccessDenied</Code><Message>User is not authorized to \
             perform: sts:AssumeRole on resource: arn:aws:iam::{account}:role/{ROLE}</Message>\
             </Error><RequestId>test-proxy</RequestId></ErrorResponse>"
        ),
    );
}

/// Runs `audit ARGS --format json` against `endpoint`; a run past two minutes is killed, so
/// that a hang fails the test with what the binary said instead of stalling the suite. It
/// blocks its thread: the tests run on two workers, so that the proxy serves meanwhile.
fn audit(endpoint: &str, args: &[&str]) -> Output {
    audit_with(endpoint, args, &[])
}

/// [`audit`] with `env` added.
fn audit_with(endpoint: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_snapshot-share-detector"))
        .arg("audit")
        .args(args)
        .args(["--format", "json"])
        .at_moto(endpoint)
        .env("TRUSTED_ACCOUNT_IDS", TRUSTED)
        .env("RUST_LOG", "info")
        .env_remove("FINDINGS_TOPIC_ARN")
        .env_remove("AUDIT_ROLE_NAME")
        .env_remove("AUDIT_REGIONS")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    child.wait_with_output().unwrap()
}

/// (account, region, resource id, target, severity) of each exposure printed.
fn exposures(out: &Output) -> BTreeSet<(String, String, String, String, String)> {
    let found = support::output::findings(out);
    let set: BTreeSet<_> = found
        .iter()
        .map(|f| {
            let id = ["snapshotId", "imageId", "dbSnapshotIdentifier"]
                .iter()
                .find_map(|k| f[*k].as_str())
                .unwrap_or_else(|| panic!("no resource id: {f}"));
            (
                f["cloud"]["account"]["id"].as_str().unwrap().to_owned(),
                f["cloud"]["region"].as_str().unwrap().to_owned(),
                id.to_owned(),
                f["userId"].as_str().unwrap().to_owned(),
                f["rule"]["severity"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(set.len(), found.len(), "an exposure printed twice");
    set
}

fn row(
    a: &str,
    r: &str,
    id: &str,
    to: &str,
    sev: &str,
) -> (String, String, String, String, String) {
    (a.into(), r.into(), id.into(), to.into(), sev.into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_audit_prints_each_exposure_once_in_two_regions() {
    let acct = account(1);
    let mut expected = BTreeSet::new();
    for region in ["eu-west-1", "us-east-1"] {
        let config = enter(&acct, region).await;
        let ec2 = aws_sdk_ec2::Client::new(&config);
        let foreign = snapshot(&ec2, region, &[FOREIGN], false).await;
        let public = snapshot(&ec2, region, &[], true).await;
        snapshot(&ec2, region, &[], false).await;
        snapshot(&ec2, region, &[TRUSTED], false).await;
        let shared_ami = image(&ec2, "shared", &[FOREIGN]).await;
        image(&ec2, "private", &[]).await;
        expected.insert(row(&acct, region, &foreign, FOREIGN, "medium"));
        expected.insert(row(&acct, region, &shared_ami, FOREIGN, "medium"));
        // eu-west-1 blocks all sharing: its public snapshot is unreachable, and rated low.
        let severity = if region == "eu-west-1" { "low" } else { "high" };
        expected.insert(row(&acct, region, &public, "all", severity));
    }
    let config = enter(&acct, "eu-west-1").await;
    let db = db_snapshot(&config, &format!("db{acct}"), &[FOREIGN, TRUSTED]).await;
    expected.insert(row(&acct, "eu-west-1", &db, FOREIGN, "medium"));

    let proxy = proxy(&[
        ("eu-west-1", "block-all-sharing"),
        ("us-east-1", "unblocked"),
    ])
    .await;
    let out = audit(
        &proxy.endpoint,
        &[
            "--account",
            &acct,
            "--role-name",
            ROLE,
            "--region",
            "eu-west-1,us-east-1",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(exposures(&out), expected, "{stderr}");
    assert!(stderr.contains("audited 1 accounts, 2 regions"), "{stderr}");
    let unreachable = support::output::findings(&out)
        .into_iter()
        .find(|f| f["rule"]["severity"] == "low")
        .unwrap();
    assert_eq!(unreachable["audit"]["reachable"], false);
    assert_eq!(
        unreachable["audit"]["block_public_access"],
        "block-all-sharing"
    );
    assert_eq!(unreachable["event"]["kind"], "state");

    // Audited again: the same ids, so that the idempotency store alerts once.
    let again = audit(
        &proxy.endpoint,
        &[
            "--account",
            &acct,
            "--role-name",
            ROLE,
            "--region",
            "eu-west-1,us-east-1",
        ],
    );
    let ids = |o: &Output| -> BTreeSet<String> {
        support::output::findings(o)
            .iter()
            .map(|f| f["finding_id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids(&out), ids(&again));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_an_account_that_cannot_be_entered_is_named_and_the_others_are_audited() {
    let (open, closed) = (account(2), account(3));
    let config = enter(&open, "eu-west-1").await;
    let shared = snapshot(
        &aws_sdk_ec2::Client::new(&config),
        "eu-west-1",
        &[FOREIGN],
        false,
    )
    .await;
    let proxy = proxy(&[("eu-west-1", "unblocked")]).await;
    refuse_role(&proxy, &closed);
    let accounts = format!("{open},{closed}");
    let out = audit(
        &proxy.endpoint,
        &[
            "--account",
            &accounts,
            "--role-name",
            ROLE,
            "--region",
            "eu-west-1",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("error: account {closed}: cannot assume")),
        "{stderr}"
    );
    assert!(stderr.contains("AccessDenied"), "{stderr}");
    assert_eq!(
        exposures(&out),
        BTreeSet::from([row(&open, "eu-west-1", &shared, FOREIGN, "medium")])
    );
}

/// moto's organization, made once for the tests of this file (moto has one per server): its
/// two member accounts.
#[tokio::test(flavor = "multi_thread")]
async fn aws_an_exposure_the_audit_no_longer_sees_is_resolved_in_security_hub() {
    // The hub's region: of this test alone (moto keeps one hub per account and region).
    const HUB: &str = "ap-southeast-3";
    let acct = account(5);
    let config = enter(&acct, "eu-west-1").await;
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let kept = snapshot(&ec2, "eu-west-1", &[FOREIGN], false).await;
    let ended = snapshot(&ec2, "eu-west-1", &[FOREIGN], false).await;
    let c = support::moto::clients(moto()).await;
    let topic = support::moto::topic(&c, false).await;
    let hub = support::securityhub::hub(HUB).await;
    let proxy = proxy(&[("eu-west-1", "unblocked")]).await;
    support::securityhub::answer_batch_update(&proxy);
    let args = [
        "--account",
        &acct,
        "--role-name",
        ROLE,
        "--region",
        "eu-west-1",
        "--publish",
    ];
    let env = [
        ("SECURITY_HUB", "true"),
        ("FINDINGS_TOPIC_ARN", topic.arn.as_str()),
        ("AWS_REGION", HUB),
    ];
    let id_of = |out: &Output, snapshot: &str| -> String {
        let found = support::output::findings(out);
        let f = found.iter().find(|f| f["snapshotId"] == snapshot).unwrap();
        f["finding_id"].as_str().unwrap().to_owned()
    };

    let first = audit_with(&proxy.endpoint, &args, &env);
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert_eq!(first.status.code(), Some(0), "{stderr}");
    let (kept_id, ended_id) = (id_of(&first, &kept), id_of(&first, &ended));
    let open = support::securityhub::imported(&hub).await;
    for id in [&kept_id, &ended_id] {
        assert_eq!(
            support::securityhub::state(&open[id]),
            ("ACTIVE".to_owned(), "NEW".to_owned())
        );
    }
    assert_eq!(support::moto::receive(&c, &topic, 2).await.len(), 2);

    // Someone removes one share; the next audit no longer sees it, and resolves it.
    ec2.modify_snapshot_attribute()
        .snapshot_id(&ended)
        .attribute(SnapshotAttributeName::CreateVolumePermission)
        .operation_type(OperationType::Remove)
        .user_ids(FOREIGN)
        .send()
        .await
        .unwrap();
    let second = audit_with(&proxy.endpoint, &args, &env);
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains(", 1 resolved,"), "{stderr}");
    let printed = support::output::findings(&second);
    let resolution = printed.iter().find(|f| f["status"] == "resolved").unwrap();
    assert_eq!(resolution["finding_id"], ended_id.as_str());
    assert_eq!(resolution["snapshotId"], ended.as_str());
    let after = support::securityhub::imported(&hub).await;
    assert_eq!(
        after.len(),
        open.len(),
        "the resolution made no new finding"
    );
    assert_eq!(
        support::securityhub::state(&after[&ended_id]),
        ("ARCHIVED".to_owned(), "RESOLVED".to_owned())
    );
    assert_eq!(support::securityhub::state(&after[&kept_id]).0, "ACTIVE");
    let asked = proxy.heard(support::securityhub::BATCH_UPDATE);
    assert!(asked.iter().any(|a| a.contains(&ended_id)), "{asked:?}");
    let got = support::moto::receive(&c, &topic, 2).await;
    let resolved: Vec<_> = got
        .iter()
        .filter(|m| m.attributes["status"].1 == "resolved")
        .collect();
    assert_eq!(resolved.len(), 1);
    assert_eq!(resolved[0].finding.finding_id, ended_id);

    // A third audit sees the same: nothing more to resolve.
    let third = audit_with(&proxy.endpoint, &args, &env);
    let stderr = String::from_utf8_lossy(&third.stderr);
    assert!(!stderr.contains("resolved"), "{stderr}");
}

async fn organization() -> &'static [String] {
    static MEMBERS: tokio::sync::OnceCell<Vec<String>> = tokio::sync::OnceCell::const_new();
    MEMBERS
        .get_or_init(|| async {
            let base = support::moto::sdk_config(&moto().endpoint).await;
            let org = aws_sdk_organizations::Client::new(&base);
            org.create_organization().send().await.unwrap();
            let mut members = Vec::new();
            for name in ["member-a", "member-b"] {
                let created = org
                    .create_account()
                    .account_name(name)
                    .email(format!("{name}@example.com"))
                    .send()
                    .await
                    .unwrap();
                members.push(created.create_account_status.unwrap().account_id.unwrap());
            }
            members
        })
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_audit_of_the_organization_reads_every_member() {
    let members = organization().await;
    let mut expected = BTreeSet::new();
    for member in members {
        let config = enter(member, "eu-west-1").await;
        let id = snapshot(
            &aws_sdk_ec2::Client::new(&config),
            "eu-west-1",
            &[FOREIGN],
            false,
        )
        .await;
        expected.insert(row(member, "eu-west-1", &id, FOREIGN, "medium"));
    }
    let proxy = proxy(&[("eu-west-1", "unblocked")]).await;
    let out = audit(
        &proxy.endpoint,
        &[
            "--organization",
            "--role-name",
            ROLE,
            "--region",
            "eu-west-1",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    // The management account and both members, each entered through the role.
    assert!(stderr.contains("audited 3 accounts, 3 regions"), "{stderr}");
    let found: BTreeSet<_> = exposures(&out)
        .into_iter()
        .filter(|e| members.contains(&e.0))
        .collect();
    assert_eq!(found, expected, "{stderr}");
}

/// An active finding of an organization analyzer, as the Access Analyzer API reference
/// documents `ListFindings`' `FindingSummary`.
fn analyzer_finding(owner: &str, resource_type: &str, arn: &str, principal: &str) -> String {
    let public = principal == "*";
    format!(
        r#"{{"id":"{arn}-{principal}","principal":{{"AWS":"{principal}"}},
        "action":["ec2:CreateVolume"],"resource":"{arn}","isPublic":{public},
        "resourceType":"{resource_type}","condition":{{}},"createdAt":"2026-12-01T00:00:00Z",
        "analyzedAt":"2026-12-01T00:00:00Z","updatedAt":"2026-12-01T00:00:00Z",
        "status":"ACTIVE","resourceOwnerAccount":"{owner}"}}"#
    )
}

/// `ListAnalyzers` as the API reference documents it: the organization analyzer `arn` in
/// eu-west-1, none in us-east-1.
fn analyzers(proxy: &Proxy, arn: &str) {
    let answers = [
        (
            "eu-west-1",
            format!(
                r#"{{"analyzers":[{{"arn":"{arn}","name":"org","type":"ORGANIZATION",
                "createdAt":"2026-01-01T00:00:00Z","status":"ACTIVE"}}]}}"#
            ),
        ),
        ("us-east-1", r#"{"analyzers":[]}"#.to_owned()),
    ];
    for (region, body) in answers {
        let scope = format!("/{region}/access-analyzer/aws4_request");
        proxy.answer_as(&["GET /analyzer", &scope], 200, "application/json", &body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_access_analyzer_findings_replace_the_reads_they_cover() {
    let acct = account(4);
    let region = "eu-west-1";
    let config = enter(&acct, region).await;
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let foreign = snapshot(&ec2, region, &[FOREIGN], false).await;
    let public = snapshot(&ec2, region, &[], true).await;
    let ami = image(&ec2, "shared-aa", &[FOREIGN]).await;
    let db = db_snapshot(&config, &format!("aa{acct}"), &[FOREIGN, TRUSTED]).await;
    let us_config = enter(&acct, "us-east-1").await;
    let us = snapshot(
        &aws_sdk_ec2::Client::new(&us_config),
        "us-east-1",
        &[FOREIGN],
        false,
    )
    .await;
    let args = [
        "--account",
        &acct,
        "--role-name",
        ROLE,
        "--region",
        "eu-west-1,us-east-1",
    ];
    let plain = proxy(&[(region, "unblocked"), ("us-east-1", "unblocked")]).await;
    let read = audit(&plain.endpoint, &args);
    assert_eq!(read.status.code(), Some(0));

    // The analyzer of eu-west-1 knows the shared snapshots; us-east-1 has none.
    let proxy = proxy(&[(region, "unblocked"), ("us-east-1", "unblocked")]).await;
    let arn = "arn:aws:access-analyzer:eu-west-1:123456789012:analyzer/org";
    let scope = |service: &str, region: &str| format!("/{region}/{service}/aws4_request");
    analyzers(&proxy, arn);
    let findings = [
        analyzer_finding(
            &acct,
            "AWS::EC2::Snapshot",
            &format!("arn:aws:ec2:{region}:{acct}:snapshot/{foreign}"),
            FOREIGN,
        ),
        analyzer_finding(
            &acct,
            "AWS::EC2::Snapshot",
            &format!("arn:aws:ec2:{region}:{acct}:snapshot/{public}"),
            "*",
        ),
        analyzer_finding(
            &acct,
            "AWS::RDS::DBSnapshot",
            &format!("arn:aws:rds:{region}:{acct}:snapshot:{db}"),
            FOREIGN,
        ),
        // An account analyzer would report the trusted account too: still no exposure.
        analyzer_finding(
            &acct,
            "AWS::RDS::DBSnapshot",
            &format!("arn:aws:rds:{region}:{acct}:snapshot:{db}"),
            TRUSTED,
        ),
    ];
    // Answered only when the request asks for the audited account's findings, archived ones
    // included.
    proxy.answer_as(
        &[
            "POST /finding HTTP",
            &scope("access-analyzer", region),
            "resourceOwnerAccount",
            &acct,
            // Archived findings are shares all the same.
            r#""status":{"eq":["ACTIVE","ARCHIVED"]}"#,
        ],
        200,
        "application/json",
        &format!(r#"{{"findings":[{}]}}"#, findings.join(",")),
    );
    // What the analyzer covers is never read in eu-west-1: those calls are refused, so that
    // any of them would make the audit incomplete.
    let refused = "refused by the test: covered by Access Analyzer";
    for call in [
        "Action=DescribeSnapshots",
        "Action=DescribeSnapshotAttribute",
    ] {
        proxy.answer(
            &[call, "eu-west-1/"],
            403,
            &format!(
                "<Response><Errors><Error><Code>UnauthorizedOperation</Code>\
                 <Message>{refused}</Message></Error></Errors></Response>"
            ),
        );
    }
    for call in [
        "Action=DescribeDBSnapshots",
        "Action=DescribeDBClusterSnapshots",
    ] {
        proxy.answer(
            &[call, "eu-west-1/"],
            403,
            &format!(
                "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>\
                 <Message>{refused}</Message></Error></ErrorResponse>"
            ),
        );
    }
    let mut with_analyzer = args.to_vec();
    with_analyzer.extend(["--access-analyzer", "auto"]);
    let out = audit(&proxy.endpoint, &with_analyzer);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("(3 from Access Analyzer)"), "{stderr}");
    assert!(
        stderr.contains(
            "note: Access Analyzer: no active external-access analyzer in us-east-1; its \
             snapshots are read one by one"
        ),
        "{stderr}"
    );
    // The same exposures, with the same ids, as when each resource is read.
    assert_eq!(exposures(&out), exposures(&read));
    let ids = |o: &Output| -> BTreeSet<String> {
        support::output::findings(o)
            .iter()
            .map(|f| f["finding_id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids(&out), ids(&read));
    let expected = BTreeSet::from([
        row(&acct, region, &foreign, FOREIGN, "medium"),
        row(&acct, region, &public, "all", "high"),
        row(&acct, region, &ami, FOREIGN, "medium"),
        row(&acct, region, &db, FOREIGN, "medium"),
        row(&acct, "us-east-1", &us, FOREIGN, "medium"),
    ]);
    assert_eq!(exposures(&out), expected, "{stderr}");
    // Each finding says where it came from.
    for f in support::output::findings(&out) {
        let from_analyzer = f["cloud"]["region"] == region && f["imageId"].is_null();
        if from_analyzer {
            assert_eq!(f["audit"]["analyzer"], arn, "{f}");
            assert_eq!(f["event"]["action"], "ListFindings", "{f}");
        } else {
            assert!(f["audit"]["analyzer"].is_null(), "{f}");
        }
    }

    // An analyzer whose findings cannot be read: named, and its region read one by one.
    analyzers(&plain, arn);
    plain.answer_as(
        &["POST /finding HTTP"],
        403,
        "application/json",
        r#"{"__type":"AccessDeniedException",
        "message":"User is not authorized to perform: access-analyzer:ListFindings"}"#,
    );
    let denied = audit(&plain.endpoint, &with_analyzer);
    let stderr = String::from_utf8_lossy(&denied.stderr);
    assert_eq!(denied.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "note: Access Analyzer in eu-west-1: ListFindings of {arn}: AccessDeniedException: User \
             is not authorized to perform: access-analyzer:ListFindings (HTTP 403); its snapshots \
             are read one by one"
        )),
        "{stderr}"
    );
    assert_eq!(ids(&denied), ids(&read));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_on_a_terminal_the_audit_draws_its_progress_line_then_erases_it() {
    let acct = account(5);
    let config = enter(&acct, "eu-west-1").await;
    snapshot(
        &aws_sdk_ec2::Client::new(&config),
        "eu-west-1",
        &[FOREIGN],
        false,
    )
    .await;
    // A slow answer keeps the audit running long enough for the line to be drawn (every
    // 250 ms).
    let proxy = bare_proxy().await;
    proxy.answer_later(
        &["Action=GetImageBlockPublicAccessState"],
        Duration::from_millis(1200),
        200,
        "text/xml",
        "<GetImageBlockPublicAccessStateResponse \
         xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>test-proxy</requestId>\
         <imageBlockPublicAccessState>unblocked</imageBlockPublicAccessState>\
         </GetImageBlockPublicAccessStateResponse>",
    );
    block_public_access(&proxy, &[("eu-west-1", "unblocked")]);
    let env = [
        ("AWS_ENDPOINT_URL", proxy.endpoint.as_str()),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];
    let args = [
        "audit",
        "--account",
        &acct,
        "--role-name",
        ROLE,
        "--region",
        "eu-west-1",
        "--format",
        "json",
    ];
    let bin = env!("CARGO_BIN_EXE_snapshot-share-detector");
    let unset = [
        "FINDINGS_TOPIC_ARN",
        "AUDIT_ROLE_NAME",
        "AUDIT_REGIONS",
        "RUST_LOG",
    ];
    // The proxy serves on the runtime's other worker meanwhile.
    let shown = tokio::task::block_in_place(|| {
        support::terminal::on_terminal(bin, &args, &env, &unset, None)
    });
    let Some(shown) = shown else { return };
    assert!(
        shown.contains("\r\x1b[2Kaudit: 0/1 accounts, 0/1 regions, "),
        "{shown:?}"
    );
    assert!(shown.contains("resources read, "), "{shown:?}");
    // Erased before the summary, which stays.
    let summary = shown.find("audited 1 accounts, 1 regions").unwrap();
    assert!(shown[..summary].ends_with("\r\x1b[2K"), "{shown:?}");
}

/// The function's audit invocations as the template's state machine sends them, inside the
/// Lambda runtime emulator (`cargo lambda watch`): the plan of the organization, the audit of
/// one account (its exposure on SNS), and an account whose role is refused (the invocation
/// fails, naming it, so that the state machine retries and reports it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_audit_invocations_run_inside_the_lambda_emulator() {
    use support::lambda::{free_port, invoke, read, require_cargo_lambda, start_watch};
    let moto = moto();
    require_cargo_lambda();
    let (open, closed) = (account(6), account(7));
    let config = enter(&open, "eu-west-1").await;
    let shared = snapshot(
        &aws_sdk_ec2::Client::new(&config),
        "eu-west-1",
        &[FOREIGN, TRUSTED],
        false,
    )
    .await;
    let c = support::moto::clients(moto).await;
    let topic = support::moto::topic(&c, false).await;
    let members = organization().await;
    let proxy = proxy(&[("eu-west-1", "unblocked")]).await;
    refuse_role(&proxy, &closed);
    let port = free_port();
    let watch = start_watch(
        port,
        &proxy.endpoint,
        &topic.arn,
        &[
            ("AUDIT_ROLE_NAME", ROLE),
            ("AUDIT_REGIONS", "eu-west-1"),
            ("TRUSTED_ACCOUNT_IDS", TRUSTED),
        ],
    );
    let call = |name: &str, event: serde_json::Value| {
        let file = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("audit-{name}-{}.json", std::process::id()));
        std::fs::write(&file, event.to_string()).unwrap();
        tokio::task::block_in_place(|| invoke(port, &file))
    };

    let out = call(
        "plan",
        serde_json::json!({"audit": {"plan": "organization"}}),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", read(&watch.log));
    let plan: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let accounts: Vec<&str> = plan["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    // The management account (moto's default) and the members, sorted.
    let mut expected: Vec<&str> = members.iter().map(String::as_str).collect();
    expected.push("123456789012");
    expected.sort();
    assert_eq!(accounts, expected, "{plan}");

    let out = call("open", serde_json::json!({"audit": {"accounts": [open]}}));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", read(&watch.log));
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        (
            &report["accounts"],
            &report["regions"],
            &report["exposures"],
            &report["delivered"]
        ),
        (&1.into(), &1.into(), &1.into(), &1.into()),
        "{report}"
    );
    let got = support::moto::receive(&c, &topic, 1).await;
    assert_eq!(got.len(), 1);
    let finding = &got[0].finding;
    assert_eq!(finding.rule.id, "d3c4fc1a-6713-4304-9e11-cc1ce30d28dc");
    assert_eq!(
        finding.user_id, FOREIGN,
        "the trusted account is no exposure"
    );
    assert_eq!(finding.resource.id.as_deref(), Some(shared.as_str()));

    let out = call(
        "closed",
        serde_json::json!({"audit": {"accounts": [closed]}}),
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("unreadable: {closed}: cannot assume"))
            && stderr.contains("AccessDenied"),
        "{stderr}"
    );
}
