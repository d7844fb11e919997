//! The audit's side of the templates, read as data (issue 21): the member role of
//! `audit-role.yaml` and the audit of `template.yaml` (its function, role, state machine,
//! schedule and alarms), for each `AuditSchedule`. The permissions are held to the lists of
//! `snapshot_share_detector::audit`, the calls the code makes, never to a copy of them.
//! (`cfn-lint` and `sam validate --lint` check the syntax; nothing here reaches AWS.)

mod support;

use serde_json::{json, Value};
use snapshot_share_detector::audit::{ACTIONS, CENTRAL_ACTIONS};
use support::cfn::{actions, allowed, load, resources, strings, template, with_action};
use support::stack::{assert_refusals, Stack, ACCOUNT, REGION};

/// The detector's account and organization, as the member role's parameters name them.
const DETECTOR: &str = "999988887777";
const ORG: &str = "o-abcdef1234";

/// The member role's required parameters.
const MEMBER: &[(&str, &str)] = &[("DetectorAccountId", DETECTOR), ("OrganizationId", ORG)];

/// A list of action names, sorted, each once (as [`actions`] gives them).
fn sorted<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = names.into_iter().map(str::to_owned).collect();
    out.sort();
    out.dedup();
    out
}

/// The statements of one inline policy of a created role, evaluated.
fn policy(stack: &Stack, role: &str, name: &str) -> Vec<Value> {
    let policies = stack.properties(role)["Policies"].clone();
    let found: Vec<&Value> = policies
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["PolicyName"] == name)
        .collect();
    assert_eq!(found.len(), 1, "{role}: policy {name}");
    found[0]["PolicyDocument"]["Statement"]
        .as_array()
        .unwrap()
        .clone()
}

/// The trust policy's statements of a created role.
fn trust(stack: &Stack, role: &str) -> Value {
    stack.properties(role)["AssumeRolePolicyDocument"]["Statement"].clone()
}

#[test]
fn the_member_role_may_call_exactly_the_audit_s_actions() {
    let t = load("audit-role.yaml");
    let stack = Stack::new(&t, MEMBER);
    assert_eq!(resources(&t).count(), 1, "the role, and nothing else");
    let statements = stack.role_statements("AuditRole");
    assert_eq!(statements.len(), 1, "{statements:#?}");
    assert_eq!(statements[0]["Effect"], "Allow");
    assert_eq!(actions(&statements), sorted(ACTIONS.iter().copied()));
    assert_eq!(statements[0]["Resource"], "*");
    // Reads only: every call the audit makes in a member account describes or gets.
    for action in ACTIONS {
        let name = action.split_once(':').unwrap().1;
        assert!(
            name.starts_with("Describe") || name.starts_with("Get"),
            "{action} is not a read"
        );
    }
    let role = stack.properties("AuditRole");
    assert!(role["ManagedPolicyArns"].is_null(), "no managed policy");
    // The detector assumes it by name: the same in every account, and the detector's default.
    assert_eq!(role["RoleName"], "snapshot-share-detector-audit");
    assert_eq!(
        template()["Parameters"]["AuditRoleName"]["Default"],
        t["Parameters"]["RoleName"]["Default"]
    );
    let named = Stack::new(&t, &[MEMBER, &[("RoleName", "org-audit")]].concat());
    assert_eq!(named.properties("AuditRole")["RoleName"], "org-audit");
    assert_eq!(
        stack.eval(&t["Outputs"]["RoleArn"]["Value"]).unwrap(),
        "<AuditRole.Arn>"
    );
}

