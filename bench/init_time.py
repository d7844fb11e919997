#!/usr/bin/env python3
"""The function's cold start on this machine (issue 21: what the audit's crates cost): each
binary started as Lambda starts a custom runtime's bootstrap, against a fake Runtime API.

For each run: a fresh process of the binary, with the environment Lambda and template.yaml
give the function (AWS_LAMBDA_RUNTIME_API, the function's name, version, memory size, log
group and stream, _HANDLER, the region, credentials, LoggingConfig's JSON format and level,
FINDINGS_TOPIC_ARN, TRUSTED_ACCOUNT_IDS, NOTIFICATION_FORMAT, METRICS_NAMESPACE,
TRAIL_KEY_LAYOUT, SUPPRESS_ORGANIZATION_SHARES; no DEDUP_TABLE nor ORGANIZATION_ACCOUNTS,
the template's defaults). It measures:

  - init: from spawning the process to its first GET /2018-06-01/runtime/invocation/next
    (what Lambda bills as Init Duration, less the download and unpacking of the package);
  - the first invocation: from answering that request with --event (an EventBridge event of
    events/, a foreign-account share by default) to the POST of its response. The same
    server stands for SNS (AWS_ENDPOINT_URL): the finding's PublishBatch is answered as SNS
    answers it, so the invocation includes the SDK's first request (signing, a new
    connection; plain HTTP on loopback, so no TLS handshake);
  - peak RSS (VmHWM) after the first invocation.

The binaries take turns, run after run, so that a change of the machine's load touches them
alike. Prints the median and the 90th percentile of each.

    python3 bench/init_time.py --bin target/release/snapshot-share-detector \\
        --bin OLD/snapshot-share-detector --runs 30

Exit status: 0 when every invocation answered a response naming the expected findings, 1
otherwise.
"""

import argparse
import http.server
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
BINARY = os.path.join(TARGET, "release/snapshot-share-detector")
EVENT = os.path.join(ROOT, "events/eventbridge-share-foreign-account.json")
FUNCTION = "snapshot-share-detector-DetectorFunction-bench"
TOPIC = "arn:aws:sns:us-east-1:123456789012:snapshot-share-detector-findings"
# Upper bound for one phase of a run.
TIMEOUT = 30
# --env: more variables for the binary.
EXTRA = {}


class Run:
    """What the fake Runtime API saw of one process."""

    def __init__(self, event):
        self.event = event
        self.request_id = str(uuid.uuid4())
        self.spawned = None
        self.next_at = None  # first GET /next
        self.answered_at = None  # its answer begun
        self.response_at = None  # POST .../response or .../error
        self.response = None
        self.error = False
        self.published = 0  # SNS PublishBatch entries
        self.first = threading.Event()
        self.done = threading.Event()
        self.release = threading.Event()  # lets a held GET /next go


