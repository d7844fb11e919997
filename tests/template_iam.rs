//! The template's permissions, read as data: no wildcard where a narrower grant exists, and
//! what each role may do for given parameters (the function's, the one for a function deployed
//! with `cargo lambda deploy`, the S3 Batch Operations job's), with the policy statements the
//! stack asks other accounts to add. (`cfn-lint` and `sam validate --lint` check the syntax in
//! CI; this checks what we promise about it.)

mod support;

use serde_json::{json, Value};
use snapshot_share_detector::audit::ACTIONS;
use support::cfn::{actions, load, resources, statements, strings, template, with_action};
use support::stack::{assert_refusals, Stack};

#[test]
fn no_wildcard_action_or_resource_where_a_narrower_one_exists() {
    for (path, least) in [
        ("template.yaml", 10),
        ("forwarder.yaml", 2),
        ("audit-role.yaml", 1),
    ] {
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

/// Actions that have no resource-level permission (the Service Authorization Reference lists
/// no resource type for them): `*` is the only resource AWS accepts. Organizations' account
/// list, Access Analyzer's list of analyzers, the log deliveries a state machine's logging
/// asks its role for, and the audit's calls that list or read a region's settings.
const STAR_ONLY: &[&str] = &[
    "organizations:DescribeOrganization",
    "organizations:ListAccounts",
    "access-analyzer:ListAnalyzers",
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
    "ec2:DescribeRegions",
    "ec2:DescribeSnapshots",
    "ec2:DescribeImages",
    "ec2:GetSnapshotBlockPublicAccessState",
    "ec2:GetImageBlockPublicAccessState",
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
        // Actions with no resource-level permission: AWS accepts only "*" for them. Allowed
        // in a statement of such actions only, so that the "*" covers nothing else.
        let star_only = strings(&s["Action"])
            .iter()
            .all(|a| STAR_ONLY.contains(&a.as_str()));
        // The audit's read-only calls in an account, exactly: half have no resource-level
        // permission; the attribute calls take a snapshot's or an image's ARN, which for EC2
        // names no account ("every snapshot" is "*" again), and for RDS would narrow nothing
        // the calls return (the template's comment says why, where it grants them).
        let audit_reads = {
            let mut granted = strings(&s["Action"]);
            let mut audit: Vec<String> = ACTIONS.iter().map(|a| a.to_string()).collect();
            granted.sort();
            audit.sort();
            granted == audit
        };
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
            // The audit's member role, by a name that cannot hold a "*", in any account (the
            // organization's accounts are not known to the template, and change).
            let member_role = strings(&s["Action"]) == ["sts:AssumeRole"]
                && resource.ends_with(":iam::*:role/${AuditRoleName}")
                && t["Parameters"]["AuditRoleName"]["AllowedPattern"]
                    .as_str()
                    .is_some_and(|p| !p.contains('*'));
            // Access Analyzer's findings: the analyzers of this account, in every region.
            let own_analyzers = strings(&s["Action"]) == ["access-analyzer:ListFindings"]
                && resource.ends_with(":access-analyzer:*:${AWS::AccountId}:analyzer/*");
            let wildcard = resource.contains('*') || group_arn;
            let narrowest = group_arn
                || group_streams
                || object_prefix
                || member_role
                || own_analyzers
                || ((star_only || audit_reads) && resource == "*");
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
    assert_eq!(
        actions(role.iter().map(|(_, s)| s)),
        [
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "kms:Decrypt",
            "kms:GenerateDataKey",
            "logs:CreateLogStream",
            "logs:PutLogEvents",
            "organizations:DescribeOrganization",
            "organizations:ListAccounts",
            "s3:GetObject",
            "s3:GetObjectVersion",
            "securityhub:BatchImportFindings",
            "securityhub:BatchUpdateFindings",
            "sns:Publish",
            "sqs:ChangeMessageVisibility",
            "sqs:DeleteMessage",
            "sqs:GetQueueAttributes",
            "sqs:ReceiveMessage",
            "sqs:SendMessage",
        ]
    );
    // Security Hub: import as the account's default product, update findings of its own hub,
    // in the stack's region; nothing else.
    for (action, resource) in [
        (
            "securityhub:BatchImportFindings",
            "arn:${AWS::Partition}:securityhub:${AWS::Region}:${AWS::AccountId}:product/${AWS::AccountId}/default",
        ),
        (
            "securityhub:BatchUpdateFindings",
            "arn:${AWS::Partition}:securityhub:${AWS::Region}:${AWS::AccountId}:hub/default",
        ),
    ] {
        let granted: Vec<&Value> = role
            .iter()
            .map(|(_, s)| s)
            .filter(|s| strings(&s["Action"]).iter().any(|a| a == action))
            .collect();
        assert_eq!(granted.len(), 1, "{action}");
        assert_eq!(granted[0]["Resource"], json!({ "Fn::Sub": resource }), "{action}");
        assert_eq!(strings(&granted[0]["Action"]), [action]);
    }
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
        let expected = [
            "kms:Decrypt",
            "kms:GenerateDataKey",
            "logs:CreateLogStream",
            "logs:PutLogEvents",
            "sns:Publish",
        ];
        assert_eq!(actions(&separate), expected);
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

    // Assumed by S3 Batch Operations, with AWS's documented trust policy ("Granting
    // permissions for Batch Operations", S3 User Guide): no condition the service might not
    // send. Who may use the role is decided by iam:PassRole.
    let role = stack.properties("BatchOperationsRole");
    assert_eq!(
        role["AssumeRolePolicyDocument"]["Statement"],
        json!([{
            "Effect": "Allow",
            "Principal": {"Service": "batchoperations.s3.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }])
    );
    assert!(role["ManagedPolicyArns"].is_null() && role["PermissionsBoundary"].is_null());

    // Exactly these statements: the back-fill's function (the unqualified ARN, no version or
    // alias), the manifests under their prefix, the reports under theirs and never over a
    // manifest.
    assert_eq!(
        json!(stack.role_statements("BatchOperationsRole")),
        json!([
            {
                "Sid": "InvokeDetector",
                "Effect": "Allow",
                "Action": "lambda:InvokeFunction",
                "Resource": "<BackfillFunction.Arn>",
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
            {
                "Sid": "NeverOverwriteManifests",
                "Effect": "Deny",
                "Action": "s3:PutObject",
                "Resource": "arn:aws:s3:::detector-batch/batch/manifests/*",
            },
        ])
    );
    // The report prefix as the docs' create-job takes it.
    assert_eq!(
        stack
            .eval(&t["Outputs"]["BatchOperationsReportPrefix"]["Value"])
            .unwrap(),
        "batch/reports/"
    );

    // A report prefix that contains the manifests' (batch/ over batch/manifests/): the deny
    // still keeps the role off the manifests, which an allow alone would not.
    let mut wide = params.clone();
    wide.push(("BatchOperationsReportPrefix", "batch/"));
    let wide = Stack::new(&t, &wide);
    let statements = wide.role_statements("BatchOperationsRole");
    let deny: Vec<&Value> = statements
        .iter()
        .filter(|s| s["Effect"] == "Deny")
        .collect();
    assert_eq!(deny.len(), 1);
    assert_eq!(deny[0]["Action"], "s3:PutObject");
    assert_eq!(
        deny[0]["Resource"],
        "arn:aws:s3:::detector-batch/batch/manifests/*"
    );

    // An SSE-KMS back-fill bucket: the bucket's key, through S3 of the stack's region only,
    // to write the reports.
    let key = "arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab";
    let mut encrypted = params.clone();
    encrypted.push(("BatchOperationsBucketKmsKeyArn", key));
    let encrypted = Stack::new(&t, &encrypted);
    assert!(
        encrypted.refusals().is_empty(),
        "{:?}",
        encrypted.refusals()
    );
    let kms = with_action(
        &encrypted.role_statements("BatchOperationsRole"),
        "kms:GenerateDataKey",
    )
    .into_iter()
    .cloned()
    .collect::<Vec<_>>();
    assert_eq!(
        json!(kms),
        json!([{
            "Sid": "EncryptCompletionReports",
            "Effect": "Allow",
            "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
            "Resource": key,
            "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}},
        }])
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
            (
                &[
                    ("TrailBucketName", "org-trail"),
                    (
                        "BatchOperationsBucketKmsKeyArn",
                        "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                    ),
                ],
                true,
                "a back-fill bucket key without the bucket would be ignored",
            ),
        ],
    );
}
