# Two commands on a fresh machine: `make report` and `make test`. Both install into .venv first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
PROFILE ?= quick
# pytest workers: the real smoke run (and the tests that read it) in one, every other test beside it
TEST_WORKERS ?= 2
STAMP := $(VENV)/.installed
ENVS ?= .envs
UV_VERSION := 0.13.9

.PHONY: install locks report test fast-test fixture clean

install: $(STAMP)

# The harness (reportgen, pages, site, tests; it can also run every framework itself) in $(VENV), and one
# environment per framework family in $(ENVS) (ENVS=single: none, every framework runs in $(VENV)), all from the
# lock files in locks/ with uv. Refresh the locks with `make locks`.
$(STAMP): pyproject.toml $(wildcard locks/*.txt) scripts/envs.py package.json package-lock.json
	@$(PYTHON) -c 'import sys; sys.exit("reportgen needs Python >= 3.11, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)"
	$(BIN)/python scripts/envs.py install $(if $(filter single,$(ENVS)),--single,--into $(ENVS))
	@# onnxruntime-web for the Try-it page and the browser runtime, pinned by package-lock.json; without npm the
	@# site says the demo was not built and the browser runtime is skipped, and everything else works
	@if command -v npm >/dev/null; then npm ci --ignore-scripts --no-audit --no-fund --loglevel=error; \
	 else echo "npm not found: onnxruntime-web not installed (the Try-it page will say why; install Node.js + npm)"; fi
	@touch $@

locks: $(STAMP)  ## resolve every lock file in locks/ afresh (after changing pyproject.toml), then `make install`
	$(BIN)/python scripts/envs.py lock

report: install  ## measure this machine with $(PROFILE) and build the site into ./site
	$(BIN)/reportgen run --profile $(PROFILE) $(if $(filter single,$(ENVS)),--envs single,--envs $(ENVS))

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
