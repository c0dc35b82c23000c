# The two README commands: `make demo` and `make test`. Each builds .venv itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean system-packages

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,browser,hub,charts]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/repcue demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Debian packages the tests start (Mosquitto, chromium, Node.js and npm): apt-get as root
# or with sudo, else it says what to install and fails
system-packages:
	.ci/system-packages

test: lint system-packages
	$(BIN)/pytest -q -n 3 --dist loadfile

bench: $(STAMP)
	for b in bench/[!_]*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info
