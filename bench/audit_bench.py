#!/usr/bin/env python3
"""Benchmark of `snapshot-share-detector audit --organization` against the boto3 script a user
writes instead (bench/audit_boto3.py), through EC2's throttling (issue 21).

The question it answers: does the audit read an organization's snapshots at the pace EC2
allows (each account's token bucket for DescribeSnapshotAttribute: 100 calls at once, then 20
a second; accounts side by side, each with buckets of its own), without being throttled, and
how much faster than the script is it?

What it does, all on loopback:

  1. starts moto (`python3 -m moto.server`, every service; MOTO_EC2_LOAD_DEFAULT_AMIS=false so
     that no account owns Amazon's AMIs' snapshots) and, in front of it, the EC2 proxy
     (examples/ec2_proxy.rs): 30 ms added to every request, EC2's token bucket per account,
     region and action (503 RequestLimitExceeded past it), EC2's and RDS's read calls answered
     from a cache that a warm-up pass fills, so that moto's CPU caps nothing;
  2. makes, in moto directly (not through the proxy), an organization with --accounts member
     accounts holding --snapshots EBS snapshots each in us-east-1, --shared of them shared with
     a foreign account or public (one in four public): --accounts x --shared exposures;
  3. runs each client once with the proxy in its warm-up mode (no latency, no bucket; the
     answers kept), checking what it finds;
  4. then --repeat times each, with the proxy timing (latency, buckets full at the start of
     each run, answers from the cache), under GNU time:
       - `snapshot-share-detector audit --organization --role-name ROLE --region us-east-1`
       - `python3 bench/audit_boto3.py --role-name ROLE --region us-east-1`: boto3 over the
         accounts one after the other, 10 threads for the attribute reads, adaptive retries;
     with the requests the proxy saw, how many it throttled, the CPU-seconds of the client,
     moto and the proxy, and peak RSS; each run must find exactly the planted exposures;
  5. prints a markdown table and checks the targets: the audit within --max-over seconds (3)
     of the bucket's floor ((snapshots - 100) / 20 s: the accounts' buckets drain side by
     side), throttled on at most --max-throttled (10 %) of its requests, and at least
     --min-ratio (3) times faster than the script (best of each).

With --large N[,N...] it measures instead the audit of one account holding N snapshots (no
warm-up: the timed pass reads moto through the proxy, at the bucket's 20 a second moto keeps
up; DescribeSnapshots is paged by the proxy as EC2 pages it, 1,000 a page for the audit): the
time against the bucket's pace, (N - 100) / 20 s, and peak RSS, which must stay flat as N
grows (the audit holds one page of an account-region at a time).

Usage:

    make bench-audit                        # installs moto[server]; builds; the command below
    python3 bench/audit_bench.py --repeat 3
    python3 bench/audit_bench.py --accounts 2 --snapshots 150 --repeat 1     # a quick check
    make bench-audit-large                  # --large 1000,10000: about 10 minutes
    python3 bench/audit_bench.py --large 1000,3000

Exit status: 0 when every run found exactly the planted exposures and every target is met, 1
otherwise.
"""

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config

from s3_servers import ENV, free_port, guarded, start_moto, stop_process

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
BINARY = os.path.join(TARGET, "release/snapshot-share-detector")
PROXY = os.path.join(TARGET, "release/examples/ec2_proxy")
SCRIPT = os.path.join(ROOT, "bench/audit_boto3.py")
TIME = shutil.which("time", path="/usr/bin:/bin") or "/usr/bin/time"

ROLE = "snapshot-share-detector-audit"
FOREIGN = "222222222222"
REGION = "us-east-1"
# EC2's bucket for Describe actions.
BURST, REFILL = 100, 20.0


def log(msg):
    print("audit_bench: " + msg, file=sys.stderr, flush=True)


def floor_seconds(snapshots):
    """The least time the DescribeSnapshotAttribute calls of one account can take at EC2's
    bucket: the burst at once, the rest at the refill rate. Accounts side by side each have
    their own bucket, so this is also the organization's floor."""
    return max(0, snapshots - BURST) / REFILL


# ---------------------------------------------------------------------------------------------
# The proxy (examples/ec2_proxy.rs; what it does and why is said there)
# ---------------------------------------------------------------------------------------------


