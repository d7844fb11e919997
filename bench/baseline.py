#!/usr/bin/env python3
"""The straightforward Python implementation of the rule, as a Lambda function would do it:
json.load of the gzip log file, then a loop over Records. The benchmark's second baseline.

Usage: python3 bench/baseline.py FILE.json.gz  (one JSON line per finding on stdout)
"""

import gzip
import json
import sys


def targets(record):
    if record.get("eventSource") != "ec2.amazonaws.com" or record.get("eventName") != "ModifySnapshotAttribute":
        return []
    if record.get("errorCode") or record.get("errorMessage"):
        return []
    params = record.get("requestParameters") or {}
    kind = params.get("attributeType")
    if kind is not None and kind.replace("_", "").lower() != "createvolumepermission":
        return []
    owner = record.get("recipientAccountId") or (record.get("userIdentity") or {}).get("accountId")
    items = ((params.get("createVolumePermission") or {}).get("add") or {}).get("items") or []
    found = []
    for item in items:
        if str(item.get("group", "")).lower() == "all" and "all" not in found:
            found.append("all")
        user = item.get("userId")
        if isinstance(user, str) and user and user != owner and user not in found:
            found.append(user)
    return found


def main():
    with gzip.open(sys.argv[1], "rt") as f:
        log = json.load(f)
    for record in log["Records"]:
        for target in targets(record):
            finding = {
                "event": {"id": record.get("eventID"), "action": record.get("eventName")},
                "@timestamp": record.get("eventTime"),
                "snapshotId": record["requestParameters"].get("snapshotId"),
                "userId": target,
                "public": target == "all",
                "aws": {"cloudtrail": {"user_identity": record.get("userIdentity")}},
            }
            print(json.dumps(finding))


if __name__ == "__main__":
    main()
