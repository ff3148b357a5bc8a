# Everything a fresh machine with Python 3.11 and make needs is installed from here.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export MLFLOW_DISABLE_TELEMETRY := true
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: run test lint typecheck unit test-topology test-images images install system clean

$(STAMP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first: a pinned CPU build; an open range would pull a multi-GB CUDA build.
	$(BIN)/pip install -q torch==2.13.0
	# constraints.txt: every transitive package pinned to what the suite last passed with.
	$(BIN)/pip install -q -e ".[dev]" -c constraints.txt
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/custom-classifier serve

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

unit: system $(STAMP)
	$(BIN)/pytest -q -m "not topology and not images"

# The Debian packages and running services the tests need: installed and started where we are
# root with apt-get, else one message saying what is missing and how to install it (before
# anything else runs). A few checks when everything is there.
system:
	@bash scripts/install-system-packages.sh

# The whole suite: unit, end to end, browser, and the production topology on loopback.
test: system
	@$(MAKE) --no-print-directory lint typecheck
	$(BIN)/pytest -q

test-topology: system $(STAMP)
	$(BIN)/pytest -q -m topology

# The production images (api, worker, mlflow) with Docker where an engine answers, else podman;
# IMAGE_OPTIONS="--debian-base" where no registry can be reached (scripts/build-images.sh).
images:
	bash scripts/build-images.sh $(IMAGE_OPTIONS)

# The images built with podman and the compose file run with podman-compose, end to end.
test-images: system $(STAMP)
	$(BIN)/pytest -q -m images

clean:
	rm -rf $(VENV) .cc-data
