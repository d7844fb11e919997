//! Resources in moto as the tests seed them, each in an account of its own: EBS snapshots, AMIs
//! and RDS snapshots, shared with whom a test says. The audit and remediation tests both work on
//! them.

use aws_config::{Region, SdkConfig};
use aws_sdk_ec2::types::{
    LaunchPermission, LaunchPermissionModifications, OperationType, SnapshotAttributeName,
};

use super::moto::moto;
use super::proxy::Proxy;

/// The role the seeding assumes in each account.
const SEED_ROLE: &str = "snapshot-share-detector-audit";

/// A 12-digit account of this test alone.
pub fn account(n: u64) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    format!(
        "{:012}",
        (nanos / 1000 + n * 7_919) % 900_000_000_000 + 100_000_000_000
    )
}

/// SDK configuration with the credentials of a role in `account`, as moto gives them (moto
/// gives each account its own resources; it does not check that the role exists).
pub async fn enter(account: &str, region: &str) -> SdkConfig {
    let base = super::moto::sdk_config(&moto().endpoint).await;
    let creds = aws_sdk_sts::Client::new(&base)
        .assume_role()
        .role_arn(format!("arn:aws:iam::{account}:role/{SEED_ROLE}"))
        .role_session_name("seed")
        .send()
        .await
        .unwrap()
        .credentials
        .unwrap();
    base.to_builder()
        .region(Region::new(region.to_owned()))
        .credentials_provider(aws_sdk_sts::config::SharedCredentialsProvider::new(
            aws_sdk_sts::config::Credentials::new(
                creds.access_key_id,
                creds.secret_access_key,
                Some(creds.session_token),
                None,
                "moto",
            ),
        ))
        .build()
}

/// A snapshot of a new volume, shared with `users` (and everyone when `public`).
pub async fn snapshot(
    ec2: &aws_sdk_ec2::Client,
    region: &str,
    users: &[&str],
    public: bool,
) -> String {
    let volume = ec2
        .create_volume()
        .availability_zone(format!("{region}a"))
        .size(1)
        .send()
        .await
        .unwrap();
    let id = ec2
        .create_snapshot()
        .volume_id(volume.volume_id.unwrap())
        .send()
        .await
        .unwrap()
        .snapshot_id
        .unwrap();
    // moto reads the older form of the call (`UserId.N`, `UserGroup.N`), which AWS accepts too.
    if !users.is_empty() || public {
        let mut call = ec2
            .modify_snapshot_attribute()
            .snapshot_id(&id)
            .attribute(SnapshotAttributeName::CreateVolumePermission)
            .operation_type(OperationType::Add);
        for user in users {
            call = call.user_ids(*user);
        }
        if public {
            call = call.group_names("all");
        }
        call.send().await.unwrap();
    }
    id
}

/// An AMI of a new instance, its launch permission given to `users`.
pub async fn image(ec2: &aws_sdk_ec2::Client, name: &str, users: &[&str]) -> String {
    let instance = ec2
        .run_instances()
        .image_id("ami-12c6146b")
        .min_count(1)
        .max_count(1)
        .send()
        .await
        .unwrap();
    let instance = instance.instances()[0].instance_id().unwrap().to_owned();
    let id = ec2
        .create_image()
        .instance_id(instance)
        .name(name)
        .send()
        .await
        .unwrap()
        .image_id
        .unwrap();
    if !users.is_empty() {
        let add = users
            .iter()
            .map(|u| LaunchPermission::builder().user_id(*u).build())
            .collect();
        ec2.modify_image_attribute()
            .image_id(&id)
            .launch_permission(
                LaunchPermissionModifications::builder()
                    .set_add(Some(add))
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
    id
}

/// A manual RDS snapshot shared with `users`.
pub async fn db_snapshot(config: &SdkConfig, name: &str, users: &[&str]) -> String {
    let rds = aws_sdk_rds::Client::new(config);
    rds.create_db_instance()
        .db_instance_identifier(name)
        .db_instance_class("db.t3.micro")
        .engine("postgres")
        .master_username("admin")
        .master_user_password("password-password")
        .allocated_storage(20)
        .send()
        .await
        .unwrap();
    let id = format!("{name}-snap");
    rds.create_db_snapshot()
        .db_instance_identifier(name)
        .db_snapshot_identifier(&id)
        .send()
        .await
        .unwrap();
    rds.modify_db_snapshot_attribute()
        .db_snapshot_identifier(&id)
        .attribute_name("restore")
        .set_values_to_add(Some(users.iter().map(|u| (*u).to_owned()).collect()))
        .send()
        .await
        .unwrap();
    id
}

/// The block public access state queries, which moto lacks, answered by the proxy for each
/// region as the EC2 API reference documents their responses: snapshots as `states` says, AMIs
/// `block-new-sharing`.
pub fn block_public_access(proxy: &Proxy, states: &[(&str, &str)]) {
    for (region, state) in states {
        let scope = format!("/{region}/ec2/aws4_request");
        proxy.answer(
            &["Action=GetSnapshotBlockPublicAccessState", &scope],
            200,
            &format!(
                "<GetSnapshotBlockPublicAccessStateResponse \
                 xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">\
                 <requestId>test-proxy</requestId><state>{state}</state>\
                 </GetSnapshotBlockPublicAccessStateResponse>"
            ),
        );
        proxy.answer(
            &["Action=GetImageBlockPublicAccessState", &scope],
            200,
            "<GetImageBlockPublicAccessStateResponse \
             xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">\
             <requestId>test-proxy</requestId>\
             <imageBlockPublicAccessState>block-new-sharing</imageBlockPublicAccessState>\
             </GetImageBlockPublicAccessStateResponse>",
        );
    }
}
