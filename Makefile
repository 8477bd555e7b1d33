# Two commands on a fresh machine: `make report` and `make test`. Both install into .venv first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
PROFILE ?= quick
# pytest workers: the real smoke run (and the tests that read it) in one, every other test beside it
TEST_WORKERS ?= 2
STAMP := $(VENV)/.installed

.PHONY: install report test fast-test fixture clean

install: $(STAMP)

$(STAMP): pyproject.toml package.json package-lock.json
	@$(PYTHON) -c 'import sys; sys.exit("reportgen needs Python >= 3.11, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[all,test]"
	@# onnxruntime-web for the Try-it page and the browser runtime, pinned by package-lock.json; without npm the
	@# site says the demo was not built and the browser runtime is skipped, and everything else works
	@if command -v npm >/dev/null; then npm ci --ignore-scripts --no-audit --no-fund --loglevel=error; \
	 else echo "npm not found: onnxruntime-web not installed (the Try-it page will say why; install Node.js + npm)"; fi
	@touch $@

report: install  ## measure this machine with $(PROFILE) and build the site into ./site
	$(BIN)/reportgen run --profile $(PROFILE)

test: install  ## lint, then the whole test suite (includes a real smoke run and a strict site build)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup

fast-test: install  ## the edit loop: everything but real measurements (pages, site, browser on the stored run)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -m "not slow" -n $(TEST_WORKERS) --dist loadgroup

fixture: install  ## regenerate tests/fixtures/results from a real smoke run (then commit it)
	$(BIN)/python scripts/make_fixture.py

clean:
	rm -rf site results .pytest_cache node_modules