#[test]
fn the_member_role_trusts_the_detector_account_in_the_organization_only() {
    let t = load("audit-role.yaml");
    let root = format!("arn:aws:iam::{DETECTOR}:root");
    let plain = Stack::new(&t, MEMBER);
    assert_eq!(
        trust(&plain, "AuditRole"),
        json!([{
            "Sid": "DetectorAudits",
            "Effect": "Allow",
            "Principal": {"AWS": root},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": ORG}},
        }])
    );

    // An external id, when given, and only then.
    let external = Stack::new(&t, &[MEMBER, &[("ExternalId", "audit-4f2c")]].concat());
    let condition = &trust(&external, "AuditRole")[0]["Condition"];
    assert_eq!(
        condition,
        &json!({"StringEquals": {"aws:PrincipalOrgID": ORG, "sts:ExternalId": "audit-4f2c"}})
    );
    assert_eq!(t["Parameters"]["ExternalId"]["NoEcho"], true);

    // The audit function's role alone, when named, with the other conditions kept.
    let role = "snapshot-share-detector-AuditFunctionRole-AbC123";
    let narrowed = Stack::new(
        &t,
        &[
            MEMBER,
            &[("DetectorRoleName", role), ("ExternalId", "audit-4f2c")],
        ]
        .concat(),
    );
    let statement = &trust(&narrowed, "AuditRole")[0];
    assert_eq!(statement["Principal"], json!({"AWS": root}));
    assert_eq!(
        statement["Condition"],
        json!({
            "StringEquals": {"aws:PrincipalOrgID": ORG, "sts:ExternalId": "audit-4f2c"},
            "ArnEquals": {"aws:PrincipalArn": format!("arn:aws:iam::{DETECTOR}:role/{role}")},
        })
    );

    // The role alone, without an external id: no empty sts:ExternalId either.
    let role_only = Stack::new(&t, &[MEMBER, &[("DetectorRoleName", role)]].concat());
    assert_eq!(
        trust(&role_only, "AuditRole")[0]["Condition"],
        json!({
            "StringEquals": {"aws:PrincipalOrgID": ORG},
            "ArnEquals": {"aws:PrincipalArn": format!("arn:aws:iam::{DETECTOR}:role/{role}")},
        })
    );

    // Both accounts' parameters are required: no default trusts anyone.
    for name in ["DetectorAccountId", "OrganizationId"] {
        let p = &t["Parameters"][name];
        assert!(p["Default"].is_null(), "{name}");
        assert!(
            !allowed(p["AllowedPattern"].as_str().unwrap(), ""),
            "{name}"
        );
    }
    assert!(allowed(
        t["Parameters"]["OrganizationId"]["AllowedPattern"]
            .as_str()
            .unwrap(),
        ORG
    ));

    // The boundary: a policy of each account the StackSet lands in, or none.
    assert!(plain.properties("AuditRole")["PermissionsBoundary"].is_null());
    let bounded = Stack::new(
        &t,
        &[
            MEMBER,
            &[("PermissionsBoundaryPolicyName", "platform/boundary")],
        ]
        .concat(),
    );
    assert_eq!(
        bounded.properties("AuditRole")["PermissionsBoundary"],
        format!("arn:aws:iam::{ACCOUNT}:policy/platform/boundary")
    );
}

/// Every resource of template.yaml that exists for the audit alone.
fn audit_resources(t: &Value) -> Vec<String> {
    resources(t)
        .filter(|(_, r)| {
            r["Condition"]
                .as_str()
                .is_some_and(|c| ["Audit", "AuditDaily"].contains(&c))
        })
        .map(|(name, _)| name.clone())
        .collect()
}

#[test]
fn with_the_audit_off_nothing_of_it_exists_and_no_role_may_audit() {
    let t = template();
    let p = &t["Parameters"]["AuditSchedule"];
    assert_eq!(p["Default"], "off");
    assert_eq!(p["AllowedValues"], json!(["off", "manual", "daily"]));
    let audit = audit_resources(&t);
    assert!(audit.len() >= 9, "{audit:?}");

    // Off, with every other optional part on: no resource of the audit, and no role of the
    // stack may make a call of the audit, assume a role or read Access Analyzer.
    let others = [
        ("TrailBucketName", "org-trail"),
        ("CargoLambdaFunctionName", "detector"),
        ("BatchOperationsBucketName", "detector-batch"),
    ];
    let off = Stack::new(&t, &others);
    for name in &audit {
        assert!(!off.has(name), "{name} exists with the audit off");
    }
    let mut roles = 0;
    for (name, r) in resources(&t) {
        if r["Type"] != "AWS::IAM::Role" || !off.has(name) {
            continue;
        }
        roles += 1;
        let granted = actions(&off.role_statements(name));
        for action in ACTIONS.iter().chain(CENTRAL_ACTIONS) {
            assert!(!granted.contains(&action.to_string()), "{name}: {action}");
        }
    }
    assert_eq!(roles, 3);
    for (name, o) in t["Outputs"].as_object().unwrap() {
        if o["Condition"] == "Audit" {
            assert!(!off.condition("Audit"), "{name}");
        }
    }

    // manual: the state machine, started by hand; no schedule and no role for one.
    let manual = Stack::new(&t, &[("AuditSchedule", "manual")]);
    for name in &audit {
        let scheduled = name == "AuditDailySchedule" || name == "AuditSchedulerRole";
        assert_eq!(manual.has(name), !scheduled, "{name} with manual");
    }
    // daily: all of it.
    let daily = Stack::new(&t, &[("AuditSchedule", "daily")]);
    for name in &audit {
        assert!(daily.has(name), "{name} with daily");
    }
    for name in [
        "AuditFunction",
        "AuditFunctionRole",
        "AuditStateMachine",
        "AuditStateMachineRole",
        "AuditLogGroup",
        "AuditFailedAlarm",
        "AuditTimedOutAlarm",
        "AuditDailySchedule",
        "AuditSchedulerRole",
    ] {
        assert!(audit.contains(&name.to_owned()), "{name}");
    }
}

