//! What the findings of a grant (a share, or an attempt at one) say to people: the subject,
//! whom the resource was opened to, and the commands that close it again, for each kind of
//! resource. The share rules and the attempt rule use these; a rule's own words stay in its
//! module.

use crate::finding::{Finding, ResourceType};
use crate::text::ascii_safe;

/// Whom a finding's resource was opened to, read back from its `userId` column.
pub enum Whom<'a> {
    Everyone,
    Organization(&'a str),
    OrganizationalUnit(&'a str),
    Account(&'a str),
}

pub fn whom(f: &Finding) -> Whom<'_> {
    let id = f.user_id.as_str();
    if f.is_public() {
        Whom::Everyone
    } else if id.starts_with("arn:") && id.contains(":ou/") {
        Whom::OrganizationalUnit(id)
    } else if id.starts_with("arn:") && id.contains(":organization/") {
        Whom::Organization(id)
    } else {
        Whom::Account(id)
    }
}

/// `[severity] NOUN ID shared with TARGET` (or `made public`), `lead` before the noun.
pub fn subject(f: &Finding, lead: &str) -> String {
    let id = ascii_safe(f.resource.id.as_deref().unwrap_or("(unknown)"), 32);
    let severity = ascii_safe(&f.rule.severity, 8);
    let noun = f.resource.kind.noun();
    if f.is_resolution() {
        return match whom(f) {
            Whom::Everyone => format!("[resolved] {lead}{noun} {id} no longer public"),
            _ => format!(
                "[resolved] {lead}{noun} {id} no longer shared with {}",
                ascii_safe(&f.user_id, 24)
            ),
        };
    }
    match whom(f) {
        Whom::Everyone => format!("[{severity}] {lead}{noun} {id} made public"),
        _ => format!(
            "[{severity}] {lead}{noun} {id} shared with {}",
            ascii_safe(&f.user_id, 24)
        ),
    }
}

/// The line naming whom the resource was opened to.
pub fn target(f: &Finding) -> (&'static str, String) {
    let member = f.target.as_ref().and_then(|t| t.organization_member);
    let maybe_ours = |what: &str| match member {
        Some(true) => format!("{what} (yours)"),
        Some(false) => format!("{what} (not yours)"),
        None => format!(
            "{what} (it may be your own: set ORGANIZATION_ID or ORGANIZATION_ACCOUNTS=auto to \
             tell)"
        ),
    };
    let resolved = f.is_resolution();
    match (whom(f), resolved) {
        (Whom::Everyone, false) => ("Shared with", "everyone (public)".to_owned()),
        (Whom::Everyone, true) => ("No longer shared with", "everyone (public)".to_owned()),
        (Whom::Organization(arn), false) => ("Shared with organization", maybe_ours(arn)),
        (Whom::Organization(arn), true) => ("No longer shared with organization", arn.to_owned()),
        (Whom::OrganizationalUnit(arn), false) => {
            ("Shared with organizational unit", maybe_ours(arn))
        }
        (Whom::OrganizationalUnit(arn), true) => {
            ("No longer shared with organizational unit", arn.to_owned())
        }
        (Whom::Account(id), false) => ("Shared with account", id.to_owned()),
        (Whom::Account(id), true) => ("No longer shared with account", id.to_owned()),
    }
}

/// ` --region R` for the finding's region, for the commands a responder runs; empty when the
/// record named none.
pub fn region_flag(f: &Finding) -> String {
    f.cloud
        .region
        .as_deref()
        .map(|r| format!(" --region {r}"))
        .unwrap_or_default()
}

/// The command that removes the finding's grant (`who` as the command wants it, or derived
/// from the finding when `None`), in the finding's region.
pub fn remove_command(f: &Finding, who: Option<&str>) -> String {
    let id = f.resource.id.as_deref();
    let region = region_flag(f);
    let grantee = who.map(str::to_owned);
    match f.resource.kind {
        ResourceType::Image => {
            let item = grantee.unwrap_or_else(|| match whom(f) {
                Whom::Everyone => "Group=all".to_owned(),
                Whom::Organization(arn) => format!("OrganizationArn={arn}"),
                Whom::OrganizationalUnit(arn) => format!("OrganizationalUnitArn={arn}"),
                Whom::Account(id) => format!("UserId={id}"),
            });
            format!(
                "aws ec2 modify-image-attribute --image-id {} --launch-permission \
                 \"Remove=[{{{item}}}]\"{region}",
                id.unwrap_or("IMAGE_ID")
            )
        }
        ResourceType::DbSnapshot | ResourceType::DbClusterSnapshot => {
            let (command, flag) = match f.resource.kind {
                ResourceType::DbSnapshot => ("modify-db-snapshot-attribute", "db-snapshot"),
                _ => (
                    "modify-db-cluster-snapshot-attribute",
                    "db-cluster-snapshot",
                ),
            };
            format!(
                "aws rds {command} --{flag}-identifier {} --attribute-name restore \
                 --values-to-remove {}{region}",
                id.unwrap_or("SNAPSHOT_ID"),
                grantee.unwrap_or_else(|| f.user_id.clone())
            )
        }
        _ => {
            let who = grantee.unwrap_or_else(|| match whom(f) {
                Whom::Everyone => "--group-names all".to_owned(),
                _ => format!("--user-ids {}", f.user_id),
            });
            format!(
                "aws ec2 modify-snapshot-attribute --snapshot-id {} --attribute \
                 createVolumePermission --operation-type remove {who}{region}",
                id.unwrap_or("SNAPSHOT_ID")
            )
        }
    }
}

/// What a responder does next about a grant that took effect, or about its removal.
pub fn next_steps(f: &Finding) -> Vec<String> {
    if f.is_resolution() {
        return resolved_steps(f);
    }
    let id = f.resource.id.as_deref().unwrap_or(match f.resource.kind {
        ResourceType::Image => "IMAGE_ID",
        _ => "SNAPSHOT_ID",
    });
    let noun = f.resource.kind.noun();
    let remove = remove_command(f, None);
    let uses =
        match f.resource.kind {
            ResourceType::EbsSnapshot => format!(
            "Look for SharedSnapshotCopyInitiated and SharedSnapshotVolumeCreated on {id}: they \
             record a use by {}.",
            if f.is_public() { "another account" } else { "the other account" }
        ),
            ResourceType::Image => format!(
            "An AMI shares its snapshots: whoever may launch {id} can copy it (CopyImage) into \
             their own account. Check what the image holds (secrets, keys, histories)."
        ),
            _ => format!(
                "Whoever may restore {id} can copy it (CopyDBSnapshot) into their own account: \
             check what the database holds, and whether it is encrypted with a key they can use."
            ),
        };
    let review = "Find out whether the call was expected; if not, review and rotate the \
                  credentials of the principal that made it.";
    match whom(f) {
        Whom::Everyone => vec![
            format!("Make it private now, anyone can copy it: {remove}."),
            format!(
                "Find out what the {} holds, and whether the call was expected; if not, \
                 review and rotate the credentials of the principal that made it.",
                noun.rsplit(' ').next().unwrap_or(noun)
            ),
            uses,
        ],
        Whom::Account(account) => vec![
            format!(
                "Check whether account {account} is expected (a backup or disaster-recovery \
                 account); if it is, add it to TRUSTED_ACCOUNT_IDS."
            ),
            format!("If it is not, remove the permission: {remove}."),
            review.to_owned(),
            uses,
        ],
        Whom::Organization(arn) | Whom::OrganizationalUnit(arn) => vec![
            format!(
                "Check whether {arn} is your own organization (set ORGANIZATION_ID or \
                 ORGANIZATION_ACCOUNTS=auto so that the detector knows)."
            ),
            format!("If it is not, remove the permission: {remove}."),
            review.to_owned(),
            uses,
        ],
    }
}

/// What is left to do once a share was removed: the door is closed, but what went through it
/// while it was open is not undone.
fn resolved_steps(f: &Finding) -> Vec<String> {
    let id = f.resource.id.as_deref().unwrap_or("the resource");
    let copies = match f.resource.kind {
        ResourceType::EbsSnapshot => format!(
            "Removing the permission does not undo a copy: look for SharedSnapshotCopyInitiated \
             and SharedSnapshotVolumeCreated on {id} while it was shared."
        ),
        ResourceType::Image => format!(
            "Removing the permission does not undo a copy: an account that could launch {id} \
             may have copied it (CopyImage) while it could."
        ),
        _ => format!(
            "Removing the permission does not undo a copy: an account that could restore {id} \
             may have copied it (CopyDBSnapshot) while it could."
        ),
    };
    vec![
        "Nothing to revoke: the share this resolves was removed. Check that whoever removed \
         it was expected to."
            .to_owned(),
        copies,
    ]
}
