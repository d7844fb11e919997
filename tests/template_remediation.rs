//! Remediation's side of the templates, read as data (issue 23): the member role of
//! `remediation-role.yaml`, and in `template.yaml` the function's permission to narrow shares,
//! its settings and its alarm, for each `Remediate`. The permissions are held to
//! `snapshot_share_detector::remediate::ACTIONS`, the calls the code makes, never to a copy.
//! (`cfn-lint` checks the syntax; nothing here reaches AWS.)

mod support;

use serde_json::{json, Value};
use snapshot_share_detector::metrics::{emf_line, Summary};
use snapshot_share_detector::remediate::{ACTIONS, BLOCK_PUBLIC_ACCESS_ACTIONS};
use support::cfn::{actions, allowed, load, resources, template};
use support::stack::{assert_refusals, Stack, ACCOUNT, REGION};

const DETECTOR: &str = "999988887777";
const ORG: &str = "o-abcdef1234";
const FUNCTION_ROLE: &str = "snapshot-share-detector-DetectorRole-AbC123";

/// The member role's required parameters.
const MEMBER: &[(&str, &str)] = &[
    ("DetectorAccountId", DETECTOR),
    ("OrganizationId", ORG),
    ("DetectorRoleName", FUNCTION_ROLE),
];

/// Remediation's calls, sorted, as [`actions`] gives them.
fn remediation_actions() -> Vec<String> {
    let mut out: Vec<String> = ACTIONS.iter().map(|a| a.to_string()).collect();
    out.sort();
    out
}

/// The resources remediation's calls may act on, in `account`: every EBS snapshot and AMI
/// (their ARNs name no account), and the account's RDS DB and cluster snapshots.
fn shares_of(account: &str) -> Value {
    json!([
        "arn:aws:ec2:*::snapshot/*",
        "arn:aws:ec2:*::image/*",
        format!("arn:aws:rds:*:{account}:snapshot:*"),
        format!("arn:aws:rds:*:{account}:cluster-snapshot:*"),
    ])
}

#[test]
fn the_member_role_may_read_and_narrow_shares_and_nothing_else() {
    let t = load("remediation-role.yaml");
    let stack = Stack::new(&t, MEMBER);
    assert_eq!(resources(&t).count(), 1, "the role, and nothing else");
    let statements = stack.role_statements("RemediationRole");
    assert_eq!(statements.len(), 1, "{statements:#?}");
    assert_eq!(statements[0]["Effect"], "Allow");
    assert_eq!(actions(&statements), remediation_actions());
    assert_eq!(statements[0]["Resource"], shares_of(ACCOUNT));
    // Each modify call comes with the read that precedes it, and nothing else is granted: no
    // Create, Delete, Copy, no other attribute call.
    for action in ACTIONS {
        let (service, name) = action.split_once(':').unwrap();
        let read = name
            .strip_prefix("Modify")
            .map(|rest| format!("{service}:Describe{rest}"))
            .unwrap_or_default();
        assert!(
            name.starts_with("Describe")
                || ACTIONS.contains(&read.as_str())
                || ACTIONS.contains(&format!("{read}s").as_str()),
            "{action} is neither a read nor the narrowing of what is read"
        );
    }
    let role = stack.properties("RemediationRole");
    assert!(role["ManagedPolicyArns"].is_null(), "no managed policy");
    assert_eq!(role["RoleName"], "snapshot-share-detector-remediation");
    // The member role's name as it accepts it is one the detector accepts.
    assert_eq!(
        t["Parameters"]["RoleName"]["AllowedPattern"],
        json!(
            template()["Parameters"]["RemediationRoleName"]["AllowedPattern"]
                .as_str()
                .unwrap()
                .trim_start_matches("^$|")
        )
    );
    assert_eq!(
        stack.eval(&t["Outputs"]["RoleArn"]["Value"]).unwrap(),
        "<RemediationRole.Arn>"
    );
}

