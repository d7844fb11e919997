//! How analyzer findings become the audit's resources and targets.

use super::*;
use aws_sdk_accessanalyzer::primitives::DateTime;
use aws_sdk_accessanalyzer::types::{FindingStatus, ResourceType as AaType};

fn finding(
    kind: &str,
    arn: &str,
    owner: &str,
    principal: Option<&str>,
    public: bool,
) -> FindingSummary {
    let now = DateTime::from_secs(0);
    let mut b = FindingSummary::builder()
        .id("f")
        .resource(arn)
        .resource_type(AaType::from(kind))
        .resource_owner_account(owner)
        .status(FindingStatus::Active)
        .is_public(public)
        .set_condition(Some(Default::default()))
        .created_at(now)
        .analyzed_at(now)
        .updated_at(now);
    if let Some(p) = principal {
        b = b.principal("AWS", p);
    }
    b.build().unwrap()
}

#[test]
fn choices_parse_and_bad_ones_are_named() {
    assert_eq!("auto".parse::<Choice>(), Ok(Choice::Auto));
    let arn = "arn:aws:access-analyzer:eu-west-1:111122223333:analyzer/org";
    assert_eq!(
        arn.parse::<Choice>(),
        Ok(Choice::Arn {
            arn: arn.to_owned(),
            region: "eu-west-1".to_owned()
        })
    );
    for bad in [
        "",
        "yes",
        "arn:aws:iam::111122223333:role/x",
        "arn:aws:access-analyzer:eu-west-1:1:analyzer/a",
    ] {
        let e = bad.parse::<Choice>().unwrap_err();
        assert!(e.contains("neither `auto`"), "{bad}: {e}");
    }
}

#[test]
fn findings_become_resources_with_their_targets_by_account() {
    let findings = [
        finding(
            "AWS::EC2::Snapshot",
            "arn:aws:ec2:us-east-1:111111111111:snapshot/snap-1",
            "111111111111",
            Some("999999999999"),
            false,
        ),
        // A second principal of the same snapshot, and a repeat.
        finding(
            "AWS::EC2::Snapshot",
            "arn:aws:ec2:us-east-1:111111111111:snapshot/snap-1",
            "111111111111",
            Some("arn:aws:iam::888888888888:root"),
            false,
        ),
        finding(
            "AWS::EC2::Snapshot",
            "arn:aws:ec2:us-east-1:111111111111:snapshot/snap-1",
            "111111111111",
            Some("999999999999"),
            false,
        ),
        finding(
            "AWS::RDS::DBSnapshot",
            "arn:aws:rds:us-east-1:222222222222:snapshot:db-snap",
            "222222222222",
            Some("*"),
            true,
        ),
        finding(
            "AWS::RDS::DBClusterSnapshot",
            "arn:aws:rds:us-east-1:222222222222:cluster-snapshot:aurora-1",
            "222222222222",
            Some("999999999999"),
            false,
        ),
        // Not a kind the audit reads.
        finding(
            "AWS::S3::Bucket",
            "arn:aws:s3:::bucket",
            "222222222222",
            Some("999999999999"),
            false,
        ),
    ];
    let c = coverage("arn:a", None, &findings);
    assert_eq!(
        c.of("111111111111").unwrap(),
        [Reported {
            kind: ResourceType::EbsSnapshot,
            id: "snap-1".into(),
            targets: vec![
                Target::Account("999999999999".into()),
                Target::Account("888888888888".into())
            ],
            error: None,
        }]
    );
    let second = c.of("222222222222").unwrap();
    assert_eq!(second.len(), 2);
    assert_eq!(
        (second[0].kind, second[0].id.as_str()),
        (ResourceType::DbSnapshot, "db-snap")
    );
    assert_eq!(second[0].targets, [Target::Public]);
    assert_eq!(second[1].id, "aurora-1");
    // An organization analyzer covers every account, even one it reports nothing for.
    assert_eq!(c.of("333333333333"), Some(&[][..]));
}

#[test]
fn an_account_analyzer_covers_its_own_account_only() {
    let c = coverage("arn:a", Some("111111111111".into()), &[]);
    assert_eq!(c.of("111111111111"), Some(&[][..]));
    assert_eq!(c.of("222222222222"), None);
}

#[test]
fn a_finding_the_analyzer_could_not_analyze_carries_its_error() {
    let arn = "arn:aws:ec2:us-east-1:111111111111:snapshot/snap-2";
    let f = finding("AWS::EC2::Snapshot", arn, "111111111111", None, false);
    let f = FindingSummary::builder()
        .id(f.id())
        .resource(arn)
        .resource_type(f.resource_type().clone())
        .resource_owner_account(f.resource_owner_account())
        .status(FindingStatus::Active)
        .set_condition(Some(Default::default()))
        .created_at(*f.created_at())
        .analyzed_at(*f.analyzed_at())
        .updated_at(*f.updated_at())
        .error("ACCESS_DENIED")
        .build()
        .unwrap();
    let c = coverage("arn:a", None, &[f]);
    let r = &c.of("111111111111").unwrap()[0];
    assert_eq!(r.error.as_deref(), Some("ACCESS_DENIED"));
    assert_eq!(r.targets, [Target::Unknown]);
}