class Api(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def body(self):
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def send(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        run = self.server.run
        if self.path != "/2018-06-01/runtime/invocation/next":
            return self.send(404)
        if run.next_at is not None:
            # The second /next: the environment waits for an invocation that never comes.
            run.release.wait(TIMEOUT)
            return self.send(410)
        run.next_at = time.perf_counter()
        run.first.set()
        deadline = int(time.time() * 1000) + 120_000
        # From here: the binary may get the event as soon as it is written, and answer before
        # this thread runs again.
        run.answered_at = time.perf_counter()
        self.send(200, run.event, [
            ("Lambda-Runtime-Aws-Request-Id", run.request_id),
            ("Lambda-Runtime-Deadline-Ms", str(deadline)),
            ("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:" + FUNCTION),
            ("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0"),
            ("Content-Type", "application/json"),
        ])

    def do_POST(self):
        run = self.server.run
        body = self.body()
        if self.path.startswith("/2018-06-01/runtime/invocation/"):
            run.response_at = time.perf_counter()
            run.response = body
            run.error = self.path.endswith("/error")
            self.send(202, b'{"status":"OK"}', [("Content-Type", "application/json")])
            run.done.set()
            return
        if self.path.startswith("/2018-06-01/runtime/init/error"):
            run.response, run.error = body, True
            self.send(202, b"{}")
            run.done.set()
            run.first.set()
            return
        # SNS (the query protocol): PublishBatch answered as SNS answers it, every entry published.
        form = body.decode()
        if "Action=PublishBatch" not in form:
            return self.send(400, b"<ErrorResponse><Error><Code>InvalidAction</Code></Error></ErrorResponse>")
        ids = re.findall(r"PublishBatchRequestEntries\.member\.\d+\.Id=([^&]+)", form)
        run.published += len(ids)
        members = "".join("<member><Id>%s</Id><MessageId>%s</MessageId></member>" % (i, uuid.uuid4()) for i in ids)
        xml = ('<PublishBatchResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishBatchResult>'
               "<Successful>%s</Successful><Failed/></PublishBatchResult><ResponseMetadata>"
               "<RequestId>%s</RequestId></ResponseMetadata></PublishBatchResponse>" % (members, uuid.uuid4()))
        self.send(200, xml.encode(), [("Content-Type", "text/xml")])


class Server(http.server.ThreadingHTTPServer):
    """The fake Runtime API (and SNS) of one run: a server of its own for each process, so that
    a request of the process before (its second GET /next, sent as it was being killed) cannot
    be taken for this one's."""

    daemon_threads = True

    def __init__(self, run):
        super().__init__(("127.0.0.1", 0), Api)
        self.run = run

    def handle_error(self, request, client_address):
        # A process killed at the end of its run leaves its connections reset: expected.
        if not isinstance(sys.exc_info()[1], (ConnectionError, BrokenPipeError)):
            super().handle_error(request, client_address)


def environment(port, memory, home):
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG")}
    env.update({
        "HOME": home,
        "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:%d" % port,
        "AWS_LAMBDA_FUNCTION_NAME": FUNCTION,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory),
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/" + FUNCTION,
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/12/03/[$LATEST]0123456789abcdef",
        "AWS_LAMBDA_LOG_FORMAT": "JSON",
        "AWS_LAMBDA_LOG_LEVEL": "INFO",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "_HANDLER": "bootstrap",
        "LAMBDA_TASK_ROOT": "/var/task",
        "LAMBDA_RUNTIME_DIR": "/var/runtime",
        "TZ": ":UTC",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "ASIABENCHBENCHBENCH0",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_SESSION_TOKEN": "bench",
        # SNS is the fake server (Lambda has no such variable; it is how the SDK is pointed here).
        "AWS_ENDPOINT_URL": "http://127.0.0.1:%d" % port,
        # template.yaml's DetectorFunction, with its parameters' defaults.
        "FINDINGS_TOPIC_ARN": TOPIC,
        "TRUSTED_ACCOUNT_IDS": "",
        "NOTIFICATION_FORMAT": "json",
        "METRICS_NAMESPACE": "SnapshotShareDetector",
        "TRAIL_KEY_LAYOUT": "aws",
        "SUPPRESS_ORGANIZATION_SHARES": "false",
    })
    env.update(EXTRA)
    return env


def vm_hwm(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def one(binary, event, memory, home):
    run = Run(event)
    server = Server(run)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    log = open(os.devnull, "wb")
    env = environment(server.server_address[1], memory, home)
    run.spawned = time.perf_counter()
    proc = subprocess.Popen([binary], env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    try:
        if not run.first.wait(TIMEOUT) or not run.done.wait(TIMEOUT):
            raise SystemExit("%s: no /next or no response in %d s" % (binary, TIMEOUT))
        rss = vm_hwm(proc.pid)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        run.release.set()
        log.close()
        server.shutdown()
        server.server_close()
    return run, rss


def pctl(values, p):
    values = sorted(values)
    k = (len(values) - 1) * p
    lo = int(k)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", action="append", help="a binary to measure (repeat; default %s)" % BINARY)
    ap.add_argument("--runs", type=int, default=30, help="cold starts of each binary (default 30)")
    ap.add_argument("--event", default=EVENT, help="the first invocation's event (default %(default)s)")
    ap.add_argument("--findings", type=int, default=1, help="findings the event must give (default 1)")
    ap.add_argument("--memory", type=int, default=512, help="AWS_LAMBDA_FUNCTION_MEMORY_SIZE (default 512)")
    ap.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                    help="one more variable for the binary (repeat), e.g. SSL_CERT_DIR=/nonexistent")
    args = ap.parse_args()
    EXTRA.update(pair.split("=", 1) for pair in args.env)
    binaries = [os.path.abspath(b) for b in (args.bin or [BINARY])]
    for b in binaries:
        if not os.access(b, os.X_OK):
            raise SystemExit("no binary at %s" % b)
    with open(args.event, "rb") as f:
        event = f.read()

    # An empty home: no ~/.aws of this machine's user gets in (Lambda has none).
    home = tempfile.mkdtemp(prefix="init-time-")
    results = {b: [] for b in binaries}
    ok = True
    for i in range(args.runs):
        for b in binaries if i % 2 == 0 else binaries[::-1]:
            run, rss = one(b, event, args.memory, home)
            answer = {}
            try:
                answer = json.loads(run.response or b"{}")
            except ValueError:
                pass
            good = not run.error and run.published == args.findings
            if not good:
                ok = False
                print("init_time: %s: run %d: error=%s, %d published, response %r"
                      % (b, i + 1, run.error, run.published, (run.response or b"")[:500]), file=sys.stderr)
            results[b].append((run.next_at - run.spawned, run.response_at - run.answered_at, rss, answer))
    os.rmdir(home)

    print("# %s, %s, %d cores, %s; %d cold starts of each binary, taking turns; event %s; memory %d MB%s"
          % (time.strftime("%Y-%m-%d %H:%M"), platform.machine(), os.cpu_count(), platform.platform(), args.runs,
             os.path.relpath(args.event, ROOT), args.memory, "".join("; " + e for e in args.env)))
    cols = ("| binary | size | init: median | init: p90 | first invocation: median | first invocation: p90 "
            "| peak RSS (median) |")
    print(cols)
    print("|" + "---|" * (cols.count("|") - 1))
    for b, rows in results.items():
        init = [r[0] * 1000 for r in rows]
        first = [r[1] * 1000 for r in rows]
        rss = statistics.median(r[2] for r in rows) / 1024
        print("| %s | %.1f MiB | %.1f ms | %.1f ms | %.1f ms | %.1f ms | %.1f MiB |"
              % (b, os.path.getsize(b) / 2**20, statistics.median(init), pctl(init, 0.9),
                 statistics.median(first), pctl(first, 0.9), rss))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