/// The actions of the audit function's role that are not the publishing it shares with the
/// detector (its log group, the topic, the topic's key).
fn audit_actions(stack: &Stack) -> Vec<String> {
    actions(&policy(stack, "AuditFunctionRole", "audit"))
}

#[test]
fn the_audit_function_may_call_exactly_the_audit_s_actions_and_assume_the_member_role_only() {
    let t = template();
    let stack = Stack::new(&t, &[("AuditSchedule", "daily")]);
    let statements = stack.role_statements("AuditFunctionRole");

    // Exactly the calls of the code: in the audited accounts, and in this one.
    assert_eq!(
        audit_actions(&stack),
        sorted(ACTIONS.iter().chain(CENTRAL_ACTIONS).copied())
    );
    let reads: Vec<&Value> = statements
        .iter()
        .filter(|s| s["Sid"] == "ReadSharesOfThisAccount")
        .collect();
    assert_eq!(reads.len(), 1);
    assert_eq!(actions(reads.clone()), sorted(ACTIONS.iter().copied()));
    assert_eq!(reads[0]["Resource"], "*");
    // And besides them, only what the detector's function does to publish.
    let mut expected = sorted(ACTIONS.iter().chain(CENTRAL_ACTIONS).copied());
    expected.extend(
        [
            "kms:Decrypt",
            "kms:GenerateDataKey",
            "logs:CreateLogStream",
            "logs:PutLogEvents",
            "sns:Publish",
        ]
        .map(str::to_owned),
    );
    expected.sort();
    assert_eq!(actions(&statements), expected);

    // The member role, by name, in any account of the function's own organization; no other
    // role.
    let assume = with_action(&statements, "sts:AssumeRole");
    assert_eq!(assume.len(), 1);
    assert_eq!(strings(&assume[0]["Action"]), ["sts:AssumeRole"]);
    assert_eq!(
        assume[0]["Resource"],
        "arn:aws:iam::*:role/snapshot-share-detector-audit"
    );
    assert_eq!(
        assume[0]["Condition"],
        json!({"StringEquals": {"aws:ResourceOrgID": "${aws:PrincipalOrgID}"}})
    );
    let named = Stack::new(
        &t,
        &[("AuditSchedule", "manual"), ("AuditRoleName", "org-audit")],
    );
    let statements = named.role_statements("AuditFunctionRole");
    assert_eq!(
        with_action(&statements, "sts:AssumeRole")[0]["Resource"],
        "arn:aws:iam::*:role/org-audit"
    );
    // Access Analyzer: the analyzers of this account only, where AWS allows narrowing.
    assert_eq!(
        with_action(&statements, "access-analyzer:ListFindings")[0]["Resource"],
        format!("arn:aws:access-analyzer:*:{ACCOUNT}:analyzer/*")
    );

    // This account alone: no role to assume and no organization to list.
    let alone = Stack::new(&t, &[("AuditSchedule", "manual"), ("AuditRoleName", "")]);
    assert!(alone.refusals().is_empty(), "{:?}", alone.refusals());
    let granted = audit_actions(&alone);
    assert!(!granted.contains(&"sts:AssumeRole".to_owned()));
    assert!(!granted.contains(&"organizations:ListAccounts".to_owned()));
    let expected: Vec<&str> = ACTIONS
        .iter()
        .chain(CENTRAL_ACTIONS)
        .copied()
        .filter(|a| !["sts:AssumeRole", "organizations:ListAccounts"].contains(a))
        .collect();
    assert_eq!(granted, sorted(expected));

    // The real-time function's role is the same with the audit on or off: it never holds the
    // audit's permissions.
    let off = Stack::new(&t, &[]);
    assert_eq!(
        stack.role_statements("DetectorRole"),
        off.role_statements("DetectorRole")
    );
}