class Ec2Proxy:
    def __init__(self, binary, latency_ms, upstream_port):
        if not os.access(binary, os.X_OK):
            raise SystemExit("no proxy at %s: cargo build --release --locked --bins --example ec2_proxy "
                             "(or --proxy PATH)" % binary)
        self.proc = subprocess.Popen(guarded([binary, "%g" % latency_ms, str(upstream_port)]),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().split()
        if len(line) != 2 or line[0] != "listening":
            stop_process(self.proc)
            raise SystemExit("the proxy did not start (it said %r)" % " ".join(line))
        self.url = "http://127.0.0.1:%s" % line[1]

    def command(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()

    def mode(self, mode):
        if self.command(mode) != "ok":
            raise SystemExit("the proxy refused %r" % mode)

    def counts(self):
        """Counters since the last mode change: requests, ec2, throttled, cached, forwarded
        (answered by moto), canned (answered by the proxy: the block public access states)."""
        return {k: int(v) for k, v in (pair.split("=") for pair in self.command("").split())}

    def stop(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                stop_process(self.proc)


def cpu_seconds(pid):
    """User + system CPU seconds a process has used so far (Linux /proc), 0 when it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------------------------------------
# moto's organization and snapshots, made directly (not through the proxy)
# ---------------------------------------------------------------------------------------------


def client(endpoint, service, creds=None):
    kwargs = dict(endpoint_url=endpoint, region_name=REGION, config=Config(retries={"max_attempts": 10}),
                  aws_access_key_id=ENV["AWS_ACCESS_KEY_ID"], aws_secret_access_key=ENV["AWS_SECRET_ACCESS_KEY"])
    if creds:
        kwargs.update(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                      aws_session_token=creds["SessionToken"])
    return boto3.client(service, **kwargs)


def enter(endpoint, account):
    """An EC2 client of `account`, through the role (moto maps the key it gives to the account)."""
    creds = client(endpoint, "sts").assume_role(RoleArn="arn:aws:iam::%s:role/%s" % (account, ROLE),
                                               RoleSessionName="bench-setup")["Credentials"]
    return client(endpoint, "ec2", creds)


def fill(endpoint, account, snapshots, shared, threads=4):
    """`snapshots` snapshots of one volume in `account`, the first `shared` of them shared: one
    in four public, the others with FOREIGN. Returns the exposures {(account, snapshot, target)}."""
    ec2 = enter(endpoint, account)
    volume = ec2.create_volume(AvailabilityZone=REGION + "a", Size=1)["VolumeId"]
    with ThreadPoolExecutor(threads) as pool:
        ids = list(pool.map(lambda _: ec2.create_snapshot(VolumeId=volume)["SnapshotId"], range(snapshots)))
    planted = set()
    for i, snapshot in enumerate(ids[:shared]):
        public = i % 4 == 3
        # moto reads the older form of the call (UserId.N, UserGroup.N), which EC2 takes too.
        ec2.modify_snapshot_attribute(SnapshotId=snapshot, Attribute="createVolumePermission",
                                      OperationType="add",
                                      **({"GroupNames": ["all"]} if public else {"UserIds": [FOREIGN]}))
        planted.add((account, snapshot, "all" if public else FOREIGN))
    return planted


def organization(endpoint, members, snapshots, shared):
    org = client(endpoint, "organizations")
    org.create_organization(FeatureSet="ALL")
    accounts = []
    for i in range(members):
        status = org.create_account(AccountName="member-%d" % i, Email="member-%d@example.com" % i)
        accounts.append(status["CreateAccountStatus"]["AccountId"])
    planted = set()
    with ThreadPoolExecutor(2) as pool:
        for exposures in pool.map(lambda a: fill(endpoint, a, snapshots, shared, threads=2), accounts):
            planted |= exposures
    return accounts, planted


# ---------------------------------------------------------------------------------------------
# The clients
# ---------------------------------------------------------------------------------------------


def run(cmd, env, workdir, timeout):
    """Runs cmd under GNU time: (seconds, peak RSS KiB, CPU seconds, stdout path, stderr, status).
    In its own process group, killed whole on a timeout or an interruption."""
    out_path = os.path.join(workdir, "stdout")
    time_path = os.path.join(workdir, "time")
    with open(out_path, "wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(guarded([TIME, "-o", time_path, "-f", "%M %U %S", *guarded(cmd)]),
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.PIPE, env=env,
                                start_new_session=True)
        try:
            _, stderr = proc.communicate(timeout=timeout)
        except BaseException as e:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            if isinstance(e, subprocess.TimeoutExpired):
                raise SystemExit("%s: no answer in %d s" % (" ".join(cmd), timeout))
            raise
        elapsed = time.perf_counter() - start
    with open(time_path) as f:
        rss, user, system = f.read().strip().splitlines()[-1].split()[-3:]
    return elapsed, int(rss), float(user) + float(system), out_path, stderr.decode(errors="replace"), proc.returncode


def audit_exposures(path):
    """{(account, snapshot, target)} of the audit's EBS snapshot exposures (JSON Lines)."""
    found = []
    with open(path) as f:
        for line in f:
            if line.strip():
                e = json.loads(line)
                if e.get("snapshotId"):
                    found.append((e["cloud"]["account"]["id"], e["snapshotId"], e["userId"]))
    return found


def script_exposures(path):
    with open(path) as f:
        return [(e["account"], e["snapshot"], e["target"]) for e in map(json.loads, filter(str.strip, f))]


class Client:
    def __init__(self, name, cmd, parse):
        self.name, self.cmd, self.parse = name, cmd, parse


def measure(client_, proxy, moto, env, workdir, timeout, planted):
    """One timed run: a dict of what it took, and whether it found exactly `planted`."""
    proxy.mode("timed")
    moto0, proxy0 = cpu_seconds(moto.pid), cpu_seconds(proxy.proc.pid)
    t, rss, cpu, out, err, status = run(client_.cmd, env, workdir, timeout)
    counts = proxy.counts()
    found = client_.parse(out) if status in (0, 2) else []
    ok = status == 0 and len(found) == len(set(found)) and set(found) == planted
    summary = err.strip().splitlines()[-1] if err.strip() else "-"
    if not ok:
        log("%s: status %d, %d exposures found (%d distinct), %d planted; stderr: %s"
            % (client_.name, status, len(found), len(set(found)), len(planted), err.strip()[-1500:]))
    return dict(time=t, rss=rss, cpu=cpu, moto=cpu_seconds(moto.pid) - moto0,
                proxy=cpu_seconds(proxy.proc.pid) - proxy0, found=len(found), ok=ok, summary=summary, **counts)


def pct(r):
    return 100.0 * r["throttled"] / max(1, r["requests"])


# ---------------------------------------------------------------------------------------------
# The two benchmarks
# ---------------------------------------------------------------------------------------------


def header(args):
    print("# %s, %s, %d cores, %s" % (time.strftime("%Y-%m-%d %H:%M"), platform.machine(), os.cpu_count(),
                                       platform.platform()))
    print("# moto %s (`python3 -m moto.server`) behind examples/ec2_proxy.rs: %g ms per request, EC2's "
          "bucket (%d, then %g a second) per account, region and action" %
          (__import__("moto").__version__, args.latency_ms, BURST, REFILL))


def org_bench(args, proxy, moto, env, workdir):
    t0 = time.perf_counter()
    accounts, planted = organization(moto.url, args.accounts, args.snapshots, args.shared)
    log("organization: %d members, %d snapshots each, %d exposures, made in %.1f s"
        % (len(accounts), args.snapshots, len(planted), time.perf_counter() - t0))
    clients = [
        Client("audit", [args.bin, "audit", "--organization", "--role-name", ROLE, "--region", REGION,
                         "--format", "json"], audit_exposures),
        Client("boto3 script", [sys.executable, SCRIPT, "--role-name", ROLE, "--region", REGION],
               script_exposures),
    ]
    ok = True
    for c in clients:
        proxy.mode("warm")
        t, _, _, out, err, status = run(c.cmd, env, workdir, args.timeout)
        found = c.parse(out) if status in (0, 2) else []
        w = proxy.counts()
        log("warm-up of %s: %.1f s, status %d, %d exposures, %d requests (%d answered by moto)"
            % (c.name, t, status, len(found), w["requests"], w["forwarded"]))
        if status != 0 or set(found) != planted:
            log("warm-up of %s failed: %s" % (c.name, err.strip()[-1500:]))
            return 1
    results = {c.name: [] for c in clients}
    for attempt in range(args.repeat):
        # Taking turns to go first, so that neither always runs on a machine the other warmed.
        for c in clients if attempt % 2 == 0 else clients[::-1]:
            r = measure(c, proxy, moto, env, workdir, args.timeout, planted)
            results[c.name].append(r)
            ok &= r["ok"]
            log("run %d, %s: %.2f s, %d requests, %d throttled, %d answered by moto; %s"
                % (attempt + 1, c.name, r["time"], r["requests"], r["throttled"], r["forwarded"], r["summary"]))

    floor = floor_seconds(args.snapshots)
    header(args)
    print("# %d member accounts (and the management account, which owns nothing) x %d snapshots in %s, %d "
          "shared or public: %d exposures; floor %.2f s (%d DescribeSnapshotAttribute calls a member: %d at "
          "once, %d at %g a second); every timed run after a warm-up pass of each client"
          % (args.accounts, args.snapshots, REGION, args.shared, len(planted), floor, args.snapshots, BURST,
             max(0, args.snapshots - BURST), REFILL))
    cols = ("| client | run | time | over the floor | requests | EC2 requests | throttled | % throttled "
            "| answered by moto | exposures | peak RSS | CPU s: client / moto / proxy |")
    print(cols)
    print("|" + "---|" * (cols.count("|") - 1))
    for name, runs in results.items():
        for i, r in enumerate(runs):
            print("| %s | %d | %.2f s | %+.2f s | %d | %d | %d | %.1f %% | %d | %d%s | %.1f MiB | %.2f / %.2f / %.2f |"
                  % (name, i + 1, r["time"], r["time"] - floor, r["requests"], r["ec2"], r["throttled"], pct(r),
                     r["forwarded"], r["found"], "" if r["ok"] else " (WRONG)", r["rss"] / 1024, r["cpu"],
                     r["moto"], r["proxy"]))
    audit = min(r["time"] for r in results["audit"])
    script = min(r["time"] for r in results["boto3 script"])
    throttled = max(pct(r) for r in results["audit"])
    ratio = script / audit
    checks = [
        ("every run found exactly the %d planted exposures" % len(planted), ok),
        ("audit within %g s of the floor: best %.2f s, floor %.2f s (%+.2f s)"
         % (args.max_over, audit, floor, audit - floor), audit - floor <= args.max_over),
        ("audit throttled on at most %g %% of its requests: at most %.1f %%" % (args.max_throttled, throttled),
         throttled <= args.max_throttled),
        ("audit at least %gx faster than the boto3 script: %.2f s / %.2f s = %.2fx (best of %d each)"
         % (args.min_ratio, script, audit, ratio, args.repeat), ratio >= args.min_ratio),
    ]
    for what, met in checks:
        print("# target: %s: %s" % (what, "met" if met else "NOT MET"))
    sys.stdout.flush()
    return 0 if all(met for _, met in checks) else 1


def large_bench(args, proxy, moto, env, workdir):
    sizes = [int(n) for n in args.large.split(",")]
    rows, ok = [], True
    for i, n in enumerate(sizes):
        account = "%012d" % (444400000000 + i)
        t0 = time.perf_counter()
        planted = fill(moto.url, account, n, args.shared)
        log("account %s: %d snapshots, %d exposures, made in %.1f s" % (account, n, len(planted),
                                                                         time.perf_counter() - t0))
        c = Client("audit", [args.bin, "audit", "--account", account, "--role-name", ROLE, "--region", REGION,
                             "--format", "json"], audit_exposures)
        r = measure(c, proxy, moto, env, workdir, args.timeout, planted)
        ok &= r["ok"]
        log("%d snapshots: %.2f s, %d requests, %d throttled, peak RSS %.1f MiB; %s"
            % (n, r["time"], r["requests"], r["throttled"], r["rss"] / 1024, r["summary"]))
        rows.append((n, r))
    header(args)
    print("# one account, %s, %d snapshots shared; no warm-up (moto answers through the proxy; at the "
          "bucket's 20 a second it keeps up); DescribeSnapshots paged by the proxy, 1,000 a page" % (REGION, args.shared))
    cols = ("| snapshots | time | the bucket's pace, (N - 100) / 20 | time / pace | requests | throttled "
            "| % throttled | exposures | peak RSS | CPU s: audit / moto / proxy |")
    print(cols)
    print("|" + "---|" * (cols.count("|") - 1))
    for n, r in rows:
        pace = floor_seconds(n)
        print("| %d | %.1f s | %.1f s | %.3f | %d | %d | %.2f %% | %d%s | %.1f MiB | %.2f / %.2f / %.2f |"
              % (n, r["time"], pace, r["time"] / pace if pace else 0, r["requests"], r["throttled"], pct(r),
                 r["found"], "" if r["ok"] else " (WRONG)", r["rss"] / 1024, r["cpu"], r["moto"], r["proxy"]))
    rss = [r["rss"] for _, r in rows]
    if len(rows) > 1:
        print("# peak RSS from %d to %d snapshots: %.1f to %.1f MiB (%.2fx)"
              % (sizes[0], sizes[-1], rss[0] / 1024, rss[-1] / 1024, rss[-1] / rss[0]))
    sys.stdout.flush()
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--accounts", type=int, default=8, help="member accounts (default 8)")
    ap.add_argument("--snapshots", type=int, default=150, help="snapshots in each member (default 150)")
    ap.add_argument("--shared", type=int, default=8, help="of them shared or public (default 8)")
    ap.add_argument("--latency-ms", type=float, default=30.0, help="added to each request (default 30)")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs of each client (default 3)")
    ap.add_argument("--bin", default=BINARY, help="the snapshot-share-detector binary (default %(default)s)")
    ap.add_argument("--proxy", default=PROXY, help="examples/ec2_proxy, built (default %(default)s)")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds allowed to each run")
    ap.add_argument("--max-over", type=float, default=3.0, help="target: audit at most this over the floor (s)")
    ap.add_argument("--max-throttled", type=float, default=10.0, help="target: %% of the audit's requests throttled")
    ap.add_argument("--min-ratio", type=float, default=3.0, help="target: script time / audit time")
    ap.add_argument("--large", metavar="N[,N...]",
                    help="instead: the audit of one account holding N snapshots, for each N (time, peak RSS)")
    args = ap.parse_args()
    args.bin = os.path.abspath(args.bin)
    if not os.access(args.bin, os.X_OK):
        raise SystemExit("no binary at %s: cargo build --release --locked --bins --example ec2_proxy" % args.bin)
    if not os.path.exists(TIME):
        raise SystemExit("GNU time is needed for peak RSS: apt-get install time")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    workdir = tempfile.mkdtemp(prefix="audit-bench-")
    moto = proxy = None
    try:
        port = free_port()
        moto = start_moto(port, os.path.join(workdir, "moto.log"), plain=True,
                          env={"MOTO_EC2_LOAD_DEFAULT_AMIS": "false"})
        moto.url = "http://127.0.0.1:%d" % port
        proxy = Ec2Proxy(os.path.abspath(args.proxy), args.latency_ms, port)
        # Only what the benchmark sets: no configuration file, profile or setting of this
        # machine's user gets in.
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("AWS_") and k not in ("FINDINGS_TOPIC_ARN", "TRUSTED_ACCOUNT_IDS", "DEDUP_TABLE",
                                                          "ORGANIZATION_ACCOUNTS") and not k.startswith("AUDIT_")}
        env.update(ENV, AWS_ENDPOINT_URL=proxy.url, RUST_LOG="warn",
                   AWS_CONFIG_FILE=os.path.join(workdir, "no-config"),
                   AWS_SHARED_CREDENTIALS_FILE=os.path.join(workdir, "no-credentials"))
        version = subprocess.run([args.bin, "--version"], capture_output=True, text=True).stdout.strip()
        log("%s (%s)" % (args.bin, version))
        if args.large:
            return large_bench(args, proxy, moto, env, workdir)
        return org_bench(args, proxy, moto, env, workdir)
    finally:
        if proxy:
            proxy.stop()
        stop_process(moto)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
