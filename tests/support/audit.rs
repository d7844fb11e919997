//! The audit's tests' accounts and resources on moto: an account of the test's own entered
//! through the audit role, snapshots shared as the test needs, and the test proxy answering the
//! block public access queries moto lacks (as the EC2 API reference documents them).

use aws_config::{Region, SdkConfig};
use aws_sdk_ec2::types::{OperationType, SnapshotAttributeName};

use super::moto::moto;
use super::proxy::Proxy;

pub const ROLE: &str = "snapshot-share-detector-audit";
pub const FOREIGN: &str = "222222222222";
pub const TRUSTED: &str = "333333333333";

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

/// SDK configuration with the credentials of `ROLE` in `account`, as moto gives them.
pub async fn enter(account: &str, region: &str) -> SdkConfig {
    let base = super::moto::sdk_config(&moto().endpoint).await;
    let creds = aws_sdk_sts::Client::new(&base)
        .assume_role()
        .role_arn(format!("arn:aws:iam::{account}:role/{ROLE}"))
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

/// The proxy in front of moto, answering the block public access queries of each region as
/// the EC2 API reference documents their responses.
pub async fn proxy(states: &[(&str, &str)]) -> Proxy {
    let proxy = bare_proxy().await;
    block_public_access(&proxy, states);
    proxy
}

pub async fn bare_proxy() -> Proxy {
    let upstream = moto().endpoint.trim_start_matches("http://").to_owned();
    Proxy::start(&upstream).await
}

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
