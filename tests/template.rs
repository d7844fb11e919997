//! The deployment template, read as data: least privilege, the EventBridge pattern, and the
//! settings that `Cargo.toml` repeats for `cargo lambda deploy`. (`cfn-lint` and
//! `sam validate --lint` check its syntax in CI; this checks what we promise about it.)

mod support;

use serde_json::{json, Value};
use support::cfn::{load, resources, statements, strings, template, with_action};
use support::stack::{Stack, ACCOUNT};

#[test]
fn no_wildcard_action_or_resource_where_a_narrower_one_exists() {
    for (path, least) in [("template.yaml", 10), ("forwarder.yaml", 2)] {
        let t = load(path);
        let all = statements(&t);
        assert!(all.len() >= least, "{path}: only {} statements", all.len());
        let problems = wildcards(&t, &all);
        assert!(problems.is_empty(), "{path}: {problems:#?}");
    }
}

/// The (bucket, key prefix) parameters under which a policy may grant "every object".
const PREFIX_PARAMETERS: &[(&str, &str)] = &[
    ("TrailBucketName", "TrailKeyPrefix"),
    ("BatchOperationsBucketName", "BatchOperationsManifestPrefix"),
    ("BatchOperationsBucketName", "BatchOperationsReportPrefix"),
];

/// Every `*` in an action, resource or principal of these statements, but for the few that
/// are the narrowest AWS allows, each named below.
fn wildcards(t: &Value, all: &[(String, Value)]) -> Vec<String> {
    let log_groups: Vec<&String> = resources(t)
        .filter(|(_, r)| r["Type"] == "AWS::Logs::LogGroup")
        .map(|(name, _)| name)
        .collect();
    let mut problems = Vec::new();
    for (at, s) in all {
        if s["Effect"] == "Deny" {
            continue; // a deny may be broad: it only takes away
        }
        let key_policy = t["Resources"][at.as_str()]["Type"] == "AWS::KMS::Key";
        // organizations:ListAccounts has no resource-level permission: AWS accepts only "*"
        // for it. Allowed alone in its statement, so that the "*" covers nothing else.
        let list_accounts = strings(&s["Action"]) == ["organizations:ListAccounts"];
        for action in strings(&s["Action"]) {
            // The one exception: a key policy lets the account administer its key through IAM
            // (the AWS default key policy); without it a key can become unmanageable.
            let root_admin = key_policy
                && action == "kms:*"
                && s["Principal"]["AWS"].to_string().contains(":root");
            if action.contains('*') && !root_admin {
                problems.push(format!("{at}: action {action}"));
            }
        }
        for resource in strings(&s["Resource"]) {
            // `!Sub "text"` is checked as the text.
            let resource = serde_json::from_str::<Value>(&resource)
                .ok()
                .and_then(|v| v["Fn::Sub"].as_str().map(str::to_owned))
                .unwrap_or(resource);
            // In a key policy the resource is always "*": it means the key itself.
            if key_policy && resource == "*" {
                continue;
            }
            // A log group's Arn attribute is `arn:aws:logs:REGION:ACCOUNT:log-group:NAME:*`:
            // it ends in "*", which means every log stream of that one group, the narrowest
            // resource for logs:CreateLogStream and logs:PutLogEvents.
            let group_arn = log_groups
                .iter()
                .any(|g| resource.contains(&format!("{g}.Arn")));
            let group_streams = resource
                .split_once(":log-group:")
                .and_then(|(_, rest)| rest.strip_suffix(":*"))
                .is_some_and(|group| !group.is_empty() && !group.contains('*'));
            // A trailing "*" after a key prefix that a parameter names (and that cannot hold a
            // "*" itself) is the narrowest S3 allows for "the objects under this prefix": the
            // trail's log files, the back-fill manifests and completion reports.
            let object_prefix = PREFIX_PARAMETERS.iter().any(|(bucket, prefix)| {
                resource.ends_with(&format!("${{{bucket}}}/${{{prefix}}}*"))
                    && t["Parameters"][prefix]["AllowedPattern"]
                        .as_str()
                        .is_some_and(|p| p.starts_with("^[^*]"))
            });
            let wildcard = resource.contains('*') || group_arn;
            let narrowest =
                group_arn || group_streams || object_prefix || (list_accounts && resource == "*");
            if wildcard && !narrowest {
                problems.push(format!("{at}: resource {resource}"));
            }
        }
        if s["Principal"] == json!({"AWS": "*"}) || s["Principal"] == json!("*") {
            // Any principal *of the organization*: the central bus takes events from the
            // forwarders of every member account, present and future.
            let organization = !s["Condition"]["StringEquals"]["aws:PrincipalOrgID"].is_null();
            if !organization {
                problems.push(format!("{at}: allows any principal"));
            }
        }
    }
    problems
}