#[test]
fn the_member_role_trusts_the_detector_function_role_alone() {
    let t = load("remediation-role.yaml");
    let root = format!("arn:aws:iam::{DETECTOR}:root");
    let function = format!("arn:aws:iam::{DETECTOR}:role/{FUNCTION_ROLE}");
    let trust = |stack: &Stack| {
        stack.properties("RemediationRole")["AssumeRolePolicyDocument"]["Statement"].clone()
    };
    assert_eq!(
        trust(&Stack::new(&t, MEMBER)),
        json!([{
            "Sid": "DetectorRemediates",
            "Effect": "Allow",
            "Principal": {"AWS": root},
            "Action": "sts:AssumeRole",
            "Condition": {
                "StringEquals": {"aws:PrincipalOrgID": ORG},
                "ArnEquals": {"aws:PrincipalArn": function},
            },
        }])
    );
    let external = Stack::new(&t, &[MEMBER, &[("ExternalId", "fix-4f2c")]].concat());
    assert_eq!(
        trust(&external)[0]["Condition"]["StringEquals"],
        json!({"aws:PrincipalOrgID": ORG, "sts:ExternalId": "fix-4f2c"})
    );
    assert_eq!(t["Parameters"]["ExternalId"]["NoEcho"], true);
    // Unlike the audit's read-only role, the function's role is required: no other principal
    // of the detector's account (an administrator with "*") may change sharing through it.
    for name in ["DetectorAccountId", "OrganizationId", "DetectorRoleName"] {
        let p = &t["Parameters"][name];
        assert!(p["Default"].is_null(), "{name}");
        assert!(
            !allowed(p["AllowedPattern"].as_str().unwrap(), ""),
            "{name}"
        );
    }
    // The boundary: a policy of each account the StackSet lands in, or none.
    let free = Stack::new(&t, MEMBER);
    assert!(free.properties("RemediationRole")["PermissionsBoundary"].is_null());
    let bounded = Stack::new(
        &t,
        &[
            MEMBER,
            &[("PermissionsBoundaryPolicyName", "platform/boundary")],
        ]
        .concat(),
    );
    assert_eq!(
        bounded.properties("RemediationRole")["PermissionsBoundary"],
        format!("arn:aws:iam::{ACCOUNT}:policy/platform/boundary")
    );
    // The audit's member role takes one too.
    let audit = load("audit-role.yaml");
    assert!(audit["Parameters"]["PermissionsBoundaryPolicyName"].is_object());
}

#[test]
fn with_remediation_off_no_role_may_change_a_share() {
    let t = template();
    let p = &t["Parameters"]["Remediate"];
    assert_eq!(p["Default"], "off");
    assert_eq!(p["AllowedValues"], json!(["off", "public", "untrusted"]));
    let everything = [
        ("TrailBucketName", "org-trail"),
        ("CargoLambdaFunctionName", "detector"),
        ("BatchOperationsBucketName", "detector-batch"),
        ("AuditSchedule", "daily"),
        ("OrganizationAccounts", "auto"),
    ];
    let off = Stack::new(&t, &everything);
    let mut roles = 0;
    for (name, r) in resources(&t) {
        if r["Type"] != "AWS::IAM::Role" || !off.has(name) {
            continue;
        }
        roles += 1;
        for action in actions(&off.role_statements(name)) {
            assert!(!action.contains(":Modify"), "{name}: {action}");
        }
    }
    assert_eq!(roles, 6);
    assert!(!off.has("RemediationFailedAlarm"));
    let env = &off.properties("DetectorFunction")["Environment"]["Variables"];
    assert_eq!(env["REMEDIATE"], "off");
    assert!(env["REMEDIATION_ROLE_NAME"].is_null());
    assert!(!off.condition(
        t["Outputs"]["DetectorRoleName"]["Condition"]
            .as_str()
            .unwrap()
    ));
}

