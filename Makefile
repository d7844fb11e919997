# The two commands of the README:
#   cargo run --release -- scan events/    the main job on the sample events
#   make test                              the whole test suite (installs what it needs)

PYTHON ?= python3
CARGO ?= cargo
PIP = $(PYTHON) -m pip install --quiet

.PHONY: test test-deps lint lint-deps scan bench package

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
## the advisory database is not fetched), and the template's checks, as CI runs them.
lint: lint-deps
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --locked --all-targets -- -D warnings
	$(CARGO) deny --locked check --hide-inclusion-graph licenses bans sources
	cfn-lint template.yaml
	sam validate --lint

## The Lambda package: the release arm64 bootstrap, zipped, and its size.
package: test-deps
	@$(PYTHON) -c 'import ziglang' 2>/dev/null || $(PIP) ziglang
	$(CARGO) lambda build --release --arm64 --locked --output-format zip
	@ls -l target/lambda/snapshot-share-detector/bootstrap.zip

## The main job on the sample events.
scan:
	$(CARGO) run --release -- scan events/

## The benchmarks: scan of large generated CloudTrail files against gzip -dc and the Python
## baseline (with shares, and without any), then the EventBridge path under criterion.
bench:
	$(CARGO) build --release --locked
	$(PYTHON) bench/bench.py --sizes 100,200,1000 --shares 10 --python
	$(PYTHON) bench/bench.py --sizes 200 --shares 0 --python
	$(CARGO) bench --locked --bench eventbridge
