//! A resource's sharing permission, read and narrowed through the SDK's EC2 and RDS clients:
//! an EBS snapshot's `createVolumePermission`, an AMI's `launchPermission`, an RDS DB or
//! cluster snapshot's `restore` attribute. The audit reads it ([`targets`]); remediation reads
//! it, then removes one target ([`remove`]). Never adds: there is no call here that could.
//! Also an account's block public access for snapshots or AMIs in a region: read
//! ([`block_public_access`]) and switched on ([`enable_block_public_access`]; never off).

use aws_sdk_ec2::config::http::HttpResponse;
use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ec2::types::{
    ImageAttributeName, LaunchPermission, LaunchPermissionModifications, OperationType,
    PermissionGroup, SnapshotAttributeName,
};

use crate::finding::{ResourceType, Target};

/// A call that failed, named: the API and AWS's reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{call}: {reason}")]
pub struct CallError {
    pub call: &'static str,
    pub reason: String,
    /// The resource does not exist (deleted, or never was): not a failure to the audit, and
    /// nothing left to remove for remediation.
    pub gone: bool,
}

/// A failed call as a [`CallError`]; `gone` for the codes that say the resource is no more.
pub fn failed<E>(call: &'static str, e: SdkError<E, HttpResponse>) -> CallError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let code = e.code().unwrap_or_default().to_owned();
    let gone = code.ends_with(".NotFound")
        || code.ends_with("NotFound")
        || code.ends_with("NotFoundFault");
    let reason = match e.message() {
        Some(m) if !code.is_empty() => format!("{code}: {m}"),
        _ if !code.is_empty() => code,
        _ => crate::one_line(&e),
    };
    CallError { call, reason, gone }
}

/// The call that reads the permission of `kind`, as the API names it.
pub fn read_call(kind: ResourceType) -> &'static str {
    match kind {
        ResourceType::Image => "DescribeImageAttribute",
        ResourceType::DbSnapshot => "DescribeDBSnapshotAttributes",
        ResourceType::DbClusterSnapshot => "DescribeDBClusterSnapshotAttributes",
        _ => "DescribeSnapshotAttribute",
    }
}

/// The call that removes a target from the permission of `kind`, and the attribute it names.
pub fn remove_call(kind: ResourceType) -> Option<(&'static str, &'static str)> {
    match kind {
        ResourceType::EbsSnapshot => Some(("ModifySnapshotAttribute", "createVolumePermission")),
        ResourceType::Image => Some(("ModifyImageAttribute", "launchPermission")),
        ResourceType::DbSnapshot => Some(("ModifyDBSnapshotAttribute", "restore")),
        ResourceType::DbClusterSnapshot => Some(("ModifyDBClusterSnapshotAttribute", "restore")),
        _ => None,
    }
}

/// Whom the resource is shared with now.
pub async fn targets(
    ec2: &aws_sdk_ec2::Client,
    rds: &aws_sdk_rds::Client,
    kind: ResourceType,
    id: &str,
) -> Result<Vec<Target>, CallError> {
    let call = read_call(kind);
    match kind {
        ResourceType::Image => {
            let out = ec2
                .describe_image_attribute()
                .image_id(id)
                .attribute(ImageAttributeName::LaunchPermission)
                .send()
                .await
                .map_err(|e| failed(call, e))?;
            Ok(out.launch_permissions().iter().map(launch_target).collect())
        }
        ResourceType::DbSnapshot => {
            let out = rds
                .describe_db_snapshot_attributes()
                .db_snapshot_identifier(id)
                .send()
                .await
                .map_err(|e| failed(call, e))?;
            let values = out
                .db_snapshot_attributes_result()
                .map(|r| r.db_snapshot_attributes())
                .unwrap_or_default()
                .iter()
                .filter(|a| a.attribute_name() == Some("restore"))
                .flat_map(|a| a.attribute_values().iter().cloned());
            Ok(values.map(restore_target).collect())
        }
        ResourceType::DbClusterSnapshot => {
            let out = rds
                .describe_db_cluster_snapshot_attributes()
                .db_cluster_snapshot_identifier(id)
                .send()
                .await
                .map_err(|e| failed(call, e))?;
            let values = out
                .db_cluster_snapshot_attributes_result()
                .map(|r| r.db_cluster_snapshot_attributes())
                .unwrap_or_default()
                .iter()
                .filter(|a| a.attribute_name() == Some("restore"))
                .flat_map(|a| a.attribute_values().iter().cloned());
            Ok(values.map(restore_target).collect())
        }
        _ => {
            let out = ec2
                .describe_snapshot_attribute()
                .snapshot_id(id)
                .attribute(SnapshotAttributeName::CreateVolumePermission)
                .send()
                .await
                .map_err(|e| failed(call, e))?;
            Ok(out
                .create_volume_permissions()
                .iter()
                .map(|p| match (p.group(), p.user_id()) {
                    (Some(PermissionGroup::All), _) => Target::Public,
                    (_, Some(user)) => Target::Account(user.to_owned()),
                    _ => Target::Unknown,
                })
                .collect())
        }
    }
}

