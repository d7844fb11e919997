#!/usr/bin/env python3
"""What a user writes instead of `snapshot-share-detector audit` (issue 21's benchmark,
bench/audit_bench.py): boto3 over the organization's accounts one after the other, the role
assumed in each, the snapshots' createVolumePermission read 10 threads at a time, with
botocore's adaptive retries. Written as such a script would be, not tuned: the baseline the
audit is measured against.

    python3 bench/audit_boto3.py --role-name ROLE --region us-east-1

Prints one JSON line per exposure: {"account", "region", "snapshot", "target"} (target: an
account id, or "all" for public). The endpoint, region and credentials come from the
environment (AWS_ENDPOINT_URL, as the benchmark sets it).
"""

import argparse
import json
import sys
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config

CONFIG = Config(retries={"mode": "adaptive"})
THREADS = 10


def accounts():
    org = boto3.client("organizations")
    for page in org.get_paginator("list_accounts").paginate():
        for account in page["Accounts"]:
            if account["Status"] == "ACTIVE":
                yield account["Id"]


def session_for(account, me, role):
    if account == me:
        return boto3.Session()
    creds = boto3.client("sts").assume_role(
        RoleArn="arn:aws:iam::%s:role/%s" % (account, role), RoleSessionName="share-audit"
    )["Credentials"]
    return boto3.Session(aws_access_key_id=creds["AccessKeyId"],
                         aws_secret_access_key=creds["SecretAccessKey"],
                         aws_session_token=creds["SessionToken"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--role-name", required=True)
    ap.add_argument("--region", required=True)
    args = ap.parse_args()
    me = boto3.client("sts").get_caller_identity()["Account"]
    for account in accounts():
        ec2 = session_for(account, me, args.role_name).client("ec2", region_name=args.region, config=CONFIG)
        ids = [s["SnapshotId"]
               for page in ec2.get_paginator("describe_snapshots").paginate(OwnerIds=["self"])
               for s in page["Snapshots"]]

        def permissions(snapshot_id):
            answer = ec2.describe_snapshot_attribute(SnapshotId=snapshot_id, Attribute="createVolumePermission")
            return snapshot_id, answer["CreateVolumePermissions"]

        with ThreadPoolExecutor(THREADS) as pool:
            for snapshot_id, perms in pool.map(permissions, ids):
                for p in perms:
                    target = "all" if p.get("Group") == "all" else p.get("UserId")
                    print(json.dumps({"account": account, "region": args.region,
                                      "snapshot": snapshot_id, "target": target}))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
