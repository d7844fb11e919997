#!/usr/bin/env python3
"""moto's S3 alone, as the S3 benchmark's emulator: `python3 bench/moto_s3.py PORT`.

`python3 -m moto.server` serves every AWS service from werkzeug's development server: for each
request it finds the service from the Host and Authorization headers (a walk over moto's module
directories and some hundreds of URL patterns), writes an access-log line, starts a thread, and
closes the connection after the answer. All of that costs more CPU than moto's GetObject itself,
and on a 2-core machine the emulator's CPU is taken from the clients measured. Real S3 spends
none of the client's machine, and keeps connections open. So the benchmark serves the same S3
application moto.server would pick (`create_backend_app("s3")`, moto's own S3 backend and
responses) from waitress, a production WSGI server with a fixed pool of threads and HTTP
keep-alive, with no dispatch and no access log.

Measured on this project's 2-core machine, curl fetching 1,000 small objects 64 at a time:
3.0 ms of emulator CPU per GetObject through `python3 -m moto.server`, 1.6 ms here.
`s3_bench.py --plain-moto` measures with `python3 -m moto.server` instead.
"""

import logging
import sys

import waitress
from moto.moto_server.werkzeug_app import create_backend_app

# waitress' worker threads: enough for the requests a 2-core machine can serve at once.
THREADS = 8


def main():
    if len(sys.argv) != 2 or not sys.argv[1].isdigit():
        raise SystemExit("usage: moto_s3.py PORT")
    # "Task queue depth is N" for every request waiting for a thread: expected here.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    waitress.serve(create_backend_app("s3"), host="127.0.0.1", port=int(sys.argv[1]), threads=THREADS,
                   connection_limit=1000, _quiet=True)


if __name__ == "__main__":
    main()
