# Two commands matter: `make conformance` (the cross-language gate) and `make test`
# (unit tests, then the gate). Both install what they need, idempotently; see README.md.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SNNCONFORM := $(VENV)/bin/snnconform
INSTALLED := $(VENV)/.installed

.PHONY: setup conformance conformance-shard merge test unit-tests fixtures typecheck architecture browser mutation tutorial \
	workflow-check fuzz-native bench clean

# The venv is rebuilt only when pyproject.toml changes.
$(INSTALLED): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

setup: $(INSTALLED)

# Installs each language's toolchain (cached), builds it, runs its unit tests, then every
# implementation on the whole corpus. Fails on any unlisted disagreement, crash or missing
# implementation; writes benchmarks/results/bench_transfer.json, conformance.md and
# conformance.html.
conformance: $(INSTALLED)
	$(SNNCONFORM) run --build

# The CI workflow (.github/workflows/conformance.yml) runs exactly these two targets.
# `make conformance-shard IMPL=rust` is one implementation's share of the gate (one CI job):
# setup, build, unit tests and the corpus, results in build/shards/rust/ (bench_transfer.json,
# conformance.md, conformance.html, junit.xml). Shards skip the benchmarks, which compare the
# testees side by side on one machine. `make merge` merges every build/shards/*/ into
# build/merged/ and exits with the gate's code. On GitHub both append their Markdown report to
# the job summary ($GITHUB_STEP_SUMMARY).
SHARDS_DIR ?= build/shards
RESULTS ?= $(SHARDS_DIR)/$(IMPL)
JUNIT ?= $(RESULTS)/junit.xml
MERGED ?= build/merged
summary = if [ -n "$${GITHUB_STEP_SUMMARY:-}" ] && [ -f $(1) ]; then cat $(1) >> "$$GITHUB_STEP_SUMMARY"; fi

conformance-shard: $(INSTALLED)
	@test -n "$(IMPL)" || { echo "make conformance-shard: give IMPL=NAME (snnconform impls lists them)" >&2; exit 2; }
	$(SNNCONFORM) run --build --no-bench --impl $(IMPL) --junit $(JUNIT) --results $(RESULTS); \
	status=$$?; $(call summary,$(RESULTS)/conformance.md); exit $$status

