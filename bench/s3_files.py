"""The S3 benchmark's bucket: CloudTrail log files with an organization trail's key layout,
made of the corpus' real records, some with a planted share; uploaded to a moto server."""

import gzip
import json
import os
import random
import string
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

from bench import RULE_EVENTS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS_CANDIDATES = [
    os.path.join(ROOT, "tests/fixtures/corpus/all-corpus-records.Records.json.gz"),
    os.path.join(ROOT, "../shared/corpus/assembled/all-corpus-records.Records.json.gz"),
]
BUCKET = "bench-org-trail"
PREFIX = "AWSLogs/"
ORG = "o-exampleorg1"
ACCOUNTS = ["111122223333", "210987654321", "345678901234", "456789012345", "567890123456",
            "678901234567"]
REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2"]
FIRST_DAY = datetime(2026, 1, 1, tzinfo=timezone.utc)
DAYS = 90
# The corpus' real share: the Stratus Red Team detonation of aws.exfiltration.ec2-share-ebs-
# snapshot (Apache-2.0), account 756680937392 adding createVolumePermission for 098797384747.
SHARE_EVENT_ID = "6897ff63-d738-445c-9e86-43e5b1f8e12f"
SHARE_OWNER = "756680937392"
PLACEHOLDER = "@@EVENTID@@"


def corpus_path():
    for path in CORPUS_CANDIDATES:
        if os.path.exists(path):
            return path
    raise SystemExit("corpus not found; looked at: " + ", ".join(CORPUS_CANDIDATES))


def corpus_records():
    """(the corpus records that are no finding, serialized with a placeholder eventID; the
    Stratus share record). The records of every call a rule reads (bench.py's RULE_EVENTS: the
    snapshot shares, their uses, the AMI and RDS shares, block public access, attempts) are left
    out of the filler, so that the findings are the planted shares and nothing else."""
    with gzip.open(corpus_path(), "rt") as f:
        records = json.load(f)["Records"]
    base, share = [], None
    for r in records:
        if r.get("eventID") == SHARE_EVENT_ID:
            share = r
        if r.get("eventName") in RULE_EVENTS:
            continue
        r = dict(r)
        r["eventID"] = PLACEHOLDER
        base.append(json.dumps(r, separators=(",", ":")))
    if share is None:
        raise SystemExit("the share record %s is not in the corpus" % SHARE_EVENT_ID)
    return base, share


def planted_share(share, account, region, when, event_id):
    """The Stratus share, moved to the log file's account, region and time, with its own
    eventID. Its target, 098797384747, is none of the benchmark's accounts: a finding each."""
    text = json.dumps(share, separators=(",", ":")).replace(SHARE_OWNER, account)
    r = json.loads(text)
    r["eventID"] = event_id
    r["awsRegion"] = region
    r["eventTime"] = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    return json.dumps(r, separators=(",", ":"))


def shape(accounts=len(ACCOUNTS), regions=len(REGIONS), days=DAYS):
    """The first `accounts` accounts, `regions` regions and `days` days from FIRST_DAY: the
    prefixes the generated files are spread over (all of them, by default)."""
    if not (1 <= accounts <= len(ACCOUNTS) and 1 <= regions <= len(REGIONS) and days >= 1):
        raise SystemExit("at most %d accounts and %d regions, at least one of each and a day"
                         % (len(ACCOUNTS), len(REGIONS)))
    return ACCOUNTS[:accounts], REGIONS[:regions], days


def generate(n_files, n_shares, seed, layout=None):
    """[(key, gzip bytes)], total uncompressed bytes, total records, planted eventIDs; the files
    spread over `layout` (accounts, regions, days; see shape())."""
    accounts, regions, days = layout or shape()
    rng = random.Random(seed)
    base, share = corpus_records()
    share_files = set(rng.sample(range(n_files), min(n_shares, n_files)))
    objects, planted = [], []
    raw_bytes = records = 0
    for i in range(n_files):
        account = rng.choice(accounts)
        region = rng.choice(regions)
        when = FIRST_DAY + timedelta(days=rng.randrange(days), minutes=5 * rng.randrange(288))
        suffix = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(16))
        key = "%s%s/%s/CloudTrail/%s/%s/%s_CloudTrail_%s_%s_%s.json.gz" % (
            PREFIX, ORG, account, region, when.strftime("%Y/%m/%d"), account, region,
            when.strftime("%Y%m%dT%H%MZ"), suffix)
        count = rng.randint(20, 100)
        texts = [rng.choice(base).replace(PLACEHOLDER, str(uuid.UUID(int=rng.getrandbits(128), version=4)))
                 for _ in range(count)]
        if i in share_files:
            event_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            planted.append(event_id)
            texts.insert(rng.randrange(count + 1), planted_share(share, account, region,
                                                                 when - timedelta(minutes=3), event_id))
        data = ('{"Records":[' + ",".join(texts) + "]}").encode()
        raw_bytes += len(data)
        records += len(texts)
        objects.append((key, gzip.compress(data, compresslevel=6, mtime=0)))
    return objects, raw_bytes, records, planted


def upload(moto_url, objects):
    import boto3  # comes with moto

    s3 = boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    s3.create_bucket(Bucket=BUCKET)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda o: s3.put_object(Bucket=BUCKET, Key=o[0], Body=o[1]), objects))
    # Listing once also registers the continuation tokens in this moto server: moto keeps them in
    # memory (an md5 of the page's last key, so the same on every server for the same pages),
    # and with --backends the second page of a client's listing may go to another server. Both
    # clients ask for pages of 1000 keys, as this does.
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=BUCKET, Prefix=PREFIX, PaginationConfig={"PageSize": 1000})
    listed = sum(page.get("KeyCount", 0) for page in pages)
    if listed != len(objects):
        raise SystemExit("moto lists %d objects, %d were uploaded" % (listed, len(objects)))
