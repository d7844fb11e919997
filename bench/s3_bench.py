#!/usr/bin/env python3
"""Benchmark of `scan s3://BUCKET/PREFIX/` against `aws s3 cp --recursive` of the same prefix
(issue 12, "Hunt months of an organization's CloudTrail").

The question it answers: to hunt an organization trail's bucket, is `scan s3://` faster than
downloading the prefix with the AWS CLI first? Over the network the cost is per request, not per
byte (CloudTrail writes many small files), so the emulator sits behind a proxy that adds a fixed
latency to every HTTP request.

What it does, all on loopback:

  1. starts moto's S3 (bench/moto_s3.py; `python3 -m moto.server` with --plain-moto) on a free
     port (--backends K: K of them, each with all the objects, for when one moto process is the
     limit); s3_servers.py;
  2. starts a latency-adding TCP proxy (examples/latency_proxy.rs) on another port in front of
     it (round-robin over the K servers); s3_servers.py;
  3. (s3_files.py) generates --files gzip CloudTrail log files with the organization trail's key layout
     (AWSLogs/o-exampleorg1/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/ACCOUNT_CloudTrail_REGION_
     YYYYMMDDTHHMMZ_RANDOM.json.gz, several accounts, regions and days), each with 20-100 real
     records of the corpus (each copy with its own eventID) and --shares files holding a copy of
     the corpus' real ModifySnapshotAttribute share (the Stratus Red Team detonation) with a new
     eventID; uploads them to moto directly (not through the proxy);
  4. times, through the proxy:
       - `aws s3 cp --recursive s3://BUCKET/AWSLogs/ DIR` (the user's alternative; the CLI's
         default is 10 concurrent requests, s3.max_concurrent_requests, left as it is);
       - that copy followed by `scan DIR` (the whole "download first" workflow: the two times
         added, each measured on its own);
       - `scan s3://BUCKET/AWSLogs/` (with --concurrency N when the binary has that option);
     with peak RSS from GNU time, and the CPU-seconds of the command, moto and the proxy;
  5. checks that `scan s3://` prints the same finding ids as `scan DIR` on the downloaded files,
     and as many as were planted; prints a markdown table row;
  6. with --floor, also times `curl --parallel` GETs of the same objects through the proxy (64
     at a time, no listing): the least time any client needs through this emulator on this
     machine, to tell a slow client from a slow emulator.

With --filtered (issue 21; s3_filtered.py) it times instead, in the same run, `scan s3://` of
the prefix unfiltered and the date-filtered scan of the same objects (--since/--until covering
every day, --account/--region naming every account and region), and --baseline BIN the same
two scans with another build; --accounts/--regions/--days choose the bucket's shape.

Usage:

    make bench-s3                                   # installs moto[server], awscli, waitress; builds
    python3 bench/s3_bench.py --files 200           # a quick check
    python3 bench/s3_bench.py --bin /path/to/snapshot-share-detector --concurrency 32
    python3 bench/s3_bench.py --backends 2 --floor  # when one moto process is the bottleneck
    python3 bench/s3_bench.py --backends 2 --filtered --accounts 3 --regions 1 --days 28 \
        --baseline /path/to/an/older/snapshot-share-detector     # issue 21

Exit status: 0 when the findings agree (whatever the speed; --min-ratio makes a ratio below it
fail too), 1 otherwise.
"""

import argparse
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import s3_filtered
from s3_files import BUCKET, PREFIX, generate, shape, upload
from s3_servers import ENV, LatencyProxy, free_port, guarded, start_moto, stop_process

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Where `cargo build --release` puts it (CARGO_TARGET_DIR, as cargo reads it, else target/).
BINARY = os.path.join(os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target"),
                      "release/snapshot-share-detector")
PROXY = os.path.join(os.path.dirname(BINARY), "examples/latency_proxy")
TIME = shutil.which("time", path="/usr/bin:/bin") or "/usr/bin/time"


