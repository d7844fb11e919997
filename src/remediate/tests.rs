use super::*;
use crate::finding::{Status, TargetInfo};

fn finding(target: &str) -> Finding {
    crate::testing::share_findings("e1", &[target]).remove(0)
}

fn settings(mode: Mode) -> Settings {
    Settings {
        mode,
        trusted: TrustedAccounts::parse("333333333333"),
        ..Settings::default()
    }
}

fn member(mut f: Finding, member: Option<bool>) -> Finding {
    f.target = Some(TargetInfo {
        organization_member: member,
    });
    f
}

/// (mode, target, organization configured, membership, removed?, why).
type Case = (Mode, &'static str, bool, Option<bool>, bool, &'static str);

#[test]
fn each_mode_removes_what_it_names_and_nothing_else() {
    let cases: &[Case] = &[
        (Mode::Off, "all", false, None, false, "off removes nothing"),
        (
            Mode::Public,
            "all",
            false,
            None,
            true,
            "public removes the public share",
        ),
        (
            Mode::Public,
            "222222222222",
            false,
            None,
            false,
            "public leaves accounts",
        ),
        (
            Mode::Untrusted,
            "all",
            false,
            None,
            true,
            "untrusted removes public too",
        ),
        (
            Mode::Untrusted,
            "222222222222",
            false,
            None,
            true,
            "a foreign account",
        ),
        (
            Mode::Untrusted,
            "333333333333",
            false,
            None,
            false,
            "never a trusted account",
        ),
        (
            Mode::Untrusted,
            "222222222222",
            true,
            Some(true),
            false,
            "never a member",
        ),
        (
            Mode::Untrusted,
            "222222222222",
            true,
            Some(false),
            true,
            "a known outsider",
        ),
        (
            Mode::Untrusted,
            "222222222222",
            true,
            None,
            false,
            "membership unknown: kept",
        ),
        (
            Mode::Public,
            "all",
            true,
            None,
            true,
            "public whatever the organization",
        ),
    ];
    for (mode, target, organization, membership, removed, why) in cases {
        let mut s = settings(*mode);
        s.organization = *organization;
        let f = member(finding(target), *membership);
        let got = decide(&f, &s);
        assert_eq!(got.is_ok(), *removed, "{why}: {got:?}");
        if let Ok(t) = got {
            assert_eq!(t.user_id(), *target, "{why}: only the finding's own target");
        }
    }
}

#[test]
fn organizations_and_ous_are_removed_only_when_known_to_be_foreign() {
    let s = settings(Mode::Untrusted);
    let mut f = finding("222222222222");
    f.user_id = "arn:aws:organizations::111111111111:organization/o-abcdefghij".into();
    assert!(decide(&f, &s).is_err(), "unknown: kept");
    assert_eq!(
        decide(&member(f.clone(), Some(false)), &s),
        Ok(Target::Organization(f.user_id.clone()))
    );
    assert!(decide(&member(f.clone(), Some(true)), &s).is_err());
    f.user_id = "arn:aws:organizations::111111111111:ou/o-abcdefghij/ou-ab12-cdefghij".into();
    assert!(matches!(
        decide(&member(f, Some(false)), &s),
        Ok(Target::OrganizationalUnit(_))
    ));
}

#[test]
fn resolutions_failed_attempts_and_uses_are_never_remediated() {
    let open = finding("all");
    assert!(applies(&open));
    let mut resolved = open.clone();
    resolved.status = Status::Resolved;
    assert!(!applies(&resolved), "a resolution");
    let mut failed = open.clone();
    failed.error = Some(crate::finding::ErrorInfo {
        code: Some("Client.UnauthorizedOperation".into()),
        message: None,
    });
    assert!(!applies(&failed), "a failed call shared nothing");
    let mut event = open.clone();
    event.share_id = None;
    assert!(!applies(&event), "an event of the past (a use)");
    let mut setting = open;
    setting.resource.kind = ResourceType::SnapshotBlockPublicAccess;
    assert!(!applies(&setting), "a guard switched off is not a share");
}

#[test]
fn the_action_names_the_call_and_the_one_target() {
    let account = Target::Account("222222222222".into());
    assert_eq!(
        action(ResourceType::EbsSnapshot, &Target::Public),
        "ModifySnapshotAttribute createVolumePermission remove group=all"
    );
    assert_eq!(
        action(ResourceType::Image, &account),
        "ModifyImageAttribute launchPermission remove userId=222222222222"
    );
    assert_eq!(
        action(ResourceType::DbClusterSnapshot, &Target::Public),
        "ModifyDBClusterSnapshotAttribute restore valuesToRemove=all"
    );
    assert_eq!(Mode::parse(" Untrusted "), Some(Mode::Untrusted));
    assert_eq!(Mode::parse("yes"), None);
}

#[test]
fn block_public_access_is_switched_back_only_when_asked_and_never_weakened() {
    let raw = serde_json::json!({
        "eventID": "b1", "eventSource": "ec2.amazonaws.com",
        "eventName": "DisableSnapshotBlockPublicAccess", "recipientAccountId": "756680937392",
        "awsRegion": "eu-west-1",
        "responseElements": {"DisableSnapshotBlockPublicAccessResponse": {"state": "unblocked"}}
    });
    let off = crate::testing::findings_of(&raw).remove(0);
    assert_eq!(off.resource.kind, ResourceType::SnapshotBlockPublicAccess);
    assert!(!applies(&off), "not a share");
    let mut s = settings(Mode::Public);
    assert_eq!(restores(&off, &s), None, "not asked");
    s.block_public_access = Some("block-all-sharing".into());
    assert_eq!(restores(&off, &s), Some("block-all-sharing"));
    let mut image = off.clone();
    image.resource.kind = ResourceType::ImageBlockPublicAccess;
    assert_eq!(
        restores(&image, &s),
        Some("block-new-sharing"),
        "AMIs' only state"
    );
    let mut resolved = off.clone();
    resolved.status = Status::Resolved;
    assert_eq!(restores(&resolved, &s), None, "switched back on already");
    s.mode = Mode::Off;
    assert_eq!(restores(&off, &s), None, "remediation off");
    assert!(at_least("block-all-sharing", "block-new-sharing"));
    assert!(at_least("block-new-sharing", "block-new-sharing"));
    assert!(!at_least("block-new-sharing", "block-all-sharing"));
    assert!(!at_least("unblocked", "block-new-sharing"));
}
