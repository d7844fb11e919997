#!/usr/bin/env python3
"""Benchmark of `snapshot-share-detector scan` on large CloudTrail log files.

Builds gzip CloudTrail log files of the requested uncompressed sizes from the real records of
tests/fixtures/corpus/all-corpus-records.Records.json.gz (each copy with its own eventID, a few
snapshot shares placed among them), then measures, in one run and on the same file:

  - `gzip -dc FILE > /dev/null`: the floor (inflating the data), the baseline of the ratio;
  - `scan FILE > /dev/null`: time, records/s, MB/s of uncompressed JSON, peak RSS;
  - optionally (--python) the straightforward Python implementation of the same rule
    (bench/baseline.py: json.load of the gzip file, loop over Records), with its peak RSS.

Each command runs --repeat times; the best time is reported (the least disturbed run), peak RSS
is the largest seen. Usage:

    cargo build --release
    python3 bench/bench.py                        # 200 MB file
    python3 bench/bench.py --sizes 100,1000       # RSS as the file grows
    python3 bench/bench.py --python --shares 0    # against Python, a file without shares
"""

import argparse
import gzip
import json
import os
import platform
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "tests/fixtures/corpus/all-corpus-records.Records.json.gz")
DATA = os.path.join(ROOT, "bench/data")
BINARY = os.path.join(ROOT, "target/release/snapshot-share-detector")
PLACEHOLDER = "@@EVENTID@@"


def base_records():
    """The corpus records without those of any call a rule reads (the snapshot shares are placed
    apart; the uses, AMI and RDS shares, block public access and attempts would be findings of
    their own), serialized once with a placeholder where the eventID goes."""
    with gzip.open(CORPUS, "rt") as f:
        records = json.load(f)["Records"]
    out = []
    for r in records:
        if r.get("eventName") in RULE_EVENTS:
            continue
        r = dict(r)
        r["eventID"] = PLACEHOLDER
        out.append(json.dumps(r, separators=(",", ":")))
    return out


# Every event name of src/rule/ (rule::calls()); tests/registry.rs holds the templates to the
# same list.
RULE_EVENTS = {
    "ModifySnapshotAttribute", "SharedSnapshotCopyInitiated", "SharedSnapshotVolumeCreated",
    "ModifyImageAttribute", "ModifyDBSnapshotAttribute", "ModifyDBClusterSnapshotAttribute",
    "DisableSnapshotBlockPublicAccess", "DisableImageBlockPublicAccess",
    "EnableSnapshotBlockPublicAccess",
}


def share_record(i):
    return json.dumps(
        {
            "eventVersion": "1.09",
            "userIdentity": {
                "type": "IAMUser",
                "principalId": "AIDA7ETKRIUXU83QKECM",
                "arn": "arn:aws:iam::756680937392:user/christophe",
                "accountId": "756680937392",
                "accessKeyId": "AKIAYLJU0B35TFSNKCS2",
                "userName": "christophe",
            },
            "eventTime": "2024-08-01T12:28:02Z",
            "eventSource": "ec2.amazonaws.com",
            "eventName": "ModifySnapshotAttribute",
            "awsRegion": "us-east-1",
            "sourceIPAddress": "203.0.113.7",
            "userAgent": "aws-cli/2.15.0",
            "requestParameters": {
                "snapshotId": "snap-041993b54a9b3af6f",
                "attributeType": "CREATE_VOLUME_PERMISSION",
                "createVolumePermission": {"add": {"items": [{"userId": "%012d" % (98797384747 + i)}]}},
            },
            "responseElements": {"requestId": "aeddc4a7", "_return": True},
            "requestID": "aeddc4a7-2043-405e-8b19-5a913367249e",
            "eventID": "bench-share-%d" % i,
            "readOnly": False,
            "eventType": "AwsApiCall",
            "managementEvent": True,
            "recipientAccountId": "756680937392",
        },
        separators=(",", ":"),
    )


def build(size_mb, shares):
    """bench/data/cloudtrail-<size>MB-<shares>shares.json.gz, made once and kept."""
    os.makedirs(DATA, exist_ok=True)
    path = os.path.join(DATA, "cloudtrail-%dMB-%dshares.json.gz" % (size_mb, shares))
    meta_path = path + ".meta.json"
    if os.path.exists(path) and os.path.exists(meta_path):
        with open(meta_path) as f:
            return path, json.load(f)
    target = size_mb * 1_000_000
    base = base_records()
    avg = sum(len(r) for r in base) / len(base)
    total_records = int(target / (avg + 1))
    share_at = set(int(total_records * (k + 0.5) / shares) for k in range(shares)) if shares else set()
    print("building %s (%d records)..." % (path, total_records), file=sys.stderr)
    gz = subprocess.Popen(["gzip", "-6", "-n"], stdin=subprocess.PIPE, stdout=open(path + ".tmp", "wb"))
    written = 0
    records = 0
    chunk = ['{"Records":[']
    for n in range(total_records):
        if n in share_at:
            text = share_record(n)
        else:
            text = base[n % len(base)].replace(PLACEHOLDER, "bench-%d" % n)
        chunk.append(text if n == 0 else "," + text)
        records += 1
        if len(chunk) >= 4096:
            data = "".join(chunk).encode()
            written += len(data)
            gz.stdin.write(data)
            chunk = []
    chunk.append("]}")
    data = "".join(chunk).encode()
    written += len(data)
    gz.stdin.write(data)
    gz.stdin.close()
    gz.wait()
    os.replace(path + ".tmp", path)
    meta = {"records": records, "bytes": written, "shares": shares, "compressed": os.path.getsize(path)}
    with open(meta_path, "w") as f:
        json.dump(meta, f)
    return path, meta


