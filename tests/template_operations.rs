//! What a platform team checks before deploying the templates into a log-archive account, read
//! as data: the trail queue's visibility timeout for every accepted function timeout, a bound on
//! every SQS trigger's concurrency and the back-fill's own, multi-Region keys, the alarms (the
//! forwarder's too) and the dead letters of the trail topic's subscription, deletion policies,
//! permissions boundaries and tags.

mod support;

use serde_json::{json, Value};
use support::cfn::{allowed, load, resources, template};
use support::stack::{Stack, REGION, TRAIL_TOPIC};

/// A trail bucket, so that the trail queue and its mapping exist.
const TRAIL: &[(&str, &str)] = &[("TrailBucketName", "org-trail")];

#[test]
fn the_trail_queue_outlasts_six_function_timeouts_for_every_accepted_timeout() {
    // AWS: the queue's visibility timeout at least six times the function's timeout, so that
    // Lambda can retry a throttled batch before the messages reappear; plus the batching window,
    // which a batch waits before the function starts. CloudFormation has no arithmetic: the
    // timeout is one of a list, and each value has its row in TimeoutSettings.
    let t = template();
    let timeout = &t["Parameters"]["Timeout"];
    assert!(
        timeout["MaxValue"].is_null() && timeout["MinValue"].is_null(),
        "a range would accept timeouts that have no row"
    );
    let accepted: Vec<u64> = timeout["AllowedValues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert!(accepted.contains(&timeout["Default"].as_u64().unwrap()));
    assert_eq!(accepted.last(), Some(&900), "Lambda's longest timeout");
    let rows = t["Mappings"]["TimeoutSettings"].as_object().unwrap();
    assert_eq!(rows.len(), accepted.len(), "one row per accepted timeout");
    for seconds in accepted {
        let value = seconds.to_string();
        let mut params = TRAIL.to_vec();
        params.push(("Timeout", &value));
        let stack = Stack::new(&t, &params);
        let function = stack.properties("DetectorFunction");
        assert_eq!(function["Timeout"], json!(value));
        let window = stack.properties("TrailQueueMapping")["MaximumBatchingWindowInSeconds"]
            .as_u64()
            .unwrap();
        let visibility = stack.properties("TrailQueue")["VisibilityTimeout"]
            .as_u64()
            .unwrap();
        assert!(
            visibility >= 6 * seconds + window,
            "Timeout {seconds}: visibility {visibility} < 6 x {seconds} + {window}"
        );
        // SQS's longest visibility timeout is 12 hours.
        assert!(visibility <= 43_200, "Timeout {seconds}: {visibility}");
    }
}

#[test]
fn every_sqs_trigger_is_bounded_and_the_back_fill_has_a_concurrency_of_its_own() {
    let t = template();
    let mut mappings = 0;
    for (name, r) in resources(&t) {
        // Event source mappings, written out or as a SAM function's SQS event.
        let mut sqs: Vec<Value> = Vec::new();
        if r["Type"] == "AWS::Lambda::EventSourceMapping" {
            sqs.push(r["Properties"].clone());
        }
        for (_, event) in r["Properties"]["Events"].as_object().into_iter().flatten() {
            if event["Type"] == "SQS" {
                sqs.push(event["Properties"].clone());
            }
        }
        for mapping in sqs {
            mappings += 1;
            let bound = &mapping["ScalingConfig"]["MaximumConcurrency"];
            let parameter = &t["Parameters"][bound["Ref"].as_str().unwrap_or_else(|| {
                panic!("{name}: MaximumConcurrency is not a parameter: {mapping}")
            })];
            // Lambda accepts 2 to 1000.
            assert!(parameter["MinValue"].as_u64().unwrap() >= 2, "{name}");
            assert!(parameter["MaxValue"].as_u64().unwrap() <= 1000, "{name}");
            let default = parameter["Default"].as_u64().unwrap();
            assert!((2..=1000).contains(&default), "{name}");
        }
    }
    assert!(mappings >= 1, "no SQS trigger found");

    // The real-time function is never capped by a reserved concurrency: with an SQS trigger,
    // throttled batches count as receives and end in the dead-letter queue.
    let f = &t["Resources"]["DetectorFunction"]["Properties"];
    assert!(f["ReservedConcurrentExecutions"].is_null());

    // S3 Batch Operations invokes a copy with its own reserved concurrency, and only that one.
    let mut params = TRAIL.to_vec();
    params.push(("BatchOperationsBucketName", "detector-batch"));
    params.push(("BatchOperationsConcurrency", "25"));
    let stack = Stack::new(&t, &params);
    let backfill = stack.properties("BackfillFunction");
    assert_eq!(backfill["ReservedConcurrentExecutions"], "25");
    let invoke: Vec<Value> = stack
        .role_statements("BatchOperationsRole")
        .into_iter()
        .filter(|s| s["Action"] == "lambda:InvokeFunction")
        .collect();
    assert_eq!(invoke.len(), 1);
    assert_eq!(invoke[0]["Resource"], "<BackfillFunction.Arn>");
    assert_eq!(
        stack
            .eval(&t["Outputs"]["BackfillFunctionArn"]["Value"])
            .unwrap(),
        "<BackfillFunction.Arn>"
    );
    // The same code and settings as the real-time function, but for the reserved concurrency
    // and the description: a back-fill finds what real time would. It never remediates:
    // history is history (tests/template_remediation.rs).
    let mut same = stack.properties("DetectorFunction");
    let mut copy = backfill.clone();
    for p in [&mut same, &mut copy] {
        let p = p.as_object_mut().unwrap();
        for key in [
            "ReservedConcurrentExecutions",
            "Description",
            "EventInvokeConfig",
        ] {
            p.remove(key);
        }
        let env = p["Environment"]["Variables"].as_object_mut().unwrap();
        env.retain(|k, _| !k.starts_with("REMEDIAT"));
    }
    assert_eq!(copy, same);
    let meta = |name: &str| t["Resources"][name]["Metadata"].clone();
    assert_eq!(meta("BackfillFunction"), meta("DetectorFunction"));
    assert!(!Stack::new(&t, TRAIL).has("BackfillFunction"));
}

#[test]
fn multi_region_keys_are_accepted_wherever_a_key_is() {
    let single = "arn:aws:kms:eu-west-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let multi = "arn:aws:kms:eu-west-1:444455556666:key/mrk-1234abcd12ab34cd56ef1234567890ab";
    let alias = "arn:aws:kms:eu-west-1:444455556666:alias/trail";
    let t = template();
    let mut keys = 0;
    for (name, p) in t["Parameters"].as_object().unwrap() {
        if !name.ends_with("KmsKeyArn") {
            continue;
        }
        keys += 1;
        let pattern = p["AllowedPattern"].as_str().unwrap();
        for ok in ["", single, multi] {
            assert!(allowed(pattern, ok), "{name} refuses {ok:?}");
        }
        // An alias is not a key ARN: IAM and key policies need the key.
        assert!(!allowed(pattern, alias), "{name} accepts an alias");
        assert!(!allowed(pattern, "key/mrk-1"), "{name}");
    }
    assert!(keys >= 3, "only {keys} key parameters");
    // The permissions use the ARN as given, a multi-Region one included.
    let stack = Stack::new(
        &t,
        &[("TrailBucketName", "org-trail"), ("TrailKmsKeyArn", multi)],
    );
    let decrypt: Vec<Value> = stack
        .role_statements("DetectorRole")
        .into_iter()
        .filter(|s| s["Sid"] == "DecryptLogFilesThroughS3")
        .collect();
    assert_eq!(decrypt[0]["Resource"], multi);
}

#[test]
fn the_pattern_checker_reads_the_patterns_as_cloudformation_does() {
    assert!(allowed(
        "^$|^[0-9]{12}( *, *[0-9]{12})*$",
        "111122223333, 444455556666"
    ));
    assert!(!allowed(
        "^$|^[0-9]{12}( *, *[0-9]{12})*$",
        "111122223333,4444"
    ));
    assert!(allowed("^[^*]*$", "AWSLogs/"));
    assert!(!allowed("^[^*]*$", "AWSLogs/*"));
    assert!(allowed("^[a-z]{2}(-[a-z]+)+-[0-9]+$", "ap-southeast-2"));
    assert!(!allowed("^[a-z]{2}(-[a-z]+)+-[0-9]+$", "apsoutheast2"));
    assert!(allowed(
        "^[.\\-_/#A-Za-z0-9]{1,512}$",
        "/aws/cloudtrail/org"
    ));
    assert!(allowed("^o-[a-z0-9]{10,32}$", "o-abcdef1234"));
    assert!(!allowed("^o-[a-z0-9]{10,32}$", "o-abc"));
}

/// Every alarm of a template: name and evaluated properties.
fn alarms(stack: &Stack, t: &Value) -> Vec<(String, Value)> {
    resources(t)
        .filter(|(name, r)| r["Type"] == "AWS::CloudWatch::Alarm" && stack.has(name))
        .map(|(name, _)| (name.clone(), stack.properties(name)))
        .collect()
}

#[test]
fn alarms_cover_throttles_a_late_queue_silence_and_every_dead_letter_queue() {
    let t = template();
    let topic = format!("arn:aws:sns:{REGION}:111122223333:ops-alarms");
    let mut params = TRAIL.to_vec();
    params.push(("AlarmTopicArn", &topic));
    let stack = Stack::new(&t, &params);
    let all = alarms(&stack, &t);
    let find = |metric: &str| -> Value {
        all.iter()
            .find(|(_, a)| a["MetricName"] == metric)
            .unwrap_or_else(|| panic!("no alarm on {metric}"))
            .1
            .clone()
    };
    let throttles = find("Throttles");
    assert_eq!(throttles["Namespace"], "AWS/Lambda");
    assert_eq!(
        throttles["Dimensions"],
        json!([{"Name": "FunctionName", "Value": "<DetectorFunction>"}])
    );
    let age = find("ApproximateAgeOfOldestMessage");
    assert_eq!(
        age["Dimensions"],
        json!([{"Name": "QueueName", "Value": "<TrailQueue.QueueName>"}])
    );
    assert!(age["Threshold"].as_u64().unwrap() <= 3600);
    // An hour without a log file read is an outage; so is a function never invoked.
    let silence = find("ObjectsRead");
    assert_eq!(silence["Namespace"], "SnapshotShareDetector");
    assert_eq!(silence["Period"], 3600);
    assert_eq!(silence["ComparisonOperator"], "LessThanThreshold");
    assert_eq!(silence["Threshold"], 1);
    assert_eq!(silence["TreatMissingData"], "breaching");
    for (name, alarm) in &all {
        assert_eq!(alarm["AlarmActions"], json!([topic]), "{name}");
    }
    // Every dead-letter queue has an alarm.
    for queue in [
        "EventsDeadLetterQueue",
        "AsyncFailureQueue",
        "TrailDeadLetterQueue",
    ] {
        let name = format!("<{queue}.QueueName>");
        assert!(
            all.iter()
                .any(|(_, a)| a["Dimensions"][0]["Value"] == name.as_str()),
            "no alarm on {queue}"
        );
    }
    // A topic encrypted with a customer managed key needs a grant to CloudWatch: said where
    // the topic is chosen.
    let description = t["Parameters"]["AlarmTopicArn"]["Description"]
        .as_str()
        .unwrap();
    assert!(
        description.contains("cloudwatch.amazonaws.com"),
        "{description}"
    );
    // Without a trail, no trail alarm (their metrics would never exist).
    let plain = Stack::new(&t, &[]);
    assert!(!alarms(&plain, &t)
        .iter()
        .any(|(_, a)| a["MetricName"] == "ObjectsRead"));

    // The forwarder: an alarm on its dead-letter queue, notifying the topic of its own account
    // and region when a name is given.
    let f = load("forwarder.yaml");
    let forwarder = Stack::new(
        &f,
        &[
            (
                "CentralEventBusArn",
                "arn:aws:events:us-east-1:111122223333:event-bus/central",
            ),
            ("AlarmTopicName", "ops-alarms"),
        ],
    );
    let alarm = alarms(&forwarder, &f);
    assert_eq!(alarm.len(), 1);
    let alarm = &alarm[0].1;
    assert_eq!(alarm["MetricName"], "ApproximateNumberOfMessagesVisible");
    assert_eq!(
        alarm["Dimensions"][0]["Value"],
        "<ForwarderDeadLetterQueue.QueueName>"
    );
    assert_eq!(alarm["AlarmActions"], json!([topic]));
    let silent = Stack::new(
        &f,
        &[(
            "CentralEventBusArn",
            "arn:aws:events:us-east-1:111122223333:event-bus/central",
        )],
    );
    assert!(alarms(&silent, &f)[0].1["AlarmActions"].is_null());
}

#[test]
fn notices_the_trail_topic_cannot_deliver_go_to_the_dead_letter_queue() {
    let t = template();
    let sns = |topic: &str| {
        vec![
            ("TrailBucketName", "org-trail"),
            ("TrailNotification", "SNS"),
            ("TrailSnsTopicArn", topic),
            ("TrailBucketAccountId", "999988887777"),
        ]
        .into_iter()
        .map(|(k, v)| (k, v.to_owned()))
        .collect::<Vec<_>>()
    };
    let here = format!("arn:aws:sns:{REGION}:999988887777:org-trail-deliveries");
    let params = sns(&here);
    let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let stack = Stack::new(&t, &params);
    assert!(stack.refusals().is_empty(), "{:?}", stack.refusals());
    let subscription = stack.properties("TrailTopicSubscription");
    assert_eq!(
        subscription["RedrivePolicy"],
        json!({"deadLetterTargetArn": "<TrailDeadLetterQueue.Arn>"})
    );
    // SNS may send there, for that topic only.
    let policy = stack.properties("TrailDeadLetterQueuePolicy");
    assert_eq!(
        policy["PolicyDocument"]["Statement"],
        json!([{
            "Sid": "SnsDeadLetters",
            "Effect": "Allow",
            "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": "<TrailDeadLetterQueue.Arn>",
            "Condition": {"ArnEquals": {"aws:SourceArn": here}},
        }])
    );

    // A topic of another region: SNS requires the dead-letter queue in the subscription's
    // region, which the stack cannot create; no redrive policy rather than a failed deploy.
    let params = sns(TRAIL_TOPIC);
    let mut params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    params.push(("TrailBucketRegion", "eu-west-1"));
    let far = Stack::new(&t, &params);
    assert!(far.refusals().is_empty(), "{:?}", far.refusals());
    assert!(far.properties("TrailTopicSubscription")["RedrivePolicy"].is_null());
    assert!(!far.has("TrailDeadLetterQueuePolicy"));
    // And an empty topic ARN still evaluates (CloudFormation evaluates every condition).
    assert!(!Stack::new(&t, &[]).condition("TrailViaSnsInThisRegion"));
}

#[test]
fn every_queue_says_what_happens_to_it_when_the_stack_goes() {
    for path in ["template.yaml", "forwarder.yaml"] {
        let t = load(path);
        for (name, r) in resources(&t) {
            if r["Type"] != "AWS::SQS::Queue" {
                continue;
            }
            for policy in ["DeletionPolicy", "UpdateReplacePolicy"] {
                assert!(r[policy].is_string(), "{path}: {name} has no {policy}");
            }
        }
    }
    // The live queue holds notices of files that stay in the bucket; the forwarder leaves
    // nothing behind in member accounts.
    let t = template();
    assert_eq!(t["Resources"]["TrailQueue"]["DeletionPolicy"], "Delete");
    let f = load("forwarder.yaml");
    assert_eq!(
        f["Resources"]["ForwarderDeadLetterQueue"]["DeletionPolicy"],
        "Delete"
    );
}

#[test]
fn every_role_takes_the_permissions_boundary() {
    let t = template();
    let boundary = "arn:aws:iam::111122223333:policy/platform/boundary";
    let all = [
        ("TrailBucketName", "org-trail"),
        ("CargoLambdaFunctionName", "detector"),
        ("BatchOperationsBucketName", "detector-batch"),
        ("AuditSchedule", "daily"),
    ];
    let mut params = all.to_vec();
    params.push(("PermissionsBoundaryArn", boundary));
    let bounded = Stack::new(&t, &params);
    let free = Stack::new(&t, &all);
    let mut roles = 0;
    for (name, r) in resources(&t) {
        if r["Type"] != "AWS::IAM::Role" {
            continue;
        }
        roles += 1;
        assert_eq!(
            bounded.properties(name)["PermissionsBoundary"],
            boundary,
            "{name}"
        );
        assert!(free.properties(name)["PermissionsBoundary"].is_null());
    }
    assert_eq!(roles, 6);

    let f = load("forwarder.yaml");
    let bus = "arn:aws:events:us-east-1:111122223333:event-bus/central";
    let forwarder = Stack::new(
        &f,
        &[
            ("CentralEventBusArn", bus),
            ("PermissionsBoundaryPolicyName", "platform/boundary"),
        ],
    );
    // The policy of each member account the StackSet lands in, not one account's.
    assert_eq!(
        forwarder.properties("ForwarderRole")["PermissionsBoundary"],
        "arn:aws:iam::111122223333:policy/platform/boundary"
    );
    let text = f["Resources"]["ForwarderRole"]["Properties"]["PermissionsBoundary"].to_string();
    assert!(text.contains("${AWS::AccountId}"), "{text}");
}

/// Resource types that take tags, and the types the templates use that do not.
const TAGGED: &[&str] = &[
    "AWS::KMS::Key",
    "AWS::SNS::Topic",
    "AWS::DynamoDB::Table",
    "AWS::Logs::LogGroup",
    "AWS::IAM::Role",
    "AWS::Serverless::Function",
    "AWS::SQS::Queue",
    "AWS::Events::Rule",
    "AWS::Events::EventBus",
    "AWS::CloudWatch::Alarm",
    "AWS::Lambda::EventSourceMapping",
    "AWS::StepFunctions::StateMachine",
];
const UNTAGGABLE: &[&str] = &[
    "AWS::KMS::Alias",
    "AWS::SNS::TopicPolicy",
    "AWS::SNS::Subscription",
    "AWS::SQS::QueuePolicy",
    "AWS::Events::EventBusPolicy",
    "AWS::Lambda::Permission",
    "AWS::Logs::SubscriptionFilter",
    "AWS::Scheduler::Schedule",
];

#[test]
fn every_resource_that_takes_tags_has_them() {
    for path in ["template.yaml", "forwarder.yaml", "audit-role.yaml"] {
        let t = load(path);
        for (name, r) in resources(&t) {
            let ty = r["Type"].as_str().unwrap();
            let tags = &r["Properties"]["Tags"];
            if TAGGED.contains(&ty) {
                // A SAM function takes a map; the others a list of Key and Value.
                let application = if ty == "AWS::Serverless::Function" {
                    tags["application"].clone()
                } else {
                    tags.as_array()
                        .into_iter()
                        .flatten()
                        .find(|t| t["Key"] == "application")
                        .map(|t| t["Value"].clone())
                        .unwrap_or(Value::Null)
                };
                assert_eq!(
                    application, "snapshot-share-detector",
                    "{path}: {name} has no application tag"
                );
            } else {
                assert!(
                    UNTAGGABLE.contains(&ty),
                    "{path}: {name}: does {ty} take tags? List it in TAGGED or UNTAGGABLE"
                );
            }
        }
    }
}
