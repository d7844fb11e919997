//! The template's settings, read as data: the function's runtime, logging and failure
//! destinations, the settings `Cargo.toml` repeats for `cargo lambda deploy` and samconfig.toml
//! leaves out, resource names and deletion policies, the rules that refuse parameters that
//! cannot work, the idempotency table and the organization's accounts.

mod support;

use serde_json::{json, Value};
use support::cfn::{resources, strings, template, with_action};
use support::stack::{assert_refusals, Stack, TRAIL_TOPIC};

#[test]
fn the_notification_format_reaches_the_function() {
    let t = template();
    let p = &t["Parameters"]["NotificationFormat"];
    assert_eq!(p["Default"], "json");
    assert_eq!(p["AllowedValues"], json!(["json", "chatbot"]));
    let stack = Stack::new(&t, &[("NotificationFormat", "chatbot")]);
    let env = &stack.properties("DetectorFunction")["Environment"]["Variables"];
    assert_eq!(env["NOTIFICATION_FORMAT"], "chatbot");
}

#[test]
fn the_function_is_arm64_al2023_with_failure_destinations() {
    let t = template();
    let f = &t["Resources"]["DetectorFunction"];
    assert_eq!(f["Metadata"]["BuildMethod"], "rust-cargolambda");
    let p = &f["Properties"];
    assert_eq!(p["Runtime"], "provided.al2023");
    assert_eq!(p["Handler"], "bootstrap");
    assert_eq!(p["Architectures"], json!(["arm64"]));
    assert_eq!(p["LoggingConfig"]["LogFormat"], "JSON");
    assert!(p["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]["Destination"].is_object());
    let mapping = &t["Resources"]["TrailQueueMapping"]["Properties"];
    assert_eq!(
        mapping["FunctionResponseTypes"],
        json!(["ReportBatchItemFailures"])
    );
    let queue = &t["Resources"]["TrailQueue"]["Properties"];
    assert!(queue["RedrivePolicy"]["deadLetterTargetArn"].is_object());
    // The visibility timeout for each accepted Timeout: tests/template_operations.rs.
    assert!(queue["VisibilityTimeout"]["Fn::FindInMap"].is_array());
    for alarm in [
        "FunctionErrorsAlarm",
        "FailedUnitsAlarm",
        "EventsDeadLetterAlarm",
        "AsyncFailureAlarm",
        "TrailDeadLetterAlarm",
    ] {
        assert_eq!(
            t["Resources"][alarm]["Type"], "AWS::CloudWatch::Alarm",
            "{alarm}"
        );
    }
}

#[test]
fn cargo_lambda_deploy_uses_the_settings_of_the_template() {
    let t = template();
    let manifest: toml::Table = std::fs::read_to_string("Cargo.toml")
        .unwrap()
        .parse()
        .unwrap();
    let deploy = &manifest["package"]["metadata"]["lambda"]["deploy"];
    let param = |name: &str| t["Parameters"][name]["Default"].as_i64().unwrap();
    assert_eq!(deploy["memory"].as_integer(), Some(param("MemorySize")));
    assert_eq!(deploy["timeout"].as_integer(), Some(param("Timeout")));
    assert_eq!(
        deploy["log_retention"].as_integer(),
        Some(param("LogRetentionDays"))
    );
    let p = &t["Resources"]["DetectorFunction"]["Properties"];
    assert_eq!(deploy["runtime"].as_str(), p["Runtime"].as_str());
    assert_eq!(
        deploy["env"]["METRICS_NAMESPACE"].as_str(),
        p["Environment"]["Variables"]["METRICS_NAMESPACE"].as_str()
    );
    assert_eq!(
        t["Resources"]["FailedUnitsAlarm"]["Properties"]["Namespace"].as_str(),
        deploy["env"]["METRICS_NAMESPACE"].as_str()
    );
}

/// The properties that name a resource, by type, with the longest name AWS accepts.
const NAME_PROPERTIES: &[(&str, &str, usize)] = &[
    ("AWS::Logs::LogGroup", "LogGroupName", 512),
    ("AWS::Serverless::Function", "FunctionName", 64),
    ("AWS::Lambda::Function", "FunctionName", 64),
    ("AWS::SQS::Queue", "QueueName", 80),
    ("AWS::SNS::Topic", "TopicName", 256),
    ("AWS::KMS::Alias", "AliasName", 256),
    ("AWS::IAM::Role", "RoleName", 64),
    ("AWS::Events::Rule", "Name", 64),
    ("AWS::Events::EventBus", "Name", 256),
];

#[test]
fn a_failed_first_deploy_leaves_nothing_that_blocks_the_retry() {
    // `Retain` keeps a resource even when the first deploy rolls back; with a fixed name, every
    // retry then fails with "already exists". `RetainExceptOnCreate` removes what a failed
    // create made, and a retained resource without a fixed name cannot collide with a new one.
    let t = template();
    for (name, r) in resources(&t) {
        for policy in ["DeletionPolicy", "UpdateReplacePolicy"] {
            if let Some(p) = r[policy].as_str() {
                assert!(
                    ["RetainExceptOnCreate", "Delete"].contains(&p)
                        || (policy == "UpdateReplacePolicy" && p == "Retain"),
                    "{name}: {policy} {p}"
                );
            }
        }
        if r["DeletionPolicy"] == "RetainExceptOnCreate" {
            let ty = r["Type"].as_str().unwrap();
            for (_, property, _) in NAME_PROPERTIES.iter().filter(|(t, ..)| *t == ty) {
                assert!(
                    r["Properties"][property].is_null(),
                    "{name} outlives the stack under the fixed name {}",
                    r["Properties"][property]
                );
            }
        }
    }
    for kept in ["FindingsKey", "DetectorLogGroup"] {
        assert_eq!(
            t["Resources"][kept]["DeletionPolicy"], "RetainExceptOnCreate",
            "{kept}"
        );
    }
}

#[test]
fn undelivered_events_outlive_the_stack() {
    // Every queue that ends up holding events nobody processed (a dead-letter queue, the
    // on-failure destination) stays when the stack is deleted.
    let t = template();
    let mut holders: Vec<&str> = Vec::new();
    for (_, r) in resources(&t) {
        if let Some(dlq) = r["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"]
            .as_str()
            .or(r["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0].as_str())
        {
            holders.push(dlq.trim_end_matches(".Arn"));
        }
        for target in r["Properties"]["Targets"].as_array().into_iter().flatten() {
            if let Some(dlq) = target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"].as_str() {
                holders.push(dlq.trim_end_matches(".Arn"));
            }
        }
        if let Some(on_failure) = r["Properties"]["EventInvokeConfig"]["DestinationConfig"]
            ["OnFailure"]["Destination"]["Fn::GetAtt"]
            .as_str()
        {
            holders.push(on_failure.trim_end_matches(".Arn"));
        }
    }
    holders.sort();
    holders.dedup();
    assert_eq!(
        holders,
        [
            "AsyncFailureQueue",
            "EventsDeadLetterQueue",
            "TrailDeadLetterQueue"
        ]
    );
    for queue in holders {
        let r = &t["Resources"][queue];
        assert_eq!(r["DeletionPolicy"], "RetainExceptOnCreate", "{queue}");
        assert_eq!(r["UpdateReplacePolicy"], "Retain", "{queue}");
    }
}

#[test]
fn names_fit_their_limits_whatever_the_stack_name() {
    // A stack name may have 128 characters; a name built from it must still fit.
    const LONGEST_STACK_NAME: usize = 128;
    let t = template();
    assert!(
        t["Resources"]["DetectorFunction"]["Properties"]["FunctionName"].is_null(),
        "let CloudFormation name the function: it keeps the name within 64 characters"
    );
    for (name, r) in resources(&t) {
        let ty = r["Type"].as_str().unwrap();
        for (_, property, limit) in NAME_PROPERTIES.iter().filter(|(t, ..)| *t == ty) {
            let value = &r["Properties"][property];
            let Some(sub) = value["Fn::Sub"].as_str() else {
                assert!(value.is_null() || value.is_string() || value["Ref"].is_string());
                continue;
            };
            let longest = sub.replace("${AWS::StackName}", &"x".repeat(LONGEST_STACK_NAME));
            assert!(
                !longest.contains("${"),
                "{name}.{property}: unbounded part in {sub}"
            );
            assert!(
                longest.len() <= *limit,
                "{name}.{property} can reach {} characters (limit {limit})",
                longest.len()
            );
        }
    }
}

#[test]
fn the_log_level_cannot_drop_the_metrics_line() {
    // Lambda drops JSON lines below the level and reads a line without "level" (the EMF
    // metrics line) as INFO: above INFO, FailedUnits and its alarm would never see a value.
    let t = template();
    let level = &t["Parameters"]["LogLevel"];
    assert_eq!(level["AllowedValues"], json!(["TRACE", "DEBUG", "INFO"]));
    assert_eq!(level["Default"], "INFO");
    let logging = &t["Resources"]["DetectorFunction"]["Properties"]["LoggingConfig"];
    assert_eq!(logging["ApplicationLogLevel"], json!({"Ref": "LogLevel"}));
    assert_eq!(logging["LogFormat"], "JSON");
    assert_eq!(
        t["Resources"]["FailedUnitsAlarm"]["Properties"]["MetricName"],
        "FailedUnits"
    );
}

#[test]
fn samconfig_leaves_the_region_to_the_user() {
    // A pinned region deploys to that region whatever the user's AWS configuration says; and
    // rust-cargolambda builds without a beta opt-in in the SAM CLI the README asks for.
    fn keys(v: &toml::Value, out: &mut Vec<String>) {
        if let toml::Value::Table(t) = v {
            for (k, v) in t {
                out.push(k.clone());
                keys(v, out);
            }
        }
    }
    let config: toml::Value = std::fs::read_to_string("samconfig.toml")
        .unwrap()
        .parse::<toml::Table>()
        .unwrap()
        .into();
    let mut all = Vec::new();
    keys(&config, &mut all);
    assert!(!all.iter().any(|k| k == "region"), "{all:?}");
    assert!(!all.iter().any(|k| k == "beta_features"), "{all:?}");
}

#[test]
fn rules_refuse_inputs_that_cannot_work() {
    let t = template();
    let topic = "arn:aws:sns:eu-west-1:444455556666:findings";
    let key = "arn:aws:kms:eu-west-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    assert_refusals(
        &t,
        &[
            (&[], false, "the defaults deploy"),
            (
                &[("ExistingFindingsTopicKmsKeyArn", key)],
                true,
                "a topic key without its topic would be ignored",
            ),
            (
                &[
                    ("ExistingFindingsTopicArn", topic),
                    ("ExistingFindingsTopicKmsKeyArn", key),
                ],
                false,
                "an existing topic with its key",
            ),
            (
                &[("TrailBucketAccountId", "222233334444")],
                true,
                "trail settings without a bucket would be ignored",
            ),
            (
                &[("TrailKmsKeyArn", key)],
                true,
                "a trail key without a bucket would be ignored",
            ),
            (
                &[
                    ("TrailBucketName", "org-trail"),
                    ("TrailNotification", "SNS"),
                ],
                true,
                "SNS notification without the topic to subscribe to",
            ),
            (
                &[
                    ("TrailBucketName", "org-trail"),
                    ("TrailSnsTopicArn", TRAIL_TOPIC),
                ],
                true,
                "a trail topic with S3 notification would be ignored",
            ),
            (
                &[
                    ("TrailBucketName", "org-trail"),
                    ("TrailNotification", "SNS"),
                    ("TrailSnsTopicArn", TRAIL_TOPIC),
                    ("TrailBucketAccountId", "222233334444"),
                    ("TrailBucketRegion", "eu-west-1"),
                ],
                false,
                "a bucket of another account and region, through the trail's topic",
            ),
            (
                &[
                    ("TrailBucketName", "org-trail"),
                    ("TrailBucketRegion", "eu-west-1"),
                ],
                true,
                "S3 cannot notify a queue in another region",
            ),
            (
                &[
                    ("TrailBucketName", "org-trail"),
                    ("TrailNotification", "EventBridge"),
                    ("TrailBucketRegion", "eu-west-1"),
                ],
                true,
                "a bucket's EventBridge events stay in its region",
            ),
            (
                &[
                    ("TrailBucketName", "org-trail"),
                    ("TrailNotification", "EventBridge"),
                    ("TrailBucketAccountId", "222233334444"),
                ],
                true,
                "a bucket's EventBridge events stay in its account",
            ),
            (
                &[
                    ("TrailBucketName", "org-trail"),
                    ("TrailBucketAccountId", "222233334444"),
                ],
                false,
                "S3 notifies a queue of another account in its region",
            ),
            (
                &[
                    ("CreateEventBus", "true"),
                    ("EventBusName", "snapshot-sharing"),
                ],
                true,
                "a central bus without the organization it accepts",
            ),
            (
                &[
                    ("CreateEventBus", "true"),
                    ("OrganizationId", "o-abcdef1234"),
                ],
                true,
                "the default bus exists already",
            ),
            (
                &[("OrganizationId", "o-abcdef1234")],
                true,
                "an organization without a bus to open would be ignored",
            ),
            (
                &[
                    ("CreateEventBus", "true"),
                    ("EventBusName", "snapshot-sharing"),
                    ("OrganizationId", "o-abcdef1234"),
                ],
                false,
                "a central bus for the organization",
            ),
            (
                &[("EventBusName", "existing-bus")],
                false,
                "a rule on an existing bus",
            ),
        ],
    );
}

#[test]
fn the_idempotency_store_is_an_encrypted_on_demand_table_with_a_ttl_only_when_asked_for() {
    let t = template();
    let off = Stack::new(&t, &[]);
    assert!(!off.has("DedupTable"));
    assert!(with_action(&off.role_statements("DetectorRole"), "dynamodb:PutItem").is_empty());
    let env = &off.properties("DetectorFunction")["Environment"]["Variables"];
    assert!(env["DEDUP_TABLE"].is_null(), "{env}");

    let on = Stack::new(&t, &[("DeduplicateFindings", "true")]);
    let table = on.properties("DedupTable");
    assert_eq!(table["BillingMode"], "PAY_PER_REQUEST");
    assert_eq!(
        table["KeySchema"],
        json!([{"AttributeName": "finding_id", "KeyType": "HASH"}])
    );
    assert_eq!(
        table["AttributeDefinitions"],
        json!([{"AttributeName": "finding_id", "AttributeType": "S"}])
    );
    // The attribute the function writes its expiry to (src/sink/ledger.rs TTL_ATTRIBUTE).
    assert_eq!(
        table["TimeToLiveSpecification"],
        json!({"AttributeName": "expires_at", "Enabled": true})
    );
    assert_eq!(table["SSESpecification"]["SSEEnabled"], true);
    assert!(table["TableName"].is_null(), "no fixed name");
    let r = &t["Resources"]["DedupTable"];
    assert_eq!(r["DeletionPolicy"], "Delete");
    assert_eq!(r["UpdateReplacePolicy"], "Delete");

    let role = on.role_statements("DetectorRole");
    let store: Vec<&Value> = role
        .iter()
        .filter(|s| {
            strings(&s["Action"])
                .iter()
                .any(|a| a.starts_with("dynamodb:"))
        })
        .collect();
    assert_eq!(store.len(), 1);
    assert_eq!(
        strings(&store[0]["Action"]),
        [
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:GetItem"
        ]
    );
    assert_eq!(store[0]["Resource"], "<DedupTable.Arn>");
    let env = &on.properties("DetectorFunction")["Environment"]["Variables"];
    assert_eq!(env["DEDUP_TABLE"], "<DedupTable>");
}

#[test]
fn organization_accounts_reach_the_function_and_auto_alone_may_list_them() {
    let t = template();
    let none = Stack::new(&t, &[]);
    let role = none.role_statements("DetectorRole");
    assert!(with_action(&role, "organizations:ListAccounts").is_empty());
    let env = &none.properties("DetectorFunction")["Environment"]["Variables"];
    assert!(env["ORGANIZATION_ACCOUNTS"].is_null());
    assert_eq!(env["SUPPRESS_ORGANIZATION_SHARES"], "false");

    let list = Stack::new(
        &t,
        &[
            ("OrganizationAccounts", "111122223333,444455556666"),
            ("SuppressOrganizationShares", "true"),
        ],
    );
    assert!(list.refusals().is_empty(), "{:?}", list.refusals());
    let role = list.role_statements("DetectorRole");
    assert!(
        with_action(&role, "organizations:ListAccounts").is_empty(),
        "a list needs no permission"
    );
    let env = &list.properties("DetectorFunction")["Environment"]["Variables"];
    assert_eq!(env["ORGANIZATION_ACCOUNTS"], "111122223333,444455556666");
    assert_eq!(env["SUPPRESS_ORGANIZATION_SHARES"], "true");

    let auto = Stack::new(&t, &[("OrganizationAccounts", "auto")]);
    let role = auto.role_statements("DetectorRole");
    let statements = with_action(&role, "organizations:ListAccounts");
    assert_eq!(statements.len(), 1);
    assert_eq!(
        strings(&statements[0]["Action"]),
        [
            "organizations:DescribeOrganization",
            "organizations:ListAccounts"
        ]
    );
    assert_eq!(statements[0]["Resource"], "*");

    let refused = Stack::new(&t, &[("SuppressOrganizationShares", "true")]).refusals();
    assert!(
        refused
            .iter()
            .any(|r| r.contains("SuppressionNeedsTheOrganization")),
        "{refused:?}"
    );
}