#[test]
fn the_function_may_only_publish_read_trail_objects_and_write_its_logs() {
    let t = template();
    let role: Vec<(String, Value)> = statements(&t)
        .into_iter()
        .filter(|(at, _)| at.starts_with("DetectorRole/"))
        .collect();
    let mut actions: Vec<String> = role
        .iter()
        .flat_map(|(_, s)| strings(&s["Action"]))
        .collect();
    actions.sort();
    actions.dedup();
    assert_eq!(
        actions,
        [
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "kms:Decrypt",
            "kms:GenerateDataKey",
            "logs:CreateLogStream",
            "logs:PutLogEvents",
            "organizations:ListAccounts",
            "s3:GetObject",
            "s3:GetObjectVersion",
            "sns:Publish",
            "sqs:ChangeMessageVisibility",
            "sqs:DeleteMessage",
            "sqs:GetQueueAttributes",
            "sqs:ReceiveMessage",
            "sqs:SendMessage",
        ]
    );
    // No listing of buckets, and KMS only through the service that needs it.
    for (at, s) in &role {
        if strings(&s["Action"]).iter().any(|a| a.starts_with("kms:")) {
            assert!(
                s["Condition"]["StringEquals"]["kms:ViaService"].is_object(),
                "{at}: KMS without a kms:ViaService condition: {s}"
            );
        }
    }
    // The topic is encrypted with a key of the stack.
    let topic = &t["Resources"]["FindingsTopic"]["Properties"];
    assert_eq!(topic["KmsMasterKeyId"], json!({"Ref": "FindingsKey"}));
}

