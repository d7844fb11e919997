"""The S3 benchmark's servers: moto's S3 (bench/moto_s3.py, or `python3 -m moto.server`) and
the latency proxy in front of it (examples/latency_proxy.rs), as child processes that end with
the benchmark."""

import os
import shutil
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}

# Upper bounds, so that nothing here runs forever.
READY_TIMEOUT = 60  # seconds for moto to accept connections


# ---------------------------------------------------------------------------------------------
# The latency-adding proxy: examples/latency_proxy.rs (what it delays, and why it is not Python,
# is said there). Built by `make bench-s3` with the release binary.
# ---------------------------------------------------------------------------------------------


class LatencyProxy:
    def __init__(self, upstream_ports, latency_ms, binary):
        self.upstream_ports = list(upstream_ports)
        self.latency_ms = latency_ms
        self.binary = binary
        self.proc = None
        self.port = None

    def start(self):
        if not os.access(self.binary, os.X_OK):
            raise SystemExit("no proxy at %s: cargo build --release --examples (or --proxy PATH)" % self.binary)
        self.proc = subprocess.Popen(
            guarded([self.binary, "%g" % self.latency_ms, *map(str, self.upstream_ports)]),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().split()
        if len(line) != 2 or line[0] != "listening":
            stop_process(self.proc)
            raise SystemExit("the proxy did not start (it said %r)" % " ".join(line))
        self.port = int(line[1])
        return self

    @property
    def requests(self):
        """Requests delayed so far (the proxy answers each line on its stdin with the count)."""
        self.proc.stdin.write("\n")
        self.proc.stdin.flush()
        return int(self.proc.stdout.readline())

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.stdin.close()  # its end of stdin stops it
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                stop_process(self.proc)


# ---------------------------------------------------------------------------------------------
# moto
# ---------------------------------------------------------------------------------------------


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SETPRIV = shutil.which("setpriv")


def guarded(cmd):
    """cmd, made to get SIGTERM when its parent dies, even by SIGKILL (util-linux setpriv:
    prctl PR_SET_PDEATHSIG, then exec), so that no server or client is left behind. Without
    setpriv, cmd as it is (the normal exits and signals still stop everything)."""
    return [SETPRIV, "--pdeathsig", "TERM", "--", *cmd] if SETPRIV else list(cmd)


MOTO_S3 = os.path.join(ROOT, "bench/moto_s3.py")


def start_moto(port, log_path, plain, env=None):
    """moto's S3 on port: bench/moto_s3.py (moto's S3 application served by waitress, without
    moto.server's per-request service dispatch, access log and thread), or with plain
    `python3 -m moto.server` (every service; the audit benchmark's). env: more variables for
    moto (MOTO_EC2_LOAD_DEFAULT_AMIS, say)."""
    log_file = open(log_path, "wb")
    server = ["-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)] if plain else [MOTO_S3, str(port)]
    proc = subprocess.Popen(
        guarded([sys.executable, *server]),
        stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
        env=dict(os.environ, **ENV, **(env or {})))
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("moto server exited (status %s); see %s" % (proc.returncode, log_path))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc
        except OSError:
            time.sleep(0.2)
    stop_process(proc)
    raise SystemExit("moto server did not accept connections in %d s" % READY_TIMEOUT)


def stop_process(proc):
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