/// Removes `target`, and only it, from the resource's permission. `target` must be an account,
/// everyone, or (for an AMI) an organization or OU; anything else is refused before any call.
pub async fn remove(
    ec2: &aws_sdk_ec2::Client,
    rds: &aws_sdk_rds::Client,
    kind: ResourceType,
    id: &str,
    target: &Target,
) -> Result<(), CallError> {
    let (call, _) = remove_call(kind).ok_or(CallError {
        call: "none",
        reason: format!("a {} has no permission to remove", kind.noun()),
        gone: false,
    })?;
    let refuse = || CallError {
        call,
        reason: format!(
            "{} cannot be removed from a {}",
            target.user_id(),
            kind.noun()
        ),
        gone: false,
    };
    match kind {
        ResourceType::EbsSnapshot => {
            // The older form of the call (`UserId.N`, `UserGroup.N`), which AWS reads as the
            // `CreateVolumePermission.Remove` list and moto reads alone.
            let call_ = ec2
                .modify_snapshot_attribute()
                .snapshot_id(id)
                .attribute(SnapshotAttributeName::CreateVolumePermission)
                .operation_type(OperationType::Remove);
            let call_ = match target {
                Target::Public => call_.group_names("all"),
                Target::Account(account) => call_.user_ids(account),
                _ => return Err(refuse()),
            };
            call_.send().await.map_err(|e| failed(call, e))?;
        }
        ResourceType::Image => {
            let item = match target {
                Target::Public => LaunchPermission::builder().group(PermissionGroup::All),
                Target::Account(a) => LaunchPermission::builder().user_id(a),
                Target::Organization(arn) => LaunchPermission::builder().organization_arn(arn),
                Target::OrganizationalUnit(arn) => {
                    LaunchPermission::builder().organizational_unit_arn(arn)
                }
                Target::Unknown => return Err(refuse()),
            };
            ec2.modify_image_attribute()
                .image_id(id)
                .launch_permission(
                    LaunchPermissionModifications::builder()
                        .remove(item.build())
                        .build(),
                )
                .send()
                .await
                .map_err(|e| failed(call, e))?;
        }
        ResourceType::DbSnapshot | ResourceType::DbClusterSnapshot => {
            let value = match target {
                Target::Public => "all".to_owned(),
                Target::Account(a) => a.clone(),
                _ => return Err(refuse()),
            };
            if kind == ResourceType::DbSnapshot {
                rds.modify_db_snapshot_attribute()
                    .db_snapshot_identifier(id)
                    .attribute_name("restore")
                    .values_to_remove(value)
                    .send()
                    .await
                    .map_err(|e| failed(call, e))?;
            } else {
                rds.modify_db_cluster_snapshot_attribute()
                    .db_cluster_snapshot_identifier(id)
                    .attribute_name("restore")
                    .values_to_remove(value)
                    .send()
                    .await
                    .map_err(|e| failed(call, e))?;
            }
        }
        _ => return Err(refuse()),
    }
    Ok(())
}

/// The region's block public access state for EBS snapshots ([`ResourceType::EbsSnapshot`] or
/// [`ResourceType::SnapshotBlockPublicAccess`]) or AMIs (the others): `block-all-sharing`,
/// `block-new-sharing`, `unblocked`.
pub async fn block_public_access(
    ec2: &aws_sdk_ec2::Client,
    kind: ResourceType,
) -> Result<String, CallError> {
    if is_image(kind) {
        const CALL: &str = "GetImageBlockPublicAccessState";
        let out = ec2
            .get_image_block_public_access_state()
            .send()
            .await
            .map_err(|e| failed(CALL, e))?;
        return Ok(out
            .image_block_public_access_state()
            .unwrap_or("unknown")
            .to_owned());
    }
    const CALL: &str = "GetSnapshotBlockPublicAccessState";
    let out = ec2
        .get_snapshot_block_public_access_state()
        .send()
        .await
        .map_err(|e| failed(CALL, e))?;
    Ok(out.state().map_or("unknown", |s| s.as_str()).to_owned())
}

/// The call that switches block public access of `kind` on, and the parameter naming the state.
pub fn enable_call(kind: ResourceType) -> (&'static str, &'static str) {
    match is_image(kind) {
        true => (
            "EnableImageBlockPublicAccess",
            "ImageBlockPublicAccessState",
        ),
        false => ("EnableSnapshotBlockPublicAccess", "State"),
    }
}

/// Switches block public access of `kind` on, to `state` (`block-all-sharing` or
/// `block-new-sharing` for snapshots; `block-new-sharing`, the only one, for AMIs). The
/// `Enable` calls cannot switch it off.
pub async fn enable_block_public_access(
    ec2: &aws_sdk_ec2::Client,
    kind: ResourceType,
    state: &str,
) -> Result<(), CallError> {
    use aws_sdk_ec2::types::{ImageBlockPublicAccessEnabledState, SnapshotBlockPublicAccessState};
    let (call, _) = enable_call(kind);
    if is_image(kind) {
        ec2.enable_image_block_public_access()
            .image_block_public_access_state(ImageBlockPublicAccessEnabledState::from(state))
            .send()
            .await
            .map_err(|e| failed(call, e))?;
    } else {
        ec2.enable_snapshot_block_public_access()
            .state(SnapshotBlockPublicAccessState::from(state))
            .send()
            .await
            .map_err(|e| failed(call, e))?;
    }
    Ok(())
}

fn is_image(kind: ResourceType) -> bool {
    matches!(
        kind,
        ResourceType::Image | ResourceType::ImageBlockPublicAccess
    )
}

/// An AMI's launch permission item as a target.
fn launch_target(p: &LaunchPermission) -> Target {
    if p.group() == Some(&PermissionGroup::All) {
        Target::Public
    } else if let Some(arn) = p.organizational_unit_arn() {
        Target::OrganizationalUnit(arn.to_owned())
    } else if let Some(arn) = p.organization_arn() {
        Target::Organization(arn.to_owned())
    } else {
        p.user_id()
            .map_or(Target::Unknown, |u| Target::Account(u.to_owned()))
    }
}

/// A value of an RDS snapshot's `restore` attribute: an account id, or `all` (public).
fn restore_target(value: String) -> Target {
    if value == "all" {
        Target::Public
    } else {
        Target::Account(value)
    }
}