#[test]
fn the_eventbridge_rule_matches_exactly_the_snapshot_attribute_calls() {
    let t = template();
    let rule = &t["Resources"]["SnapshotAttributeRule"]["Properties"];
    // The share is an API call; a use of a shared snapshot by another account is a service
    // event, which EventBridge delivers with detail-type "AWS Service Event via CloudTrail".
    assert_eq!(
        rule["EventPattern"],
        json!({
            "source": ["aws.ec2"],
            "detail-type": ["AWS API Call via CloudTrail", "AWS Service Event via CloudTrail"],
            "detail": {
                "eventSource": ["ec2.amazonaws.com"],
                "eventName": [
                    "ModifySnapshotAttribute",
                    "SharedSnapshotCopyInitiated",
                    "SharedSnapshotVolumeCreated",
                ],
            },
        })
    );
    let target = &rule["Targets"][0];
    assert_eq!(target["Arn"], json!({"Fn::GetAtt": "DetectorFunction.Arn"}));
    assert!(target["RetryPolicy"]["MaximumRetryAttempts"].is_number());
    assert!(target["DeadLetterConfig"]["Arn"].is_object());

    // Each sample EventBridge event of a share or a use matches the pattern, field by field.
    let pattern = &rule["EventPattern"];
    let matches = |values: &Value, value: &Value| values.as_array().unwrap().contains(value);
    let mut seen = 0;
    for entry in std::fs::read_dir("events").unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with("eventbridge-share") && !name.starts_with("eventbridge-used") {
            continue;
        }
        seen += 1;
        let event: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert!(matches(&pattern["source"], &event["source"]), "{name}");
        assert!(
            matches(&pattern["detail-type"], &event["detail-type"]),
            "{name}"
        );
        for key in ["eventSource", "eventName"] {
            assert!(
                matches(&pattern["detail"][key], &event["detail"][key]),
                "{name}: {key}"
            );
        }
        // The detail-type goes with the record's eventType, as CloudTrail sends it.
        let expected = match event["detail"]["eventType"].as_str() {
            Some("AwsServiceEvent") => "AWS Service Event via CloudTrail",
            _ => "AWS API Call via CloudTrail",
        };
        assert_eq!(event["detail-type"], expected, "{name}");
    }
    assert_eq!(seen, 7, "five share samples and two use samples");
}

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
    let max_timeout = t["Parameters"]["Timeout"]["MaxValue"].as_u64().unwrap();
    assert!(queue["VisibilityTimeout"].as_u64().unwrap() >= max_timeout);
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
fn publishing_uses_the_topic_key_through_sns_of_the_topic_region() {
    let t = template();

    // The stack's own topic: its key, through SNS in the stack's region.
    let own = Stack::new(&t, &[]);
    let role = own.role_statements("DetectorRole");
    let kms = with_action(&role, "kms:GenerateDataKey");
    assert_eq!(kms.len(), 1);
    assert_eq!(kms[0]["Resource"], "<FindingsKey.Arn>");
    assert_eq!(
        kms[0]["Condition"]["StringEquals"]["kms:ViaService"],
        "sns.us-east-1.amazonaws.com"
    );

    // An existing topic in another region: its key, through SNS in *that* region, where the
    // function publishes (an SNS client signs for one region).
    let topic = "arn:aws:sns:eu-west-1:444455556666:findings";
    let key = "arn:aws:kms:eu-west-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let other = Stack::new(
        &t,
        &[
            ("ExistingFindingsTopicArn", topic),
            ("ExistingFindingsTopicKmsKeyArn", key),
        ],
    );
    assert!(!other.has("FindingsKey") && !other.has("FindingsTopic"));
    let role = other.role_statements("DetectorRole");
    let kms = with_action(&role, "kms:Decrypt");
    assert_eq!(kms.len(), 1);
    assert_eq!(kms[0]["Resource"], key);
    assert_eq!(
        kms[0]["Condition"]["StringEquals"]["kms:ViaService"],
        "sns.eu-west-1.amazonaws.com"
    );
    assert_eq!(with_action(&role, "sns:Publish")[0]["Resource"], topic);
    let env = &other.properties("DetectorFunction")["Environment"]["Variables"];
    assert_eq!(env["FINDINGS_TOPIC_ARN"], topic);

    // Without a key of its own, the existing topic needs no KMS permission at all.
    let plain = Stack::new(&t, &[("ExistingFindingsTopicArn", topic)]);
    assert!(with_action(&plain.role_statements("DetectorRole"), "kms:Decrypt").is_empty());
}

/// Parameter sets that cannot work, each refused by a rule of the template before anything is
/// created, and sets that must pass.
/// Parameters, whether they are refused, and why.
type Case<'a> = (&'a [(&'a str, &'a str)], bool, &'a str);