TIME = shutil.which("time", path="/usr/bin:/bin") or "/usr/bin/time"


def run(cmd):
    """Runs cmd under /usr/bin/time, stdout to a file; returns (seconds, peak RSS in KiB,
    stdout lines, CPU seconds). GNU time reports the RSS of the command alone (a fork of this
    Python process would count the parent's pages)."""
    out_path = os.path.join(DATA, "out.tmp")
    with open(out_path, "wb") as out:
        start = time.perf_counter()
        proc = subprocess.run([TIME, "-f", "RSS %M %U %S", *cmd], stdin=subprocess.DEVNULL, stdout=out,
                              stderr=subprocess.PIPE)
        elapsed = time.perf_counter() - start
    stderr = proc.stderr.decode(errors="replace")
    if proc.returncode != 0:
        raise SystemExit("%s failed: %s" % (" ".join(cmd), stderr))
    _, rss, user, system = stderr.strip().splitlines()[-1].split()
    with open(out_path, "rb") as f:
        lines = sum(1 for _ in f)
    return elapsed, int(rss), lines, float(user) + float(system)


def best(cmd, repeat):
    """(best time, largest peak RSS, output lines, CPU seconds of the best run)."""
    runs = [run(cmd) for _ in range(repeat)]
    fastest = min(runs, key=lambda r: r[0])
    return fastest[0], max(r[1] for r in runs), fastest[2], fastest[3]


def measure(size, shares, args):
    """One file: gzip -dc, scan and (optionally) Python on it, one table row each."""
    path, meta = build(size, shares)
    mb = meta["bytes"] / 1e6
    label = "%.0f MB, %d shares" % (mb, shares)
    gz = "%.1f MB" % (meta["compressed"] / 1e6)
    t_gzip, rss_gzip, _, cpu_gzip = best(["gzip", "-dc", path], args.repeat)
    rows = [("`gzip -dc`", t_gzip, rss_gzip, "", cpu_gzip)]
    t_scan, rss_scan, found, cpu_scan = best([args.binary, "scan", "--quiet", path], args.repeat)
    if found != shares:
        raise SystemExit("scan found %d findings in %s, expected %d" % (found, path, shares))
    rows.append(("`scan`", t_scan, rss_scan, found, cpu_scan))
    if args.compare:
        t_cmp, rss_cmp, found_cmp, cpu_cmp = best([args.compare, "scan", "--quiet", path], args.repeat)
        if found_cmp != shares:
            raise SystemExit("%s found %d findings, expected %d" % (args.compare, found_cmp, shares))
        rows.append(("`scan` (%s)" % os.path.basename(args.compare), t_cmp, rss_cmp, found_cmp, cpu_cmp))
    if args.python:
        t_py, rss_py, found_py, cpu_py = best(
            [sys.executable, os.path.join(ROOT, "bench/baseline.py"), path], max(1, args.repeat // 3))
        if found_py != shares:
            raise SystemExit("the Python baseline found %d findings, expected %d" % (found_py, shares))
        rows.append(("Python baseline", t_py, rss_py, found_py, cpu_py))
    for name, t, rss, found, cpu in rows:
        print(
            "| %s | %s | %d | %s | %.3f s | %.2f | %.3f s | %s | %.0f | %s | %.1f MiB |"
            % (label, gz, meta["records"], name, t, t / t_gzip, cpu,
               "{:,.0f}".format(meta["records"] / t), mb / t, found, rss / 1024)
        )
    if args.python:
        print("| %s | | | scan vs Python | | %.1fx faster | | | | | |" % (label, t_py / t_scan))
    sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="200", help="uncompressed sizes in MB, comma-separated")
    ap.add_argument("--shares", default="10",
                    help="snapshot shares placed in each file, comma-separated (0: a file without any)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--python", action="store_true", help="also run the Python baseline")
    ap.add_argument("--binary", default=BINARY)
    ap.add_argument("--compare", metavar="BINARY",
                    help="also time another build of the detector on the same files, in the same run")
    args = ap.parse_args()
    if not os.path.exists(args.binary):
        raise SystemExit("build it first: cargo build --release")
    if not os.path.exists(TIME):
        raise SystemExit("GNU time is needed for peak RSS: apt-get install time")
    print("# %s, %s, %d cores, %s" % (time.strftime("%Y-%m-%d"), platform.machine(), os.cpu_count(), platform.platform()))
    print("# scan = %s; best of %d runs; RSS = peak resident set size" % (os.path.relpath(args.binary, ROOT), args.repeat))
    header = "| file (uncompressed) | gz | records | command | time | ratio to gzip -dc | CPU time | records/s | MB/s | findings | peak RSS |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for size in [int(s) for s in args.sizes.split(",")]:
        for shares in [int(s) for s in args.shares.split(",")]:
            measure(size, shares, args)
    if os.path.exists(os.path.join(DATA, "out.tmp")):
        os.remove(os.path.join(DATA, "out.tmp"))


if __name__ == "__main__":
    main()
