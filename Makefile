# The two commands of the README:
#   cargo run --release -- scan events/    the main job on the sample events
#   make test                              the whole test suite (installs what it needs)

PYTHON ?= python3
CARGO ?= cargo
PIP = $(PYTHON) -m pip install --quiet

.PHONY: test test-deps lint lint-deps scan bench bench-s3 bench-s3-filtered bench-s3-deps package \
	bench-audit bench-audit-large bench-audit-deps bench-init

## Everything the tests need that cargo does not fetch: the moto server (S3, SNS, SQS) and
## cargo-lambda (the Lambda runtime emulator of tests/lambda_watch.rs).
test-deps:
	@$(PYTHON) -c 'import moto.server, flask' 2>/dev/null || $(PIP) 'moto[server]'
	@$(CARGO) lambda --version >/dev/null 2>&1 || $(PIP) cargo-lambda

## The whole test suite: unit, corpus, CLI, template, the moto-backed AWS tests and the binary
## inside `cargo lambda watch`.
test: test-deps
	$(CARGO) test --locked --all-targets

## cargo-deny is built from source when missing: about 4 minutes on a 2-core machine, so a CI
## that starts from a fresh machine each time should cache ~/.cargo/bin/cargo-deny. Pinned, so
## that a new release cannot change what deny.toml means under us.
CARGO_DENY_VERSION = 0.20.2

lint-deps:
	@command -v cfn-lint >/dev/null 2>&1 || $(PIP) cfn-lint
	@command -v sam >/dev/null 2>&1 || $(PIP) aws-sam-cli
	@$(CARGO) deny --version >/dev/null 2>&1 || $(CARGO) install --locked cargo-deny --version $(CARGO_DENY_VERSION)

## Formatting, lints, the dependencies' licences, duplicates and sources (deny.toml; offline:
## the advisory database is not fetched), and the templates' checks (the detector's, the
## organization forwarder's and the audit's member role), as CI runs them.
lint: lint-deps
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --locked --all-targets -- -D warnings
	$(CARGO) deny --locked check --hide-inclusion-graph licenses bans sources
	cfn-lint template.yaml forwarder.yaml audit-role.yaml remediation-role.yaml
	sam validate --lint

## The Lambda package: the release arm64 bootstrap, zipped, and its size.
package: test-deps
	@$(PYTHON) -c 'import ziglang' 2>/dev/null || $(PIP) ziglang
	$(CARGO) lambda build --release --arm64 --locked --output-format zip
	@ls -l target/lambda/snapshot-share-detector/bootstrap.zip

## The main job on the sample events.
scan:
	$(CARGO) run --release -- scan events/

## The S3 benchmark's settings (issue 12): 2,000 small log files, 30 ms added to each request.
## Two moto servers behind the proxy: one moto process serves a few hundred GetObject/s on a
## 2-core machine, and with one the benchmark would measure moto, not the clients.
S3_BENCH = $(PYTHON) bench/s3_bench.py --latency-ms 30 --backends 2 --repeat 3 --floor
## The binary and the benchmark's latency proxy (examples/latency_proxy.rs).
BENCH_BUILD = $(CARGO) build --release --locked --bins --example latency_proxy

## The benchmarks: scan of large generated CloudTrail files against gzip -dc and the Python
## baseline (with shares, and without any), then the EventBridge path under criterion, then
## `scan s3://` against `aws s3 cp --recursive` of 2,000 small log files through a proxy
## adding 30 ms per request in front of the moto server.
bench: bench-s3-deps
	$(BENCH_BUILD)
	$(PYTHON) bench/bench.py --sizes 100,200,1000 --shares 10 --python
	$(PYTHON) bench/bench.py --sizes 200 --shares 0 --python
	$(CARGO) bench --locked --bench eventbridge
	$(S3_BENCH) --files 2000

## What bench/s3_bench.py runs besides the binary: the moto server and the AWS CLI (v1, from
## pip). Installed together so that pip picks one botocore both accept; the check is that the
## CLI runs, not `pip check` (awscli pins an exact botocore and still works with a newer one).
bench-s3-deps:
	@$(PYTHON) -c 'import moto.server, flask, boto3, waitress' 2>/dev/null && $(PYTHON) -m awscli --version >/dev/null 2>&1 \
		|| $(PIP) 'moto[server]' awscli waitress

## Only the S3 benchmark (BENCH_FILES=200 for a quick check).
BENCH_FILES ?= 2000
bench-s3: bench-s3-deps
	$(BENCH_BUILD)
	$(S3_BENCH) --files $(BENCH_FILES)

## Issue 21: the date-filtered `scan s3://` against the unfiltered one, in the same run, on the
## issue's bucket (3 accounts, 1 region, 28 days); fails above 1.3x. BASELINE=path/to/binary
## times an older build in the same runs.
bench-s3-filtered: bench-s3-deps
	$(BENCH_BUILD)
	$(PYTHON) bench/s3_bench.py --latency-ms 30 --backends 2 --repeat 4 --files $(BENCH_FILES) \
		--filtered --accounts 3 --regions 1 --days 28 --max-ratio 1.3 $(if $(BASELINE),--baseline $(BASELINE))

## Issue 21: the audit of an organization (8 members x 150 snapshots, 64 shared or public)
## against the boto3 script a user writes instead, through examples/ec2_proxy.rs (30 ms a
## request, EC2's token bucket per account, region and action, answers cached by a warm-up
## pass); fails when the audit is more than 3 s over the bucket's floor (2.5 s), throttled on
## more than 10 % of its requests, or less than 3x faster than the script.
AUDIT_BUILD = $(CARGO) build --release --locked --bins --example ec2_proxy
AUDIT_BENCH = $(PYTHON) bench/audit_bench.py --latency-ms 30

## What bench/audit_bench.py runs besides the binary and the proxy: moto's server (every
## service) and boto3, which moto brings.
bench-audit-deps:
	@$(PYTHON) -c 'import moto.server, flask, boto3' 2>/dev/null || $(PIP) 'moto[server]'

bench-audit: bench-audit-deps
	$(AUDIT_BUILD)
	$(AUDIT_BENCH) --accounts 8 --snapshots 150 --shared 8 --repeat 3

## The audit of one account holding 1,000, then 10,000 snapshots: the bucket's pace
## ((N - 100) / 20 s: 45 s, then 495 s) and peak RSS, which must not grow with N. About 10
## minutes, most of it waiting for EC2's bucket (AUDIT_LARGE=1000,3000 for a shorter one).
AUDIT_LARGE ?= 1000,10000
bench-audit-large: bench-audit-deps
	$(AUDIT_BUILD)
	$(AUDIT_BENCH) --large $(AUDIT_LARGE)

## The function's cold start against a fake Lambda Runtime API (init, first invocation, peak
## RSS), 30 starts; BASELINE=path/to/binary measures another build in the same runs. The
## binary is built as `cargo lambda build` builds it, bins alone: a build with an example
## (`make bench*`) unifies the dev-dependencies' features into a few shared crates, so going
## from one to the other recompiles the binary.
bench-init:
	$(CARGO) build --release --locked --bins
	$(PYTHON) bench/init_time.py --runs 30 --bin $${CARGO_TARGET_DIR:-target}/release/snapshot-share-detector \
		$(if $(BASELINE),--bin $(BASELINE))