fn assert_refusals(t: &Value, cases: &[Case]) {
    for (params, refused, why) in cases {
        let refusals = Stack::new(t, params).refusals();
        assert_eq!(
            !refusals.is_empty(),
            *refused,
            "{why}: {params:?} gave {refusals:#?}"
        );
    }
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

const TRAIL_TOPIC: &str = "arn:aws:sns:eu-west-1:999988887777:org-trail-deliveries";

/// The statements of the trail queue's policy, evaluated.
fn trail_queue_statements(stack: &Stack) -> Vec<Value> {
    stack.properties("TrailQueuePolicy")["PolicyDocument"]["Statement"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn a_trail_bucket_of_another_account_may_notify_the_queue() {
    let t = template();
    for (account, expected) in [("", ACCOUNT), ("222233334444", "222233334444")] {
        let stack = Stack::new(
            &t,
            &[
                ("TrailBucketName", "org-trail"),
                ("TrailBucketAccountId", account),
            ],
        );
        let statements = trail_queue_statements(&stack);
        assert_eq!(statements.len(), 1);
        let s = &statements[0];
        assert_eq!(s["Principal"], json!({"Service": "s3.amazonaws.com"}));
        assert_eq!(s["Action"], "sqs:SendMessage");
        assert_eq!(s["Resource"], "<TrailQueue.Arn>");
        // The bucket ARN has no account in it: the account is pinned separately.
        assert_eq!(
            s["Condition"]["ArnEquals"]["aws:SourceArn"],
            "arn:aws:s3:::org-trail"
        );
        assert_eq!(
            s["Condition"]["StringEquals"]["aws:SourceAccount"],
            expected
        );
        assert!(!stack.has("TrailTopicSubscription") && !stack.has("TrailObjectCreatedRule"));
    }
}

#[test]
fn the_trail_topic_of_another_account_and_region_feeds_the_queue() {
    let t = template();
    let stack = Stack::new(
        &t,
        &[
            ("TrailBucketName", "org-trail"),
            ("TrailNotification", "SNS"),
            ("TrailSnsTopicArn", TRAIL_TOPIC),
            ("TrailBucketAccountId", "222233334444"),
        ],
    );
    let subscription = stack.properties("TrailTopicSubscription");
    assert_eq!(subscription["TopicArn"], TRAIL_TOPIC);
    // Subscribed in the topic's region (a Subscribe call goes to the topic's region).
    assert_eq!(subscription["Region"], "eu-west-1");
    assert_eq!(subscription["Protocol"], "sqs");
    assert_eq!(subscription["Endpoint"], "<TrailQueue.Arn>");
    // Raw: the queue holds CloudTrail's {"s3Bucket", "s3ObjectKey"} notice itself.
    assert_eq!(subscription["RawMessageDelivery"], true);
    // The queue accepts that topic's messages and nothing else.
    let statements = trail_queue_statements(&stack);
    assert_eq!(statements.len(), 1);
    assert_eq!(
        statements[0]["Principal"],
        json!({"Service": "sns.amazonaws.com"})
    );
    assert_eq!(
        statements[0]["Condition"],
        json!({"ArnEquals": {"aws:SourceArn": TRAIL_TOPIC}})
    );
    // The queue policy exists before SNS sends the first message.
    assert_eq!(
        t["Resources"]["TrailTopicSubscription"]["DependsOn"],
        "TrailQueuePolicy"
    );
}

#[test]
fn a_trail_bucket_of_another_region_is_read_through_its_region() {
    let t = template();
    let key = "arn:aws:kms:eu-west-1:222233334444:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let sns = [
        ("TrailBucketName", "org-trail"),
        ("TrailNotification", "SNS"),
        ("TrailSnsTopicArn", TRAIL_TOPIC),
        ("TrailKmsKeyArn", key),
    ];
    for (region, endpoint) in [
        ("", "s3.us-east-1.amazonaws.com"),
        ("eu-west-1", "s3.eu-west-1.amazonaws.com"),
    ] {
        let mut params = sns.to_vec();
        params.push(("TrailBucketRegion", region));
        let stack = Stack::new(&t, &params);
        let role = stack.role_statements("DetectorRole");
        let kms = with_action(&role, "kms:Decrypt")
            .into_iter()
            .filter(|s| s["Resource"] == key)
            .collect::<Vec<_>>();
        assert_eq!(kms.len(), 1);
        assert_eq!(
            kms[0]["Condition"]["StringEquals"]["kms:ViaService"],
            endpoint
        );
        let env = &stack.properties("DetectorFunction")["Environment"]["Variables"];
        if region.is_empty() {
            assert!(env["TRAIL_BUCKET_REGION"].is_null(), "{env}");
        } else {
            assert_eq!(env["TRAIL_BUCKET_REGION"], region);
        }
        let statement: Value = serde_json::from_str(
            stack
                .eval(&t["Outputs"]["TrailKmsKeyPolicyStatement"]["Value"])
                .unwrap()
                .as_str()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(statement["Condition"], kms[0]["Condition"]);
    }
}

#[test]
fn the_policy_statements_for_the_log_archive_account_grant_what_the_role_uses() {
    let t = template();
    let key = "arn:aws:kms:us-east-1:222233334444:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let stack = Stack::new(
        &t,
        &[
            ("TrailBucketName", "org-trail"),
            ("TrailKeyPrefix", "AWSLogs/o-abcdef1234/"),
            ("TrailBucketAccountId", "222233334444"),
            ("TrailKmsKeyArn", key),
        ],
    );
    let output = |name: &str| -> Value {
        let o = &t["Outputs"][name];
        assert!(stack.condition(o["Condition"].as_str().unwrap()), "{name}");
        serde_json::from_str(stack.eval(&o["Value"]).unwrap().as_str().unwrap())
            .unwrap_or_else(|e| panic!("{name} is not JSON: {e}"))
    };
    let role = stack.role_statements("DetectorRole");

    let bucket = output("TrailBucketPolicyStatement");
    let reads = with_action(&role, "s3:GetObject");
    assert_eq!(reads.len(), 1);
    assert_eq!(bucket["Effect"], "Allow");
    assert_eq!(bucket["Principal"], json!({"AWS": "<DetectorRole.Arn>"}));
    assert_eq!(bucket["Action"], reads[0]["Action"]);
    assert_eq!(bucket["Resource"], reads[0]["Resource"]);
    assert_eq!(
        bucket["Resource"],
        "arn:aws:s3:::org-trail/AWSLogs/o-abcdef1234/*"
    );

    let key_statement = output("TrailKmsKeyPolicyStatement");
    let decrypt: Vec<_> = with_action(&role, "kms:Decrypt")
        .into_iter()
        .filter(|s| s["Resource"] == key)
        .collect();
    assert_eq!(
        key_statement["Principal"],
        json!({"AWS": "<DetectorRole.Arn>"})
    );
    assert_eq!(key_statement["Action"], decrypt[0]["Action"]);
    assert_eq!(
        key_statement["Resource"], "*",
        "a key policy's resource is its key"
    );
    assert_eq!(key_statement["Condition"], decrypt[0]["Condition"]);
}

#[test]
fn the_trail_log_group_sends_only_snapshot_sharing_records() {
    let t = template();
    let off = Stack::new(&t, &[]);
    assert!(!off.has("TrailLogGroupSubscription") && !off.has("TrailLogGroupPermission"));

    let stack = Stack::new(
        &t,
        &[("TrailLogGroupName", "aws-cloudtrail-logs-o-abcdef1234")],
    );
    let filter = stack.properties("TrailLogGroupSubscription");
    assert_eq!(filter["LogGroupName"], "aws-cloudtrail-logs-o-abcdef1234");
    assert_eq!(filter["DestinationArn"], "<DetectorFunction.Arn>");
    // A JSON filter pattern on the record: EC2, and one of the three snapshot-sharing events.
    assert_eq!(
        filter["FilterPattern"],
        "{ ($.eventSource = \"ec2.amazonaws.com\") && \
         (($.eventName = \"ModifySnapshotAttribute\") || \
         ($.eventName = \"SharedSnapshotCopyInitiated\") || \
         ($.eventName = \"SharedSnapshotVolumeCreated\")) }"
    );
    assert!(filter["FilterPattern"].as_str().unwrap().len() <= 1024);

    // CloudWatch Logs may invoke the function for that log group of this account only, and
    // the filter is created after the permission (CloudWatch Logs tests the destination).
    let permission = stack.properties("TrailLogGroupPermission");
    assert_eq!(permission["Principal"], "logs.amazonaws.com");
    assert_eq!(permission["Action"], "lambda:InvokeFunction");
    assert_eq!(permission["FunctionName"], "<DetectorFunction.Arn>");
    assert_eq!(
        permission["SourceArn"],
        "arn:aws:logs:us-east-1:111122223333:log-group:aws-cloudtrail-logs-o-abcdef1234:*"
    );
    assert_eq!(permission["SourceAccount"], ACCOUNT);
    assert_eq!(
        t["Resources"]["TrailLogGroupSubscription"]["DependsOn"],
        "TrailLogGroupPermission"
    );
}

#[test]
fn the_central_bus_accepts_events_from_the_organization_only() {
    let t = template();
    let default = Stack::new(&t, &[]);
    assert!(!default.has("CentralEventBus") && !default.has("CentralEventBusPolicy"));
    assert_eq!(
        default.properties("SnapshotAttributeRule")["EventBusName"],
        "default"
    );

    let central = Stack::new(
        &t,
        &[
            ("CreateEventBus", "true"),
            ("EventBusName", "snapshot-sharing"),
            ("OrganizationId", "o-abcdef1234"),
        ],
    );
    assert_eq!(
        central.properties("CentralEventBus")["Name"],
        "snapshot-sharing"
    );
    let policy = central.properties("CentralEventBusPolicy");
    assert_eq!(policy["EventBusName"], "<CentralEventBus>");
    assert_eq!(
        policy["Statement"],
        json!({
            "Effect": "Allow",
            "Principal": "*",
            "Action": "events:PutEvents",
            "Resource": "<CentralEventBus.Arn>",
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abcdef1234"}},
        })
    );
    // The detector's rule listens on that bus, and the stack says where forwarders send to.
    let rule = central.properties("SnapshotAttributeRule");
    assert_eq!(rule["EventBusName"], "<CentralEventBus>");
    assert_eq!(
        central.eval(&t["Outputs"]["EventBusArn"]["Value"]).unwrap(),
        "<CentralEventBus.Arn>"
    );

    // An existing bus: the rule listens there, and the stack creates no bus of its own.
    let existing = Stack::new(&t, &[("EventBusName", "existing-bus")]);
    assert!(!existing.has("CentralEventBus"));
    assert_eq!(
        existing.properties("SnapshotAttributeRule")["EventBusName"],
        "existing-bus"
    );
    assert_eq!(
        existing
            .eval(&t["Outputs"]["EventBusArn"]["Value"])
            .unwrap(),
        "arn:aws:events:us-east-1:111122223333:event-bus/existing-bus"
    );
}

#[test]
fn the_forwarder_sends_exactly_the_detector_events_to_the_central_bus_only() {
    let t = template();
    let f = load("forwarder.yaml");
    let bus = "arn:aws:events:eu-west-1:444455556666:event-bus/snapshot-sharing";
    let stack = Stack::new(&f, &[("CentralEventBusArn", bus)]);

    // The same pattern as the detector's own rule, on the member account's default bus.
    let rule = stack.properties("ForwardRule");
    assert_eq!(
        rule["EventPattern"],
        t["Resources"]["SnapshotAttributeRule"]["Properties"]["EventPattern"]
    );
    assert!(rule["EventBusName"].is_null(), "the default bus");
    let targets = rule["Targets"].as_array().unwrap();
    assert_eq!(targets.len(), 1);
    assert_eq!(targets[0]["Arn"], bus);
    assert_eq!(targets[0]["RoleArn"], "<ForwarderRole.Arn>");
    // No input transformer: the forwarded event is the original, with its account and region.
    assert!(targets[0]["InputTransformer"].is_null() && targets[0]["Input"].is_null());
    assert_eq!(
        targets[0]["DeadLetterConfig"]["Arn"],
        "<ForwarderDeadLetterQueue.Arn>"
    );
    // An event bus target takes no retry policy.
    assert!(targets[0]["RetryPolicy"].is_null());

    // The role: assumed by EventBridge, may put events on that bus and do nothing else.
    let role = stack.properties("ForwarderRole");
    assert_eq!(
        role["AssumeRolePolicyDocument"]["Statement"],
        json!([{
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }])
    );
    let statements = stack.role_statements("ForwarderRole");
    assert_eq!(statements.len(), 1);
    assert_eq!(statements[0]["Action"], "events:PutEvents");
    assert_eq!(statements[0]["Resource"], bus);

    // Only EventBridge, for this rule, may write to the dead-letter queue.
    let dlq = stack.properties("ForwarderDeadLetterQueuePolicy");
    assert_eq!(
        dlq["PolicyDocument"]["Statement"][0]["Condition"],
        json!({"ArnEquals": {"aws:SourceArn": "<ForwardRule.Arn>"}})
    );
    // The only resources: a StackSet puts them in every account and region.
    let mut kinds: Vec<&str> = resources(&f)
        .map(|(_, r)| r["Type"].as_str().unwrap())
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            "AWS::Events::Rule",
            "AWS::IAM::Role",
            "AWS::SQS::Queue",
            "AWS::SQS::QueuePolicy"
        ]
    );
}

