"""`s3_bench.py --filtered` (issue 21): `scan s3://` of the whole bucket, unfiltered, against the
date-filtered scan of the same objects (`--since FIRST --until LAST --account ... --region ...`
naming every account, region and day there is), in the same run.

Unfiltered, the scan lists the prefix a page of 1,000 keys at a time, each page naming the next:
a LIST per 1,000 objects. Filtered, it goes straight to each account's region's day: a LIST per
(account, region, day), most of them holding a few files. Listed one after the other, those
LISTs cost a round trip each before the files of the last day are read; listed many at once
(`--concurrency` requests of either kind), they cost about what the reads do. The ratio of the
two times is the measure; both scans must find the same findings, as many as were planted.
"""

import sys
from datetime import timedelta

from s3_files import FIRST_DAY


def log(msg):
    print("s3_bench: " + msg, file=sys.stderr, flush=True)


def filter_args(layout):
    """The filters that name every account, region and day of the bucket."""
    accounts, regions, days = layout
    last = FIRST_DAY + timedelta(days=days - 1)
    return ["--since", FIRST_DAY.strftime("%Y-%m-%d"), "--until", last.strftime("%Y-%m-%d"),
            "--account", ",".join(accounts), "--region", ",".join(regions)]


def compare(scan, binaries, layout, files, planted, repeat):
    """Times `scan s3://` unfiltered and filtered with each binary ({name: path}), `repeat`
    times, taking turns; prints the best of each and their ratio. scan(binary, extra_args) runs
    one scan and returns (seconds, finding ids, summary line, requests through the proxy,
    (CPU-seconds of the scan, of moto, of the proxy)).
    Returns {name: filtered / unfiltered} and whether every scan found what was planted."""
    filters = filter_args(layout)
    # (seconds, CPU-seconds of the scan, moto and the proxy) of each run
    times = {(name, kind): [] for name in binaries for kind in ("unfiltered", "filtered")}
    requests, summaries = {}, {}
    ok = True
    for attempt in range(repeat):
        # Each binary first in turn, so that neither always runs on a moto just warmed (or
        # tired) by the other.
        order = list(binaries.items())
        for name, binary in order[attempt % len(order):] + order[:attempt % len(order)]:
            ids = {}
            for kind, extra in (("unfiltered", []), ("filtered", filters)):
                t, found, summary, sent, cpu = scan(binary, extra)
                times[(name, kind)].append((t, cpu))
                requests[(name, kind)] = sent
                summaries[(name, kind)] = summary
                ids[kind] = found
                if "scanned %d inputs" % files not in summary:
                    ok = False
                    log("MISMATCH: %s %s did not read the %d objects: %s" % (name, kind, files, summary))
            t_all, t_some = times[(name, "unfiltered")][-1][0], times[(name, "filtered")][-1][0]
            log("run %d, %s: unfiltered %.2f s, filtered %.2f s (%.2fx)"
                % (attempt + 1, name, t_all, t_some, t_some / t_all))
            if sorted(ids["unfiltered"]) != sorted(ids["filtered"]):
                ok = False
                log("MISMATCH: %s: %d findings unfiltered, %d filtered"
                    % (name, len(ids["unfiltered"]), len(ids["filtered"])))
            if sorted(ids["filtered"]) != sorted(set(ids["filtered"])) or len(ids["filtered"]) != len(planted):
                ok = False
                log("MISMATCH: %s: %d findings, %d shares planted" % (name, len(ids["filtered"]), len(planted)))

    accounts, regions, days = layout
    print("# %d files over %d accounts x %d regions x %d days (%d day prefixes); best of %d; filtered "
          "= %s" % (files, len(accounts), len(regions), days, len(accounts) * len(regions) * days, repeat,
                    " ".join(filters)))
    header = ("| binary | `scan s3://` | filtered | filtered / unfiltered | requests (unfiltered / "
              "filtered) | findings |")
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    ratios = {}
    for name in binaries:
        best = {kind: min(times[(name, kind)]) for kind in ("unfiltered", "filtered")}
        ratios[name] = best["filtered"][0] / best["unfiltered"][0]
        print("| %s | %.2f s | %.2f s | %.2fx | %d / %d | %d (%s) |"
              % (name, best["unfiltered"][0], best["filtered"][0], ratios[name], requests[(name, "unfiltered")],
                 requests[(name, "filtered")], len(planted), "the same, = planted" if ok else "MISMATCH"))
    for name in binaries:
        for kind in ("unfiltered", "filtered"):
            t, (client, moto, proxy) = min(times[(name, kind)])
            print("# CPU-seconds during the best %s %s scan (%.2f s): the scan %.2f, moto %.2f, the proxy %.2f"
                  % (name, kind, t, client, moto, proxy))
    for (name, kind), summary in sorted(summaries.items()):
        print("# %s, %s: %s" % (name, kind, summary))
    for name, ratio in ratios.items():
        print("# issue 21 target, %s: filtered at most 1.3x unfiltered: %s (%.2fx)"
              % (name, "met" if ratio <= 1.3 else "not met", ratio))
    sys.stdout.flush()
    return ratios, ok