#[test]
fn the_audit_function_publishes_as_the_detector_does() {
    let t = template();
    let topic = "arn:aws:sns:eu-west-1:444455556666:findings";
    let key = "arn:aws:kms:eu-west-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    for extra in [
        vec![],
        vec![
            ("ExistingFindingsTopicArn", topic),
            ("ExistingFindingsTopicKmsKeyArn", key),
        ],
        vec![
            ("DeduplicateFindings", "true"),
            ("OrganizationAccounts", "auto"),
        ],
    ] {
        let mut params = vec![("AuditSchedule", "manual")];
        params.extend(extra.iter().copied());
        let stack = Stack::new(&t, &params);
        let detector = stack.role_statements("DetectorRole");
        let audit = stack.role_statements("AuditFunctionRole");
        // Every statement of the detector's that is not about reading a trail or failing an
        // asynchronous invocation is the audit function's too, unchanged.
        for s in &detector {
            let trail_or_async = strings(&s["Action"])
                .iter()
                .any(|a| a.starts_with("s3:") || a.starts_with("sqs:"))
                || s["Sid"] == "DecryptLogFilesThroughS3";
            if !trail_or_async {
                assert!(audit.contains(s), "{extra:?}: missing {s}");
            }
        }
        assert_eq!(
            with_action(&audit, "logs:PutLogEvents")[0]["Resource"],
            "<DetectorLogGroup.Arn>"
        );
    }
}

/// Every state of a definition's `States`, with those of a Map's `ItemProcessor`, by scope:
/// (scope, name, state).
fn all_states(definition: &Value) -> Vec<(String, String, Value)> {
    fn walk(scope: &str, states: &Value, out: &mut Vec<(String, String, Value)>) {
        for (name, state) in states.as_object().unwrap() {
            out.push((scope.to_owned(), name.clone(), state.clone()));
            if let Some(inner) = state["ItemProcessor"]["States"].as_object() {
                walk(name, &Value::Object(inner.clone()), out);
            }
        }
    }
    let mut out = Vec::new();
    walk("", &definition["States"], &mut out);
    out
}

/// Checks that every transition of a scope names a state of it and that every state is
/// reached from `StartAt`, as Step Functions requires (cfn-lint does not follow the names).
fn assert_connected(scope: &Value) {
    let states = scope["States"].as_object().unwrap();
    let mut reached = vec![scope["StartAt"].as_str().unwrap().to_owned()];
    let mut at = 0;
    while at < reached.len() {
        let state = &states[&reached[at]];
        let mut next: Vec<&str> = Vec::new();
        next.extend(state["Next"].as_str());
        next.extend(state["Default"].as_str());
        for key in ["Choices", "Catch"] {
            for c in state[key].as_array().into_iter().flatten() {
                next.extend(c["Next"].as_str());
            }
        }
        for n in next {
            assert!(
                states.contains_key(n),
                "{} goes to no state {n}",
                reached[at]
            );
            if !reached.iter().any(|r| r == n) {
                reached.push(n.to_owned());
            }
        }
        if let Some(inner) = state["ItemProcessor"].as_object() {
            assert_connected(&Value::Object(inner.clone()));
        }
        at += 1;
    }
    for name in states.keys() {
        assert!(reached.contains(name), "{name} is never reached");
    }
}

/// What a `lambda:invoke` task sends: (function, payload).
fn invocation(state: &Value) -> (Value, Value) {
    assert_eq!(state["Type"], "Task");
    assert_eq!(state["Resource"], "arn:aws:states:::lambda:invoke");
    (
        state["Arguments"]["FunctionName"].clone(),
        state["Arguments"]["Payload"].clone(),
    )
}

