# The two commands of the README:
#   cargo run --release -- scan events/    the main job on the sample events
#   make test                              the whole test suite (installs what it needs)

PYTHON ?= python3
CARGO ?= cargo

.PHONY: test test-deps lint scan bench

## Everything the tests need that cargo does not fetch: the moto server (S3, SNS, SQS).
test-deps:
	@$(PYTHON) -c 'import moto.server, flask' 2>/dev/null || $(PYTHON) -m pip install --quiet 'moto[server]'

## The whole test suite: unit, corpus, CLI and the moto-backed AWS tests.
test: test-deps
	$(CARGO) test --locked --all-targets

## Formatting and lints, as CI runs them.
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --locked --all-targets -- -D warnings

## The main job on the sample events.
scan:
	$(CARGO) run --release -- scan events/

## The benchmark: large generated CloudTrail files against gzip -dc and a Python baseline.
bench:
	$(CARGO) build --release
	$(PYTHON) bench/bench.py --sizes 200,1000 --python
