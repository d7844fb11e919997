//! Where the detector's events come from, as the templates wire it: the EventBridge rule's
//! pattern (checked against the sample events), the trail's bucket, topic and log group
//! feeding the queue or the function, the central event bus, and the forwarder that sends a
//! member account's events to it.

mod support;

use serde_json::{json, Value};
use support::cfn::{load, resources, template, with_action};
use support::patterns::{
    event_pattern_lists, eventbridge_patterns, filter_event_names, filter_event_sources,
    subscription_filter_event_names,
};
use support::stack::{Stack, ACCOUNT, TRAIL_TOPIC};

/// What the rules read, from the registry, in its order, each once: EventBridge sources,
/// CloudTrail event sources and event names.
fn registry() -> (Vec<String>, Vec<String>, Vec<String>) {
    let mut lists = (Vec::new(), Vec::new(), Vec::new());
    for call in snapshot_share_detector::rule::calls() {
        let push = |list: &mut Vec<String>, v: String| {
            if !list.contains(&v) {
                list.push(v)
            }
        };
        push(&mut lists.0, call.eventbridge_source());
        push(&mut lists.1, call.source.to_owned());
        push(&mut lists.2, call.name.to_owned());
    }
    lists
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[test]
fn the_eventbridge_rule_matches_exactly_the_snapshot_attribute_calls() {
    let t = template();
    let rule = &t["Resources"]["SnapshotAttributeRule"]["Properties"];
    // The calls of every rule, in the registry's order. The share is an API call; a use of a
    // shared snapshot by another account is a service event, which EventBridge delivers with
    // detail-type "AWS Service Event via CloudTrail".
    let (sources, event_sources, names) = registry();
    assert_eq!(
        rule["EventPattern"],
        json!({
            "source": sources,
            "detail-type": ["AWS API Call via CloudTrail", "AWS Service Event via CloudTrail"],
            "detail": {
                "eventSource": event_sources,
                "eventName": names,
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
        if !name.starts_with("eventbridge-") || name.starts_with("eventbridge-s3") {
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
    assert_eq!(
        seen, 10,
        "five snapshot share samples, two uses, an AMI share, an RDS share, block public access"
    );
}

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
    // A JSON filter pattern on the record: the event sources and names of every rule.
    let pattern = filter["FilterPattern"].as_str().unwrap();
    let (_, event_sources, names) = registry();
    assert_eq!(filter_event_sources(pattern), sorted(event_sources));
    assert_eq!(filter_event_names(pattern), sorted(names));
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
            "AWS::CloudWatch::Alarm",
            "AWS::Events::Rule",
            "AWS::IAM::Role",
            "AWS::SQS::Queue",
            "AWS::SQS::QueuePolicy"
        ]
    );
}

// The pattern readers of tests/support/patterns.rs, on the templates as written and on patterns
// made for the purpose: what a test comparing the paths' events relies on them to read.

#[test]
fn the_pattern_reader_lists_each_rule_s_sources_and_event_names() {
    let ec2 = |id: &str| {
        let (sources, event_sources, names) = registry();
        (id.to_owned(), sources, event_sources, names)
    };
    assert_eq!(
        eventbridge_patterns(&template()),
        [
            ec2("SnapshotAttributeRule"),
            // The trail bucket's rule filters on the bucket and key, not on an event.
            (
                "TrailObjectCreatedRule".to_owned(),
                vec!["aws.s3".to_owned()],
                vec![],
                vec![]
            ),
        ]
    );
    assert_eq!(
        eventbridge_patterns(&load("forwarder.yaml")),
        [ec2("ForwardRule")]
    );
    // As the stack evaluates it, and as JSON text.
    let t = template();
    let stack = Stack::new(&t, &[]);
    let evaluated = &stack.properties("SnapshotAttributeRule")["EventPattern"];
    let (_, sources, event_sources, event_names) = ec2("");
    let expected = (sources, event_sources, event_names);
    assert_eq!(event_pattern_lists("evaluated", evaluated), expected);
    let text = json!(evaluated.to_string());
    assert_eq!(event_pattern_lists("text", &text), expected);
}

#[test]
fn the_filter_pattern_reader_lists_the_event_names_a_filter_accepts() {
    let filters = subscription_filter_event_names(&template());
    assert_eq!(filters.len(), 1);
    let (id, pattern) = &filters[0];
    assert_eq!(id, "TrailLogGroupSubscription");
    // Sorted, each once: the registry's names and sources (read one by one in the pattern).
    let (_, event_sources, names) = registry();
    assert_eq!(filter_event_names(pattern), sorted(names));
    assert!(filter_event_names(pattern).contains(&"ModifyDBClusterSnapshotAttribute".to_owned()));
    assert_eq!(
        filter_event_sources(pattern),
        ["ec2.amazonaws.com", "rds.amazonaws.com"]
    );
    assert_eq!(filter_event_sources(pattern), sorted(event_sources));

    // Plain text and Fn::Sub with nothing to substitute, by logical id.
    let t = json!({"Resources": {
        "B": {"Type": "AWS::Logs::SubscriptionFilter",
              "Properties": {"FilterPattern": {"Fn::Sub": "{ $.eventName = \"${!x}\" }"}}},
        "A": {"Type": "AWS::Logs::SubscriptionFilter",
              "Properties": {"FilterPattern": "{ $.eventName = Y }"}},
    }});
    let filters = subscription_filter_event_names(&t);
    assert_eq!(
        filters,
        [
            ("A".to_owned(), "{ $.eventName = Y }".to_owned()),
            ("B".to_owned(), "{ $.eventName = \"${x}\" }".to_owned()),
        ]
    );
    assert_eq!(filter_event_names(&filters[0].1), ["Y"]);

    let names = |p: &str| filter_event_names(p);
    assert_eq!(
        names("{ ($.eventName = \"X\") || ($.eventName = \"Y\") }"),
        ["X", "Y"]
    );
    // && intersects, and binds tighter than ||.
    assert_eq!(
        names("{ $.eventName = X && ($.eventName = X || $.eventName = Y) }"),
        ["X"]
    );
    assert_eq!(
        names("{ $.eventSource = s && $.eventName = X || $.eventName = Y }"),
        ["X", "Y"]
    );
    // Empty: any name passes.
    assert!(names("").is_empty());
    assert!(names("{ $.eventSource = \"ec2.amazonaws.com\" }").is_empty());
    assert!(names("{ $.eventName = X || $.errorCode NOT EXISTS }").is_empty());
}

#[test]
#[should_panic(expected = "no list of exact values")]
fn the_filter_pattern_reader_refuses_a_negated_event_name() {
    filter_event_names("{ ($.eventSource = \"ec2.amazonaws.com\") && ($.eventName != \"X\") }");
}

#[test]
#[should_panic(expected = "no list of exact values")]
fn the_filter_pattern_reader_refuses_a_wildcard_event_name() {
    filter_event_names("{ $.eventName = \"Modify*\" }");
}