#[test]
fn the_state_machine_audits_each_account_and_fails_naming_those_it_could_not_read() {
    let t = template();
    let stack = Stack::new(
        &t,
        &[("AuditSchedule", "manual"), ("AuditMaxConcurrency", "25")],
    );
    let definition = stack.properties("AuditStateMachine")["Definition"].clone();
    assert_eq!(definition["QueryLanguage"], "JSONata");
    assert_connected(&definition);
    let states = &definition["States"];

    // The plan: the organization's accounts, from the function.
    let plan = &states[definition["StartAt"].as_str().unwrap()];
    assert_eq!(
        invocation(plan),
        (
            json!("<AuditFunction.Arn>"),
            json!({"audit": {"plan": "organization"}})
        )
    );
    assert!(plan["Output"]
        .as_str()
        .unwrap()
        .contains("'accounts': $states.result.Payload.accounts"));

    // Then each account, in its own invocation, 25 at once.
    let map = &states[plan["Next"].as_str().unwrap()];
    assert_eq!(map["Type"], "Map");
    assert_eq!(map["Items"], "{% $states.input.accounts %}");
    assert_eq!(map["MaxConcurrency"], "{% 25 %}");
    assert_eq!(map["ItemProcessor"]["ProcessorConfig"]["Mode"], "INLINE");
    let processor = &map["ItemProcessor"];
    let item = &processor["States"][processor["StartAt"].as_str().unwrap()];
    assert_eq!(
        invocation(item),
        (
            json!("<AuditFunction.Arn>"),
            json!({"audit": {"accounts": "{% [$states.input] %}"}})
        )
    );

    // Lambda's transient errors are retried, before the function's own failures, and a
    // function that ran out of time is not run again.
    let retry = item["Retry"].as_array().unwrap();
    let position = |error: &str| {
        retry
            .iter()
            .position(|r| strings(&r["ErrorEquals"]).iter().any(|e| e == error))
            .unwrap_or_else(|| panic!("no retry for {error}"))
    };
    for error in [
        "Lambda.TooManyRequestsException",
        "Lambda.ServiceException",
        "Lambda.AWSLambdaException",
        "Lambda.SdkClientException",
    ] {
        let r = &retry[position(error)];
        assert!(r["MaxAttempts"].as_u64().unwrap() >= 3, "{error}");
        assert!(position(error) < position("States.TaskFailed"), "{error}");
    }
    assert!(retry[position("States.TaskFailed")]["MaxAttempts"].as_u64() >= Some(1));
    assert_eq!(retry[position("Lambda.Unknown")]["MaxAttempts"], 0);
    assert_eq!(position("Lambda.Unknown"), 0);

    // What is left fails that account alone: caught, recorded with its error, and the
    // iteration ends without failing the Map.
    let catch = item["Catch"].as_array().unwrap();
    assert_eq!(catch.len(), 1);
    assert_eq!(catch[0]["ErrorEquals"], json!(["States.ALL"]));
    let caught = catch[0]["Output"].as_str().unwrap();
    assert!(caught.contains("'account': $states.input"), "{caught}");
    assert!(
        caught.contains("'error': $states.errorOutput.Error"),
        "{caught}"
    );
    let failed = &processor["States"][catch[0]["Next"].as_str().unwrap()];
    assert_eq!(failed["Type"], "Succeed");
    assert_eq!(item["End"], true);

    // After every account: the failed ones, by the field the catch wrote, and the execution
    // fails naming them; else it succeeds.
    let summary = map["Output"].as_str().unwrap();
    assert!(
        summary.contains("'failed': $states.result[$exists(error)].account[]"),
        "{summary}"
    );
    let choice = &states[map["Next"].as_str().unwrap()];
    assert_eq!(choice["Type"], "Choice");
    let choices = choice["Choices"].as_array().unwrap();
    assert_eq!(choices.len(), 1);
    assert_eq!(
        choices[0]["Condition"],
        "{% $count($states.input.failed) > 0 %}"
    );
    let fail = &states[choices[0]["Next"].as_str().unwrap()];
    assert_eq!(fail["Type"], "Fail");
    assert_eq!(fail["Error"], "AuditIncomplete");
    assert!(fail["Cause"]
        .as_str()
        .unwrap()
        .contains("$join($states.input.failed, ', ')"));
    assert_eq!(
        states[choice["Default"].as_str().unwrap()]["Type"],
        "Succeed"
    );

    // The execution's limit: longer than an account's worst case (three 15-minute attempts),
    // shorter than a day, so that a stuck run ends before the next daily one.
    let timeout = definition["TimeoutSeconds"].as_u64().unwrap();
    assert!(timeout > 3 * 900 + 30 + 120, "{timeout}");
    assert!(timeout < 86_400, "{timeout}");
    let function = stack.properties("AuditFunction");
    assert_eq!(function["Timeout"], 900, "Lambda's longest");

    // This account alone: no plan to ask for, the stack's own account.
    let alone = Stack::new(&t, &[("AuditSchedule", "daily"), ("AuditRoleName", "")]);
    let definition = alone.properties("AuditStateMachine")["Definition"].clone();
    assert_connected(&definition);
    let plan = &definition["States"][definition["StartAt"].as_str().unwrap()];
    assert_eq!(plan["Type"], "Pass");
    assert_eq!(plan["Output"], json!({"accounts": [ACCOUNT]}));
    assert_eq!(plan["Next"], "AuditAccounts");
}