#[test]
fn the_function_may_narrow_shares_here_and_assume_the_member_role_by_name_only() {
    let t = template();
    let here = Stack::new(&t, &[("Remediate", "public")]);
    let policy = |stack: &Stack| -> Vec<Value> {
        let policies = stack.properties("DetectorRole")["Policies"].clone();
        let found: Vec<Value> = policies
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["PolicyName"] == "remediate-shares")
            .map(|p| p["PolicyDocument"]["Statement"].clone())
            .collect();
        assert_eq!(found.len(), 1);
        found[0].as_array().unwrap().clone()
    };
    let statements = policy(&here);
    assert_eq!(
        statements.len(),
        1,
        "no sts:AssumeRole without a member role"
    );
    assert_eq!(actions(&statements), remediation_actions());
    assert_eq!(statements[0]["Resource"], shares_of(ACCOUNT));

    let org = Stack::new(
        &t,
        &[
            ("Remediate", "untrusted"),
            ("RemediationRoleName", "org-fix"),
            ("RemediationExternalId", "fix-4f2c"),
            ("RemediateDryRun", "true"),
        ],
    );
    assert!(org.refusals().is_empty(), "{:?}", org.refusals());
    let statements = policy(&org);
    assert_eq!(statements.len(), 2);
    assert_eq!(statements[1]["Action"], "sts:AssumeRole");
    assert_eq!(statements[1]["Resource"], "arn:aws:iam::*:role/org-fix");
    assert_eq!(
        statements[1]["Condition"],
        json!({"StringEquals": {"aws:ResourceOrgID": "${aws:PrincipalOrgID}"}})
    );
    let env = &org.properties("DetectorFunction")["Environment"]["Variables"];
    assert_eq!(env["REMEDIATE"], "untrusted");
    assert_eq!(env["REMEDIATE_DRY_RUN"], "true");
    assert_eq!(env["REMEDIATION_ROLE_NAME"], "org-fix");
    assert_eq!(env["REMEDIATION_EXTERNAL_ID"], "fix-4f2c");
    assert_eq!(
        org.eval(&t["Outputs"]["DetectorRoleName"]["Value"])
            .unwrap(),
        "<DetectorRole>"
    );

    // The real-time function alone: the back-fill (history is history) and the audit (run
    // with --remediate by hand) never get the settings.
    let all = Stack::new(
        &t,
        &[
            ("Remediate", "untrusted"),
            ("TrailBucketName", "org-trail"),
            ("BatchOperationsBucketName", "detector-batch"),
            ("AuditSchedule", "daily"),
        ],
    );
    for function in ["BackfillFunction", "AuditFunction"] {
        let vars = all.properties(function)["Environment"]["Variables"].clone();
        let names: Vec<&String> = vars.as_object().unwrap().keys().collect();
        assert!(
            !names.iter().any(|k| k.starts_with("REMEDIAT")),
            "{function}: {names:?}"
        );
    }
    for role in ["AuditFunctionRole", "CargoLambdaRole"] {
        if all.has(role) {
            let granted = actions(&all.role_statements(role));
            assert!(!granted.iter().any(|a| a.contains(":Modify")), "{role}");
        }
    }
}

#[test]
fn a_failed_remediation_raises_an_alarm_on_the_metric_the_function_writes() {
    let t = template();
    let topic = format!("arn:aws:sns:{REGION}:111122223333:ops-alarms");
    let on = Stack::new(
        &t,
        &[("Remediate", "public"), ("AlarmTopicArn", topic.as_str())],
    );
    let alarm = on.properties("RemediationFailedAlarm");
    assert_eq!(alarm["MetricName"], "RemediationFailures");
    assert_eq!(alarm["Namespace"], "SnapshotShareDetector");
    assert_eq!(
        alarm["Dimensions"],
        json!([{"Name": "FunctionName", "Value": "<DetectorFunction>"}])
    );
    assert_eq!(alarm["Threshold"], 1);
    assert_eq!(alarm["ComparisonOperator"], "GreaterThanOrEqualToThreshold");
    assert_eq!(alarm["AlarmActions"], json!([topic]));
    // The function writes that metric, in that namespace, with that dimension.
    let line: Value = serde_json::from_str(&emf_line(
        &Summary::default(),
        "SnapshotShareDetector",
        "f",
        0,
    ))
    .unwrap();
    let declared = &line["_aws"]["CloudWatchMetrics"][0];
    assert!(declared["Metrics"]
        .to_string()
        .contains("\"RemediationFailures\""));
    assert_eq!(declared["Dimensions"], json!([["FunctionName"]]));
}