#[test]
fn a_function_deployed_with_cargo_lambda_gets_a_role_of_its_own() {
    let t = template();
    assert!(!Stack::new(&t, &[]).has("CargoLambdaRole"));

    let topic = "arn:aws:sns:eu-west-1:444455556666:findings";
    let key = "arn:aws:kms:eu-west-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    for topic_params in [
        vec![],
        vec![
            ("ExistingFindingsTopicArn", topic),
            ("ExistingFindingsTopicKmsKeyArn", key),
        ],
    ] {
        let mut params = topic_params.clone();
        params.push(("CargoLambdaFunctionName", "snapshot-share-detector"));
        let stack = Stack::new(&t, &params);
        let separate = stack.role_statements("CargoLambdaRole");
        let stacks = stack.role_statements("DetectorRole");

        // Its logs: the log group Lambda uses for that function, and no other.
        let logs = with_action(&separate, "logs:PutLogEvents");
        assert_eq!(logs.len(), 1);
        assert_eq!(
            logs[0]["Action"],
            json!(["logs:CreateLogStream", "logs:PutLogEvents"])
        );
        assert_eq!(
            logs[0]["Resource"],
            "arn:aws:logs:us-east-1:111122223333:log-group:/aws/lambda/snapshot-share-detector:*"
        );
        // The stack's role still writes the stack function's group only.
        assert_eq!(
            with_action(&stacks, "logs:PutLogEvents")[0]["Resource"],
            "<DetectorLogGroup.Arn>"
        );

        // Publishing: exactly the stack function's statements (the two copies cannot drift).
        let publishing = |statements: &[Value]| -> Vec<Value> {
            statements
                .iter()
                .filter(|s| {
                    strings(&s["Action"])
                        .iter()
                        .any(|a| a.starts_with("sns:") || a.starts_with("kms:"))
                        && s["Sid"] != "DecryptLogFilesThroughS3"
                })
                .cloned()
                .collect()
        };
        assert_eq!(
            publishing(&separate),
            publishing(&stacks),
            "{topic_params:?}"
        );
        assert!(!publishing(&separate).is_empty());

        // And nothing else: no trail, no queue.
        let mut actions: Vec<String> = separate
            .iter()
            .flat_map(|s| strings(&s["Action"]))
            .collect();
        actions.sort();
        actions.dedup();
        let expected = [
            "kms:Decrypt",
            "kms:GenerateDataKey",
            "logs:CreateLogStream",
            "logs:PutLogEvents",
            "sns:Publish",
        ];
        assert_eq!(actions, expected);
        assert_eq!(
            stack
                .eval(&t["Outputs"]["CargoLambdaRoleArn"]["Value"])
                .unwrap(),
            "<CargoLambdaRole.Arn>"
        );
    }

    // With the de-duplication table and `ORGANIZATION_ACCOUNTS=auto`, the separate function may
    // do what the stack's does with them: the same statements, and only then.
    let params = [
        ("CargoLambdaFunctionName", "snapshot-share-detector"),
        ("DeduplicateFindings", "true"),
        ("OrganizationAccounts", "auto"),
    ];
    let stack = Stack::new(&t, &params);
    let separate = stack.role_statements("CargoLambdaRole");
    let stacks = stack.role_statements("DetectorRole");
    for action in ["dynamodb:PutItem", "organizations:ListAccounts"] {
        let statements = with_action(&separate, action);
        assert_eq!(statements.len(), 1, "{action}");
        assert_eq!(statements, with_action(&stacks, action), "{action}");
    }
    assert_eq!(
        with_action(&separate, "dynamodb:PutItem")[0]["Resource"],
        "<DedupTable.Arn>"
    );
}