#[test]
fn the_state_machine_may_only_invoke_the_audit_function() {
    let t = template();
    let stack = Stack::new(
        &t,
        &[("AuditSchedule", "manual"), ("LogRetentionDays", "30")],
    );
    let machine = stack.properties("AuditStateMachine");
    assert_eq!(machine["RoleArn"], "<AuditStateMachineRole.Arn>");
    assert_eq!(machine["StateMachineType"], "STANDARD");

    // Every task of the definition invokes the audit function and nothing else.
    let mut tasks = 0;
    for (_, name, state) in all_states(&machine["Definition"]) {
        if state["Type"] == "Task" {
            tasks += 1;
            assert_eq!(invocation(&state).0, "<AuditFunction.Arn>", "{name}");
        }
    }
    assert_eq!(tasks, 2);

    // Its role: invoke that function; the log deliveries Step Functions asks for, which AWS
    // accepts on "*" only; nothing else.
    assert_eq!(
        json!(policy(&stack, "AuditStateMachineRole", "invoke-audit")),
        json!([{
            "Sid": "InvokeAuditFunction",
            "Effect": "Allow",
            "Action": "lambda:InvokeFunction",
            "Resource": "<AuditFunction.Arn>",
        }])
    );
    let logs = policy(&stack, "AuditStateMachineRole", "log-deliveries");
    assert_eq!(logs.len(), 1);
    assert_eq!(logs[0]["Resource"], "*");
    for action in strings(&logs[0]["Action"]) {
        assert!(
            action.starts_with("logs:") && !action.contains("PutLogEvents"),
            "{action}"
        );
    }
    assert_eq!(
        stack.properties("AuditStateMachineRole")["Policies"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        trust(&stack, "AuditStateMachineRole"),
        json!([{
            "Effect": "Allow",
            "Principal": {"Service": "states.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
        }])
    );

    // Its failures go to a log group of the stack, kept as long as the function's logs.
    let logging = &machine["LoggingConfiguration"];
    assert_eq!(
        logging["Destinations"],
        json!([{"CloudWatchLogsLogGroup": {"LogGroupArn": "<AuditLogGroup.Arn>"}}])
    );
    assert_ne!(logging["Level"], "OFF");
    assert_eq!(stack.properties("AuditLogGroup")["RetentionInDays"], "30");
    assert_eq!(
        t["Resources"]["AuditLogGroup"]["DeletionPolicy"],
        "RetainExceptOnCreate"
    );
    assert_eq!(
        stack
            .eval(&t["Outputs"]["AuditStateMachineArn"]["Value"])
            .unwrap(),
        "<AuditStateMachine>"
    );
}

#[test]
fn the_schedule_may_only_start_the_audit() {
    let t = template();
    let stack = Stack::new(&t, &[("AuditSchedule", "daily")]);
    let schedule = stack.properties("AuditDailySchedule");
    assert_eq!(schedule["Target"]["Arn"], "<AuditStateMachine>");
    assert_eq!(schedule["Target"]["RoleArn"], "<AuditSchedulerRole.Arn>");
    assert_eq!(schedule["State"], "ENABLED");
    // Once a day, at a fixed hour.
    let expression = schedule["ScheduleExpression"].as_str().unwrap();
    let fields: Vec<&str> = expression
        .strip_prefix("cron(")
        .and_then(|e| e.strip_suffix(')'))
        .unwrap()
        .split(' ')
        .collect();
    assert_eq!(fields.len(), 6, "{expression}");
    assert!(fields[0].parse::<u8>().is_ok() && fields[1].parse::<u8>().is_ok());
    assert_eq!(&fields[2..], ["*", "*", "?", "*"], "{expression}");
    assert_eq!(schedule["FlexibleTimeWindow"]["Mode"], "OFF");

    assert_eq!(
        json!(stack.role_statements("AuditSchedulerRole")),
        json!([{
            "Sid": "StartAudit",
            "Effect": "Allow",
            "Action": "states:StartExecution",
            "Resource": "<AuditStateMachine>",
        }])
    );
    assert_eq!(
        trust(&stack, "AuditSchedulerRole"),
        json!([{
            "Effect": "Allow",
            "Principal": {"Service": "scheduler.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
        }])
    );
}

#[test]
fn the_audit_settings_reach_the_audit_function_only() {
    let t = template();
    let params = [
        ("AuditSchedule", "daily"),
        ("AuditRoleName", "org-audit"),
        ("AuditExternalId", "audit-4f2c"),
        ("AuditRegions", "us-east-1,eu-west-1"),
        ("AuditAccessAnalyzer", "auto"),
    ];
    let stack = Stack::new(&t, &params);
    assert!(stack.refusals().is_empty(), "{:?}", stack.refusals());
    let audit = stack.properties("AuditFunction");
    let env = &audit["Environment"]["Variables"];
    assert_eq!(env["AUDIT_ROLE_NAME"], "org-audit");
    assert_eq!(env["AUDIT_EXTERNAL_ID"], "audit-4f2c");
    assert_eq!(env["AUDIT_REGIONS"], "us-east-1,eu-west-1");
    assert_eq!(env["AUDIT_ACCESS_ANALYZER"], "auto");
    assert_eq!(audit["Role"], "<AuditFunctionRole.Arn>");

    // The defaults: the member role's default name, every enabled region, no external id.
    let defaults = Stack::new(&t, &[("AuditSchedule", "manual")]);
    let env = &defaults.properties("AuditFunction")["Environment"]["Variables"];
    assert_eq!(env["AUDIT_ROLE_NAME"], "snapshot-share-detector-audit");
    assert_eq!(env["AUDIT_REGIONS"], "");
    assert_eq!(env["AUDIT_ACCESS_ANALYZER"], "");
    assert!(env["AUDIT_EXTERNAL_ID"].is_null(), "unset, not empty");
    assert_eq!(t["Parameters"]["AuditExternalId"]["NoEcho"], true);

    // The real-time function gets none of them.
    let detector = stack.properties("DetectorFunction");
    let names = detector["Environment"]["Variables"]
        .as_object()
        .unwrap()
        .keys();
    assert!(!names.into_iter().any(|k| k.starts_with("AUDIT_")));

    // Otherwise the audit function is the detector: the same code, settings and log group, so
    // that an exposure is reported as a share would be.
    let (mut same, mut copy) = (detector.clone(), audit.clone());
    for p in [&mut same, &mut copy] {
        let p = p.as_object_mut().unwrap();
        for key in ["Description", "Timeout", "Role", "EventInvokeConfig"] {
            p.remove(key);
        }
        let env = p["Environment"]["Variables"].as_object_mut().unwrap();
        // Remediation is the real-time function's alone (tests/template_remediation.rs).
        env.retain(|k, _| !k.starts_with("AUDIT_") && !k.starts_with("REMEDIAT"));
    }
    assert_eq!(copy, same);
    let meta = |name: &str| t["Resources"][name]["Metadata"].clone();
    assert_eq!(meta("AuditFunction"), meta("DetectorFunction"));
}

#[test]
fn an_audit_that_does_not_end_well_raises_an_alarm() {
    let t = template();
    let topic = format!("arn:aws:sns:{REGION}:111122223333:ops-alarms");
    let on = Stack::new(
        &t,
        &[
            ("AuditSchedule", "daily"),
            ("AlarmTopicArn", topic.as_str()),
        ],
    );
    let alarms: Vec<Value> = resources(&t)
        .filter(|(name, r)| r["Type"] == "AWS::CloudWatch::Alarm" && on.has(name))
        .map(|(name, _)| on.properties(name))
        .filter(|a| a["Namespace"] == "AWS/States")
        .collect();
    let mut metrics: Vec<&str> = alarms
        .iter()
        .map(|a| a["MetricName"].as_str().unwrap())
        .collect();
    metrics.sort();
    assert_eq!(metrics, ["ExecutionsFailed", "ExecutionsTimedOut"]);
    for alarm in &alarms {
        assert_eq!(
            alarm["Dimensions"],
            json!([{"Name": "StateMachineArn", "Value": "<AuditStateMachine>"}])
        );
        assert_eq!(alarm["AlarmActions"], json!([topic]));
        assert_eq!(alarm["Threshold"], 1);
        assert_eq!(alarm["ComparisonOperator"], "GreaterThanOrEqualToThreshold");
    }
    // The failed execution's error is what the alarm points to.
    let failed = &t["Resources"]["AuditFailedAlarm"]["Properties"]["AlarmDescription"];
    assert!(failed.as_str().unwrap().contains("names the accounts"));
}

#[test]
fn the_audit_parameters_refuse_what_cannot_work() {
    let t = template();
    assert_refusals(
        &t,
        &[
            (
                &[("AuditExternalId", "audit-4f2c")],
                true,
                "an external id with the audit off would be ignored",
            ),
            (
                &[("AuditRegions", "us-east-1")],
                true,
                "regions with the audit off would be ignored",
            ),
            (
                &[("AuditAccessAnalyzer", "auto")],
                true,
                "an analyzer with the audit off would be ignored",
            ),
            (
                &[
                    ("AuditSchedule", "manual"),
                    ("AuditRoleName", ""),
                    ("AuditExternalId", "audit-4f2c"),
                ],
                true,
                "an external id without a role to assume would be ignored",
            ),
            (
                &[("AuditSchedule", "manual"), ("AuditRoleName", "")],
                false,
                "this account alone",
            ),
            (
                &[
                    ("AuditSchedule", "daily"),
                    ("AuditExternalId", "audit-4f2c"),
                    ("AuditRegions", "us-east-1, eu-west-1"),
                ],
                false,
                "the organization, daily, with an external id and two regions",
            ),
        ],
    );
    let pattern = |name: &str| {
        t["Parameters"][name]["AllowedPattern"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    // A role name: no "*" (the function may assume that name only), no path.
    let role = pattern("AuditRoleName");
    for ok in ["", "snapshot-share-detector-audit", "org.audit@security"] {
        assert!(allowed(&role, ok), "{ok}");
    }
    for bad in ["*", "audit*", "path/audit", &"a".repeat(65)] {
        assert!(!allowed(&role, bad), "{bad}");
    }
    let regions = pattern("AuditRegions");
    for ok in ["", "us-east-1", "us-east-1, eu-west-1,ap-southeast-2"] {
        assert!(allowed(&regions, ok), "{ok}");
    }
    for bad in ["all", "us-east-1,", "us-east-1,*"] {
        assert!(!allowed(&regions, bad), "{bad}");
    }
    // What `--access-analyzer` accepts, and nothing the binary would refuse at start.
    let analyzer = pattern("AuditAccessAnalyzer");
    for ok in [
        "",
        "auto",
        "arn:aws:access-analyzer:eu-west-1:123456789012:analyzer/org",
    ] {
        assert!(allowed(&analyzer, ok), "{ok}");
        if !ok.is_empty() {
            ok.parse::<snapshot_share_detector::config::AccessAnalyzer>()
                .unwrap();
        }
    }
    for bad in [
        "yes",
        "arn:aws:iam::123456789012:role/x",
        "arn:aws:access-analyzer:eu-west-1:1234:analyzer/org",
    ] {
        assert!(!allowed(&analyzer, bad), "{bad}");
    }
    let external = pattern("AuditExternalId");
    assert!(allowed(&external, "") && allowed(&external, "audit-4f2c"));
    assert!(!allowed(&external, "x"), "STS takes 2 characters at least");
    // 40: the most an inline Map runs at once.
    let concurrency = &t["Parameters"]["AuditMaxConcurrency"];
    assert_eq!(concurrency["MinValue"], 1);
    assert_eq!(concurrency["MaxValue"], 40);
    assert_eq!(concurrency["Default"], 10);
    // The member role's name as audit-role.yaml accepts it is one the detector accepts.
    let member = load("audit-role.yaml");
    assert_eq!(
        member["Parameters"]["RoleName"]["AllowedPattern"]
            .as_str()
            .unwrap(),
        role.trim_start_matches("^$|")
    );
}