merge: $(INSTALLED)
	@test -n "$(wildcard $(SHARDS_DIR)/*/bench_transfer.json)" || { echo "make merge: no $(SHARDS_DIR)/*/bench_transfer.json; run make conformance-shard IMPL=NAME first" >&2; exit 2; }
	$(SNNCONFORM) merge $(wildcard $(SHARDS_DIR)/*/bench_transfer.json) --results $(MERGED); \
	status=$$?; $(call summary,$(MERGED)/conformance.md); exit $$status

# The CI workflow against GitHub's workflow schema, and zizmor's audit (actions pinned to
# commit SHAs, least privilege, no persisted credentials). Both work offline.
WORKFLOW := .github/workflows/conformance.yml
workflow-check: $(INSTALLED)
	$(VENV)/bin/check-jsonschema --builtin-schema vendor.github-workflows $(WORKFLOW)
	$(VENV)/bin/zizmor --offline $(WORKFLOW)

# Headless Chromium and its driver from Debian, for the HTML report's browser test
# (tests/core/test_report_browser.py); installed only when the driver is missing.
browser:
	@test -x /usr/bin/chromedriver || { \
	  if [ "$$(id -u)" -eq 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium chromium-driver; }

# pytest exits 5 when it collects nothing: say so instead of a bare status. The tutorial's
# tests run the Rust, Julia and Mojo blocks, so they come after `conformance` has installed and
# built every implementation (`tutorial`).
unit-tests: $(INSTALLED) browser
	$(PY) -m pytest -q --ignore=tests/tutorial; status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests: check [tool.pytest.ini_options] testpaths" >&2; fi; \
	exit $$status

typecheck: $(INSTALLED)
	$(VENV)/bin/mypy

# The import-linter contracts of pyproject.toml: the harness core imports nothing of the
# checkpoint domain, the reference library nothing of the harness, data flows one way.
architecture: $(INSTALLED)
	$(VENV)/bin/lint-imports --no-cache

# Every code block of docs/tutorial.md, in its own language (needs the built implementations).
tutorial: $(INSTALLED)
	$(PY) -m pytest -q tests/tutorial

test: unit-tests typecheck architecture workflow-check conformance tutorial

# The large-checkpoint benchmarks (not part of `make test`: about half an hour on 2 cores; needs
# the implementations built, e.g. by `make conformance`). Every implementation loads and saves
# 64 MiB, 512 MiB and 1.5 GiB checkpoints beside numpy.load/savez and the machine's limits
# (memory copy, raw read/write, SHA-256, CRC-32, zlib/isal) in one run; writes
# benchmarks/results/large.json and large.md. docs/benchmarks.md explains the columns.
# A quick look: make bench BENCH_ARGS='--sizes 64M --repeats 1 --out /tmp/bench'.
bench: $(INSTALLED)
	$(PY) benchmarks/bench_large.py $(BENCH_ARGS)

# The mutation self-test (not part of `make test`: it rebuilds an implementation per mutant).
# Applies each mutants/<impl>/*.patch in a scratch copy, rebuilds, runs the corpus, and writes
# benchmarks/results/mutation.json; fails unless every mutant is killed and every invariant has
# one. `make mutation IMPL=rust` runs one implementation.
mutation: $(INSTALLED)
	$(SNNCONFORM) mutation $(if $(IMPL),--impl $(IMPL))

# Coverage-guided fuzzing of the readers (not part of `make test`; see fuzz/README.md): the
# cargo-fuzz target on the Rust loader, then the atheris target on the Python reference, each
# for FUZZ_SECONDS, seeded with the corpus's pairs. A crash, panic, non-coded exception, hang or
# memory beyond the limit fails the target; the input is left in build/fuzz/*-artifacts/, and
# `python fuzz/record.py INPUT` keeps it as a regression case.
FUZZ_SECONDS ?= 120
FUZZ := build/fuzz
LIBFUZZER_FLAGS = -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=1024 -timeout=10 -print_final_stats=1 \
	-dict=fuzz/checkpoint.dict
fuzz-native: $(INSTALLED)
	@command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
	@$(PY) -c "import atheris" 2>/dev/null || $(PY) -m pip install --quiet -e '.[fuzz]'
	mkdir -p $(FUZZ)/rust-corpus $(FUZZ)/rust-artifacts $(FUZZ)/python-corpus $(FUZZ)/python-artifacts
	$(PY) fuzz/seeds.py $(FUZZ)/seeds
	status=0; scratch=$$(mktemp -d /dev/shm/snn-fuzz.XXXXXX 2>/dev/null || mktemp -d); \
	SNN_FUZZ_SCRATCH=$$scratch CARGO_TARGET_DIR=$(abspath $(FUZZ))/target \
	  cargo fuzz run --fuzz-dir fuzz/rust -s none load_checkpoint $(FUZZ)/rust-corpus $(FUZZ)/seeds -- \
	  $(LIBFUZZER_FLAGS) -artifact_prefix=$(abspath $(FUZZ))/rust-artifacts/ || status=1; \
	SNN_FUZZ_SCRATCH=$$scratch $(PY) fuzz/python/load_checkpoint_fuzz.py $(LIBFUZZER_FLAGS) \
	  -artifact_prefix=$(FUZZ)/python-artifacts/ $(FUZZ)/python-corpus $(FUZZ)/seeds || status=1; \
	rm -rf "$$scratch"; exit $$status

# Regenerates fixtures/ from spec/checkpoint.yaml; deterministic (same spec and versions give
# the same bytes).
fixtures: $(INSTALLED)
	$(SNNCONFORM) fixtures

clean:
	rm -rf build rust/target mojo/build .pytest_cache .mypy_cache