/// The README's shell blocks.
fn readme_shell_blocks() -> Vec<String> {
    let readme = std::fs::read_to_string("README.md").unwrap();
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in readme.lines() {
        match (&mut current, line.trim_start()) {
            (None, l) if l.starts_with("```sh") => current = Some(String::new()),
            (Some(block), l) if l.starts_with("```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), l) => {
                block.push_str(l);
                block.push('\n');
            }
            _ => {}
        }
    }
    blocks
}

#[test]
fn the_readme_keeps_what_it_overwrites() {
    // Each of these calls replaces a whole document (a bucket's notification configuration, a
    // bucket, key or topic policy) that other consumers share: every one the README shows must
    // come after a read of the same document, in the same block, so that it writes back a
    // merge.
    let pairs = [
        (
            "put-bucket-notification-configuration",
            "get-bucket-notification-configuration",
        ),
        ("put-bucket-policy", "get-bucket-policy"),
        ("put-key-policy", "get-key-policy"),
        ("set-topic-attributes", "get-topic-attributes"),
    ];
    let mut writes = 0;
    for block in readme_shell_blocks() {
        for (write, read) in pairs {
            for (at, _) in block.match_indices(write) {
                writes += 1;
                let before = &block[..at];
                assert!(
                    before.contains(read),
                    "README: `{write}` without a `{read}` before it in:\n{block}"
                );
            }
        }
    }
    assert!(writes >= 5, "found only {writes} writes");
}