def log(msg):
    print("s3_bench: " + msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# The measurements
# ---------------------------------------------------------------------------------------------


def aws_cli():
    """The AWS CLI: this Python's awscli module when it has one (the one `make bench-s3`
    installs), else `aws` on PATH."""
    probe = subprocess.run([sys.executable, "-m", "awscli", "--version"], capture_output=True)
    if probe.returncode == 0:
        return [sys.executable, "-m", "awscli"]
    if shutil.which("aws"):
        return ["aws"]
    raise SystemExit("no AWS CLI: pip install awscli")


def cpu_seconds(pid):
    """User + system CPU seconds a process has used so far (Linux /proc), 0 when it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """Where the CPU went while one command ran: the command itself (from GNU time), the moto
    servers and the proxy. On a 2-core machine the three share 2 CPU-seconds per second, so
    this tells a slow client from a busy emulator."""

    def __init__(self, motos, proxy):
        self.motos = motos
        self.proxy_pid = proxy.proc.pid

    def __enter__(self):
        self.moto0 = sum(cpu_seconds(m.pid) for m in self.motos)
        self.proxy0 = cpu_seconds(self.proxy_pid)
        return self

    def __exit__(self, *exc):
        self.moto = sum(cpu_seconds(m.pid) for m in self.motos) - self.moto0
        self.proxy = cpu_seconds(self.proxy_pid) - self.proxy0


def run(cmd, env, workdir, timeout):
    """Runs cmd under GNU time; returns (seconds, peak RSS in KiB, stdout path, stderr text,
    CPU seconds of the command).
    GNU time reports the RSS of the command alone, as bench.py does (a child forked from this
    process would count this process' pages in its peak). The command runs in its own process
    group, killed whole on a timeout or an interruption; and (guarded) it gets SIGTERM when GNU
    time dies, which gets it when this process dies."""
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
    stderr = stderr.decode(errors="replace")
    if proc.returncode != 0:
        raise SystemExit("%s failed (status %d): %s" % (" ".join(cmd), proc.returncode, stderr[-2000:]))
    with open(time_path) as f:
        rss, user, system = f.read().strip().splitlines()[-1].split()
    return elapsed, int(rss), out_path, stderr, float(user) + float(system)


FLOOR_PARALLEL = 64


def curl_floor(proxy_url, keys, workdir, timeout):
    """Seconds for curl to GET every object through the proxy, FLOOR_PARALLEL at a time (curl
    signs with --aws-sigv4, 7.75 or later); None when this curl cannot."""
    config = os.path.join(workdir, "curl.cfg")
    with open(config, "w") as f:
        for key in keys:
            f.write('url = "%s/%s/%s"\noutput = "/dev/null"\n' % (proxy_url, BUCKET, key))
    cmd = ["curl", "--silent", "--aws-sigv4", "aws:amz:us-east-1:s3", "--user", "testing:testing",
           "--parallel", "--parallel-immediate", "--parallel-max", str(FLOOR_PARALLEL),
           "--config", config, "--write-out", "%{http_code}\n"]
    if not shutil.which("curl"):
        log("--floor: no curl")
        return None
    start = time.perf_counter()
    try:
        proc = subprocess.run(guarded(cmd), capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        log("--floor: curl took more than %d s" % timeout)
        return None
    elapsed = time.perf_counter() - start
    codes = proc.stdout.split()
    if proc.returncode != 0 or codes.count("200") != len(keys):
        log("--floor: curl could not GET every object (status %d, %d of %d answered 200)"
            % (proc.returncode, codes.count("200"), len(keys)))
        return None
    return elapsed


def finding_ids(out_path):
    ids = []
    with open(out_path) as f:
        for line in f:
            if line.strip():
                ids.append(json.loads(line)["finding_id"])
    return ids


def count_files(path):
    return sum(len(files) for _, _, files in os.walk(path))


def filtered(args, binary, layout, planted, scan_env, workdir, motos, proxy):
    """--filtered: s3_filtered.compare with this run's binaries, servers and bucket."""
    binaries = {"this build": binary}
    if args.baseline:
        binaries["baseline"] = os.path.abspath(args.baseline)
    for name, path in binaries.items():
        version = subprocess.run([path, "--version"], capture_output=True, text=True).stdout.strip()
        log("%s: %s (%s)" % (name, path, version or "no --version"))
    extra = ["--concurrency", str(args.concurrency)] if args.concurrency is not None else []

    def scan(path, filters):
        before = proxy.requests
        with CpuMeter(motos, proxy) as meter:
            t, _, out, err, cpu = run([path, "scan", *extra, *filters, "s3://%s/%s" % (BUCKET, PREFIX)],
                                      scan_env, workdir, args.timeout)
        lines = err.strip().splitlines()
        return (t, finding_ids(out), lines[-1] if lines else "-", proxy.requests - before,
                (cpu, meter.moto, meter.proxy))

    print("# %s, %s, %d cores, %s" % (time.strftime("%Y-%m-%d"), platform.machine(), os.cpu_count(),
                                       platform.platform()))
    print("# %d %s server(s) behind a loopback proxy adding %g ms per request; scan %s"
          % (args.backends, "`python3 -m moto.server`" if args.plain_moto else "bench/moto_s3.py",
             args.latency_ms, " ".join(extra) or "at the binary's default concurrency"))
    ratios, ok = s3_filtered.compare(scan, binaries, layout, args.files, planted, args.repeat)
    if not ok:
        return 1
    if args.max_ratio is not None and ratios["this build"] > args.max_ratio:
        log("filtered / unfiltered %.2f above --max-ratio %g" % (ratios["this build"], args.max_ratio))
        return 1
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=2000, help="log files in the bucket (default 2000)")
    ap.add_argument("--latency-ms", type=float, default=30.0, help="delay added to each request (default 30)")
    ap.add_argument("--shares", type=int, default=20, help="log files holding a planted share (default 20)")
    ap.add_argument("--bin", default=BINARY, help="the snapshot-share-detector binary (default %(default)s)")
    ap.add_argument("--proxy", default=PROXY, help="the latency proxy (default %(default)s)")
    ap.add_argument("--concurrency", type=int,
                    help="pass --concurrency N to `scan s3://` (when the binary has the option; "
                         "default: the binary's own default)")
    ap.add_argument("--backends", type=int, default=1,
                    help="moto servers behind the proxy, round-robin, each with all the objects (default 1)")
    ap.add_argument("--plain-moto", action="store_true",
                    help="serve with `python3 -m moto.server` instead of bench/moto_s3.py (moto's S3 "
                         "application served by waitress)")
    ap.add_argument("--floor", action="store_true",
                    help="also time curl --parallel GETs of the objects through the proxy")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each command; the best is reported")
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--timeout", type=int, default=1800, help="seconds allowed to each command")
    ap.add_argument("--min-ratio", type=float,
                    help="fail when `aws s3 cp` time / `scan s3://` time is below this (issue 12: 3)")
    ap.add_argument("--keep", action="store_true", help="keep the downloaded files and the logs")
    ap.add_argument("--accounts", type=int, default=6, help="accounts the files are spread over (1-6, default 6)")
    ap.add_argument("--regions", type=int, default=5, help="regions the files are spread over (1-5, default 5)")
    ap.add_argument("--days", type=int, default=90, help="days the files are spread over (default 90)")
    ap.add_argument("--filtered", action="store_true",
                    help="time scan s3:// unfiltered against the date-filtered scan of the same objects, "
                         "instead of against aws s3 cp (issue 21)")
    ap.add_argument("--baseline", metavar="BIN",
                    help="with --filtered, also time this build's two scans in the same runs")
    ap.add_argument("--max-ratio", type=float,
                    help="with --filtered, fail when filtered / unfiltered is above this (issue 21: 1.3)")
    args = ap.parse_args()
    layout = shape(args.accounts, args.regions, args.days)
    if args.files < 1 or args.repeat < 1 or args.backends < 1 or args.shares < 0:
        raise SystemExit("--files, --repeat and --backends must be positive, --shares not negative")
    binary = os.path.abspath(args.bin)
    if not os.access(binary, os.X_OK):
        raise SystemExit("no binary at %s: cargo build --release (or --bin PATH)" % binary)
    if not os.path.exists(TIME):
        raise SystemExit("GNU time is needed for peak RSS: apt-get install time")

    # SIGTERM (a CI timeout, make being interrupted) runs the clean-up below, as Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    workdir = tempfile.mkdtemp(prefix="s3-bench-")
    motos, proxy = [], None
    try:
        moto_ports = []
        for i in range(args.backends):
            moto_ports.append(free_port())
            motos.append(start_moto(moto_ports[-1], os.path.join(workdir, "moto-%d.log" % i), args.plain_moto))
        proxy = LatencyProxy(moto_ports, args.latency_ms, os.path.abspath(args.proxy)).start()
        proxy_url = "http://127.0.0.1:%d" % proxy.port

        t0 = time.perf_counter()
        objects, raw_bytes, records, planted = generate(args.files, args.shares, args.seed, layout)
        total_bytes = sum(len(body) for _, body in objects)
        log("generated %d files (%d records, %.1f MB gzip, %.1f MB JSON) in %.1f s"
            % (len(objects), records, total_bytes / 1e6, raw_bytes / 1e6, time.perf_counter() - t0))
        for port in moto_ports:
            t0 = time.perf_counter()
            upload("http://127.0.0.1:%d" % port, objects)
            log("uploaded to moto on port %d (directly) in %.1f s" % (port, time.perf_counter() - t0))
        keys = [key for key, _ in objects]
        del objects

        # No configuration file of this machine's user gets in: the CLI and SDK defaults apply.
        env = dict(os.environ, **ENV)
        env["AWS_CONFIG_FILE"] = os.path.join(workdir, "no-config")
        env["AWS_SHARED_CREDENTIALS_FILE"] = os.path.join(workdir, "no-credentials")
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
            env.pop(name, None)
        scan_env = dict(env, AWS_ENDPOINT_URL=proxy_url, RUST_LOG="warn")
        if args.filtered:
            return filtered(args, binary, layout, planted, scan_env, workdir, motos, proxy)

        cli = aws_cli()
        cli_version = subprocess.run([*cli, "--version"], capture_output=True, text=True, env=env)
        cli_version = (cli_version.stdout or cli_version.stderr).strip()
        help_text = subprocess.run([binary, "scan", "--help"], capture_output=True, text=True).stdout
        has_concurrency = "--concurrency" in help_text
        scan_opts = []
        if args.concurrency is not None:
            if has_concurrency:
                scan_opts = ["--concurrency", str(args.concurrency)]
            else:
                log("this binary has no `scan --concurrency`; running it without")
        concurrency_note = (" ".join(scan_opts) if scan_opts
                            else "the binary's default" + ("" if has_concurrency else " (no --concurrency option: sequential)"))

        source = "s3://%s/%s" % (BUCKET, PREFIX)
        download = os.path.join(workdir, "download")
        cp_cmd = [*cli, "s3", "cp", "--recursive", "--only-show-errors", source, download,
                  "--endpoint-url", proxy_url]
        results = {"cp": [], "scan_dir": [], "scan_s3": []}
        requests = {}
        ok = True
        for attempt in range(args.repeat):
            shutil.rmtree(download, ignore_errors=True)
            before = proxy.requests
            with CpuMeter(motos, proxy) as meter:
                t, rss, _, _, cpu = run(cp_cmd, env, workdir, args.timeout)
            results["cp"].append((t, rss, (cpu, meter.moto, meter.proxy)))
            requests["cp"] = proxy.requests - before
            got = count_files(download)
            if got != args.files:
                raise SystemExit("aws s3 cp downloaded %d files, expected %d" % (got, args.files))

            t, rss, out, _, _ = run([binary, "scan", "--quiet", download], env, workdir, args.timeout)
            dir_ids = finding_ids(out)
            results["scan_dir"].append((t, rss))

            before = proxy.requests
            with CpuMeter(motos, proxy) as meter:
                t, rss, out, err, cpu = run([binary, "scan", *scan_opts, source], scan_env, workdir,
                                            args.timeout)
            requests["scan_s3"] = proxy.requests - before
            s3_ids = finding_ids(out)
            summary = re.search(r"scanned (\d+) inputs", err)
            if not summary or int(summary.group(1)) != args.files:
                raise SystemExit("scan s3:// did not read the %d objects: %s" % (args.files, err.strip()[-500:]))
            results["scan_s3"].append((t, rss, (cpu, meter.moto, meter.proxy)))
            log("run %d: cp %.2f s, scan DIR %.2f s, scan s3:// %.2f s; scan's summary: %s"
                % (attempt + 1, results["cp"][-1][0], results["scan_dir"][-1][0], t,
                   err.strip().splitlines()[-1] if err.strip() else "-"))

            if sorted(s3_ids) != sorted(dir_ids):
                ok = False
                log("MISMATCH: scan s3:// found %d findings, scan DIR %d; only in s3://: %s; only in DIR: %s"
                    % (len(s3_ids), len(dir_ids), sorted(set(s3_ids) - set(dir_ids))[:5],
                       sorted(set(dir_ids) - set(s3_ids))[:5]))
            if len(set(s3_ids)) != len(planted) or len(s3_ids) != len(planted):
                ok = False
                log("MISMATCH: %d findings (%d distinct), %d shares planted"
                    % (len(s3_ids), len(set(s3_ids)), len(planted)))

        floor = curl_floor(proxy_url, keys, workdir, args.timeout) if args.floor else None

        t_cp, rss_cp, cpu_cp = min(results["cp"])
        t_dir = min(results["scan_dir"])[0]
        t_s3, _, cpu_s3 = min(results["scan_s3"])
        rss_s3 = max(r[1] for r in results["scan_s3"])
        ratio = t_cp / t_s3

        print("# %s, %s, %d cores, %s" % (time.strftime("%Y-%m-%d"), platform.machine(), os.cpu_count(),
                                           platform.platform()))
        print("# %d %s server(s) behind a loopback proxy adding %g ms per request; %s (default 10 "
              "concurrent requests); scan = %s, %s; best of %d; requests through the proxy: cp %d, "
              "scan s3:// %d" % (args.backends, "`python3 -m moto.server`" if args.plain_moto else "bench/moto_s3.py",
                                 args.latency_ms, cli_version.split(" ")[0], binary,
                                 concurrency_note, args.repeat, requests["cp"], requests["scan_s3"]))
        header = ("| files | total bytes (gzip / JSON) | records | latency | `aws s3 cp` | cp + `scan DIR` "
                  "| `scan s3://` | cp / scan s3:// | findings | scan s3:// peak RSS | aws s3 cp peak RSS |")
        print(header)
        print("|" + "---|" * (header.count("|") - 1))
        print("| %d | %.1f MB / %.1f MB | %d | %g ms | %.2f s | %.2f s | %.2f s | %.2fx | %d (%s) | %.1f MiB | %.1f MiB |"
              % (args.files, total_bytes / 1e6, raw_bytes / 1e6, records, args.latency_ms, t_cp, t_cp + t_dir,
                 t_s3, ratio, len(s3_ids), "same as scan DIR, = planted" if ok else "MISMATCH",
                 rss_s3 / 1024, rss_cp / 1024))
        for name, t, (client, moto, proxy_cpu) in (("aws s3 cp", t_cp, cpu_cp), ("scan s3://", t_s3, cpu_s3)):
            print("# CPU seconds during the best %s (%.2f s, so %.2f CPU-seconds on %d cores): the client "
                  "%.2f, moto %.2f, the proxy %.2f" % (name, t, t * os.cpu_count(), os.cpu_count(), client,
                                                      moto, proxy_cpu))
        if floor is not None:
            print("# floor: curl --parallel-max %d, GetObject of the %d objects through the proxy: %.2f s "
                  "(cp / floor %.2fx)" % (FLOOR_PARALLEL, args.files, floor, t_cp / floor))
        target = 3.0
        print("# issue 12 target: scan s3:// at least %gx faster than aws s3 cp: %s (%.2fx)"
              % (target, "met" if ratio >= target else "not met", ratio))
        sys.stdout.flush()
        if not ok:
            return 1
        if args.min_ratio is not None and ratio < args.min_ratio:
            log("ratio %.2f below --min-ratio %g" % (ratio, args.min_ratio))
            return 1
        return 0
    finally:
        if proxy:
            proxy.stop()
        for moto in motos:
            stop_process(moto)
        if args.keep:
            log("kept %s (download/, moto-N.log)" % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
