# Two commands matter: `make conformance` (the cross-language gate) and `make test`
# (unit tests, then the gate). Both install what they need, idempotently; see README.md.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SNNCONFORM := $(VENV)/bin/snnconform
INSTALLED := $(VENV)/.installed

.PHONY: setup conformance test unit-tests fixtures typecheck architecture browser clean

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

# Headless Chromium and its driver from Debian, for the HTML report's browser test
# (tests/core/test_report_browser.py); installed only when the driver is missing.
browser:
	@test -x /usr/bin/chromedriver || { \
	  if [ "$$(id -u)" -eq 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium chromium-driver; }

# pytest exits 5 when it collects nothing: say so instead of a bare status.
unit-tests: $(INSTALLED) browser
	$(PY) -m pytest -q; status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests: check [tool.pytest.ini_options] testpaths" >&2; fi; \
	exit $$status

typecheck: $(INSTALLED)
	$(VENV)/bin/mypy

# The import-linter contracts of pyproject.toml: the harness core imports nothing of the
# checkpoint domain, the reference library nothing of the harness, data flows one way.
architecture: $(INSTALLED)
	$(VENV)/bin/lint-imports --no-cache

test: unit-tests typecheck architecture conformance

# Regenerates fixtures/ from spec/checkpoint.yaml; deterministic (same spec and versions give
# the same bytes).
fixtures: $(INSTALLED)
	$(SNNCONFORM) fixtures

clean:
	rm -rf build rust/target mojo/build .pytest_cache .mypy_cache
