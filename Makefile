# The two commands (README): `make demo` and `make test`. Each sets up what it needs first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test setup browser bench clean-store

demo: setup
	$(BIN)/did demo

test: setup browser
	$(BIN)/pytest

# A virtual environment with the project and its test tools, rebuilt when pyproject.toml changes.
setup: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# Debian's Chromium for the browser tests (Playwright's own browser download cannot work here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && $$SUDO apt-get install -y -q chromium; }

bench: setup
	$(BIN)/python bench/ingest.py

clean-store:
	rm -rf data/store data/demo