#[test]
fn a_batch_operations_job_may_read_manifests_write_reports_and_invoke_the_detector_only() {
    let t = template();
    let trail = [
        ("TrailBucketName", "org-trail"),
        ("TrailKeyPrefix", "AWSLogs/o-abcdef1234/"),
    ];
    let without = Stack::new(&t, &trail);
    assert!(!without.has("BatchOperationsRole"));
    assert!(!without.condition(
        t["Outputs"]["BatchOperationsRoleArn"]["Condition"]
            .as_str()
            .unwrap()
    ));

    let mut params = trail.to_vec();
    params.push(("BatchOperationsBucketName", "detector-batch"));
    let stack = Stack::new(&t, &params);
    assert!(stack.refusals().is_empty(), "{:#?}", stack.refusals());

    // Assumed by S3 Batch Operations, for jobs of this account only.
    let role = stack.properties("BatchOperationsRole");
    assert_eq!(
        role["AssumeRolePolicyDocument"]["Statement"],
        json!([{
            "Effect": "Allow",
            "Principal": {"Service": "batchoperations.s3.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
        }])
    );
    assert!(role["ManagedPolicyArns"].is_null() && role["PermissionsBoundary"].is_null());

    // Exactly these statements: the detector function (the unqualified ARN, no version or
    // alias), the manifests under their prefix, the reports under theirs.
    assert_eq!(
        json!(stack.role_statements("BatchOperationsRole")),
        json!([
            {
                "Sid": "InvokeDetector",
                "Effect": "Allow",
                "Action": "lambda:InvokeFunction",
                "Resource": "<DetectorFunction.Arn>",
            },
            {
                "Sid": "ReadManifests",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:GetObjectVersion"],
                "Resource": "arn:aws:s3:::detector-batch/batch/manifests/*",
            },
            {
                "Sid": "WriteCompletionReports",
                "Effect": "Allow",
                "Action": "s3:PutObject",
                "Resource": "arn:aws:s3:::detector-batch/batch/reports/*",
            },
        ])
    );
    assert_eq!(
        stack
            .eval(&t["Outputs"]["BatchOperationsRoleArn"]["Value"])
            .unwrap(),
        "<BatchOperationsRole.Arn>"
    );

    // The prefixes are parameters.
    let mut custom = params.clone();
    custom.push(("BatchOperationsManifestPrefix", "detector/in/"));
    custom.push(("BatchOperationsReportPrefix", "detector/out/"));
    let custom = Stack::new(&t, &custom);
    let statements = custom.role_statements("BatchOperationsRole");
    assert_eq!(
        statements[1]["Resource"],
        "arn:aws:s3:::detector-batch/detector/in/*"
    );
    assert_eq!(
        statements[2]["Resource"],
        "arn:aws:s3:::detector-batch/detector/out/*"
    );

    // The function reads each log file a job names with its own role, which the job does not
    // change: the trail's read statement already covers the prefix the manifest is made from.
    assert_eq!(
        stack.role_statements("DetectorRole"),
        without.role_statements("DetectorRole")
    );
    let reads = with_action(&without.role_statements("DetectorRole"), "s3:GetObject")
        .into_iter()
        .map(|s| s["Resource"].clone())
        .collect::<Vec<_>>();
    assert_eq!(
        reads,
        [json!("arn:aws:s3:::org-trail/AWSLogs/o-abcdef1234/*")]
    );

    assert_refusals(
        &t,
        &[
            (
                &[("BatchOperationsBucketName", "detector-batch")],
                true,
                "without a trail bucket the function may read no log file",
            ),
            (
                &[
                    ("TrailBucketName", "org-trail"),
                    ("BatchOperationsBucketName", "detector-batch"),
                    ("BatchOperationsManifestPrefix", "batch/"),
                    ("BatchOperationsReportPrefix", "batch/"),
                ],
                true,
                "the role could overwrite the manifests it reads",
            ),
            (
                &[
                    ("TrailBucketName", "org-trail"),
                    ("BatchOperationsBucketName", "detector-batch"),
                ],
                false,
                "a back-fill of the trail bucket with the default prefixes",
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
    // The attribute the function writes its expiry to (src/sink/dedup.rs TTL_ATTRIBUTE).
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
        ["organizations:ListAccounts"]
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