#[test]
fn the_remediation_parameters_refuse_what_cannot_work() {
    let t = template();
    assert_refusals(
        &t,
        &[
            (
                &[("RemediateDryRun", "true")],
                true,
                "a dry run with remediation off would be ignored",
            ),
            (
                &[("RemediationRoleName", "org-fix")],
                true,
                "a member role with remediation off would be ignored",
            ),
            (
                &[
                    ("Remediate", "public"),
                    ("RemediationExternalId", "fix-4f2c"),
                ],
                true,
                "an external id without a role to assume would be ignored",
            ),
            (
                &[
                    ("Remediate", "untrusted"),
                    ("RemediationRoleName", "org-fix"),
                ],
                false,
                "the organization's accounts, through their member role",
            ),
        ],
    );
    let role = t["Parameters"]["RemediationRoleName"]["AllowedPattern"]
        .as_str()
        .unwrap();
    for bad in ["*", "fix*", "path/fix"] {
        assert!(!allowed(role, bad), "{bad}");
    }
}

#[test]
fn block_public_access_may_be_switched_on_only_when_asked_and_never_off() {
    let sorted = |list: &[&str]| {
        let mut v: Vec<String> = list.iter().map(|a| a.to_string()).collect();
        v.sort();
        v
    };
    for action in BLOCK_PUBLIC_ACCESS_ACTIONS {
        let name = action.split_once(':').unwrap().1;
        assert!(
            name.starts_with("Get") || name.starts_with("Enable"),
            "{action}"
        );
    }
    let t = template();
    let statement = |stack: &Stack| -> Option<Value> {
        stack
            .role_statements("DetectorRole")
            .into_iter()
            .find(|s| s["Sid"] == "SwitchBlockPublicAccessBackOn")
    };
    assert!(statement(&Stack::new(&t, &[("Remediate", "public")])).is_none());
    let on = Stack::new(
        &t,
        &[
            ("Remediate", "public"),
            ("RemediateBlockPublicAccess", "block-all-sharing"),
        ],
    );
    assert!(on.refusals().is_empty(), "{:?}", on.refusals());
    let s = statement(&on).expect("the statement");
    assert_eq!(actions([&s]), sorted(BLOCK_PUBLIC_ACCESS_ACTIONS));
    assert_eq!(s["Resource"], "*");
    let env = &on.properties("DetectorFunction")["Environment"]["Variables"];
    assert_eq!(env["REMEDIATE_BLOCK_PUBLIC_ACCESS"], "block-all-sharing");
    // The states the function accepts, and no other.
    let states = &t["Parameters"]["RemediateBlockPublicAccess"]["AllowedValues"];
    let mut accepted = vec![""];
    accepted.extend(snapshot_share_detector::remediate::BLOCK_PUBLIC_ACCESS_STATES);
    assert_eq!(states, &json!(accepted));
    let refused = Stack::new(&t, &[("RemediateBlockPublicAccess", "block-new-sharing")]);
    assert!(
        !refused.refusals().is_empty(),
        "with remediation off it would be ignored"
    );

    // The member role: only with BlockPublicAccess=true.
    let member = load("remediation-role.yaml");
    let plain = Stack::new(&member, MEMBER);
    assert_eq!(plain.role_statements("RemediationRole").len(), 1);
    let restoring = Stack::new(
        &member,
        &[MEMBER, &[("BlockPublicAccess", "true")]].concat(),
    );
    let statements = restoring.role_statements("RemediationRole");
    assert_eq!(statements.len(), 2);
    assert_eq!(
        actions([&statements[1]]),
        sorted(BLOCK_PUBLIC_ACCESS_ACTIONS)
    );
    assert_eq!(statements[1]["Resource"], "*");
}
